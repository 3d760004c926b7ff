/**
 * Which clients honour `x-should-retry` (issue 14.10): under persistent 529s
 * the gateway makes its own attempts, then answers with `x-should-retry:
 * false`. A client that honours the header stops there; one that ignores it
 * multiplies the upstream attempts. Counted in the simulator's request log;
 * docs/resilience.md ("Clients and x-should-retry") states the result.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createAnthropic } from '@ai-sdk/anthropic';
import Anthropic from '@anthropic-ai/sdk';
import { ChatAnthropic } from '@langchain/anthropic';
import { generateText } from 'ai';
import Anthropic039 from 'anthropic-sdk-039';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

const MODEL = 'claude-haiku-4-5';
/** The gateway's attempts per request in this suite. */
const GATEWAY_ATTEMPTS = 2;
let sim: Simulator;
let gateway: Gateway;

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway } = await startTestGateway(sim.url, {
    // A generous retry budget and a breaker that does not open: every request here fails on purpose.
    resilience: {
      maxAttempts: GATEWAY_ATTEMPTS,
      retryBudget: { ratio: 1, minRetries: 1000, windowMs: 60_000 },
      breaker: { failureRate: 0.99, window: 10_000, minVolume: 10_000, cooldownMs: 1_000 },
    },
  }));
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => {
  sim.state.reset();
  // Overloaded until the test ends; retry-after-ms keeps every client's backoff short.
  sim.state.addFault({ kind: 'status', status: 529, count: 1000, retryAfterMs: 5, path: '/v1/messages' });
});

const upstreamAttempts = () => sim.state.requests.all().filter((r) => r.path === '/v1/messages').length;
const prompt = 'overloaded?';
const failing = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('expected a 529'),
    (e: unknown) => e,
  );

describe('the gateway tells clients not to retry on top of its own retries', () => {
  test('its final 529 carries x-should-retry: false', async () => {
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': UPSTREAM_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: prompt }] }),
    });
    assert.equal(res.status, 529);
    assert.equal(res.headers.get('x-should-retry'), 'false');
    assert.equal(upstreamAttempts(), GATEWAY_ATTEMPTS);
  });
});

describe('clients that honour x-should-retry: one request, the gateway’s attempts only', () => {
  for (const [name, make] of [
    [
      '@anthropic-ai/sdk 1.x (default maxRetries 2)',
      () => new Anthropic({ apiKey: UPSTREAM_KEY, baseURL: gateway.url }),
    ],
    [
      '@anthropic-ai/sdk 0.39 (default maxRetries 2)',
      () => new Anthropic039({ apiKey: UPSTREAM_KEY, baseURL: gateway.url }),
    ],
  ] as const) {
    test(name, async () => {
      const client = make() as Anthropic;
      await failing(
        client.messages.create({
          model: MODEL,
          max_tokens: 8,
          messages: [{ role: 'user', content: prompt }],
        }),
      );
      assert.equal(upstreamAttempts(), GATEWAY_ATTEMPTS);
    });
  }
});

describe('clients that ignore x-should-retry: turn their retries off', () => {
  const ai = () => createAnthropic({ baseURL: `${gateway.url}/v1`, apiKey: UPSTREAM_KEY })(MODEL);

  test('Vercel AI SDK, default maxRetries (2): three times the gateway’s attempts', async () => {
    await failing(generateText({ model: ai(), prompt }));
    assert.equal(upstreamAttempts(), GATEWAY_ATTEMPTS * 3);
  });

  test('Vercel AI SDK with maxRetries: 0: the gateway’s attempts only', async () => {
    await failing(generateText({ model: ai(), prompt, maxRetries: 0 }));
    assert.equal(upstreamAttempts(), GATEWAY_ATTEMPTS);
  });

  const lc = (maxRetries: number) =>
    new ChatAnthropic({ model: MODEL, apiKey: UPSTREAM_KEY, anthropicApiUrl: gateway.url, maxRetries });

  test('LangChain ChatAnthropic with maxRetries: 1: twice the gateway’s attempts (the default is 6)', async () => {
    await failing(lc(1).invoke(prompt));
    assert.equal(upstreamAttempts(), GATEWAY_ATTEMPTS * 2);
  });

  test('LangChain ChatAnthropic with maxRetries: 0: the gateway’s attempts only', async () => {
    await failing(lc(0).invoke(prompt));
    assert.equal(upstreamAttempts(), GATEWAY_ATTEMPTS);
  });
});
