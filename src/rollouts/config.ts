/**
 * The `rollouts:` and `prompts:` sections of gantry.yaml (docs/rollouts.md).
 * A rollout is declared in config (what its arms are, its steps, its guards)
 * and driven at run time (`gantry rollout start|pause|promote|abort`); its
 * state lives in the state store, not here.
 *
 * ```yaml
 * prompts:
 *   support-agent:
 *     default: v3
 *     versions:
 *       v3: { file: ./prompts/support-v3.md }
 *       v4: { text: "You are the support agent of Example Inc." }
 * rollouts:
 *   - id: sonnet-5-5
 *     clients: [support]
 *     baseline: { model: claude-sonnet-4-5 }
 *     candidate: { model: claude-sonnet-5-5, max_tokens: 2048, prompts: { support-agent: v4 } }
 *     steps: [1, 5, 25, 50, 100]
 *     hold_ms: 600000
 *     min_requests: 100
 *     guards: { latency_p99: { max: 20000 }, cost_per_request: null }
 * ```
 */
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { resolveModel } from '../anthropic/models.ts';
import { expected, isValidName, MAX_TIMER_MS, mapping, milliseconds, NAME_RULE } from '../config/fields.ts';
import { allowed, catalogRefusal } from '../policy/rules.ts';
import { GUARD_NAMES, GUARDS, type GuardLimits, type GuardName } from './guards.ts';

const name = (what: string) =>
  z.string(expected(what)).refine((v) => isValidName(v), { error: `invalid ${what}: ${NAME_RULE}` });

const thinkingSchema = z
  .strictObject(
    {
      type: z.enum(['enabled', 'adaptive', 'disabled'], expected('enabled, adaptive or disabled')),
      budget_tokens: z.int(expected('a whole number of tokens')).min(1024).optional(),
    },
    expected('a mapping: { type: enabled, budget_tokens: 2048 }, { type: adaptive } or { type: disabled }'),
  )
  .superRefine((t, ctx) => {
    if (t.type === 'enabled' && t.budget_tokens === undefined)
      ctx.addIssue({ code: 'custom', path: ['budget_tokens'], message: 'required with type: enabled' });
    if (t.type !== 'enabled' && t.budget_tokens !== undefined)
      ctx.addIssue({ code: 'custom', path: ['budget_tokens'], message: 'only with type: enabled' });
  });

const armSchema = mapping({
  model: z.string(expected('a model id')).min(1).max(200).optional(),
  max_tokens: z.int(expected('a whole number of tokens')).min(1).optional(),
  thinking: thinkingSchema.optional(),
  prompt_caching: z.enum(['auto'], expected('auto')).optional(),
  cache_ttl: z.enum(['5m', '1h'], expected('5m or 1h')).default('5m'),
  environment: z.string(expected('an environment name')).optional(),
  prompts: z.record(z.string(), z.string(expected('a version name')), expected('a mapping')).optional(),
}).superRefine((a, ctx) => {
  const refusal = a.model === undefined ? undefined : catalogRefusal(a.model, false);
  if (refusal) ctx.addIssue({ code: 'custom', path: ['model'], message: refusal.replace(/^model: /, '') });
  if (
    a.thinking?.budget_tokens !== undefined &&
    !(a.max_tokens !== undefined && a.max_tokens > a.thinking.budget_tokens)
  )
    ctx.addIssue({
      code: 'custom',
      path: ['max_tokens'],
      message: 'an arm with thinking budget_tokens sets max_tokens above the budget',
    });
});

const guardSchema = z
  .strictObject(
    {
      max: z.number(expected('a number, or null for no absolute bound')).min(0).nullable().optional(),
      ratio: z.number(expected('a number ≥ 1, or null for no relative bound')).min(1).nullable().optional(),
      margin: z.number(expected('a number')).min(0).optional(),
    },
    expected('a mapping { max, ratio, margin }, or null to turn the guard off'),
  )
  .nullable();

const stepSchema = z.union(
  [
    z.number(),
    z.strictObject({
      percent: z.number(expected('a percentage')),
      hold_ms: z.int().min(0).max(MAX_TIMER_MS).optional(),
      min_requests: z.int().min(0).optional(),
    }),
  ],
  expected('a percentage, or { percent, hold_ms, min_requests }'),
);

const rolloutSchema = mapping({
  id: name('rollout id'),
  clients: z.array(z.string(expected('a client name')), expected('a list of client names')).min(1, {
    error: 'name at least one client',
  }),
  baseline: armSchema.prefault({}),
  candidate: armSchema,
  steps: z.array(stepSchema, expected('a list of percentages')).min(1).max(20).default([1, 5, 25, 50, 100]),
  hold_ms: z.int(expected('a whole number of milliseconds')).min(0).max(MAX_TIMER_MS).default(600_000),
  min_requests: z.int(expected('a whole number of requests')).min(0).default(100),
  window_ms: milliseconds(300_000),
  evaluate_every_ms: milliseconds(15_000).refine((v) => v >= 50, { error: 'expected at least 50 ms' }),
  min_samples: z.int(expected('a whole number of requests')).min(1).default(20),
  allow_pin: z.boolean(expected('true or false')).default(true),
  guards: z
    .partialRecord(
      z.enum(GUARD_NAMES as [GuardName, ...GuardName[]]),
      guardSchema,
      expected('a mapping of guards'),
    )
    .optional(),
}).superRefine((r, ctx) => {
  let last = 0;
  r.steps.forEach((s, i) => {
    const p = typeof s === 'number' ? s : s.percent;
    if (!(p > 0 && p <= 100) || p <= last)
      ctx.addIssue({
        code: 'custom',
        path: ['steps', i],
        message: 'steps are percentages above 0 and at most 100, each above the one before',
      });
    last = p;
  });
  if (last !== 100)
    ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the last step is 100 (the whole traffic)' });
});

const promptVersionSchema = z
  .strictObject(
    {
      text: z.string(expected('the prompt text')).min(1).optional(),
      file: z.string(expected('a file path')).min(1).optional(),
    },
    expected('a mapping { text } or { file }'),
  )
  .refine((v) => (v.text === undefined) !== (v.file === undefined), {
    error: 'give exactly one of text or file',
  });

const promptSchema = mapping({
  default: z.string(expected('the version used when none is chosen')),
  versions: z.record(z.string(), promptVersionSchema, expected('a mapping of versions')),
}).superRefine((p, ctx) => {
  if (!(p.default in p.versions))
    ctx.addIssue({ code: 'custom', path: ['default'], message: `no version "${p.default}" in versions` });
});

export const rolloutsSchema = z.array(rolloutSchema, expected('a list of rollouts')).default([]);
export const promptsSchema = z
  .record(z.string(), promptSchema, expected('a mapping of prompt names'))
  .default({});

export type RawRollout = z.output<typeof rolloutSchema>;
export type RawPrompts = z.output<typeof promptsSchema>;

/** What an arm changes in a request (absent: nothing). */
export interface Arm {
  name: 'baseline' | 'candidate';
  model?: string;
  maxTokens?: number;
  thinking?: { type: 'enabled' | 'adaptive' | 'disabled'; budgetTokens?: number };
  promptCaching?: 'auto';
  cacheTtl: '5m' | '1h';
  environment?: string;
  /** Prompt name → version this arm substitutes for requests that reference the prompt. */
  prompts?: Readonly<Record<string, string>>;
}

export interface RolloutStep {
  percent: number;
  holdMs: number;
  minRequests: number;
}

export interface RolloutConfig {
  id: string;
  clients: readonly string[];
  baseline: Arm;
  candidate: Arm;
  steps: readonly RolloutStep[];
  windowMs: number;
  evaluateEveryMs: number;
  minSamples: number;
  allowPin: boolean;
  /** Every guard with its limits (defaults merged); a guard turned off is absent. */
  guards: Readonly<Partial<Record<GuardName, GuardLimits>>>;
}

export interface PromptConfig {
  name: string;
  default: string;
  /** Version → the text, or the absolute path of the file holding it. */
  versions: Readonly<Record<string, { text?: string; file?: string }>>;
}

function resolveArm(name: Arm['name'], a: z.output<typeof armSchema>): Arm {
  const arm: Arm = { name, cacheTtl: a.cache_ttl };
  if (a.model !== undefined) arm.model = a.model;
  if (a.max_tokens !== undefined) arm.maxTokens = a.max_tokens;
  if (a.thinking !== undefined)
    arm.thinking = {
      type: a.thinking.type,
      ...(a.thinking.budget_tokens !== undefined ? { budgetTokens: a.thinking.budget_tokens } : {}),
    };
  if (a.prompt_caching !== undefined) arm.promptCaching = a.prompt_caching;
  if (a.environment !== undefined) arm.environment = a.environment;
  if (a.prompts !== undefined) arm.prompts = a.prompts;
  return arm;
}

export function resolveRollouts(raw: readonly RawRollout[]): RolloutConfig[] {
  return raw.map((r) => {
    const guards: Partial<Record<GuardName, GuardLimits>> = {};
    for (const g of GUARD_NAMES) {
      const given = r.guards?.[g];
      if (given === null) continue;
      const d = GUARDS[g].defaults;
      guards[g] = {
        max: given?.max !== undefined ? given.max : d.max,
        ratio: given?.ratio !== undefined ? given.ratio : d.ratio,
        margin: given?.margin ?? d.margin,
      };
    }
    return {
      id: r.id,
      clients: r.clients,
      baseline: resolveArm('baseline', r.baseline),
      candidate: resolveArm('candidate', r.candidate),
      steps: r.steps.map((s) =>
        typeof s === 'number'
          ? { percent: s, holdMs: r.hold_ms, minRequests: r.min_requests }
          : {
              percent: s.percent,
              holdMs: s.hold_ms ?? r.hold_ms,
              minRequests: s.min_requests ?? r.min_requests,
            },
      ),
      windowMs: r.window_ms,
      evaluateEveryMs: r.evaluate_every_ms,
      minSamples: r.min_samples,
      allowPin: r.allow_pin,
      guards,
    };
  });
}

export function resolvePrompts(raw: RawPrompts, baseDir: string): PromptConfig[] {
  return Object.entries(raw).map(([name, p]) => ({
    name,
    default: p.default,
    versions: Object.fromEntries(
      Object.entries(p.versions).map(([v, spec]) => [
        v,
        spec.file !== undefined ? { file: resolvePath(baseDir, spec.file) } : { text: spec.text },
      ]),
    ),
  }));
}

/**
 * Rules across sections (clients, environments and prompts exist; a client is
 * in at most one rollout per baseline model), on the raw document.
 */
export function crossCheckRollouts(
  raw: Record<string, unknown>,
): Array<{ path: PropertyKey[]; message: string }> {
  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const rollouts = raw.rollouts;
  if (!Array.isArray(rollouts)) return issues;
  const rec = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const clientNames = Array.isArray(raw.clients)
    ? new Set(raw.clients.map((c) => rec(c)?.name).filter((n) => typeof n === 'string'))
    : new Set<unknown>();
  /** A client's model allow-list (`policy.models`): an arm may not send a model the client may not use. */
  const allowList = (client: string): string[] | undefined => {
    const c = Array.isArray(raw.clients) ? raw.clients.map(rec).find((x) => x?.name === client) : undefined;
    const models = rec(c?.policy)?.models;
    return Array.isArray(models) ? models.filter((m): m is string => typeof m === 'string') : undefined;
  };
  const envs = rec(raw.environments);
  const envNames = envs ? new Set(Object.keys(envs)) : new Set(['default']);
  const prompts = rec(raw.prompts) ?? {};
  const ids = new Set<string>();
  const claimed = new Map<string, Map<string, string>>();
  rollouts.forEach((r, i) => {
    const ro = rec(r);
    if (!ro) return;
    if (typeof ro.id === 'string') {
      if (ids.has(ro.id))
        issues.push({ path: ['rollouts', i, 'id'], message: `duplicate rollout id "${ro.id}"` });
      ids.add(ro.id);
    }
    const baseModel = typeof rec(ro.baseline)?.model === 'string' ? String(rec(ro.baseline)!.model) : '*';
    const canonical = resolveModel(baseModel)?.id ?? baseModel;
    if (Array.isArray(ro.clients)) {
      ro.clients.forEach((c, j) => {
        if (typeof c !== 'string') return;
        if (clientNames.size > 0 && !clientNames.has(c))
          issues.push({ path: ['rollouts', i, 'clients', j], message: `no client "${c}" in clients` });
        // One rollout per client and baseline model; a rollout with no baseline model takes all of them.
        const mine = claimed.get(c) ?? new Map<string, string>();
        const other =
          mine.get(canonical) ?? mine.get('*') ?? (canonical === '*' ? [...mine.values()][0] : undefined);
        if (other !== undefined)
          issues.push({
            path: ['rollouts', i, 'clients', j],
            message: `client "${c}" is already in rollout "${other}" for the same requests; one rollout per client and baseline model`,
          });
        mine.set(canonical, typeof ro.id === 'string' ? ro.id : `#${i}`);
        claimed.set(c, mine);
      });
    }
    for (const armName of ['baseline', 'candidate'] as const) {
      const arm = rec(ro[armName]);
      if (!arm) continue;
      if (typeof arm.model === 'string' && Array.isArray(ro.clients))
        for (const c of ro.clients) {
          const list = typeof c === 'string' ? allowList(c) : undefined;
          if (list && !allowed(arm.model, list))
            issues.push({
              path: ['rollouts', i, armName, 'model'],
              message: `${arm.model} is not in the allow-list (policy.models) of client "${c}"`,
            });
        }
      if (typeof arm.environment === 'string' && !envNames.has(arm.environment))
        issues.push({
          path: ['rollouts', i, armName, 'environment'],
          message: `no environment "${arm.environment}" in environments`,
        });
      const ap = rec(arm.prompts);
      for (const [p, v] of Object.entries(ap ?? {})) {
        const versions = rec(rec(prompts[p])?.versions);
        if (!versions)
          issues.push({
            path: ['rollouts', i, armName, 'prompts', p],
            message: `no prompt "${p}" in prompts`,
          });
        else if (typeof v === 'string' && !(v in versions))
          issues.push({
            path: ['rollouts', i, armName, 'prompts', p],
            message: `prompt "${p}" has no version "${v}"`,
          });
      }
    }
  });
  return issues;
}
