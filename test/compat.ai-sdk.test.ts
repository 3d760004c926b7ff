/**
 * Compatibility: the Vercel AI SDK (`ai` with `@ai-sdk/anthropic`) drives the
 * gateway in front of the simulator: generateText, streamText, tool calls over
 * several steps, generateObject in its default mode (native structured
 * outputs, `output_config.format`), and errors (APICallError with the status
 * and whether it is retryable). The AI SDK has no count_tokens or batches.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createAnthropic } from '@ai-sdk/anthropic';
import { APICallError, generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

const MODEL = 'claude-haiku-4-5';
let sim: Simulator;
let gateway: Gateway;

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway } = await startTestGateway(sim.url, { resilience: { maxAttempts: 1 } }));
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => sim.state.reset());

/** The provider as an app configures it: the gateway's URL (with /v1) instead of api.anthropic.com. */
const model = () => createAnthropic({ baseURL: `${gateway.url}/v1`, apiKey: UPSTREAM_KEY })(MODEL);
const lastBody = () => sim.state.requests.all().at(-1)?.body as Record<string, unknown>;

describe('Vercel AI SDK through the gateway', () => {
  test('generateText', async () => {
    const result = await generateText({ model: model(), prompt: 'Hello from the AI SDK', maxRetries: 0 });
    assert.match(result.text, /Hello from the AI SDK/);
    assert.equal(result.finishReason, 'stop');
    assert.ok((result.usage.outputTokens ?? 0) > 0);
  });

  test('streamText: the streamed text is the whole reply', async () => {
    sim.state.enqueue({ lorem: 60, chunkSize: 9 });
    const result = streamText({ model: model(), prompt: 'stream please', maxRetries: 0 });
    let streamed = '';
    for await (const part of result.textStream) streamed += part;
    assert.ok(streamed.length > 100);
    assert.equal(streamed, await result.text);
    assert.equal(lastBody().stream, true);
  });

  test('tools: a tool call is executed and its result answered in the next step', async () => {
    sim.state.enqueue(
      { text: 'Let me look.', toolUse: { name: 'weather', input: { city: 'Paris' } } },
      { text: 'It is 18 °C in Paris.' },
    );
    const calls: string[] = [];
    const result = await generateText({
      model: model(),
      prompt: 'Weather in Paris?',
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        weather: tool({
          description: 'Weather for a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            calls.push(city);
            return { city, celsius: 18 };
          },
        }),
      },
    });
    assert.deepEqual(calls, ['Paris']);
    assert.equal(result.steps.length, 2);
    assert.equal(result.text, 'It is 18 °C in Paris.');
    // The second request carried the tool result back, through the gateway.
    const messages = lastBody().messages as Array<{ content: Array<{ type: string; content?: unknown }> }>;
    assert.ok(
      messages.some((m) => Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_result')),
    );
  });

  test('generateObject in its default mode: native structured outputs, a valid object', async () => {
    const Recipe = z.object({
      name: z.string(),
      servings: z.number().int().min(1).max(8),
      ingredients: z.array(z.object({ item: z.string(), grams: z.number().positive() })).min(1),
      vegan: z.boolean(),
    });
    const { object } = await generateObject({
      model: model(),
      schema: Recipe,
      prompt: 'A recipe',
      maxRetries: 0,
    });
    assert.deepEqual(Recipe.parse(object), object);
    const format = (lastBody().output_config as { format?: { type: string } } | undefined)?.format;
    assert.equal(format?.type, 'json_schema', 'the default mode sends output_config.format');
  });

  for (const [status, retryable] of [
    [400, false],
    [401, false],
    [429, true],
    [529, true],
  ] as const) {
    test(`upstream ${status}: APICallError with statusCode ${status}, isRetryable ${retryable}`, async () => {
      sim.state.addFault({ kind: 'status', status, count: 1, path: '/v1/messages' });
      const err = await generateText({ model: model(), prompt: 'fail', maxRetries: 0 }).then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
      assert.ok(APICallError.isInstance(err), String(err));
      assert.equal(err.statusCode, status);
      assert.equal(err.isRetryable, retryable);
      assert.equal(err.responseHeaders?.['request-id'], sim.state.requests.all().at(-1)?.requestId);
    });
  }
});
