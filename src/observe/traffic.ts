/**
 * Traffic over time for the console's Overview (`GET /admin/traffic`): per
 * slot of the latency windows (`metrics.stats_interval_ms`, 10 s by default,
 * over `stats_intervals` slots), the number of `POST /v1/messages` requests
 * and of each error kind, next to that slot's latency and time-to-first-token
 * percentiles from `LatencyWindows` (the same HDR histograms `/admin/stats`
 * reads, so a chart and the headline figures never disagree).
 *
 * Error kinds use the alert engine's definitions where it has one (5xx:
 * `isServerError`, 429 and 401/403 by status), plus 529 (overloaded) and
 * timeouts (`timeout_error`). They overlap: a 529 is also a 5xx. Rates are
 * computed here, once, in percent of the slot's requests, so the browser only
 * draws them.
 */
import type { ExchangeRecord } from '../pipeline/record.ts';
import { errorTypeLabel, isServerError } from './metrics.ts';
import type { LatencyWindows, Quantiles } from './stats.ts';

const ERROR_KINDS = ['5xx', '529', '429', '401_403', 'timeout'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

interface Slot {
  start: number;
  requests: number;
  errors: Record<ErrorKind, number>;
}

export interface TrafficSlot {
  /** Start of the slot, ms since epoch (UTC). */
  start: number;
  requests: number;
  /** Requests per second over the slot (the current slot: over its elapsed part). */
  rps: number;
  errors: Record<ErrorKind, { count: number; percent: number }>;
  latency: Pick<Quantiles, 'count' | 'p50_ms' | 'p95_ms' | 'p99_ms'>;
  ttft: Pick<Quantiles, 'count' | 'p50_ms' | 'p95_ms' | 'p99_ms'>;
}

export interface TrafficSnapshot {
  window_ms: number;
  interval_ms: number;
  generated_at: string;
  /** Oldest first; slots without traffic are present with zero counts and null percentiles. */
  slots: TrafficSlot[];
}

const zeroErrors = (): Record<ErrorKind, number> => ({
  '5xx': 0,
  '529': 0,
  '429': 0,
  '401_403': 0,
  timeout: 0,
});

/** The error kinds an exchange counts in (none for a success). */
export function errorKinds(r: ExchangeRecord): ErrorKind[] {
  const out: ErrorKind[] = [];
  const status = r.status;
  const type = errorTypeLabel(r);
  if (isServerError(r)) out.push('5xx');
  if (status === 529 || type === 'overloaded_error') out.push('529');
  if (status === 429) out.push('429');
  if (status === 401 || status === 403) out.push('401_403');
  if (type === 'timeout_error') out.push('timeout');
  return out;
}

export class TrafficWindows {
  readonly #stats: LatencyWindows;
  readonly #now: () => number;
  readonly #slots: Slot[] = [];

  /** Shares the slot width, ring size and clock of `stats`. */
  constructor(stats: LatencyWindows, now: () => number = Date.now) {
    this.#stats = stats;
    this.#now = now;
  }

  /** Counts one finished `POST /v1/messages` exchange (in memory, no I/O). */
  record(r: ExchangeRecord): void {
    const now = this.#now();
    const width = this.#stats.intervalMs;
    const start = now - (now % width);
    const i = Math.floor(start / width) % this.#stats.intervals;
    let slot = this.#slots[i];
    if (!slot || slot.start !== start) {
      slot = { start, requests: 0, errors: zeroErrors() };
      this.#slots[i] = slot;
    }
    slot.requests += 1;
    for (const kind of errorKinds(r)) slot.errors[kind] += 1;
  }

  /** Every slot of the last `windowMs` (whole slots, like `/admin/stats`), oldest first. */
  snapshot(windowMs: number = this.#stats.spanMs): TrafficSnapshot {
    const width = this.#stats.intervalMs;
    const w = Math.min(Math.max(windowMs, width), this.#stats.spanMs);
    const now = this.#now();
    const current = now - (now % width);
    const count = Math.min(this.#stats.intervals, Math.max(1, Math.ceil(w / width)));
    const latency = new Map(this.#stats.slotSeries(count).map((s) => [s.start, s]));
    const slots: TrafficSlot[] = [];
    for (let k = count - 1; k >= 0; k--) {
      const start = current - k * width;
      const i = Math.floor(start / width) % this.#stats.intervals;
      const raw = this.#slots[i]?.start === start ? this.#slots[i] : undefined;
      const requests = raw?.requests ?? 0;
      const elapsed = Math.max(1, Math.min(width, now - start + 1));
      const errors = {} as TrafficSlot['errors'];
      for (const kind of ERROR_KINDS) {
        const n = raw?.errors[kind] ?? 0;
        errors[kind] = { count: n, percent: requests > 0 ? round2((n / requests) * 100) : 0 };
      }
      const l = latency.get(start);
      slots.push({
        start,
        requests,
        rps: round2((requests * 1000) / elapsed),
        errors,
        latency: pick(l?.latency),
        ttft: pick(l?.ttft),
      });
    }
    return { window_ms: count * width, interval_ms: width, generated_at: new Date(now).toISOString(), slots };
  }
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

function pick(q: Quantiles | undefined): TrafficSlot['latency'] {
  return q
    ? { count: q.count, p50_ms: q.p50_ms, p95_ms: q.p95_ms, p99_ms: q.p99_ms }
    : { count: 0, p50_ms: null, p95_ms: null, p99_ms: null };
}
