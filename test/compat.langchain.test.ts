/**
 * Compatibility: LangChain's `ChatAnthropic` (@langchain/anthropic) drives the
 * gateway in front of the simulator: invoke, stream, tool calls (bindTools,
 * then the tool result answered), structured output, and errors (the
 * underlying SDK's error classes with their status). LangChain calls neither
 * count_tokens nor batches through its chat model.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ChatAnthropic } from '@langchain/anthropic';
import { type AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
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

const chat = (extra: Partial<ConstructorParameters<typeof ChatAnthropic>[0]> = {}) =>
  new ChatAnthropic({
    model: MODEL,
    apiKey: UPSTREAM_KEY,
    anthropicApiUrl: gateway.url,
    maxRetries: 0,
    ...extra,
  });
const lastBody = () => sim.state.requests.all().at(-1)?.body as Record<string, unknown>;

const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  schema: z.object({ city: z.string() }),
};

describe('LangChain ChatAnthropic through the gateway', () => {
  test('invoke', async () => {
    const reply = await chat().invoke('Hello from LangChain');
    assert.match(String(reply.content), /Hello from LangChain/);
    assert.ok((reply.usage_metadata?.output_tokens ?? 0) > 0);
  });

  test('stream: chunks add up to the reply', async () => {
    sim.state.enqueue({ lorem: 50, chunkSize: 8 });
    let text = '';
    for await (const chunk of await chat().stream('stream please')) text += String(chunk.content);
    assert.ok(text.length > 80, text);
    assert.equal(lastBody().stream, true);
  });

  test('tools: bindTools gives tool_calls, and the tool result is answered', async () => {
    sim.state.enqueue(
      { toolUse: { name: 'get_weather', input: { city: 'Paris' } } },
      { text: 'Sunny, 18 °C.' },
    );
    const model = chat().bindTools([weather]);
    const first = (await model.invoke([new HumanMessage('Weather in Paris?')])) as AIMessage;
    assert.equal(first.tool_calls?.length, 1);
    const call = first.tool_calls![0];
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(call.args, { city: 'Paris' });
    const second = await model.invoke([
      new HumanMessage('Weather in Paris?'),
      first,
      new ToolMessage({ tool_call_id: call.id!, content: '18 °C, sunny' }),
    ]);
    assert.equal(second.content, 'Sunny, 18 °C.');
  });

  test('withStructuredOutput: a valid object', async () => {
    const Person = z.object({ name: z.string(), age: z.number().int().min(0) });
    const person = await chat().withStructuredOutput(Person).invoke('Describe someone');
    assert.deepEqual(Person.parse(person), person);
  });

  for (const [status, name] of [
    [400, 'BadRequestError'],
    [401, 'AuthenticationError'],
    [429, 'RateLimitError'],
    // LangChain bundles SDK 0.x, which has no OverloadedError: a 529 is an InternalServerError there.
    [529, 'InternalServerError'],
  ] as const) {
    test(`upstream ${status} is the SDK's ${name} with its status`, async () => {
      sim.state.addFault({ kind: 'status', status, count: 1, path: '/v1/messages' });
      const err = await chat()
        .invoke('fail')
        .then(
          () => assert.fail('expected an error'),
          (e: unknown) => e as Error & { status?: number },
        );
      assert.equal(err.constructor.name, name);
      assert.equal(err.status, status);
    });
  }
});
