/**
 * Resilience through the gateway against the simulator's faults: retries
 * (SDK rules, budget, no storms with the SDK), breaker and fallback, timeouts,
 * degradation, load shedding, multi-key selection and 401 take-out, health.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { resolveModel } from '../src/anthropic/models.ts';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import type { BreakerEvent, UpstreamKeyEvent } from '../src/observe/events.ts';
import { flushLogger } from '../src/observe/log.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startResilientGateway } from './resilience-support.ts';
import { type LogSink, logLine, UPSTREAM_KEY, until } from './support.ts';

const VIRTUAL_KEY = 'gk_resilienceKey00000000000000000000000000000';
const PRIMARY = 'claude-sonnet-4-6';
const FALLBACK = 'claude-haiku-4-5';

/** A JSON answer read loosely (tests assert on its shape). */
// biome-ignore lint/suspicious/noExplicitAny: test helper for reading JSON bodies
type Json = any;

const body = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: PRIMARY, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...extra });

async function post(gateway: Gateway, payload: string = body(), path = '/v1/messages') {
  const res = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: {
      'x-api-key': VIRTUAL_KEY,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    },
    body: payload,
  });
  return { res, text: await res.text() };
}

const messageAttempts = (sim: Simulator) => sim.state.requests.all().filter((r) => r.path === '/v1/messages');

/**
 * The request lines so far, once every exchange the gateway started has
 * completed and its line reached the log (a wait on those events, not a sleep).
 */
async function flushed(gateway: Gateway, logs: LogSink) {
  const requestLines = () =>
    logs
      .records()
      .filter(
        (r) => r.msg === 'request' || r.msg === 'request failed' || String(r.msg).startsWith('request'),
      );
  const settled = await until(async () => {
    await flushLogger(gateway.logger);
    const now = requestLines().length;
    await flushLogger(gateway.logger);
    return requestLines().length === now ? now + 1 : false; // no line arrived between two flushes
  }, 'the request lines to settle');
  void settled;
  return requestLines();
}

describe('retries follow the SDK rules', () => {
  let sim: Simulator;
  let gateway: Gateway;
  let logs: LogSink;
  before(async () => {
    sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], requestLogSize: 2000 });
    ({ gateway, logs } = await startResilientGateway(sim, {
      // A breaker that never opens here, a large budget: these tests are about the retry rules.
      resilience: {
        breaker: { failureRate: 0.99, window: 1000, minVolume: 1000, cooldownMs: 1000 },
        retryBudget: { ratio: 1, minRetries: 1000, windowMs: 60_000 },
      },
    }));
  });
  after(async () => {
    await gateway.close();
    await sim.close();
  });
  beforeEach(() => sim.state.reset());

  test('retry-after-ms is waited for exactly, then the retry succeeds', async () => {
    sim.state.addFault({ kind: 'status', status: 503, count: 1, retryAfterMs: 300, path: '/v1/messages' });
    const started = performance.now();
    const { res } = await post(gateway);
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 295 && elapsed < 1500, `elapsed ${elapsed}`);
    assert.equal(messageAttempts(sim).length, 2);
    const line = (await flushed(gateway, logs)).at(-1)!;
    assert.equal(line.attempts, 2);
    assert.deepEqual(line.decisions, [
      { stage: 'upstream', action: 'retried', rule: 'retry-after-ms', detail: '503' },
    ]);
  });

  test('retry-after in seconds is obeyed on a 429', async () => {
    sim.state.addFault({ kind: 'status', status: 429, count: 1, retryAfter: 1, path: '/v1/messages' });
    const started = performance.now();
    const { res } = await post(gateway);
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 990 && elapsed < 2500, `elapsed ${elapsed}`);
    assert.equal(messageAttempts(sim).length, 2);
  });

  test('without a server delay, the SDK backoff (0.375-0.5 s, then 0.75-1 s)', async () => {
    sim.state.addFault({ kind: 'status', status: 500, count: 2, path: '/v1/messages' });
    const started = performance.now();
    const { res } = await post(gateway);
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 1120 && elapsed < 2500, `elapsed ${elapsed} for backoffs of 0.375-0.5 s + 0.75-1 s`);
    assert.equal(messageAttempts(sim).length, 3);
  });

  test('x-should-retry: false stops at once; x-should-retry: true retries even a 400', async () => {
    sim.state.addFault({ kind: 'status', status: 500, count: 3, shouldRetry: false, path: '/v1/messages' });
    const first = await post(gateway);
    assert.equal(first.res.status, 500);
    assert.equal(messageAttempts(sim).length, 1);
    sim.state.reset();
    sim.state.addFault({
      kind: 'status',
      status: 400,
      count: 1,
      shouldRetry: true,
      retryAfterMs: 10,
      path: '/v1/messages',
    });
    const second = await post(gateway);
    assert.equal(second.res.status, 200);
    assert.equal(messageAttempts(sim).length, 2);
  });

  test('a 400 without x-should-retry passes through untouched, after one attempt', async () => {
    sim.state.addFault({ kind: 'status', status: 400, count: 1, path: '/v1/messages' });
    const { res, text } = await post(gateway);
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(text).error.type, 'invalid_request_error');
    assert.equal(res.headers.get('x-should-retry'), null, 'a single attempt leaves the SDK rules in force');
    assert.equal(messageAttempts(sim).length, 1);
  });

  test('no retry storm: after its attempts the gateway says x-should-retry: false, so the SDK stops', async () => {
    sim.state.addFault({ kind: 'status', status: 503, count: 50, retryAfterMs: 5, path: '/v1/messages' });
    const sdk = new Anthropic({ apiKey: VIRTUAL_KEY, baseURL: gateway.url, maxRetries: 2 });
    const err = await sdk.messages
      .create({ model: PRIMARY, max_tokens: 16, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    assert.ok(err instanceof Anthropic.InternalServerError, String(err));
    assert.equal(err.headers?.get('x-should-retry'), 'false');
    assert.equal(messageAttempts(sim).length, 3, 'max_attempts (3), not 3 x 3');
  });

  test('a server delay beyond max_retry_delay_ms is not waited for: the 529 goes back with its retry-after', async () => {
    sim.state.addFault({ kind: 'status', status: 529, count: 1, retryAfter: 120, path: '/v1/messages' });
    const started = performance.now();
    const { res } = await post(gateway);
    assert.equal(res.status, 529);
    assert.equal(res.headers.get('retry-after'), '120');
    assert.ok(performance.now() - started < 1000);
    assert.equal(messageAttempts(sim).length, 1);
  });

  test('a connection reset before the answer is retried', async () => {
    sim.state.addFault({ kind: 'reset', count: 1, path: '/v1/messages' });
    const { res } = await post(gateway);
    assert.equal(res.status, 200);
    assert.equal(messageAttempts(sim).length, 2);
  });
});

describe('retry budget', () => {
  test('during an outage, upstream attempts stay within requests x (1 + ratio) + min_retries', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], requestLogSize: 2000 });
    const { gateway } = await startResilientGateway(sim, {
      resilience: {
        maxAttempts: 5,
        breaker: { failureRate: 0.99, window: 1000, minVolume: 1000, cooldownMs: 1000 },
        retryBudget: { ratio: 0.2, minRetries: 3, windowMs: 60_000 },
      },
    });
    try {
      sim.state.addFault({ kind: 'status', status: 500, retryAfterMs: 1, path: '/v1/messages' });
      const requests = 40;
      const results = await Promise.all(Array.from({ length: requests }, () => post(gateway)));
      assert.ok(results.every((r) => r.res.status === 500));
      const attempts = messageAttempts(sim).length;
      assert.ok(attempts <= requests * 1.2 + 3, `${attempts} attempts for ${requests} requests`);
      assert.ok(attempts > requests, 'the budget did allow some retries');
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

describe('a 529 storm: breaker, fallback model, half-open probe', () => {
  test('opens within the configured volume, the fallback serves, one probe closes it after the storm', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], requestLogSize: 2000 });
    const cooldownMs = 1200;
    const { gateway, logs } = await startResilientGateway(sim, {
      client: { resilience: { fallbackModels: [FALLBACK] } },
      resilience: {
        breaker: { failureRate: 0.5, window: 10, minVolume: 5, cooldownMs },
        retryBudget: { ratio: 0.2, minRetries: 2, windowMs: 60_000 },
      },
    });
    const events: BreakerEvent[] = [];
    let primaryAtOpen: number | undefined;
    const isPrimary = (r: { body: unknown }) => (r.body as { model?: string } | null)?.model === PRIMARY;
    const listen = (e: unknown) => {
      events.push(e as BreakerEvent);
      primaryAtOpen ??= messageAttempts(sim).filter(isPrimary).length;
    };
    const offBreaker = gateway.events.breaker.subscribe(listen);
    try {
      const storm = sim.state.addFault({ kind: 'status', status: 529, model: PRIMARY, path: '/v1/messages' });
      const requests = 30;
      for (let i = 0; i < requests; i++) {
        const { res, text } = await post(gateway);
        assert.equal(res.status, 200, text);
        assert.equal(res.headers.get('gantry-fallback'), FALLBACK);
        assert.equal(JSON.parse(text).model.startsWith('claude-haiku-4-5'), true);
      }
      const primary = messageAttempts(sim).filter(isPrimary);
      const fallback = messageAttempts(sim).filter((r) => (r.body as { model: string }).model === FALLBACK);
      assert.equal(primaryAtOpen, 5, 'the breaker opened after min_volume (5) failures');
      assert.equal(fallback.length, requests);
      assert.deepEqual([events[0].model, events[0].from, events[0].to], [PRIMARY, 'closed', 'open']);
      // On a slow machine the cool-down may pass during the storm: each probe fails and re-opens.
      const probesDuringStorm = events.filter((e) => e.from === 'half_open').length;
      assert.ok(events.slice(1).every((e) => `${e.from}->${e.to}` !== 'half_open->closed'));
      assert.equal(primary.length, 5 + probesDuringStorm, 'no primary call while open, except probes');
      // Upstream attempts: one per request, plus one failover for each failed primary call.
      assert.equal(messageAttempts(sim).length, requests + primary.length);
      events.length = 0;

      // The storm ends; after the cool-down a single probe closes the breaker.
      sim.state.faults.remove(storm.id);
      await new Promise((r) => setTimeout(r, cooldownMs + 50));
      const before = messageAttempts(sim).length;
      // The probe takes 300 ms, so the rest of the burst arrives while it runs.
      sim.state.addFault({ kind: 'slow', delayMs: 300, count: 1, model: PRIMARY, path: '/v1/messages' });
      const burst = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          new Promise((r) => setTimeout(r, i * 20)).then(() => post(gateway)),
        ),
      );
      assert.ok(burst.every((b) => b.res.status === 200));
      const during = messageAttempts(sim).slice(before);
      assert.equal(
        during.filter((r) => (r.body as { model: string }).model === PRIMARY).length,
        1,
        'one probe in half-open; the others took the fallback',
      );
      assert.deepEqual(
        events.map((e) => `${e.from}->${e.to}`),
        ['open->half_open', 'half_open->closed'],
      );
      const { res } = await post(gateway);
      assert.equal(res.headers.get('gantry-fallback'), null, 'closed again: the primary serves');
      // Requests served by the fallback while the breaker was open say so in the log line.
      const records = await flushed(gateway, logs);
      const whileOpen = records.slice(10, 20);
      for (const line of whileOpen) {
        assert.equal(line.model, FALLBACK);
        assert.equal(line.requested_model, PRIMARY);
        assert.deepEqual(line.decisions, [
          { stage: 'upstream', action: 'failed_over', rule: 'model', detail: FALLBACK },
        ]);
      }
      const lines = await flushed(gateway, logs);
      const failedOver = lines.find((l) => Array.isArray(l.decisions));
      assert.ok(failedOver, 'failovers are in the log line');
      const opened = logs.records().find((r) => r.msg === 'circuit breaker opened');
      assert.equal(opened?.model, PRIMARY);
    } finally {
      offBreaker();
      await gateway.close();
      await sim.close();
    }
  });

  test('with no fallback, an open breaker answers a fast 529 with retry-after', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const { gateway } = await startResilientGateway(sim, {
      resilience: {
        maxAttempts: 1,
        breaker: { failureRate: 0.5, window: 4, minVolume: 2, cooldownMs: 20_000 },
      },
    });
    try {
      sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages' });
      await post(gateway);
      await post(gateway);
      const before = messageAttempts(sim).length;
      const { res, text } = await post(gateway);
      assert.equal(res.status, 529);
      const err = JSON.parse(text).error;
      assert.equal(err.type, 'overloaded_error');
      assert.equal(err.details.gantry_code, 'upstream_unavailable');
      const retryAfter = Number(res.headers.get('retry-after'));
      assert.ok(retryAfter >= 19 && retryAfter <= 20, `retry-after ${retryAfter}`);
      assert.equal(messageAttempts(sim).length, before, 'no upstream call while open');
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

describe('timeouts', () => {
  let sim: Simulator;
  let gateway: Gateway;
  before(async () => {
    sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    ({ gateway } = await startResilientGateway(sim, {
      resilience: {
        timeouts: { firstByteMs: 300, totalMs: 700, streamIdleMs: 300 },
        breaker: { failureRate: 0.99, window: 1000, minVolume: 1000, cooldownMs: 1000 },
      },
    }));
  });
  after(async () => {
    await gateway.close();
    await sim.close();
  });
  beforeEach(() => sim.state.reset());

  test('a slow first byte beyond the total timeout: 504 timeout_error, retries included in the deadline', async () => {
    sim.state.addFault({ kind: 'slow', delayMs: 5000, path: '/v1/messages' });
    const started = performance.now();
    const { res, text } = await post(gateway);
    const elapsed = performance.now() - started;
    assert.equal(res.status, 504);
    assert.equal(JSON.parse(text).error.type, 'timeout_error');
    // About 700 ms; the floor leaves room for scheduling jitter on a loaded machine.
    assert.ok(elapsed >= 500 && elapsed < 4000, `elapsed ${elapsed}`);
  });

  test('a stream whose first byte is late: 504 timeout_error (first-byte timeout, retried within the deadline)', async () => {
    sim.state.addFault({ kind: 'slow', delayMs: 3000, path: '/v1/messages' });
    const { res, text } = await post(gateway, body({ stream: true }));
    assert.equal(res.status, 504);
    const err = JSON.parse(text).error;
    assert.equal(err.type, 'timeout_error');
    assert.equal(err.details.gantry_code, 'upstream_timeout');
  });

  test('an idle stream is ended with an error event, not left hanging', async () => {
    sim.state.enqueue({ lorem: 30, chunkSize: 10, chunkDelayMs: 4000 });
    const started = performance.now();
    const { res, text } = await post(gateway, body({ stream: true }));
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.match(text, /event: error\ndata: .*"timeout_error"/);
    assert.ok(!text.includes('message_stop'));
    assert.ok(elapsed < 3500, `ended after ${elapsed} ms`);
  });

  test('a stream cut mid-way reaches the client as an error event', async () => {
    sim.state.addFault({ kind: 'cut', afterEvents: 4, count: 1 });
    const { res, text } = await post(gateway, body({ stream: true }));
    assert.equal(res.status, 200);
    assert.match(text, /event: error\ndata: .*stream_interrupted/);
    assert.equal(messageAttempts(sim).length, 1, 'a started stream is never retried');
  });
});

describe('degradation and load shedding', () => {
  test('a degraded answer when every attempt fails: a Message, or a well-formed stream', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const { gateway, logs } = await startResilientGateway(sim, {
      client: { resilience: { maxAttempts: 2, degraded: { message: 'Busy, try later.' } } },
    });
    try {
      sim.state.addFault({ kind: 'status', status: 529, retryAfterMs: 1, path: '/v1/messages' });
      const sdk = new Anthropic({ apiKey: VIRTUAL_KEY, baseURL: gateway.url, maxRetries: 0 });
      const { data, response } = await sdk.messages
        .create({ model: PRIMARY, max_tokens: 16, messages: [{ role: 'user', content: 'x' }] })
        .withResponse();
      assert.equal(response.headers.get('gantry-degraded'), 'true');
      assert.equal((data.content[0] as { text: string }).text, 'Busy, try later.');
      const stream = sdk.messages.stream({
        model: PRIMARY,
        max_tokens: 16,
        messages: [{ role: 'user', content: 'x' }],
      });
      const final = await stream.finalMessage();
      assert.equal((final.content[0] as { text: string }).text, 'Busy, try later.');
      const lines = await flushed(gateway, logs);
      assert.ok(
        lines.some((l) =>
          (l.decisions as Array<{ action: string }> | undefined)?.some((d) => d.action === 'degraded'),
        ),
      );
    } finally {
      await gateway.close();
      await sim.close();
    }
  });

  test('beyond the client concurrency limit and its queue: 529 load_shed with retry-after', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const { gateway } = await startResilientGateway(sim, {
      client: { resilience: { maxConcurrency: 1 } },
      resilience: {
        concurrency: { queue: 1, queueTimeoutMs: 5_000, shedRetryAfterS: 2 },
      },
    });
    try {
      sim.state.addFault({ kind: 'slow', delayMs: 400, count: 3, path: '/v1/messages' });
      const results = await Promise.all([post(gateway), post(gateway), post(gateway)]);
      const statuses = results.map((r) => r.res.status).sort();
      assert.deepEqual(statuses, [200, 200, 529], 'one runs, one waits in the queue, one is shed');
      const shed = results.find((r) => r.res.status === 529)!;
      assert.equal(shed.res.headers.get('retry-after'), '2');
      assert.equal(JSON.parse(shed.text).error.details.gantry_code, 'load_shed');
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

describe('load shedding per upstream key', () => {
  test('beyond the key concurrency limit and its queue: 529 load_shed', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const { gateway, logs } = await startResilientGateway(sim, {
      resilience: { concurrency: { perKey: 1, queue: 0, queueTimeoutMs: 1_000, shedRetryAfterS: 1 } },
    });
    try {
      sim.state.addFault({ kind: 'slow', delayMs: 400, count: 2, path: '/v1/messages' });
      const results = await Promise.all([post(gateway), post(gateway)]);
      assert.deepEqual(results.map((r) => r.res.status).sort(), [200, 529]);
      const shed = results.find((r) => r.res.status === 529)!;
      assert.equal(shed.res.headers.get('retry-after'), '1');
      assert.equal(JSON.parse(shed.text).error.type, 'overloaded_error');
      const lines = await flushed(gateway, logs);
      assert.ok(
        lines.some((l) =>
          (l.decisions as Array<{ action: string; rule: string }> | undefined)?.some(
            (d) => d.action === 'shed' && d.rule === 'concurrency.upstream key',
          ),
        ),
      );
      assert.equal((await post(gateway)).res.status, 200, 'the slot was released');
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

describe('several upstream keys', () => {
  const KEY_A = 'sk-ant-api03-test-key-a-000000000000000000000000000000000000000000000000000000000000AA';
  const KEY_B = 'sk-ant-api03-test-key-b-000000000000000000000000000000000000000000000000000000000000AA';
  const environments = {
    prod: {
      name: 'prod',
      upstreamKey: 'env:GANTRY_TEST_KEY_A',
      upstreamKeys: [
        { id: 'a', key: 'env:GANTRY_TEST_KEY_A', state: 'active' as const, weight: 1 },
        { id: 'b', key: 'env:GANTRY_TEST_KEY_B', state: 'active' as const, weight: 1 },
      ],
    },
  };
  before(() => {
    process.env.GANTRY_TEST_KEY_A = KEY_A;
    process.env.GANTRY_TEST_KEY_B = KEY_B;
  });

  test('load spreads over active keys; a revoked key is taken out, reported, and no request fails', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [KEY_A, KEY_B], requestLogSize: 2000 });
    const { gateway, logs } = await startResilientGateway(sim, { environments });
    const events: UpstreamKeyEvent[] = [];
    const listen = (e: unknown) => events.push(e as UpstreamKeyEvent);
    const offKey = gateway.events.upstreamKey.subscribe(listen);
    try {
      for (let i = 0; i < 20; i++) assert.equal((await post(gateway)).res.status, 200);
      const used = (key: string) => messageAttempts(sim).filter((r) => r.headers['x-api-key'] === key).length;
      assert.ok(used(KEY_A) > 2 && used(KEY_B) > 2, `a: ${used(KEY_A)}, b: ${used(KEY_B)}`);

      sim.state.updateKeys({ revoke: KEY_A });
      for (let i = 0; i < 20; i++) {
        const { res } = await post(gateway);
        assert.equal(res.status, 200, 'a 401 on key a fails over to key b');
      }
      assert.deepEqual(
        events.map((e) => [e.environment, e.keyId, e.state]),
        [['prod', 'a', 'failed']],
      );
      const before = used(KEY_A);
      for (let i = 0; i < 10; i++) await post(gateway);
      assert.equal(used(KEY_A), before, 'the failed key gets no more traffic');
      const report = await logLine(
        gateway,
        logs,
        (r) => r.msg === 'upstream key taken out of rotation',
        'the take-out report',
      );
      assert.equal(report?.upstream_key, 'a');
      assert.ok(!logs.text().includes(KEY_A.slice(14, 40)), 'no key value in the logs');
      const lines = await flushed(gateway, logs);
      assert.ok(lines.every((l) => l.upstream_key === 'a' || l.upstream_key === 'b'));
    } finally {
      offKey();
      await gateway.close();
      await sim.close();
    }
  });

  test('a draining key takes no new requests while an active key is left', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [KEY_A, KEY_B], requestLogSize: 2000 });
    const { gateway } = await startResilientGateway(sim, {
      environments: {
        prod: {
          ...environments.prod,
          upstreamKeys: [
            { id: 'a', key: 'env:GANTRY_TEST_KEY_A', state: 'draining' as const, weight: 1 },
            { id: 'b', key: 'env:GANTRY_TEST_KEY_B', state: 'active' as const, weight: 1 },
          ],
        },
      },
    });
    try {
      for (let i = 0; i < 10; i++) await post(gateway);
      assert.ok(messageAttempts(sim).every((r) => r.headers['x-api-key'] === KEY_B));
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

describe('health and admin routes', () => {
  const ADMIN_KEY = 'gk_adminKey000000000000000000000000000000000';

  test('/livez, /readyz and /health: probes through count_tokens, cached, causes classified', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const { gateway } = await startResilientGateway(sim, {
      resilience: {
        health: { probeIntervalMs: 1_000, probeModel: 'claude-haiku-4-5', probeTimeoutMs: 2_000 },
      },
    });
    const get = async (path: string) => {
      const res = await fetch(`${gateway.url}${path}`);
      return { status: res.status, json: (await res.json()) as Json };
    };
    const probes = () => sim.state.requests.all().filter((r) => r.path === '/v1/messages/count_tokens');
    try {
      assert.deepEqual(await get('/livez'), { status: 200, json: { status: 'ok' } });
      const results = await Promise.all([get('/health'), get('/health'), get('/readyz'), get('/health')]);
      assert.equal(results[0].status, 200);
      assert.equal(results[0].json.status, 'healthy');
      assert.equal(results[2].json.ready, true);
      assert.equal(probes().length, 1, 'concurrent checks share one probe');
      const probe = probes()[0];
      assert.equal((probe.body as { model: string }).model, resolveModel('claude-haiku-4-5')?.id);
      await get('/health');
      assert.equal(probes().length, 1, 'cached within the interval');

      // The next probe, once the cached one is older than the interval: the answer it produced.
      const cause = async () => {
        const n = probes().length;
        const h = await until(async () => {
          const answer = await get('/health');
          return probes().length > n ? answer : false;
        }, 'a new probe');
        return { status: h.json.status, cause: h.json.environments.prod.keys[0].probe.cause, code: h.status };
      };
      sim.state.addFault({ kind: 'status', status: 429, path: '/v1/messages/count_tokens' });
      assert.deepEqual(await cause(), { status: 'degraded', cause: 'capacity', code: 200 });
      sim.state.faults.clear();
      sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages/count_tokens' });
      assert.deepEqual(await cause(), { status: 'unhealthy', cause: 'upstream_outage', code: 503 });
      sim.state.faults.clear();
      sim.state.updateKeys({ revoke: UPSTREAM_KEY });
      assert.deepEqual(await cause(), { status: 'unhealthy', cause: 'key_invalid', code: 503 });
      assert.equal((await get('/readyz')).status, 503);
      sim.state.updateKeys({ restore: UPSTREAM_KEY });
      assert.deepEqual(await cause(), { status: 'healthy', cause: 'ok', code: 200 });
    } finally {
      await gateway.close();
      await sim.close();
    }
  });

  test('an unreachable upstream is classified as such', async () => {
    const { gateway } = await startResilientGateway({ url: 'http://127.0.0.1:9' });
    try {
      const res = await fetch(`${gateway.url}/health`);
      const json = (await res.json()) as Json;
      assert.equal(res.status, 503);
      assert.equal(json.environments.prod.keys[0].probe.cause, 'unreachable');
    } finally {
      await gateway.close();
    }
  });

  test('an admin route: 401 for a wrong key, 200 with the admin key, 404 without an admin key', async () => {
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const withAdmin = await startResilientGateway(sim, { admin: { keySha256: hashKey(ADMIN_KEY) } });
    const without = await startResilientGateway(sim);
    try {
      const url = `${withAdmin.gateway.url}/admin/upstream-keys`;
      const wrong = await fetch(url, { headers: { 'x-api-key': VIRTUAL_KEY } });
      assert.equal(wrong.status, 401);
      assert.equal(((await wrong.json()) as Json).error.type, 'authentication_error');
      const missing = await fetch(url);
      assert.equal(missing.status, 401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(ok.status, 200);
      const view = (await ok.json()) as Json;
      assert.equal(view.environments.prod[0].id, 'default');
      assert.equal(view.environments.prod[0].state, 'active');
      assert.ok(!JSON.stringify(view).includes(UPSTREAM_KEY));
      const none = await fetch(`${without.gateway.url}/admin/upstream-keys`, {
        headers: { 'x-api-key': ADMIN_KEY },
      });
      assert.equal(none.status, 404);
    } finally {
      await withAdmin.gateway.close();
      await without.gateway.close();
      await sim.close();
    }
  });
});

describe('429 on one key', () => {
  test('tries another active key at once, and says so in gantry-fallback', async () => {
    const KEY_A = 'sk-ant-api03-ratelimit-a-00000000000000000000000000000000000000000000000000000000000AA';
    const KEY_B = 'sk-ant-api03-ratelimit-b-00000000000000000000000000000000000000000000000000000000000AA';
    process.env.GANTRY_TEST_RL_A = KEY_A;
    process.env.GANTRY_TEST_RL_B = KEY_B;
    // Tier `tiny` (5 requests a minute) per organization: key a runs out, key b (another org) has room.
    const sim = await startSimulator({
      profile: 'perf',
      tier: 'tiny',
      acceptedKeys: { [KEY_A]: 'org-a', [KEY_B]: 'org-b' },
      requestLogSize: 2000,
    });
    const { gateway } = await startResilientGateway(sim, {
      environments: {
        prod: {
          name: 'prod',
          upstreamKey: 'env:GANTRY_TEST_RL_A',
          upstreamKeys: [
            { id: 'a', key: 'env:GANTRY_TEST_RL_A', state: 'active', weight: 1000 },
            { id: 'b', key: 'env:GANTRY_TEST_RL_B', state: 'active', weight: 0.001 },
          ],
        },
      },
    });
    try {
      const fallbacks: Array<string | null> = [];
      for (let i = 0; i < 7; i++) {
        const { res, text } = await post(gateway, body({ model: FALLBACK }));
        assert.equal(res.status, 200, text);
        fallbacks.push(res.headers.get('gantry-fallback'));
      }
      const limited = messageAttempts(sim).filter((r) => r.status === 429);
      assert.ok(limited.length > 0, 'key a was rate limited');
      assert.ok(limited.every((r) => r.headers['x-api-key'] === KEY_A));
      assert.ok(fallbacks.includes('key:b'), `fallbacks ${fallbacks}`);
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});
