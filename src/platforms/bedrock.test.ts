/** Bedrock translation: the request (path, body, betas, SigV4), the answers (errors, event stream), one place. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { PlatformAuth, SIMULATOR_AWS_KEY } from '../simulator/platforms/credentials.ts';
import { verifySigV4 } from '../simulator/platforms/sigv4.ts';
import { BEDROCK_ERRORS, BEDROCK_VERSION, bedrockError, createBedrock, memoize } from './bedrock.ts';
import { bedrockStreamToSse, chunkFrame, exceptionFrame, newCodec } from './eventstream.ts';

const secrets = {
  value: (s: string) =>
    s === 'env:ID'
      ? SIMULATOR_AWS_KEY.accessKeyId
      : s === 'env:SECRET'
        ? SIMULATOR_AWS_KEY.secretAccessKey
        : undefined,
  onChange() {},
};
const adapter = () =>
  createBedrock(
    'prod',
    {
      region: 'us-east-1',
      inferenceProfile: 'global',
      endpoint: 'https://bedrock-runtime.us-east-1.amazonaws.com',
      accessKeyId: 'env:ID',
      secretAccessKey: 'env:SECRET',
      models: {},
    },
    secrets,
  );

describe('Bedrock requests', () => {
  it('model into the URL, anthropic_version and betas into the body, Claude-API-only fields out, signed', async () => {
    const b = await adapter();
    const platformModel = b.modelId('messages', 'claude-sonnet-4-5')!;
    assert.equal(platformModel, 'global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    const req = await b.prepare({
      route: 'messages',
      body: {
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        stream: true,
        service_tier: 'auto',
        messages: [{ role: 'user', content: 'hi' }],
      },
      stream: true,
      headers: { 'anthropic-beta': 'a-2025, b-2026', 'x-api-key': 'gk_client' },
      platformModel,
    });
    assert.equal(
      req.path,
      '/model/global.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream',
    );
    const body = JSON.parse(req.body.toString('utf8'));
    assert.deepEqual(body, {
      anthropic_version: BEDROCK_VERSION,
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
      anthropic_beta: ['a-2025', 'b-2026'],
    });
    assert.equal(req.headers['x-api-key'], undefined, "the client's key never reaches AWS");
    assert.match(
      req.headers.authorization,
      /^AWS4-HMAC-SHA256 Credential=AKIAGANTRYSIMULATOR0\/\d{8}\/us-east-1\/bedrock\/aws4_request/,
    );
    // The signature verifies (the simulator's verifier re-signs with Smithy's signer), and fails with another secret.
    const now = Date.parse(
      req.headers['x-amz-date'].replace(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/, '$1-$2-$3T$4:$5:$6Z'),
    );
    const incoming = { method: 'POST', url: req.path, headers: req.headers, body: req.body };
    assert.deepEqual(await verifySigV4(incoming, new PlatformAuth(undefined, () => now), now), {
      ok: true,
      accessKeyId: SIMULATOR_AWS_KEY.accessKeyId,
      region: 'us-east-1',
    });
    const wrong = new PlatformAuth({ aws: [{ ...SIMULATOR_AWS_KEY, secretAccessKey: 'other' }] }, () => now);
    assert.equal(
      ((await verifySigV4(incoming, wrong, now)) as { exception?: string }).exception,
      'InvalidSignatureException',
    );
    const tampered = { ...incoming, body: Buffer.from(req.body.toString().replace('hi', 'ho')) };
    assert.equal((await verifySigV4(tampered, new PlatformAuth(undefined, () => now), now)).ok, false);
  });

  it('count_tokens: the CountTokens API on the foundation model, the body base64 inside', async () => {
    const b = await adapter();
    const req = await b.prepare({
      route: 'count_tokens',
      body: { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] },
      stream: false,
      headers: {},
      platformModel: b.modelId('count_tokens', 'claude-haiku-4-5')!,
    });
    assert.equal(req.path, '/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/count-tokens');
    const inner = JSON.parse(
      Buffer.from(JSON.parse(req.body.toString()).input.invokeModel.body, 'base64').toString(),
    );
    assert.deepEqual(inner, {
      anthropic_version: BEDROCK_VERSION,
      messages: [{ role: 'user', content: 'x' }],
    });
    const out = await b.success(
      'count_tokens',
      false,
      { 'content-type': 'application/json' },
      Readable.from([Buffer.from('{"inputTokens":12}')]),
    );
    const chunks: Buffer[] = [];
    for await (const c of out.body) chunks.push(c as Buffer);
    assert.deepEqual(JSON.parse(Buffer.concat(chunks).toString()), { input_tokens: 12 });
  });

  it('credentials that cannot be had reject prepare (the attempt is then a credential failure)', async () => {
    const b = await createBedrock(
      'prod',
      {
        region: 'us-east-1',
        inferenceProfile: 'none',
        endpoint: 'https://x.example',
        accessKeyId: 'env:NOPE',
        secretAccessKey: 'env:NOPE2',
        models: {},
      },
      secrets,
    );
    await assert.rejects(
      b.prepare({ route: 'messages', body: {}, stream: false, headers: {}, platformModel: 'm' }),
      /references have no value/,
    );
  });
});

describe('role credentials', () => {
  it('are fetched once and kept until five minutes before they expire', async () => {
    let clock = 0;
    let calls = 0;
    const provider = memoize(
      async () => {
        calls += 1;
        return {
          accessKeyId: `A${calls}`,
          secretAccessKey: 's',
          expiration: new Date(clock + 3_600_000),
        } as never;
      },
      () => clock,
    );
    const [a, b] = await Promise.all([provider(), provider()]);
    assert.deepEqual([a.accessKeyId, b.accessKeyId, calls], ['A1', 'A1', 1]);
    clock = 54 * 60_000;
    assert.equal((await provider()).accessKeyId, 'A1');
    clock = 56 * 60_000;
    assert.equal((await provider()).accessKeyId, 'A2');
  });
});

describe('Bedrock answers', () => {
  it('every exception maps to the API status and type, with the request id kept', () => {
    for (const [name, [status, type]] of Object.entries(BEDROCK_ERRORS)) {
      const t = bedrockError(
        400,
        {
          'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
          'x-amzn-requestid': 'r-1',
        },
        Buffer.from('{"message":"why"}'),
      );
      assert.equal(t.status, status, name);
      const body = JSON.parse(t.body.toString());
      assert.deepEqual(body, {
        type: 'error',
        error: { type, message: `Amazon Bedrock: ${name}: why` },
        request_id: 'r-1',
      });
      assert.equal(t.headers['request-id'], 'r-1');
    }
    // Without an error type header: by status.
    assert.equal(bedrockError(429, {}, Buffer.from('{"message":"slow down"}')).status, 429);
    assert.equal(
      JSON.parse(bedrockError(503, {}, Buffer.from('oops')).body.toString()).error.type,
      'api_error',
    );
  });

  it('the event stream becomes SSE events, frame by frame however the bytes are split', async () => {
    const codec = await newCodec();
    const frames = Buffer.concat([
      chunkFrame(codec, {
        type: 'message_start',
        message: { id: 'msg_bdrk_1', usage: { input_tokens: 3, output_tokens: 1 } },
      }),
      chunkFrame(codec, {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: 'héllo' },
      }),
      chunkFrame(codec, { type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 3 } }),
      exceptionFrame(codec, 'throttlingException', 'Too many tokens'),
    ]);
    // Split every 7 bytes: frames and UTF-8 sequences cross chunk boundaries.
    const parts: Buffer[] = [];
    for (let i = 0; i < frames.length; i += 7) parts.push(frames.subarray(i, i + 7));
    let sse = '';
    for await (const b of bedrockStreamToSse(Readable.from(parts))) sse += b.toString('utf8');
    assert.equal(
      sse,
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_bdrk_1","usage":{"input_tokens":3,"output_tokens":1}}}\n\n' +
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"héllo"}}\n\n' +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n' +
        'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"Too many tokens"}}\n\n',
    );
  });
});
