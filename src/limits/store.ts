/**
 * The state store of rate limits and budgets: one interface, two
 * implementations (`memory.ts` for one process, `redis.ts` shared by every
 * replica through atomic Lua scripts). Both run the same math
 * (`bucket.ts`) and pass the same suite (`store.test.ts`).
 *
 * Every operation is atomic over all the keys it names: a request either
 * takes from every bucket it needs or from none, and a budget reservation
 * either lands in every budget or in none. That is what keeps concurrent
 * requests (on one replica or many) from overshooting a limit.
 */

/** A continuously refilling token bucket: `capacity` tokens, refilled at `ratePerMs`. */
export interface BucketRef {
  key: string;
  capacity: number;
  ratePerMs: number;
}

export interface BucketTake extends BucketRef {
  /** Tokens to take (at most `capacity`). */
  cost: number;
}

export interface BucketAdjust extends BucketRef {
  /** Positive: refund (capped at the capacity). Negative: charge (the bucket may go into debt). */
  delta: number;
}

export interface TakeResult {
  /** True when every bucket had enough and all were taken from. */
  ok: boolean;
  /** Store time of the decision, ms since epoch. */
  now: number;
  /** Per bucket: its level after the take (or now, when refused). */
  levels: number[];
  /** Per bucket: ms until it holds its cost (0 when it does). */
  waitMs: number[];
}

/** A budget of one scope and period: `committed` (spent + in-flight reservations) and `spent`. */
export interface BudgetRef {
  key: string;
  /** Seconds after which the counter may be dropped (past the end of its period). */
  ttlSec: number;
}

export interface BudgetReserve extends BudgetRef {
  limit: number;
  /** Reserve even when the budget is committed in full (budgets that never block). */
  force: boolean;
}

export interface ReserveResult {
  /** True when every non-forced budget had `committed < limit` and the amount was added to all. */
  ok: boolean;
  /** Per budget: committed and spent before this reservation. */
  committed: number[];
  spent: number[];
}

export interface BudgetAdjust extends BudgetRef {
  committed: number;
  spent: number;
}

export interface AdjustResult {
  /** Per budget: spent before and after the adjustment (to detect threshold crossings exactly once). */
  spentBefore: number[];
  spentAfter: number[];
}

export interface StateStore {
  readonly kind: 'memory' | 'redis';
  /** Takes `cost` from every bucket, or from none. */
  take(buckets: readonly BucketTake[], now?: number): Promise<TakeResult>;
  /** Refunds or charges buckets (after the response: actual usage against the reservation). */
  adjust(buckets: readonly BucketAdjust[], now?: number): Promise<void>;
  /** Current levels, without changing anything. */
  peek(buckets: readonly BucketRef[], now?: number): Promise<number[]>;
  /** Adds `amount` to `committed` of every budget, or of none (see `ReserveResult.ok`). */
  reserve(budgets: readonly BudgetReserve[], amount: number): Promise<ReserveResult>;
  /** Adds to `committed` and `spent` (settle: actual − reserved and actual; release: −reserved and 0). */
  adjustBudgets(budgets: readonly BudgetAdjust[]): Promise<AdjustResult>;
  /** Reads `committed` and `spent` of budgets. */
  readBudgets(keys: readonly string[]): Promise<{ committed: number[]; spent: number[] }>;
  close(): Promise<void>;
}

/** Thrown when the store cannot answer (unreachable, timed out). */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Rejects with a StoreError when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
