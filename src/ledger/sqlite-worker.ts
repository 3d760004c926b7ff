/**
 * The ledger's SQLite worker thread: owns the one `node:sqlite` connection and
 * answers the calls of `SqliteStore` (sqlite.ts) one at a time, in order.
 * Nothing here runs on the gateway's event loop.
 *
 * Messages in: `{ id, op, args }`; out: `{ id, ok: true, value }` or
 * `{ id, ok: false, error: { name, message, code } }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LedgerRow } from './row.ts';
import { SqliteDb, type SqliteDbOptions } from './sqlite-db.ts';

export type SqliteOp = 'open' | 'insert' | 'rows' | 'count' | 'spend' | 'ping' | 'close';

export interface SqliteRequest {
  id: number;
  op: SqliteOp;
  args: unknown[];
}

export type SqliteReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

const options = workerData as SqliteDbOptions;
let db: SqliteDb | undefined;

function open(): SqliteDb {
  db ??= new SqliteDb(options);
  return db;
}

function run(op: SqliteOp, args: unknown[]): unknown {
  switch (op) {
    case 'open':
      open();
      return undefined;
    case 'insert':
      open().insert(args[0] as LedgerRow[]);
      return undefined;
    case 'rows':
      return open().rows(args[0] as number, args[1] as number);
    case 'count':
      return open().count();
    case 'spend':
      return open().spend(args[0] as number, args[1] as number);
    case 'ping':
      open().ping();
      return undefined;
    case 'close':
      db?.close();
      db = undefined;
      return undefined;
  }
}

parentPort!.on('message', (req: SqliteRequest) => {
  let reply: SqliteReply;
  try {
    reply = { id: req.id, ok: true, value: run(req.op, req.args) };
  } catch (err) {
    const e = err as Error & { code?: string };
    reply = {
      id: req.id,
      ok: false,
      error: { name: e?.name ?? 'Error', message: String(e?.message ?? err), code: e?.code },
    };
  }
  parentPort!.postMessage(reply);
});
