/**
 * The SQLite read thread of `LedgerReader` (src/ledger/query.ts): node:sqlite
 * is synchronous, so the console's aggregations (a GROUP BY over a month of
 * rows) run here, off the gateway's event loop. One read-only connection,
 * opened on first use (the writer may not have created the file yet) and
 * reopened after a failure; statements run one at a time.
 *
 * Protocol: `{ id, sql, params }` in, `{ id, rows }` or `{ id, error }` out.
 */
import { existsSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

interface Ask {
  id: number;
  sql: string;
  params: SQLInputValue[];
}

const { path } = workerData as { path: string };
let db: DatabaseSync | undefined;

function connection(): DatabaseSync {
  if (db) return db;
  if (!existsSync(path)) throw new Error(`${path} does not exist yet (no ledger row has been written)`);
  const opened = new DatabaseSync(path, { readOnly: true });
  // A reader waits a little for a checkpoint instead of failing at once.
  opened.exec('PRAGMA busy_timeout = 2000');
  db = opened;
  return opened;
}

parentPort!.on('message', (ask: Ask) => {
  try {
    const conn = connection();
    const rows = conn.prepare(ask.sql).all(...ask.params);
    parentPort!.postMessage({ id: ask.id, rows });
  } catch (err) {
    try {
      db?.close();
    } catch {
      // already closed
    }
    db = undefined;
    parentPort!.postMessage({ id: ask.id, error: (err as Error).message ?? String(err) });
  }
});
