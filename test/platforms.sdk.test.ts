/**
 * The official Bedrock and Vertex SDKs (`@anthropic-ai/bedrock-sdk`,
 * `@anthropic-ai/vertex-sdk`) against the simulator's platform routes: create,
 * stream, tools and errors come back as the SDKs expect them from the real
 * platforms (SigV4-signed requests verified, event-stream framing decoded by
 * the SDK's own decoder, Google errors, error classes).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';
import AnthropicVertex from '@anthropic-ai/vertex-sdk';
import { OAuth2Client } from 'google-auth-library';
import { SIMULATOR_AWS_KEY, type Simulator, startSimulator } from '../src/simulator/index.ts';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ profile: 'perf', tier: 'build' });
});
after(() => sim.close());
beforeEach(() => sim.state.reset());

const TOOL = {
  name: 'get_weather',
  description: 'Weather of a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

const bedrock = (o: { secret?: string; maxRetries?: number } = {}) =>
  new AnthropicBedrock({
    awsRegion: 'us-east-1',
    awsAccessKey: SIMULATOR_AWS_KEY.accessKeyId,
    awsSecretKey: o.secret ?? SIMULATOR_AWS_KEY.secretAccessKey,
    apiKey: null,
    baseURL: sim.url,
    maxRetries: o.maxRetries ?? 0,
  });

const vertex = (token = sim.state.platformAuth.issueToken().token, maxRetries = 0) => {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return new AnthropicVertex({
    region: 'us-east5',
    projectId: 'gantry-test-project',
    baseURL: `${sim.url}/v1`,
    // google-auth-library 11 here, 10 in the Vertex SDK: the same AuthClient contract.
    authClient: authClient as never,
    maxRetries,
  });
};

const logged = () => sim.state.requests.all().at(-1)!;

describe('Bedrock SDK against the simulator', () => {
  const MODEL = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';

  it('create: a signed InvokeModel request, a Message with Bedrock ids', async () => {
    const { data: msg, response } = await bedrock()
      .messages.create({
        model: MODEL,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hello Bedrock' }],
      })
      .withResponse();
    assert.equal(msg.type, 'message');
    assert.match(msg.id, /^msg_bdrk_/);
    assert.equal(msg.model, 'claude-sonnet-4-5-20250929');
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello Bedrock', citations: null }]);
    assert.ok(msg.usage.input_tokens > 0);
    assert.match(response.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
    const seen = logged();
    assert.equal(seen.path, `/model/${MODEL}/invoke`);
    assert.match(String(seen.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIAGANTRYSIMULATOR0\//);
    assert.equal((seen.body as { model?: string }).model, undefined);
  });

  it('stream: event-stream frames decode into the usual events and final message', async () => {
    const stream = bedrock().messages.stream({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Stream me through Bedrock please' }],
    });
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'Stream me through Bedrock please' }]);
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.ok(types.includes('content_block_delta'));
    assert.equal(types.includes('ping'), false, 'Bedrock sends no pings');
    assert.equal(logged().path, `/model/${MODEL}/invoke-with-response-stream`);
  });

  it('tools: a tool_use block with its input', async () => {
    sim.state.enqueue({ toolUse: { name: 'get_weather', input: { city: 'Paris' } } });
    const msg = await bedrock().messages.create({
      model: MODEL,
      max_tokens: 200,
      tools: [TOOL],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    assert.equal(msg.stop_reason, 'tool_use');
    const block = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(block && block.type === 'tool_use');
    assert.deepEqual(block.input, { city: 'Paris' });
  });

  it('errors: throttling is a RateLimitError, a wrong secret a PermissionDeniedError, validation a BadRequestError', async () => {
    sim.state.addFault({ kind: 'status', status: 429, platform: 'bedrock', count: 1 });
    await assert.rejects(
      bedrock().messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) =>
        err instanceof AnthropicBedrock.RateLimitError && /message/.test(JSON.stringify(err.error)),
    );
    assert.equal(logged().status, 429);
    await assert.rejects(
      bedrock({ secret: 'not-the-secret' }).messages.create({
        model: MODEL,
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: unknown) =>
        err instanceof AnthropicBedrock.PermissionDeniedError && /signature/.test(String(err.message)),
    );
    await assert.rejects(
      bedrock().messages.create({
        model: 'anthropic.claude-nope-v1:0',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: unknown) =>
        err instanceof AnthropicBedrock.BadRequestError &&
        /model identifier is invalid/.test(String(err.message)),
    );
  });

  it('a throttle is retried by the SDK and then served', async () => {
    sim.state.addFault({ kind: 'status', status: 429, platform: 'bedrock', count: 1 });
    const msg = await bedrock({ maxRetries: 2 }).messages.create({
      model: MODEL,
      max_tokens: 10,
      messages: [{ role: 'user', content: 'again' }],
    });
    assert.equal(msg.type, 'message');
    const statuses = sim.state.requests.all().map((r) => r.status);
    assert.deepEqual(statuses, [429, 200]);
  });

  it('a stream failure after it started is an exception frame the SDK raises', async () => {
    sim.state.addFault({
      kind: 'stream_error',
      platform: 'bedrock',
      errorType: 'overloaded_error',
      afterEvents: 2,
    });
    const stream = bedrock().messages.stream({
      model: MODEL,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'cut me' }],
    });
    await assert.rejects(stream.finalMessage(), (err: unknown) =>
      /serviceUnavailableException|Overloaded/i.test(String(err)),
    );
  });

  it('faults are per platform: an Anthropic 529 storm leaves Bedrock healthy', async () => {
    sim.state.addFault({ kind: 'status', status: 529 });
    const msg = await bedrock().messages.create({
      model: MODEL,
      max_tokens: 10,
      messages: [{ role: 'user', content: 'fine' }],
    });
    assert.equal(msg.type, 'message');
  });
});

describe('Vertex SDK against the simulator', () => {
  const MODEL = 'claude-sonnet-4-5@20250929';

  it('create: rawPredict with the model in the URL and a Message back', async () => {
    const { data: msg } = await vertex()
      .messages.create({
        model: MODEL,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hello Vertex' }],
      })
      .withResponse();
    assert.match(msg.id, /^msg_vrtx_/);
    assert.equal(msg.model, 'claude-sonnet-4-5-20250929');
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello Vertex', citations: null }]);
    const seen = logged();
    assert.equal(
      seen.path,
      `/v1/projects/gantry-test-project/locations/us-east5/publishers/anthropic/models/${MODEL}:rawPredict`,
    );
    assert.match(String(seen.headers.authorization), /^Bearer ya29\.sim-/);
  });

  it('stream: streamRawPredict answers the usual SSE events', async () => {
    const stream = vertex().messages.stream({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Stream me through Vertex' }],
    });
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'Stream me through Vertex' }]);
    assert.match(logged().path, /:streamRawPredict$/);
  });

  it('tools and count_tokens', async () => {
    sim.state.enqueue({ toolUse: { name: 'get_weather', input: { city: 'Oslo' } } });
    const msg = await vertex().messages.create({
      model: MODEL,
      max_tokens: 200,
      tools: [TOOL],
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
    });
    const block = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(block && block.type === 'tool_use');
    assert.deepEqual(block.input, { city: 'Oslo' });
    const count = await vertex().messages.countTokens({
      model: MODEL,
      messages: [{ role: 'user', content: 'count me' }],
    });
    assert.ok(count.input_tokens > 0);
    assert.match(logged().path, /\/models\/count-tokens:rawPredict$/);
  });

  it('errors: an expired token is an AuthenticationError, quota a RateLimitError, overload a 529 error', async () => {
    const token = sim.state.platformAuth.issueToken().token;
    sim.state.platformAuth.expireGoogle();
    await assert.rejects(
      vertex(token).messages.create({
        model: MODEL,
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: unknown) =>
        err instanceof AnthropicVertex.AuthenticationError &&
        /UNAUTHENTICATED|expired/.test(String(err.message)),
    );
    sim.state.addFault({ kind: 'status', status: 429, platform: 'vertex', count: 1 });
    await assert.rejects(
      vertex().messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => err instanceof AnthropicVertex.RateLimitError,
    );
    sim.state.addFault({ kind: 'status', status: 529, platform: 'vertex', count: 1 });
    await assert.rejects(
      vertex().messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) =>
        err instanceof AnthropicVertex.APIError &&
        err.status === 529 &&
        /overloaded_error/.test(JSON.stringify(err.error)),
    );
    await assert.rejects(
      vertex().messages.create({
        model: 'claude-nope@2020',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: unknown) => err instanceof AnthropicVertex.NotFoundError,
    );
  });
});
