/**
 * Per-request metric updates without prom-client's per-call label work.
 *
 * Every `observe` / `inc` of prom-client builds a label object, validates it
 * and turns it into a hash string before it can add one number: ten updates
 * per request cost more than the rest of the metrics stage. Here the first
 * update of a label set goes through prom-client (which creates and owns the
 * series); later ones add to that series directly, found through nested maps
 * keyed by the label values (no string is built per update). prom-client still does the registry and the
 * exposition, so `/metrics` is unchanged (test: series.test.ts compares the
 * text with plain prom-client updates).
 *
 * The series objects are prom-client's own (`hashMap` values of Counter and
 * Histogram in prom-client 15); if prom-client replaces its map (`reset()`),
 * the cache starts over.
 */
import type { Counter, Histogram, LabelValues } from 'prom-client';

type Labels = LabelValues<string>;

interface HistogramSeries {
  labels: Labels;
  sum: number;
  count: number;
  bucketValues: Record<number, number>;
}
interface CounterSeries {
  labels: Labels;
  value: number;
}

/** prom-client keeps one object per label set in `hashMap`. */
type WithSeries<T> = { hashMap: Record<string, T> };

/** Series by up to six label values, one Map level per value. */
class SeriesIndex<T> {
  #root = new Map<string, unknown>();

  get(k: readonly string[]): T | undefined {
    let m: unknown = this.#root;
    for (let i = 0; i < k.length; i++) {
      m = (m as Map<string, unknown>).get(k[i]);
      if (m === undefined) return undefined;
    }
    return m as T;
  }

  set(k: readonly string[], value: T): void {
    let m = this.#root;
    for (let i = 0; i < k.length - 1; i++) {
      let next = m.get(k[i]) as Map<string, unknown> | undefined;
      if (!next) {
        next = new Map();
        m.set(k[i], next);
      }
      m = next;
    }
    m.set(k[k.length - 1], value);
  }

  clear(): void {
    this.#root = new Map();
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (String(a[k]) !== String(b[k])) return false;
  return true;
}

function seriesOf<T extends { labels: Labels }>(map: Record<string, T>, labels: Labels): T | undefined {
  for (const s of Object.values(map)) if (sameLabels(s.labels, labels)) return s;
  return undefined;
}

/**
 * The series a metric already has, by label values. `find` returns it, or makes
 * the first update through prom-client (`first`) and remembers the series that
 * update created.
 */
class SeriesCache<T extends { labels: Labels }> {
  readonly #metric: WithSeries<T>;
  #map: Record<string, T> | undefined;
  readonly #index = new SeriesIndex<T>();

  constructor(metric: object) {
    this.#metric = metric as WithSeries<T>;
  }

  find(key: readonly string[], labels: () => Labels, first: (labels: Labels) => void): T | undefined {
    const map = this.#metric.hashMap;
    if (map !== this.#map) {
      this.#index.clear();
      this.#map = map;
    }
    const s = this.#index.get(key);
    if (s !== undefined) return s;
    const l = labels();
    first(l);
    const created = seriesOf(map, l);
    if (created) this.#index.set(key, created);
    return undefined;
  }
}

export class FastHistogram {
  readonly #h: Histogram<string>;
  readonly #bounds: readonly number[];
  readonly #series: SeriesCache<HistogramSeries>;

  constructor(histogram: Histogram<string>, buckets: readonly number[]) {
    this.#h = histogram;
    this.#bounds = [...buckets].sort((a, b) => a - b);
    this.#series = new SeriesCache(histogram);
  }

  /**
   * Adds `value` to the series of `labels()`. `key` is the list of label values
   * that tells series apart (the same length on every call); `labels` is only
   * called the first time a series is seen.
   */
  observe(key: readonly string[], labels: () => Labels, value: number): void {
    if (!Number.isFinite(value)) return;
    const s = this.#series.find(key, labels, (l) => this.#h.observe(l, value));
    if (s === undefined) return;
    s.sum += value;
    s.count += 1;
    // The smallest bucket bound >= value (prom-client counts larger values only in +Inf / count).
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        s.bucketValues[bounds[i]] += 1;
        break;
      }
    }
  }
}

export class FastCounter {
  readonly #c: Counter<string>;
  readonly #series: SeriesCache<CounterSeries>;

  constructor(counter: Counter<string>) {
    this.#c = counter;
    this.#series = new SeriesCache(counter);
  }

  /** Adds `value` (>= 0) to the series of `labels()`; see FastHistogram.observe for `key`. */
  inc(key: readonly string[], labels: () => Labels, value = 1): void {
    if (!Number.isFinite(value) || value < 0) return;
    const s = this.#series.find(key, labels, (l) => this.#c.inc(l, value));
    if (s !== undefined) s.value += value;
  }
}
