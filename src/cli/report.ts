/**
 * `gantry report`: what the ledger says — tokens, cost, cache hit rate and
 * savings by client, customer, model or day; `--recommend` adds max_tokens and
 * cheaper-model suggestions. Reads the store of `storage.ledger` (or `--ledger`).
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
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
import { DEFAULT_TABLE, LEDGER_OFF, openLedgerStore } from '../ledger/store.ts';
import { CliError, readConfig, usageError } from './errors.ts';
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
  await requireLedger(url);
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
    ...(by === 'model' ? ['requested as'] : []),
    'requests',
    'errors',
    'closed',
    'input',
    'output',
    'estimated',
    'write 5m',
    'write 1h',
    'read',
    'hit rate',
    'cost $',
    'saved $',
  ];
  const cells = (l: ReportLine) => [
    l.key + (l.unpriced ? ` (${l.unpriced} unpriced)` : ''),
    ...(by === 'model' ? [l.requested.join(' ')] : []),
    String(l.requests),
    String(l.errors),
    String(l.clientClosed),
    String(l.inputTokens),
    String(l.outputTokens),
    String(l.estimated),
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
      header.map((h, i) => i > 0 && h !== 'requested as'),
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

/**
 * A report reads a ledger; it never creates one. A SQLite file or PostgreSQL
 * table that does not exist is a failure that says where it looked.
 */
async function requireLedger(url: string): Promise<void> {
  const hint =
    'pass --ledger <url> or --config <file> (storage.ledger), or send a request through the gateway first';
  if (url === LEDGER_OFF)
    throw new CliError('failure', 'storage.ledger is off: this config keeps no ledger to report on');
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === ':memory:')
      throw new CliError('failure', 'sqlite::memory: is a ledger only its gateway process can read');
    if (!existsSync(resolve(path))) throw new CliError('failure', `no ledger at ${resolve(path)}: ${hint}`);
    return;
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const u = new URL(url);
    const table = u.searchParams.get('table') ?? DEFAULT_TABLE;
    u.searchParams.delete('table');
    const pg = await import('pg');
    const client = new (pg.default ?? pg).Client({
      connectionString: u.toString(),
      connectionTimeoutMillis: 5_000,
    });
    let found: unknown;
    try {
      await client.connect();
      found = (await client.query('SELECT to_regclass($1) AS t', [table])).rows[0]?.t;
    } catch (err) {
      u.password = '';
      throw new CliError(
        'failure',
        `cannot read the ledger at ${u.host}${u.pathname}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    } finally {
      await client.end().catch(() => {});
    }
    if (!found) throw new CliError('failure', `no ledger table ${table} at ${u.host}${u.pathname}: ${hint}`);
  }
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
