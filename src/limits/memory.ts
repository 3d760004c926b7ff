/**
 * In-memory state store: one process, no sharing. Operations are synchronous
 * under the hood (JavaScript runs one at a time), so each is atomic. Entries
 * past their time to live are swept once a minute; expired reservation leases
 * are swept by the next reservation on their budget (as in redis.ts).
 */
import { type BucketState, levelAt, ttlMs, waitMs } from './bucket.ts';
import type {
  BucketAdjust,
  BucketRef,
  BucketTake,
  BudgetRef,
  BudgetReserve,
  Lease,
  LeaseRef,
  ReserveResult,
  SettleResult,
  StateStore,
  TakeResult,
} from './store.ts';

interface BudgetState {
  committed: number;
  spent: number;
  expiresAt: number;
  /** Held reservations by id: amount and lease end. */
  leases: Map<string, { amount: number; until: number }>;
  /**
   * No lease ends before this (a lower bound: renewals only move ends later),
   * so a reservation sweeps only when a lease may have expired, not on every
   * call: the request path stays O(1) however many requests are in flight.
   */
  sweepAt: number;
}

export interface MemoryStoreOptions {
  /** Clock (ms); default `Date.now`. Tests pass a fake one. */
  now?: () => number;
  /** Sweep interval, ms (default 60 s; 0 disables). */
  sweepMs?: number;
}

export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly #buckets = new Map<string, BucketState & { expiresAt: number }>();
  readonly #budgets = new Map<string, BudgetState>();
  /** Settled reservation ids, until when they are remembered. */
  readonly #settled = new Map<string, number>();
  readonly #now: () => number;
  readonly #sweep: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    const sweepMs = options.sweepMs ?? 60_000;
    if (sweepMs > 0) {
      this.#sweep = setInterval(() => this.sweep(), sweepMs);
      this.#sweep.unref();
    }
  }

  /** Drops expired entries; returns how many are left. */
  sweep(): number {
    const now = this.#now();
    for (const [k, v] of this.#buckets) if (v.expiresAt <= now) this.#buckets.delete(k);
    for (const [k, v] of this.#budgets) if (v.expiresAt <= now) this.#budgets.delete(k);
    for (const [k, until] of this.#settled) if (until <= now) this.#settled.delete(k);
    return this.#buckets.size + this.#budgets.size + this.#settled.size;
  }

  async take(buckets: readonly BucketTake[], at?: number): Promise<TakeResult> {
    const now = at ?? this.#now();
    const levels = buckets.map((b) => levelAt(this.#buckets.get(b.key), now, b.capacity, b.ratePerMs));
    const waits = buckets.map((b, i) => waitMs(levels[i], b.cost, b.ratePerMs));
    const ok = waits.every((w) => w === 0);
    if (ok) {
      buckets.forEach((b, i) => {
        levels[i] -= b.cost;
        this.#set(b, levels[i], now);
      });
    }
    return { ok, now, levels, waitMs: waits };
  }

  async adjust(buckets: readonly BucketAdjust[], at?: number): Promise<void> {
    const now = at ?? this.#now();
    for (const b of buckets) {
      const level = levelAt(this.#buckets.get(b.key), now, b.capacity, b.ratePerMs) + b.delta;
      this.#set(b, Math.min(b.capacity, level), now);
    }
  }

  async peek(buckets: readonly BucketRef[], at?: number): Promise<number[]> {
    const now = at ?? this.#now();
    return buckets.map((b) => levelAt(this.#buckets.get(b.key), now, b.capacity, b.ratePerMs));
  }

  #set(b: BucketRef, level: number, now: number): void {
    const prev = this.#buckets.get(b.key);
    const ts = prev && prev.ts > now ? prev.ts : now;
    this.#buckets.set(b.key, { level, ts, expiresAt: now + ttlMs(level, b.capacity, b.ratePerMs) });
  }

  async reserve(
    budgets: readonly BudgetReserve[],
    amount: number,
    lease: Lease,
    at?: number,
  ): Promise<ReserveResult> {
    const now = at ?? this.#now();
    const swept = budgets.map((b) => this.#sweepLeases(this.#budgets.get(b.key), now));
    const states = budgets.map((b) => this.#budgets.get(b.key));
    const committed = states.map((s) => s?.committed ?? 0);
    const spent = states.map((s) => s?.spent ?? 0);
    const ok = budgets.every((b, i) => b.force || committed[i] < b.limit);
    if (ok) {
      for (const b of budgets) {
        const state = this.#budget(b);
        state.committed += amount;
        state.leases.set(lease.id, { amount, until: now + lease.ttlMs });
        if (now + lease.ttlMs < state.sweepAt) state.sweepAt = now + lease.ttlMs;
      }
    }
    return { ok, committed, spent, swept };
  }

  /** Removes expired leases from `committed`; returns how many. */
  #sweepLeases(state: BudgetState | undefined, now: number): number {
    if (!state || now < state.sweepAt) return 0;
    let n = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const [id, l] of state.leases) {
      if (l.until > now) {
        if (l.until < next) next = l.until;
        continue;
      }
      state.committed -= l.amount;
      state.leases.delete(id);
      n++;
    }
    state.sweepAt = next;
    return n;
  }

  async reprice(budgets: readonly BudgetRef[], id: string, amount: number): Promise<void> {
    for (const b of budgets) {
      const held = this.#budgets.get(b.key)?.leases.get(id);
      if (!held) continue;
      this.#budgets.get(b.key)!.committed += amount - held.amount;
      held.amount = amount;
    }
  }

  async renew(leases: readonly LeaseRef[], ttlMs: number, at?: number): Promise<number> {
    const now = at ?? this.#now();
    let n = 0;
    for (const l of leases) {
      const held = this.#budgets.get(l.key)?.leases.get(l.id);
      if (!held) continue;
      held.until = now + ttlMs;
      n++;
    }
    return n;
  }

  async settle(
    budgets: readonly BudgetRef[],
    id: string,
    actual: number,
    doneTtlMs: number,
  ): Promise<SettleResult> {
    const now = this.#now();
    const done = this.#settled.get(id);
    if (done !== undefined && done > now) {
      const spent = budgets.map((b) => this.#budgets.get(b.key)?.spent ?? 0);
      return { duplicate: true, spentBefore: spent, spentAfter: spent, expired: budgets.map(() => false) };
    }
    this.#settled.set(id, now + doneTtlMs);
    const spentBefore: number[] = [];
    const spentAfter: number[] = [];
    const expired: boolean[] = [];
    for (const b of budgets) {
      const state = this.#budget(b);
      const held = state.leases.get(id);
      spentBefore.push(state.spent);
      state.committed += actual - (held?.amount ?? 0);
      state.leases.delete(id);
      state.spent += actual;
      spentAfter.push(state.spent);
      expired.push(held === undefined);
    }
    return { duplicate: false, spentBefore, spentAfter, expired };
  }

  async raiseSpent(
    budgets: ReadonlyArray<BudgetRef & { spent: number }>,
  ): Promise<{ before: number[]; after: number[] }> {
    const before: number[] = [];
    const after: number[] = [];
    for (const b of budgets) {
      const state = this.#budget(b);
      before.push(state.spent);
      if (b.spent > state.spent) {
        state.committed += b.spent - state.spent;
        state.spent = b.spent;
      }
      after.push(state.spent);
    }
    return { before, after };
  }

  async readBudgets(keys: readonly string[]): Promise<{ committed: number[]; spent: number[] }> {
    const states = keys.map((k) => this.#budgets.get(k));
    return { committed: states.map((s) => s?.committed ?? 0), spent: states.map((s) => s?.spent ?? 0) };
  }

  /** The budget's state (created empty), its time to live refreshed. */
  #budget(b: BudgetRef): BudgetState {
    let state = this.#budgets.get(b.key);
    if (!state) {
      state = { committed: 0, spent: 0, expiresAt: 0, leases: new Map(), sweepAt: Number.POSITIVE_INFINITY };
      this.#budgets.set(b.key, state);
    }
    state.expiresAt = this.#now() + b.ttlSec * 1000;
    return state;
  }

  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
  }
}
