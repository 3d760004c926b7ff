/**
 * Alert history: every transition (pending is not kept; firing, severity
 * change, resolved), newest last, in a bounded in-memory ring; optionally also
 * in a SQLite table of its own (`alerts.history_db`, via node:sqlite), so the
 * history survives restarts. The ledger store is not used: it was not on main
 * when this was written.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AlertRecord, NotificationKind } from './channels.ts';

export interface HistoryEntry {
  at: string;
  kind: NotificationKind;
  key: string;
  rule: string;
  scope_value: string;
  severity: string;
  previous_severity?: string;
  value: number;
  threshold: number;
  summary: string;
}

type Db = {
  exec(sql: string): void;
  prepare(sql: string): { run(...a: unknown[]): unknown; all(...a: unknown[]): unknown[] };
  close(): void;
};

export class AlertHistory {
  readonly #size: number;
  readonly #ring: HistoryEntry[] = [];
  #db?: Db;
  #insert?: ReturnType<Db['prepare']>;

  constructor(size: number) {
    this.#size = size;
  }

  /** Opens (and creates) the SQLite file and loads its newest entries into the ring. */
  async openDb(path: string): Promise<void> {
    const { DatabaseSync } = await import('node:sqlite');
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path) as unknown as Db;
    db.exec(`CREATE TABLE IF NOT EXISTS gantry_alert_history (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, rule TEXT NOT NULL,
      scope_value TEXT NOT NULL, severity TEXT NOT NULL, previous_severity TEXT,
      value REAL NOT NULL, threshold REAL NOT NULL, summary TEXT NOT NULL)`);
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO gantry_alert_history (at, kind, key, rule, scope_value, severity, previous_severity, value, threshold, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const rows = db
      .prepare('SELECT * FROM gantry_alert_history ORDER BY id DESC LIMIT ?')
      .all(this.#size) as Array<HistoryEntry & { previous_severity: string | null }>;
    for (const r of rows.reverse()) {
      const { previous_severity, ...rest } = r as HistoryEntry & {
        id?: number;
        previous_severity: string | null;
      };
      delete (rest as { id?: number }).id;
      this.#push(previous_severity ? { ...rest, previous_severity } : rest);
    }
  }

  add(kind: NotificationKind, a: AlertRecord, at: string, previousSeverity?: string): HistoryEntry {
    const entry: HistoryEntry = {
      at,
      kind,
      key: a.key,
      rule: a.rule,
      scope_value: a.scopeValue,
      severity: a.severity,
      ...(previousSeverity ? { previous_severity: previousSeverity } : {}),
      value: a.value,
      threshold: a.threshold,
      summary: a.summary,
    };
    this.#push(entry);
    this.#insert?.run(
      at,
      kind,
      a.key,
      a.rule,
      a.scopeValue,
      a.severity,
      previousSeverity ?? null,
      a.value,
      a.threshold,
      a.summary,
    );
    return entry;
  }

  /** Newest first. */
  recent(limit = this.#size): HistoryEntry[] {
    return this.#ring.slice(-limit).reverse();
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }

  #push(e: HistoryEntry): void {
    this.#ring.push(e);
    if (this.#ring.length > this.#size) this.#ring.splice(0, this.#ring.length - this.#size);
  }
}
