import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExchangeRecord } from '../pipeline/record.ts';
import { LatencyWindows } from './stats.ts';
import { errorKinds, TrafficWindows } from './traffic.ts';

const ex = (o: Partial<ExchangeRecord>): ExchangeRecord =>
  ({
    route: 'messages',
    outcome: 'ok',
    upstream: { attempts: 1 },
    decisions: [],
    ...o,
  }) as ExchangeRecord;

test('error kinds follow the alert engine (5xx, 429, 401/403) plus 529 and timeouts', () => {
  assert.deepEqual(errorKinds(ex({ status: 200 })), []);
  assert.deepEqual(errorKinds(ex({ status: 500 })), ['5xx']);
  assert.deepEqual(errorKinds(ex({ status: 529, errorType: 'overloaded_error' })), ['5xx', '529']);
  assert.deepEqual(errorKinds(ex({ status: 429 })), ['429']);
  assert.deepEqual(errorKinds(ex({ status: 403 })), ['401_403']);
  assert.deepEqual(errorKinds(ex({ status: 504, outcome: 'gantry_error', errorType: 'timeout_error' })), [
    '5xx',
    'timeout',
  ]);
  assert.deepEqual(errorKinds(ex({ status: 200, outcome: 'stream_error' })), ['5xx']);
});

test('slots carry counts, rates in percent, and the latency windows’ own percentiles', () => {
  let now = 1_000_000;
  const stats = new LatencyWindows({ intervalMs: 1_000, intervals: 5, now: () => now });
  const traffic = new TrafficWindows(stats, () => now);
  for (let i = 1; i <= 8; i++) {
    traffic.record(ex({ status: 200 }));
    stats.record('a', 'm', i * 10, i);
  }
  traffic.record(ex({ status: 500 }));
  traffic.record(ex({ status: 429 }));
  const slotA = stats.query({}, 1_000).latency;
  now += 1_000;
  traffic.record(ex({ status: 200 }));
  stats.record('b', 'm', 500);
  now += 499;

  const snap = traffic.snapshot();
  assert.equal(snap.interval_ms, 1_000);
  assert.equal(snap.slots.length, 5);
  const [a, b] = snap.slots.slice(-2);
  assert.equal(a.start, 1_000_000);
  assert.equal(a.requests, 10);
  assert.equal(a.rps, 10);
  assert.deepEqual(a.errors['5xx'], { count: 1, percent: 10 });
  assert.deepEqual(a.errors['429'], { count: 1, percent: 10 });
  assert.equal(a.latency.count, 8);
  assert.deepEqual(a.latency, { count: 8, p50_ms: slotA.p50_ms, p95_ms: slotA.p95_ms, p99_ms: slotA.p99_ms });
  assert.ok(Math.abs(a.latency.p99_ms! - 80) < 0.1);
  // The current slot's rate is over its elapsed part (500 ms).
  assert.equal(b.requests, 1);
  assert.equal(b.rps, 2);
  assert.ok(Math.abs(b.latency.p50_ms! - 500) < 0.5);
  // Over the window, the slots add up to what /admin/stats counts.
  const counted = snap.slots.reduce((n, s) => n + s.latency.count, 0);
  assert.equal(counted, stats.snapshot().overall.latency.count);
  // Idle slots are present with zeros and nulls.
  assert.equal(snap.slots[0].requests, 0);
  assert.equal(snap.slots[0].latency.p99_ms, null);
  // After the ring comes round, old counts are gone.
  now += 10_000;
  assert.ok(traffic.snapshot().slots.every((s) => s.requests === 0));
});
