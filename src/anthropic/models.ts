/**
 * The model catalog: every Claude model of the reference (§9.1 and the retired
 * list), its aliases, limits, lifecycle and prices. Data first, helpers after.
 *
 * Prices are USD per million tokens, exactly as the reference gives them; `null`
 * where no source read confirms a value (never guessed). The cost module computes
 * costs from these numbers; the simulator answers `/v1/models` and validates
 * `model` / `max_tokens` from them.
 *
 * @example
 *   resolveModel('claude-haiku-4-5')?.id        // 'claude-haiku-4-5-20251001'
 *   closestModelIds('claude-haiku-4-20250514')  // ['claude-haiku-4-5-20251001', ...]
 */

export const CATALOG_SOURCE = {
  source: 'shared/reference/anthropic-api.md §9 (platform.claude.com pricing and models pages)',
  asOf: '2026-11-24',
} as const;

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

const M = 1_000_000;
const K = 1_000;

const prices = (
  input: number | null,
  cache_write_5m: number | null,
  cache_write_1h: number | null,
  cache_read: number | null,
  output: number | null,
): ModelPrices => ({ input, cache_write_5m, cache_write_1h, cache_read, output });

const NO_PRICES = prices(null, null, null, null, null);

// Thinking rules (§3.3, §9.3): adaptive from Claude 4.6; `enabled` rejected from
// 4.7; thinking always on for Fable/Mythos (and Opus 5.5): `disabled` rejected.
const T_NONE: ThinkingSupport = { enabled: false, adaptive: false, disabled: true };
const T_EXTENDED: ThinkingSupport = { enabled: true, adaptive: false, disabled: true };
const T_46: ThinkingSupport = { enabled: true, adaptive: true, disabled: true };
const T_ADAPTIVE: ThinkingSupport = { enabled: false, adaptive: true, disabled: true };
const T_ALWAYS: ThinkingSupport = { enabled: false, adaptive: true, disabled: false };

const day = (d: string): string => `${d}T00:00:00Z`;

interface Row {
  id: string;
  aliases?: string[];
  name: string;
  released: string;
  context: number | null;
  maxOut: number | null;
  lifecycle: Lifecycle;
  deprecated?: string;
  retires?: string;
  notBefore?: string;
  prices: ModelPrices;
  longPrompt?: ModelEntry['long_prompt'];
  line: ModelLine | null;
  minCache: number | null;
  thinking: ThinkingSupport;
  modern: 'pre46' | '46' | '47+';
  forcedToolChoice?: boolean;
  note?: string;
}

function entry(r: Row): ModelEntry {
  const e: ModelEntry = {
    id: r.id,
    aliases: Object.freeze(r.aliases ?? []),
    display_name: r.name,
    created_at: day(r.released),
    context_window: r.context,
    max_output: r.maxOut,
    lifecycle: r.lifecycle,
    deprecated_at: r.deprecated ? day(r.deprecated) : null,
    retires_at: r.retires ? day(r.retires) : null,
    retire_not_before: r.notBefore ? day(r.notBefore) : null,
    prices: Object.freeze(r.prices),
    batch_discount: 0.5,
    line: r.line,
    min_cacheable_tokens: r.minCache,
    thinking: r.thinking,
    sampling_restricted: r.modern === '47+',
    prefill: r.modern === 'pre46',
    forced_tool_choice: r.forcedToolChoice ?? true,
  };
  if (r.longPrompt) e.long_prompt = r.longPrompt;
  if (r.note) e.note = r.note;
  return Object.freeze(e);
}

/** Every model, newest first. */
export const MODELS: readonly ModelEntry[] = Object.freeze(
  [
    // ---- current and recent (§9.1) ----
    {
      id: 'claude-fable-5-2',
      name: 'Claude Fable 5.2',
      released: '2026-11-09',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: prices(8, 10, 16, 0.2, 40),
      line: 'fable',
      minCache: null,
      thinking: T_ALWAYS,
      modern: '47+',
      note: 'Cache write/read prices from third-party trackers; release date = SDK addition date.',
    },
    {
      id: 'claude-mythos-5-2',
      name: 'Claude Mythos 5.2',
      released: '2026-11-09',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: NO_PRICES,
      line: 'mythos',
      minCache: null,
      thinking: T_ALWAYS,
      modern: '47+',
      note: 'Limited availability; prices unconfirmed (presumably those of Fable 5.2); limits assumed like Fable 5.2.',
    },
    {
      id: 'claude-haiku-5-5',
      name: 'Claude Haiku 5.5',
      released: '2026-10-07',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: prices(0.1, 0.125, 0.2, 0.01, 0.5),
      longPrompt: { above_prompt_tokens: 100_000, prices: prices(0.5, 0.625, 1, 0.05, 2.5) },
      line: 'haiku',
      minCache: null,
      thinking: T_ADAPTIVE,
      modern: '47+',
      note: 'Long-prompt band (above 100K prompt tokens) from third parties; the official page says "from $0.10 / $0.50".',
    },
    {
      id: 'claude-sonnet-5-5',
      name: 'Claude Sonnet 5.5',
      released: '2026-09-28',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: prices(2, 2.5, 4, 0.1, 10),
      line: 'sonnet',
      minCache: null,
      thinking: T_ADAPTIVE,
      modern: '47+',
      forcedToolChoice: false,
      note: 'Cache read $0.10 since 2026-10-07 ($0.20 before) per third parties; release date = SDK addition date.',
    },
    {
      id: 'claude-opus-5-5',
      name: 'Claude Opus 5.5',
      released: '2026-09-22',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: prices(4, 5, 8, 0.2, 20),
      line: 'opus',
      minCache: null,
      thinking: T_ALWAYS,
      modern: '47+',
      note: 'Thinking always on; default effort medium.',
    },
    {
      id: 'claude-fable-5-1',
      name: 'Claude Fable 5.1',
      released: '2026-09-01',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: prices(10, 12.5, 20, 0.25, 50),
      line: 'fable',
      minCache: 512,
      thinking: T_ALWAYS,
      modern: '47+',
      note: 'Release date and 512-token cache minimum from third parties; lifecycle after Fable 5.2 unconfirmed.',
    },
    {
      id: 'claude-mythos-5-1',
      name: 'Claude Mythos 5.1',
      released: '2026-09-01',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: prices(10, 12.5, 20, 0.25, 50),
      line: 'mythos',
      minCache: null,
      thinking: T_ALWAYS,
      modern: '47+',
      note: 'Verified organizations only; release date assumed equal to Fable 5.1.',
    },
    {
      id: 'claude-opus-5',
      name: 'Claude Opus 5',
      released: '2026-07-24',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'legacy',
      notBefore: '2027-07-24',
      prices: prices(5, 6.25, 10, 0.5, 25),
      line: 'opus',
      minCache: 512,
      thinking: T_ADAPTIVE,
      modern: '47+',
      note: '300K max output in Batch with beta output-300k-2026-03-24.',
    },
    {
      id: 'claude-sonnet-5',
      name: 'Claude Sonnet 5',
      released: '2026-06-30',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'legacy',
      notBefore: '2027-06-30',
      prices: prices(2, 2.5, 4, 0.2, 10),
      line: 'sonnet',
      minCache: 1024,
      thinking: T_ADAPTIVE,
      modern: '47+',
    },
    {
      id: 'claude-fable-5',
      name: 'Claude Fable 5',
      released: '2026-06-09',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'legacy',
      notBefore: '2027-06-09',
      prices: prices(10, 12.5, 20, 1, 50),
      line: 'fable',
      minCache: 512,
      thinking: T_ALWAYS,
      modern: '47+',
    },
    {
      id: 'claude-mythos-5',
      name: 'Claude Mythos 5',
      released: '2026-06-09',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'active',
      prices: prices(10, 12.5, 20, 1, 50),
      line: 'mythos',
      minCache: 512,
      thinking: T_ALWAYS,
      modern: '47+',
      note: 'Limited availability (Project Glasswing); release date assumed equal to Fable 5.',
    },
    {
      id: 'claude-opus-4-8',
      name: 'Claude Opus 4.8',
      released: '2026-05-28',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'legacy',
      notBefore: '2027-05-28',
      prices: prices(5, 6.25, 10, 0.5, 25),
      line: 'opus',
      minCache: 1024,
      thinking: T_ADAPTIVE,
      modern: '47+',
      note: 'Release date inferred from the retire-not-before date (one year).',
    },
    {
      id: 'claude-opus-4-7',
      name: 'Claude Opus 4.7',
      released: '2026-04-16',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'legacy',
      notBefore: '2027-04-16',
      prices: prices(5, 6.25, 10, 0.5, 25),
      line: 'opus',
      minCache: 2048,
      thinking: T_ADAPTIVE,
      modern: '47+',
      note: 'Release date inferred from the retire-not-before date (one year).',
    },
    {
      id: 'claude-mythos-preview',
      name: 'Claude Mythos Preview',
      released: '2026-04-07',
      context: null,
      maxOut: null,
      lifecycle: 'deprecated',
      retires: '2026-06-30',
      prices: NO_PRICES,
      line: 'mythos',
      minCache: 2048,
      thinking: T_ALWAYS,
      modern: '47+',
      note: 'Prices, limits and release date unconfirmed; end of life 2026-06-30 passed but the SDK still lists it as deprecated.',
    },
    {
      id: 'claude-sonnet-4-6',
      name: 'Claude Sonnet 4.6',
      released: '2026-02-17',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'legacy',
      notBefore: '2027-02-17',
      prices: prices(3, 3.75, 6, 0.3, 15),
      line: 'sonnet',
      minCache: 1024,
      thinking: T_46,
      modern: '46',
      note: 'Release date inferred from the retire-not-before date (one year).',
    },
    {
      id: 'claude-opus-4-6',
      name: 'Claude Opus 4.6',
      released: '2026-02-05',
      context: M,
      maxOut: 128 * K,
      lifecycle: 'legacy',
      notBefore: '2027-02-05',
      prices: prices(5, 6.25, 10, 0.5, 25),
      line: 'opus',
      minCache: 4096,
      thinking: T_46,
      modern: '46',
      note: 'Release date inferred from the retire-not-before date (one year).',
    },
    {
      id: 'claude-opus-4-5-20251101',
      aliases: ['claude-opus-4-5'],
      name: 'Claude Opus 4.5',
      released: '2025-11-24',
      context: 200 * K,
      maxOut: 64 * K,
      lifecycle: 'deprecated',
      retires: '2027-01-22',
      prices: prices(5, 6.25, 10, 0.5, 25),
      line: 'opus',
      minCache: 4096,
      thinking: T_EXTENDED,
      modern: 'pre46',
    },
    {
      id: 'claude-haiku-4-5-20251001',
      aliases: ['claude-haiku-4-5'],
      name: 'Claude Haiku 4.5',
      released: '2025-10-15',
      context: 200 * K,
      maxOut: 64 * K,
      lifecycle: 'active',
      prices: prices(1, 1.25, 2, 0.1, 5),
      line: 'haiku',
      minCache: 4096,
      thinking: T_EXTENDED,
      modern: 'pre46',
      note: 'Active per SDK data (an Aug 2026 doc said retire not before 2026-10-15).',
    },
    {
      id: 'claude-sonnet-4-5-20250929',
      aliases: ['claude-sonnet-4-5'],
      name: 'Claude Sonnet 4.5',
      released: '2025-09-29',
      context: 200 * K,
      maxOut: 64 * K,
      lifecycle: 'deprecated',
      retires: '2026-11-30',
      prices: prices(3, 3.75, 6, 0.3, 15),
      line: 'sonnet',
      minCache: 1024,
      thinking: T_EXTENDED,
      modern: 'pre46',
    },
    // ---- retired (requests fail; listed with lifecycle[]=retired) ----
    {
      id: 'claude-opus-4-1-20250805',
      aliases: ['claude-opus-4-1'],
      name: 'Claude Opus 4.1',
      released: '2025-08-05',
      context: 200 * K,
      maxOut: 32 * K,
      lifecycle: 'retired',
      retires: '2026-08-05',
      prices: prices(15, 18.75, 30, 1.5, 75),
      line: 'opus',
      minCache: 1024,
      thinking: T_EXTENDED,
      modern: 'pre46',
    },
    {
      id: 'claude-opus-4-20250514',
      aliases: ['claude-opus-4-0'],
      name: 'Claude Opus 4',
      released: '2025-05-22',
      context: 200 * K,
      maxOut: 32 * K,
      lifecycle: 'retired',
      retires: '2026-06-15',
      prices: prices(15, null, null, null, 75),
      line: 'opus',
      minCache: 1024,
      thinking: T_EXTENDED,
      modern: 'pre46',
    },
    {
      id: 'claude-sonnet-4-20250514',
      aliases: ['claude-sonnet-4-0'],
      name: 'Claude Sonnet 4',
      released: '2025-05-22',
      context: 200 * K,
      maxOut: 64 * K,
      lifecycle: 'retired',
      retires: '2026-06-15',
      prices: prices(3, null, null, null, 15),
      line: 'sonnet',
      minCache: 1024,
      thinking: T_EXTENDED,
      modern: 'pre46',
    },
    {
      id: 'claude-3-7-sonnet-20250219',
      name: 'Claude Sonnet 3.7',
      released: '2025-02-24',
      context: 200 * K,
      maxOut: 64 * K,
      lifecycle: 'retired',
      deprecated: '2025-10-28',
      retires: '2026-02-19',
      prices: NO_PRICES,
      line: 'sonnet',
      minCache: 1024,
      thinking: T_EXTENDED,
      modern: 'pre46',
    },
    {
      id: 'claude-3-5-haiku-20241022',
      name: 'Claude Haiku 3.5',
      released: '2024-10-22',
      context: 200 * K,
      maxOut: 8192,
      lifecycle: 'retired',
      deprecated: '2025-10-28',
      retires: '2026-02-19',
      prices: prices(0.8, 1, 1.6, 0.08, 4),
      line: 'haiku',
      minCache: 2048,
      thinking: T_NONE,
      modern: 'pre46',
    },
    {
      id: 'claude-3-5-sonnet-20241022',
      name: 'Claude Sonnet 3.5 (New)',
      released: '2024-10-22',
      context: 200 * K,
      maxOut: 8192,
      lifecycle: 'retired',
      deprecated: '2025-08-13',
      retires: '2025-10-28',
      prices: NO_PRICES,
      line: 'sonnet',
      minCache: 1024,
      thinking: T_NONE,
      modern: 'pre46',
    },
    {
      id: 'claude-3-5-sonnet-20240620',
      name: 'Claude Sonnet 3.5',
      released: '2024-06-20',
      context: 200 * K,
      maxOut: 8192,
      lifecycle: 'retired',
      deprecated: '2025-08-13',
      retires: '2025-10-28',
      prices: NO_PRICES,
      line: 'sonnet',
      minCache: 1024,
      thinking: T_NONE,
      modern: 'pre46',
    },
    {
      id: 'claude-3-haiku-20240307',
      name: 'Claude Haiku 3',
      released: '2024-03-07',
      context: 200 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      retires: '2026-04-20',
      prices: prices(0.25, null, null, null, 1.25),
      line: 'haiku',
      minCache: 2048,
      thinking: T_NONE,
      modern: 'pre46',
    },
    {
      id: 'claude-3-opus-20240229',
      name: 'Claude Opus 3',
      released: '2024-02-29',
      context: 200 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      deprecated: '2025-06-30',
      retires: '2026-01-05',
      prices: NO_PRICES,
      line: 'opus',
      minCache: 1024,
      thinking: T_NONE,
      modern: 'pre46',
    },
    {
      id: 'claude-3-sonnet-20240229',
      name: 'Claude Sonnet 3',
      released: '2024-02-29',
      context: 200 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      deprecated: '2025-01-21',
      retires: '2025-07-21',
      prices: NO_PRICES,
      line: 'sonnet',
      minCache: 1024,
      thinking: T_NONE,
      modern: 'pre46',
    },
    {
      id: 'claude-2.1',
      name: 'Claude 2.1',
      released: '2023-11-21',
      context: 200 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      deprecated: '2025-01-21',
      retires: '2025-07-21',
      prices: NO_PRICES,
      line: null,
      minCache: null,
      thinking: T_NONE,
      modern: 'pre46',
      note: 'Pre-Claude-3 model (belongs to no line); release date and limits approximate.',
    },
    {
      id: 'claude-2.0',
      name: 'Claude 2.0',
      released: '2023-07-11',
      context: 100 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      deprecated: '2025-01-21',
      retires: '2025-07-21',
      prices: NO_PRICES,
      line: null,
      minCache: null,
      thinking: T_NONE,
      modern: 'pre46',
      note: 'Pre-Claude-3 model (belongs to no line); release date and limits approximate.',
    },
    {
      id: 'claude-instant-1.2',
      name: 'Claude Instant 1.2',
      released: '2023-08-09',
      context: 100 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      retires: '2024-11-06',
      prices: NO_PRICES,
      line: null,
      minCache: null,
      thinking: T_NONE,
      modern: 'pre46',
      note: 'Pre-Claude-3 model (belongs to no line); release date and limits approximate.',
    },
    {
      id: 'claude-1.3',
      name: 'Claude 1.3',
      released: '2023-04-18',
      context: 100 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      retires: '2024-11-06',
      prices: NO_PRICES,
      line: null,
      minCache: null,
      thinking: T_NONE,
      modern: 'pre46',
      note: 'Pre-Claude-3 model (belongs to no line); release date and limits approximate.',
    },
    {
      id: 'claude-instant-1.1',
      name: 'Claude Instant 1.1',
      released: '2023-03-14',
      context: 9 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      retires: '2024-11-06',
      prices: NO_PRICES,
      line: null,
      minCache: null,
      thinking: T_NONE,
      modern: 'pre46',
      note: 'Pre-Claude-3 model (belongs to no line); release date and limits approximate.',
    },
    {
      id: 'claude-1.2',
      name: 'Claude 1.2',
      released: '2023-03-14',
      context: 9 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      retires: '2024-11-06',
      prices: NO_PRICES,
      line: null,
      minCache: null,
      thinking: T_NONE,
      modern: 'pre46',
      note: 'Pre-Claude-3 model (belongs to no line); release date and limits approximate.',
    },
    {
      id: 'claude-1.0',
      name: 'Claude 1.0',
      released: '2023-03-14',
      context: 9 * K,
      maxOut: 4096,
      lifecycle: 'retired',
      retires: '2024-11-06',
      prices: NO_PRICES,
      line: null,
      minCache: null,
      thinking: T_NONE,
      modern: 'pre46',
      note: 'Pre-Claude-3 model (belongs to no line); release date and limits approximate.',
    },
  ].map((r) => entry(r as Row)),
);

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

/** The lifecycle the Models API reports (`legacy` is `active` there). */
export function apiLifecycle(e: ModelEntry): ApiLifecycle {
  return e.lifecycle === 'legacy' ? 'active' : e.lifecycle;
}

/**
 * Models newest first (by `created_at`, catalog order on ties). With `lifecycle`,
 * only those stages (catalog stages: pass `legacy` too to get every callable model).
 */
export function listModels(opts: { lifecycle?: readonly Lifecycle[] } = {}): ModelEntry[] {
  const wanted = opts.lifecycle;
  const out = wanted ? MODELS.filter((m) => wanted.includes(m.lifecycle)) : [...MODELS];
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
 * (edit distance; ties by newest). Retired models are left out unless asked:
 * the list feeds "did you mean" hints in 404 messages.
 */
export function closestModelIds(badId: string, n = 3, opts: { includeRetired?: boolean } = {}): string[] {
  const scored: { id: string; d: number; rank: number }[] = [];
  const ordered = listModels();
  ordered.forEach((e, rank) => {
    if (e.lifecycle === 'retired' && !opts.includeRetired) return;
    let d = editDistance(badId, e.id);
    for (const a of e.aliases) d = Math.min(d, editDistance(badId, a));
    scored.push({ id: e.id, d, rank });
  });
  scored.sort((x, y) => x.d - y.d || x.rank - y.rank);
  return scored.slice(0, n).map((s) => s.id);
}
