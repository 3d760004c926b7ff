/**
 * Alert history: every transition (pending is not kept; firing, severity
 * change, resolved), newest last, in a bounded in-memory ring; optionally also
 * in a SQLite table of its own (`alerts.history_db`, via node:sqlite), so the
 * history survives restarts. The ledger store is not used: it was not on main
 * when this was written. Each entry also keeps the notification's deliveries
 * (channel, outcome, attempts, HTTP status), added as each channel finishes.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AlertRecord, DeliveryResult, NotificationKind } from './channels.ts';

/** One channel's delivery of a notification, when it finished. */
export interface Delivery extends DeliveryResult {
  at: string;
}

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
  /** What each channel that took the notification did with it (empty until one finishes, or when none took it). */
  deliveries: Delivery[];
}

type Db = {
  exec(sql: string): void;
  prepare(sql: string): {
    run(...a: unknown[]): { lastInsertRowid: number | bigint };
    all(...a: unknown[]): unknown[];
  };
  close(): void;
};

export class AlertHistory {
  readonly #size: number;
  readonly #ring: HistoryEntry[] = [];
  #db?: Db;
  #insert?: ReturnType<Db['prepare']>;
  #update?: ReturnType<Db['prepare']>;
  readonly #rowIds = new WeakMap<HistoryEntry, number | bigint>();

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
      value REAL NOT NULL, threshold REAL NOT NULL, summary TEXT NOT NULL, deliveries TEXT)`);
    // Files written before deliveries were kept get the column.
    const columns = db.prepare('PRAGMA table_info(gantry_alert_history)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'deliveries'))
      db.exec('ALTER TABLE gantry_alert_history ADD COLUMN deliveries TEXT');
    this.#db = db;
    this.#update = db.prepare('UPDATE gantry_alert_history SET deliveries = ? WHERE id = ?');
    this.#insert = db.prepare(
      'INSERT INTO gantry_alert_history (at, kind, key, rule, scope_value, severity, previous_severity, value, threshold, summary, deliveries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const rows = db
      .prepare('SELECT * FROM gantry_alert_history ORDER BY id DESC LIMIT ?')
      .all(this.#size) as Array<
      Omit<HistoryEntry, 'deliveries'> & {
        id: number;
        previous_severity: string | null;
        deliveries: string | null;
      }
    >;
    for (const r of rows.reverse()) {
      const { id, previous_severity, deliveries, ...rest } = r;
      const entry: HistoryEntry = {
        ...rest,
        ...(previous_severity ? { previous_severity } : {}),
        deliveries: deliveries ? (JSON.parse(deliveries) as Delivery[]) : [],
      };
      this.#rowIds.set(entry, id);
      this.#push(entry);
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
      deliveries: [],
    };
    this.#push(entry);
    const inserted = this.#insert?.run(
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
      null,
    );
    if (inserted) this.#rowIds.set(entry, inserted.lastInsertRowid);
    return entry;
  }

  /** Adds a channel's outcome to the entry of the notification it delivered. */
  delivered(entry: HistoryEntry, result: DeliveryResult, at: string): void {
    entry.deliveries.push({ ...result, at });
    const id = this.#rowIds.get(entry);
    if (id !== undefined) this.#update?.run(JSON.stringify(entry.deliveries), id);
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
