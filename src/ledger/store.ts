/**
 * Ledger stores: one interface, two implementations — SQLite (`node:sqlite`
 * in a worker thread, the default: a file, WAL mode; sqlite.ts) and
 * PostgreSQL (`pg`; postgres.ts). Both insert idempotently: the row id is the
 * primary key and a row already present is skipped (`INSERT OR IGNORE` /
 * `ON CONFLICT DO NOTHING`), so a flush retried after a failure, or a spill
 * file replayed at start-up, never counts a row twice.
 *
 * Every call is bounded by the store's timeout (`storage.ledger_timeout_ms`):
 * a store that does not answer in time fails the call, it never hangs it.
 *
 * Where a ledger lives is one URL (`storage.ledger`):
 * - `sqlite:./data/ledger.db` (relative to the working directory), `sqlite:/abs/path.db`, `sqlite::memory:`
 * - `postgres://user@host:5432/db` (or `postgresql://`); `?table=schema.name` picks the table
 *   (default `gantry_ledger`), the rest goes to `pg` as is.
 */

import { resolve } from 'node:path';
import { InternalError } from '../errors.ts';
import { PostgresStore } from './postgres.ts';
import type { LedgerRow } from './row.ts';
import { DEFAULT_TABLE, isTableName, type SpendGroup } from './sql.ts';
import { SqliteStore } from './sqlite.ts';

export { DEFAULT_TABLE, type SpendGroup };

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
  /**
   * The directory where rows that cannot reach the store by the shutdown
   * deadline are spilled (src/ledger/spill.ts); undefined: nowhere durable
   * (`sqlite::memory:`), such rows are dropped and counted.
   */
  readonly spillDir: string | undefined;
  /** Creates the table (and schema) if needed. */
  init(): Promise<void>;
  /** Writes rows durably; rows whose id is already stored are skipped. */
  insert(rows: readonly LedgerRow[]): Promise<void>;
  /** Rows in time order. */
  rows(query?: LedgerQuery): Promise<LedgerRow[]>;
  count(): Promise<number>;
  /** Cost per (client, environment, customer) of rows with `ts` in [since, until). */
  spend(query: { since: number; until: number }): Promise<SpendGroup[]>;
  /** One round trip to the store (readiness); rejects when it does not answer in time. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface LedgerStoreOptions {
  /** Table name (`name` or `schema.name`); PostgreSQL also reads `?table=` from the URL. */
  table?: string;
  /** Longest a store call may take before it fails (default 5,000 ms). */
  timeoutMs?: number;
  /** Where rows are spilled at shutdown (default: next to the SQLite file; `./data` for PostgreSQL). */
  spillDir?: string;
}

/** A store call that got no answer within the store's timeout. */
export class LedgerTimeoutError extends InternalError {
  constructor(message: string) {
    super('ledger_timeout', message);
  }
}

const DEFAULT_LEDGER_TIMEOUT_MS = 5_000;
/** `storage.ledger: off`: exchanges are still priced (logs, metrics, budgets) but no row is kept. */
export const LEDGER_OFF = 'off';

/** Opens (and initialises) the store a ledger URL names. */
export async function openLedgerStore(url: string, options: LedgerStoreOptions = {}): Promise<LedgerStore> {
  const store = createLedgerStore(url, options);
  await store.init();
  return store;
}

/** The store a ledger URL names, not yet initialised. */
export function createLedgerStore(url: string, options: LedgerStoreOptions = {}): LedgerStore {
  if (url === LEDGER_OFF)
    throw new Error(
      'storage.ledger is off: this gateway keeps no ledger (set sqlite:<path> or a postgres:// URL)',
    );
  const timeoutMs = options.timeoutMs ?? DEFAULT_LEDGER_TIMEOUT_MS;
  if (url.startsWith('sqlite:')) {
    return new SqliteStore(url.slice('sqlite:'.length), {
      table: options.table,
      timeoutMs,
      spillDir: options.spillDir === undefined ? undefined : resolve(options.spillDir),
    });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return new PostgresStore(url, {
      table: options.table,
      timeoutMs,
      spillDir: resolve(options.spillDir ?? './data'),
    });
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
      if (table !== null && !isTableName(table)) return 'table= must be a name or schema.name';
      return undefined;
    } catch {
      return 'not a valid postgres:// URL';
    }
  }
  return 'expected sqlite:<path> (e.g. sqlite:./data/ledger.db), a postgres:// URL, or off';
}
