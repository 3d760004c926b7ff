/**
 * The ledger writer: rows go into an in-memory queue on the request path
 * (`add` is synchronous and never waits on I/O) and are written to the store
 * in batches off the request path — every `flushMs`, or at once when
 * `batchRows` are waiting.
 *
 * Guarantees (docs/storage.md):
 * - A graceful stop (`close`) writes every queued row before it returns
 *   (retrying a store that is down until `closeTimeoutMs`).
 * - While the store is down, rows stay queued (up to `bufferRows`) and are
 *   written when it comes back; a failed batch is retried whole, and the
 *   stores' idempotent insert makes a retry of a batch that did land harmless.
 * - Beyond `bufferRows`, new rows are dropped, counted in `dropped`, logged,
 *   and published on the gateway's `events.ledger` — never silently.
 * - On a hard kill, what is lost is what was queued: at most the rows of the
 *   last `flushMs` (store up), at most `bufferRows` (store down).
 */
import type { Logger } from 'pino';
import type { LedgerEvent, Topic } from '../observe/events.ts';
import type { LedgerRow } from './row.ts';
import type { LedgerStore } from './store.ts';

export interface LedgerWriterOptions {
  store: LedgerStore;
  /** Most rows held in memory; beyond it rows are dropped and counted. */
  bufferRows: number;
  /** Flush interval, ms. */
  flushMs: number;
  /** Flush at once when this many rows are queued; also the largest batch per insert. */
  batchRows?: number;
  /** How long `close` keeps trying to write the queue. */
  closeTimeoutMs?: number;
  logger?: Logger;
  /** The store is already initialised (default: `init()` it at the first flush). */
  storeReady?: boolean;
  /** Where queue depth and store health are published (the gateway's `events.ledger`). */
  events?: Topic<LedgerEvent>;
}

export interface LedgerStats {
  /** Rows waiting in memory. */
  queued: number;
  /** Rows the store acknowledged. */
  written: number;
  /** Rows dropped because the buffer was full (or left when `close` gave up). */
  dropped: number;
  /** Failed insert attempts. */
  failures: number;
  storeUp: boolean;
  /** Largest queue depth seen. */
  maxQueued: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LedgerWriter {
  readonly store: LedgerStore;
  #queue: LedgerRow[] = [];
  #written = 0;
  #dropped = 0;
  #failures = 0;
  #maxQueued = 0;
  #storeUp = true;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The store was initialised (opened at the first flush, retried like an outage). */
  #ready: boolean;
  #lastDropLog = 0;
  #droppedSinceLog = 0;
  readonly #bufferRows: number;
  readonly #batchRows: number;
  readonly #closeTimeoutMs: number;
  readonly #log: Logger | undefined;
  readonly #events: Topic<LedgerEvent> | undefined;

  constructor(options: LedgerWriterOptions) {
    this.#events = options.events;
    this.store = options.store;
    this.#bufferRows = options.bufferRows;
    this.#batchRows = Math.max(1, Math.min(options.batchRows ?? 500, options.bufferRows));
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.#log = options.logger;
    this.#ready = options.storeReady ?? false;
    this.#timer = setInterval(() => void this.flush(), options.flushMs);
    this.#timer.unref();
  }

  /** Queues a row (synchronous; never waits). Returns false when the row was dropped. */
  add(row: LedgerRow): boolean {
    if (this.#closed || this.#queue.length >= this.#bufferRows) {
      this.#dropped += 1;
      this.#droppedSinceLog += 1;
      const now = Date.now();
      if (now - this.#lastDropLog >= 1_000) {
        this.#log?.error(
          {
            ledger_dropped: this.#droppedSinceLog,
            ledger_dropped_total: this.#dropped,
            ledger_queued: this.#queue.length,
          },
          this.#closed ? 'ledger row after close dropped' : 'ledger buffer full: rows dropped',
        );
        this.#lastDropLog = now;
        this.#droppedSinceLog = 0;
      }
      this.#publish();
      return false;
    }
    this.#queue.push(row);
    if (this.#queue.length > this.#maxQueued) this.#maxQueued = this.#queue.length;
    if (this.#queue.length >= this.#batchRows && this.#flushing === undefined && this.#storeUp)
      void this.flush();
    return true;
  }

  stats(): LedgerStats {
    return {
      queued: this.#queue.length,
      written: this.#written,
      dropped: this.#dropped,
      failures: this.#failures,
      storeUp: this.#storeUp,
      maxQueued: this.#maxQueued,
    };
  }

  /** Writes what is queued (one batch after another); resolves when done or when the store failed. */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 || !this.#ready) {
      const batch = this.#queue.slice(0, this.#batchRows);
      try {
        if (!this.#ready) {
          await this.store.init();
          this.#ready = true;
          if (batch.length === 0) break;
        }
        await this.store.insert(batch);
      } catch (err) {
        this.#failures += 1;
        if (this.#storeUp) {
          this.#storeUp = false;
          this.#log?.error(
            { ledger_store: this.store.where, ledger_queued: this.#queue.length, err: errText(err) },
            'ledger store unavailable: rows kept in memory',
          );
        }
        this.#publish();
        return;
      }
      // `add` only appends, so the batch is still the head of the queue.
      this.#queue.splice(0, batch.length);
      // Let requests run between batches (a synchronous store, SQLite, would otherwise hold the
      // event loop for the whole queue).
      if (this.#queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
      this.#written += batch.length;
      if (!this.#storeUp) {
        this.#storeUp = true;
        this.#log?.warn(
          { ledger_store: this.store.where, ledger_queued: this.#queue.length },
          'ledger store back',
        );
      }
      this.#publish();
    }
  }

  /** Stops the timer, writes every queued row (retrying up to the close timeout), closes the store. */
  async close(): Promise<LedgerStats> {
    this.#closed = true;
    clearInterval(this.#timer);
    const deadline = Date.now() + this.#closeTimeoutMs;
    for (;;) {
      await this.flush();
      if (this.#queue.length === 0 || Date.now() >= deadline) break;
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    }
    if (this.#queue.length > 0) {
      const lost = this.#queue.length;
      this.#dropped += lost;
      this.#queue = [];
      this.#log?.error(
        { ledger_dropped: lost, ledger_store: this.store.where },
        'ledger rows lost at shutdown: store unavailable',
      );
      this.#publish();
    }
    try {
      if (this.#ready) await this.store.close();
    } catch (err) {
      this.#log?.warn({ err: errText(err) }, 'ledger store close failed');
    }
    return this.stats();
  }

  #publish(): void {
    this.#events?.publish(
      (): LedgerEvent => ({
        queued: this.#queue.length,
        written: this.#written,
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
