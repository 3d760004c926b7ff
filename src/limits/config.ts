/**
 * Config of rate limits and budgets: the zod schemas wired into gantry.yaml
 * (`clients[].limits`, the top-level `limits:` section and `storage.state`)
 * and the resolved (camelCase) types the limiter reads.
 *
 * ```yaml
 * storage:
 *   state: redis://127.0.0.1:6379/0     # or memory (default)
 * limits:
 *   on_store_error: open                # default for every scope: open | closed
 *   reservation_lease_ms: 60000         # a budget reservation is freed this long after its process died
 *   overall: { budget: { monthly_usd: 5000 } }
 *   environments:
 *     prod: { rpm: 3000, budget: { daily_usd: 400, action: alert-only } }
 * clients:
 *   - name: checkout
 *     limits:
 *       rpm: 600
 *       input_tpm: 200000
 *       output_tpm: 40000
 *       per_customer: { rpm: 60, budget: { daily_usd: 2 } }
 *       budget: { daily_usd: 50, monthly_usd: 1000, action: downgrade, downgrade_to: claude-haiku-4-5 }
 *       on_store_error: closed
 * ```
 */
import { z } from 'zod';
import { resolveModel } from '../anthropic/models.ts';
import { expected } from '../config/fields.ts';

export type StoreErrorMode = 'open' | 'closed';
export type BudgetAction = 'block' | 'downgrade' | 'alert-only';

/** Budget of one scope, in integer micro-dollars per UTC day / UTC month. */
export interface BudgetConfig {
  dailyMicros?: number;
  monthlyMicros?: number;
  /** What happens once the budget is spent (100 %). */
  action: BudgetAction;
  /** Model (as configured, checked against the catalog) requests switch to when `action` is `downgrade`. */
  downgradeTo?: string;
}

/** Limits of one scope (a client, a customer of a client, an environment, everything). */
export interface ScopeLimits {
  /** Requests per minute. */
  rpm?: number;
  /** Input tokens per minute (estimated at admission, reconciled with the usage). */
  inputTpm?: number;
  /** Output tokens per minute (`max_tokens` reserved at admission, the unused part refunded). */
  outputTpm?: number;
  budget?: BudgetConfig;
  /** When the state store is unreachable: let requests through (open) or refuse them (closed). */
  onStoreError?: StoreErrorMode;
}

export interface ClientLimits extends ScopeLimits {
  /** Limits applied to each customer of this client separately. */
  perCustomer?: ScopeLimits;
}

/** The top-level `limits:` section. */
export interface LimitsConfig {
  /** Default for scopes that set no `on_store_error`. */
  onStoreError: StoreErrorMode;
  /** Longest a store call may take before it counts as a store error. */
  storeTimeoutMs: number;
  /** Prefix of every key in the shared store (one per deployment). */
  keyPrefix: string;
  /**
   * Budget reservations are leases of this length, renewed while their
   * request runs: a process that dies with requests in flight frees their
   * reservations within one lease.
   */
  reservationLeaseMs: number;
  overall?: ScopeLimits;
  environments: Readonly<Record<string, ScopeLimits>>;
}

export interface StorageStateConfig {
  /** `memory`, or a `redis://` / `rediss://` URL shared by every replica. */
  state: string;
}

const perMinute = (what: string) =>
  z
    .int(expected(`a whole number of ${what} per minute`))
    .min(1, { error: `expected at least 1 ${what} per minute` })
    .max(1e12, { error: `expected at most 1e12 ${what} per minute` })
    .optional();

const usd = z
  .number(expected('an amount in USD, e.g. 50 or 12.5'))
  .positive({ error: 'expected a positive amount in USD' })
  .max(1e9, { error: 'expected at most 1e9 USD' })
  .transform((v) => Math.round(v * 1e6))
  .optional();

const storeErrorMode = z.enum(['open', 'closed'], expected('open or closed')).optional();

const budgetSchema = z
  .strictObject(
    {
      daily_usd: usd,
      monthly_usd: usd,
      action: z
        .enum(['block', 'downgrade', 'alert-only'], expected('block, downgrade or alert-only'))
        .default('block'),
      downgrade_to: z.string(expected('a model id')).optional(),
    },
    expected('a mapping (key: value pairs)'),
  )
  .superRefine((b, ctx) => {
    if (b.daily_usd === undefined && b.monthly_usd === undefined) {
      ctx.addIssue({ code: 'custom', message: 'set daily_usd, monthly_usd or both' });
    }
    if (b.action === 'downgrade' && b.downgrade_to === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['downgrade_to'],
        message: 'action downgrade needs downgrade_to (a cheaper model, e.g. claude-haiku-4-5)',
      });
    }
    if (b.downgrade_to !== undefined && !resolveModel(b.downgrade_to)) {
      ctx.addIssue({ code: 'custom', path: ['downgrade_to'], message: 'unknown model (not in the catalog)' });
    }
  })
  .transform((b): BudgetConfig => {
    const out: BudgetConfig = { action: b.action };
    if (b.daily_usd !== undefined) out.dailyMicros = b.daily_usd;
    if (b.monthly_usd !== undefined) out.monthlyMicros = b.monthly_usd;
    if (b.downgrade_to !== undefined) out.downgradeTo = b.downgrade_to;
    return out;
  });

const scopeShape = {
  rpm: perMinute('requests'),
  input_tpm: perMinute('input tokens'),
  output_tpm: perMinute('output tokens'),
  budget: budgetSchema.optional(),
  on_store_error: storeErrorMode,
};

type RawScope = {
  rpm?: number;
  input_tpm?: number;
  output_tpm?: number;
  budget?: BudgetConfig;
  on_store_error?: StoreErrorMode;
};

function toScope(raw: RawScope): ScopeLimits {
  const out: ScopeLimits = {};
  if (raw.rpm !== undefined) out.rpm = raw.rpm;
  if (raw.input_tpm !== undefined) out.inputTpm = raw.input_tpm;
  if (raw.output_tpm !== undefined) out.outputTpm = raw.output_tpm;
  if (raw.budget !== undefined) out.budget = raw.budget;
  if (raw.on_store_error !== undefined) out.onStoreError = raw.on_store_error;
  return out;
}

/** Limits of one scope (`limits.overall`, `limits.environments.<name>`, `per_customer`). */
const scopeLimitsSchema = z
  .strictObject(scopeShape, expected('a mapping (key: value pairs)'))
  .transform(toScope);

/** `clients[].limits`. */
export const clientLimitsSchema = z
  .strictObject(
    { ...scopeShape, per_customer: scopeLimitsSchema.optional() },
    expected('a mapping (key: value pairs)'),
  )
  .transform((raw): ClientLimits => {
    const out: ClientLimits = toScope(raw);
    if (raw.per_customer !== undefined) out.perCustomer = raw.per_customer;
    return out;
  })
  .prefault({});

/** The top-level `limits:` section. */
export const limitsSectionSchema = z
  .strictObject(
    {
      on_store_error: z.enum(['open', 'closed'], expected('open or closed')).default('open'),
      store_timeout_ms: z
        .int(expected('a whole number of milliseconds'))
        .min(1, { error: 'expected a positive number of milliseconds' })
        .max(60_000, { error: 'expected at most 60000 milliseconds' })
        .default(250),
      key_prefix: z
        .string(expected('a string'))
        .max(100, { error: 'expected at most 100 characters' })
        .default('gantry:'),
      reservation_lease_ms: z
        .int(expected('a whole number of milliseconds'))
        .min(1_000, { error: 'expected at least 1000 milliseconds' })
        .max(3_600_000, { error: 'expected at most 3600000 milliseconds (1 hour)' })
        .default(60_000),
      overall: scopeLimitsSchema.optional(),
      environments: z
        .record(z.string(), scopeLimitsSchema, expected('a mapping of environment names'))
        .default({}),
    },
    expected('a mapping (key: value pairs)'),
  )
  .transform((raw): LimitsConfig => {
    const out: LimitsConfig = {
      onStoreError: raw.on_store_error,
      storeTimeoutMs: raw.store_timeout_ms,
      keyPrefix: raw.key_prefix,
      reservationLeaseMs: raw.reservation_lease_ms,
      environments: raw.environments,
    };
    if (raw.overall !== undefined) out.overall = raw.overall;
    return out;
  })
  .prefault({});

/** `storage.state`: `memory` or a Redis URL. */
export const stateStoreSchema = z
  .string(expected('memory or a redis:// URL'))
  .superRefine((value, ctx) => {
    if (value === 'memory') return;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'expected memory or a redis:// URL, e.g. redis://127.0.0.1:6379/0',
      });
      return;
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      ctx.addIssue({ code: 'custom', message: 'expected memory or a redis:// (or rediss://) URL' });
    } else if (url.password) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must not contain a password; give Redis a password with the REDIS_PASSWORD environment variable',
      });
    }
  })
  .default('memory');

// ---------------------------------------------------------------------------
// Display: the resolved limits back in the on-disk (snake_case, USD) shape, for `gantry config check`.

function displayBudget(b: BudgetConfig): Record<string, unknown> {
  return {
    ...(b.dailyMicros !== undefined ? { daily_usd: b.dailyMicros / 1e6 } : {}),
    ...(b.monthlyMicros !== undefined ? { monthly_usd: b.monthlyMicros / 1e6 } : {}),
    action: b.action,
    ...(b.downgradeTo !== undefined ? { downgrade_to: b.downgradeTo } : {}),
  };
}

/** A scope's (or a client's) limits as written in gantry.yaml. */
export function displayScopeLimits(s: ClientLimits): Record<string, unknown> {
  return {
    ...(s.rpm !== undefined ? { rpm: s.rpm } : {}),
    ...(s.inputTpm !== undefined ? { input_tpm: s.inputTpm } : {}),
    ...(s.outputTpm !== undefined ? { output_tpm: s.outputTpm } : {}),
    ...(s.perCustomer !== undefined ? { per_customer: displayScopeLimits(s.perCustomer) } : {}),
    ...(s.budget !== undefined ? { budget: displayBudget(s.budget) } : {}),
    ...(s.onStoreError !== undefined ? { on_store_error: s.onStoreError } : {}),
  };
}

/** The top-level `limits:` section as written in gantry.yaml. */
export function displayLimits(l: LimitsConfig): Record<string, unknown> {
  return {
    on_store_error: l.onStoreError,
    store_timeout_ms: l.storeTimeoutMs,
    key_prefix: l.keyPrefix,
    reservation_lease_ms: l.reservationLeaseMs,
    ...(l.overall !== undefined ? { overall: displayScopeLimits(l.overall) } : {}),
    environments: Object.fromEntries(
      Object.entries(l.environments).map(([k, v]) => [k, displayScopeLimits(v)]),
    ),
  };
}
