import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AlertRecord } from './channels.ts';
import { AlertHistory } from './history.ts';

const record = (over: Partial<AlertRecord> = {}): AlertRecord => ({
  key: 'error_rate_5xx/overall',
  rule: 'error_rate_5xx',
  metric: 'error_rate_5xx',
  scope: 'overall',
  scopeValue: 'overall',
  status: 'firing',
  severity: 'warning',
  peakSeverity: 'warning',
  value: 2.5,
  threshold: 1,
  unit: '%',
  summary: '5xx error rate is 2.5 %',
  updatedAt: '2026-03-02T10:00:00.000Z',
  ...over,
});

test('the memory ring keeps the newest entries, newest first', () => {
  const h = new AlertHistory(3);
  for (let i = 0; i < 5; i++) h.add('firing', record({ value: i }), `2026-03-02T10:00:0${i}.000Z`);
  assert.deepEqual(
    h.recent().map((e) => e.value),
    [4, 3, 2],
  );
});

test('with a SQLite file, history survives a restart', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gantry-alerts-')), 'data', 'alerts.db');
  const a = new AlertHistory(10);
  await a.openDb(path);
  a.add('firing', record(), '2026-03-02T10:00:00.000Z');
  a.add('firing', record({ severity: 'critical' }), '2026-03-02T10:01:00.000Z', 'warning');
  a.add('resolved', record({ status: 'resolved', severity: 'critical' }), '2026-03-02T10:02:00.000Z');
  a.close();
  const b = new AlertHistory(2);
  await b.openDb(path);
  const recent = b.recent();
  assert.deepEqual(
    recent.map((e) => [e.kind, e.severity, e.previous_severity]),
    [
      ['resolved', 'critical', undefined],
      ['firing', 'critical', 'warning'],
    ],
  );
  b.close();
});

test('deliveries are kept with their entry, also across a restart; older files get the column', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-alerts-'));
  const path = join(dir, 'alerts.db');
  // A file from before deliveries were kept.
  const { DatabaseSync } = await import('node:sqlite');
  const old = new DatabaseSync(path);
  old.exec(`CREATE TABLE gantry_alert_history (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, rule TEXT NOT NULL,
      scope_value TEXT NOT NULL, severity TEXT NOT NULL, previous_severity TEXT,
      value REAL NOT NULL, threshold REAL NOT NULL, summary TEXT NOT NULL)`);
  old.exec(`INSERT INTO gantry_alert_history (at, kind, key, rule, scope_value, severity, value, threshold, summary)
    VALUES ('2026-03-02T09:00:00.000Z', 'firing', 'k', 'r', 'overall', 'warning', 1, 1, 'old')`);
  old.close();

  const a = new AlertHistory(10);
  await a.openDb(path);
  const entry = a.add('firing', record(), '2026-03-02T10:00:00.000Z');
  assert.deepEqual(entry.deliveries, []);
  a.delivered(
    entry,
    { channel: 'ops-slack', ok: true, attempts: 1, status: 200 },
    '2026-03-02T10:00:01.000Z',
  );
  a.delivered(
    entry,
    { channel: 'pager', ok: false, attempts: 3, error: 'ECONNREFUSED' },
    '2026-03-02T10:00:09.000Z',
  );
  assert.equal(a.recent()[0].deliveries.length, 2);
  a.close();

  const b = new AlertHistory(10);
  await b.openDb(path);
  const [newest, oldest] = b.recent();
  assert.deepEqual(newest.deliveries, [
    { channel: 'ops-slack', ok: true, attempts: 1, status: 200, at: '2026-03-02T10:00:01.000Z' },
    { channel: 'pager', ok: false, attempts: 3, error: 'ECONNREFUSED', at: '2026-03-02T10:00:09.000Z' },
  ]);
  assert.equal(oldest.summary, 'old');
  assert.deepEqual(oldest.deliveries, []);
  b.close();
});
