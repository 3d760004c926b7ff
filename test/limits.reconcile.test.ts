/**
 * Budget spend reconciled from the ledger (issue 12, item 7): the ledger is
 * the source of truth. The counters are raised to what the ledger holds for
 * every scope a row belongs to (client, customer, environment, overall; day
 * and month), never lowered. A gateway started over a ledger whose spend its
 * (empty) counters do not know refuses with 402 at once; `POST
 * /admin/budgets/reconcile` answers what it found.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import { startGateway } from '../src/gateway/server.ts';
import type { LedgerRow } from '../src/ledger/row.ts';
import type { SpendGroup } from '../src/ledger/sql.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import { LimitsEnforcer } from '../src/limits/limiter.ts';
import { MemoryStore } from '../src/limits/memory.ts';
import { reconcileBudgets } from '../src/limits/reconcile.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, UPSTREAM_KEY } from './support.ts';

const HASH = 'a'.repeat(64);
const KEY = 'gk_reconcile00000000000000000000000000000';
const ADMIN_KEY = 'gk_reconcileAdmin000000000000000000000000';

function row(i: number, over: Partial<LedgerRow>): LedgerRow {
  return {
    id: `gtw_rec_${i}_${randomUUID()}`,
    ts: Date.now() - 1_000,
    upstreamRequestId: null,
    route: 'messages',
    client: 'app',
    environment: 'prod',
    customer: null,
    model: 'claude-haiku-4-5',
    requestedModel: null,
    stream: false,
    status: 200,
    outcome: 'ok',
    errorType: null,
    inputTokens: 10,
    outputTokens: 10,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 0,
    costMicros: 0,
    priced: true,
    batch: false,
    latencyMs: 1,
    ttftMs: null,
    attempts: 1,
    decisions: '[]',
    ...over,
  };
}

describe('reconcileBudgets', () => {
  const config = parseConfig(
    [
      'environments:',
      '  prod: { upstream_key: env:X }',
      '  dev: { upstream_key: env:Y }',
      'clients:',
      `  - name: app`,
      '    environment: prod',
      `    key_sha256: ${HASH}`,
      '    limits: { budget: { daily_usd: 1, monthly_usd: 10 }, per_customer: { budget: { daily_usd: 0.5 } } }',
      `  - { name: other, environment: dev, key_sha256: ${'b'.repeat(64)} }`,
      'limits:',
      '  environments: { prod: { budget: { monthly_usd: 100 } } }',
      '  overall: { budget: { daily_usd: 1000 } }',
    ].join('\n'),
    { source: 'test', baseDir: process.cwd() },
  );

  test('each group lands in every scope it belongs to; counters only ever go up', async () => {
    const store = new MemoryStore({ sweepMs: 0 });
    const limiter = new LimitsEnforcer(config, store);
    const now = Date.now();
    const today: SpendGroup[] = [
      { client: 'app', environment: 'prod', customer: 'c1', micros: 300 },
      { client: 'app', environment: 'prod', customer: null, micros: 200 },
      { client: 'other', environment: 'dev', customer: null, micros: 50 },
      { client: null, environment: null, customer: null, micros: 999 }, // unauthenticated: no scope
    ];
    const month: SpendGroup[] = [
      ...today,
      { client: 'app', environment: 'prod', customer: null, micros: 1_000 },
    ];
    const ledger = {
      spend: async (q: { since: number; until: number }) => (q.until - q.since > 86_400_000 ? month : today),
    };
    const found = await reconcileBudgets(limiter, ledger, now);
    const by = Object.fromEntries(found.map((b) => [`${b.scope} ${b.period}`, b]));
    assert.deepEqual(
      Object.keys(by).sort(),
      [
        'client:app daily',
        'client:app monthly',
        'customer:app/c1 daily',
        'environment:prod monthly',
        'overall daily',
      ].sort(),
    );
    assert.equal(by['client:app daily'].ledgerMicros, 500);
    assert.equal(by['client:app monthly'].ledgerMicros, 1_500);
    assert.equal(by['customer:app/c1 daily'].ledgerMicros, 300);
    assert.equal(by['environment:prod monthly'].ledgerMicros, 1_500);
    assert.equal(by['overall daily'].ledgerMicros, 550);
    assert.ok(found.every((b) => b.raised && b.counterMicros === 0));
    const [daily] = await limiter.budgetStatus('app', 'prod');
    assert.deepEqual([daily.period, daily.spentMicros, daily.committedMicros], ['daily', 500, 500]);

    // A counter ahead of the ledger (rows still queued in a writer) is left alone.
    const [entry] = limiter.budgetsOf(limiter.scopes('app', 'prod'), now);
    await store.settle([entry], 'later', 700, 60_000);
    const again = await reconcileBudgets(limiter, ledger, now);
    const appDaily = again.find((b) => b.scope === 'client:app' && b.period === 'daily')!;
    assert.deepEqual([appDaily.counterMicros, appDaily.raised], [1_200, false]);
    assert.equal((await limiter.budgetStatus('app', 'prod'))[0].spentMicros, 1_200);
  });
});

describe('gateway: counters reconciled from the ledger', () => {
  let sim: Simulator;
  const dir = mkdtempSync(join(tmpdir(), 'gantry-reconcile-'));
  before(async () => {
    sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a fresh state store over a ledger that holds the spend: 402 at once; the admin route answers what it found', async () => {
    const db = join(dir, 'ledger.db');
    const ledger = await openLedgerStore(`sqlite:${db}`);
    // 5,000 µ$ already spent today by app (the counters were lost, or settlements never landed).
    await ledger.insert([row(1, { costMicros: 3_000 }), row(2, { costMicros: 2_000 })]);
    await ledger.close();
    process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
    const base = parseConfig(
      [
        'environments:',
        '  prod: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY }',
        `admin: { key_sha256: ${hashKey(ADMIN_KEY)} }`,
        'clients:',
        `  - { name: app, environment: prod, key_sha256: ${hashKey(KEY)}, limits: { budget: { daily_usd: 0.004 } } }`,
        `storage: { ledger: "sqlite:${db}" }`,
      ].join('\n'),
      { source: 'test', baseDir: process.cwd() },
    );
    const logs = new LogSink();
    const gateway = await startGateway({
      config: {
        ...base,
        server: { ...base.server, port: 0 },
        upstream: { ...base.upstream, baseUrl: sim.url },
      },
      logDestination: logs,
    });
    try {
      const post = () =>
        fetch(`${gateway.url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': KEY,
            'content-type': 'application/json',
            'anthropic-version': '2023-06-01',
          },
          body: JSON.stringify({
            model: 'claude-haiku-4-5',
            max_tokens: 8,
            messages: [{ role: 'user', content: 'x' }],
          }),
        });
      // The start-up reconciliation runs off the start-up path: wait for its log line.
      const end = Date.now() + 10_000;
      while (!logs.text().includes('budgets reconciled from the ledger') && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const res = await post();
      const body = (await res.json()) as { error: { details: { gantry_code: string; spent_usd: string } } };
      assert.equal(res.status, 402);
      assert.equal(body.error.details.gantry_code, 'budget_exceeded');
      assert.equal(body.error.details.spent_usd, '0.005000');

      const admin = await fetch(`${gateway.url}/admin/budgets/reconcile`, {
        method: 'POST',
        headers: { 'x-api-key': ADMIN_KEY },
      });
      assert.equal(admin.status, 200);
      const answer = (await admin.json()) as { budgets: Array<Record<string, unknown>> };
      assert.deepEqual(answer.budgets, [
        { scope: 'client:app', period: 'daily', counterMicros: 5_000, ledgerMicros: 5_000, raised: false },
      ]);
    } finally {
      await gateway.close();
    }
  });
});
