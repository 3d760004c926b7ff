/**
 * The SQLite ledger database itself: synchronous `node:sqlite` calls. It runs
 * inside the ledger's worker thread (sqlite-worker.ts), never on the gateway's
 * event loop, so a slow disk, a checkpoint's fsync or a lock held by another
 * process (busy timeout) delays only the worker.
 *
 * WAL mode (readers such as `gantry report` never block the writer),
 * `synchronous = NORMAL` (a committed batch survives a process crash), inserts
 * `INSERT OR IGNORE` on the primary key `id` (a retried or replayed batch never
 * counts a row twice), one transaction per batch.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { migrateSqlite } from './migrate.ts';
import { COLUMNS, type LedgerRow, rowFromRecord } from './row.ts';
import {
  columnList,
  createIndexSql,
  createTableSql,
  pushValues,
  type SpendGroup,
  spendFromRecords,
  spendSql,
} from './sql.ts';

/** Rows per multi-row INSERT (25 columns each: well under SQLite's 32,766 parameters). */
const ROWS_PER_STATEMENT = 50;

export interface SqliteDbOptions {
  /** Absolute path, or `:memory:`. */
  path: string;
  table: string;
  /** How long a write waits for a lock held by another connection before failing (SQLITE_BUSY). */
  busyTimeoutMs: number;
}

export class SqliteDb {
  readonly #db: DatabaseSync;
  readonly #table: string;
  readonly #one: StatementSync;
  readonly #many: StatementSync;

  constructor(options: SqliteDbOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const db = new DatabaseSync(options.path);
    this.#table = options.table;
    // First: the statements below take locks, and another connection may be opening the file too.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(createTableSql(this.#table));
    migrateSqlite(db, this.#table); // columns added after the first release (migrate.ts)
    db.exec(createIndexSql(this.#table, this.#table.replace('.', '_')));
    const tuple = `(${COLUMNS.map(() => '?').join(', ')})`;
    const insertOf = (n: number) =>
      db.prepare(
        `INSERT OR IGNORE INTO ${this.#table} (${columnList}) VALUES ${Array(n).fill(tuple).join(', ')}`,
      );
    this.#one = insertOf(1);
    this.#many = insertOf(ROWS_PER_STATEMENT);
    this.#db = db;
  }

  /** Inserts rows in one transaction (50 per statement, the rest singly); rows already present are skipped. */
  insert(rows: readonly LedgerRow[]): void {
    const db = this.#db;
    db.exec('BEGIN IMMEDIATE');
    try {
      let i = 0;
      for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
        const params: unknown[] = [];
        for (let j = i; j < i + ROWS_PER_STATEMENT; j++) pushValues(params, rows[j]);
        this.#many.run(...(params as SQLInputValue[]));
      }
      for (; i < rows.length; i++) {
        const params: unknown[] = [];
        pushValues(params, rows[i]);
        this.#one.run(...(params as SQLInputValue[]));
      }
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

  rows(since: number, until: number): LedgerRow[] {
    const stmt = this.#db.prepare(`SELECT * FROM ${this.#table} WHERE ts >= ? AND ts < ? ORDER BY ts, id`);
    return stmt.all(since, until).map((r) => rowFromRecord(r as Record<string, unknown>));
  }

  count(): number {
    const rec = this.#db.prepare(`SELECT COUNT(*) AS n FROM ${this.#table}`).get() as { n: number };
    return Number(rec.n);
  }

  spend(since: number, until: number): SpendGroup[] {
    const recs = this.#db.prepare(spendSql(this.#table, ['?', '?'])).all(since, until);
    return spendFromRecords(recs as Array<Record<string, unknown>>);
  }

  ping(): void {
    this.#db.prepare('SELECT 1').get();
  }

  close(): void {
    this.#db.close();
  }
}
