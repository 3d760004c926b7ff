import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Decision, Exchange } from '../pipeline/exchange.ts';
import { type ExchangeRecord, recordOf } from '../pipeline/record.ts';
import { CustomerLabels, GantryMetrics, hashedCustomer, modelLabel } from './metrics.ts';

function exchange(o: Partial<Exchange> & { cost?: ExchangeRecord['cost'] } = {}): ExchangeRecord {
  const { cost, ...rest } = o;
  const record = recordOf({
    id: 'gtw_test',
    startedAt: 0,
    receivedAt: Date.now(),
    route: { kind: 'messages', method: 'POST', path: '/v1/messages', body: true },
    method: 'POST',
    path: '/v1/messages',
    target: '/v1/messages',
    params: {},
    headers: {},
    rawBody: undefined,
    body: undefined,
    signal: new AbortController().signal,
    stream: false,
    decisions: [],
    timings: { upstreamSent: 1, upstreamHeaders: 50, firstByte: 60, upstreamEnded: 100, finished: 105 },
    upstream: { attempts: 1, status: 200 },
    client: { name: 'checkout', environment: 'prod' },
    model: 'claude-haiku-4-5',
    response: { status: 200, headers: {}, body: Buffer.alloc(0) },
    outcome: 'ok',
    ...rest,
  });
  return cost === undefined ? record : { ...record, cost };
}

const value = async (m: GantryMetrics, name: string, labels: Record<string, string> = {}) => {
  const family = name.replace(/_(sum|count)$/, '');
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === family);
  return (
    (metric?.values ?? []) as Array<{ value: number; labels: Record<string, unknown>; metricName?: string }>
  )
    .filter((v) => (v.metricName ?? family) === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((a, v) => a + v.value, 0);
};

const opts = { customerLabel: 'top' as const, topCustomers: 2, customers: [] };

test('decisions from resilience, limits and safety count in their metrics', async () => {
  const m = new GantryMetrics(opts);
  const d = (stage: string, action: Decision['action'], rule?: string): Decision => ({ stage, action, rule });
  m.record(
    exchange({
      decisions: [
        d('upstream', 'retried'),
        d('upstream', 'retried'),
        d('upstream', 'failed_over'),
        d('upstream', 'degraded'),
        d('safety.output', 'redacted', 'safety.secret.aws_access_key'),
      ],
    }),
  );
  m.record(
    exchange({
      decisions: [d('admit', 'rate_limited', 'limits.rpm')],
      response: undefined,
      outcome: 'gantry_error',
    }),
  );
  m.record(exchange({ decisions: [d('admit', 'budget_exceeded', 'budget.client.daily')] }));
  m.record(exchange({ decisions: [d('admit', 'shed')] }));
  assert.equal(await value(m, 'gantry_retries_total', { client: 'checkout' }), 2);
  assert.equal(await value(m, 'gantry_failovers_total'), 1);
  assert.equal(await value(m, 'gantry_degraded_responses_total'), 1);
  assert.equal(await value(m, 'gantry_rate_limited_total', { rule: 'limits.rpm' }), 1);
  assert.equal(await value(m, 'gantry_budget_rejections_total', { rule: 'budget.client.daily' }), 1);
  assert.equal(await value(m, 'gantry_shed_total'), 1);
  assert.equal(await value(m, 'gantry_decisions_total', { stage: 'safety.output', action: 'redacted' }), 1);
  assert.equal(await value(m, 'gantry_decisions_total'), 8);
  // Overhead: duration minus upstream time (105 - 99 ms).
  assert.ok(Math.abs((await value(m, 'gantry_overhead_seconds_sum')) - 4 * 0.006) < 1e-9);
});

test('labels stay bounded: unknown models, odd error types, customers beyond the top N', async () => {
  assert.equal(modelLabel('claude-haiku-4-5'), modelLabel('claude-haiku-4-5-20251001'));
  assert.equal(modelLabel('my-own-model-123'), 'other');
  const m = new GantryMetrics(opts);
  m.record(
    exchange({
      model: 'not-a-model-xyz',
      errorType: 'weird_error_type',
      response: { status: 418, headers: {}, body: Buffer.alloc(0) },
    }),
  );
  assert.equal(
    await value(m, 'gantry_requests_total', { model: 'other', error_type: 'other', status_class: '4xx' }),
    1,
  );
  const cost = (customer: string, micros: number) =>
    m.record(exchange({ customer, cost: { micros, priced: true } }));
  cost('a', 100);
  cost('b', 200);
  cost('c', 50); // not in the top 2
  cost('d', 1_000); // enters the top 2, pushing out a
  cost('a', 10);
  const json = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'gantry_cost_usd_total')!;
  const customers = new Set(json.values.map((v) => String(v.labels.customer)));
  assert.deepEqual([...customers].sort(), ['a', 'b', 'd', 'other']);
  assert.ok(Math.abs((await value(m, 'gantry_cost_usd_total')) - 1_360 / 1e6) < 1e-12, 'no spend lost');
  assert.ok(Math.abs((await value(m, 'gantry_cost_usd_total', { customer: 'other' })) - 60 / 1e6) < 1e-12);
});

test('customer label modes: list and off', () => {
  const list = new CustomerLabels({ customerLabel: 'list', topCustomers: 0, customers: ['vip'] });
  assert.equal(list.label('vip', 1), 'vip');
  assert.equal(list.label('x', 1_000_000), 'other');
  const off = new CustomerLabels({ customerLabel: 'off', topCustomers: 10, customers: [] });
  assert.equal(off.label('vip', 1), 'other');
  assert.equal(off.label(undefined), '');
});

test('budget gauges skip customers without their own label; ledger counters add increases', async () => {
  const m = new GantryMetrics({ customerLabel: 'list', topCustomers: 0, customers: ['vip'] });
  const at = Date.now();
  const budget = (scope: string) =>
    m.onBudget({
      scope,
      period: 'daily',
      threshold: 80,
      spentMicros: 9,
      limitMicros: 10,
      action: 'block',
      at,
    });
  budget('customer:vip');
  budget('customer:random-42');
  budget('overall');
  const json = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'gantry_budget_used_ratio')!;
  assert.deepEqual(json.values.map((v) => v.labels.scope).sort(), ['customer:vip', 'overall']);
  m.onLedger({ queued: 1, written: 10, dropped: 1, storeUp: false, at });
  m.onLedger({ queued: 0, written: 15, dropped: 1, storeUp: true, at });
  assert.equal(await value(m, 'gantry_ledger_rows_written_total'), 15);
  assert.equal(await value(m, 'gantry_ledger_rows_dropped_total'), 1);
  assert.equal(await value(m, 'gantry_ledger_store_up'), 1);
});

test('customer ids never become labels by default; hashed mode labels the top customers by a stable hash', async () => {
  const { parseConfig } = await import('../config/load.ts');
  assert.equal(parseConfig('{}', { source: 'test', baseDir: '.' }).metrics.customerLabel, 'off');
  const hashed = new CustomerLabels({ customerLabel: 'hashed', topCustomers: 1, customers: [] });
  const label = hashed.label('alice@example.com', 500);
  assert.match(label, /^c_[0-9a-f]{12}$/);
  assert.equal(label, hashedCustomer('alice@example.com'), 'stable across calls and replicas');
  assert.equal(hashed.label('bob', 1), 'other', 'beyond the top N');
  const m = new GantryMetrics({ customerLabel: 'hashed', topCustomers: 5, customers: [] });
  m.record(exchange({ customer: 'alice@example.com', cost: { micros: 100, priced: true } as never }));
  const text = await m.text();
  assert.ok(!text.includes('alice@example.com'));
  assert.ok(text.includes(hashedCustomer('alice@example.com')));
});
