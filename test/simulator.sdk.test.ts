/**
 * The official SDK (`@anthropic-ai/sdk` 1.14) against the simulator: the
 * simulator passes when the SDK cannot tell it from the API.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';

const MODEL = 'claude-sonnet-4-6';
let sim: Simulator;
let client: Anthropic;

before(async () => {
  sim = await startSimulator({ profile: 'perf', tier: 'build', batchProcessingMs: 150 });
  client = new Anthropic({ apiKey: 'sk-ant-test-key', baseURL: sim.url, maxRetries: 0 });
});
after(() => sim.close());
beforeEach(() => sim.state.reset());

const lastRequests = async (path = '/v1/messages') => {
  const r = await fetch(`${sim.url}/_sim/requests?path=${encodeURIComponent(path)}`);
  return (
    (await r.json()) as { data: { requestId: string; headers: Record<string, string>; status: number }[] }
  ).data;
};

describe('messages', () => {
  it('create returns a full Message with usage and the request id', async () => {
    const { data: msg, response } = await client.messages
      .create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'Hello from the SDK' }] })
      .withResponse();
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, MODEL);
    assert.match(msg.id, /^msg_/);
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello from the SDK', citations: null }]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0);
    assert.ok(msg.usage.output_tokens > 0);
    assert.equal(msg.usage.cache_read_input_tokens, 0);
    assert.equal(msg.usage.service_tier, 'standard');
    const rid = response.headers.get('request-id');
    assert.match(rid ?? '', /^req_/);
    assert.equal((msg as { _request_id?: string | null })._request_id, rid);
    assert.ok(response.headers.get('anthropic-organization-id'));
    assert.equal(response.headers.get('anthropic-ratelimit-requests-limit'), '5000');
    // The SDK 1.x sends the key as a bearer token and the 2026-10-21 version.
    const [seen] = await lastRequests();
    assert.equal(seen.headers.authorization, 'Bearer sk-ant-test-key');
    assert.equal(seen.headers['anthropic-version'], '2026-10-21');
  });

  it('max_tokens cuts the reply with stop_reason max_tokens; stop sequences are honoured', async () => {
    // Words of up to 4 characters cost one token each under the simulator's estimate.
    const long = 'one two four five six nine ten';
    const cut = await client.messages.create({
      model: MODEL,
      max_tokens: 3,
      messages: [{ role: 'user', content: long }],
    });
    assert.equal(cut.stop_reason, 'max_tokens');
    assert.equal(cut.usage.output_tokens, 3);
    assert.equal((cut.content[0] as { text: string }).text, 'one two four');
    const stopped = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      stop_sequences: ['five'],
      messages: [{ role: 'user', content: long }],
    });
    assert.equal(stopped.stop_reason, 'stop_sequence');
    assert.equal(stopped.stop_sequence, 'five');
    assert.equal((stopped.content[0] as { text: string }).text, 'one two four ');
  });

  it('stream() yields text events and a finalMessage equal to the non-streamed one', async () => {
    const text = 'The quick brown fox jumps over the lazy dog, several times in a row.';
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 200,
      messages: [{ role: 'user', content: text }],
    });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    assert.ok(deltas.length > 1, 'several text deltas');
    assert.equal(deltas.join(''), text);
    assert.equal((final.content[0] as { text: string }).text, text);
    assert.equal(final.stop_reason, 'end_turn');
    const plain = await client.messages.create({
      model: MODEL,
      max_tokens: 200,
      messages: [{ role: 'user', content: text }],
    });
    assert.equal(final.usage.output_tokens, plain.usage.output_tokens);
    assert.equal(final.usage.input_tokens, plain.usage.input_tokens);
  });

  it('raw streaming events follow the API order', async () => {
    const events: string[] = [];
    const s = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      stream: true,
      thinking: { type: 'adaptive' },
      messages: [{ role: 'user', content: 'hello' }],
    });
    for await (const e of s) events.push(e.type === 'content_block_delta' ? `delta:${e.delta.type}` : e.type);
    assert.equal(events[0], 'message_start');
    assert.equal(events.at(-2), 'message_delta');
    assert.equal(events.at(-1), 'message_stop');
    assert.ok(events.includes('delta:thinking_delta'));
    assert.ok(events.includes('delta:signature_delta'));
    assert.ok(events.includes('delta:text_delta'));
  });

  it('tool use: forced tool_choice yields a tool_use block with input from the schema (streamed too)', async () => {
    const tools: Anthropic.Tool[] = [
      {
        name: 'get_weather',
        description: 'Weather for a city',
        input_schema: {
          type: 'object',
          properties: {
            location: { type: 'string' },
            unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
          },
          required: ['location', 'unit'],
        },
      },
    ];
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 200,
      tools,
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    assert.equal(msg.stop_reason, 'tool_use');
    const block = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(block && block.type === 'tool_use');
    assert.equal(block.name, 'get_weather');
    assert.match(block.id, /^toolu_/);
    assert.deepEqual(block.input, { location: 'location_value', unit: 'celsius' });

    sim.state.enqueue({
      text: 'Let me check.',
      toolUse: { name: 'get_weather', input: { location: 'Paris', unit: 'celsius' } },
    });
    const final = await client.messages
      .stream({
        model: MODEL,
        max_tokens: 200,
        tools,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      })
      .finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.content[0].type, 'text');
    const tu = final.content[1];
    assert.ok(tu.type === 'tool_use');
    assert.deepEqual(tu.input, { location: 'Paris', unit: 'celsius' });
  });

  it('countTokens equals the input tokens of the same messages call', async () => {
    const params = {
      model: MODEL,
      system: 'You are terse.',
      messages: [{ role: 'user' as const, content: 'Count these tokens for me, please.' }],
    };
    const counted = await client.messages.countTokens(params);
    const msg = await client.messages.create({ ...params, max_tokens: 10 });
    assert.ok(counted.input_tokens > 0);
    assert.equal(counted.input_tokens, msg.usage.input_tokens);
  });
});

describe('models', () => {
  it('list pages with auto-pagination, newest first; retrieve resolves aliases', async () => {
    const page = await client.models.list({ limit: 3 });
    assert.equal(page.data.length, 3);
    assert.equal(page.has_more, true);
    const all: string[] = [];
    for await (const m of client.models.list({ limit: 4 })) all.push(m.id);
    assert.ok(all.length > 8);
    assert.equal(new Set(all).size, all.length, 'no duplicates across pages');
    assert.ok(all.includes('claude-haiku-4-5-20251001'));
    assert.ok(!all.includes('claude-3-opus-20240229'), 'retired models are not listed by default');
    const retired = await client.models.list({ lifecycle: ['retired'], limit: 100 });
    assert.ok(retired.data.some((m) => m.id === 'claude-3-opus-20240229'));
    assert.ok(retired.data.every((m) => m.lifecycle === 'retired'));

    const info = await client.models.retrieve('claude-haiku-4-5');
    assert.equal(info.id, 'claude-haiku-4-5-20251001');
    assert.equal(info.type, 'model');
    assert.equal(info.max_tokens, 64000);
    await assert.rejects(client.models.retrieve('claude-haiku-4-20250514'), Anthropic.NotFoundError);
  });
});

describe('batches', () => {
  it('create → poll retrieve until ended → results() iterates the JSONL', async () => {
    const batch = await client.messages.batches.create({
      requests: [
        {
          custom_id: 'ok-1',
          params: { model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'first' }] },
        },
        {
          custom_id: 'ok-2',
          params: { model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'second' }] },
        },
        {
          custom_id: 'bad',
          params: { model: 'claude-nope-1', max_tokens: 20, messages: [{ role: 'user', content: 'x' }] },
        },
      ],
    });
    assert.equal(batch.processing_status, 'in_progress');
    assert.equal(batch.request_counts.processing, 3);
    assert.equal(batch.results_url, null);
    let cur = batch;
    const started = Date.now();
    while (cur.processing_status !== 'ended') {
      assert.ok(Date.now() - started < 5000, 'batch ends');
      await new Promise((r) => setTimeout(r, 40));
      cur = await client.messages.batches.retrieve(batch.id);
    }
    assert.deepEqual(cur.request_counts, {
      processing: 0,
      succeeded: 2,
      errored: 1,
      canceled: 0,
      expired: 0,
    });
    assert.ok(cur.ended_at);
    assert.ok(cur.results_url?.startsWith(sim.url));
    const results: Record<string, Anthropic.Messages.Batches.MessageBatchResult> = {};
    for await (const line of await client.messages.batches.results(batch.id))
      results[line.custom_id] = line.result;
    assert.equal(results['ok-1'].type, 'succeeded');
    if (results['ok-1'].type === 'succeeded') {
      assert.equal(results['ok-1'].message.usage.service_tier, 'batch');
      assert.deepEqual(results['ok-1'].message.content[0], { type: 'text', text: 'first', citations: null });
    }
    assert.equal(results.bad.type, 'errored');
    if (results.bad.type === 'errored') assert.equal(results.bad.error.error.type, 'not_found_error');
    const [accept] = (await lastRequests(`/v1/messages/batches/${batch.id}/results`)).map(
      (r) => r.headers.accept,
    );
    assert.equal(accept, 'application/binary');

    const listed = await client.messages.batches.list();
    assert.equal(listed.data[0].id, batch.id);
    const deleted = await client.messages.batches.delete(batch.id);
    assert.deepEqual(deleted, { id: batch.id, type: 'message_batch_deleted' });
    await assert.rejects(client.messages.batches.retrieve(batch.id), Anthropic.NotFoundError);
  });

  it('bad custom_id is rejected synchronously', async () => {
    await assert.rejects(
      client.messages.batches.create({
        requests: [
          {
            custom_id: 'has space',
            params: { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
          },
        ],
      }),
      Anthropic.BadRequestError,
    );
  });
});

describe('errors', () => {
  const cases: [number, string, new (...a: never[]) => Error][] = [
    [400, 'invalid_request_error', Anthropic.BadRequestError],
    [401, 'authentication_error', Anthropic.AuthenticationError],
    [403, 'permission_error', Anthropic.PermissionDeniedError],
    [404, 'not_found_error', Anthropic.NotFoundError],
    [413, 'request_too_large', Anthropic.ContentTooLargeError],
    [429, 'rate_limit_error', Anthropic.RateLimitError],
    [500, 'api_error', Anthropic.InternalServerError],
    [503, 'api_error', Anthropic.ServiceUnavailableError],
    [529, 'overloaded_error', Anthropic.OverloadedError],
  ];
  for (const [status, type, cls] of cases) {
    it(`${status} → ${cls.name} with err.requestID = request-id`, async () => {
      sim.state.addFault({ kind: 'status', status, count: 1, path: '/v1/messages' });
      const err = await client.messages
        .create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
        .then(
          () => assert.fail('expected an error'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof cls, `got ${(err as Error).constructor.name}`);
      const apiErr = err as InstanceType<typeof Anthropic.APIError>;
      assert.equal(apiErr.status, status);
      assert.equal((apiErr.error as { error: { type: string } }).error.type, type);
      const [seen] = await lastRequests();
      assert.equal(apiErr.requestID, seen.requestId);
      assert.equal((apiErr.error as { request_id: string }).request_id, seen.requestId);
      assert.equal(seen.status, status);
    });
  }

  it('real validation errors map too: 400 (bad body), 404 (unknown model), 413 (body over 32 MB), 401 (revoked key)', async () => {
    await assert.rejects(
      client.messages.create({ model: MODEL, max_tokens: 10, messages: [] }),
      (e: unknown) => e instanceof Anthropic.BadRequestError && /at least one message/.test(e.message),
    );
    await assert.rejects(
      client.messages.create({
        model: 'claude-haiku-4-20250514',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof Anthropic.NotFoundError && /claude-haiku-4-5-20251001/.test(e.message),
    );
    const big = 'a'.repeat(33 * 1024 * 1024);
    await assert.rejects(
      client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: big }] }),
      (e: unknown) => e instanceof Anthropic.ContentTooLargeError && e.status === 413,
    );
    sim.state.revokeKey('sk-ant-test-key');
    await assert.rejects(
      client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      Anthropic.AuthenticationError,
    );
  });

  it('a mid-stream error event makes the SDK throw (no retry)', async () => {
    sim.state.addFault({ kind: 'stream_error', afterEvents: 4, count: 1 });
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'a fairly long reply that will be interrupted mid way' }],
    });
    await assert.rejects(stream.finalMessage(), (e: unknown) => {
      assert.ok(e instanceof Anthropic.APIError);
      assert.equal(e.status, undefined);
      assert.equal((e.error as { error: { type: string } }).error.type, 'overloaded_error');
      return true;
    });
    assert.equal((await lastRequests()).length, 1);
  });

  it('the SDK retries a 429 after retry-after and succeeds', async () => {
    const retrying = new Anthropic({ apiKey: 'sk-ant-test-key', baseURL: sim.url, maxRetries: 2 });
    sim.state.addFault({ kind: 'status', status: 429, retryAfter: 1, count: 1, path: '/v1/messages' });
    const t0 = Date.now();
    const msg = await retrying.messages.create({
      model: MODEL,
      max_tokens: 10,
      messages: [{ role: 'user', content: 'x' }],
    });
    const elapsed = Date.now() - t0;
    assert.equal(msg.type, 'message');
    assert.ok(elapsed >= 900 && elapsed < 3000, `waited ${elapsed} ms`);
    const seen = await lastRequests();
    assert.deepEqual(
      seen.map((r) => [r.status, r.headers['x-stainless-retry-count']]),
      [
        [429, '0'],
        [200, '1'],
      ],
    );
  });

  it('x-api-key works as well as Bearer', async () => {
    sim.state.updateKeys({ accept: ['sk-ant-other'] });
    const xClient = new Anthropic({
      apiKey: null,
      authToken: null,
      baseURL: sim.url,
      maxRetries: 0,
      defaultHeaders: { 'x-api-key': 'sk-ant-other' },
    } as ConstructorParameters<typeof Anthropic>[0]);
    const msg = await xClient.messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(msg.type, 'message');
    const [seen] = await lastRequests();
    assert.equal(seen.headers['x-api-key'], 'sk-ant-other');
    // Only the x-api-key is accepted now, so the default Bearer client fails.
    await assert.rejects(
      client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      Anthropic.AuthenticationError,
    );
  });
});
