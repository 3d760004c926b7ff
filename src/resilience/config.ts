/**
 * Resilience settings: the `resilience:` section of gantry.yaml, the
 * per-client `clients[].resilience:` overrides and the multi-key form of an
 * environment (`environments.<name>.upstream_keys`). Validated by zod (wired
 * into src/config/schema.ts), resolved into frozen camelCase objects.
 */
import { z } from 'zod';
import { expected, MAX_TIMER_MS, mapping } from '../config/fields.ts';

function ms() {
  return z
    .int(expected('a whole number of milliseconds'))
    .min(1, { error: 'expected a positive number of milliseconds' })
    .max(MAX_TIMER_MS, { error: `expected at most ${MAX_TIMER_MS} milliseconds` });
}
function count(min: number, max: number, what: string) {
  return z
    .int(expected(`a whole number (${what})`))
    .min(min, { error: `expected at least ${min}` })
    .max(max, { error: `expected at most ${max}` });
}
function ratio() {
  return z
    .number(expected('a number from 0 to 1'))
    .min(0, { error: 'expected a number from 0 to 1' })
    .max(1, { error: 'expected a number from 0 to 1' });
}

export const KEY_STATES = ['active', 'draining', 'disabled'] as const;
export type KeyState = (typeof KEY_STATES)[number];
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** One entry of `environments.<name>.upstream_keys` (the `key` reference is checked by schema.ts). */
export function upstreamKeyEntrySchema(secretRef: z.ZodType<string>) {
  return mapping({
    id: z.string(expected('a key id')).regex(KEY_ID, {
      error: 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    }),
    key: secretRef,
    state: z.enum(KEY_STATES, expected(`one of ${KEY_STATES.join(', ')}`)).default('active'),
    weight: z
      .number(expected('a positive number'))
      .positive({ error: 'expected a positive number' })
      .max(1000, { error: 'expected at most 1000' })
      .default(1),
  });
}

const timeoutsShape = {
  /** Streams: until the response headers (and `message_start`) arrive. */
  first_byte_ms: ms().optional(),
  /** Non-streaming: the whole exchange, every attempt included. Streams: until the first byte. */
  total_ms: ms().optional(),
  /** Streams: longest silence between two chunks (pings count). */
  stream_idle_ms: ms().optional(),
};

const degradedSchema = mapping({
  message: z.string(expected('a message')).min(1, { error: 'expected a non-empty message' }),
});

/** `clients[].resilience`: per-client overrides. */
export const clientResilienceSchema = mapping({
  max_attempts: count(1, 10, 'attempts').optional(),
  timeouts: mapping(timeoutsShape).optional(),
  fallback_models: z.array(z.string(expected('a model id')), expected('a list of model ids')).optional(),
  degraded: degradedSchema.optional(),
  max_concurrency: count(1, 1_000_000, 'concurrent requests').optional(),
});

/** The top-level `resilience:` section. */
export const resilienceSchema = mapping({
  max_attempts: count(1, 10, 'attempts').default(3),
  max_retry_delay_ms: ms().default(60_000),
  retry_budget: mapping({
    ratio: ratio().default(0.2),
    min_retries: count(0, 1_000_000, 'retries').default(10),
    window_ms: ms().default(10_000),
  }).prefault({}),
  breaker: mapping({
    failure_rate: z
      .number(expected('a number between 0 and 1 (exclusive)'))
      .gt(0, { error: 'expected a number between 0 and 1 (exclusive)' })
      .lt(1, { error: 'expected a number between 0 and 1 (exclusive)' })
      .default(0.5),
    window: count(2, 10_000, 'calls').default(20),
    min_volume: count(1, 10_000, 'calls').default(10),
    cooldown_ms: ms().default(30_000),
  }).prefault({}),
  timeouts: mapping({
    first_byte_ms: ms().default(60_000),
    total_ms: ms().default(120_000),
    stream_idle_ms: ms().default(60_000),
  }).prefault({}),
  concurrency: mapping({
    per_key: count(1, 1_000_000, 'concurrent requests').optional(),
    per_client: count(1, 1_000_000, 'concurrent requests').optional(),
    queue: count(0, 1_000_000, 'queued requests').default(100),
    queue_timeout_ms: ms().default(10_000),
    shed_retry_after_s: count(1, 3600, 'seconds').default(1),
  }).prefault({}),
  health: mapping({
    probe_interval_ms: ms().default(30_000),
    probe_model: z.string(expected('a model id')).default('claude-haiku-4-5'),
    probe_timeout_ms: ms().default(5_000),
  }).prefault({}),
});

export type RawResilience = z.output<typeof resilienceSchema>;
export type RawClientResilience = z.output<typeof clientResilienceSchema>;

export interface Timeouts {
  firstByteMs: number;
  totalMs: number;
  streamIdleMs: number;
}

export interface ResilienceConfig {
  maxAttempts: number;
  maxRetryDelayMs: number;
  retryBudget: { ratio: number; minRetries: number; windowMs: number };
  breaker: { failureRate: number; window: number; minVolume: number; cooldownMs: number };
  timeouts: Timeouts;
  concurrency: {
    perKey?: number;
    perClient?: number;
    queue: number;
    queueTimeoutMs: number;
    shedRetryAfterS: number;
  };
  health: { probeIntervalMs: number; probeModel: string; probeTimeoutMs: number };
}

export interface ClientResilience {
  maxAttempts?: number;
  timeouts?: Partial<Timeouts>;
  fallbackModels?: string[];
  degraded?: { message: string };
  maxConcurrency?: number;
}

export interface UpstreamKeyConfig {
  id: string;
  /** Secret reference of the key. */
  key: string;
  state: KeyState;
  weight: number;
}

export function resolveResilience(raw: RawResilience): ResilienceConfig {
  const c = raw.concurrency;
  return {
    maxAttempts: raw.max_attempts,
    maxRetryDelayMs: raw.max_retry_delay_ms,
    retryBudget: {
      ratio: raw.retry_budget.ratio,
      minRetries: raw.retry_budget.min_retries,
      windowMs: raw.retry_budget.window_ms,
    },
    breaker: {
      failureRate: raw.breaker.failure_rate,
      window: raw.breaker.window,
      minVolume: Math.min(raw.breaker.min_volume, raw.breaker.window),
      cooldownMs: raw.breaker.cooldown_ms,
    },
    timeouts: {
      firstByteMs: raw.timeouts.first_byte_ms,
      totalMs: raw.timeouts.total_ms,
      streamIdleMs: raw.timeouts.stream_idle_ms,
    },
    concurrency: {
      ...(c.per_key !== undefined ? { perKey: c.per_key } : {}),
      ...(c.per_client !== undefined ? { perClient: c.per_client } : {}),
      queue: c.queue,
      queueTimeoutMs: c.queue_timeout_ms,
      shedRetryAfterS: c.shed_retry_after_s,
    },
    health: {
      probeIntervalMs: raw.health.probe_interval_ms,
      probeModel: raw.health.probe_model,
      probeTimeoutMs: raw.health.probe_timeout_ms,
    },
  };
}

export function resolveClientResilience(raw: RawClientResilience | undefined): ClientResilience | undefined {
  if (!raw) return undefined;
  const out: ClientResilience = {};
  if (raw.max_attempts !== undefined) out.maxAttempts = raw.max_attempts;
  if (raw.timeouts) {
    const t: Partial<Timeouts> = {};
    if (raw.timeouts.first_byte_ms !== undefined) t.firstByteMs = raw.timeouts.first_byte_ms;
    if (raw.timeouts.total_ms !== undefined) t.totalMs = raw.timeouts.total_ms;
    if (raw.timeouts.stream_idle_ms !== undefined) t.streamIdleMs = raw.timeouts.stream_idle_ms;
    out.timeouts = t;
  }
  if (raw.fallback_models) out.fallbackModels = [...raw.fallback_models];
  if (raw.degraded) out.degraded = { message: raw.degraded.message };
  if (raw.max_concurrency !== undefined) out.maxConcurrency = raw.max_concurrency;
  return out;
}

/** The defaults (what an absent `resilience:` section resolves to). */
export const DEFAULT_RESILIENCE: ResilienceConfig = resolveResilience(resilienceSchema.parse({}));
