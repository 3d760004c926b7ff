/**
 * Compatibility: the oldest supported 0.x official TypeScript SDK (0.39, as
 * the `anthropic-sdk-039` dev dependency) and the latest 1.x drive the gateway
 * in front of the simulator: create, stream, tools, count_tokens, batches (with
 * cancel and delete) and the error classes. The same scenarios run for both.
 * test/conformance.sdk.test.ts covers the 1.x SDK in more depth.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import Anthropic039 from 'anthropic-sdk-039';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

const MODEL = 'claude-haiku-4-5';
const versionOf = (dir: string): string =>
  JSON.parse(readFileSync(new URL(`../node_modules/${dir}/package.json`, import.meta.url), 'utf8')).version;
let sim: Simulator;
let gateway: Gateway;

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], batchProcessingMs: 30 });
  // Local mode (the SDK sends the upstream key); one attempt, so the SDKs see each upstream error.
  ({ gateway } = await startTestGateway(sim.url, { resilience: { maxAttempts: 1 } }));
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => sim.state.reset());

/** What both SDK generations share, typed loosely: each is checked at run time. */
// biome-ignore lint/suspicious/noExplicitAny: two SDK generations with different types, one scenario list
type AnySdk = any;
type ErrorClasses = Record<string, new (...args: never[]) => Error>;

const CLIENTS: Array<{ name: string; make: () => AnySdk; errors: ErrorClasses }> = [
  {
    name: `@anthropic-ai/sdk ${versionOf('anthropic-sdk-039')}`,
    make: () => new Anthropic039({ apiKey: UPSTREAM_KEY, baseURL: gateway.url, maxRetries: 0 }),
    errors: Anthropic039 as unknown as ErrorClasses,
  },
  {
    name: `@anthropic-ai/sdk ${versionOf('@anthropic-ai/sdk')}`,
    make: () => new Anthropic({ apiKey: UPSTREAM_KEY, baseURL: gateway.url, maxRetries: 0 }),
    errors: Anthropic as unknown as ErrorClasses,
  },
];

const params = (text: string, extra: object = {}) => ({
  model: MODEL,
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

async function endedBatch(client: AnySdk, id: string) {
  let batch = await client.messages.batches.retrieve(id);
  for (let i = 0; i < 200 && batch.processing_status !== 'ended'; i++) {
    await new Promise((r) => setTimeout(r, 10));
    batch = await client.messages.batches.retrieve(id);
  }
  return batch;
}

for (const c of CLIENTS) {
  describe(`${c.name} through the gateway`, () => {
    test('messages.create', async () => {
      const message = await c.make().messages.create(params('Hello from an SDK'));
      assert.equal(message.type, 'message');
      assert.match(message.content[0].text, /Hello from an SDK/);
      assert.ok(message.usage.output_tokens > 0);
      assert.equal(message._request_id, sim.state.requests.all().at(-1)?.requestId);
    });

    test('messages.stream: text events, and the final message matches them', async () => {
      sim.state.enqueue({ lorem: 40, chunkSize: 7 });
      const stream = c.make().messages.stream(params('stream it'));
      let text = '';
      stream.on('text', (t: string) => {
        text += t;
      });
      const final = await stream.finalMessage();
      assert.ok(text.length > 40);
      assert.equal(final.content[0].text, text);
      assert.equal(final.stop_reason, 'end_turn');
    });

    test('tools: a forced tool call, then the tool result answered', async () => {
      const client = c.make();
      const first = await client.messages.create(
        params('Weather in Paris?', {
          tools: [weatherTool],
          tool_choice: { type: 'tool', name: 'get_weather' },
        }),
      );
      assert.equal(first.stop_reason, 'tool_use');
      const call = first.content.find((b: { type: string }) => b.type === 'tool_use');
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof call.input.city, 'string');
      const second = await client.messages.create({
        model: MODEL,
        max_tokens: 256,
        tools: [weatherTool],
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: call.id, content: '18 °C and sunny' }],
          },
        ],
      });
      assert.match(second.content[0].text, /18 °C and sunny/);
    });

    test('tools: a streamed tool call arrives as input JSON', async () => {
      const stream = c
        .make()
        .messages.stream(params('Weather?', { tools: [weatherTool], tool_choice: { type: 'any' } }));
      const final = await stream.finalMessage();
      const call = final.content.find((b: { type: string }) => b.type === 'tool_use');
      assert.deepEqual(Object.keys(call.input), ['city']);
    });

    test('messages.countTokens', async () => {
      const client = c.make();
      const counted = await client.messages.countTokens({
        model: MODEL,
        messages: params('count me').messages,
      });
      const message = await client.messages.create(params('count me'));
      assert.equal(counted.input_tokens, message.usage.input_tokens);
    });

    test('batches: create, retrieve, list, results', async () => {
      const client = c.make();
      const batch = await client.messages.batches.create({
        requests: [
          { custom_id: 'a', params: params('first') },
          { custom_id: 'b', params: params('second') },
        ],
      });
      const ended = await endedBatch(client, batch.id);
      assert.equal(ended.processing_status, 'ended');
      // The gateway's own results URL (a path, or under server.public_url), never the upstream's.
      assert.ok(ended.results_url.endsWith(`/v1/messages/batches/${batch.id}/results`), ended.results_url);
      assert.ok(!ended.results_url.startsWith(sim.url), ended.results_url);
      const results: Record<string, string> = {};
      for await (const line of await client.messages.batches.results(batch.id))
        results[line.custom_id] = line.result.type;
      assert.deepEqual(results, { a: 'succeeded', b: 'succeeded' });
      const listed = await client.messages.batches.list({ limit: 10 });
      assert.ok(listed.data.some((b: { id: string }) => b.id === batch.id));
    });

    // 0.39 sends `content-type: application/json` with an empty body on cancel and delete:
    // a route without a body accepts an empty body whatever its content type.
    test('batches: cancel and delete', async () => {
      const client = c.make();
      sim.state.batches.processingMs = 60_000;
      const batch = await client.messages.batches.create({
        requests: [{ custom_id: 'a', params: params('x') }],
      });
      const canceling = await client.messages.batches.cancel(batch.id);
      assert.equal(canceling.processing_status, 'canceling');
      const ended = await endedBatch(client, batch.id);
      assert.equal(ended.request_counts.canceled, 1);
      const deleted = await client.messages.batches.delete(batch.id);
      assert.equal(deleted.type, 'message_batch_deleted');
    });

    const errors: Array<[number, string]> = [
      [400, 'BadRequestError'],
      [401, 'AuthenticationError'],
      [403, 'PermissionDeniedError'],
      [404, 'NotFoundError'],
      [429, 'RateLimitError'],
      [500, 'InternalServerError'],
      // 0.39 has no OverloadedError: a 529 is an InternalServerError there.
      [529, c.errors.OverloadedError ? 'OverloadedError' : 'InternalServerError'],
    ];
    for (const [status, name] of errors) {
      test(`upstream ${status} is a ${name} with the upstream request id`, async () => {
        sim.state.addFault({ kind: 'status', status, count: 1, path: '/v1/messages' });
        const err: unknown = await c
          .make()
          .messages.create(params('fail'))
          .then(
            () => assert.fail('expected an error'),
            (e: unknown) => e,
          );
        assert.ok(err instanceof c.errors[name], `${(err as object).constructor.name}`);
        // 1.x names it requestID; 0.39 keeps the response headers.
        const e = err as unknown as { status: number; requestID?: string; headers?: Record<string, string> };
        assert.equal(e.status, status);
        const requestId = e.requestID ?? e.headers?.['request-id'];
        assert.equal(requestId, sim.state.requests.all().at(-1)?.requestId);
      });
    }

    test('the gateway’s own 401 is an AuthenticationError', async () => {
      const client = c.make();
      client.apiKey = 'sk-ant-api03-wrong';
      await assert.rejects(client.messages.create(params('x')), c.errors.AuthenticationError);
    });
  });
}
