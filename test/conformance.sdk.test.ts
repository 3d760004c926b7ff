/**
 * Conformance: the official @anthropic-ai/sdk -> gateway -> simulator, all in
 * process on port 0. The SDK must not notice the gateway: same messages,
 * streams, errors and error classes, request ids, retries.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { type LogSink, startTestGateway, UPSTREAM_KEY } from './support.ts';

const VIRTUAL_KEY = 'gk_conformanceKey000000000000000000000000000';
const MODEL = 'claude-haiku-4-5';

let sim: Simulator;
let gateway: Gateway;
let logs: LogSink;

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], batchProcessingMs: 50 });
  ({ gateway, logs } = await startTestGateway(sim.url, {
    environments: { prod: { name: 'prod', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' } },
    // The gateway makes one attempt (max_attempts: 1), so these tests see the SDK's own rules at work
    // (test/resilience.test.ts covers the gateway's retries).
    clients: [
      {
        name: 'checkout',
        environment: 'prod',
        keySha256: hashKey(VIRTUAL_KEY),
        limits: {},
        resilience: { maxAttempts: 1 },
      },
    ],
  }));
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => sim.state.reset());

const sdk = (options: ConstructorParameters<typeof Anthropic>[0] = {}) =>
  new Anthropic({ apiKey: VIRTUAL_KEY, baseURL: gateway.url, maxRetries: 0, ...options });

const lastSimRequest = () => {
  const all = sim.state.requests.all();
  return all[all.length - 1];
};

const params = (text: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});

describe('SDK through the gateway', () => {
  test('messages.create returns the message, with the upstream request id', async () => {
    const message = await sdk().messages.create(params('Hello through the gateway'));
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.content[0].type, 'text');
    assert.match((message.content[0] as { text: string }).text, /Hello through the gateway/);
    assert.equal(message.stop_reason, 'end_turn');
    assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0);
    assert.equal(message._request_id, lastSimRequest().requestId);
  });

  test('messages.stream() emits text events and finalMessage() matches them', async () => {
    sim.state.enqueue({ lorem: 40, chunkSize: 12 });
    const stream = sdk().messages.stream(params('stream please'));
    let text = '';
    stream.on('text', (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    assert.ok(text.length > 50);
    assert.equal((final.content[0] as { text: string }).text, text);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(stream.request_id, lastSimRequest().requestId);
    // The gateway read the cumulative usage off the stream (overwrite, not sum).
    const line = logs.records().findLast((r) => r.upstream_request_id === stream.request_id);
    assert.ok(line);
    assert.deepEqual(line.usage, {
      input_tokens: final.usage.input_tokens,
      output_tokens: final.usage.output_tokens,
      cache_creation_5m_input_tokens: 0,
      cache_creation_1h_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    assert.equal(line.stream, true);
    assert.equal(line.client, 'checkout');
    assert.equal(line.outcome, 'ok');
  });

  test('a tool_use reply streams input_json_delta and parses into input', async () => {
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather for a city',
        input_schema: {
          type: 'object' as const,
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
    ];
    const stream = sdk().messages.stream(
      params('weather?', { tools, tool_choice: { type: 'tool', name: 'get_weather' } }),
    );
    const final = await stream.finalMessage();
    const block = final.content.find((b) => b.type === 'tool_use');
    assert.ok(block && block.type === 'tool_use');
    assert.equal(block.name, 'get_weather');
    assert.equal(typeof (block.input as { city?: unknown }).city, 'string');
    assert.equal(final.stop_reason, 'tool_use');
  });

  test('countTokens equals the input tokens of the same message', async () => {
    const body = params('count these tokens for me, please');
    const counted = await sdk().messages.countTokens({ model: body.model, messages: body.messages });
    const message = await sdk().messages.create(body);
    assert.equal(counted.input_tokens, message.usage.input_tokens);
  });

  test('models.list auto-paginates and models.retrieve resolves an alias', async () => {
    const ids: string[] = [];
    for await (const model of sdk().models.list({ limit: 3 })) ids.push(model.id);
    assert.ok(ids.length > 3);
    assert.equal(new Set(ids).size, ids.length);
    const model = await sdk().models.retrieve('claude-sonnet-4-5');
    assert.equal(model.id, 'claude-sonnet-4-5-20250929');
  });

  test('a batch goes from create to results through the gateway', async () => {
    const client = sdk();
    const batch = await client.messages.batches.create({
      requests: [
        { custom_id: 'one', params: params('first') },
        { custom_id: 'two', params: params('second') },
      ],
    });
    assert.equal(batch.processing_status, 'in_progress');
    let current = batch;
    for (let i = 0; i < 100 && current.processing_status !== 'ended'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      current = await client.messages.batches.retrieve(batch.id);
    }
    assert.equal(current.processing_status, 'ended');
    // No server.public_url here: a path the SDK joins to its base URL (never the Host header).
    assert.equal(current.results_url, `/v1/messages/batches/${batch.id}/results`);
    const results: Record<string, string> = {};
    for await (const line of await client.messages.batches.results(batch.id)) {
      results[line.custom_id] = line.result.type;
    }
    assert.deepEqual(results, { one: 'succeeded', two: 'succeeded' });
    const listed = await client.messages.batches.list({ limit: 5 });
    assert.ok(listed.data.some((b) => b.id === batch.id));
  });

  const ERRORS: Array<[number, new (...args: never[]) => Error]> = [
    [400, Anthropic.BadRequestError],
    [401, Anthropic.AuthenticationError],
    [402, Anthropic.PaymentRequiredError],
    [403, Anthropic.PermissionDeniedError],
    [404, Anthropic.NotFoundError],
    [409, Anthropic.ConflictError],
    [413, Anthropic.ContentTooLargeError],
    [429, Anthropic.RateLimitError],
    [500, Anthropic.InternalServerError],
    [503, Anthropic.ServiceUnavailableError],
    [504, Anthropic.GatewayTimeoutError],
    [529, Anthropic.OverloadedError],
  ];
  for (const [status, ErrorClass] of ERRORS) {
    test(`upstream ${status} reaches the SDK as ${ErrorClass.name} with the upstream request id`, async () => {
      sim.state.addFault({ kind: 'status', status, count: 1, path: '/v1/messages' });
      const err = await sdk()
        .messages.create(params('fail me'))
        .then(
          () => assert.fail('expected an error'),
          (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
        );
      assert.ok(err instanceof ErrorClass, `${(err as Error).constructor.name}`);
      assert.equal(err.status, status);
      assert.equal(err.requestID, lastSimRequest().requestId);
      assert.match(String(err.requestID), /^req_/);
      assert.equal((err.error as { type: string }).type, 'error');
    });
  }

  test('SDK retries a 429 after the retry-after the upstream sent', async () => {
    sim.state.addFault({ kind: 'status', status: 429, count: 1, retryAfter: 1, path: '/v1/messages' });
    const started = performance.now();
    const message = await sdk({ maxRetries: 2 }).messages.create(params('retry me'));
    const elapsed = performance.now() - started;
    assert.equal(message.type, 'message');
    assert.ok(elapsed >= 950, `retried after ${elapsed} ms, expected >= 1 s`);
    const attempts = sim.state.requests.all().filter((r) => r.path === '/v1/messages');
    assert.equal(attempts.length, 2);
    assert.deepEqual(
      attempts.map((r) => r.headers['x-stainless-retry-count']),
      ['0', '1'],
    );
  });

  test('SDK retries 529 twice after retry-after-ms, then succeeds', async () => {
    sim.state.addFault({ kind: 'status', status: 529, count: 2, retryAfterMs: 150, path: '/v1/messages' });
    const started = performance.now();
    const message = await sdk({ maxRetries: 2 }).messages.create(params('overloaded'));
    const elapsed = performance.now() - started;
    assert.equal(message.type, 'message');
    assert.ok(elapsed >= 290 && elapsed < 900, `elapsed ${elapsed} ms for two 150 ms waits`);
    assert.equal(sim.state.requests.all().filter((r) => r.path === '/v1/messages').length, 3);
  });

  test('x-should-retry: false from the upstream stops the SDK from retrying', async () => {
    sim.state.addFault({ kind: 'status', status: 500, count: 3, shouldRetry: false, path: '/v1/messages' });
    await assert.rejects(
      sdk({ maxRetries: 2 }).messages.create(params('no retry')),
      Anthropic.InternalServerError,
    );
    assert.equal(sim.state.requests.all().filter((r) => r.path === '/v1/messages').length, 1);
  });

  test('a mid-stream error event makes the SDK throw, not retry', async () => {
    sim.state.addFault({ kind: 'stream_error', afterEvents: 3, count: 1 });
    const stream = sdk({ maxRetries: 2 }).messages.stream(params('break mid-way'));
    await assert.rejects(stream.finalMessage(), (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.match(String((err as Error).message), /overloaded/i);
      return true;
    });
    assert.equal(sim.state.requests.all().filter((r) => r.path === '/v1/messages').length, 1);
  });

  test('an upstream connection cut mid-stream reaches the client as an SSE error event', async () => {
    sim.state.addFault({ kind: 'cut', afterEvents: 4, count: 1, cutMode: 'destroy' });
    const stream = sdk().messages.stream(params('cut me off'));
    await assert.rejects(stream.finalMessage(), (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError, String(err));
      assert.match(String((err as Error).message), /interrupted/);
      return true;
    });
    const line = logs.records().findLast((r) => r.route === 'messages' && r.stream === true);
    assert.equal(line?.outcome, 'stream_error');
    assert.equal(line?.gantry_code, 'stream_interrupted');
  });

  test('Authorization: Bearer (SDK 1.x) and x-api-key both authenticate; neither reaches the upstream', async () => {
    await sdk().messages.create(params('bearer'));
    const viaBearer = lastSimRequest().headers;
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': VIRTUAL_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify(params('x-api-key style')),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('request-id'), lastSimRequest().requestId);
    assert.match(res.headers.get('gantry-request-id') ?? '', /^gtw_/);
    const viaApiKey = lastSimRequest().headers;
    for (const headers of [viaBearer, viaApiKey]) {
      assert.equal(headers['x-api-key'], UPSTREAM_KEY);
      assert.equal(headers.authorization, undefined);
    }
    assert.equal(viaBearer['anthropic-version'], '2026-10-21');
    assert.equal(viaApiKey['anthropic-version'], '2023-06-01');
  });

  test('a wrong or missing virtual key is an AuthenticationError with a Gantry request id', async () => {
    const err = await sdk({ apiKey: 'gk_wrong' })
      .messages.create(params('x'))
      .catch((e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    assert.ok(err instanceof Anthropic.AuthenticationError);
    assert.match(String(err.requestID), /^gtw_/);
    assert.equal(sim.state.requests.all().length, 0, 'nothing reached the upstream');
    const res = await fetch(`${gateway.url}/v1/models`);
    assert.equal(res.status, 401);
    const body = (await res.json()) as { type: string; error: { type: string }; request_id: string };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'authentication_error');
    assert.equal(body.request_id, res.headers.get('request-id'));
  });

  test('rate-limit headers and the beta query string pass through', async () => {
    sim.state.setTier('build'); // the perf profile runs unlimited, without rate-limit headers
    const res = await fetch(`${gateway.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${VIRTUAL_KEY}`,
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'some-beta-2026-01-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify(params('headers')),
    });
    assert.equal(res.status, 200);
    for (const h of ['requests', 'input-tokens', 'output-tokens']) {
      assert.ok(res.headers.get(`anthropic-ratelimit-${h}-limit`), h);
      assert.ok(res.headers.get(`anthropic-ratelimit-${h}-remaining`), h);
    }
    const seen = lastSimRequest();
    assert.equal(seen.url, '/v1/messages?beta=true');
    assert.equal(seen.headers['anthropic-beta'], 'some-beta-2026-01-01');
  });
});
