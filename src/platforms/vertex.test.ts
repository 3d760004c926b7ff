/** Vertex translation (request, errors) and the background token refresh. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createVertex, GOOGLE_ERRORS, GoogleTokenSource, VERTEX_VERSION, vertexError } from './vertex.ts';

const tokens = () =>
  new GoogleTokenSource(async () => ({ token: 'ya29.t', expiresAt: Date.now() + 3_600_000 }));
const vertex = () =>
  createVertex(
    'prod',
    {
      project: 'my-proj-1',
      region: 'us-east5',
      endpoint: 'https://us-east5-aiplatform.googleapis.com',
      models: {},
    },
    { value: () => undefined, onChange() {} },
    tokens(),
  );

describe('Vertex requests', () => {
  it('model into the URL, anthropic_version into the body, betas kept as a header, a bearer token', async () => {
    const v = vertex();
    const platformModel = v.modelId('messages', 'claude-sonnet-4-5')!;
    const req = await v.prepare({
      route: 'messages',
      body: { model: 'claude-sonnet-4-5', stream: true, max_tokens: 5, inference_geo: 'us', messages: [] },
      stream: true,
      headers: { 'anthropic-beta': ['x-1', 'y-2'] },
      platformModel,
    });
    v.close();
    assert.equal(
      req.path,
      '/v1/projects/my-proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict',
    );
    assert.deepEqual(JSON.parse(req.body.toString()), {
      anthropic_version: VERTEX_VERSION,
      stream: true,
      max_tokens: 5,
      messages: [],
    });
    assert.equal(req.headers.authorization, 'Bearer ya29.t');
    assert.equal(req.headers['anthropic-beta'], 'x-1,y-2');
    const count = await v.prepare({
      route: 'count_tokens',
      body: { model: 'claude-sonnet-4-5', messages: [] },
      stream: false,
      headers: {},
      platformModel,
    });
    assert.match(count.path, /\/models\/count-tokens:rawPredict$/);
    assert.equal(JSON.parse(count.body.toString()).model, 'claude-sonnet-4-5@20250929');
  });
});

describe('Vertex answers', () => {
  it("Google's statuses map to the API's; the API's own envelopes pass as they are", () => {
    for (const [status, [code, type]] of Object.entries(GOOGLE_ERRORS)) {
      const t = vertexError(
        400,
        {},
        Buffer.from(JSON.stringify({ error: { code: 400, message: 'm', status } })),
        'req_1',
      );
      assert.equal(t.status, code, status);
      assert.deepEqual(JSON.parse(t.body.toString()), {
        type: 'error',
        error: { type, message: `Vertex AI: ${status}: m` },
        request_id: 'req_1',
      });
    }
    const own = Buffer.from(
      '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_vrtx_1"}',
    );
    const t = vertexError(529, {}, own, 'req_vrtx_1');
    assert.equal(t.status, 529);
    assert.equal(t.body, own);
  });
});

describe('GoogleTokenSource', () => {
  it('one fetch for concurrent callers; refreshed before expiry in the background; a failure is kept as state', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    let n = 0;
    let fail = false;
    const source = new GoogleTokenSource(async () => {
      n += 1;
      if (fail) throw new Error('metadata server down');
      return { token: `tok-${n}`, expiresAt: Date.now() + 3_600_000 };
    });
    const [a, b] = await Promise.all([source.token(), source.token()]);
    assert.deepEqual([a, b, n], ['tok-1', 'tok-1', 1]);
    // Refreshed 5 minutes before the hour is up, without anyone asking.
    t.mock.timers.tick(55 * 60_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(await source.token(), 'tok-2');
    fail = true;
    t.mock.timers.tick(55 * 60_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(source.state.ok, false);
    assert.match(String(source.state.error), /metadata server down/);
    assert.equal(await source.token(), 'tok-2', 'the current token is kept until it is refused');
    source.invalidate();
    await assert.rejects(source.token(), /metadata server down/);
    source.close();
  });
});
