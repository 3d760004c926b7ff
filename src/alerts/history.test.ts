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
