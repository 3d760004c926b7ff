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
import { InternalError } from '../errors.ts';

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

/**
 * A budget of one scope and period: `committed` (spent + the reservations of
 * requests in flight) and `spent`.
 *
 * Reservations are leases: each one is held under its id (the request id)
 * until it is settled or until its lease runs out (`ttlMs` after it was made
 * or last renewed). Expired leases are swept — their amount leaves
 * `committed` — atomically by the next reservation on that budget, so a
 * process killed with requests in flight frees its share of the budget within
 * one lease. Settling is idempotent on the reservation id: a settlement
 * retried after a lost answer never counts twice.
 */
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

/** A reservation's lease. */
export interface Lease {
  /** Unique per reservation (the request id). */
  id: string;
  /** The reservation is released on its own this long after it was made or last renewed. */
  ttlMs: number;
}

export interface ReserveResult {
  /** True when every non-forced budget had `committed < limit` and the amount was added to all. */
  ok: boolean;
  /** Per budget: committed and spent before this reservation (after sweeping expired leases). */
  committed: number[];
  spent: number[];
  /** Per budget: expired leases swept by this call. */
  swept: number[];
}

export interface SettleResult {
  /** The reservation was settled before: nothing changed. */
  duplicate: boolean;
  /** Per budget: spent before and after the settlement (to detect threshold crossings exactly once). */
  spentBefore: number[];
  spentAfter: number[];
  /** Per budget: the lease had expired (its amount had already left `committed`). */
  expired: boolean[];
}

export interface LeaseRef {
  /** The budget's key. */
  key: string;
  /** The reservation id. */
  id: string;
}

export interface StateStore {
  readonly kind: 'memory' | 'redis';
  /** Takes `cost` from every bucket, or from none. */
  take(buckets: readonly BucketTake[], now?: number): Promise<TakeResult>;
  /** Refunds or charges buckets (after the response: actual usage against the reservation). */
  adjust(buckets: readonly BucketAdjust[], now?: number): Promise<void>;
  /** Current levels, without changing anything. */
  peek(buckets: readonly BucketRef[], now?: number): Promise<number[]>;
  /**
   * Sweeps expired leases, then reserves `amount` in every budget under
   * `lease`, or in none (see `ReserveResult.ok`). `now`: ms since epoch
   * (default: the store's clock).
   */
  reserve(
    budgets: readonly BudgetReserve[],
    amount: number,
    lease: Lease,
    now?: number,
  ): Promise<ReserveResult>;
  /** Changes a held reservation's amount (a downgrade re-prices it); no-op when the lease is gone. */
  reprice(budgets: readonly BudgetRef[], id: string, amount: number): Promise<void>;
  /** Extends held leases to `ttlMs` from now; returns how many were still held. */
  renew(leases: readonly LeaseRef[], ttlMs: number, now?: number): Promise<number>;
  /**
   * Settles a reservation at its actual cost: spent += actual, and committed
   * += actual − reserved (or += actual when the lease had expired). Idempotent
   * on `id` for `doneTtlMs`.
   */
  settle(budgets: readonly BudgetRef[], id: string, actual: number, doneTtlMs: number): Promise<SettleResult>;
  /**
   * Raises `spent` (and `committed` by as much) of each budget to at least the
   * given amount (reconciliation from the ledger); never lowers it. Returns
   * spent before and after.
   */
  raiseSpent(
    budgets: ReadonlyArray<BudgetRef & { spent: number }>,
  ): Promise<{ before: number[]; after: number[] }>;
  /** Reads `committed` and `spent` of budgets. */
  readBudgets(keys: readonly string[]): Promise<{ committed: number[]; spent: number[] }>;
  close(): Promise<void>;
}

/** Thrown when the store cannot answer (unreachable, timed out). */
class StoreError extends InternalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('limits_store_unavailable', message, options);
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
