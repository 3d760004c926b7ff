/**
 * What the upstream says about its own limits (COST-1): the
 * `anthropic-ratelimit-*` headers of its responses, kept per environment (one
 * upstream key each) and exposed at `GET /admin/upstream`. The usage tier is
 * inferred from the request, input and output token limits (reference §7.2);
 * a custom tier or a workspace limit shows as `unknown`.
 *
 * Each replica keeps what it saw last (in memory): the headers describe the
 * organisation's limits, which every replica sees alike.
 */

export interface UpstreamLimit {
  limit?: number;
  remaining?: number;
  reset?: string;
}

export interface UpstreamSnapshot {
  environment: string;
  /** `start`, `build`, `scale`, or `unknown` (custom tier, workspace limits, or too few headers). */
  tier: string;
  limits: Record<string, UpstreamLimit>;
  /** The model of the response the headers came with (limits are per model class). */
  model?: string;
  observedAt: string;
  requestId?: string;
}

const PREFIXES = ['anthropic-ratelimit-', 'anthropic-priority-'];
const FIELDS = ['limit', 'remaining', 'reset'] as const;

/** [requests, input tokens, output tokens] per minute of each tier and model class (§7.2). */
const TIERS: ReadonlyArray<[tier: string, limits: readonly [number, number, number]]> = [
  ['start', [1_000, 2_000_000, 400_000]],
  ['build', [5_000, 5_000_000, 1_000_000]],
  ['scale', [10_000, 10_000_000, 2_000_000]],
  ['start', [1_000, 500_000, 100_000]], // Fable class
  ['build', [2_000, 1_500_000, 300_000]],
  ['scale', [4_000, 4_000_000, 800_000]],
];

/** Reads the upstream's rate-limit headers; undefined when there are none. */
export function readUpstreamLimits(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, UpstreamLimit> | undefined {
  const out: Record<string, UpstreamLimit> = {};
  let found = false;
  for (const [name, raw] of Object.entries(headers)) {
    const prefix = PREFIXES.find((p) => name.startsWith(p));
    if (!prefix || raw === undefined) continue;
    const rest = name.slice(prefix.length);
    const field = FIELDS.find((f) => rest.endsWith(`-${f}`));
    if (!field) continue;
    const kind = (prefix === 'anthropic-priority-' ? 'priority-' : '') + rest.slice(0, -field.length - 1);
    const value = Array.isArray(raw) ? raw[0] : raw;
    out[kind] ??= {};
    const entry = out[kind];
    if (field === 'reset') entry.reset = value;
    else if (Number.isFinite(Number(value))) entry[field] = Number(value);
    found = true;
  }
  return found ? out : undefined;
}

/** The usage tier whose limits match, or `unknown`. */
export function inferTier(limits: Record<string, UpstreamLimit>): string {
  const r = limits.requests?.limit;
  const i = limits['input-tokens']?.limit;
  const o = limits['output-tokens']?.limit;
  if (r === undefined || i === undefined || o === undefined) return 'unknown';
  return TIERS.find(([, l]) => l[0] === r && l[1] === i && l[2] === o)?.[0] ?? 'unknown';
}

/** The last snapshot per environment. */
export class UpstreamLimits {
  readonly #byEnv = new Map<string, UpstreamSnapshot>();

  observe(
    environment: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    model?: string,
    requestId?: string,
  ): void {
    const limits = readUpstreamLimits(headers);
    if (!limits) return;
    const snap: UpstreamSnapshot = {
      environment,
      tier: inferTier(limits),
      limits,
      observedAt: new Date().toISOString(),
    };
    if (model !== undefined) snap.model = model;
    if (requestId !== undefined) snap.requestId = requestId;
    this.#byEnv.set(environment, snap);
  }

  all(): UpstreamSnapshot[] {
    return [...this.#byEnv.values()];
  }
}
