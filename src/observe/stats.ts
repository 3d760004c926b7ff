/**
 * Sliding-window latency percentiles (OBS-2): p50 / p95 / p99 of total latency
 * and of time to first token, per client and model, over the last few minutes.
 *
 * Each (client, model) series holds a ring of `intervals` slots of
 * `intervalMs` each; a slot is an HDR histogram pair (total, ttft) that is
 * reset when the ring comes round to it again. A query merges the slots that
 * fall in the window, so percentiles are exact to HDR precision (3 significant
 * digits) over the window, not averages of per-slot percentiles.
 *
 * Values are recorded in microseconds; histograms are allocated lazily (an
 * idle slot costs nothing) and use the packed bucket layout (a few KB each).
 * The number of series is bounded (`maxSeries`); beyond it, new pairs are
 * recorded as client `other` / model `other`.
 */
import * as hdr from 'hdr-histogram-js';

type Histogram = ReturnType<typeof hdr.build>;

const newHistogram = (): Histogram =>
  hdr.build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 3 });

interface Slot {
  /** Start of the interval (clock ms), aligned to `intervalMs`. */
  start: number;
  total?: Histogram;
  ttft?: Histogram;
}

interface Series {
  client: string;
  model: string;
  slots: Slot[];
}

export interface Quantiles {
  count: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface SeriesStats {
  latency: Quantiles;
  ttft: Quantiles;
}

export interface StatsSnapshot {
  window_ms: number;
  interval_ms: number;
  generated_at: string;
  overall: SeriesStats;
  by_client: Record<string, SeriesStats>;
  by_model: Record<string, SeriesStats>;
  by_client_model: Array<{ client: string; model: string } & SeriesStats>;
}

export interface LatencyWindowsOptions {
  /** Width of one slot (default 10 s). */
  intervalMs?: number;
  /** Slots in the ring; the longest window is `intervalMs × intervals` (default 30: 5 min). */
  intervals?: number;
  /** Largest number of (client, model) series (default 500). */
  maxSeries?: number;
  /** Clock in ms (injectable for tests; default `Date.now`). */
  now?: () => number;
}

export interface SeriesFilter {
  client?: string;
  model?: string;
}

const toMs = (us: number): number => Math.round(us) / 1000;

export class LatencyWindows {
  readonly intervalMs: number;
  readonly intervals: number;
  readonly #maxSeries: number;
  readonly #now: () => number;
  readonly #series = new Map<string, Series>();

  constructor(o: LatencyWindowsOptions = {}) {
    this.intervalMs = o.intervalMs ?? 10_000;
    this.intervals = o.intervals ?? 30;
    this.#maxSeries = o.maxSeries ?? 500;
    this.#now = o.now ?? Date.now;
  }

  /** The longest window a query can cover. */
  get spanMs(): number {
    return this.intervalMs * this.intervals;
  }

  /** Records one request: total latency and, when known, time to first token (ms). */
  record(client: string, model: string, totalMs: number, ttftMs?: number): void {
    const slot = this.#slot(this.#seriesFor(client, model));
    slot.total ??= newHistogram();
    slot.total.recordValue(Math.max(1, Math.round(totalMs * 1000)));
    if (ttftMs !== undefined && Number.isFinite(ttftMs)) {
      slot.ttft ??= newHistogram();
      slot.ttft.recordValue(Math.max(1, Math.round(ttftMs * 1000)));
    }
  }

  /** Percentiles over the last `windowMs` (default: the whole ring) of the series matching `filter`. */
  query(filter: SeriesFilter = {}, windowMs: number = this.spanMs): SeriesStats {
    const from = this.#windowStart(windowMs);
    const total = newHistogram();
    const ttft = newHistogram();
    for (const s of this.#series.values()) {
      if (filter.client !== undefined && s.client !== filter.client) continue;
      if (filter.model !== undefined && s.model !== filter.model) continue;
      this.#merge(s, from, total, ttft);
    }
    return { latency: quantiles(total), ttft: quantiles(ttft) };
  }

  /** Everything, as served by `/admin/stats`. */
  snapshot(windowMs: number = this.spanMs): StatsSnapshot {
    const w = Math.min(Math.max(windowMs, this.intervalMs), this.spanMs);
    const clients = new Set<string>();
    const models = new Set<string>();
    const pairs: StatsSnapshot['by_client_model'] = [];
    for (const s of this.#series.values()) {
      const stats = this.query({ client: s.client, model: s.model }, w);
      if (stats.latency.count === 0 && stats.ttft.count === 0) continue;
      clients.add(s.client);
      models.add(s.model);
      pairs.push({ client: s.client, model: s.model, ...stats });
    }
    const by_client: Record<string, SeriesStats> = {};
    for (const c of [...clients].sort()) by_client[c] = this.query({ client: c }, w);
    const by_model: Record<string, SeriesStats> = {};
    for (const m of [...models].sort()) by_model[m] = this.query({ model: m }, w);
    return {
      window_ms: w,
      interval_ms: this.intervalMs,
      generated_at: new Date(this.#now()).toISOString(),
      overall: this.query({}, w),
      by_client,
      by_model,
      by_client_model: pairs,
    };
  }

  /**
   * Per slot, the last `slots` slots (the current one included), oldest first:
   * percentiles of every series together in that slot alone. Slots without
   * traffic are left out.
   */
  slotSeries(slots: number = this.intervals): Array<{ start: number } & SeriesStats> {
    const now = this.#now();
    const current = now - (now % this.intervalMs);
    const n = Math.min(this.intervals, Math.max(1, slots));
    const out: Array<{ start: number } & SeriesStats> = [];
    for (let k = n - 1; k >= 0; k--) {
      const start = current - k * this.intervalMs;
      const index = Math.floor(start / this.intervalMs) % this.intervals;
      let total: Histogram | undefined;
      let ttft: Histogram | undefined;
      for (const s of this.#series.values()) {
        const slot = s.slots[index];
        if (!slot || slot.start !== start) continue;
        if (slot.total?.totalCount) {
          total ??= newHistogram();
          total.add(slot.total);
        }
        if (slot.ttft?.totalCount) {
          ttft ??= newHistogram();
          ttft.add(slot.ttft);
        }
      }
      if (!total && !ttft) continue;
      out.push({
        start,
        latency: quantiles(total ?? newHistogram()),
        ttft: quantiles(ttft ?? newHistogram()),
      });
    }
    return out;
  }

  #windowStart(windowMs: number): number {
    const now = this.#now();
    const current = now - (now % this.intervalMs);
    // Whole slots: the current one plus enough earlier ones to cover the window.
    const slots = Math.min(this.intervals, Math.max(1, Math.ceil(windowMs / this.intervalMs)));
    return current - (slots - 1) * this.intervalMs;
  }

  #merge(s: Series, from: number, total: Histogram, ttft: Histogram): void {
    const now = this.#now();
    for (const slot of s.slots) {
      if (!slot || slot.start < from || slot.start > now) continue;
      if (slot.total) total.add(slot.total);
      if (slot.ttft) ttft.add(slot.ttft);
    }
  }

  #seriesFor(client: string, model: string): Series {
    const id = `${client}\u0000${model}`;
    let s = this.#series.get(id);
    if (s) return s;
    if (this.#series.size >= this.#maxSeries) {
      const other = `other\u0000other`;
      s = this.#series.get(other);
      if (s) return s;
      s = { client: 'other', model: 'other', slots: [] };
      this.#series.set(other, s);
      return s;
    }
    s = { client, model, slots: [] };
    this.#series.set(id, s);
    return s;
  }

  #slot(s: Series): Slot {
    const now = this.#now();
    const start = now - (now % this.intervalMs);
    const index = Math.floor(start / this.intervalMs) % this.intervals;
    let slot = s.slots[index];
    if (!slot) {
      slot = { start };
      s.slots[index] = slot;
    } else if (slot.start !== start) {
      slot.start = start;
      slot.total?.reset();
      slot.ttft?.reset();
    }
    return slot;
  }
}

function quantiles(h: Histogram): Quantiles {
  const count = h.totalCount;
  if (count === 0) return { count: 0, p50_ms: null, p95_ms: null, p99_ms: null, max_ms: null };
  return {
    count,
    p50_ms: toMs(h.getValueAtPercentile(50)),
    p95_ms: toMs(h.getValueAtPercentile(95)),
    p99_ms: toMs(h.getValueAtPercentile(99)),
    max_ms: toMs(h.maxValue),
  };
}
