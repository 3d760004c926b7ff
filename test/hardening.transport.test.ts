/**
 * Hostile input at the transport (issue 12, items 1-3, 9): nothing is read
 * before it is authenticated, the upstream target comes from the route table
 * only, depth and shape are bounded, and every answer the gateway gives is its
 * own envelope. Raw sockets where a fetch client would normalise the request.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { type LogSink, logLine, startTestGateway, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_hardeningTransportKey00000000000000000000';
const MODEL = 'claude-haiku-4-5';

let sim: Simulator;
let gateway: Gateway;
let logs: LogSink;
let port: number;

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], batchProcessingMs: 0 });
  ({ gateway, logs } = await startTestGateway(sim.url, {
    server: { requestTimeoutMs: 1_500, maxJsonDepth: 64 },
    clients: [{ name: 'app', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
    admin: { keySha256: hashKey('gk_adminKeyForHardening0000000000000000000') },
  }));
  port = gateway.port;
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => sim.state.reset());

/** Sends raw bytes on a fresh connection; resolves with everything read until the server closes or `ms` pass. */
function raw(bytes: string | Buffer, ms = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, ms);
    socket.on('data', (c) => {
      out += c.toString('latin1');
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (out) resolve(out);
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(bytes);
  });
}

function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) [A-Z]/g)].map((m) => Number(m[1]));
}

/** The JSON envelopes in a raw HTTP text (one per response). */
function envelopes(
  text: string,
): Array<{ type: string; error: { type: string; details?: { gantry_code?: string } }; request_id: string }> {
  return [...text.matchAll(/\{"type":"error".*?"request_id":"[^"]+"\}/g)].map((m) => JSON.parse(m[0]));
}

const messageBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra });

async function send(path: string, init: RequestInit & { key?: string | null } = {}) {
  const headers: Record<string, string> = {
    'anthropic-version': '2023-06-01',
    'content-type': 'application/json',
    ...(init.headers as Record<string, string>),
  };
  if (init.key !== null) headers['x-api-key'] = init.key ?? KEY;
  const res = await fetch(`${gateway.url}${path}`, { ...init, headers });
  const text = await res.text();
  return { res, text, json: text ? JSON.parse(text) : undefined };
}

describe('nothing is read before it is authenticated', () => {
  test('a 30 MB body without a key is answered 401 before it is sent, and the connection closes', async () => {
    const started = performance.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let out = '';
      socket.on('data', (c) => {
        out += c.toString('latin1');
      });
      socket.on('error', () => resolve(out));
      socket.on('close', () => resolve(out));
      socket.on('connect', () => {
        socket.write(
          'POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
            `content-length: ${30 * 1024 * 1024}\r\n\r\n`,
        );
        // Only 1 MB of the 30 MB is ever sent: the answer must not wait for the rest.
        socket.write(Buffer.alloc(1024 * 1024, '['));
      });
      setTimeout(() => reject(new Error(`no answer: ${out}`)), 5_000).unref();
    });
    assert.deepEqual(statuses(answer), [401]);
    assert.match(answer, /connection: close/i);
    assert.equal(envelopes(answer)[0].error.details?.gantry_code, 'missing_api_key');
    assert.ok(performance.now() - started < 3_000);
    assert.equal(sim.state.requests.all().length, 0);
  });

  test('a small unauthenticated body keeps the connection: the next request on it is served', async () => {
    const bad = messageBody();
    const good = messageBody();
    const text = await raw(
      `POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${bad.length}\r\n\r\n${bad}` +
        `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: ${good.length}\r\nconnection: close\r\n\r\n${good}`,
    );
    assert.deepEqual(statuses(text), [401, 200]);
  });

  test('a connection that proved one key must prove any other key it sends', async () => {
    const ok = messageBody();
    const text = await raw(
      `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: ${ok.length}\r\n\r\n${ok}` +
        `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}x\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: ${ok.length}\r\n\r\n${ok}` +
        `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: ${ok.length}\r\nconnection: close\r\n\r\n${ok}`,
    );
    assert.deepEqual(statuses(text), [200, 401, 200]);
  });

  test('admin routes check the admin key before reading, and take only small bodies', async () => {
    const big = JSON.stringify({ environment: 'default', id: 'x'.repeat(100_000), state: 'active' });
    const noKey = await send('/admin/upstream-keys', { method: 'POST', body: big, key: null });
    assert.equal(noKey.res.status, 401);
    const tooBig = await send('/admin/upstream-keys', {
      method: 'POST',
      body: big,
      key: 'gk_adminKeyForHardening0000000000000000000',
    });
    assert.equal(tooBig.res.status, 413);
    assert.equal(tooBig.json.error.details.gantry_code, 'body_too_large');
    assert.match(tooBig.json.request_id, /^gtw_/);
  });
});

describe('the upstream target is built only from the route table', () => {
  test('an absolute-form request line is refused and nothing is forwarded', async () => {
    const body = messageBody();
    const text = await raw(
      `POST http://evil.example:9999/v1/messages?x=1 HTTP/1.1\r\nhost: evil.example\r\nx-api-key: ${KEY}\r\n` +
        `anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    assert.deepEqual(statuses(text), [400]);
    assert.equal(envelopes(text)[0].error.details?.gantry_code, 'invalid_request_target');
    const models = await raw(
      `GET http://evil.example/v1/models HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nconnection: close\r\n\r\n`,
    );
    assert.deepEqual(statuses(models), [400]);
    assert.equal(sim.state.requests.all().length, 0);
  });

  for (const path of [
    '/v1/messages/batches/../cancel',
    '/v1/messages/batches/%2e%2e/cancel',
    '/v1/messages/batches/%2E%2E/cancel',
    '/v1/messages/batches/.%2e/cancel',
  ]) {
    test(`dot segments are refused: POST ${path}`, async () => {
      const text = await raw(
        `POST ${path} HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nanthropic-version: 2023-06-01\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
      );
      const [status] = statuses(text);
      assert.ok(status === 400 || status === 404, `status ${status}`);
      assert.equal(envelopes(text).length, 1);
      assert.equal(sim.state.requests.all().length, 0);
    });
  }

  test('the query is re-encoded parameter by parameter', async () => {
    const { res } = await send('/v1/models?limit=1000&x=%2F..%2F&y=a%20b&&z', { method: 'GET' });
    assert.equal(res.status, 200);
    const [seen] = sim.state.requests.all();
    assert.equal(seen.url, '/v1/models?limit=1000&x=%2F..%2F&y=a+b&z=');
  });

  test('a batch results_url never comes from the Host header', async () => {
    const created = await send('/v1/messages/batches', {
      method: 'POST',
      headers: { host: 'evil.example' },
      body: JSON.stringify({
        requests: [
          {
            custom_id: 'a',
            params: { model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
          },
        ],
      }),
    });
    assert.equal(created.res.status, 200);
    const got = await send(`/v1/messages/batches/${created.json.id}`, {
      method: 'GET',
      headers: { host: 'evil.example' },
    });
    const url = got.json.results_url as string;
    assert.equal(url, `/v1/messages/batches/${created.json.id}/results`);
  });
});

describe('depth and shape are bounded', () => {
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

  test('5,000 levels in tools[].input_schema: 400 json_too_deep, not a 500', async () => {
    const body = `{"model":"${MODEL}","max_tokens":16,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t","input_schema":${deep(5_000)}}]}`;
    const { res, json } = await send('/v1/messages', { method: 'POST', body });
    assert.equal(res.status, 400);
    assert.equal(json.error.type, 'invalid_request_error');
    assert.equal(json.error.details.gantry_code, 'json_too_deep');
  });

  test('5,000 levels in a tool_result: 400 json_too_deep', async () => {
    const body = `{"model":"${MODEL}","max_tokens":16,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[${'['.repeat(5_000)}${']'.repeat(5_000)}]}]}]}`;
    const { res, json } = await send('/v1/messages', { method: 'POST', body });
    assert.equal(res.status, 400);
    assert.equal(json.error.details.gantry_code, 'json_too_deep');
  });

  test('duplicate top-level keys are refused (one body, one model)', async () => {
    const body = `{"model":"claude-opus-4-6","model":"${MODEL}","max_tokens":16,"messages":[{"role":"user","content":"x"}]}`;
    const { res, json } = await send('/v1/messages', { method: 'POST', body });
    assert.equal(res.status, 400);
    assert.equal(json.error.details.gantry_code, 'duplicate_key');
    const escaped = `{"model":"${MODEL}","mo\\u0064el":"${MODEL}","max_tokens":16,"messages":[]}`;
    assert.equal(
      (await send('/v1/messages', { method: 'POST', body: escaped })).json.error.details.gantry_code,
      'duplicate_key',
    );
    assert.equal(sim.state.requests.all().length, 0);
  });

  test('property: random deep, wide and odd bodies never get a 5xx from the gateway, always the envelope', async () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    const body = fc.oneof(
      // Shapes the Messages API takes, with odd values in every field.
      fc
        .record(
          {
            model: fc.oneof(fc.constant(MODEL), fc.string(), fc.integer()),
            max_tokens: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.string(), fc.double()),
            messages: fc.oneof(
              fc.array(fc.record({ role: fc.constantFrom('user', 'assistant', 'x'), content: value })),
              value,
            ),
            tools: fc.array(fc.record({ name: fc.string(), input_schema: value }), { maxLength: 2 }),
            system: value,
            metadata: value,
            stream: fc.oneof(fc.boolean(), value),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
      // Deep nesting around the limit and far beyond it (5,000 levels broke token estimation).
      fc
        .oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 4_000, max: 8_000 }))
        .map(
          (n) =>
            `{"model":"${MODEL}","max_tokens":8,"messages":[{"role":"user","content":"x"}],` +
            `"tools":[{"name":"t","input_schema":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}]}`,
        ),
      // Not JSON, or not an object.
      fc.oneof(fc.string(), fc.constant('[]'), fc.constant('null'), fc.constant('"x"'), fc.constant('{"a":')),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const res = await fetch(`${gateway.url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': KEY,
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
          },
          body: payload,
        });
        const text = await res.text();
        const fromGateway = res.headers.get('request-id')?.startsWith('gtw_') ?? false;
        if (res.status >= 400) {
          const json = JSON.parse(text);
          assert.equal(json.type, 'error');
          assert.equal(typeof json.error.type, 'string');
          assert.equal(typeof json.error.message, 'string');
          assert.ok(typeof json.request_id === 'string' || json.request_id === null);
        }
        if (fromGateway) assert.ok(res.status < 500, `gateway answered ${res.status}: ${text.slice(0, 200)}`);
      }),
      { numRuns: 150 },
    );
  });
});

describe('every error the gateway sends is its own envelope', () => {
  test('a bad percent-encoding gets the envelope, a request id and a log line', async () => {
    const text = await raw(
      `GET /v1/models/%ff HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nconnection: close\r\n\r\n`,
    );
    assert.deepEqual(statuses(text), [400]);
    const [env] = envelopes(text);
    assert.equal(env.error.details?.gantry_code, 'invalid_request_target');
    assert.match(text, /gantry-request-id: gtw_/);
    await logLine(gateway, logs, (l) => l.req_id === env.request_id, 'its log line');
  });

  test('admin 400s carry gantry_code and request_id', async () => {
    const { res, json } = await send('/admin/upstream-keys', {
      method: 'POST',
      body: JSON.stringify({ environment: 'nope' }),
      key: 'gk_adminKeyForHardening0000000000000000000',
    });
    assert.equal(res.status, 400);
    assert.equal(json.error.details.gantry_code, 'invalid_body');
    assert.match(json.request_id, /^gtw_/);
  });

  test('a pipelined valid request followed by garbage: the first response arrives, then a 400', async () => {
    const text = await raw(
      `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nanthropic-version: 2023-06-01\r\n\r\n` +
        'GARBAGE \x00\x01 NOT HTTP\r\n\r\n',
    );
    assert.deepEqual(statuses(text), [200, 400]);
  });

  test('HEAD on an API route is answered 405 without a body and never forwarded', async () => {
    const res = await fetch(`${gateway.url}/v1/models`, { method: 'HEAD', headers: { 'x-api-key': KEY } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    assert.match(res.headers.get('request-id') ?? '', /^gtw_/);
    assert.equal(sim.state.requests.all().length, 0);
  });

  test("Claude Code's HEAD /api/hello probe is answered 200", async () => {
    const res = await fetch(`${gateway.url}/api/hello`, { method: 'HEAD' });
    assert.equal(res.status, 200);
  });

  test('CONNECT gets an answer in the envelope', async () => {
    const text = await raw('CONNECT evil.example:443 HTTP/1.1\r\nhost: evil.example:443\r\n\r\n');
    assert.deepEqual(statuses(text), [405]);
    assert.equal(envelopes(text)[0].error.details?.gantry_code, 'method_not_allowed');
  });

  test('a slow body is answered 408 and recorded as 408', async () => {
    const body = messageBody();
    const text = await raw(
      `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
      4_000,
    );
    assert.deepEqual(statuses(text), [408]);
    const line = await logLine(
      gateway,
      logs,
      (l) => l.route === 'messages' && l.status === 408,
      'a line with 408',
    );
    assert.equal(line.gantry_code, 'client_timeout');
  });

  test('an empty body with content-type json is accepted on routes without a body (SDK 0.39 cancel)', async () => {
    const text = await raw(
      `POST /v1/messages/batches/msgbatch_nope/cancel HTTP/1.1\r\nhost: x\r\nx-api-key: ${KEY}\r\nanthropic-version: 2023-06-01\r\n` +
        'content-type: application/json\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    // Forwarded: the simulator answers (404 for an unknown batch), not the gateway's 400 invalid_json.
    assert.deepEqual(statuses(text), [404]);
    assert.doesNotMatch(text, /invalid_json/);
    assert.equal(sim.state.requests.all().length, 1);
  });

  test('unknown routes log their method and path (no query)', async () => {
    const res = await fetch(`${gateway.url}/nope/here?secret=1`, { method: 'PUT' });
    assert.equal(res.status, 404);
    const id = res.headers.get('gantry-request-id');
    const line = await logLine(gateway, logs, (l) => l.req_id === id, 'its log line');
    assert.equal(line.method, 'PUT');
    assert.equal(line.path, '/nope/here');
  });

  test('431 carries gantry-request-id', async () => {
    const text = await raw(`GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(40_000)}\r\n\r\n`);
    assert.deepEqual(statuses(text), [431]);
    assert.match(text, /gantry-request-id: gtw_/);
  });
});
