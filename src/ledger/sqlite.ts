/**
 * The SQLite ledger store, off the event loop: a `node:worker_threads` worker
 * (sqlite-worker.ts) owns the database connection; this class posts it calls
 * (rows go in batches, as structured clones) and awaits the answers. A call
 * the worker does not answer within `timeoutMs` rejects with a
 * LedgerTimeoutError (the writer then counts the store as down and keeps the
 * rows). A worker that dies is started again at the next call.
 *
 * The worker is `unref`'d while idle, so a CLI command that opened the store
 * (`gantry report`) exits when its work is done; it is ref'd while a call is
 * pending.
 */
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LedgerRow } from './row.ts';
import type { SpendGroup } from './sql.ts';
import { checkTable, DEFAULT_TABLE } from './sql.ts';
import type { SqliteDbOptions } from './sqlite-db.ts';
import type { SqliteOp, SqliteReply, SqliteRequest } from './sqlite-worker.ts';
import { type LedgerQuery, type LedgerStore, LedgerTimeoutError } from './store.ts';

// From source the worker is the .ts file (Node strips its types); in dist/ it is compiled to .js.
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './sqlite-worker.ts' : './sqlite-worker.js',
  import.meta.url,
);

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class SqliteStore implements LedgerStore {
  readonly kind = 'sqlite' as const;
  readonly where: string;
  readonly spillDir: string | undefined;
  readonly #options: SqliteDbOptions;
  readonly #timeoutMs: number;
  #worker: Worker | undefined;
  #opened: Promise<void> | undefined;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;

  /** `spillDir` default: the SQLite file's directory (none for `:memory:`). */
  constructor(path: string, options: { table?: string; timeoutMs: number; spillDir?: string }) {
    const abs = path === ':memory:' ? path : resolve(path);
    this.#timeoutMs = options.timeoutMs;
    this.#options = {
      path: abs,
      table: checkTable(options.table ?? DEFAULT_TABLE),
      // A lock held by another connection is waited for inside the worker, well within the call's timeout.
      busyTimeoutMs: Math.min(5_000, Math.floor(options.timeoutMs / 2)),
    };
    this.where = `sqlite:${abs}`;
    this.spillDir = options.spillDir ?? (abs === ':memory:' ? undefined : dirname(abs));
  }

  async init(): Promise<void> {
    await this.#open();
  }

  async insert(rows: readonly LedgerRow[]): Promise<void> {
    await this.#open();
    await this.#call('insert', [rows]);
  }

  async rows(query: LedgerQuery = {}): Promise<LedgerRow[]> {
    await this.#open();
    return (await this.#call('rows', [
      query.since ?? 0,
      query.until ?? Number.MAX_SAFE_INTEGER,
    ])) as LedgerRow[];
  }

  async count(): Promise<number> {
    await this.#open();
    return (await this.#call('count', [])) as number;
  }

  async spend(query: { since: number; until: number }): Promise<SpendGroup[]> {
    await this.#open();
    return (await this.#call('spend', [query.since, query.until])) as SpendGroup[];
  }

  async ping(): Promise<void> {
    await this.#open();
    await this.#call('ping', []);
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    try {
      await this.#call('close', []);
    } catch {
      // a hung or dead worker: terminated below
    }
    this.#worker = undefined;
    this.#opened = undefined;
    await worker.terminate();
  }

  /** Starts the worker and opens the database (once; again after the worker died or opening failed). */
  #open(): Promise<void> {
    this.#opened ??= (async () => {
      if (!this.#worker) this.#start();
      await this.#call('open', []);
    })().catch((err) => {
      this.#opened = undefined;
      throw err;
    });
    return this.#opened;
  }

  #start(): void {
    const worker = new Worker(WORKER_URL, { workerData: this.#options });
    worker.unref();
    worker.on('message', (reply: SqliteReply) => this.#settle(reply));
    const fail = (err: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#opened = undefined;
      for (const [id, p] of this.#pending) {
        clearTimeout(p.timer);
        this.#pending.delete(id);
        p.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`ledger worker exited (code ${code})`)));
    this.#worker = worker;
  }

  #call(op: SqliteOp, args: unknown[]): Promise<unknown> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error('ledger store is not open'));
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        if (this.#pending.size === 0) this.#worker?.unref();
        reject(new LedgerTimeoutError(`sqlite ${op}: no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      worker.ref();
      worker.postMessage({ id, op, args } satisfies SqliteRequest);
    });
  }

  #settle(reply: SqliteReply): void {
    const p = this.#pending.get(reply.id);
    if (!p) return; // timed out earlier: the answer is too late to matter
    this.#pending.delete(reply.id);
    clearTimeout(p.timer);
    if (this.#pending.size === 0) this.#worker?.unref();
    if (reply.ok) p.resolve(reply.value);
    else p.reject(Object.assign(new Error(reply.error.message), reply.error));
  }
}
