/**
 * The gateway's own behaviour against the simulator: limits and bad input in
 * the error envelope, what reaches the logs, streaming without buffering,
 * local mode, and graceful shutdown of the real binary.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { type LogSink, logLine, spawnServe, startTestGateway, UPSTREAM_KEY, until } from './support.ts';

const VIRTUAL_KEY = 'gk_gatewaySuiteKey0000000000000000000000000';
const MODEL = 'claude-haiku-4-5';
const body = (text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: MODEL, max_tokens: 200, messages: [{ role: 'user', content: text }], ...extra });

let sim: Simulator;
let gateway: Gateway;
let logs: LogSink;

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway, logs } = await startTestGateway(sim.url, {
    server: { bodyLimit: 64 * 1024, headerLimit: 8 * 1024, requestTimeoutMs: 1_000 },
    clients: [{ name: 'support-bot', environment: 'default', keySha256: hashKey(VIRTUAL_KEY), limits: {} }],
  }));
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => sim.state.reset());

async function post(path: string, payload: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: {
      'x-api-key': VIRTUAL_KEY,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      ...headers,
    },
    body: payload,
  });
  return {
    res,
    json: (await res.json()) as {
      type: string;
      error: { type: string; details?: { gantry_code?: string } };
      request_id: string;
    },
  };
}

function assertEnvelope(
  r: Awaited<ReturnType<typeof post>>,
  status: number,
  type: string,
  code: string,
): void {
  assert.equal(r.res.status, status);
  assert.equal(r.json.type, 'error');
  assert.equal(r.json.error.type, type);
  assert.equal(r.json.error.details?.gantry_code, code);
  assert.equal(r.json.request_id, r.res.headers.get('request-id'));
  assert.match(r.json.request_id, /^gtw_/);
}

/** Sends raw bytes on a new connection and returns the raw response. */
async function raw(request: string, waitMs = 3_000): Promise<string> {
  const url = new URL(gateway.url);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  socket.write(request);
  let out = '';
  socket.on('data', (d) => {
    out += d.toString();
  });
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, waitMs))]);
  socket.destroy();
  return out;
}

describe('bad input is answered in the envelope and the gateway stays up', () => {
  test('unknown route 404, wrong method 405 with allow', async () => {
    const notFound = await post('/v1/nothing-here', '{}');
    assertEnvelope(notFound, 404, 'not_found_error', 'route_not_found');
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'GET',
      headers: { 'x-api-key': VIRTUAL_KEY },
    });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const json = (await res.json()) as { error: { details: { gantry_code: string } } };
    assert.equal(json.error.details.gantry_code, 'method_not_allowed');
  });

  test('non-JSON body 400, non-object body 400, wrong content type 415, wrong field type 400', async () => {
    assertEnvelope(await post('/v1/messages', '{"model": '), 400, 'invalid_request_error', 'invalid_json');
    assertEnvelope(await post('/v1/messages', ''), 400, 'invalid_request_error', 'invalid_json');
    assertEnvelope(await post('/v1/messages', '[1,2]'), 400, 'invalid_request_error', 'invalid_body');
    assertEnvelope(
      await post('/v1/messages', 'hello', { 'content-type': 'text/plain' }),
      415,
      'invalid_request_error',
      'unsupported_content_type',
    );
    assertEnvelope(
      await post('/v1/messages', body('x', { stream: 'yes' })),
      400,
      'invalid_request_error',
      'invalid_body',
    );
    assert.equal(sim.state.requests.all().length, 0, 'nothing reached the upstream');
  });

  test('over-size body 413 request_too_large', async () => {
    const big = body('a'.repeat(70 * 1024));
    assertEnvelope(await post('/v1/messages', big), 413, 'request_too_large', 'body_too_large');
  });

  test('over-size headers 431, in the envelope, on the raw socket', async () => {
    const response = await raw(
      `GET /v1/models HTTP/1.1\r\nHost: x\r\nx-api-key: ${VIRTUAL_KEY}\r\nx-filler: ${'a'.repeat(10_000)}\r\n\r\n`,
    );
    assert.match(response, /^HTTP\/1.1 431 /);
    const json = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
    assert.equal(json.error.details.gantry_code, 'headers_too_large');
  });

  test('a client that never finishes its request gets 408 after request_timeout_ms', async () => {
    const started = performance.now();
    const response = await raw(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${VIRTUAL_KEY}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"mo`,
      5_000,
    );
    assert.match(response, /^HTTP\/1.1 408 /);
    assert.match(response, /client_timeout/);
    assert.ok(performance.now() - started < 4_500);
  });

  test('after all of that, a good request still works', async () => {
    const r = await post('/v1/messages', body('still alive'));
    assert.equal(r.res.status, 200);
  });
});

describe('logs', () => {
  test('one line per request with metadata; no key, no prompt, no completion, no upstream key', async () => {
    const marker = 'PROMPT-MARKER-5e1f9a';
    const plantedKey =
      'sk-ant-api03-PLANTEDSECRET0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678AA';
    const before = logs.lines.length;
    // A good request whose prompt (and so the echoed completion) carries the marker.
    const ok = await post('/v1/messages', body(`${marker} please repeat ${marker}`), {
      'x-gantry-customer': 'cust-1',
    });
    assert.equal(ok.res.status, 200);
    assert.ok(JSON.stringify(ok.json).includes(marker), 'the completion echoes the marker');
    // A streamed one.
    const streamed = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${VIRTUAL_KEY}`,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: body(`${marker} streamed`, { stream: true }),
    });
    assert.ok((await streamed.text()).includes('event: message_stop'));
    // A bad key that looks like an Anthropic key, in both header styles.
    await post('/v1/messages', body(marker), { 'x-api-key': plantedKey });
    await post('/v1/messages', body(marker), { 'x-api-key': '', authorization: `Bearer ${plantedKey}` });
    // Invalid JSON quoting the secret and the marker (JSON.parse errors quote the input).
    await post('/v1/messages', `{"k": ${plantedKey} ${marker}`);
    // An upstream error.
    // x-should-retry: false: the gateway passes the error through instead of retrying it.
    sim.state.addFault({ kind: 'status', status: 500, count: 1, shouldRetry: false });
    await post('/v1/messages', body(marker));
    await until(async () => {
      await new Promise<void>((r) => gateway.logger.flush(() => r()));
      return logs.lines.length - before >= 6;
    }, 'six request lines');

    const text = logs.lines.slice(before).join('\n');
    assert.ok(!text.includes(marker), 'prompt/completion content leaked into logs');
    assert.ok(!text.includes('PLANTEDSECRET'), 'a client credential leaked into logs');
    assert.ok(!text.includes(VIRTUAL_KEY), 'the virtual key leaked into logs');
    assert.ok(!text.includes(UPSTREAM_KEY), 'the upstream key leaked into logs');
    assert.ok(!/sk-ant-/.test(text));

    const lines = logs.records().slice(before);
    assert.equal(lines.length, 6, text);
    const first = lines[0];
    assert.equal(first.client, 'support-bot');
    assert.equal(first.environment, 'default');
    assert.equal(first.customer, 'cust-1');
    assert.equal(first.model, MODEL);
    assert.equal(first.status, 200);
    assert.match(String(first.req_id), /^gtw_/);
    assert.match(String(first.upstream_request_id), /^req_/);
    assert.equal(typeof first.duration_ms, 'number');
    assert.equal(typeof first.upstream_ms, 'number');
    assert.equal(typeof first.ttfb_ms, 'number');
    assert.ok((first.usage as { output_tokens: number }).output_tokens > 0);
    const upstreamError = lines[5];
    assert.equal(upstreamError.level, 'warn');
    assert.equal(upstreamError.status, 500);
    assert.equal(upstreamError.error_type, 'api_error');
    assert.match(
      String(upstreamError.upstream_request_id),
      /^req_/,
      'error lines carry the upstream request-id',
    );
  });
});

describe('streaming', () => {
  test('the client has the first event while the upstream is still generating', async () => {
    // 12 deltas, 100 ms apart: the upstream needs over a second to finish.
    sim.state.enqueue({ lorem: 48, chunkSize: 20, chunkDelayMs: 100 });
    const started = performance.now();
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': VIRTUAL_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: body('slow stream', { stream: true }),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let firstEventAt: number | undefined;
    let firstDeltaAt: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      firstEventAt ??= text.includes('event: message_start') ? performance.now() - started : undefined;
      firstDeltaAt ??= text.includes('event: content_block_delta') ? performance.now() - started : undefined;
    }
    const total = performance.now() - started;
    assert.ok(text.includes('event: message_stop'));
    assert.ok(total >= 1_000, `stream took ${total} ms`);
    assert.ok(firstEventAt! < 300, `first event after ${firstEventAt} ms`);
    assert.ok(firstDeltaAt! < total - 700, `first delta at ${firstDeltaAt} ms of ${total} ms`);
  });

  test('a client that disconnects mid-stream releases the upstream request', async () => {
    sim.state.enqueue({ lorem: 200, chunkSize: 10, chunkDelayMs: 50 });
    const controller = new AbortController();
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': VIRTUAL_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: body('abandon me', { stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    const id = res.headers.get('gantry-request-id');
    controller.abort();
    const line = await logLine(gateway, logs, (r) => r.req_id === id, "the abandoned stream's line");
    assert.equal(line.outcome, 'client_closed');
  });
});

describe('non-streaming answers', () => {
  test('an answer cut by the upstream mid-body becomes a clean 502 in the envelope, not a cut response', async () => {
    const { createServer } = await import('node:http');
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': '1000',
          'request-id': 'req_cut',
        });
        res.write('{"id":"msg_cut","type":"message","content":[{"type":"text","text":"half');
        setTimeout(() => res.destroy(), 20);
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { port } = upstream.address() as { port: number };
    const { gateway: g } = await startTestGateway(`http://127.0.0.1:${port}`, {
      resilience: { maxAttempts: 1 },
    });
    try {
      const res = await fetch(`${g.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': UPSTREAM_KEY,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
        },
        body: body('cut me'),
      });
      assert.equal(res.status, 502);
      const envelope = (await res.json()) as { type: string; error: { type: string; message: string } };
      assert.equal(envelope.type, 'error');
      assert.equal(envelope.error.type, 'api_error');
      assert.match(envelope.error.message, /could not be reached|interrupted/);
    } finally {
      await g.close();
      upstream.close();
    }
  });
});

describe('local mode (no clients configured)', () => {
  test('accepts the upstream key itself and nothing else', async () => {
    const local = await startTestGateway(sim.url);
    try {
      const client = new Anthropic({ apiKey: UPSTREAM_KEY, baseURL: local.gateway.url, maxRetries: 0 });
      const message = await client.messages.create({
        model: MODEL,
        max_tokens: 50,
        messages: [{ role: 'user', content: 'local' }],
      });
      assert.equal(message.type, 'message');
      const wrong = new Anthropic({
        apiKey: 'sk-ant-api03-not-the-key',
        baseURL: local.gateway.url,
        maxRetries: 0,
      });
      await assert.rejects(wrong.models.list(), Anthropic.AuthenticationError);
    } finally {
      await local.gateway.close();
    }
  });
});

describe('V8 settings of `gantry serve` (bin/tune.js)', () => {
  const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const minimal = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-tune-'));
    const config = join(dir, 'gantry.yaml');
    writeFileSync(
      config,
      `server:\n  port: 0\nupstream:\n  base_url: ${sim.url}\nlogging:\n  level: warn\nstorage:\n  ledger: off\n`,
    );
    return config;
  };

  test('serve re-executes itself once, same PID, with 16 MiB semi-spaces', {
    skip: process.platform !== 'linux' || typeof process.execve !== 'function',
  }, async (t) => {
    const serve = await spawnServe(minimal(), { ANTHROPIC_API_KEY: UPSTREAM_KEY }, t);
    assert.ok(
      cmdline(serve.child.pid!).includes('--max-semi-space-size=16'),
      cmdline(serve.child.pid!).join(' '),
    );
    const res = await fetch(`${serve.url}/livez`);
    assert.equal(res.status, 200);
  });

  test('GANTRY_V8_DEFAULTS=1 or an explicit --max-semi-space-size leaves V8 as given', {
    skip: process.platform !== 'linux',
  }, async (t) => {
    const plain = await spawnServe(
      minimal(),
      { ANTHROPIC_API_KEY: UPSTREAM_KEY, GANTRY_V8_DEFAULTS: '1' },
      t,
    );
    assert.ok(!cmdline(plain.child.pid!).some((a) => a.startsWith('--max-semi-space-size')));
    const own = await spawnServe(
      minimal(),
      { ANTHROPIC_API_KEY: UPSTREAM_KEY, NODE_OPTIONS: '--max-semi-space-size=4' },
      t,
    );
    assert.ok(!cmdline(own.child.pid!).some((a) => a.startsWith('--max-semi-space-size')));
  });
});

describe('graceful shutdown of `gantry serve`', () => {
  test('SIGTERM lets an in-flight stream finish, refuses new work, exits 0', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-serve-'));
    const config = join(dir, 'gantry.yaml');
    writeFileSync(
      config,
      `server:\n  port: 0\n  drain_timeout_ms: 10000\nupstream:\n  base_url: ${sim.url}\nlogging:\n  level: warn\n` +
        `storage:\n  ledger: sqlite:${join(dir, 'ledger.db')}\n`,
    );
    const serve = await spawnServe(config, { ANTHROPIC_API_KEY: UPSTREAM_KEY }, t);
    const { child, url } = serve;
    sim.state.enqueue({ lorem: 30, chunkSize: 20, chunkDelayMs: 80 });
    const res = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': UPSTREAM_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: body('drain me', { stream: true }),
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    // Once draining, the listener is closed: new connections are refused.
    await until(
      () =>
        fetch(`${url}/v1/models`, { headers: { 'x-api-key': UPSTREAM_KEY } }).then(
          () => false,
          () => true,
        ),
      'new connections refused while draining',
    );
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.ok(text.includes('event: message_stop'), 'the in-flight stream finished');
    const [code] = await exited;
    assert.equal(code, 0, serve.stderr());
  });
});

describe('/readyz checks the stores', () => {
  test('ready with reachable stores; 503 naming the store when the ledger or the limits store is down', async () => {
    const healthy = await startTestGateway(sim.url, { storage: { state: 'redis://127.0.0.1:6379/0' } });
    try {
      const res = await fetch(`${healthy.gateway.url}/readyz`);
      const body = (await res.json()) as { ready: boolean; checks: { stores: Record<string, string> } };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(body.checks.stores, { limits: 'ok', ledger: 'ok' });
    } finally {
      await healthy.gateway.close();
    }
    // Nothing listens on port 1: the ledger buffers rows, the limits store fails its round trip.
    const broken = await startTestGateway(sim.url, {
      storage: { state: 'redis://127.0.0.1:1/0', ledger: 'postgres://postgres@127.0.0.1:1/test' },
    });
    try {
      let body: { ready: boolean; checks: { stores: Record<string, string> } } | undefined;
      let status = 0;
      // The ledger notices the outage on its first flush attempt.
      for (let i = 0; i < 50; i++) {
        const res = await fetch(`${broken.gateway.url}/readyz`);
        status = res.status;
        body = (await res.json()) as typeof body;
        if (body!.checks.stores.ledger !== 'ok') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 503);
      assert.equal(body!.ready, false);
      assert.match(body!.checks.stores.limits, /^unreachable/);
      assert.match(body!.checks.stores.ledger, /^unreachable/);
    } finally {
      await broken.gateway.close();
    }
  });
});
