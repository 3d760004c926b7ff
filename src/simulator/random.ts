/**
 * Seeded randomness and the simulator's clock. Everything random in the
 * simulator (lorem replies, latency samples, flaky faults) draws from a seeded
 * generator so a run can be replayed; everything time-based reads the clock so
 * tests can move time forward.
 */

/** 32-bit FNV-1a hash of a string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seed from a number or a string (strings are hashed). */
export function toSeed(seed: number | string | undefined): number {
  if (seed === undefined) return 1;
  if (typeof seed === 'number' && Number.isFinite(seed)) return seed >>> 0;
  const n = Number(seed);
  return Number.isInteger(n) ? n >>> 0 : hash32(String(seed));
}

/** mulberry32: a small, fast seeded generator returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et ' +
  'dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea ' +
  'commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur ' +
  'excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum'
).split(' ');

/** `words` lorem-ipsum words from a seed: same seed, same text. Starts capitalised, ends with a period. */
export function lorem(seed: number, words: number): string {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  if (out.length === 0) return '';
  out[0] = out[0][0].toUpperCase() + out[0].slice(1);
  return `${out.join(' ')}.`;
}

/** A UUID-shaped id drawn from a seed (for the simulated organization). */
export function seededUuid(seed: number): string {
  const r = rng(seed ^ 0x5eed);
  let hex = '';
  for (let i = 0; i < 32; i++) hex += Math.floor(r() * 16).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The simulator's clock: wall time (or an injected source) plus an offset that
 * `advance` moves forward. Cache TTLs, rate-limit buckets and batch processing
 * read it; timers (latency, delays) do not.
 */
export class SimClock {
  #source: () => number;
  #offset = 0;

  constructor(source: () => number = Date.now) {
    this.#source = source;
  }

  now(): number {
    return this.#source() + this.#offset;
  }

  /** Moves the clock forward by `ms` (cache entries expire, buckets refill, batches end). */
  advance(ms: number): void {
    this.#offset += ms;
  }

  get offsetMs(): number {
    return this.#offset;
  }

  reset(): void {
    this.#offset = 0;
  }
}

/** A latency distribution in milliseconds. */
export type Latency =
  | { type: 'fixed'; ms: number }
  | { type: 'uniform'; minMs: number; maxMs: number }
  | { type: 'normal'; meanMs: number; stddevMs: number };

export const ZERO_LATENCY: Latency = { type: 'fixed', ms: 0 };

/** True when the distribution always yields 0 ms (lets callers skip timers entirely). */
export function isZero(l: Latency): boolean {
  return l.type === 'fixed'
    ? l.ms <= 0
    : l.type === 'uniform'
      ? l.maxMs <= 0
      : l.meanMs <= 0 && l.stddevMs <= 0;
}

/** One sample (ms, >= 0, rounded) drawn with `r`. Normal uses Box-Muller, clamped at 0. */
export function sample(l: Latency, r: () => number): number {
  switch (l.type) {
    case 'fixed':
      return Math.max(0, l.ms);
    case 'uniform':
      return Math.max(0, Math.round(l.minMs + r() * (l.maxMs - l.minMs)));
    case 'normal': {
      const u = 1 - r();
      const v = r();
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      return Math.max(0, Math.round(l.meanMs + z * l.stddevMs));
    }
  }
}
