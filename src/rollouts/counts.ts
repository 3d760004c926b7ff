/**
 * What a rollout counts about each arm: mergeable counters (sums and
 * log-bucketed histograms), so one replica's counts, another's and a store's
 * buckets add up to the same window whatever the order. Pure; no I/O.
 *
 * Histograms: a duration `ms` falls in bucket `ceil(log(ms) / log(1.1))`
 * (bucket 0 for anything up to 1 ms); a percentile is the upper bound of the
 * bucket holding its rank, so it is exact to within 10 % — plenty to tell a
 * 2 s first byte from a 50 ms one, and mergeable by adding counts.
 */
import type { ExchangeRecord } from '../pipeline/record.ts';

export const ARMS = ['baseline', 'candidate'] as const;
export type ArmName = (typeof ARMS)[number];

/** Counters of one arm over some span of time. Every field adds up across replicas and buckets. */
export interface ArmCounts {
  /** Messages requests served by the arm (Gantry's own admission refusals are not counted). */
  requests: number;
  /** 5xx answers and broken streams. */
  server: number;
  /** 429 answers from the upstream. */
  r429: number;
  /** 401/403 answers. */
  auth: number;
  /** Answers whose stop reason is `max_tokens` (truncated). */
  maxTokens: number;
  /** Answers whose stop reason is `refusal`. */
  refusals: number;
  /** Requests carrying a `tool_result` with `is_error: true` (the app reports a failed tool call). */
  toolErrors: number;
  /** Cost of the arm's answers, integer micro-dollars. */
  costMicros: number;
  /** Latency (arrival to response complete) histogram: bucket index → count. */
  latency: Record<string, number>;
  /** Time to first token histogram (streams only). */
  ttft: Record<string, number>;
}

export function emptyCounts(): ArmCounts {
  return {
    requests: 0,
    server: 0,
    r429: 0,
    auth: 0,
    maxTokens: 0,
    refusals: 0,
    toolErrors: 0,
    costMicros: 0,
    latency: {},
    ttft: {},
  };
}

/** The scalar counters of `ArmCounts`, in a fixed order (stores keep one field each). */
export const SCALARS = [
  'requests',
  'server',
  'r429',
  'auth',
  'maxTokens',
  'refusals',
  'toolErrors',
  'costMicros',
] as const;

const LOG_STEP = Math.log(1.1);

/** The histogram bucket of a duration in ms. */
export function bucketOf(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(400, Math.ceil(Math.log(ms) / LOG_STEP));
}

/** The upper bound of a bucket, ms. */
function bucketUpper(i: number): number {
  return i <= 0 ? 1 : 1.1 ** i;
}

/** Adds `from` into `into` (mutates `into`). */
export function addCounts(into: ArmCounts, from: ArmCounts): ArmCounts {
  for (const k of SCALARS) into[k] += from[k];
  for (const [i, n] of Object.entries(from.latency)) into.latency[i] = (into.latency[i] ?? 0) + n;
  for (const [i, n] of Object.entries(from.ttft)) into.ttft[i] = (into.ttft[i] ?? 0) + n;
  return into;
}

export function histogramCount(h: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(h)) n += v;
  return n;
}

/** The p-th percentile (nearest rank) of a histogram, ms; undefined when empty. */
export function percentileOf(h: Record<string, number>, p: number): number | undefined {
  const entries = Object.entries(h)
    .map(([i, n]) => [Number(i), n] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [i, n] of entries) {
    seen += n;
    if (seen >= rank) return Math.round(bucketUpper(i));
  }
  return Math.round(bucketUpper(entries[entries.length - 1][0]));
}

/**
 * Gantry's own refusals decided after the arm was chosen but before anything
 * reached the upstream (rate limits, budgets, input safety): they say nothing
 * about an arm and are not counted.
 */
const ADMISSION_CODES = new Set([
  'rate_limited',
  'budget_exceeded',
  'budget_reserved',
  'limits_unavailable',
  'input_blocked',
  'input_limit_exceeded',
]);

/** Whether a finished exchange counts for its arm: a Messages request not refused by Gantry's admission. */
export function counted(r: ExchangeRecord): boolean {
  if (r.route !== 'messages' || r.rollout === undefined) return false;
  return !(r.error && ADMISSION_CODES.has(r.error.code));
}

/** Adds one finished exchange into an arm's counts (the caller checked `counted`). */
export function countRecord(into: ArmCounts, r: ExchangeRecord): void {
  into.requests += 1;
  const status = r.status;
  if ((status !== undefined && status >= 500) || r.outcome === 'stream_error' || r.outcome === 'upstream_cut')
    into.server += 1;
  if (status === 429) into.r429 += 1;
  if (status === 401 || status === 403) into.auth += 1;
  if (r.stopReason === 'max_tokens') into.maxTokens += 1;
  if (r.stopReason === 'refusal') into.refusals += 1;
  if ((r.rollout?.toolErrors ?? 0) > 0) into.toolErrors += 1;
  into.costMicros += r.cost?.micros ?? 0;
  const finished = r.timings.finished;
  if (finished !== undefined) {
    const b = bucketOf(finished);
    into.latency[b] = (into.latency[b] ?? 0) + 1;
  }
  if (r.ttftMs !== undefined) {
    const b = bucketOf(r.ttftMs);
    into.ttft[b] = (into.ttft[b] ?? 0) + 1;
  }
}
