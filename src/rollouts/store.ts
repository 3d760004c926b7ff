/**
 * Where rollouts keep what every replica must agree on: each rollout's state
 * (status, step, decisions) and the counts its guards read. Two
 * implementations of one interface: `MemoryRolloutStore` (one process) and
 * `RedisRolloutStore` (redis.ts, shared by every replica of `storage.state`).
 *
 * - State is written by compare-and-set on its version, so when two replicas
 *   decide at once exactly one decision lands (the other re-reads).
 * - Counts are added, never set: each replica adds what it served into time
 *   buckets (the guard window) and into per-step counters, so the window read
 *   by any replica holds the traffic of all of them.
 *
 * Counts are kept as flat fields (`candidate:requests`, `baseline:l37` for
 * latency bucket 37, `candidate:t12` for time-to-first-token bucket 12), the
 * same in both stores.
 */
import { ARMS, type ArmCounts, type ArmName, emptyCounts, SCALARS } from './counts.ts';
import type { RolloutState } from './state.ts';

/** Counts of one arm to add into one window bucket (its start, ms since epoch). */
export interface BucketAdd {
  bucket: number;
  arm: ArmName;
  counts: ArmCounts;
}

/** Requests of one arm to add to a step's counter (`key`: run start and step index). */
export interface StepAdd {
  key: string;
  arm: ArmName;
  n: number;
}

export interface RolloutStore {
  readonly kind: 'memory' | 'redis';
  /** The stored states of these rollouts (absent: never started). */
  read(ids: readonly string[]): Promise<Map<string, RolloutState>>;
  /** Writes `next` if the stored version is `expected` (0: nothing stored); false when another write won. */
  write(next: RolloutState, expected: number): Promise<boolean>;
  /** Adds counts; window buckets live `bucketTtlMs`, step counters `stepTtlMs`. */
  add(
    id: string,
    buckets: readonly BucketAdd[],
    steps: readonly StepAdd[],
    ttl: { bucketTtlMs: number; stepTtlMs: number },
  ): Promise<void>;
  /** The sums of each arm over these window buckets. */
  window(id: string, buckets: readonly number[]): Promise<Record<ArmName, ArmCounts>>;
  /** A step's request counter per arm. */
  stepCounts(id: string, key: string): Promise<Record<ArmName, number>>;
  close(): Promise<void>;
}

/** The flat fields of one arm's counts (only the non-zero ones). */
export function fieldsOf(arm: ArmName, c: ArmCounts): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const k of SCALARS) if (c[k] !== 0) out.push([`${arm}:${k}`, c[k]]);
  for (const [i, n] of Object.entries(c.latency)) if (n !== 0) out.push([`${arm}:l${i}`, n]);
  for (const [i, n] of Object.entries(c.ttft)) if (n !== 0) out.push([`${arm}:t${i}`, n]);
  return out;
}

/** Adds flat fields (as stored) into per-arm counts. */
export function addFields(
  into: Record<ArmName, ArmCounts>,
  fields: Iterable<[string, string | number]>,
): void {
  for (const [field, raw] of fields) {
    const colon = field.indexOf(':');
    const arm = field.slice(0, colon) as ArmName;
    const c = into[arm];
    if (!c) continue;
    const name = field.slice(colon + 1);
    const n = Number(raw);
    if (!Number.isFinite(n)) continue;
    if ((SCALARS as readonly string[]).includes(name)) c[name as (typeof SCALARS)[number]] += n;
    else if (name[0] === 'l') c.latency[name.slice(1)] = (c.latency[name.slice(1)] ?? 0) + n;
    else if (name[0] === 't') c.ttft[name.slice(1)] = (c.ttft[name.slice(1)] ?? 0) + n;
  }
}

export function emptyArms(): Record<ArmName, ArmCounts> {
  return { baseline: emptyCounts(), candidate: emptyCounts() };
}

/** One process's store: a restart starts every rollout from `pending`. */
export class MemoryRolloutStore implements RolloutStore {
  readonly kind = 'memory' as const;
  readonly #states = new Map<string, RolloutState>();
  readonly #hashes = new Map<string, { fields: Map<string, number>; expires: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async read(ids: readonly string[]): Promise<Map<string, RolloutState>> {
    const out = new Map<string, RolloutState>();
    for (const id of ids) {
      const s = this.#states.get(id);
      if (s) out.set(id, structuredClone(s));
    }
    return out;
  }

  async write(next: RolloutState, expected: number): Promise<boolean> {
    if ((this.#states.get(next.id)?.version ?? 0) !== expected) return false;
    this.#states.set(next.id, structuredClone(next));
    return true;
  }

  async add(
    id: string,
    buckets: readonly BucketAdd[],
    steps: readonly StepAdd[],
    ttl: { bucketTtlMs: number; stepTtlMs: number },
  ): Promise<void> {
    const now = this.#now();
    this.#sweep(now);
    for (const b of buckets) {
      const h = this.#hash(`${id}:w:${b.bucket}`, now + ttl.bucketTtlMs);
      for (const [f, n] of fieldsOf(b.arm, b.counts)) h.set(f, (h.get(f) ?? 0) + n);
    }
    for (const s of steps) {
      const h = this.#hash(`${id}:s:${s.key}`, now + ttl.stepTtlMs);
      h.set(s.arm, (h.get(s.arm) ?? 0) + s.n);
    }
  }

  async window(id: string, buckets: readonly number[]): Promise<Record<ArmName, ArmCounts>> {
    const out = emptyArms();
    for (const b of buckets) {
      const h = this.#hashes.get(`${id}:w:${b}`);
      if (h && h.expires > this.#now()) addFields(out, h.fields);
    }
    return out;
  }

  async stepCounts(id: string, key: string): Promise<Record<ArmName, number>> {
    const h = this.#hashes.get(`${id}:s:${key}`)?.fields;
    return Object.fromEntries(ARMS.map((a) => [a, h?.get(a) ?? 0])) as Record<ArmName, number>;
  }

  async close(): Promise<void> {}

  #hash(key: string, expires: number): Map<string, number> {
    let h = this.#hashes.get(key);
    if (!h) {
      h = { fields: new Map(), expires };
      this.#hashes.set(key, h);
    }
    h.expires = Math.max(h.expires, expires);
    return h.fields;
  }

  #sweep(now: number): void {
    for (const [k, h] of this.#hashes) if (h.expires <= now) this.#hashes.delete(k);
  }
}
