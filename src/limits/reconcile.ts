/**
 * Budget reconciliation from the ledger. The ledger is the source of truth for
 * what was spent; the budget counters in the state store are a fast copy that
 * can fall behind (a settlement given up while the store was unreachable, a
 * Redis restarted without persistence). Reconciling sums the cost of the
 * ledger's rows of the current UTC day and month per client, environment and
 * customer, maps them onto every budget scope they belong to, and raises each
 * counter's `spent` (and `committed` by as much) to at least that sum.
 *
 * It only ever raises: the ledger lags the counters by the rows still queued
 * in each gateway's writer (up to one flush interval), so a counter above the
 * ledger is the normal case and is left alone. Running it twice, or on every
 * replica at once, is harmless. Every row counts, batch results included.
 *
 * Runs at start-up (admit stage, when budgets are configured and the ledger
 * is on) and on `POST /admin/budgets/reconcile`.
 */
import type { SpendGroup } from '../ledger/sql.ts';
import type { LimitsEnforcer } from './limiter.ts';
import { periodOf } from './periods.ts';
import type { BudgetEntry } from './types.ts';

/** Where the ledger's spend comes from (a ledger store). */
export interface SpendSource {
  spend(query: { since: number; until: number }): Promise<SpendGroup[]>;
}

export interface ReconciledBudget {
  /** `client:checkout`, `customer:checkout/c-42`, `environment:prod`, `overall`. */
  scope: string;
  period: 'daily' | 'monthly';
  /** What the counter said before, µ$. */
  counterMicros: number;
  /** What the ledger holds, µ$. */
  ledgerMicros: number;
  /** The counter was raised to the ledger's amount. */
  raised: boolean;
}

/** Reconciles every budget the ledger has spend for; returns one line per budget. */
export async function reconcileBudgets(
  limiter: LimitsEnforcer,
  ledger: SpendSource,
  now = Date.now(),
): Promise<ReconciledBudget[]> {
  const entries = new Map<string, { entry: BudgetEntry; ledger: number }>();
  for (const period of ['daily', 'monthly'] as const) {
    const { startsAt, resetsAt } = periodBounds(period, now);
    const groups = await ledger.spend({ since: startsAt, until: resetsAt });
    for (const g of groups) {
      if (g.client === null || g.micros <= 0) continue;
      const scopes = limiter.scopes(g.client, g.environment ?? '', g.customer ?? undefined);
      for (const entry of limiter.budgetsOf(scopes, now)) {
        if (entry.period !== period) continue;
        const seen = entries.get(entry.key) ?? { entry, ledger: 0 };
        seen.ledger += g.micros;
        entries.set(entry.key, seen);
      }
    }
  }
  if (entries.size === 0) return [];
  const list = [...entries.values()];
  const { before, after } = await limiter.store.raiseSpent(
    list.map(({ entry, ledger }) => ({ key: entry.key, ttlSec: entry.ttlSec, spent: ledger })),
  );
  return list.map(({ entry, ledger }, i) => ({
    scope: entry.scope.label,
    period: entry.period,
    counterMicros: before[i],
    ledgerMicros: ledger,
    raised: after[i] > before[i],
  }));
}

function periodBounds(period: 'daily' | 'monthly', now: number): { startsAt: number; resetsAt: number } {
  const { resetsAt } = periodOf(period, now);
  const d = new Date(now);
  const startsAt =
    period === 'daily'
      ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
      : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { startsAt, resetsAt };
}
