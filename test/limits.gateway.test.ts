/**
 * Limits end to end: the official SDK -> gateway (admit stage) -> simulator.
 * 429 and 402 reach the SDK as RateLimitError (retry-after honoured) and
 * PaymentRequiredError (not retried); headers; downgrade; refunds; the
 * upstream's limits at /admin/upstream; fail open / closed with Redis down.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';
import { periodOf } from '../src/limits/periods.ts';
import { RedisStore } from '../src/limits/redis.ts';
import type { ExchangeRecord } from '../src/pipeline/record.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { completions, LogSink, UPSTREAM_KEY, until } from './support.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const key = (name: string) => `gk_limits${name.padEnd(36, '0')}`;
const ADMIN_KEY = 'gk_limitsAdmin0000000000000000000000000000';
const MODEL = 'claude-haiku-4-5';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gatewayConfig(simUrl: string, body: string): ResolvedConfig {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const base = parseConfig(
    `environments:\n  prod: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY }\nadmin: { key_sha256: ${hashKey(ADMIN_KEY)} }\n${body}`,
    { source: 'test', baseDir: process.cwd() },
  );
  return {
    ...base,
    server: { ...base.server, port: 0, drainTimeoutMs: 2_000 },
    upstream: { ...base.upstream, baseUrl: simUrl, connectTimeoutMs: 2_000 },
    storage: { ...base.storage, ledger: 'sqlite::memory:' },
  };
}

const client = (name: string, limits: string) =>
  `  - { name: ${name}, environment: prod, key_sha256: ${hashKey(key(name))}, limits: ${limits} }\n`;

const completed: ExchangeRecord[] = [];
const onComplete = (r: ExchangeRecord) => completed.push(r);
const decisionsOf = (requestId: string | null | undefined) =>
  completed.find((ex) => ex.id === requestId)?.decisions ?? [];

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
});
after(async () => {
  await sim.close();
});

const params = (extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Hello limits' }],
  ...extra,
});

describe('gateway with limits on Redis', () => {
  let gateway: Gateway;
  const logs = new LogSink();
  const prefix = `gantry-test:${randomUUID()}:`;
  const store = new RedisStore({ url: REDIS_URL });
  const sdk = (name: string, maxRetries = 0) =>
    new Anthropic({ apiKey: key(name), baseURL: gateway.url, maxRetries });
  const simCount = () => sim.state.requests.all().length;

  before(async () => {
    assert.ok(await store.ready(3_000));
    gateway = await startGateway({
      config: gatewayConfig(
        sim.url,
        `storage: { state: "${REDIS_URL}" }\nlimits: { key_prefix: "${prefix}" }\nclients:\n` +
          client('rl', '{ rpm: 60 }') +
          client('budget', '{ budget: { daily_usd: 0.0001 } }') +
          client(
            'down',
            '{ budget: { daily_usd: 0.0001, action: downgrade, downgrade_to: claude-haiku-4-5 } }',
          ) +
          client('tpm', '{ rpm: 1000, input_tpm: 100000, output_tpm: 1000 }'),
      ),
      logDestination: logs,
    });
    gateway.events.exchangeComplete.subscribe(onComplete);
    done = completions(gateway);
  });
  after(async () => {
    await gateway.close();
    await store.close();
  });
  let done: ReturnType<typeof completions>;

  /** A client's daily budget spend, read from Redis as every replica reads it. */
  const budgetSpent = async (name: string) => {
    const { spent } = await store.readBudgets([
      `${prefix}b:client:${name}:daily:${periodOf('daily', Date.now()).id}`,
    ]);
    return spent[0];
  };

  /** Empties the client's rpm bucket from outside, as other replicas would. */
  const drain = async (name: string) => {
    const b = { key: `${prefix}rl:client:${name}:rpm`, capacity: 60, ratePerMs: 60 / 60_000 };
    const [level] = await store.peek([b]);
    if (level > 0) await store.adjust([{ ...b, delta: -level }]);
  };

  test('429 reaches the SDK as RateLimitError with retry-after and gantry-ratelimit headers', async () => {
    await drain('rl');
    const before = simCount();
    const err = await sdk('rl')
      .messages.create(params())
      .catch((e) => e);
    assert.ok(err instanceof Anthropic.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '1');
    assert.equal(err.headers.get('gantry-ratelimit-requests-limit'), '60');
    assert.equal(err.headers.get('gantry-ratelimit-requests-remaining'), '0');
    assert.ok(err.headers.get('gantry-ratelimit-requests-reset'));
    assert.equal(
      (err.error as { error: { details: { gantry_code: string } } }).error.details.gantry_code,
      'rate_limited',
    );
    assert.equal(simCount(), before, 'the upstream never saw it');
    assert.deepEqual(
      decisionsOf(err.requestID).map((d) => [d.action, d.rule]),
      [['rate_limited', 'ratelimit.client.rpm']],
    );
  });

  test('the SDK honours retry-after and then succeeds', async () => {
    await drain('rl');
    const before = simCount();
    const t0 = performance.now();
    const message = await sdk('rl', 2).messages.create(params());
    const elapsed = performance.now() - t0;
    assert.equal(message.type, 'message');
    assert.ok(elapsed >= 900, `waited ${elapsed} ms for retry-after: 1`);
    assert.equal(simCount(), before + 1);
    const lines = logs.records().filter((r) => r.client === 'rl');
    assert.deepEqual(
      lines.slice(-2).map((r) => r.status),
      [429, 200],
    );
  });

  test('402 reaches the SDK as PaymentRequiredError and is not retried', async () => {
    sim.state.enqueue({ lorem: 80 });
    const spent = await sdk('budget')
      .messages.create(params({ max_tokens: 400 }))
      .withResponse(); // spends more than $0.0001
    // Settling runs when the exchange completes, just after the response.
    await done.of(spent.response.headers.get('gantry-request-id'));
    await until(async () => (await budgetSpent('budget')) > 0, 'the spend settled');
    const before = simCount();
    const linesBefore = logs.records().filter((r) => r.client === 'budget').length;
    const err = await sdk('budget', 3)
      .messages.create(params())
      .catch((e) => e);
    assert.ok(err instanceof Anthropic.PaymentRequiredError, String(err));
    assert.equal(err.status, 402);
    assert.equal(err.headers.get('x-should-retry'), 'false');
    assert.match(err.message, /budget\.client\.daily/);
    assert.match(err.message, /resets at \d{4}-\d\d-\d\dT00:00:00\.000Z/);
    assert.equal(simCount(), before);
    assert.equal(
      logs.records().filter((r) => r.client === 'budget').length,
      linesBefore + 1,
      'one attempt only',
    );
    // The crossing of 80 % and 100 % was logged once each.
    const alerts = logs.records().filter((r) => r.budget_scope === 'client:budget');
    assert.deepEqual(
      alerts.map((r) => [r.msg, r.threshold, r.period, r.action]),
      [
        ['budget threshold crossed', 80, 'daily', 'block'],
        ['budget spent', 100, 'daily', 'block'],
      ],
    );
    assert.deepEqual(
      decisionsOf(err.requestID).map((d) => [d.action, d.rule]),
      [['budget_exceeded', 'budget.client.daily']],
    );
  });

  test('downgrade: a spent budget switches the model, rewriting only the model bytes', async () => {
    sim.state.enqueue({ lorem: 80 });
    const first = await sdk('down')
      .messages.create(params({ model: 'claude-sonnet-4-6', max_tokens: 400 }))
      .withResponse();
    await done.of(first.response.headers.get('gantry-request-id'));
    await until(async () => (await budgetSpent('down')) > 0, 'the spend settled');
    const raw =
      '{"model": "claude-sonnet-4-6","max_tokens":16, "messages":[{"role":"user","content":"model: \\"x\\""}],"metadata":{"model":"keep"}}';
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': key('down'),
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
      },
      body: raw,
    });
    assert.equal(res.status, 200);
    const seen = sim.state.requests.all().at(-1)!;
    assert.deepEqual(seen.body, { ...JSON.parse(raw), model: 'claude-haiku-4-5' });
    const body = (await res.json()) as { model: string };
    assert.match(body.model, /haiku/);
  });

  test('output tokens per minute: max_tokens reserved, the unused part refunded', async () => {
    // 1000 output tokens a minute, 600 reserved per request: without refunds the second would be refused.
    // Odd requests stream: their usage comes from the stream tap.
    for (let i = 0; i < 6; i++) {
      const { response, data } = await sdk('tpm')
        .messages.create(params({ max_tokens: 600, stream: i % 2 === 1 }))
        .withResponse();
      if (i % 2 === 1) for await (const _event of data as unknown as AsyncIterable<unknown>);
      const remaining = Number(response.headers.get('gantry-ratelimit-output-tokens-remaining'));
      assert.ok(remaining >= 300 && remaining <= 400, `remaining after reserving 600: ${remaining}`);
      // The refund of the unused tokens happens when the exchange completes.
      await done.of(response.headers.get('gantry-request-id'));
      await sleep(20); // the refund's own store round trip
    }
  });

  test('success responses carry gantry-ratelimit-* and the upstream anthropic-ratelimit-* unchanged; /admin/upstream shows the tier', async () => {
    sim.state.setTier('build');
    try {
      const { response } = await sdk('tpm').messages.create(params()).withResponse();
      assert.equal(response.headers.get('gantry-ratelimit-requests-limit'), '1000');
      assert.equal(response.headers.get('gantry-ratelimit-output-tokens-limit'), '1000');
      assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '5000');
      assert.equal(response.headers.get('anthropic-ratelimit-output-tokens-limit'), '1000000');
      const noKey = await fetch(`${gateway.url}/admin/upstream`);
      assert.equal(noKey.status, 401);
      const admin = await fetch(`${gateway.url}/admin/upstream`, { headers: { 'x-api-key': ADMIN_KEY } });
      assert.equal(admin.status, 200);
      const view = (await admin.json()) as {
        environments: Array<{ environment: string; tier: string; limits: Record<string, { limit: number }> }>;
      };
      const prod = view.environments.find((e) => e.environment === 'prod');
      assert.equal(prod?.tier, 'build');
      assert.equal(prod?.limits.requests.limit, 5000);
      assert.equal(prod?.limits['input-tokens'].limit, 5_000_000);
    } finally {
      sim.state.setTier('unlimited');
    }
  });
});

describe('gateway with Redis unreachable (closed port)', () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway({
      config: gatewayConfig(
        sim.url,
        'storage: { state: "redis://127.0.0.1:1/0" }\nlimits: { store_timeout_ms: 200 }\nclients:\n' +
          client('open', '{ rpm: 10 }') +
          client('closed', '{ rpm: 10, on_store_error: closed }'),
      ),
      logDestination: new LogSink(),
    });
  });
  after(() => gateway.close());

  test('fail open lets requests through; fail closed answers 503 limits_unavailable', async () => {
    const ok = await new Anthropic({
      apiKey: key('open'),
      baseURL: gateway.url,
      maxRetries: 0,
    }).messages.create(params());
    assert.equal(ok.type, 'message');
    const err = await new Anthropic({ apiKey: key('closed'), baseURL: gateway.url, maxRetries: 0 }).messages
      .create(params())
      .catch((e) => e);
    assert.ok(err instanceof Anthropic.APIError);
    assert.equal(err.status, 503);
    assert.equal(
      (err.error as { error: { details: { gantry_code: string } } }).error.details.gantry_code,
      'limits_unavailable',
    );
  });
});
