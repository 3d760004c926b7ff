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

export class FastHistogram {
  readonly #h: Histogram<string>;
  readonly #bounds: readonly number[];
  #map: Record<string, HistogramSeries> | undefined;
  readonly #series = new SeriesIndex<HistogramSeries>();

  constructor(histogram: Histogram<string>, buckets: readonly number[]) {
    this.#h = histogram;
    this.#bounds = [...buckets].sort((a, b) => a - b);
  }

  /**
   * Adds `value` to the series of `labels()`. `key` is the list of label values
   * that tells series apart (the same length on every call); `labels` is only
   * called the first time a series is seen.
   */
  observe(key: readonly string[], labels: () => Labels, value: number): void {
    if (!Number.isFinite(value)) return;
    const map = (this.#h as unknown as WithSeries<HistogramSeries>).hashMap;
    if (map !== this.#map) {
      this.#series.clear();
      this.#map = map;
    }
    const s = this.#series.get(key);
    if (s === undefined) {
      const l = labels();
      this.#h.observe(l, value);
      const created = seriesOf(map, l);
      if (created) this.#series.set(key, created);
      return;
    }
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
  #map: Record<string, CounterSeries> | undefined;
  readonly #series = new SeriesIndex<CounterSeries>();

  constructor(counter: Counter<string>) {
    this.#c = counter;
  }

  /** Adds `value` (>= 0) to the series of `labels()`; see FastHistogram.observe for `key`. */
  inc(key: readonly string[], labels: () => Labels, value = 1): void {
    if (!Number.isFinite(value) || value < 0) return;
    const map = (this.#c as unknown as WithSeries<CounterSeries>).hashMap;
    if (map !== this.#map) {
      this.#series.clear();
      this.#map = map;
    }
    const s = this.#series.get(key);
    if (s === undefined) {
      const l = labels();
      this.#c.inc(l, value);
      const created = seriesOf(map, l);
      if (created) this.#series.set(key, created);
      return;
    }
    s.value += value;
  }
}
