/**
 * Rollouts end to end: a gateway in this process against the simulator,
 * traffic as many customers, decisions read from the admin API.
 *
 * - A healthy candidate is promoted through every step to 100 % (complete);
 *   each decision is a log line and a webhook event; the ledger rows carry
 *   the rollout and arm, and `gantry report --by arm` compares the arms; a
 *   prompt sent by reference reaches the upstream at each arm's version.
 * - A candidate whose model the simulator degrades (raised 5xx, slow first
 *   byte beyond the p99 guard, a 429 burst) is rolled back within one
 *   evaluation window; the candidate requests served after the breach are
 *   counted, bounded and reported.
 * - No decision below the minimum sample count.
 * - Admin errors: unknown rollout, an action the status refuses, a bad pin.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { resolveModel } from '../src/anthropic/models.ts';
import { reportText } from '../src/cli/report.ts';
import { act as rolloutAct, status as rolloutStatus } from '../src/cli/rollout.ts';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import { RolloutAdmin, type RolloutView, TrafficDriver } from '../src/rollouts/client.ts';
import type { FaultSpec } from '../src/simulator/faults.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, UPSTREAM_KEY } from './support.ts';

const KEY = `gk_rollout${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `gk_rolloutadmin${randomBytes(12).toString('hex')}`;
const BASELINE = 'claude-haiku-4-5';
const CANDIDATE = 'claude-haiku-5-5';
const dir = mkdtempSync(join(tmpdir(), 'gantry-rollouts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Setup {
  sim: Simulator;
  gateway: Gateway;
  logs: LogSink;
  admin: RolloutAdmin;
  close(): Promise<void>;
}

/** A simulator and a gateway with one rollout `r` of client `app` (haiku 4.5 → haiku 5.5). */
async function setup(rollout: string[], extra: string[] = []): Promise<Setup> {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const sim = await startSimulator({ profile: 'default', seed: 3 });
  const text = [
    'server: { port: 0 }',
    `upstream: { base_url: "${sim.url}" }`,
    'environments: { default: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY } }',
    `clients: [ { name: app, key_sha256: ${hashKey(KEY)} } ]`,
    `admin: { key_sha256: ${hashKey(ADMIN_KEY)} }`,
    'resilience: { max_attempts: 1 }',
    'logging: { level: info }',
    ...(extra.some((l) => l.startsWith('storage:')) ? [] : ['storage: { ledger: "sqlite::memory:" }']),
    ...extra,
    'rollouts:',
    '  - id: r',
    '    clients: [app]',
    `    baseline: { model: ${BASELINE} }`,
    ...rollout.map((l) => `    ${l}`),
  ].join('\n');
  const config = parseConfig(text, { source: 'test', baseDir: dir });
  const logs = new LogSink();
  const gateway = await startGateway({ config, logDestination: logs });
  return {
    sim,
    gateway,
    logs,
    admin: new RolloutAdmin(gateway.url, ADMIN_KEY),
    async close() {
      await gateway.close();
      await sim.close();
    },
  };
}

/** The catalog id of a model name (the simulator answers with the dated id of an alias). */
const id = (m: string | undefined) => (m === undefined ? undefined : (resolveModel(m)?.id ?? m));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  admin: RolloutAdmin,
  done: (r: RolloutView) => boolean,
  timeoutMs: number,
): Promise<RolloutView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await admin.get('r');
    if (done(r) || Date.now() > deadline) return r;
    await sleep(50);
  }
}

/** A local receiver standing in for a webhook channel. */
async function webhook(): Promise<{ url: string; bodies: Array<Record<string, unknown>>; server: Server }> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, server };
}

describe('rollouts against the simulator', () => {
  test('a healthy candidate is promoted through every step to 100 %; decisions are events, log lines and ledger-backed arms', async (t) => {
    const hook = await webhook();
    t.after(() => hook.server.close());
    process.env.GANTRY_TEST_ROLLOUT_WEBHOOK = hook.url;
    const ledger = join(dir, 'healthy.db');
    writeFileSync(join(dir, 'agent-v2.md'), 'You are the support agent, version two.');
    const s = await setup(
      [
        `candidate: { model: ${CANDIDATE}, prompts: { agent: v2 } }`,
        'steps: [5, 25, 50, 100]',
        'hold_ms: 300',
        'min_requests: 10',
        'window_ms: 2000',
        'evaluate_every_ms: 100',
        'min_samples: 10',
      ],
      [
        `storage: { ledger: "sqlite:${ledger}", ledger_flush_ms: 50 }`,
        'alerts: { evaluate_every_ms: 60000, channels: [ { name: hook, type: webhook, url: env:GANTRY_TEST_ROLLOUT_WEBHOOK } ] }',
        'prompts:',
        '  agent: { default: v1, versions: { v1: { text: "You are the support agent, version one." }, v2: { file: ./agent-v2.md } } }',
      ],
    );
    t.after(() => s.close());
    assert.equal((await s.admin.get('r')).status, 'pending');
    await s.admin.act('r', 'start');
    const driver = new TrafficDriver({
      url: s.gateway.url,
      key: KEY,
      model: BASELINE,
      concurrency: 8,
      customers: 0,
      prompt: 'agent',
    }).start();
    const done = await until(s.admin, (r) => r.status !== 'running', 30_000);
    await driver.stop();
    assert.equal(done.status, 'complete', JSON.stringify(done.evaluation));
    assert.deepEqual(
      [...done.decisions].reverse().map((d) => `${d.action}:${d.to_percent}`),
      ['started:5', 'promoted:25', 'promoted:50', 'promoted:100', 'completed:100'],
    );
    for (const d of done.decisions.filter((x) => x.by === 'guard')) {
      const w = d.window as { candidate: { requests: number }; guards: Array<{ breached: boolean }> };
      assert.ok(w.candidate.requests >= 10, 'each promotion had at least min_samples candidate requests');
      assert.ok(w.guards.every((g) => !g.breached));
    }
    // Both arms served, each with its model; the candidate grew from 5 % to 100 %.
    assert.ok(driver.sent.every((x) => x.status === 200));
    assert.ok(driver.sent.some((x) => x.arm === 'candidate' && id(x.model) === id(CANDIDATE)));
    assert.ok(driver.sent.some((x) => x.arm === 'baseline' && id(x.model) === id(BASELINE)));
    // Complete: every request on the candidate now, still tagged.
    const now = await driver.send(5);
    assert.ok(now.every((x) => x.arm === 'candidate' && id(x.model) === id(CANDIDATE)));

    // The prompt reached the upstream at each arm's version.
    const systems = new Map<string, Set<string>>();
    for (const r of s.sim.state.requests.all()) {
      const b = r.body as { model?: string; system?: string } | null;
      if (b?.model) systems.set(b.model, (systems.get(b.model) ?? new Set()).add(String(b.system)));
    }
    assert.deepEqual([...(systems.get(CANDIDATE) ?? [])], ['You are the support agent, version two.']);
    assert.deepEqual([...(systems.get(BASELINE) ?? [])], ['You are the support agent, version one.']);

    // Log lines and webhook events for each decision.
    const lines = s.logs.records().filter((l) => typeof l.rollout === 'string');
    assert.deepEqual(
      lines.map((l) => l.decision),
      ['started', 'promoted', 'promoted', 'promoted', 'completed'],
    );
    for (let i = 0; i < 50 && hook.bodies.length < 5; i++) await sleep(50);
    assert.deepEqual(
      hook.bodies.map((b) => [b.kind, b.rule, b.scope_value, b.severity]),
      ['started', 'promoted', 'promoted', 'promoted', 'completed'].map((a) => [
        'event',
        `rollout.${a}`,
        'r',
        'warning',
      ]),
    );

    const metrics = await (await fetch(`${s.gateway.url}/metrics`)).text();
    assert.match(metrics, /gantry_rollout_decisions_total\{rollout="r",action="promoted"\} 3/);
    assert.match(metrics, /gantry_rollout_decisions_total\{rollout="r",action="completed"\} 1/);

    // Ledger: rollout and arm on every row; gantry report --by arm compares cost and latency.
    await s.close();
    const store = await openLedgerStore(`sqlite:${ledger}`);
    const rows = await store.rows({});
    await store.close();
    const ids = new Set(rows.map((r) => r.id));
    // Every request has its row (`sent` holds the last five too).
    assert.deepEqual(
      driver.sent.filter((x) => !ids.has(x.requestId!)),
      [],
    );
    assert.equal(rows.length, driver.sent.length);
    assert.ok(rows.every((r) => r.rollout === 'r' && (r.arm === 'baseline' || r.arm === 'candidate')));
    const report = JSON.parse(
      await reportText({ ledger: `sqlite:${ledger}`, by: 'arm', format: 'json' }),
    ) as {
      lines: Array<{ key: string; requests: number; latency?: { p50: number; p99: number } }>;
    };
    assert.deepEqual(report.lines.map((l) => l.key).sort(), ['r/baseline', 'r/candidate']);
    for (const l of report.lines) assert.ok(l.latency && l.latency.p99 >= l.latency.p50 && l.latency.p50 > 0);
    const table = await reportText({ ledger: `sqlite:${ledger}`, by: 'arm' });
    assert.match(table, /r\/candidate/);
    assert.match(table, /p99 ms/);
  });

  const faults: Array<[string, FaultSpec, string[]]> = [
    ['raised 5xx', { kind: 'status', status: 500, model: CANDIDATE, path: '/v1/messages' }, []],
    [
      'slow first byte beyond the p99 guard',
      { kind: 'slow', delayMs: 900, model: CANDIDATE, path: '/v1/messages' },
      ['guards: { latency_p99: { max: 600 } }'],
    ],
    ['a 429 burst', { kind: 'status', status: 429, model: CANDIDATE, path: '/v1/messages' }, []],
  ];
  for (const [name, fault, guards] of faults) {
    test(`a candidate with ${name} is rolled back within one evaluation window; candidate requests after the breach are bounded`, async (t) => {
      const WINDOW = 2_000;
      const EVERY = 100;
      const s = await setup([
        `candidate: { model: ${CANDIDATE} }`,
        'steps: [20, 50, 100]',
        'hold_ms: 60000',
        'min_requests: 10',
        `window_ms: ${WINDOW}`,
        `evaluate_every_ms: ${EVERY}`,
        'min_samples: 10',
        ...guards,
      ]);
      t.after(() => s.close());
      await s.admin.act('r', 'start');
      const driver = new TrafficDriver({
        url: s.gateway.url,
        key: KEY,
        model: BASELINE,
        concurrency: 8,
        customers: 0,
      }).start();
      // Healthy first: the candidate serves without a decision.
      await until(s.admin, (r) => (r.evaluation?.reason ?? '').includes('held'), 10_000);
      const breachAt = Date.now();
      s.sim.state.addFault(fault);
      const done = await until(s.admin, (r) => r.status !== 'running', 15_000);
      await driver.stop();
      assert.equal(done.status, 'rolled_back', JSON.stringify(done.evaluation));
      const rollback = done.decisions[0];
      assert.equal(rollback.action, 'rolled_back');
      assert.equal(rollback.by, 'guard');
      const detectMs = Date.parse(rollback.at) - breachAt;
      assert.ok(detectMs <= WINDOW, `rolled back ${detectMs} ms after the breach (window ${WINDOW} ms)`);
      // Served by the candidate after the breach, and what bounds them: its rate over the detection time,
      // the fault's own duration, plus the in-flight requests.
      const after = driver.sent.filter((x) => x.sentAt >= breachAt && x.arm === 'candidate');
      const candidateRate =
        driver.sent.filter((x) => x.sentAt < breachAt && x.arm === 'candidate').length /
        ((breachAt - driver.sent[0].sentAt) / 1000);
      const bound = Math.ceil(candidateRate * (detectMs / 1000) * 2) + 8 + 10;
      t.diagnostic(
        `${name}: detected in ${detectMs} ms; ${after.length} candidate requests after the breach (bound ${bound}); ${rollback.reason}`,
      );
      assert.ok(
        after.length > 0 && after.length <= bound,
        `${after.length} candidate requests after the breach, bound ${bound}`,
      );
      const lastCandidate = Math.max(...after.map((x) => x.sentAt));
      assert.ok(
        lastCandidate <= Date.parse(rollback.at) + 50,
        'nothing was assigned to the candidate after the rollback',
      );
      // The baseline serves everything afterwards.
      const later = await driver.send(20);
      assert.ok(later.every((x) => x.status === 200 && x.arm === undefined && id(x.model) === id(BASELINE)));
      assert.ok(s.logs.records().some((l) => l.msg === 'rollout rolled back' && l.rollout === 'r'));
    });
  }

  test('no decision below the minimum sample count, even with every candidate request failing', async (t) => {
    const s = await setup([
      `candidate: { model: ${CANDIDATE} }`,
      'steps: [50, 100]',
      'hold_ms: 0',
      'min_requests: 0',
      'window_ms: 10000',
      'evaluate_every_ms: 50',
      'min_samples: 1000',
    ]);
    t.after(() => s.close());
    s.sim.state.addFault({ kind: 'status', status: 500, model: CANDIDATE, path: '/v1/messages' });
    await s.admin.act('r', 'start');
    const sent = await new TrafficDriver({
      url: s.gateway.url,
      key: KEY,
      model: BASELINE,
      concurrency: 4,
      customers: 0,
    }).send(60);
    assert.ok(sent.some((x) => x.arm === 'candidate' && x.status === 500));
    await sleep(300);
    const r = await s.admin.get('r');
    assert.equal(r.status, 'running');
    assert.equal(r.decisions.length, 1, 'only the start');
    assert.match(r.evaluation!.reason, /fewer than min_samples \(1000\)/);
    const g = r.guards.find((x) => x.metric === 'error_rate_5xx')!;
    assert.equal(g.judged, false);
    assert.equal(g.candidate, 100);
  });

  test('admin errors: unknown rollout, refused action, bad action; a pinned arm; a bad pin', async (t) => {
    const s = await setup([`candidate: { model: ${CANDIDATE} }`, 'steps: [1, 100]']);
    t.after(() => s.close());
    const post = (body: unknown) =>
      fetch(`${s.gateway.url}/admin/rollouts`, {
        method: 'POST',
        headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const nf = await post({ id: 'nope', action: 'start' });
    assert.equal(nf.status, 404);
    const nfText = await nf.text();
    assert.match(nfText, /rollout_not_found/);
    assert.match(nfText, /rollouts: r\./);
    const conflict = await post({ id: 'r', action: 'pause' });
    assert.equal(conflict.status, 409);
    assert.match(await conflict.text(), /only a running rollout can be paused; it is pending/);
    assert.equal((await post({ id: 'r', action: 'explode' })).status, 400);
    assert.equal((await fetch(`${s.gateway.url}/admin/rollouts`)).status, 401);
    // The CLI: the admin key from the environment; a refused action and an unknown rollout say why.
    const cli = { gateway: s.gateway.url };
    await assert.rejects(rolloutStatus('r', cli, { env: {} }), {
      exitCode: 2,
      message: /set the admin key in \$GANTRY_ADMIN_KEY/,
    });
    await assert.rejects(rolloutAct('pause', 'r', cli, { env: { GANTRY_ADMIN_KEY: ADMIN_KEY } }), {
      exitCode: 1,
      message: /409.*only a running rollout can be paused/,
    });
    await assert.rejects(rolloutAct('start', 'nope', cli, { env: { GANTRY_ADMIN_KEY: ADMIN_KEY } }), {
      exitCode: 2,
      message: /No rollout "nope"/,
    });
    let printed = '';
    await rolloutStatus(undefined, cli, {
      env: { GANTRY_ADMIN_KEY: ADMIN_KEY },
      stdout: { write: (t: string) => (printed += t) },
    });
    assert.match(printed, /^r: pending, candidate 0 % \(steps 1 → 100 %\)/);
    assert.match(printed, /error_rate_5xx +– +– +– +too few samples/);
    await s.admin.act('r', 'start');
    const pinned = await fetch(`${s.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
        'gantry-rollout-arm': 'candidate',
      },
      body: JSON.stringify({ model: BASELINE, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(pinned.status, 200);
    assert.equal(pinned.headers.get('gantry-rollout'), 'r/candidate');
    assert.equal(id(((await pinned.json()) as { model: string }).model), id(CANDIDATE));
    const bad = await fetch(`${s.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
        'gantry-rollout-arm': 'green',
      },
      body: JSON.stringify({ model: BASELINE, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /invalid_rollout_arm/);
    // A request for another model is not part of the rollout.
    const other = await fetch(`${s.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
        'gantry-rollout-arm': 'candidate',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-4-6',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('gantry-rollout'), null);
  });
});
