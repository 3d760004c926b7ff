/**
 * Token-bucket math, shared by the memory store and (line for line) by the
 * Redis Lua scripts. A bucket holds at most `capacity` tokens and refills
 * continuously at `ratePerMs` (capacity / 60 000 for a per-minute limit): no
 * fixed windows, so there is no burst at a window boundary. A bucket is stored
 * as its level at a time; the level now is computed on read. A level may be
 * negative (debt): reconciling a request that used more than it reserved
 * charges the difference, and later requests wait for it.
 *
 * @example
 *   levelAt({ level: 0, ts: 0 }, 30_000, 60, 60 / 60_000) // 30: half a minute refills half of 60 rpm
 */

export interface BucketState {
  level: number;
  /** Time of `level`, ms. */
  ts: number;
}

/** The level at `now`: a missing bucket is full; refill never exceeds the capacity. */
export function levelAt(
  state: BucketState | undefined,
  now: number,
  capacity: number,
  ratePerMs: number,
): number {
  if (state === undefined) return capacity;
  const elapsed = now - state.ts;
  const level = elapsed > 0 ? state.level + elapsed * ratePerMs : state.level;
  return Math.min(capacity, level);
}

/** ms until a bucket at `level` holds `cost` (0 when it already does). */
export function waitMs(level: number, cost: number, ratePerMs: number): number {
  return level >= cost ? 0 : (cost - level) / ratePerMs;
}

/** ms until a bucket at `level` is full again. */
export function msUntilFull(level: number, capacity: number, ratePerMs: number): number {
  return level >= capacity ? 0 : (capacity - level) / ratePerMs;
}

/** How long a bucket's state is worth keeping: until it would be full again, plus a minute. */
export function ttlMs(level: number, capacity: number, ratePerMs: number): number {
  return Math.ceil(msUntilFull(level, capacity, ratePerMs)) + 60_000;
}
