/**
 * SQL shared by the two ledger stores (SQLite and PostgreSQL): the table, its
 * column list, the row → parameter mapping and the spend aggregation used to
 * reconcile budgets (src/limits/reconcile.ts).
 */
import { COLUMNS, type LedgerRow } from './row.ts';

export const DEFAULT_TABLE = 'gantry_ledger';
const TABLE = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `name` or `schema.name`, else an error that says so. */
export function checkTable(table: string): string {
  if (!TABLE.test(table)) throw new Error(`ledger table name "${table}": expected a name or schema.name`);
  return table;
}

export function isTableName(table: string): boolean {
  return TABLE.test(table);
}

export const columnList = COLUMNS.map((c) => c[1]).join(', ');

export function createTableSql(table: string): string {
  const cols = COLUMNS.map(([, name, type]) => `${name} ${type}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${table} (${cols})`;
}

/** The index on `ts` (reports and reconciliation read by time), named `<index>_ts`. */
export function createIndexSql(table: string, index: string): string {
  return `CREATE INDEX IF NOT EXISTS ${index}_ts ON ${table} (ts)`;
}

/** Appends the row's values in column order (booleans as 0/1 for SQLite, `bool: 'native'` for pg). */
export function pushValues(out: unknown[], row: LedgerRow, bool: '01' | 'native' = '01'): void {
  for (const [key, , , kind] of COLUMNS) {
    const v = row[key];
    if (kind === 'bool') out.push(bool === 'native' ? Boolean(v) : v ? 1 : 0);
    else out.push(v ?? null);
  }
}

/** What one (client, environment, customer) spent in a time range, from the ledger. */
export interface SpendGroup {
  client: string | null;
  environment: string | null;
  customer: string | null;
  micros: number;
}

/** Spend per client, environment and customer with `ts` in [$1, $2) (`?` placeholders for SQLite). */
export function spendSql(table: string, placeholders: [string, string]): string {
  return (
    `SELECT client, environment, customer, SUM(cost_micros) AS micros FROM ${table} ` +
    `WHERE ts >= ${placeholders[0]} AND ts < ${placeholders[1]} GROUP BY client, environment, customer`
  );
}

export function spendFromRecords(recs: ReadonlyArray<Record<string, unknown>>): SpendGroup[] {
  return recs.map((r) => ({
    client: r.client === null || r.client === undefined ? null : String(r.client),
    environment: r.environment === null || r.environment === undefined ? null : String(r.environment),
    customer: r.customer === null || r.customer === undefined ? null : String(r.customer),
    micros: Number(r.micros ?? 0),
  }));
}
