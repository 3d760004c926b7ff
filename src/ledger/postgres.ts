/**
 * The PostgreSQL ledger store (`pg`, a pool of 2 connections). pg is already
 * asynchronous: nothing here blocks the event loop.
 *
 * Hung servers: every query is bounded on the client side (`query_timeout`,
 * and `statement_timeout` on the server), connecting is bounded
 * (`connectionTimeoutMillis`), and sockets use TCP keep-alive, so a server that
 * accepts connections but never answers (a partition, a stuck server) makes
 * calls fail within `timeoutMs` instead of hanging: the writer then counts the
 * store as down. A client whose query timed out is destroyed, not reused.
 * `close()` is bounded too: connections that do not end in time are dropped.
 */
import { Socket } from 'node:net';
import { migratePostgres } from './migrate.ts';
import type { LedgerRow } from './row.ts';
import { rowFromRecord } from './row.ts';
import {
  checkTable,
  columnList,
  createIndexSql,
  createTableSql,
  DEFAULT_TABLE,
  pushValues,
  type SpendGroup,
  spendFromRecords,
  spendSql,
} from './sql.ts';
import type { LedgerQuery, LedgerStore } from './store.ts';

type PgPool = import('pg').Pool;

/** Rows per INSERT statement (25 columns × 400 rows stays far below the 65,535 parameter limit). */
const PG_ROWS_PER_STATEMENT = 400;
/** Idle delay before the first TCP keep-alive probe. */
const KEEPALIVE_DELAY_MS = 10_000;

export class PostgresStore implements LedgerStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  readonly spillDir: string | undefined;
  readonly #url: string;
  readonly #table: string;
  readonly #timeoutMs: number;
  #pool: PgPool | undefined;
  /** Sockets of the pool's connections (destroyed when `close` runs out of time). */
  readonly #sockets = new Set<Socket>();

  constructor(url: string, options: { table?: string; timeoutMs: number; spillDir?: string }) {
    const u = new URL(url);
    const fromUrl = u.searchParams.get('table');
    u.searchParams.delete('table');
    this.#url = u.toString();
    this.#table = checkTable(options.table ?? fromUrl ?? DEFAULT_TABLE);
    this.#timeoutMs = options.timeoutMs;
    u.password = '';
    this.where = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname} (table ${this.#table})`;
    this.spillDir = options.spillDir;
  }

  async #open(): Promise<PgPool> {
    if (this.#pool) return this.#pool;
    const pg = await import('pg');
    const Pool = (pg.default ?? pg).Pool;
    const pool: PgPool = new Pool({
      connectionString: this.#url,
      max: 2,
      connectionTimeoutMillis: this.#timeoutMs,
      idleTimeoutMillis: 10_000,
      // Client side: a server that stops answering fails the query (and the connection is dropped).
      query_timeout: this.#timeoutMs,
      // Server side: a statement stuck on a lock is cancelled by the server itself.
      statement_timeout: this.#timeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      stream: () => {
        const socket = new Socket();
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
        return socket;
      },
    });
    // An idle client losing its connection must not crash the process: the next insert fails and is retried.
    pool.on('error', () => {});
    this.#pool = pool;
    return pool;
  }

  async init(): Promise<void> {
    const pool = await this.#open();
    const dot = this.#table.indexOf('.');
    if (dot > 0) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.#table.slice(0, dot)}`);
    await pool.query(createTableSql(this.#table));
    await migratePostgres(pool, this.#table); // columns added after the first release (migrate.ts)
    await pool.query(createIndexSql(this.#table, this.#table.slice(dot + 1)));
  }

  async insert(rows: readonly LedgerRow[]): Promise<void> {
    const pool = this.#openPool();
    for (let start = 0; start < rows.length; start += PG_ROWS_PER_STATEMENT) {
      const params: unknown[] = [];
      const tuples: string[] = [];
      for (const row of rows.slice(start, start + PG_ROWS_PER_STATEMENT)) {
        const base = params.length;
        pushValues(params, row, 'native');
        tuples.push(
          `(${Array.from({ length: params.length - base }, (_, i) => `$${base + i + 1}`).join(', ')})`,
        );
      }
      await pool.query(
        `INSERT INTO ${this.#table} (${columnList}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING`,
        params,
      );
    }
  }

  async rows(query: LedgerQuery = {}): Promise<LedgerRow[]> {
    const res = await this.#openPool().query(
      `SELECT * FROM ${this.#table} WHERE ts >= $1 AND ts < $2 ORDER BY ts, id`,
      [query.since ?? 0, query.until ?? Number.MAX_SAFE_INTEGER],
    );
    return res.rows.map((r: Record<string, unknown>) => rowFromRecord(r));
  }

  async count(): Promise<number> {
    const res = await this.#openPool().query(`SELECT COUNT(*) AS n FROM ${this.#table}`);
    return Number(res.rows[0].n);
  }

  async spend(query: { since: number; until: number }): Promise<SpendGroup[]> {
    const res = await this.#openPool().query(spendSql(this.#table, ['$1', '$2']), [query.since, query.until]);
    return spendFromRecords(res.rows);
  }

  async ping(): Promise<void> {
    await this.#openPool().query('SELECT 1');
  }

  /** Ends the pool; connections that have not ended within the timeout (a hung server) are destroyed. */
  async close(): Promise<void> {
    const pool = this.#pool;
    if (!pool) return;
    this.#pool = undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.min(this.#timeoutMs, 2_000));
    });
    const ended = await Promise.race([
      pool.end().then(
        () => 'ended' as const,
        () => 'ended' as const,
      ),
      late,
    ]);
    clearTimeout(timer);
    if (ended === 'late') for (const s of this.#sockets) s.destroy();
  }

  #openPool(): PgPool {
    if (!this.#pool) throw new Error('ledger store is not open');
    return this.#pool;
  }
}
