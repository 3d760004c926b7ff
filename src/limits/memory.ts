/**
 * In-memory state store: one process, no sharing. Operations are synchronous
 * under the hood (JavaScript runs one at a time), so each is atomic. Entries
 * past their time to live are swept once a minute.
 */
import { type BucketState, levelAt, ttlMs, waitMs } from './bucket.ts';
import type {
  AdjustResult,
  BucketAdjust,
  BucketRef,
  BucketTake,
  BudgetAdjust,
  BudgetReserve,
  ReserveResult,
  StateStore,
  TakeResult,
} from './store.ts';

interface BudgetState {
  committed: number;
  spent: number;
  expiresAt: number;
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
    return this.#buckets.size + this.#budgets.size;
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

  async reserve(budgets: readonly BudgetReserve[], amount: number): Promise<ReserveResult> {
    const states = budgets.map((b) => this.#budgets.get(b.key));
    const committed = states.map((s) => s?.committed ?? 0);
    const spent = states.map((s) => s?.spent ?? 0);
    const ok = budgets.every((b, i) => b.force || committed[i] < b.limit);
    if (ok) for (const b of budgets) this.#addBudget(b.key, b.ttlSec, amount, 0);
    return { ok, committed, spent };
  }

  async adjustBudgets(budgets: readonly BudgetAdjust[]): Promise<AdjustResult> {
    const spentBefore: number[] = [];
    const spentAfter: number[] = [];
    for (const b of budgets) {
      spentBefore.push(this.#budgets.get(b.key)?.spent ?? 0);
      spentAfter.push(this.#addBudget(b.key, b.ttlSec, b.committed, b.spent).spent);
    }
    return { spentBefore, spentAfter };
  }

  async readBudgets(keys: readonly string[]): Promise<{ committed: number[]; spent: number[] }> {
    const states = keys.map((k) => this.#budgets.get(k));
    return { committed: states.map((s) => s?.committed ?? 0), spent: states.map((s) => s?.spent ?? 0) };
  }

  #addBudget(key: string, ttlSec: number, committed: number, spent: number): BudgetState {
    const state = this.#budgets.get(key) ?? { committed: 0, spent: 0, expiresAt: 0 };
    state.committed += committed;
    state.spent += spent;
    state.expiresAt = this.#now() + ttlSec * 1000;
    this.#budgets.set(key, state);
    return state;
  }

  async close(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
  }
}
