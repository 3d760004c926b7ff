/**
 * Anthropic's published gateway protocol for Claude Code, rule by rule: one
 * test per rule, named after it (docs/claude-code.md lists the rules and
 * points here). Pass-through rules run against a recording upstream that
 * captures the exact bytes and answers exactly what a test scripts; the others
 * against the simulator.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { ledgerRowOf } from '../src/ledger/row.ts';
import type { ExchangeRecord } from '../src/pipeline/record.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { type LogSink, startTestGateway, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_protocolTestKey0000000000000000000000000';
const LIMITED_KEY = 'gk_protocolLimitedKey000000000000000000000';

// ---------------------------------------------------------------------------
// A recording upstream: what arrived, byte for byte; answers what the test queued.

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
interface Scripted {
  status: number;
  headers?: Record<string, string>;
  /** A whole body, or SSE frames written one by one with a pause between them. */
  body?: string;
  frames?: string[];
}

let upstream: Server;
let upstreamUrl: string;
const recorded: Recorded[] = [];
const queue: Scripted[] = [];
const okMessage = JSON.stringify({
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5-20251001',
  content: [{ type: 'text', text: 'ok' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 5, output_tokens: 1 },
});

async function startRecordingUpstream(): Promise<void> {
  upstream = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    recorded.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
    const s = queue.shift() ?? {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: okMessage,
    };
    res.writeHead(s.status, { 'request-id': `req_rec_${recorded.length}`, ...s.headers });
    if (s.frames) {
      for (const f of s.frames) {
        res.write(f);
        await new Promise((r) => setTimeout(r, 5));
      }
      res.end();
    } else res.end(s.body ?? '');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

// ---------------------------------------------------------------------------

let recGateway: Gateway;
let sim: Simulator;
let simGateway: Gateway;
let simLogs: LogSink;
const exchanges: ExchangeRecord[] = [];
const onComplete = (r: ExchangeRecord) => exchanges.push(r);

const clients = () => [
  { name: 'claude-code', environment: 'prod', keySha256: hashKey(KEY), limits: {} },
  // A client with a 1 RPM limit, for the gateway's own 429.
  { name: 'limited', environment: 'prod', keySha256: hashKey(LIMITED_KEY), limits: { rpm: 1 } },
];

before(async () => {
  await startRecordingUpstream();
  const environments = { prod: { name: 'prod', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' } };
  // One attempt: what the upstream answers is what the client gets.
  ({ gateway: recGateway } = await startTestGateway(upstreamUrl, {
    environments,
    clients: clients(),
    resilience: { maxAttempts: 1 },
  }));
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway: simGateway, logs: simLogs } = await startTestGateway(sim.url, {
    environments,
    clients: clients(),
    resilience: {
      maxAttempts: 1,
      // Opens after 2 failures of 2 calls, for the gateway's own 529.
      breaker: { failureRate: 0.5, window: 2, minVolume: 2, cooldownMs: 30_000 },
    },
  }));
  simGateway.events.exchangeComplete.subscribe(onComplete);
});
after(async () => {
  await recGateway.close();
  await simGateway.close();
  await sim.close();
  await new Promise((r) => upstream.close(r));
});
beforeEach(() => {
  recorded.length = 0;
  queue.length = 0;
  exchanges.length = 0;
  sim.state.reset();
});

/** Headers Claude Code 2.1 sends on a Messages request (captured from the real binary). */
const CLAUDE_CODE_HEADERS = {
  'x-api-key': KEY,
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'interleaved-thinking-2025-05-14,context-management-2025-06-27,claude-code-20250219',
  'anthropic-dangerous-direct-browser-access': 'true',
  'content-type': 'application/json',
  'user-agent': 'claude-cli/2.1.332 (external, sdk-cli)',
  'x-app': 'cli',
  'x-stainless-lang': 'js',
  'x-stainless-retry-count': '0',
  'x-stainless-package-version': '0.128.0',
  'x-claude-code-session-id': '39dd7f5c-aeea-4662-9133-06a41528b53e',
};

const BODY = JSON.stringify({
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'hi' }],
});

const send = (
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) =>
  fetch(`${base}${path}`, {
    method: init.method ?? 'POST',
    headers: { ...CLAUDE_CODE_HEADERS, ...init.headers },
    body: init.method === 'GET' || init.method === 'HEAD' ? undefined : (init.body ?? BODY),
  });

describe('Claude Code gateway protocol', () => {
  test('Messages API: POST /v1/messages and /v1/messages/count_tokens are served, the query string kept', async () => {
    const m = await send(recGateway.url, '/v1/messages?beta=true');
    assert.equal(m.status, 200);
    const c = await send(recGateway.url, '/v1/messages/count_tokens?beta=true', {
      body: JSON.stringify({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(c.status, 200);
    assert.deepEqual(
      recorded.map((r) => `${r.method} ${r.url}`),
      ['POST /v1/messages?beta=true', 'POST /v1/messages/count_tokens?beta=true'],
    );
  });

  test('anthropic-* request headers are forwarded unchanged, as an open list', async () => {
    await send(recGateway.url, '/v1/messages', { headers: { 'anthropic-some-future-header': 'v=2; x' } });
    const h = recorded[0].headers;
    for (const name of ['anthropic-version', 'anthropic-beta', 'anthropic-dangerous-direct-browser-access']) {
      assert.equal(h[name], CLAUDE_CODE_HEADERS[name as keyof typeof CLAUDE_CODE_HEADERS], name);
    }
    assert.equal(h['anthropic-some-future-header'], 'v=2; x');
    assert.equal(h['x-api-key'], UPSTREAM_KEY, 'the upstream key replaces the virtual key');
  });

  test('request bodies are forwarded byte for byte (unknown fields included) unless a policy says so', async () => {
    const body =
      '{ "model":"claude-haiku-4-5", "max_tokens":64,\n  "safeguards": {"auto_mode": true}, "context_management": {"edits": []},' +
      ' "messages":[{"role":"user","content":"héllo \\u00e9"}], "zz_unknown": [1, 2.50] }';
    await send(recGateway.url, '/v1/messages', { body });
    assert.equal(recorded[0].body.toString('utf8'), body);
  });

  test('x-app, x-stainless-* and x-claude-code-* headers never cause a rejection', async () => {
    const res = await send(recGateway.url, '/v1/messages', {
      headers: {
        'x-claude-code-agent-id': 'agent-1',
        'x-claude-code-prompt-id': 'p-1',
        'x-stainless-timeout': '600',
      },
    });
    assert.equal(res.status, 200);
  });

  test('streams are relayed as they arrive: every event, ping included, complete and in order', async () => {
    const frames = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
      'event: ping\ndata: {"type": "ping"}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
      'event: ping\ndata: {"type": "ping"}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}\n\n',
      'event: some_future_event\ndata: {"type":"some_future_event"}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ];
    queue.push({ status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, frames });
    const res = await send(recGateway.url, '/v1/messages', {
      body: JSON.stringify({ ...JSON.parse(BODY), stream: true }),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(await res.text(), frames.join(''));
  });

  test('upstream error bodies are returned unmodified (status, envelope and message)', async () => {
    const body =
      '{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"},"request_id":"req_011CXabc"}';
    queue.push({ status: 400, headers: { 'content-type': 'application/json' }, body });
    const res = await send(recGateway.url, '/v1/messages');
    assert.equal(res.status, 400);
    assert.equal(await res.text(), body);
  });

  test('x-should-retry is passed through from the upstream', async () => {
    for (const value of ['false', 'true']) {
      queue.push({
        status: 500,
        headers: { 'content-type': 'application/json', 'x-should-retry': value },
        body: '{"type":"error","error":{"type":"api_error","message":"boom"}}',
      });
      const res = await send(recGateway.url, '/v1/messages');
      assert.equal(res.headers.get('x-should-retry'), value);
    }
  });

  test('anthropic-ratelimit-unified-* response headers are passed through', async () => {
    const unified = {
      'anthropic-ratelimit-unified-status': 'allowed_warning',
      'anthropic-ratelimit-unified-overage-utilization': '0.82',
      'anthropic-ratelimit-unified-overage-surpassed-threshold': '0.75',
      'anthropic-ratelimit-unified-reset': '1786147200',
    };
    queue.push({ status: 200, headers: { 'content-type': 'application/json', ...unified }, body: okMessage });
    const res = await send(recGateway.url, '/v1/messages');
    for (const [name, value] of Object.entries(unified)) assert.equal(res.headers.get(name), value, name);
  });

  test('the gateway’s own 429 carries retry-after in whole seconds, at most 60', async () => {
    const first = await send(simGateway.url, '/v1/messages', { headers: { 'x-api-key': LIMITED_KEY } });
    assert.equal(first.status, 200);
    const limited = await send(simGateway.url, '/v1/messages', { headers: { 'x-api-key': LIMITED_KEY } });
    assert.equal(limited.status, 429);
    const retryAfter = limited.headers.get('retry-after');
    assert.match(String(retryAfter), /^\d+$/);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, String(retryAfter));
    assert.equal(((await limited.json()) as { error: { type: string } }).error.type, 'rate_limit_error');
  });

  test('the gateway’s own 529 carries retry-after in whole seconds', async () => {
    sim.state.addFault({ kind: 'status', status: 500, count: 2, path: '/v1/messages' });
    const model = JSON.stringify({
      model: 'claude-sonnet-4-6',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'x' }],
    });
    for (let i = 0; i < 2; i++) await (await send(simGateway.url, '/v1/messages', { body: model })).text();
    const open = await send(simGateway.url, '/v1/messages', { body: model });
    assert.equal(open.status, 529, 'the breaker is open: the gateway answers itself');
    assert.match(String(open.headers.get('retry-after')), /^\d+$/);
    assert.equal(((await open.json()) as { error: { type: string } }).error.type, 'overloaded_error');
  });

  test('a wrong or missing key is a 401 authentication_error with x-should-retry: false', async () => {
    for (const key of ['gk_wrong', undefined]) {
      const headers: Record<string, string> = { ...CLAUDE_CODE_HEADERS };
      if (key) headers['x-api-key'] = key;
      else delete headers['x-api-key'];
      const res = await fetch(`${simGateway.url}/v1/messages`, { method: 'POST', headers, body: BODY });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('x-should-retry'), 'false');
      assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'authentication_error');
    }
  });

  test('HEAD /api/hello (Claude Code’s start-up connectivity probe) is answered', async () => {
    const res = await fetch(`${simGateway.url}/api/hello`, { method: 'HEAD' });
    assert.equal(res.status, 200);
  });

  test('model discovery: GET /v1/models?limit=1000 answers the Anthropic list shape', async () => {
    const res = await send(simGateway.url, '/v1/models?limit=1000', { method: 'GET' });
    assert.equal(res.status, 200);
    const list = (await res.json()) as {
      data: Array<{ id: string; display_name: string }>;
      has_more: boolean;
    };
    // Every model in one page: active and deprecated, as the API lists them by default.
    assert.ok(list.data.length >= 10, `${list.data.length} models`);
    assert.equal(list.has_more, false);
    assert.ok(list.data.every((m) => /^claude-/.test(m.id) && typeof m.display_name === 'string'));
    assert.equal(sim.state.requests.all().at(-1)?.url, '/v1/models?limit=1000');
  });

  test('attribution headers (x-claude-code-session-id, x-claude-code-agent-id) are recorded in the ledger row and the log line', async () => {
    const res = await send(simGateway.url, '/v1/messages', {
      headers: { 'x-claude-code-agent-id': 'agent-7' },
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('gantry-request-id')!;
    const row = ledgerRowOf(exchanges.find((e) => e.id === id)!);
    assert.equal(row.sessionId, CLAUDE_CODE_HEADERS['x-claude-code-session-id']);
    assert.equal(row.agentId, 'agent-7');
    const line = simLogs.records().find((l) => l.req_id === id)!;
    assert.equal(line.session_id, CLAUDE_CODE_HEADERS['x-claude-code-session-id']);
    assert.equal(line.agent_id, 'agent-7');
  });

  test('the gateway’s own errors use the Anthropic envelope with the matching type', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [send(simGateway.url, '/v1/messages', { body: '{"model":' }), 400, 'invalid_request_error'],
      [
        send(simGateway.url, '/v1/messages', { headers: { 'x-api-key': 'gk_nope' } }),
        401,
        'authentication_error',
      ],
      [send(simGateway.url, '/v1/nothing-here', { method: 'GET' }), 404, 'not_found_error'],
    ];
    for (const [pending, status, type] of cases) {
      const res = await pending;
      assert.equal(res.status, status);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      assert.equal(body.type, 'error');
      assert.equal(body.error.type, type);
      assert.ok(body.error.message.length > 0);
    }
  });
});
