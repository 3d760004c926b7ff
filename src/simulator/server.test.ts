/**
 * The simulator over real HTTP (port 0): routes, lifecycle order, validation,
 * faults, scripts, caching, rate limits, keys, profiles and the control API.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Simulator, startSimulator } from './index.ts';

const MODEL = 'claude-sonnet-4-6';
const V = '2023-06-01';

// biome-ignore lint/suspicious/noExplicitAny: response JSON in assertions
type Json = any;

interface Res {
  status: number;
  headers: Headers;
  json: Json;
  text: string;
}

async function call(
  sim: Simulator,
  path: string,
  opts: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { 'x-api-key': 'sk-test', 'anthropic-version': V, ...opts.headers };
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const r = await fetch(sim.url + path, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await r.text();
  let json: Json = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, json, text };
}

const msg = (content: unknown = 'hello world', extra: Record<string, unknown> = {}): Json => ({
  model: MODEL,
  max_tokens: 100,
  messages: [{ role: 'user', content }],
  ...extra,
});

const control = (sim: Simulator, path: string, body?: unknown, method = 'POST') =>
  call(sim, `/_sim${path}`, { method, body: body ?? (method === 'GET' ? undefined : {}) });

/** SSE event names of a raw stream body. */
const eventNames = (text: string) => [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ profile: 'perf', tier: 'build' });
});
after(() => sim.close());
beforeEach(() => sim.state.reset());

describe('request ids and routes', () => {
  it('puts request-id (= request_id in error bodies) and the organization on every response', async () => {
    const cases = [
      await call(sim, '/v1/messages', { body: msg() }),
      await call(sim, '/v1/nope'),
      await call(sim, '/v1/messages', { method: 'GET' }),
      await call(sim, '/v1/models', { headers: { 'x-api-key': '' } }),
      await call(sim, '/v1/messages', { raw: '{not json', headers: { 'content-type': 'application/json' } }),
    ];
    assert.deepEqual(
      cases.map((c) => c.status),
      [200, 404, 405, 401, 400],
    );
    for (const c of cases) {
      const rid = c.headers.get('request-id');
      assert.match(rid ?? '', /^req_01[0-9A-Za-z]{22}$/);
      assert.ok(c.headers.get('anthropic-organization-id'));
      if (c.status >= 400) {
        assert.equal(c.json.type, 'error');
        assert.equal(c.json.request_id, rid);
      }
    }
    assert.equal(cases[1].json.error.type, 'not_found_error');
    assert.equal(cases[2].headers.get('allow'), 'POST');
    assert.equal(cases[3].json.error.type, 'authentication_error');
  });

  it('passes query strings (?beta=true) and accepts Bearer keys', async () => {
    const r = await call(sim, '/v1/messages?beta=true', {
      body: msg(),
      headers: { 'x-api-key': '', authorization: 'Bearer sk-bearer' },
    });
    assert.equal(r.status, 200);
    const c = await call(sim, '/v1/messages/count_tokens?beta=true', {
      body: { model: MODEL, messages: msg().messages },
    });
    assert.equal(c.status, 200);
    assert.equal(typeof c.json.input_tokens, 'number');
  });

  it('requires a known anthropic-version; 2026-10-21 rejects sampling params', async () => {
    assert.equal(
      (await call(sim, '/v1/messages', { body: msg(), headers: { 'anthropic-version': '' } })).status,
      400,
    );
    assert.equal(
      (await call(sim, '/v1/messages', { body: msg(), headers: { 'anthropic-version': '2024-01-01' } }))
        .status,
      400,
    );
    const v2 = { 'anthropic-version': '2026-10-21' };
    const t = await call(sim, '/v1/messages', { body: msg('x', { temperature: 1 }), headers: v2 });
    assert.equal(t.status, 400);
    assert.match(t.json.error.message, /temperature/);
    assert.equal(
      (await call(sim, '/v1/messages', { body: msg('x', { top_k: 5 }), headers: v2 })).status,
      400,
    );
    assert.equal((await call(sim, '/v1/messages', { body: msg('x', { temperature: 0.2 }) })).status, 200);
    const opus47 = { ...msg('x', { temperature: 0.2 }), model: 'claude-opus-4-7' };
    assert.equal(
      (await call(sim, '/v1/messages', { body: opus47 })).status,
      400,
      'Claude 4.7+ restricts sampling',
    );
    assert.equal((await call(sim, '/v1/messages', { body: { ...opus47, temperature: 1 } })).status, 200);
  });
});

describe('validation', () => {
  const expect400 = async (body: unknown, re: RegExp) => {
    const r = await call(sim, '/v1/messages', { body });
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, re);
  };

  it('answers 400 for missing or bad fields, like the API', async () => {
    await expect400({ max_tokens: 5, messages: [] }, /^model: Field required/);
    await expect400(
      { model: MODEL, messages: [{ role: 'user', content: 'x' }] },
      /^max_tokens: Field required/,
    );
    await expect400({ model: MODEL, max_tokens: 5 }, /^messages: Field required/);
    await expect400({ model: MODEL, max_tokens: 5, messages: [] }, /at least one message/);
    await expect400({ ...msg(), max_tokens: 128_001 }, /max_tokens: 128001 > 128000/);
    await expect400({ ...msg(), max_tokens: 'ten' }, /valid integer/);
    await expect400({ ...msg(), messages: [{ role: 'robot', content: 'x' }] }, /role/);
    await expect400(
      { ...msg(), messages: [...msg().messages, { role: 'assistant', content: 'prefill' }] },
      /prefill/,
    );
    const cc = { type: 'ephemeral' };
    await expect400(
      msg([1, 2, 3, 4, 5].map((i) => ({ type: 'text', text: `t${i}`, cache_control: cc }))),
      /maximum of 4 blocks with cache_control/,
    );
    await expect400(msg('x', { tool_choice: { type: 'tool', name: 'missing' } }), /not found in tools/);
    await expect400(msg('x', { thinking: { type: 'enabled', budget_tokens: 2000 } }), /max_tokens/);
    await expect400(
      { ...msg('x', { thinking: { type: 'enabled', budget_tokens: 2000 } }), model: 'claude-opus-5' },
      /enabled/,
    );
  });

  it('answers 404 for unknown and retired models, with suggestions', async () => {
    const r = await call(sim, '/v1/messages', { body: { ...msg(), model: 'claude-haiku-4-20250514' } });
    assert.equal(r.status, 404);
    assert.equal(r.json.error.type, 'not_found_error');
    assert.match(r.json.error.message, /claude-haiku-4-5-20251001/);
    const retired = await call(sim, '/v1/messages', { body: { ...msg(), model: 'claude-3-opus-20240229' } });
    assert.equal(retired.status, 404);
    assert.match(retired.json.error.message, /retired/);
    const alias = await call(sim, '/v1/messages', { body: { ...msg(), model: 'claude-haiku-4-5' } });
    assert.equal(alias.json.model, 'claude-haiku-4-5-20251001');
  });

  it('answers 413 request_too_large over 32 MB (before auth)', async () => {
    const r = await call(sim, '/v1/messages', {
      raw: 'x'.repeat(32 * 1024 * 1024 + 1),
      headers: { 'x-api-key': '', 'content-type': 'application/json' },
    });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.type, 'request_too_large');
  });
});

describe('replies', () => {
  it('echoes, or writes seeded lorem for empty text or in lorem mode (deterministic)', async () => {
    const echo = await call(sim, '/v1/messages', { body: msg('repeat after me') });
    assert.equal(echo.json.content[0].text, 'repeat after me');
    const l1 = await call(sim, '/v1/messages', { body: msg('') });
    const l2 = await call(sim, '/v1/messages', { body: msg('') });
    assert.match(l1.json.content[0].text, /^[A-Z][a-z]+( [a-z]+)+\.$/);
    assert.equal(l1.json.content[0].text, l2.json.content[0].text);
    await control(sim, '/reply', { mode: 'lorem', loremWords: 5 });
    const l3 = await call(sim, '/v1/messages', { body: msg('not echoed') });
    assert.equal(l3.json.content[0].text.split(' ').length, 5);
  });

  it('thinking: a thinking block with signature first; max_tokens 0 writes nothing', async () => {
    const r = await call(sim, '/v1/messages', {
      body: {
        ...msg('think'),
        model: 'claude-sonnet-4-5',
        thinking: { type: 'enabled', budget_tokens: 1024 },
        max_tokens: 2000,
      },
    });
    assert.equal(r.json.content[0].type, 'thinking');
    assert.ok(r.json.content[0].signature.length > 20);
    assert.equal(r.json.content[1].type, 'text');
    assert.ok(r.json.usage.output_tokens_details.thinking_tokens > 0);
    const zero = await call(sim, '/v1/messages', { body: { ...msg(), max_tokens: 0 } });
    assert.deepEqual(zero.json.content, []);
    assert.equal(zero.json.stop_reason, 'max_tokens');
  });

  it('tool_choice any → tool_use for the first tool, input from required keys', async () => {
    const r = await call(sim, '/v1/messages', {
      body: msg('x', {
        tools: [
          {
            name: 'lookup',
            input_schema: {
              type: 'object',
              properties: {
                id: { type: 'integer' },
                tags: { type: 'array', items: { type: 'string' } },
                opt: {},
              },
              required: ['id', 'tags'],
            },
          },
        ],
        tool_choice: { type: 'any' },
      }),
    });
    assert.equal(r.json.stop_reason, 'tool_use');
    assert.deepEqual(r.json.content[0].input, { id: 1, tags: [] });
  });
});

describe('streaming', () => {
  it('sends the exact event order with cumulative usage and the SSE content type', async () => {
    const r = await call(sim, '/v1/messages', {
      body: msg('stream this text please, in several chunks', { stream: true }),
    });
    assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const names = eventNames(r.text);
    assert.deepEqual(names.slice(0, 3), ['message_start', 'content_block_start', 'ping']);
    assert.deepEqual(names.slice(-4), [
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = JSON.parse(/event: message_start\ndata: (.+)/.exec(r.text)![1]);
    assert.deepEqual(Object.keys(start.message.usage.cache_creation), [
      'ephemeral_5m_input_tokens',
      'ephemeral_1h_input_tokens',
    ]);
    const delta = JSON.parse(/event: message_delta\ndata: (.+)/.exec(r.text)![1]);
    const plain = await call(sim, '/v1/messages', {
      body: msg('stream this text please, in several chunks'),
    });
    assert.equal(delta.usage.output_tokens, plain.json.usage.output_tokens);
    assert.equal(delta.usage.input_tokens, plain.json.usage.input_tokens);
  });

  it('cut fault closes the stream without message_stop; stream_error sends an error event then ends', async () => {
    await control(sim, '/faults', { kind: 'cut', afterEvents: 3, cutMode: 'end', count: 1 });
    const cut = await call(sim, '/v1/messages', { body: msg('some text to stream', { stream: true }) });
    assert.deepEqual(eventNames(cut.text), ['message_start', 'content_block_start', 'ping']);

    await control(sim, '/faults', { kind: 'cut', afterEvents: 2, count: 1 });
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': V, 'content-type': 'application/json' },
      body: JSON.stringify(msg('some text', { stream: true })),
    });
    assert.equal(res.status, 200, 'headers arrive before the cut');
    let received = '';
    const reader = res.body!.getReader();
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        received += Buffer.from(value).toString('utf8');
      }
    }, 'destroyed socket breaks the body');
    assert.deepEqual(
      eventNames(received),
      ['message_start', 'content_block_start'],
      'events before the cut arrive',
    );

    await control(sim, '/faults', { kind: 'stream_error', afterEvents: 4, errorType: 'api_error', count: 1 });
    const err = await call(sim, '/v1/messages', { body: msg('some text to stream', { stream: true }) });
    const names = eventNames(err.text);
    assert.equal(names.length, 5);
    assert.equal(names.at(-1), 'error');
    assert.ok(!names.includes('message_stop'));
    assert.match(err.text, /event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
    const after = await call(sim, '/v1/messages', { body: msg('x', { stream: true }) });
    assert.equal(eventNames(after.text).at(-1), 'message_stop', 'count consumed');
  });

  it('scripted chunk size and per-chunk delay', async () => {
    sim.state.enqueue({ text: 'abcdefghij', chunkSize: 2, chunkDelayMs: 15 });
    const t0 = Date.now();
    const r = await call(sim, '/v1/messages', { body: msg('x', { stream: true }) });
    const deltas = [...r.text.matchAll(/"text_delta","text":"([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(deltas, ['ab', 'cd', 'ef', 'gh', 'ij']);
    assert.ok(Date.now() - t0 >= 70);
  });
});

describe('faults', () => {
  it('status faults: count, headers, path scope', async () => {
    const f = await control(sim, '/faults', {
      kind: 'status',
      status: 529,
      count: 2,
      retryAfterMs: 1500,
      retryAfter: 2,
      shouldRetry: true,
      path: '/v1/messages',
    });
    assert.match(f.json.id, /^fault_/);
    const other = await call(sim, '/v1/messages/count_tokens', {
      body: { model: MODEL, messages: msg().messages },
    });
    assert.equal(other.status, 200, 'path-scoped');
    const a = await call(sim, '/v1/messages', { body: msg() });
    assert.equal(a.status, 529);
    assert.equal(a.json.error.type, 'overloaded_error');
    assert.equal(a.headers.get('retry-after'), '2');
    assert.equal(a.headers.get('retry-after-ms'), '1500');
    assert.equal(a.headers.get('x-should-retry'), 'true');
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).status, 529);
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).status, 200);
  });

  it('time-bound faults end with the simulator clock', async () => {
    await control(sim, '/faults', { kind: 'status', status: 503, seconds: 30 });
    assert.equal((await call(sim, '/v1/models')).status, 503);
    await control(sim, '/clock', { advanceMs: 30_000 });
    assert.equal((await call(sim, '/v1/models')).status, 200);
  });

  it('reset destroys the connection; slow delays the first byte', async () => {
    await control(sim, '/faults', { kind: 'reset', count: 1 });
    await assert.rejects(call(sim, '/v1/messages', { body: msg() }));
    const log = await control(sim, '/requests', undefined, 'GET');
    assert.equal(log.json.data.at(-1).status, 0);
    await control(sim, '/faults', { kind: 'slow', delayMs: 120, count: 1 });
    const t0 = Date.now();
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).status, 200);
    assert.ok(Date.now() - t0 >= 110);
  });

  it('probabilistic faults are seeded: same seed, same outcomes', async () => {
    const outcomes = async () => {
      const s = await startSimulator({ profile: 'perf', seed: 42 });
      try {
        s.state.addFault({ kind: 'status', status: 500, probability: 0.5 });
        const out: number[] = [];
        for (let i = 0; i < 12; i++) out.push((await call(s, '/v1/models')).status);
        return out;
      } finally {
        await s.close();
      }
    };
    const a = await outcomes();
    assert.deepEqual(await outcomes(), a);
    assert.ok(a.includes(500) && a.includes(200));
  });

  it('scripted error responses and scripted content', async () => {
    await control(sim, '/script', [
      { status: 500, error: { type: 'api_error', message: 'boom' }, headers: { 'x-should-retry': 'false' } },
      {
        text: 'scripted',
        stopReason: 'refusal',
        stopDetails: { type: 'refusal', category: null, explanation: null },
      },
      { content: [{ type: 'text', text: 'twice' }], times: 2 },
    ]);
    const a = await call(sim, '/v1/messages', { body: msg() });
    assert.equal(a.status, 500);
    assert.equal(a.json.error.message, 'boom');
    assert.equal(a.headers.get('x-should-retry'), 'false');
    const b = await call(sim, '/v1/messages', { body: msg() });
    assert.equal(b.json.content[0].text, 'scripted');
    assert.equal(b.json.stop_reason, 'refusal');
    assert.equal(b.json.stop_details.type, 'refusal');
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).json.content[0].text, 'twice');
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).json.content[0].text, 'twice');
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).json.content[0].text, 'hello world');
  });

  it('rejects invalid control requests with 400', async () => {
    assert.equal((await control(sim, '/faults', { kind: 'status' })).status, 400);
    assert.equal((await control(sim, '/faults', { kind: 'explode' })).status, 400);
    assert.equal((await control(sim, '/profile', { profile: 'nope' })).status, 400);
    assert.equal((await control(sim, '/tier', { tier: 'gold' })).status, 400);
  });
});

describe('caching over HTTP', () => {
  const big = Array.from({ length: 800 }, (_, i) => `token${i % 7}`).join(' ');
  const cached = () =>
    msg('question', {
      system: [{ type: 'text', text: big, cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });

  it('reports cache writes then reads, in JSON and in message_start', async () => {
    const first = await call(sim, '/v1/messages', { body: cached() });
    const u1 = first.json.usage;
    assert.ok(u1.cache_creation_input_tokens > 1024);
    assert.equal(u1.cache_creation.ephemeral_1h_input_tokens, u1.cache_creation_input_tokens);
    const second = await call(sim, '/v1/messages', { body: { ...cached(), stream: true } });
    const start = JSON.parse(/event: message_start\ndata: (.+)/.exec(second.text)![1]);
    assert.equal(start.message.usage.cache_read_input_tokens, u1.cache_creation_input_tokens);
    assert.equal(start.message.usage.input_tokens, u1.input_tokens);
    const counted = await call(sim, '/v1/messages/count_tokens', {
      body: { model: MODEL, system: cached().system, messages: cached().messages },
    });
    assert.equal(
      counted.json.input_tokens,
      u1.input_tokens + u1.cache_creation_input_tokens,
      'count_tokens ignores the cache',
    );
  });

  it('cache reads do not count toward ITPM', async () => {
    await control(sim, '/tier', { limits: { requests: 1000, inputTokens: 2500, outputTokens: 100_000 } });
    const first = await call(sim, '/v1/messages', { body: cached() });
    assert.equal(first.status, 200);
    // The bucket now holds ~900 tokens: an uncached prompt of the same size is refused...
    const uncached = await call(sim, '/v1/messages', { body: msg('question', { system: big }) });
    assert.equal(uncached.status, 429);
    assert.equal(uncached.json.error.type, 'rate_limit_error');
    assert.match(uncached.json.error.message, /input tokens per minute/);
    assert.ok(Number(uncached.headers.get('retry-after')) >= 1);
    // ...but the cached one only needs its few uncached tokens.
    assert.equal((await call(sim, '/v1/messages', { body: cached() })).status, 200);
  });
});

describe('rate limits', () => {
  it('tiny tier: 5 RPM then 429 with retry-after and headers; the clock refills', async () => {
    await control(sim, '/tier', { tier: 'tiny' });
    for (let i = 0; i < 5; i++) {
      const r = await call(sim, '/v1/messages', { body: msg() });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('anthropic-ratelimit-requests-remaining'), String(4 - i));
    }
    const limited = await call(sim, '/v1/messages', { body: msg() });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '12');
    assert.equal(limited.headers.get('anthropic-ratelimit-requests-remaining'), '0');
    assert.match(
      limited.headers.get('anthropic-ratelimit-requests-reset') ?? '',
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    await control(sim, '/clock', { advanceMs: 12_000 });
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).status, 200);
  });

  it('perf/unlimited sends no rate-limit headers', async () => {
    await control(sim, '/tier', { tier: 'unlimited' });
    const r = await call(sim, '/v1/messages', { body: msg() });
    assert.equal(r.headers.get('anthropic-ratelimit-requests-limit'), null);
  });
});

describe('keys and organizations', () => {
  it('accepts configured keys only; revokes and restores; maps keys to organizations', async () => {
    await control(sim, '/keys', { accept: ['k1', 'k2'], orgs: { k2: 'org-two' } });
    assert.equal((await call(sim, '/v1/models', { headers: { 'x-api-key': 'k3' } })).status, 401);
    const k1 = await call(sim, '/v1/models', { headers: { 'x-api-key': 'k1' } });
    assert.equal(k1.status, 200);
    assert.equal(k1.headers.get('anthropic-organization-id'), sim.state.organizationId);
    const k2 = await call(sim, '/v1/models', { headers: { 'x-api-key': 'k2' } });
    assert.equal(k2.headers.get('anthropic-organization-id'), 'org-two');
    const state = await control(sim, '/keys', { revoke: 'k1' });
    assert.deepEqual(state.json.revoked, ['k1']);
    const revoked = await call(sim, '/v1/models', { headers: { 'x-api-key': 'k1' } });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.json.error.type, 'authentication_error');
    await control(sim, '/keys', { restore: 'k1' });
    assert.equal((await call(sim, '/v1/models', { headers: { 'x-api-key': 'k1' } })).status, 200);
    await control(sim, '/keys', { accept: null });
    assert.equal((await call(sim, '/v1/models', { headers: { 'x-api-key': 'anything' } })).status, 200);
  });
});

describe('models and batches routes', () => {
  it('paginates models with after_id / before_id and filters lifecycle[]', async () => {
    const p1 = await call(sim, '/v1/models?limit=2');
    assert.equal(p1.json.data.length, 2);
    assert.equal(p1.json.first_id, p1.json.data[0].id);
    assert.equal(p1.json.has_more, true);
    const p2 = await call(sim, `/v1/models?limit=2&after_id=${p1.json.last_id}`);
    assert.notEqual(p2.json.data[0].id, p1.json.last_id);
    const back = await call(sim, `/v1/models?limit=2&before_id=${p2.json.first_id}`);
    assert.deepEqual(
      back.json.data.map((m: { id: string }) => m.id),
      p1.json.data.map((m: { id: string }) => m.id),
    );
    assert.equal(back.json.has_more, false);
    const retired = await call(sim, '/v1/models?lifecycle[]=retired&limit=1000');
    assert.ok(retired.json.data.every((m: { lifecycle: string }) => m.lifecycle === 'retired'));
    assert.equal((await call(sim, '/v1/models?limit=0')).status, 400);
    const m = await call(sim, '/v1/models/claude-sonnet-4-5');
    assert.equal(m.json.id, 'claude-sonnet-4-5-20250929');
    assert.equal(m.json.lifecycle, 'deprecated');
    assert.equal(m.json.retires_at, '2026-11-30T00:00:00Z');
    assert.equal((await call(sim, '/v1/models/claude-haiku-4-20250514')).status, 404);
  });

  it('batch lifecycle over HTTP with the fake clock: cancel, results, delete', async () => {
    await control(sim, '/batches', { processingMs: 60_000 });
    const created = await call(sim, '/v1/messages/batches', {
      body: {
        requests: [
          { custom_id: 'r1', params: msg() },
          { custom_id: 'r2', params: { ...msg(), stream: true } },
        ],
      },
    });
    assert.equal(created.status, 200);
    const id = created.json.id;
    assert.match(id, /^msgbatch_/);
    assert.equal((await call(sim, `/v1/messages/batches/${id}/results`)).status, 400);
    assert.equal((await call(sim, `/v1/messages/batches/${id}`, { method: 'DELETE' })).status, 400);
    await control(sim, '/clock', { advanceMs: 60_000 });
    const done = await call(sim, `/v1/messages/batches/${id}`);
    assert.equal(done.json.processing_status, 'ended');
    assert.deepEqual(done.json.request_counts, {
      processing: 0,
      succeeded: 1,
      errored: 1,
      canceled: 0,
      expired: 0,
    });
    const results = await call(sim, `/v1/messages/batches/${id}/results`);
    const lines = results.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[1].result.error.error.type, 'invalid_request_error');
    assert.equal(lines[1].result.error.request_id, null);

    const c = await call(sim, '/v1/messages/batches', {
      body: { requests: [{ custom_id: 'x', params: msg() }] },
    });
    const canceled = await call(sim, `/v1/messages/batches/${c.json.id}/cancel`, { method: 'POST' });
    assert.equal(canceled.json.processing_status, 'canceling');
    await control(sim, '/clock', { advanceMs: 1000 });
    assert.equal((await call(sim, `/v1/messages/batches/${c.json.id}`)).json.request_counts.canceled, 1);
    const list = await call(sim, '/v1/messages/batches?limit=1');
    assert.equal(list.json.data[0].id, c.json.id);
    assert.equal(list.json.has_more, true);
    const dup = await call(sim, '/v1/messages/batches', {
      body: {
        requests: [
          { custom_id: 'x', params: msg() },
          { custom_id: 'x', params: msg() },
        ],
      },
    });
    assert.equal(dup.status, 400);
    assert.equal((await call(sim, '/v1/messages/batches/msgbatch_nope')).status, 404);
  });
});

describe('profiles and control', () => {
  it('overloaded profile answers 529 on messages only; reset restores it', async () => {
    await control(sim, '/profile', { profile: 'overloaded' });
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).status, 529);
    assert.equal((await call(sim, '/v1/models')).status, 200);
    await control(sim, '/faults', undefined, 'DELETE');
    assert.equal((await call(sim, '/v1/messages', { body: msg() })).status, 200);
  });

  it('default profile adds realistic first-byte latency', async () => {
    const s = await startSimulator({ profile: 'default' });
    try {
      const t0 = Date.now();
      await call(s, '/v1/models');
      assert.ok(Date.now() - t0 >= 18);
      assert.equal(s.state.limiter.tierName, 'build');
    } finally {
      await s.close();
    }
  });

  it('rate-limited profile uses the tiny tier; state, requests log and reset', async () => {
    const s = await startSimulator({
      profile: 'rate-limited',
      latency: { firstByte: { type: 'fixed', ms: 0 } },
    });
    try {
      const st = await control(s, '/state', undefined, 'GET');
      assert.equal(st.json.tier, 'tiny');
      await call(s, '/v1/messages', { body: msg(), headers: { 'x-trace': 'abc' } });
      const log = await control(s, '/requests?path=/v1/messages', undefined, 'GET');
      assert.equal(log.json.data.length, 1);
      assert.equal(log.json.data[0].headers['x-trace'], 'abc');
      assert.equal(log.json.data[0].body.model, MODEL);
      await control(s, '/reset');
      assert.equal((await control(s, '/requests', undefined, 'GET')).json.data.length, 0);
    } finally {
      await s.close();
    }
  });
});
