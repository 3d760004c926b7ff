/**
 * Spill files: ledger rows that could not reach the store by the shutdown
 * deadline are written to a local file and replayed into the store at the
 * next start (docs/storage.md, "Shutdown and spill files").
 *
 * A spill file is JSON Lines: a header line
 * `{"gantry_ledger_spill":1,"store":"<where>","pid":…,"at":…}` then one row
 * per line. It is written whole under a temporary name, fsync'd, renamed into
 * place and its directory fsync'd, so a file with the final name is complete
 * and durable. Names carry a hash of the store's `where`
 * (`gantry-ledger-spill-<hash>-<time>-<pid>-<n>.jsonl`): a store replays only
 * its own files. Replay inserts idempotently (the row id is the primary key),
 * so a file replayed twice (two replicas starting at once, a crash during
 * replay) never counts a row twice; the file is deleted once all its rows are
 * in.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LedgerRow } from './row.ts';

const PREFIX = 'gantry-ledger-spill-';
let serial = 0;

function storeKey(where: string): string {
  return createHash('sha256').update(where).digest('hex').slice(0, 12);
}

/**
 * Writes `rows` to a new spill file in `dir` durably (synchronous: it runs at
 * shutdown, when nothing else waits). Returns the file's path.
 */
export function writeSpill(dir: string, where: string, rows: readonly LedgerRow[]): string {
  mkdirSync(dir, { recursive: true });
  const name = `${PREFIX}${storeKey(where)}-${Date.now()}-${process.pid}-${serial++}.jsonl`;
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(
      fd,
      `${JSON.stringify({ gantry_ledger_spill: 1, store: where, pid: process.pid, at: Date.now() })}\n`,
    );
    for (let i = 0; i < rows.length; i += 1_000) {
      let chunk = '';
      for (const row of rows.slice(i, i + 1_000)) chunk += `${JSON.stringify(row)}\n`;
      writeSync(fd, chunk);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dir);
  return path;
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems cannot fsync a directory; the file itself is synced
  }
}

/** Spill files in `dir`: this store's (oldest first) and other stores' (left alone, reported). */
export function listSpills(dir: string, where: string): { mine: string[]; others: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { mine: [], others: [] };
  }
  const own = `${PREFIX}${storeKey(where)}-`;
  const spills = names.filter((n) => n.startsWith(PREFIX) && n.endsWith('.jsonl')).sort();
  return {
    mine: spills.filter((n) => n.startsWith(own)).map((n) => join(dir, n)),
    others: spills.filter((n) => !n.startsWith(own)).map((n) => join(dir, n)),
  };
}

export interface SpillBatch {
  rows: LedgerRow[];
  /** Lines that were not a row (a torn last line, a foreign file): skipped. */
  skipped: number;
}

/** Reads a spill file in batches of `batchRows` rows. */
export async function* readSpill(path: string, batchRows: number): AsyncGenerator<SpillBatch> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let rows: LedgerRow[] = [];
  let skipped = 0;
  let first = true;
  for await (const line of lines) {
    if (first) {
      first = false;
      if (line.includes('"gantry_ledger_spill"')) continue;
    }
    if (line === '') continue;
    const row = parseRow(line);
    if (row) rows.push(row);
    else skipped += 1;
    if (rows.length >= batchRows) {
      yield { rows, skipped };
      rows = [];
      skipped = 0;
    }
  }
  if (rows.length > 0 || skipped > 0) yield { rows, skipped };
}

function parseRow(line: string): LedgerRow | undefined {
  try {
    const v = JSON.parse(line) as Partial<LedgerRow>;
    if (typeof v.id === 'string' && typeof v.ts === 'number' && typeof v.route === 'string')
      return v as LedgerRow;
  } catch {
    // a torn line
  }
  return undefined;
}

/** Deletes a replayed spill file (already gone: another replica replayed it too). */
export function removeSpill(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
}
