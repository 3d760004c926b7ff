/**
 * The alert engine end to end: simulator faults (500s, 429s, slow answers,
 * 401s) and synthetic budget events drive each default rule to warning, to
 * critical and back to resolved, on an injected clock with short windows. A
 * local HTTP receiver plays the webhook, Slack and PagerDuty endpoints and
 * checks each payload format and that exactly one notification is sent per
 * transition.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { AlertEngine } from '../src/alerts/engine.ts';
import { hashKey } from '../src/config/keys.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';

import { type Telemetry, telemetryStage } from '../src/observe/stage.ts';
import { STAGES } from '../src/pipeline/index.ts';
import type { StageFactory } from '../src/pipeline/stage.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, testConfig, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_alertsSuiteKey00000000000000000000000000';
const ADMIN = 'gk_alertsSuiteAdmin0000000000000000000000000';
const MODEL = 'claude-haiku-4-5';
const T0 = Date.parse('2026-03-02T10:00:00Z');

interface Received {
  path: string;
  body: Record<string, unknown> & {
    kind?: string;
    rule?: string;
    severity?: string;
    previous_severity?: string;
    event_action?: string;
    dedup_key?: string;
    text?: string;
  };
}

/** A local receiver for the three channel formats; can fail the next N posts of a path. */
class Receiver {
  readonly got: Received[] = [];
  failNext = new Map<string, number>();
  server: Server;
  url = '';
  constructor() {
    this.server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => {
        data += c;
      });
      req.on('end', () => {
        const path = req.url ?? '';
        const fails = this.failNext.get(path) ?? 0;
        if (fails > 0) {
          this.failNext.set(path, fails - 1);
          res.writeHead(503).end();
          return;
        }
        this.got.push({ path, body: JSON.parse(data) });
        res
          .writeHead(path === '/pd' ? 202 : 200, { 'content-type': 'application/json' })
          .end('{"status":"success"}');
      });
    });
  }
  async start() {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  take(): Received[] {
    return this.got.splice(0);
  }
}

let sim: Simulator;
let gateway: Gateway;
let receiver: Receiver;
let telemetry: Telemetry;
let engine: AlertEngine;
let now = T0;

function alertsConfig(base: ResolvedConfig): ResolvedConfig['alerts'] {
  const rule = (metric: string) => base.alerts.rules.find((r) => r.metric === metric)!;
  return {
    ...base.alerts,
    enabled: true,
    source: 'test-gateway',
    evaluateEveryMs: 3_600_000, // evaluated by hand
    bucketMs: 1_000,
    deliveryAttempts: 3,
    deliveryBackoffMs: 10,
    deliveryTimeoutMs: 2_000,
    channels: [
      { name: 'hook', type: 'webhook', url: 'env:GANTRY_TEST_ALERT_WEBHOOK', minSeverity: 'warning' },
      { name: 'slack', type: 'slack', url: 'env:GANTRY_TEST_ALERT_SLACK', minSeverity: 'warning' },
      {
        name: 'pager',
        type: 'pagerduty',
        url: 'env:GANTRY_TEST_ALERT_PD_URL',
        routingKey: 'env:GANTRY_TEST_ALERT_PD_KEY',
        minSeverity: 'critical',
      },
    ],
    // The default rules with short windows; latency thresholds scaled down so a test can reach them.
    rules: [
      { ...rule('error_rate_5xx'), windowMs: 10_000, forMs: 0, minRequests: 10 },
      { ...rule('latency_p99'), windowMs: 10_000, forMs: 2_000, minRequests: 1, warning: 150, critical: 450 },
      { ...rule('rate_429'), windowMs: 10_000 },
      { ...rule('budget_daily') },
      { ...rule('auth_failures'), windowMs: 10_000 },
    ],
  };
}

before(async () => {
  receiver = new Receiver();
  await receiver.start();
  process.env.GANTRY_TEST_ALERT_WEBHOOK = `${receiver.url}/hook`;
  process.env.GANTRY_TEST_ALERT_SLACK = `${receiver.url}/slack`;
  process.env.GANTRY_TEST_ALERT_PD_URL = `${receiver.url}/pd`;
  process.env.GANTRY_TEST_ALERT_PD_KEY = 'R0UTINGKEY0000000000000000000000';
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  const base = testConfig(sim.url, {
    clients: [{ name: 'checkout', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
    admin: { keySha256: hashKey(ADMIN) },
    resilience: { maxAttempts: 1 }, // upstream errors reach the metrics unretried
  });
  const config: ResolvedConfig = {
    ...base,
    alerts: alertsConfig(base),
    metrics: { ...base.metrics, statsIntervalMs: 1_000, statsIntervals: 30 },
  };
  const list = STAGES as Array<readonly [string, StageFactory]>;
  const i = list.findIndex(([n]) => n === 'metrics');
  const original = list[i];
  list[i] = [
    'metrics',
    telemetryStage({
      now: () => now,
      onOpen: (t) => {
        telemetry = t;
      },
    }),
  ];
  try {
    gateway = await startGateway({ config, logDestination: new LogSink() });
  } finally {
    list[i] = original;
  }
  engine = telemetry.alerts!;
});
after(async () => {
  await gateway.close();
  await sim.close();
  receiver.server.close();
});
beforeEach(() => {
  sim.state.reset();
});

async function send(n: number, key = KEY): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

/** Evaluates, waits for delivery, returns what the receiver got (and checks nothing else was pending). */
async function evaluate(): Promise<Received[]> {
  engine.evaluate();
  await engine.idle();
  return receiver.take();
}

/** Moves past every counting window so the next phase starts clean. */
async function quiet(): Promise<void> {
  now += 60_000;
  await evaluate();
}

function byPath(got: Received[], path: string): Received[] {
  return got.filter((r) => r.path === path);
}

/** Checks one transition: one webhook, one Slack message, and PagerDuty only when expected. */
function assertTransition(
  got: Received[],
  rule: string,
  kind: 'firing' | 'resolved',
  severity: string,
  pd: 'trigger' | 'resolve' | 'none',
  previous?: string,
): void {
  const hooks = byPath(got, '/hook');
  assert.equal(hooks.length, 1, `one webhook for ${rule} ${kind} ${severity}: ${JSON.stringify(got)}`);
  const h = hooks[0].body;
  assert.equal(h.version, 1);
  assert.equal(h.kind, kind);
  assert.equal(h.rule, rule);
  assert.equal(h.severity, severity);
  assert.equal(h.source, 'test-gateway');
  assert.equal(h.dedup_key, `${rule}/${h.scope_value}`);
  assert.equal(typeof h.value, 'number');
  assert.equal(typeof h.summary, 'string');
  if (previous) assert.equal(h.previous_severity, previous);
  const slacks = byPath(got, '/slack');
  assert.equal(slacks.length, 1, 'one slack message');
  const s = slacks[0].body as { text: string; attachments: Array<{ color: string; title: string }> };
  assert.match(s.text, kind === 'resolved' ? /RESOLVED/ : new RegExp(severity.toUpperCase()));
  assert.match(s.attachments[0].title, new RegExp(rule));
  const pds = byPath(got, '/pd');
  if (pd === 'none') assert.equal(pds.length, 0, 'no page');
  else {
    assert.equal(pds.length, 1, 'one PagerDuty event');
    const p = pds[0].body as Record<string, unknown> & { payload?: Record<string, unknown> };
    assert.equal(p.routing_key, process.env.GANTRY_TEST_ALERT_PD_KEY);
    assert.equal(p.event_action, pd);
    assert.equal(p.dedup_key, h.dedup_key);
    if (pd === 'trigger') {
      assert.equal(p.payload?.severity, severity);
      assert.equal(p.payload?.source, 'test-gateway');
      assert.equal(typeof p.payload?.summary, 'string');
      assert.equal(typeof p.payload?.timestamp, 'string');
    }
  }
  assert.equal(got.length, hooks.length + slacks.length + pds.length);
}

describe('default rules: warning, critical, resolved', () => {
  test('5xx error rate (> 1 % warning, > 5 % critical)', async () => {
    await quiet();
    await send(19);
    sim.state.addFault({ kind: 'status', status: 500, count: 1 });
    await send(1);
    assertTransition(await evaluate(), 'error_rate_5xx', 'firing', 'warning', 'none'); // 1/20 = 5 %
    assert.deepEqual(await evaluate(), [], 'nothing twice for the same state');
    sim.state.addFault({ kind: 'status', status: 503, count: 2 });
    await send(2); // 3/22 = 13.6 %
    assertTransition(await evaluate(), 'error_rate_5xx', 'firing', 'critical', 'trigger', 'warning');
    now += 11_000;
    await send(10);
    assertTransition(await evaluate(), 'error_rate_5xx', 'resolved', 'critical', 'resolve');
  });

  test('p99 latency (pending for for_ms, then warning, critical, resolved)', async () => {
    await quiet();
    sim.state.addFault({ kind: 'slow', delayMs: 250, count: 2 });
    await send(2);
    assert.deepEqual(await evaluate(), [], 'pending first');
    assert.equal(engine.view().active.find((a) => a.rule === 'latency_p99')?.status, 'pending');
    now += 2_500;
    await send(0);
    assertTransition(await evaluate(), 'latency_p99', 'firing', 'warning', 'none');
    sim.state.addFault({ kind: 'slow', delayMs: 600, count: 1 });
    await send(1);
    assertTransition(await evaluate(), 'latency_p99', 'firing', 'critical', 'trigger', 'warning');
    now += 11_000;
    await send(3);
    assertTransition(await evaluate(), 'latency_p99', 'resolved', 'critical', 'resolve');
  });

  test('429s (> 5 / min warning, > 20 / min critical)', async () => {
    await quiet();
    sim.state.addFault({ kind: 'status', status: 429, count: 1, retryAfter: 1 });
    assert.deepEqual(await send(1), [429]); // 1 in 10 s = 6 / min
    assertTransition(await evaluate(), 'rate_429', 'firing', 'warning', 'none');
    sim.state.addFault({ kind: 'status', status: 429, count: 3, retryAfter: 1 });
    await send(3); // 4 in 10 s = 24 / min
    assertTransition(await evaluate(), 'rate_429', 'firing', 'critical', 'trigger', 'warning');
    now += 11_000;
    assertTransition(await evaluate(), 'rate_429', 'resolved', 'critical', 'resolve');
  });

  test('daily cost (> 80 % warning, > 100 % critical of the budget), resolved the next day', async () => {
    await quiet();
    const budget = (pct: number) =>
      gateway.events.budget.publish(() => ({
        scope: 'client:checkout',
        period: 'daily',
        threshold: pct >= 100 ? 100 : 80,
        spentMicros: pct * 100_000,
        limitMicros: 10_000_000,
        action: 'block',
        at: now,
      }));
    budget(85);
    const warn = await evaluate();
    assertTransition(warn, 'budget_daily', 'firing', 'warning', 'none');
    assert.equal(byPath(warn, '/hook')[0].body.scope_value, 'client:checkout');
    budget(101);
    assertTransition(await evaluate(), 'budget_daily', 'firing', 'critical', 'trigger', 'warning');
    now += 86_400_000; // a new UTC day: yesterday's spend no longer counts
    assertTransition(await evaluate(), 'budget_daily', 'resolved', 'critical', 'resolve');
  });

  test('auth failures (> 0: critical and paged at once), from a bad virtual key and an upstream 401', async () => {
    await quiet();
    assert.deepEqual(await send(1, 'gk_notAKey'), [401]);
    assertTransition(await evaluate(), 'auth_failures', 'firing', 'critical', 'trigger');
    now += 11_000;
    assertTransition(await evaluate(), 'auth_failures', 'resolved', 'critical', 'resolve');
    sim.state.addFault({ kind: 'status', status: 401, count: 1 });
    assert.deepEqual(await send(1), [401]);
    assertTransition(await evaluate(), 'auth_failures', 'firing', 'critical', 'trigger');
    now += 11_000;
    assertTransition(await evaluate(), 'auth_failures', 'resolved', 'critical', 'resolve');
  });
});

test('/admin/alerts lists active alerts and recent transitions; /metrics counts them', async () => {
  await quiet();
  assert.deepEqual(await send(1, 'gk_notAKey'), [401]);
  await evaluate();
  const res = await fetch(`${gateway.url}/admin/alerts`, { headers: { 'x-api-key': ADMIN } });
  assert.equal(res.status, 200);
  const view = (await res.json()) as {
    active: Array<{ rule: string; status: string; severity: string }>;
    recent: Array<{ rule: string; kind: string; deliveries: Array<{ channel: string; ok: boolean }> }>;
    rules: unknown[];
  };
  assert.deepEqual(
    view.active.map((a) => [a.rule, a.status, a.severity]),
    [['auth_failures', 'firing', 'critical']],
  );
  assert.equal(view.recent[0].rule, 'auth_failures');
  assert.equal(view.recent[0].kind, 'firing');
  // The notification it produced: delivered to the pager (critical), as the history says.
  assert.ok(
    view.recent[0].deliveries.some((d) => d.channel === 'pager' && d.ok),
    JSON.stringify(view.recent[0].deliveries),
  );
  for (const rule of ['error_rate_5xx', 'latency_p99', 'rate_429', 'budget_daily'])
    assert.ok(
      view.recent.some((r) => r.rule === rule && r.kind === 'resolved'),
      rule,
    );
  assert.equal(view.rules.length, 5);
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  assert.match(metrics, /gantry_alerts_firing\{rule="auth_failures",severity="critical"\} 1/);
  assert.match(metrics, /gantry_alert_notifications_total\{channel="pager",outcome="sent"\} \d+/);
  now += 11_000;
  await evaluate();
});

test('delivery retries with backoff; a failing channel never blocks requests', async () => {
  await quiet();
  receiver.failNext.set('/hook', 2);
  assert.deepEqual(await send(1, 'gk_notAKey'), [401]);
  const got = await evaluate();
  assert.equal(byPath(got, '/hook').length, 1, 'delivered on the third attempt');
  assert.equal(receiver.failNext.get('/hook'), 0);
  // Make every post fail for a while: evaluation returns at once and requests are served meanwhile.
  receiver.failNext.set('/slack', 1_000);
  now += 11_000;
  const t0 = performance.now();
  engine.evaluate();
  assert.ok(performance.now() - t0 < 200, 'evaluate does not wait on delivery');
  assert.deepEqual(await send(2), [200, 200]);
  await engine.idle();
  const after = receiver.take();
  assert.equal(byPath(after, '/slack').length, 0);
  assert.equal(byPath(after, '/hook').length, 1);
  receiver.failNext.delete('/slack');
});
