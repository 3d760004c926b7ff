/**
 * /metrics and /admin/stats through the real gateway and simulator: a mixed
 * workload (plain and streamed messages, upstream 500 and 429, a wrong
 * virtual key, a count_tokens call), synthetic lifecycle events on the
 * channels, and a test `account` stage that sets `ex.cost` as the ledger
 * capability will. Every metric of the table must appear, with values that
 * match the exchanges.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';

import { METRICS } from '../src/observe/metric-names.ts';
import { modelLabel } from '../src/observe/metrics.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, testConfig, UPSTREAM_KEY } from './support.ts';

const KEY_A = 'gk_metricsSuiteKeyA000000000000000000000000';
const KEY_B = 'gk_metricsSuiteKeyB000000000000000000000000';
const ADMIN = 'gk_metricsSuiteAdmin00000000000000000000000';
const MODEL = 'claude-haiku-4-5';
const MODEL_ID = modelLabel(MODEL); // the catalog id: metrics label aliases by their id

let sim: Simulator;
let gateway: Gateway;
const seenUsage: Array<{
  client: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
}> = [];
let costMicros = 0;

export function observeConfig(simUrl: string, extra: Partial<ResolvedConfig> = {}): ResolvedConfig {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const base = testConfig(simUrl, {
    clients: [
      { name: 'checkout', environment: 'default', keySha256: hashKey(KEY_A), limits: {} },
      { name: 'support', environment: 'default', keySha256: hashKey(KEY_B), limits: {} },
    ],
    admin: { keySha256: hashKey(ADMIN) },
    resilience: { maxAttempts: 1 }, // upstream errors reach the metrics unretried
  });
  // Customer ids as labels are opt-in (`customer_label: top`); the default is off.
  return {
    ...base,
    alerts: { ...base.alerts, enabled: false },
    metrics: { ...base.metrics, customerLabel: 'top' },
    ...extra,
  };
}

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  gateway = await startGateway({ config: observeConfig(sim.url), logDestination: new LogSink() });
  // What each finished exchange cost, as priced once for every observer (src/pipeline/record.ts).
  gateway.events.exchangeComplete.subscribe((r) => {
    costMicros += r.cost?.micros ?? 0;
  });
});
after(async () => {
  await gateway.close();
  await sim.close();
});

async function call(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': key,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  });
  return { res, text: await res.text() };
}

/** Parses Prometheus text into [name, labels, value] samples. */
export function samples(
  text: string,
): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (s: ReturnType<typeof samples>, name: string, where: Record<string, string> = {}): number =>
  s
    .filter((x) => x.name === name && Object.entries(where).every(([k, v]) => x.labels[k] === v))
    .reduce((a, x) => a + x.value, 0);

test('a mixed workload shows up in /metrics with matching values', async () => {
  // Plain messages, with cache usage, for two clients and two customers.
  for (let i = 0; i < 3; i++) {
    sim.state.enqueue({
      text: `reply ${i}`,
      usage: { cache_read_input_tokens: 100 * (i + 1), cache_creation_input_tokens: 7 },
    });
    const { res, text } = await call(KEY_A, {}, { 'x-gantry-customer': i === 0 ? 'acme' : 'globex' });
    assert.equal(res.status, 200);
    const u = JSON.parse(text).usage;
    seenUsage.push({
      client: 'checkout',
      input: u.input_tokens,
      output: u.output_tokens,
      cacheRead: u.cache_read_input_tokens ?? 0,
      cacheCreation: u.cache_creation_input_tokens ?? 0,
    });
  }
  // A stream.
  {
    const { res, text } = await call(KEY_B, { stream: true });
    assert.equal(res.status, 200);
    const events = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map(
        (l) =>
          JSON.parse(l.slice(6)) as {
            type: string;
            message?: { usage: Record<string, number> };
            usage?: Record<string, number>;
          },
      );
    const input = events.find((e) => e.type === 'message_start')!.message!.usage.input_tokens;
    const output = events.filter((e) => e.type === 'message_delta').at(-1)!.usage!.output_tokens;
    seenUsage.push({ client: 'support', input, output, cacheRead: 0, cacheCreation: 0 });
  }
  // Upstream 500 and 429, a wrong virtual key, count_tokens.
  sim.state.addFault({ kind: 'status', status: 500, count: 1 });
  assert.equal((await call(KEY_A, {})).res.status, 500);
  sim.state.addFault({ kind: 'status', status: 429, count: 1, retryAfter: 1 });
  assert.equal((await call(KEY_A, {})).res.status, 429);
  assert.equal((await call('gk_wrong', {})).res.status, 401);
  const ct = await fetch(`${gateway.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': KEY_A, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(ct.status, 200);
  await ct.text();

  // Synthetic lifecycle events, as resilience, limits and ledger publish them.
  const at = Date.now();
  gateway.events.breaker.publish(() => ({ key: 'k1', model: MODEL, from: 'closed', to: 'open', at }));
  gateway.events.upstreamKey.publish(() => ({
    environment: 'default',
    keyId: 'k1',
    state: 'failed',
    reason: '401',
    at,
  }));
  gateway.events.budget.publish(() => ({
    scope: 'client:checkout',
    period: 'daily',
    threshold: 80,
    spentMicros: 8_500_000,
    limitMicros: 10_000_000,
    action: 'alert-only',
    at,
  }));
  gateway.events.ledger.publish(() => ({ queued: 12, written: 40, dropped: 0, storeUp: true, at }));
  gateway.events.ledger.publish(() => ({ queued: 3, written: 55, dropped: 2, storeUp: true, at }));
  gateway.events.invariant.publish(() => ({
    rule: 'tokens_without_cost',
    requestId: 'gtw_x',
    model: MODEL,
    at,
  }));

  const res = await fetch(`${gateway.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  for (const m of METRICS) assert.match(text, new RegExp(`^# TYPE ${m.name} ${m.type}$`, 'm'), m.name);
  const s = samples(text);
  // Every metric of the table has at least one sample, except those only
  // decisions from stages not on main produce (checked by the unit test).
  const fromDecisions = new Set([
    'gantry_retries_total',
    'gantry_failovers_total',
    'gantry_degraded_responses_total',
    'gantry_shed_total',
    'gantry_rate_limited_total',
    'gantry_budget_rejections_total',
    'gantry_decisions_total',
    'gantry_alerts_firing',
    'gantry_alert_notifications_total',
  ]);
  // Only interrupted streams produce this one (test/ledger.usage.test.ts samples it).
  const fromInterruptedStreams = new Set(['gantry_usage_estimated_total']);
  for (const m of METRICS) {
    if (fromDecisions.has(m.name) || fromInterruptedStreams.has(m.name)) continue;
    assert.ok(
      s.some((x) => x.name === m.name || x.name.startsWith(`${m.name}_`)),
      `${m.name} has a sample`,
    );
  }

  // Requests by status class and error type.
  assert.equal(sum(s, 'gantry_requests_total', { route: 'messages', status_class: '2xx' }), 4);
  assert.equal(sum(s, 'gantry_requests_total', { status: '500', error_type: 'api_error' }), 1);
  assert.equal(sum(s, 'gantry_requests_total', { status: '429', error_type: 'rate_limit_error' }), 1);
  assert.equal(sum(s, 'gantry_requests_total', { status: '401', client: '' }), 1);
  assert.equal(sum(s, 'gantry_requests_total', { route: 'count_tokens' }), 1);
  assert.equal(sum(s, 'gantry_auth_failures_total', { source: 'gateway' }), 1);

  // Tokens match the responses, per type.
  const tok = (type: string, client?: string) =>
    sum(s, 'gen_ai_client_token_usage_sum', { gen_ai_token_type: type, ...(client ? { client } : {}) });
  const total = (f: (u: (typeof seenUsage)[number]) => number, client?: string) =>
    seenUsage.filter((u) => !client || u.client === client).reduce((a, u) => a + f(u), 0);
  assert.equal(
    tok('input'),
    total((u) => u.input),
  );
  assert.equal(
    tok('output'),
    total((u) => u.output),
  );
  assert.equal(
    tok('output', 'support'),
    total((u) => u.output, 'support'),
  );
  assert.equal(
    tok('cache_read'),
    total((u) => u.cacheRead),
  );
  assert.equal(tok('cache_read'), 600);
  assert.equal(
    tok('cache_creation'),
    total((u) => u.cacheCreation),
  );
  assert.equal(sum(s, 'gen_ai_client_token_usage_count', { gen_ai_token_type: 'input' }), 4);
  assert.equal(
    sum(s, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_request_model: MODEL_ID }),
    6,
  );
  // Time to first token is a stream's (one definition, src/pipeline/exchange.ts): the one stream.
  assert.equal(sum(s, 'gen_ai_server_time_to_first_token_seconds_count'), 1);

  // Cost in USD by client and customer, from the records' cost.
  assert.ok(costMicros > 0);
  const cost = sum(s, 'gantry_cost_usd_total');
  assert.ok(Math.abs(cost - costMicros / 1e6) < 1e-9, `${cost} vs ${costMicros / 1e6}`);
  assert.ok(sum(s, 'gantry_cost_usd_total', { client: 'checkout', customer: 'acme' }) > 0);
  assert.ok(sum(s, 'gantry_cost_usd_total', { client: 'checkout', customer: 'globex' }) > 0);

  // Channels.
  assert.equal(sum(s, 'gantry_breaker_state', { key: 'k1', model: MODEL_ID }), 2);
  assert.equal(sum(s, 'gantry_upstream_key_state', { key: 'k1', state: 'failed' }), 1);
  assert.equal(sum(s, 'gantry_upstream_key_state', { key: 'k1', state: 'active' }), 0);
  assert.equal(sum(s, 'gantry_budget_used_ratio', { scope: 'client:checkout', period: 'daily' }), 0.85);
  assert.equal(sum(s, 'gantry_budget_remaining_usd', { scope: 'client:checkout' }), 1.5);
  assert.equal(sum(s, 'gantry_ledger_queue_depth'), 3);
  assert.equal(sum(s, 'gantry_ledger_rows_written_total'), 55);
  assert.equal(sum(s, 'gantry_ledger_rows_dropped_total'), 2);
  assert.equal(sum(s, 'gantry_invariant_violations_total', { rule: 'tokens_without_cost' }), 1);
  // Overhead: one observation per exchange, each below its whole duration.
  assert.ok(sum(s, 'gantry_overhead_seconds_count') >= 8);
  assert.ok(
    sum(s, 'gantry_overhead_seconds_sum') <= sum(s, 'gen_ai_client_operation_duration_seconds_sum') + 1,
  );
});

test('/admin/stats serves p50/p95/p99 of latency and time to first token per client and model', async () => {
  const denied = await fetch(`${gateway.url}/admin/stats`);
  assert.equal(denied.status, 401);
  await denied.text();
  const res = await fetch(`${gateway.url}/admin/stats`, { headers: { 'x-api-key': ADMIN } });
  assert.equal(res.status, 200);
  const stats = (await res.json()) as {
    overall: {
      latency: { count: number; p50_ms: number; p95_ms: number; p99_ms: number };
      ttft: { count: number };
    };
    by_client: Record<string, { latency: { count: number } }>;
    by_model: Record<string, { latency: { count: number } }>;
    by_client_model: Array<{ client: string; model: string }>;
  };
  assert.ok(stats.overall.latency.count >= 6);
  assert.ok(stats.overall.latency.p50_ms > 0);
  assert.ok(stats.overall.latency.p50_ms <= stats.overall.latency.p95_ms);
  assert.ok(stats.overall.latency.p95_ms <= stats.overall.latency.p99_ms);
  assert.equal(stats.overall.ttft.count, 1, 'time to first token: the one successful stream');
  assert.ok(stats.by_client.checkout.latency.count >= 5);
  assert.equal(stats.by_client.support.latency.count, 1);
  assert.ok(stats.by_model[MODEL_ID].latency.count >= 6);
  assert.ok(stats.by_client_model.some((p) => p.client === 'support' && p.model === MODEL_ID));
});

test('/metrics can require the admin key', async () => {
  const gw = await startGateway({
    config: observeConfig(sim.url, {
      metrics: { ...observeConfig(sim.url).metrics, access: 'admin' },
    }),
    logDestination: new LogSink(),
  });
  try {
    const open = await fetch(`${gw.url}/metrics`);
    assert.equal(open.status, 401);
    await open.text();
    const ok = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /gantry_requests_total/);
  } finally {
    await gw.close();
  }
});
