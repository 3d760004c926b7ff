/**
 * Ledger stores: one interface, two implementations — SQLite (`node:sqlite`,
 * the default: a file, WAL mode) and PostgreSQL (`pg`). Both insert
 * idempotently: the row id is the primary key and a row already present is
 * skipped (`INSERT OR IGNORE` / `ON CONFLICT DO NOTHING`), so a flush retried
 * after a failure never counts a row twice.
 *
 * Where a ledger lives is one URL (`storage.ledger`):
 * - `sqlite:./data/ledger.db` (relative to the working directory), `sqlite:/abs/path.db`, `sqlite::memory:`
 * - `postgres://user@host:5432/db` (or `postgresql://`); `?table=schema.name` picks the table
 *   (default `gantry_ledger`), the rest goes to `pg` as is.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { migratePostgres, migrateSqlite } from './migrate.ts';
import { COLUMNS, type LedgerRow, rowFromRecord } from './row.ts';

export interface LedgerQuery {
  /** Rows with `ts >= since` (ms since epoch). */
  since?: number;
  /** Rows with `ts < until`. */
  until?: number;
}

export interface LedgerStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the rows go, without credentials (for logs and `gantry report`). */
  readonly where: string;
  /** Creates the table (and schema) if needed. */
  init(): Promise<void>;
  /** Writes rows durably; rows whose id is already stored are skipped. */
  insert(rows: readonly LedgerRow[]): Promise<void>;
  /** Rows in time order. */
  rows(query?: LedgerQuery): Promise<LedgerRow[]>;
  count(): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_TABLE = 'gantry_ledger';
/** `storage.ledger: off`: exchanges are still priced (logs, metrics, budgets) but no row is kept. */
export const LEDGER_OFF = 'off';
const TABLE = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Opens (and initialises) the store a ledger URL names. */
export async function openLedgerStore(url: string, options: { table?: string } = {}): Promise<LedgerStore> {
  const store = createLedgerStore(url, options);
  await store.init();
  return store;
}

/** The store a ledger URL names, not yet initialised. */
export function createLedgerStore(url: string, options: { table?: string } = {}): LedgerStore {
  if (url === LEDGER_OFF)
    throw new Error(
      'storage.ledger is off: this gateway keeps no ledger (set sqlite:<path> or a postgres:// URL)',
    );
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length), options.table);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return new PostgresStore(url, options.table);
  throw new Error('storage.ledger: expected sqlite:<path> or postgres://… URL');
}

/** Whether `url` is a ledger URL `createLedgerStore` accepts (for config validation). */
export function ledgerUrlProblem(url: string): string | undefined {
  if (url === LEDGER_OFF) return undefined;
  if (url.startsWith('sqlite:')) {
    return url.length > 'sqlite:'.length
      ? undefined
      : 'expected a path after sqlite: (e.g. sqlite:./data/ledger.db)';
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    try {
      const u = new URL(url);
      const table = u.searchParams.get('table');
      if (table !== null && !TABLE.test(table)) return 'table= must be a name or schema.name';
      return undefined;
    } catch {
      return 'not a valid postgres:// URL';
    }
  }
  return 'expected sqlite:<path> (e.g. sqlite:./data/ledger.db), a postgres:// URL, or off';
}

function checkTable(table: string): string {
  if (!TABLE.test(table)) throw new Error(`ledger table name "${table}": expected a name or schema.name`);
  return table;
}

const columnList = COLUMNS.map((c) => c[1]).join(', ');

function createTableSql(table: string): string {
  const cols = COLUMNS.map(([, name, type]) => `${name} ${type}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${table} (${cols})`;
}

function values(row: LedgerRow): unknown[] {
  const out: unknown[] = [];
  pushValues(out, row);
  return out;
}

function pushValues(out: unknown[], row: LedgerRow): void {
  for (const [key, , , kind] of COLUMNS) {
    const v = row[key];
    out.push(kind === 'bool' ? (v ? 1 : 0) : (v ?? null));
  }
}

/** SQLite rows per multi-row INSERT (25 columns each: well under SQLite's 32,766 parameters). */
const ROWS_PER_STATEMENT = 50;

// ---------------------------------------------------------------------------
// SQLite

type SqliteDb = import('node:sqlite').DatabaseSync;

class SqliteStore implements LedgerStore {
  readonly kind = 'sqlite' as const;
  readonly where: string;
  #path: string;
  #table: string;
  #db: SqliteDb | undefined;
  #insert: import('node:sqlite').StatementSync | undefined;
  #insertMany: import('node:sqlite').StatementSync | undefined;

  constructor(path: string, table = DEFAULT_TABLE) {
    this.#path = path === ':memory:' ? path : resolve(path);
    this.#table = checkTable(table);
    this.where = `sqlite:${this.#path}`;
  }

  async init(): Promise<void> {
    const { DatabaseSync } = await import('node:sqlite');
    if (this.#path !== ':memory:') mkdirSync(dirname(this.#path), { recursive: true });
    const db = new DatabaseSync(this.#path);
    // WAL: readers (gantry report) never block the writer; NORMAL sync is durable across process crashes.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    // A locked database fails fast; the writer keeps the rows and retries (the request path never waits).
    db.exec('PRAGMA busy_timeout = 100');
    db.exec(createTableSql(this.#table));
    migrateSqlite(db, this.#table); // columns added after the first release (migrate.ts)
    db.exec(`CREATE INDEX IF NOT EXISTS ${this.#table.replace('.', '_')}_ts ON ${this.#table} (ts)`);
    const tuple = `(${COLUMNS.map(() => '?').join(', ')})`;
    const insertOf = (n: number) =>
      db.prepare(
        `INSERT OR IGNORE INTO ${this.#table} (${columnList}) VALUES ${Array(n).fill(tuple).join(', ')}`,
      );
    this.#insert = insertOf(1);
    this.#insertMany = insertOf(ROWS_PER_STATEMENT);
    this.#db = db;
  }

  async insert(rows: readonly LedgerRow[]): Promise<void> {
    const db = this.#db;
    const one = this.#insert;
    const many = this.#insertMany;
    if (!db || !one || !many) throw new Error('ledger store is not open');
    type Value = import('node:sqlite').SQLInputValue;
    db.exec('BEGIN IMMEDIATE');
    try {
      // Rows go in 50 at a time (about a quarter less time per row than one by one), the rest singly.
      let i = 0;
      for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
        const params: unknown[] = [];
        for (let j = i; j < i + ROWS_PER_STATEMENT; j++) pushValues(params, rows[j]);
        many.run(...(params as Value[]));
      }
      for (; i < rows.length; i++) one.run(...(values(rows[i]) as Value[]));
      db.exec('COMMIT');
    } catch (err) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // no transaction left to roll back
      }
      throw err;
    }
  }

  async rows(query: LedgerQuery = {}): Promise<LedgerRow[]> {
    const db = this.#db;
    if (!db) throw new Error('ledger store is not open');
    const stmt = db.prepare(`SELECT * FROM ${this.#table} WHERE ts >= ? AND ts < ? ORDER BY ts, id`);
    const recs = stmt.all(query.since ?? 0, query.until ?? Number.MAX_SAFE_INTEGER);
    return recs.map((r) => rowFromRecord(r as Record<string, unknown>));
  }

  async count(): Promise<number> {
    const db = this.#db;
    if (!db) throw new Error('ledger store is not open');
    const rec = db.prepare(`SELECT COUNT(*) AS n FROM ${this.#table}`).get() as { n: number };
    return Number(rec.n);
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}

// ---------------------------------------------------------------------------
// PostgreSQL

type PgPool = import('pg').Pool;

/** Rows per INSERT statement (25 columns × 400 rows stays far below the 65,535 parameter limit). */
const PG_ROWS_PER_STATEMENT = 400;

class PostgresStore implements LedgerStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  #url: string;
  #table: string;
  #pool: PgPool | undefined;

  constructor(url: string, table?: string) {
    const u = new URL(url);
    const fromUrl = u.searchParams.get('table');
    u.searchParams.delete('table');
    this.#url = u.toString();
    this.#table = checkTable(table ?? fromUrl ?? DEFAULT_TABLE);
    u.password = '';
    this.where = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname} (table ${this.#table})`;
  }

  async init(): Promise<void> {
    const pg = await import('pg');
    const Pool = (pg.default ?? pg).Pool;
    const pool: PgPool =
      this.#pool ??
      new Pool({
        connectionString: this.#url,
        max: 2,
        connectionTimeoutMillis: 3_000,
        idleTimeoutMillis: 10_000,
        statement_timeout: 10_000,
      });
    if (!this.#pool) {
      // An idle client losing its connection must not crash the process: the next insert fails and is retried.
      pool.on('error', () => {});
      this.#pool = pool;
    }
    const dot = this.#table.indexOf('.');
    if (dot > 0) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.#table.slice(0, dot)}`);
    await pool.query(createTableSql(this.#table));
    await migratePostgres(pool, this.#table); // columns added after the first release (migrate.ts)
    await pool.query(`CREATE INDEX IF NOT EXISTS ${this.#table.slice(dot + 1)}_ts ON ${this.#table} (ts)`);
  }

  async insert(rows: readonly LedgerRow[]): Promise<void> {
    const pool = this.#pool;
    if (!pool) throw new Error('ledger store is not open');
    for (let start = 0; start < rows.length; start += PG_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + PG_ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const tuples: string[] = [];
      for (const row of chunk) {
        const vals = COLUMNS.map(([key, , , kind]) => {
          const v = row[key];
          if (kind === 'bool') return Boolean(v);
          return v ?? null;
        });
        const base = params.length;
        tuples.push(`(${vals.map((_, i) => `$${base + i + 1}`).join(', ')})`);
        params.push(...vals);
      }
      await pool.query(
        `INSERT INTO ${this.#table} (${columnList}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING`,
        params,
      );
    }
  }

  async rows(query: LedgerQuery = {}): Promise<LedgerRow[]> {
    const pool = this.#pool;
    if (!pool) throw new Error('ledger store is not open');
    const res = await pool.query(`SELECT * FROM ${this.#table} WHERE ts >= $1 AND ts < $2 ORDER BY ts, id`, [
      query.since ?? 0,
      query.until ?? Number.MAX_SAFE_INTEGER,
    ]);
    return res.rows.map((r: Record<string, unknown>) => rowFromRecord(r));
  }

  async count(): Promise<number> {
    const pool = this.#pool;
    if (!pool) throw new Error('ledger store is not open');
    const res = await pool.query(`SELECT COUNT(*) AS n FROM ${this.#table}`);
    return Number(res.rows[0].n);
  }

  async close(): Promise<void> {
    await this.#pool?.end();
    this.#pool = undefined;
  }
}
