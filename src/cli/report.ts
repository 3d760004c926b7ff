/**
 * `gantry report`: what the ledger says — tokens, cost, cache hit rate and
 * savings by client, customer, model or day; `--recommend` adds max_tokens and
 * cheaper-model suggestions. Reads the store of `storage.ledger` (or `--ledger`).
 */
import { formatUsd } from '../anthropic/cost.ts';
import { loadConfig } from '../config/load.ts';
import {
  type BudgetStatus,
  budgetStatus,
  buildReport,
  type GroupBy,
  parseSince,
  type ReportLine,
  recommend,
} from '../ledger/report.ts';
import { openLedgerStore } from '../ledger/store.ts';
import { readConfig, usageError } from './errors.ts';
import { renderCsv, renderTable } from './table.ts';

export interface ReportOptions {
  config?: string;
  ledger?: string;
  by?: string;
  since?: string;
  format?: string;
  recommend?: boolean;
}

const GROUPS: readonly GroupBy[] = ['client', 'customer', 'model', 'day'];
const FORMATS = ['table', 'csv', 'json'] as const;

export async function reportText(opts: ReportOptions): Promise<string> {
  const by = (opts.by ?? 'client') as GroupBy;
  if (!GROUPS.includes(by)) throw usageError(`--by: expected one of ${GROUPS.join(', ')}`);
  const format = (opts.format ?? 'table') as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw usageError(`--format: expected one of ${FORMATS.join(', ')}`);
  let since: number | undefined;
  try {
    since = opts.since === undefined ? undefined : parseSince(opts.since);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  // The config gives the ledger's place and the budgets to report on; with only
  // `--ledger`, a config is still read when one is found, for its budgets.
  const config =
    opts.ledger === undefined || opts.config !== undefined
      ? await readConfig({ path: opts.config })
      : tryLoadConfig();
  const url = opts.ledger ?? config!.storage.ledger;
  const store = await openLedgerStore(url);
  let rows: Awaited<ReturnType<typeof store.rows>>;
  try {
    rows = await store.rows(since === undefined ? {} : { since });
  } finally {
    await store.close();
  }
  const { lines, total } = buildReport(rows, by);
  const budgets = config ? budgetStatus(rows, config) : null;
  const recs = opts.recommend ? recommend(rows) : undefined;

  if (format === 'json') {
    return JSON.stringify(
      {
        ledger: store.where,
        by,
        since: since === undefined ? null : new Date(since).toISOString(),
        lines,
        total,
        ...(recs ? { recommendations: recs } : {}),
        budgets,
      },
      null,
      2,
    );
  }
  const header = [
    by,
    'requests',
    'errors',
    'input',
    'output',
    'write 5m',
    'write 1h',
    'read',
    'hit rate',
    'cost $',
    'saved $',
  ];
  const cells = (l: ReportLine) => [
    l.key + (l.unpriced ? ` (${l.unpriced} unpriced)` : ''),
    String(l.requests),
    String(l.errors),
    String(l.inputTokens),
    String(l.outputTokens),
    String(l.cacheWrite5mTokens),
    String(l.cacheWrite1hTokens),
    String(l.cacheReadTokens),
    `${(l.cacheHitRate * 100).toFixed(1)}%`,
    formatUsd(l.costMicros),
    formatUsd(l.savingsMicros),
  ];
  if (format === 'csv') return renderCsv(header, [...lines, total].map(cells));
  const out = [
    `Ledger ${store.where}${since === undefined ? '' : ` since ${new Date(since).toISOString()}`}`,
    '',
    renderTable(
      header,
      [...lines.map(cells), cells(total)],
      header.map((_, i) => i > 0),
    ),
    '',
    ...budgetLines(budgets),
  ];
  if (recs) {
    out.push('', 'Recommendations:');
    if (recs.length === 0) out.push('  none (too few successful requests per client)');
    for (const r of recs) {
      const saving = r.savingsMicros === undefined ? '' : `; would have saved $${formatUsd(r.savingsMicros)}`;
      out.push(`  ${r.client}: ${r.suggestion} (${r.reason}${saving})`);
    }
  }
  return out.join('\n');
}

function tryLoadConfig(): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig();
  } catch {
    return undefined;
  }
}

function budgetLines(budgets: BudgetStatus[] | null): string[] {
  if (budgets === null) return ['Budgets: no config read (pass --config to see budget status).'];
  if (budgets.length === 0) return ['Budgets: none configured.'];
  return [
    'Budgets (spent in the current UTC period, from the ledger):',
    ...budgets.map(
      (b) =>
        `  ${b.scope} ${b.period}: $${formatUsd(b.spentMicros)} of $${formatUsd(b.limitMicros)} (${b.percent}%), ` +
        `${b.action} at 100 %, resets ${b.resetsAt}`,
    ),
  ];
}

export async function run(opts: ReportOptions): Promise<void> {
  process.stdout.write(`${await reportText(opts)}\n`);
}
