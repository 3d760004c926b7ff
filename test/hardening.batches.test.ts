/**
 * Batches go through limits, budgets and policy (issue 12, item 8): a spent
 * budget refuses a batch; an admitted batch's results are charged to the
 * budget once, however often they are fetched; each request of a batch gets
 * the client's model policy. Real Redis for the budget counters.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { costOf } from '../src/anthropic/cost.ts';
import { usageFromMessage } from '../src/anthropic/usage.ts';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';
import { LimitsEnforcer } from '../src/limits/limiter.ts';
import { RedisStore } from '../src/limits/redis.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { completions, LogSink, UPSTREAM_KEY } from './support.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const key = (name: string) => `gk_batch${name.padEnd(37, '0')}`;
const MODEL = 'claude-haiku-4-5';
const prefix = `gantry-test:${randomUUID()}:`;

let sim: Simulator;
let gateway: Gateway;
let config: ResolvedConfig;
let done: ReturnType<typeof completions>;
const store = new RedisStore({ url: REDIS_URL, keyPrefix: prefix });

before(async () => {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], batchProcessingMs: 0 });
  const client = (name: string, extra: string) =>
    `  - { name: ${name}, environment: prod, key_sha256: ${hashKey(key(name))}${extra} }\n`;
  const base = parseConfig(
    `environments:\n  prod: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY }\n` +
      `storage: { state: "${REDIS_URL}" }\nlimits: { key_prefix: "${prefix}" }\nclients:\n` +
      client('spent', ', limits: { budget: { daily_usd: 0.01 } }') +
      client('payer', ', limits: { budget: { daily_usd: 5 } }') +
      client(
        'strict',
        ', policy: { models: [claude-haiku-4-5], aliases: { fast: claude-haiku-4-5 }, max_tokens: { cap: 100, over_cap: clamp } }',
      ),
    { source: 'test', baseDir: process.cwd() },
  );
  config = {
    ...base,
    server: { ...base.server, port: 0, drainTimeoutMs: 2_000 },
    upstream: { ...base.upstream, baseUrl: sim.url, connectTimeoutMs: 2_000 },
    storage: { ...base.storage, ledger: 'sqlite::memory:' },
  };
  gateway = await startGateway({ config, logDestination: new LogSink() });
  done = completions(gateway);
  assert.ok(await store.ready(3_000), 'Redis answers');
});
after(async () => {
  await gateway.close();
  await sim.close();
  await store.close();
});

const sdk = (name: string) => new Anthropic({ apiKey: key(name), baseURL: gateway.url, maxRetries: 0 });
const request = (customId: string, model = MODEL, maxTokens = 64) => ({
  custom_id: customId,
  params: {
    model,
    max_tokens: maxTokens,
    messages: [{ role: 'user' as const, content: `hello ${customId}` }],
  },
});

/** The client's daily budget counter, read from Redis like the gateway reads it. */
async function spentOf(client: string): Promise<number> {
  const limiter = new LimitsEnforcer(config, store);
  const [budget] = limiter.budgetsOf(limiter.scopes(client, 'prod'), Date.now());
  const { spent } = await store.readBudgets([budget.key]);
  return spent[0];
}

describe('batches and budgets', () => {
  test('a spent budget refuses a batch with 402, before the upstream sees it', async () => {
    const limiter = new LimitsEnforcer(config, store);
    const [budget] = limiter.budgetsOf(limiter.scopes('spent', 'prod'), Date.now());
    await store.raiseSpent([{ ...budget, spent: budget.limit }]);
    const before = sim.state.requests.all().length;
    const err = await sdk('spent')
      .messages.batches.create({ requests: [request('a', 'claude-opus-4-6')] })
      .catch((e) => e);
    assert.ok(err instanceof Anthropic.APIError, String(err));
    assert.equal(err.status, 402);
    assert.equal(
      (err.error as { error: { details: { gantry_code: string } } }).error.details.gantry_code,
      'budget_exceeded',
    );
    assert.equal(sim.state.requests.all().length, before);
  });

  test('batch results are charged to the budget once, at the batch price, however often they are fetched', async () => {
    const client = sdk('payer');
    const batch = await client.messages.batches.create({ requests: [request('one'), request('two')] });
    assert.equal(await spentOf('payer'), 0, 'creating a batch spends nothing (its reservation is released)');
    let current = batch;
    for (let i = 0; i < 100 && current.processing_status !== 'ended'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      current = await client.messages.batches.retrieve(batch.id);
    }
    let expected = 0;
    for await (const line of await client.messages.batches.results(batch.id)) {
      assert.equal(line.result.type, 'succeeded');
      if (line.result.type === 'succeeded') {
        expected += costOf(usageFromMessage(line.result.message), line.result.message.model, {
          batch: true,
        }).micros;
      }
    }
    assert.ok(expected > 0);
    const waitFor = async (want: number) => {
      for (let i = 0; i < 100 && (await spentOf('payer')) !== want; i++)
        await new Promise((r) => setTimeout(r, 20));
      return spentOf('payer');
    };
    assert.equal(await waitFor(expected), expected);
    const again = await fetch(`${gateway.url}/v1/messages/batches/${batch.id}/results`, {
      headers: { 'x-api-key': key('payer'), 'anthropic-version': '2023-06-01' },
    });
    assert.equal((await again.text()).trim().split('\n').length, 2, 'the results again');
    // Its charge would be made when the exchange completes: wait for that, then for the store.
    await done.of(again.headers.get('gantry-request-id'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await spentOf('payer'), expected, 'a second fetch charges nothing');
  });
});

describe('batches and policy', () => {
  test("every request of a batch gets the client's model policy", async () => {
    const err = await sdk('strict')
      .messages.batches.create({ requests: [request('ok'), request('no', 'claude-opus-4-6')] })
      .catch((e) => e);
    assert.equal(err.status, 403);
    assert.match(
      (err.error as { error: { message: string } }).error.message,
      /^requests\[1\] \(custom_id "no"\): /,
    );

    sim.state.requests.clear();
    const batch = await sdk('strict').messages.batches.create({
      requests: [request('alias', 'fast', 50), request('capped', MODEL, 4_000)],
    });
    assert.equal(batch.type, 'message_batch');
    const sent = sim.state.requests.all().find((r) => r.path === '/v1/messages/batches')?.body as {
      requests: Array<{ custom_id: string; params: { model: string; max_tokens: number } }>;
    };
    assert.deepEqual(
      sent.requests.map((r) => [r.custom_id, r.params.model, r.params.max_tokens]),
      [
        ['alias', MODEL, 50],
        ['capped', MODEL, 100],
      ],
    );
  });
});
