/**
 * Reads of the ledger for admin views (the console): the requests list with
 * filters and keyset pagination, a request found by id, reports by client,
 * customer, model or day, budget spend with its curve over the period, and
 * the rows `recommend` needs.
 *
 * A `LedgerReader` has its own read connection, apart from the writer: a
 * read-only SQLite connection in a worker thread (node:sqlite is synchronous;
 * a month's aggregation must not hold the gateway's event loop), or a small
 * PostgreSQL pool of its own. Aggregation happens in SQL, so an answer is a
 * few lines however many rows the window holds.
 *
 * The rules are `gantry report`'s (src/ledger/report.ts): which rows count
 * (`countsInReport`), what is an error (`isErrorRow`), cache savings
 * (`cacheSavingsMicros`, applied to each distinct (model, batch, cache-read
 * tokens) group times its count, so the sum is the same as row by row),
 * budget periods (`budgetPlan`). `query.test.ts` holds the SQL and the
 * row-by-row functions equal on random rows, on SQLite and PostgreSQL.
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { nano } from '../anthropic/cost.ts';
import { type ModelPrices, resolveModel } from '../anthropic/models.ts';
import {
  type BudgetConfig,
  type BudgetPeriod,
  type BudgetStatus,
  budgetLine,
  budgetPlan,
  canonicalModel,
  emptyLine,
  finishReport,
  type GroupBy,
  projectedMicros,
  type ReportLine,
} from './report.ts';
import { COLUMNS, type LedgerRow, rowFromRecord } from './row.ts';
import { DEFAULT_TABLE, LEDGER_OFF } from './store.ts';

export interface TimeRange {
  /** `ts >= since`, ms since epoch. */
  since: number;
  /** `ts < until`. */
  until: number;
}

export interface RequestFilter extends TimeRange {
  client?: string;
  customer?: string;
  model?: string;
  route?: string;
  /** `2xx`, `4xx`, `5xx`, `error` (the report's rule), or one status code such as `429`. */
  status?: string;
  errorType?: string;
}

export interface RequestPage {
  /** Newest first. */
  rows: LedgerRow[];
  /** Pass as `cursor` for the next (older) page; null at the end. */
  next: string | null;
}

export interface BudgetView extends BudgetStatus {
  /** Start of the period (ms since epoch, UTC). */
  startsAt: string;
  /** Spent at the end of the period at the rate so far (`projectedMicros`). */
  projectedMicros: number;
  /** The 80 % mark, where the gateway publishes its first budget event and alert. */
  warnAtMicros: number;
  /** Cumulative spend at the end of each bucket of the period (hours of a day, days of a month), up to now. */
  curve: Array<{ at: number; spentMicros: number }>;
  bucketMs: number;
}

/** What a reader cannot do, said in a sentence (answered as `ledger_unavailable`). */
export class LedgerUnavailable extends Error {
  override name = 'LedgerUnavailable';
}

const STATUS_FILTER = /^(?:[1-5]xx|error|[1-5]\d\d)$/;
const SELECT_COLUMNS = COLUMNS.map((c) => c[1]).join(', ');
const TABLE = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const HOUR = 3_600_000;
const DAY = 86_400_000;

type Row = Record<string, unknown>;

interface Backend {
  readonly kind: 'sqlite' | 'postgres';
  all(sql: string, params: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** Builds SQL with the backend's placeholders (`?` or `$n`). */
class Sql {
  readonly params: unknown[] = [];
  readonly kind: Backend['kind'];
  constructor(kind: Backend['kind']) {
    this.kind = kind;
  }
  p(value: unknown): string {
    this.params.push(value);
    return this.kind === 'sqlite' ? '?' : `$${this.params.length}`;
  }
  /** `YYYY-MM-DD` of `ts` in UTC. */
  day(): string {
    return this.kind === 'sqlite'
      ? "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')"
      : "to_char(to_timestamp(ts / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
  }
}

/** SQL of `countsInReport`. */
const COUNTS_IN_REPORT = "route IN ('messages', 'batches.result')";
/** SQL of `isErrorRow`: failed (`failed` in row.ts), and not closed by its client. */
const IS_ERROR =
  "(COALESCE(outcome, '') <> 'client_closed' AND (status IS NULL OR status >= 400 OR outcome IN ('gantry_error', 'stream_error', 'upstream_cut')))";

function groupKey(by: GroupBy, q: Sql): string {
  switch (by) {
    case 'client':
      return "COALESCE(client, '(none)')";
    case 'customer':
      return "COALESCE(customer, '(none)')";
    case 'model':
      return "COALESCE(model, '(none)')";
    case 'day':
      return q.day();
  }
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export class LedgerReader {
  /** Where the rows are read from, without credentials. */
  readonly where: string;
  readonly #backend: Backend;
  readonly #table: string;

  private constructor(backend: Backend, table: string, where: string) {
    this.#backend = backend;
    this.#table = table;
    this.where = where;
  }

  /**
   * A reader of the ledger a `storage.ledger` URL names. Throws
   * `LedgerUnavailable` when there is nothing another connection can read
   * (`off`, `sqlite::memory:`).
   */
  static open(url: string, options: { table?: string } = {}): LedgerReader {
    if (url === LEDGER_OFF)
      throw new LedgerUnavailable('storage.ledger is off: this gateway keeps no ledger to read.');
    if (url.startsWith('sqlite:')) {
      const path = url.slice('sqlite:'.length);
      if (path === ':memory:')
        throw new LedgerUnavailable(
          'storage.ledger is sqlite::memory:, which only the writer can see; use a file (sqlite:./data/ledger.db) or PostgreSQL.',
        );
      const table = checkTable(options.table ?? DEFAULT_TABLE);
      const abs = resolve(path);
      return new LedgerReader(sqliteBackend(abs), table, `sqlite:${abs}`);
    }
    if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
      const u = new URL(url);
      const table = checkTable(options.table ?? u.searchParams.get('table') ?? DEFAULT_TABLE);
      u.searchParams.delete('table');
      const conn = u.toString();
      u.password = '';
      const where = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname} (table ${table})`;
      return new LedgerReader(postgresBackend(conn), table, where);
    }
    throw new LedgerUnavailable('storage.ledger: expected sqlite:<path> or a postgres:// URL.');
  }

  async #all(q: Sql, sql: string): Promise<Row[]> {
    try {
      return await this.#backend.all(sql, q.params);
    } catch (err) {
      throw new LedgerUnavailable(`reading the ledger (${this.where}) failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Rows of `filter`, newest first, `limit` at a time (1–500); `cursor` is the previous page's `next`. */
  async requests(
    filter: RequestFilter,
    page: { cursor?: string; limit?: number } = {},
  ): Promise<RequestPage> {
    const limit = Math.min(500, Math.max(1, Math.floor(page.limit ?? 50)));
    const q = new Sql(this.#backend.kind);
    const where = [`ts >= ${q.p(filter.since)}`, `ts < ${q.p(filter.until)}`];
    const eq = (column: string, value: string | undefined) => {
      if (value !== undefined) where.push(`${column} = ${q.p(value)}`);
    };
    eq('client', filter.client);
    eq('customer', filter.customer);
    eq('model', filter.model);
    eq('route', filter.route);
    eq('error_type', filter.errorType);
    if (filter.status !== undefined) {
      const s = filter.status;
      if (!STATUS_FILTER.test(s))
        throw new RangeError('status: expected 2xx, 4xx, 5xx, error or a code like 429');
      if (s === 'error') where.push(IS_ERROR);
      else if (s.endsWith('xx')) {
        const base = Number(s[0]) * 100;
        where.push(`status >= ${q.p(base)} AND status < ${q.p(base + 100)}`);
      } else where.push(`status = ${q.p(Number(s))}`);
    }
    if (page.cursor) {
      const c = decodeCursor(page.cursor);
      where.push(`(ts < ${q.p(c.ts)} OR (ts = ${q.p(c.ts)} AND id < ${q.p(c.id)}))`);
    }
    const sql = `SELECT ${SELECT_COLUMNS} FROM ${this.#table} WHERE ${where.join(' AND ')} ORDER BY ts DESC, id DESC LIMIT ${q.p(limit + 1)}`;
    const recs = await this.#all(q, sql);
    const rows = recs.slice(0, limit).map(rowFromRecord);
    const last = rows.at(-1);
    return { rows, next: recs.length > limit && last ? encodeCursor(last.ts, last.id) : null };
  }

  /**
   * Rows whose gateway id (`gtw_…`, `batch:…`) or upstream request id
   * (`req_…`) is `id`. A gateway id is a primary-key lookup; an upstream id is
   * looked for among the rows since `since` (the table has no index on it).
   */
  async find(id: string, since: number): Promise<LedgerRow[]> {
    const q = new Sql(this.#backend.kind);
    const sql = id.startsWith('req_')
      ? `SELECT ${SELECT_COLUMNS} FROM ${this.#table} WHERE ts >= ${q.p(since)} AND upstream_request_id = ${q.p(id)} ORDER BY ts DESC LIMIT 20`
      : `SELECT ${SELECT_COLUMNS} FROM ${this.#table} WHERE id = ${q.p(id)}`;
    return (await this.#all(q, sql)).map(rowFromRecord);
  }

  /** `buildReport` over the rows of `range`, aggregated in SQL (equal line for line). */
  async report(by: GroupBy, range: TimeRange): Promise<{ lines: ReportLine[]; total: ReportLine }> {
    return (await this.reports([by], range))[by]!;
  }

  /**
   * Several groupings of the same rows in two scans: the sums grouped by
   * every requested key at once, then folded per grouping in JS (sums add
   * up); cache savings from the distinct (keys, model, batch, cache-read
   * tokens) groups.
   */
  async reports<B extends GroupBy>(
    bys: readonly B[],
    range: TimeRange,
  ): Promise<Record<B, { lines: ReportLine[]; total: ReportLine }>> {
    const inRange = (x: Sql) =>
      `ts >= ${x.p(range.since)} AND ts < ${x.p(range.until)} AND ${COUNTS_IN_REPORT}`;
    const q0 = new Sql(this.#backend.kind);
    const models = await this.#all(
      q0,
      `SELECT DISTINCT model FROM ${this.#table} WHERE ${inRange(q0)} AND cache_read_tokens > 0 AND model IS NOT NULL`,
    );
    const q = new Sql(this.#backend.kind);
    // By model, rows group by the model name in SQL and fold to the canonical id below; the
    // names clients asked for ride along as one more key.
    const byModel = (bys as readonly GroupBy[]).includes('model');
    const keyList = bys.map((by) => `${groupKey(by, q)} AS k_${by}`);
    if (byModel) keyList.push('COALESCE(requested_model, model) AS k_asked');
    const keys = keyList.join(', ');
    const groupBy = [...bys.map((by) => `k_${by}`), ...(byModel ? ['k_asked'] : [])].join(', ');
    const savings = savingsSql(
      models.map((m) => String(m.model)),
      q,
    );
    const sums = await this.#all(
      q,
      `SELECT ${keys}, COUNT(*) AS requests, SUM(CASE WHEN ${IS_ERROR} THEN 1 ELSE 0 END) AS errors,
        SUM(CASE WHEN outcome = 'client_closed' THEN 1 ELSE 0 END) AS client_closed,
        SUM(CASE WHEN usage_source = 'estimated' THEN 1 ELSE 0 END) AS estimated,
        SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
        SUM(cache_write_5m_tokens) AS w5, SUM(cache_write_1h_tokens) AS w1,
        SUM(cache_read_tokens) AS cache_read_tokens, SUM(cost_micros) AS cost_micros,
        SUM(CASE WHEN priced THEN 0 ELSE 1 END) AS unpriced, SUM(${savings}) AS savings
       FROM ${this.#table} WHERE ${inRange(q)} GROUP BY ${groupBy}`,
    );
    const out = {} as Record<B, { lines: ReportLine[]; total: ReportLine }>;
    for (const by of bys) {
      const groups = new Map<string, ReportLine>();
      const total = emptyLine('total');
      const lineOf = (k: unknown) => {
        const key = String(k);
        let line = groups.get(key);
        if (!line) {
          line = emptyLine(key);
          groups.set(key, line);
        }
        return line;
      };
      for (const r of sums) {
        const raw = r[`k_${by}`];
        const line = lineOf(by === 'model' && raw !== '(none)' ? canonicalModel(String(raw)) : raw);
        const asked = r.k_asked;
        if (by === 'model' && typeof asked === 'string' && !line.requested.includes(asked)) {
          line.requested.push(asked);
        }
        const add: Record<(typeof SUMMED)[number], number> = {
          requests: num(r.requests),
          errors: num(r.errors),
          clientClosed: num(r.client_closed),
          estimated: num(r.estimated),
          inputTokens: num(r.input_tokens),
          outputTokens: num(r.output_tokens),
          cacheWrite5mTokens: num(r.w5),
          cacheWrite1hTokens: num(r.w1),
          cacheReadTokens: num(r.cache_read_tokens),
          costMicros: num(r.cost_micros),
          unpriced: num(r.unpriced),
          savingsMicros: num(r.savings),
        };
        for (const f of SUMMED) {
          line[f] += add[f];
          total[f] += add[f];
        }
      }
      const lines = [...groups.values()];
      finishReport(lines, total, by);
      out[by] = { lines, total };
    }
    return out;
  }

  /**
   * Every budget of `config` in its current UTC period: spent (what
   * `budgetStatus` computes row by row), the projection to the end of the
   * period, and the cumulative curve (hourly for daily budgets, daily for
   * monthly ones).
   */
  async budgets(config: BudgetConfig, now = Date.now()): Promise<BudgetView[]> {
    const plan = budgetPlan(config, now);
    if (plan.length === 0) return [];
    const buckets = new Map<string, Row[]>();
    for (const [period, width] of [
      ['daily', HOUR],
      ['monthly', DAY],
    ] as const) {
      const first = plan.find((b) => b.period === period);
      if (!first) continue;
      const q = new Sql(this.#backend.kind);
      // Start and width are integers of ours, written inline so both GROUP BY dialects see one expression.
      const bucket = `(ts - ${Math.trunc(first.start)}) / ${width}`;
      const sql = `SELECT client, environment, ${bucket} AS b, SUM(cost_micros) AS cost
        FROM ${this.#table} WHERE ts >= ${q.p(first.start)} AND ts < ${q.p(first.end)}
        GROUP BY client, environment, ${bucket}`;
      buckets.set(period, await this.#all(q, sql));
    }
    return plan.map((b) => budgetView(b, buckets.get(b.period) ?? [], now));
  }

  /** The columns `recommend` reads, for successful `messages` rows of `range` (oldest first). */
  async recommendationRows(range: TimeRange): Promise<LedgerRow[]> {
    const q = new Sql(this.#backend.kind);
    const recs = await this.#all(
      q,
      `SELECT id, ts, route, client, model, status, outcome, batch, input_tokens, output_tokens,
         cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_micros
       FROM ${this.#table}
       WHERE ts >= ${q.p(range.since)} AND ts < ${q.p(range.until)} AND route = 'messages' AND status = 200 AND outcome = 'ok'
       ORDER BY ts, id`,
    );
    return recs.map(rowFromRecord);
  }

  async close(): Promise<void> {
    await this.#backend.close();
  }
}

const SUMMED = [
  'requests',
  'clientClosed',
  'estimated',
  'errors',
  'inputTokens',
  'outputTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'cacheReadTokens',
  'costMicros',
  'unpriced',
  'savingsMicros',
] as const;

/**
 * SQL of `cacheSavingsMicros` for one row, for the models in `models`: the
 * cache reads priced as input minus priced as reads, each rounded half up to
 * micro-dollars like `costOf` (in integers: (2a + b) / (2b)), at the batch
 * discount when `batch`, in the long-prompt band when the reads alone pass
 * its threshold (a savings "request" holds only the reads). A price the
 * catalog lacks counts 0, as in `costOf`.
 */
function savingsSql(models: readonly string[], q: Sql): string {
  const d = 'CASE WHEN batch THEN 2000 ELSE 1000 END';
  const term = (price: number | null) =>
    price === null ? '0' : `((2 * cache_read_tokens * ${nano(price)} + ${d}) / (2 * ${d}))`;
  const diff = (p: ModelPrices) => `(${term(p.input)} - ${term(p.cache_read)})`;
  const cases: string[] = [];
  for (const m of models) {
    const entry = resolveModel(m);
    if (!entry) continue;
    const band = entry.long_prompt;
    const expr = band
      ? `CASE WHEN cache_read_tokens > ${Math.trunc(band.above_prompt_tokens)} THEN ${diff(band.prices)} ELSE ${diff(entry.prices)} END`
      : diff(entry.prices);
    cases.push(`WHEN ${q.p(m)} THEN ${expr}`);
  }
  if (cases.length === 0) return '0';
  const greatest = q.kind === 'sqlite' ? 'MAX' : 'GREATEST';
  return `CASE WHEN cache_read_tokens > 0 THEN ${greatest}(0, CASE model ${cases.join(' ')} ELSE 0 END) ELSE 0 END`;
}

function budgetView(b: BudgetPeriod, rows: Row[], now: number): BudgetView {
  const width = b.period === 'daily' ? HOUR : DAY;
  const perBucket = new Map<number, number>();
  let spent = 0;
  for (const r of rows) {
    if (b.where.client !== undefined && r.client !== b.where.client) continue;
    if (b.where.environment !== undefined && r.environment !== b.where.environment) continue;
    const i = Math.floor(num(r.b));
    const cost = num(r.cost);
    perBucket.set(i, (perBucket.get(i) ?? 0) + cost);
    spent += cost;
  }
  const curve: BudgetView['curve'] = [];
  const last = Math.floor((Math.min(now, b.end - 1) - b.start) / width);
  let running = 0;
  for (let i = 0; i <= last; i++) {
    running += perBucket.get(i) ?? 0;
    curve.push({ at: Math.min(b.start + (i + 1) * width, now), spentMicros: running });
  }
  return {
    ...budgetLine(b, spent),
    startsAt: new Date(b.start).toISOString(),
    projectedMicros: projectedMicros(b, spent, now),
    warnAtMicros: (b.limitMicros * 80) / 100,
    curve,
    bucketMs: width,
  };
}

function checkTable(table: string): string {
  if (!TABLE.test(table))
    throw new LedgerUnavailable(`ledger table name "${table}": expected a name or schema.name`);
  return table;
}

function encodeCursor(ts: number, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

function decodeCursor(cursor: string): { ts: number; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof ts === 'number' && typeof id === 'string') return { ts, id };
  } catch {
    // answered below
  }
  throw new RangeError('cursor: expected the `next` value of a previous page');
}

// ---------------------------------------------------------------------------
// Backends

function sqliteBackend(path: string): Backend {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  let worker: Worker | undefined;
  let seq = 0;
  const pending = new Map<number, { resolve(rows: Row[]): void; reject(err: Error): void }>();
  const start = (): Worker => {
    const w = new Worker(new URL(`./query-worker${ext}`, import.meta.url), { workerData: { path } });
    w.unref();
    w.on('message', (m: { id: number; rows?: Row[]; error?: string }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.rows ?? []);
    });
    w.on('error', (err) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      worker = undefined;
    });
    return w;
  };
  return {
    kind: 'sqlite',
    all(sql, params) {
      worker ??= start();
      const id = ++seq;
      return new Promise<Row[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker!.postMessage({ id, sql, params });
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}

function postgresBackend(connectionString: string): Backend {
  let pool: import('pg').Pool | undefined;
  const open = async () => {
    if (pool) return pool;
    const pg = await import('pg');
    const Pool = (pg.default ?? pg).Pool;
    const p = new Pool({
      connectionString,
      max: 2,
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 10_000,
      statement_timeout: 10_000,
    });
    // An idle client losing its connection must not crash the process: the next read fails and says so.
    p.on('error', () => {});
    pool = p;
    return p;
  };
  return {
    kind: 'postgres',
    async all(sql, params) {
      const res = await (await open()).query(sql, params);
      return res.rows;
    },
    async close() {
      const p = pool;
      pool = undefined;
      await p?.end();
    },
  };
}
