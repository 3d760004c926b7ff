/**
 * Guards: what judges a rollout's candidate against its baseline, and the
 * defaults each starts from. One table (`GUARDS`), documented in
 * docs/rollouts.md with the checklist line each default comes from.
 *
 * A guard reads one figure of each arm over the same window (`figuresOf`)
 * and is breached when the candidate's figure is
 * - above `max` (absolute), or
 * - above `baseline × ratio + margin` (relative), judged only when the
 *   baseline has at least the minimum sample count itself.
 * `null` turns a part off. A guard is judged only when the candidate has at
 * least the minimum sample count of what the figure is made of (requests, or
 * streamed requests for time to first token).
 *
 * Pure: no clock, no I/O (tests drive it with fake windows).
 */
import { type ArmCounts, histogramCount, percentileOf } from './counts.ts';

export interface GuardLimits {
  /** Absolute bound on the candidate's figure; null: none. */
  max: number | null;
  /** Relative bound: candidate > baseline × ratio + margin breaches; null: none. */
  ratio: number | null;
  /** Added to the relative bound (in the guard's unit). */
  margin: number;
}

export interface GuardSpec {
  unit: string;
  /** Where the default comes from (the checklist line, or Gantry's choice). */
  source: string;
  defaults: GuardLimits;
}

/**
 * The guards and their defaults. The checklist's alert thresholds
 * (reference checklist, "Alert thresholds") give the first four: the
 * critical level is the absolute bound, the warning level the margin over
 * the baseline. The others are Gantry's defaults.
 */
export const GUARDS = {
  error_rate_5xx: {
    unit: '%',
    source: 'checklist: error rate (5xx) warning > 1 %, critical > 5 %',
    defaults: { max: 5, ratio: 1.5, margin: 1 },
  },
  latency_p99: {
    unit: 'ms',
    source: 'checklist: p99 latency warning > 10 s, critical > 30 s',
    defaults: { max: 30_000, ratio: 1.5, margin: 10_000 },
  },
  rate_429: {
    unit: '/min',
    source: 'checklist: 429 rate warning > 5 / min, critical > 20 / min',
    defaults: { max: 20, ratio: 2, margin: 5 },
  },
  auth_failures: {
    unit: 'failures',
    source: 'checklist: auth failures (401/403) > 0, paged immediately',
    defaults: { max: 0, ratio: null, margin: 0 },
  },
  ttft_p99: {
    unit: 'ms',
    source: 'Gantry: time to first token (OBS-2), 1.5 × baseline + 1 s',
    defaults: { max: null, ratio: 1.5, margin: 1_000 },
  },
  cost_per_request: {
    unit: 'USD',
    source: 'Gantry: cost per request (OBS-4), 1.5 × baseline',
    defaults: { max: null, ratio: 1.5, margin: 0 },
  },
  max_tokens_rate: {
    unit: '%',
    source: 'Gantry: answers truncated at max_tokens (COST-5), 1.5 × baseline + 5 points',
    defaults: { max: null, ratio: 1.5, margin: 5 },
  },
  refusal_rate: {
    unit: '%',
    source: 'Gantry: answers with stop_reason refusal, 1.5 × baseline + 1 point',
    defaults: { max: null, ratio: 1.5, margin: 1 },
  },
  tool_error_rate: {
    unit: '%',
    source: 'Gantry: requests reporting a failed tool call (tool_result is_error), 1.5 × baseline + 2 points',
    defaults: { max: null, ratio: 1.5, margin: 2 },
  },
} as const satisfies Record<string, GuardSpec>;

export type GuardName = keyof typeof GUARDS;
export const GUARD_NAMES = Object.keys(GUARDS) as GuardName[];

/** One arm's figures over a window, in each guard's unit (null: nothing to measure). */
export type ArmFigures = { requests: number; streams: number } & Record<GuardName, number | null>;

const pct = (n: number, d: number): number | null => (d === 0 ? null : round((n / d) * 100));
/** Six decimals: enough for a cost per request in USD (micro-dollars). */
const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/** The figures of one arm's counts over a window of `windowMs`. */
export function figuresOf(c: ArmCounts, windowMs: number): ArmFigures {
  const minutes = Math.max(windowMs, 1) / 60_000;
  const streams = histogramCount(c.ttft);
  return {
    requests: c.requests,
    streams,
    error_rate_5xx: pct(c.server, c.requests),
    latency_p99: c.requests === 0 ? null : (percentileOf(c.latency, 99) ?? null),
    rate_429: c.requests === 0 ? null : round(c.r429 / minutes),
    auth_failures: c.requests === 0 ? null : c.auth,
    ttft_p99: percentileOf(c.ttft, 99) ?? null,
    cost_per_request: c.requests === 0 ? null : round(c.costMicros / c.requests / 1e6),
    max_tokens_rate: pct(c.maxTokens, c.requests),
    refusal_rate: pct(c.refusals, c.requests),
    tool_error_rate: pct(c.toolErrors, c.requests),
  };
}

/** A guard's bound was crossed. */
export interface Breach {
  guard: GuardName;
  unit: string;
  /** Which bound: `absolute` (`max`) or `relative` (baseline × ratio + margin). */
  bound: 'absolute' | 'relative';
  candidate: number;
  baseline: number | null;
  /** The bound that was crossed, in the guard's unit. */
  limit: number;
}

/** One guard's reading in a window (for views and decision records). */
export interface GuardReading {
  guard: GuardName;
  unit: string;
  candidate: number | null;
  baseline: number | null;
  /** The tightest bound that applies now; null when the guard is not judged. */
  limit: number | null;
  /** False when the samples are too few to judge. */
  judged: boolean;
  breached: boolean;
}

/**
 * Figures that scale with traffic (429s per minute, auth failure counts) are
 * compared with the baseline's at the candidate's volume: the baseline's
 * figure × candidate requests / baseline requests.
 */
const VOLUME_SCALED: ReadonlySet<GuardName> = new Set(['rate_429', 'auth_failures']);

/** Reads every guard over one window: candidate vs baseline, with `minSamples` as the floor. */
export function readGuards(
  guards: Readonly<Partial<Record<GuardName, GuardLimits>>>,
  baseline: ArmFigures,
  candidate: ArmFigures,
  minSamples: number,
): { readings: GuardReading[]; breaches: Breach[] } {
  const readings: GuardReading[] = [];
  const breaches: Breach[] = [];
  for (const name of GUARD_NAMES) {
    const g = guards[name];
    if (!g) continue;
    const unit = GUARDS[name].unit;
    const samples = (f: ArmFigures) => (name === 'ttft_p99' ? f.streams : f.requests);
    const cand = candidate[name];
    let base = baseline[name];
    if (base !== null && VOLUME_SCALED.has(name) && baseline.requests > 0)
      base = round((base * candidate.requests) / baseline.requests);
    const judged = cand !== null && samples(candidate) >= minSamples;
    const relative = judged && g.ratio !== null && base !== null && samples(baseline) >= minSamples;
    const bounds: Array<{ bound: 'absolute' | 'relative'; limit: number }> = [];
    if (judged && g.max !== null) bounds.push({ bound: 'absolute', limit: g.max });
    if (relative) bounds.push({ bound: 'relative', limit: round(base! * g.ratio! + g.margin) });
    const crossed = bounds.filter((b) => cand! > b.limit);
    for (const b of crossed) breaches.push({ guard: name, unit, candidate: cand!, baseline: base, ...b });
    readings.push({
      guard: name,
      unit,
      candidate: cand,
      baseline: base,
      limit: bounds.length === 0 ? null : Math.min(...bounds.map((b) => b.limit)),
      judged,
      breached: crossed.length > 0,
    });
  }
  return { readings, breaches };
}
