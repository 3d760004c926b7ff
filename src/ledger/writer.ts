/**
 * The ledger writer: rows go into an in-memory queue on the request path
 * (`add` is synchronous and never waits on I/O) and are written to the store
 * in batches off the request path — every `flushMs`, or at once when
 * `batchRows` are waiting.
 *
 * Guarantees (docs/storage.md):
 * - A store that does not answer within its timeout is DOWN: the call fails
 *   (the store bounds every call), `storeUp` turns false, an error is logged
 *   (and repeated every 30 s while it lasts), `events.ledger` publishes it
 *   (the `gantry_ledger_store_up` metric) and `check()` — the `/readyz`
 *   check — fails. When idle, the store is pinged every `probeMs`.
 * - While the store is down, rows stay queued (up to `bufferRows`) and are
 *   written when it comes back; a failed batch is retried whole, and the
 *   stores' idempotent insert makes a retry of a batch that did land harmless.
 * - Beyond `bufferRows`, new rows are dropped, counted in `dropped`, logged,
 *   and published on the gateway's `events.ledger` — never silently.
 * - `close({ deadline })` keeps writing (and keeps accepting late rows from
 *   requests cut at the drain timeout) until the deadline; what the store has
 *   not taken by then is spilled to a local file (spill.ts, fsync'd) and
 *   replayed into the store at the next start, idempotent on the row id. Rows
 *   added after close finished go straight to a spill file. Its stats say how
 *   many rows were `written`, `spilled` and `dropped` (dropped at close only
 *   when there is nowhere to spill: `sqlite::memory:`, or a failing disk).
 * - On a hard kill, what is lost is what was queued: at most the rows of the
 *   last `flushMs` (store up), at most `bufferRows` (store down).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { LedgerEvent, Topic } from '../observe/events.ts';
import type { LedgerRow } from './row.ts';
import { listSpills, readSpill, removeSpill, writeSpill } from './spill.ts';
import type { LedgerStore } from './store.ts';

export interface LedgerWriterOptions {
  store: LedgerStore;
  /** Most rows held in memory; beyond it rows are dropped and counted. */
  bufferRows: number;
  /** Flush interval, ms. */
  flushMs: number;
  /** Flush at once when this many rows are queued; also the largest batch per insert. */
  batchRows?: number;
  /** Longest `close` keeps trying the store before it spills (default 5,000 ms; an earlier `deadline` wins). */
  closeTimeoutMs?: number;
  /** When idle, ping the store this often so a dead store is seen without traffic (default 10,000 ms). */
  probeMs?: number;
  logger?: Logger;
  /** The store is already initialised (default: `init()` it at the first flush). */
  storeReady?: boolean;
  /** Where queue depth and store health are published (the gateway's `events.ledger`). */
  events?: Topic<LedgerEvent>;
}

export interface LedgerStats {
  /** Rows waiting in memory (including a batch being inserted). */
  queued: number;
  /** Rows the store acknowledged. */
  written: number;
  /** Rows written to a spill file (replayed into the store at the next start). */
  spilled: number;
  /** Rows from earlier spill files written to the store by this writer. */
  replayed: number;
  /** Rows lost: the buffer was full, or nowhere to spill at close. */
  dropped: number;
  /** Failed store calls. */
  failures: number;
  storeUp: boolean;
  /** Largest queue depth seen. */
  maxQueued: number;
}

export interface CloseOptions {
  /** Absolute time (ms since epoch) by which close must return. */
  deadline?: number;
}

/** `promise`, or 'late' after `ms` (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
/** How often a lasting outage is logged again. */
const DOWN_REPEAT_MS = 30_000;

export class LedgerWriter {
  readonly store: LedgerStore;
  #queue: LedgerRow[] = [];
  /** The batch being inserted (still owed to the store). */
  #inflight: LedgerRow[] = [];
  /** Bumped when close spills: an insert started before that no longer owns its batch. */
  #generation = 0;
  #written = 0;
  #spilled = 0;
  #replayed = 0;
  #dropped = 0;
  #failures = 0;
  #maxQueued = 0;
  #storeUp = true;
  /** Last successful store round trip (ms since epoch). */
  #lastContact = 0;
  #downSince = 0;
  #lastDownLog = 0;
  #flushing: Promise<void> | undefined;
  #probing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<LedgerStats> | undefined;
  /** Close is done: the store is closed, rows go straight to a spill file. */
  #final = false;
  #ready: boolean;
  #replayPending = true;
  /** Resolved when the store goes down (a new one after each recovery). */
  #wentDown = Promise.withResolvers<void>();
  #lastDropLog = 0;
  #droppedSinceLog = 0;
  #lastLateLog = 0;
  readonly #bufferRows: number;
  readonly #batchRows: number;
  readonly #flushMs: number;
  readonly #closeTimeoutMs: number;
  readonly #probeMs: number;
  readonly #log: Logger | undefined;
  readonly #events: Topic<LedgerEvent> | undefined;

  constructor(options: LedgerWriterOptions) {
    this.#events = options.events;
    this.store = options.store;
    this.#bufferRows = options.bufferRows;
    this.#batchRows = Math.max(1, Math.min(options.batchRows ?? 500, options.bufferRows));
    this.#flushMs = options.flushMs;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#probeMs = options.probeMs ?? 10_000;
    this.#log = options.logger;
    this.#ready = options.storeReady ?? false;
    if (this.#ready) this.#lastContact = Date.now();
    this.#timer = setInterval(() => this.#tick(), options.flushMs);
    this.#timer.unref();
  }

  /** Queues a row (synchronous; never waits). Returns false when the row was dropped. */
  add(row: LedgerRow): boolean {
    if (this.#final) return this.#spillLate(row);
    if (this.#queue.length + this.#inflight.length >= this.#bufferRows) {
      this.#drop(1, 'ledger buffer full: rows dropped');
      return false;
    }
    this.#queue.push(row);
    const depth = this.#queue.length + this.#inflight.length;
    if (depth > this.#maxQueued) this.#maxQueued = depth;
    if (this.#queue.length >= this.#batchRows && this.#flushing === undefined && this.#storeUp)
      void this.flush();
    return true;
  }

  stats(): LedgerStats {
    return {
      queued: this.#queue.length + this.#inflight.length,
      written: this.#written,
      spilled: this.#spilled,
      replayed: this.#replayed,
      dropped: this.#dropped,
      failures: this.#failures,
      storeUp: this.#storeUp,
      maxQueued: this.#maxQueued,
    };
  }

  /**
   * The readiness check: not ok while the store is down; when the last round
   * trip is older than two flush intervals, one ping decides (it fails within
   * the store's timeout when the store does not answer).
   */
  async check(): Promise<{ ok: boolean; detail?: string }> {
    if (this.#storeUp && Date.now() - this.#lastContact > Math.max(2 * this.#flushMs, 1_000)) {
      // Whichever comes first: the ping's answer, or an insert already running failing meanwhile.
      await Promise.race([this.#probe(), this.#wentDown.promise]);
    }
    if (this.#storeUp) return { ok: true };
    return {
      ok: false,
      detail: `${this.store.where}: not answering; rows buffered in memory (${this.#queue.length + this.#inflight.length} queued)`,
    };
  }

  /** Writes what is queued (one batch after another); resolves when done or when the store failed. */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  #tick(): void {
    if (!this.#ready || this.#replayPending || this.#queue.length > 0) void this.flush();
    else if (this.#flushing === undefined && Date.now() - this.#lastContact >= this.#probeMs)
      void this.#probe();
  }

  /** One ping; marks the store down when it fails, up when it answers and nothing is owed. */
  #probe(): Promise<void> {
    this.#probing ??= (async () => {
      try {
        await this.store.ping();
        if (this.#queue.length === 0 && this.#inflight.length === 0) this.#up();
        else this.#lastContact = Date.now();
      } catch (err) {
        this.#down(err);
      }
    })().finally(() => {
      this.#probing = undefined;
    });
    return this.#probing;
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#final) return;
      try {
        if (!this.#ready) {
          await this.store.init();
          this.#ready = true;
          this.#up();
        }
        if (this.#replayPending) await this.#replay();
      } catch (err) {
        this.#down(err);
        return;
      }
      if (this.#queue.length === 0) return;
      const batch = this.#queue.splice(0, this.#batchRows);
      this.#inflight = batch;
      const generation = this.#generation;
      try {
        await this.store.insert(batch);
      } catch (err) {
        if (generation !== this.#generation) return; // spilled by close meanwhile
        this.#inflight = [];
        this.#queue = batch.concat(this.#queue);
        this.#down(err);
        return;
      }
      if (generation !== this.#generation) return; // spilled by close meanwhile; the replay is idempotent
      this.#inflight = [];
      this.#written += batch.length;
      this.#up();
      this.#publish();
      // Let requests run between batches.
      if (this.#queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Writes this store's spill files (left by an earlier shutdown) into the store, then deletes them. */
  async #replay(): Promise<void> {
    const dir = this.store.spillDir;
    if (!dir) {
      this.#replayPending = false;
      return;
    }
    const { mine, others } = listSpills(dir, this.store.where);
    for (const path of mine) {
      let rows = 0;
      let skipped = 0;
      for await (const batch of readSpill(path, this.#batchRows)) {
        if (batch.rows.length > 0) await this.store.insert(batch.rows);
        rows += batch.rows.length;
        skipped += batch.skipped;
        this.#replayed += batch.rows.length;
      }
      removeSpill(path);
      this.#log?.warn(
        {
          ledger_spill: path,
          ledger_replayed: rows,
          ledger_skipped_lines: skipped,
          ledger_store: this.store.where,
        },
        'ledger spill file replayed into the store',
      );
    }
    if (others.length > 0) {
      this.#log?.warn(
        { ledger_spill_dir: dir, ledger_spill_files: others.length },
        'ledger spill files of another ledger store left in place (replayed by a gateway using that store)',
      );
    }
    this.#replayPending = false;
    if (mine.length > 0) this.#publish();
  }

  #up(): void {
    this.#lastContact = Date.now();
    if (this.#storeUp) return;
    this.#storeUp = true;
    this.#wentDown = Promise.withResolvers<void>();
    this.#log?.warn(
      {
        ledger_store: this.store.where,
        ledger_queued: this.#queue.length + this.#inflight.length,
        ledger_down_ms: Date.now() - this.#downSince,
      },
      'ledger store back',
    );
    this.#publish();
  }

  #down(err: unknown): void {
    this.#failures += 1;
    const now = Date.now();
    const line = {
      ledger_store: this.store.where,
      ledger_queued: this.#queue.length + this.#inflight.length,
      err: errText(err),
    };
    if (this.#storeUp) {
      this.#storeUp = false;
      this.#wentDown.resolve();
      this.#downSince = now;
      this.#lastDownLog = now;
      this.#log?.error(line, 'ledger store unavailable: rows kept in memory');
    } else if (now - this.#lastDownLog >= DOWN_REPEAT_MS) {
      this.#lastDownLog = now;
      this.#log?.error(
        { ...line, ledger_down_ms: now - this.#downSince, ledger_failures: this.#failures },
        'ledger store still unavailable',
      );
    }
    this.#publish();
  }

  #drop(n: number, message: string): void {
    this.#dropped += n;
    this.#droppedSinceLog += n;
    const now = Date.now();
    if (now - this.#lastDropLog >= 1_000) {
      this.#log?.error(
        {
          ledger_dropped: this.#droppedSinceLog,
          ledger_dropped_total: this.#dropped,
          ledger_queued: this.#queue.length + this.#inflight.length,
        },
        message,
      );
      this.#lastDropLog = now;
      this.#droppedSinceLog = 0;
    }
    this.#publish();
  }

  /**
   * Graceful stop. Keeps writing — late rows included — until the store has
   * everything or `deadline` (or `closeTimeoutMs`, whichever is earlier) is
   * reached; spills what is left; closes the store. Never waits past the
   * deadline on the store (a store call already running is abandoned; its
   * rows are in the spill file, and the replay is idempotent).
   */
  close(options: CloseOptions = {}): Promise<LedgerStats> {
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  async #close(options: CloseOptions): Promise<LedgerStats> {
    clearInterval(this.#timer);
    const end = Math.min(options.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.#closeTimeoutMs);
    while (this.#queue.length + this.#inflight.length > 0) {
      const left = end - Date.now();
      if (left <= 0) break;
      await within(this.flush(), left);
      if (this.#queue.length + this.#inflight.length === 0) break;
      if (!this.#storeUp) await sleep(Math.max(0, Math.min(200, end - Date.now())));
    }
    this.#final = true;
    this.#generation += 1;
    const owed = this.#inflight.concat(this.#queue);
    this.#inflight = [];
    this.#queue = [];
    if (owed.length > 0) this.#spill(owed, 'shutdown');
    if (this.#ready) {
      try {
        await within(this.store.close(), Math.max(100, end - Date.now()));
      } catch (err) {
        this.#log?.warn({ err: errText(err) }, 'ledger store close failed');
      }
    }
    this.#publish();
    return this.stats();
  }

  /** Writes rows to a spill file; counts them spilled, or dropped when that fails. */
  #spill(rows: LedgerRow[], why: 'shutdown' | 'late'): boolean {
    const dir = this.store.spillDir;
    if (!dir) {
      this.#dropped += rows.length;
      this.#log?.error(
        { ledger_dropped: rows.length, ledger_store: this.store.where },
        'ledger rows lost at shutdown: the store did not take them and there is no spill directory',
      );
      return false;
    }
    try {
      const path = writeSpill(dir, this.store.where, rows);
      this.#spilled += rows.length;
      if (why === 'shutdown' || Date.now() - this.#lastLateLog >= 1_000) {
        if (why === 'late') this.#lastLateLog = Date.now();
        this.#log?.warn(
          { ledger_spilled: rows.length, ledger_spill: path, ledger_store: this.store.where },
          why === 'shutdown'
            ? 'ledger rows spilled at shutdown: replayed into the store at the next start'
            : 'ledger row after close spilled: replayed into the store at the next start',
        );
      }
      return true;
    } catch (err) {
      this.#dropped += rows.length;
      this.#log?.error(
        { ledger_dropped: rows.length, ledger_spill_dir: dir, err: errText(err) },
        'ledger rows lost: writing the spill file failed',
      );
      return false;
    }
  }

  #spillLate(row: LedgerRow): boolean {
    const ok = this.#spill([row], 'late');
    this.#publish();
    return ok;
  }

  #publish(): void {
    this.#events?.publish(
      (): LedgerEvent => ({
        queued: this.#queue.length + this.#inflight.length,
        written: this.#written,
        spilled: this.#spilled,
        dropped: this.#dropped,
        storeUp: this.#storeUp,
        at: Date.now(),
      }),
    );
  }
}

function errText(err: unknown): string {
  return err instanceof Error
    ? `${(err as { code?: string }).code ?? err.name}: ${err.message}`
    : String(err);
}
