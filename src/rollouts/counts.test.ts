/**
 * What a finished exchange adds to its arm's counts (from the frozen record),
 * what is left out (Gantry's own admission refusals, other routes), and the
 * histograms' percentiles within their 10 % buckets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GantryError } from '../errors.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';
import { bucketOf, counted, countRecord, emptyCounts, percentileOf } from './counts.ts';

const record = (o: Partial<ExchangeRecord>): ExchangeRecord =>
  ({
    id: 'gtw_1',
    receivedAt: 0,
    route: 'messages',
    routePath: '/v1/messages',
    method: 'POST',
    path: '/v1/messages',
    stream: false,
    status: 200,
    outcome: 'ok',
    decisions: [],
    upstream: { attempts: 1 },
    timings: { finished: 120 },
    rollout: { id: 'r', arm: 'candidate', step: 0 },
    ...o,
  }) as ExchangeRecord;

test('each record adds to its arm: errors by kind, stop reasons, tool errors, cost, latency, time to first token', () => {
  const c = emptyCounts();
  const records = [
    record({
      status: 200,
      stopReason: 'end_turn',
      cost: { micros: 1_000, priced: true } as ExchangeRecord['cost'],
    }),
    record({ status: 500 }),
    record({ status: 200, outcome: 'stream_error', stream: true, ttftMs: 300 }),
    record({ status: 429 }),
    record({ status: 403 }),
    record({ stopReason: 'max_tokens' }),
    record({ stopReason: 'refusal' }),
    record({ rollout: { id: 'r', arm: 'candidate', step: 0, toolErrors: 2 } }),
  ];
  for (const r of records) {
    assert.ok(counted(r));
    countRecord(c, r);
  }
  assert.deepEqual(
    { ...c, latency: undefined, ttft: undefined },
    {
      requests: 8,
      server: 2,
      r429: 1,
      auth: 1,
      maxTokens: 1,
      refusals: 1,
      toolErrors: 1,
      costMicros: 1_000,
      latency: undefined,
      ttft: undefined,
    },
  );
  assert.deepEqual(c.latency, { [bucketOf(120)]: 8 });
  assert.deepEqual(c.ttft, { [bucketOf(300)]: 1 });
});

test("Gantry's admission refusals, other routes and exchanges without an arm are not counted", () => {
  assert.equal(counted(record({ status: 429, error: new GantryError('rate_limited', 'x') })), false);
  assert.equal(counted(record({ status: 402, error: new GantryError('budget_exceeded', 'x') })), false);
  assert.equal(counted(record({ status: 400, error: new GantryError('input_blocked', 'x') })), false);
  assert.equal(counted(record({ status: 504, error: new GantryError('upstream_timeout', 'x') })), true);
  assert.equal(counted(record({ route: 'count_tokens' })), false);
  assert.equal(counted(record({ rollout: undefined })), false);
});

test('percentiles are the upper bound of the rank’s bucket: within 10 %', () => {
  const h: Record<string, number> = {};
  for (let ms = 1; ms <= 1000; ms++) h[bucketOf(ms)] = (h[bucketOf(ms)] ?? 0) + 1;
  for (const p of [50, 90, 99]) {
    const got = percentileOf(h, p)!;
    assert.ok(got >= p * 10 && got <= p * 10 * 1.1 + 1, `p${p}: ${got}`);
  }
  assert.equal(percentileOf({}, 99), undefined);
});
