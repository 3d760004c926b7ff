/**
 * Budget reservations cannot leak (issue 12, item 7), on the real Redis:
 *
 * - `kill -9` of a `gantry serve` process with 10 reservations in flight: the
 *   budget is held while the process lives (its leases are renewed), and is
 *   usable again within one lease of the kill — from another process.
 * - The Redis link dropped during settlement (a fault proxy, chaos/lib/proxy.ts):
 *   the settlement is retried once the link is back and the spend is counted
 *   exactly once — whether the lost attempt never reached Redis, or reached it
 *   and only its answer was lost.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FaultProxy } from '../chaos/lib/proxy.ts';
import { costOf, worstCaseCostMicros } from '../src/anthropic/cost.ts';
import { estimateRequestTokens } from '../src/anthropic/tokens.ts';
import { emptyUsage } from '../src/anthropic/usage.ts';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import { LimitsEnforcer } from '../src/limits/limiter.ts';
import { RedisStore } from '../src/limits/redis.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { spawnServe, UPSTREAM_KEY } from './support.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const MODEL = 'claude-haiku-4-5';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kill -9 with reservations in flight', () => {
  let sim: Simulator;
  const dir = mkdtempSync(join(tmpdir(), 'gantry-leases-'));
  before(async () => {
    sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the budget is usable again within one lease of the kill', async (t) => {
    const KEY = `gk_leases${randomUUID().replaceAll('-', '')}`;
    const LEASE_MS = 2_000;
    const body = {
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'reserve me' }],
    };
    const reservation = worstCaseCostMicros(MODEL, estimateRequestTokens(body).total, body.max_tokens)!;
    const config = join(dir, 'gantry.yaml');
    writeFileSync(
      config,
      [
        'server: { port: 0, drain_timeout_ms: 1000 }',
        `upstream: { base_url: "${sim.url}" }`,
        'environments:',
        '  prod: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY }',
        'clients:',
        `  - { name: app, environment: prod, key_sha256: ${hashKey(KEY)}, limits: { budget: { daily_usd: ${(10 * reservation) / 1e6} } } }`,
        `storage: { state: "${REDIS_URL}", ledger: "sqlite:${join(dir, 'ledger.db')}" }`,
        `limits: { key_prefix: "gantry-test:${randomUUID()}:", reservation_lease_ms: ${LEASE_MS} }`,
        'logging: { level: warn }',
        '',
      ].join('\n'),
    );
    const env = { GANTRY_TEST_UPSTREAM_KEY: UPSTREAM_KEY };
    const post = (url: string, signal?: AbortSignal) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(body),
        signal,
      });
    const codeOf = async (res: Response) => {
      const json = (await res.json()) as { error?: { details?: { gantry_code?: string } } };
      return res.status === 200 ? 'ok' : (json.error?.details?.gantry_code ?? String(res.status));
    };

    // The next 10 upstream calls hang for a minute: their reservations stay in flight.
    sim.state.addFault({ kind: 'slow', delayMs: 60_000, count: 10, path: '/v1/messages' });
    const first = await spawnServe(config, env, t);
    const aborts = new AbortController();
    t.after(() => aborts.abort());
    const inflight = Array.from({ length: 10 }, () => post(first.url, aborts.signal).catch(() => undefined));
    // The 11th is refused: 10 reservations hold the whole budget.
    const until = Date.now() + 10_000;
    let code = '';
    while (Date.now() < until) {
      code = await codeOf(await post(first.url));
      if (code === 'budget_reserved') break;
      await sleep(50);
    }
    assert.equal(code, 'budget_reserved');
    // Longer than a lease: the live process renews its leases, the budget stays held.
    await sleep(LEASE_MS + 500);
    assert.equal(await codeOf(await post(first.url)), 'budget_reserved');
    // The other replica is up before the kill (its start-up time is no part of the measure).
    const second = await spawnServe(config, env, t);
    assert.equal(await codeOf(await post(second.url)), 'budget_reserved', 'held for every replica');

    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => first.child.once('exit', r));
    aborts.abort();
    await Promise.all(inflight);
    // A held request killed before it reached the upstream leaves its slow fault: the next requests must be fast.
    sim.state.faults.clear();

    let freedAfter = -1;
    while (Date.now() - killedAt < LEASE_MS + 10_000) {
      if ((await codeOf(await post(second.url))) === 'ok') {
        freedAfter = Date.now() - killedAt;
        break;
      }
      await sleep(100);
    }
    assert.ok(freedAfter >= 0, 'the budget never came back');
    t.diagnostic(`budget usable again ${freedAfter} ms after kill -9 (lease ${LEASE_MS} ms)`);
    // A lease is renewed every third of its length, so the last renewal may add a third of a lease.
    assert.ok(
      freedAfter <= LEASE_MS + LEASE_MS / 3 + 500,
      `usable again ${freedAfter} ms after the kill (lease ${LEASE_MS} ms)`,
    );
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});

describe('the Redis link dropped during settlement', () => {
  let proxy: FaultProxy;
  before(async () => {
    const u = new URL(REDIS_URL);
    proxy = await FaultProxy.start({ host: u.hostname, port: Number(u.port || 6379) });
  });
  after(() => proxy.close());

  for (const mode of ['blackhole', 'drop-replies'] as const) {
    const what =
      mode === 'blackhole' ? 'the lost attempt never reached Redis' : 'Redis applied it, the answer was lost';
    test(`settlement retried once the link is back, spend counted exactly once (${what})`, async () => {
      await proxy.setMode('pass');
      const prefix = `gantry-test:${randomUUID()}:`;
      const config = parseConfig(
        [
          'clients:',
          `  - { name: app, key_sha256: ${'a'.repeat(64)}, limits: { budget: { daily_usd: 10 } } }`,
          `limits: { key_prefix: "${prefix}", store_timeout_ms: 200, reservation_lease_ms: 20000 }`,
        ].join('\n'),
        { source: 'test', baseDir: process.cwd() },
      );
      const url = `redis://127.0.0.1:${proxy.port}/${new URL(REDIS_URL).pathname.slice(1) || '0'}`;
      const viaProxy = new RedisStore({
        url,
        commandTimeoutMs: 200,
        connectTimeoutMs: 200,
        keyPrefix: prefix,
      });
      const direct = new RedisStore({ url: REDIS_URL, keyPrefix: prefix });
      try {
        assert.ok(await viaProxy.ready(3_000));
        const limiter = new LimitsEnforcer(config, viaProxy, { settleRetryMs: 50 });
        const req = {
          client: 'app',
          environment: 'default',
          model: MODEL,
          estimatedInputTokens: 100,
          maxTokens: 100,
        };
        const admitted = await limiter.admit({ ...req, id: `gtw_${randomUUID()}` }, []);
        const ticket = admitted.ticket!;
        const usage = { ...emptyUsage(), inputTokens: 100, outputTokens: 50 };
        const actual = costOf(usage, MODEL).micros;

        await proxy.setMode(mode);
        const settled = limiter.settle(ticket, usage, MODEL);
        await sleep(800); // several attempts fail (timeouts) while the link is down
        proxy.reset();
        await proxy.setMode('pass');
        await settled;

        const key = ticket.budgets[0].key;
        const { spent, committed } = await direct.readBudgets([key]);
        assert.equal(spent[0], actual, 'spent counted exactly once');
        assert.equal(committed[0], actual, 'the reservation is released');
        await limiter.close();
      } finally {
        await viaProxy.close();
        await direct.close();
      }
    });
  }
});
