/**
 * Budget periods: UTC days and months. A budget's counters are keyed by the
 * period's id (`2026-11-28`, `2026-11`) and reset when the next one starts.
 */
export type Period = 'daily' | 'monthly';

/** The UTC period containing `now`: its id (`2026-11-28`, `2026-11`) and when the next one starts. */
export function periodOf(period: Period, now: number): { id: string; resetsAt: number } {
  // Periods change once a day or month: reuse the last one while `now` is inside it.
  const last = lastPeriod[period];
  if (last && now >= last.startsAt && now < last.resetsAt) return last;
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const startsAt = period === 'daily' ? Date.UTC(y, m, d.getUTCDate()) : Date.UTC(y, m, 1);
  const computed = { ...computePeriod(period, now), startsAt };
  lastPeriod[period] = computed;
  return computed;
}

const lastPeriod: Partial<Record<Period, { id: string; resetsAt: number; startsAt: number }>> = {};

function computePeriod(period: Period, now: number): { id: string; resetsAt: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === 'daily') {
    return { id: d.toISOString().slice(0, 10), resetsAt: Date.UTC(y, m, d.getUTCDate() + 1) };
  }
  return { id: d.toISOString().slice(0, 7), resetsAt: Date.UTC(y, m + 1, 1) };
}
