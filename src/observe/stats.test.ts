import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyWindows } from './stats.ts';

test('percentiles over the window; old slots rotate out', () => {
  let now = 1_000_000;
  const w = new LatencyWindows({ intervalMs: 1_000, intervals: 5, now: () => now });
  for (let i = 1; i <= 100; i++) w.record('a', 'm', i, i / 10);
  let q = w.query();
  assert.equal(q.latency.count, 100);
  assert.ok(Math.abs(q.latency.p50_ms! - 50) <= 0.1);
  assert.ok(Math.abs(q.latency.p99_ms! - 99) <= 0.1);
  assert.ok(Math.abs(q.ttft.p95_ms! - 9.5) <= 0.01);
  now += 2_000;
  for (let i = 0; i < 10; i++) w.record('b', 'm', 5_000);
  q = w.query({ model: 'm' });
  assert.equal(q.latency.count, 110);
  assert.equal(w.query({ client: 'b' }).latency.count, 10);
  // A 1 s window sees only the current slot.
  assert.equal(w.query({}, 1_000).latency.count, 10);
  // After the ring comes round, the first slot is gone.
  now += 3_500;
  assert.equal(w.query().latency.count, 10);
  now += 5_000;
  assert.equal(w.query().latency.count, 0);
  assert.equal(w.query().latency.p99_ms, null);
  w.record('a', 'm', 7);
  assert.equal(w.query().latency.count, 1, 'a reused slot starts empty');
});

test('series are bounded; beyond the bound they fold into other/other', () => {
  const w = new LatencyWindows({ maxSeries: 2 });
  w.record('a', 'm', 1);
  w.record('b', 'm', 1);
  w.record('c', 'm', 1);
  w.record('d', 'x', 1);
  const snap = w.snapshot();
  assert.deepEqual(Object.keys(snap.by_client), ['a', 'b', 'other']);
  assert.equal(snap.by_client.other.latency.count, 2);
});
