/**
 * Lookups over the model catalog (the data is in model-catalog.ts): resolving
 * an id or alias, the lifecycle of a model on a given date, listing, and the
 * nearest valid ids for a "did you mean" hint.
 *
 * A model's lifecycle is computed from its dates against the current date, in
 * this one place ({@link statusOf}): a deprecated model becomes retired on its
 * retirement date. The audit, `gantry models` and the gateway's policy all use
 * it; the simulator serves the catalog as recorded (`lifecycle`).
 *
 * @example
 *   resolveModel('claude-haiku-4-5')?.id        // 'claude-haiku-4-5-20251001'
 *   statusOf(resolveModel('claude-sonnet-4-5')!, new Date('2026-12-01'))  // 'retired'
 *   closestModelIds('claude-haiku-4-20250514')  // ['claude-haiku-4-5-20251001', ...]
 */
import { CATALOG_SOURCE, MODELS } from './model-catalog.ts';

export { CATALOG_SOURCE, MODELS };

/**
 * `legacy` is a catalog-only stage (no more updates, still callable, no
 * retirement scheduled); the Models API reports it as `active`.
 */
export type Lifecycle = 'active' | 'legacy' | 'deprecated' | 'retired';
/** Lifecycle values of the Models API (`legacy` shows as `active`). */
export type ApiLifecycle = 'active' | 'deprecated' | 'retired';
export type ModelLine = 'opus' | 'sonnet' | 'haiku' | 'fable' | 'mythos';

/** USD per million tokens. */
export interface ModelPrices {
  input: number | null;
  cache_write_5m: number | null;
  cache_write_1h: number | null;
  cache_read: number | null;
  output: number | null;
}

/** Which `thinking.type` values a request may send to the model without a 400. */
export interface ThinkingSupport {
  enabled: boolean;
  adaptive: boolean;
  disabled: boolean;
}

export interface ModelEntry {
  /** Canonical API id (what responses and `GET /v1/models/{alias}` report). */
  id: string;
  /** Other ids accepted for the model (resolve to `id`). */
  aliases: readonly string[];
  display_name: string;
  /** Release date, RFC 3339. Best known; approximate for some old models. */
  created_at: string;
  /** Context window (max input tokens); null when unknown. */
  context_window: number | null;
  /** Largest allowed `max_tokens`; null when unknown. */
  max_output: number | null;
  lifecycle: Lifecycle;
  /** When the model was deprecated (RFC 3339), where known. */
  deprecated_at: string | null;
  /** Scheduled or past retirement (end of life), where known. */
  retires_at: string | null;
  /** For legacy models: the announced "retire not before" date. */
  retire_not_before: string | null;
  prices: ModelPrices;
  /**
   * A prompt-size price band: above `above_prompt_tokens` (input + cache reads +
   * writes of the request) every token of the request is charged `prices` below
   * instead of the base prices. Third-party source only (see `note`).
   */
  long_prompt?: { above_prompt_tokens: number; prices: ModelPrices };
  /** Batch API multiplier on input and output (50% off). */
  batch_discount: 0.5;
  /** Model line; null for pre-Claude-3 models, which belong to none. */
  line: ModelLine | null;
  /** Minimum cacheable prompt length in tokens (§6); null when unconfirmed. */
  min_cacheable_tokens: number | null;
  thinking: ThinkingSupport;
  /** Sampling params (temperature/top_p/top_k) restricted even under 2023-06-01 (Claude 4.7+, Mythos Preview). */
  sampling_restricted: boolean;
  /** Whether a final assistant turn (prefill) is accepted (not on Claude 4.6+). */
  prefill: boolean;
  /** Whether `tool_choice` `any` / `tool` is accepted. */
  forced_tool_choice: boolean;
  /** Caveats on the numbers above. */
  note?: string;
}

// ---------------------------------------------------------------------------

const BY_NAME: ReadonlyMap<string, ModelEntry> = (() => {
  const m = new Map<string, ModelEntry>();
  for (const e of MODELS) {
    m.set(e.id, e);
    for (const a of e.aliases) m.set(a, e);
  }
  return m;
})();

/** The entry for an id or alias (aliases resolve to the canonical entry); retired models included. */
export function resolveModel(idOrAlias: string): ModelEntry | undefined {
  return BY_NAME.get(idOrAlias);
}

/**
 * The lifecycle stage of a model on `now`, from its dates: a model whose
 * retirement date has come is `retired` (whatever stage the catalog recorded
 * before that date); a model past its deprecation date is `deprecated`;
 * otherwise the catalog's stage. The one place Gantry decides whether a model
 * is still callable (audit, `gantry models`, the gateway's policy).
 *
 * @example statusOf(resolveModel('claude-sonnet-4-5')!, new Date('2026-11-29'))  // 'deprecated'
 * @example statusOf(resolveModel('claude-sonnet-4-5')!, new Date('2026-11-30'))  // 'retired'
 */
export function statusOf(e: ModelEntry, now: Date = new Date()): Lifecycle {
  if (e.lifecycle === 'retired') return 'retired';
  const t = now.getTime();
  if (e.retires_at && t >= Date.parse(e.retires_at)) return 'retired';
  if (e.lifecycle === 'deprecated') return 'deprecated';
  if (e.deprecated_at && t >= Date.parse(e.deprecated_at)) return 'deprecated';
  return e.lifecycle;
}

/**
 * The lifecycle the Models API reports (`legacy` is `active` there): the
 * catalog's stage, or with `now`, the stage on that date.
 */
export function apiLifecycle(e: ModelEntry, now?: Date): ApiLifecycle {
  const stage = now ? statusOf(e, now) : e.lifecycle;
  return stage === 'legacy' ? 'active' : stage;
}

/**
 * Models newest first (by `created_at`, catalog order on ties). With `lifecycle`,
 * only those stages (catalog stages: pass `legacy` too to get every callable model);
 * with `now`, the stages are those on that date ({@link statusOf}).
 */
export function listModels(opts: { lifecycle?: readonly Lifecycle[]; now?: Date } = {}): ModelEntry[] {
  const wanted = opts.lifecycle;
  const stage = (m: ModelEntry) => (opts.now ? statusOf(m, opts.now) : m.lifecycle);
  const out = wanted ? MODELS.filter((m) => wanted.includes(stage(m))) : [...MODELS];
  // Array.prototype.sort is stable: ties keep catalog order.
  return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
}

/** Levenshtein distance (two-row). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * Canonical ids of the `n` models whose id or an alias is nearest to `badId`
 * (edit distance; ties by newest). Retired models (as of `now` when given,
 * else as recorded) are left out unless asked: the list feeds "did you mean"
 * hints in 404 messages.
 */
export function closestModelIds(
  badId: string,
  n = 3,
  opts: { includeRetired?: boolean; now?: Date } = {},
): string[] {
  const scored: { id: string; d: number; rank: number }[] = [];
  const ordered = listModels();
  ordered.forEach((e, rank) => {
    const stage = opts.now ? statusOf(e, opts.now) : e.lifecycle;
    if (stage === 'retired' && !opts.includeRetired) return;
    let d = editDistance(badId, e.id);
    for (const a of e.aliases) d = Math.min(d, editDistance(badId, a));
    scored.push({ id: e.id, d, rank });
  });
  scored.sort((x, y) => x.d - y.d || x.rank - y.rank);
  return scored.slice(0, n).map((s) => s.id);
}
