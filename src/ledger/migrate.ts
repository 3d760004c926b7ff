/**
 * Ledger table migrations: columns added to the row after the first release
 * (`ADDED_COLUMNS` in row.ts) are added to tables created before them.
 *
 * A new table gets every column from `CREATE TABLE`; an existing one is
 * inspected once when the store opens, and each missing column is added with
 * `ALTER TABLE … ADD COLUMN` (nullable, no default: old rows read as null).
 * Idempotent, and safe when several gateways open the same PostgreSQL table
 * at once (`ADD COLUMN IF NOT EXISTS`; a concurrent duplicate is ignored).
 * Kept apart from the store mechanics (store.ts), which call these from
 * `init()` right after creating the table.
 */
import { ADDED_COLUMNS } from './row.ts';

type SqliteDb = import('node:sqlite').DatabaseSync;
type PgPool = import('pg').Pool;

/** Adds the missing added columns to a SQLite table; returns their names. */
export function migrateSqlite(db: SqliteDb, table: string): string[] {
  const existing = new Set(
    (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
  );
  const added: string[] = [];
  for (const [, name, type] of ADDED_COLUMNS) {
    if (existing.has(name)) continue;
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
    added.push(name);
  }
  return added;
}

/** PostgreSQL's code for "column already exists" (a concurrent migration won the race). */
const DUPLICATE_COLUMN = '42701';

/** Adds the missing added columns to a PostgreSQL table (`schema.table` or `table`); returns their names. */
export async function migratePostgres(pool: PgPool, table: string): Promise<string[]> {
  const dot = table.indexOf('.');
  const schema = dot > 0 ? table.slice(0, dot) : null;
  const name = table.slice(dot + 1);
  const res = await pool.query(
    `SELECT column_name FROM information_schema.columns
      WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())`,
    [name.toLowerCase(), schema?.toLowerCase() ?? null],
  );
  const existing = new Set(res.rows.map((r: { column_name: string }) => r.column_name));
  const added: string[] = [];
  for (const [, column, type] of ADDED_COLUMNS) {
    if (existing.has(column)) continue;
    try {
      await pool.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} ${type}`);
      added.push(column);
    } catch (err) {
      if ((err as { code?: string }).code !== DUPLICATE_COLUMN) throw err;
    }
  }
  return added;
}
