/**
 * The policy stage through the gateway: unknown and retired models refused
 * before any upstream spend, allow-lists, aliases, max_tokens default / cap /
 * clamp, opt-in routing recorded in the ledger, and prompt caching `auto`
 * (breakpoints only when opted in; otherwise the bytes go out untouched).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { resolveModel } from '../src/anthropic/models.ts';
import { hashKey } from '../src/config/keys.ts';
import type { ClientConfig } from '../src/config/types.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import { policySchema, resolvePolicy } from '../src/policy/config.ts';
import { autoCache, countBreakpoints } from '../src/policy/rules.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY, until } from './support.ts';

const key = (n: string) => `gk_policy${n.padEnd(36, '0')}`;
const client = (name: string, policy?: import('zod').input<typeof policySchema>): ClientConfig => {
  const c: ClientConfig = { name, environment: 'default', keySha256: hashKey(key(name)), limits: {} };
  if (policy) c.policy = resolvePolicy(policySchema.parse(policy));
  return c;
};
const LONG = `Policy system prompt. ${Array.from({ length: 3000 }, (_, i) => `word${i}`).join(' ')}`;

let sim: Simulator;
let gateway: Gateway;
const dir = mkdtempSync(join(tmpdir(), 'gantry-policy-'));

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway } = await startTestGateway(sim.url, {
    clients: [
      client('plain'),
      client('open', { allow_unknown_models: true }),
      client('listed', {
        models: ['claude-haiku-4-5', 'claude-sonnet-4-6'],
        aliases: { fast: 'claude-haiku-4-5' },
        allow_unknown_models: false,
      }),
      client('capped', { max_tokens: { default: 111, cap: 500, over_cap: 'reject' } }),
      client('clamped', { max_tokens: { default: 111, cap: 500, over_cap: 'clamp' } }),
      client('router', {
        routing: [
          { name: 'small', model: 'claude-haiku-4-5', when: { no_tools: true, max_input_tokens: 200 } },
        ],
      }),
      client('cacher', { prompt_caching: 'auto', cache_ttl: '5m' }),
    ],
    storage: { ledger: `sqlite:${join(dir, 'p.db')}`, ledgerFlushMs: 20 },
  }));
});
after(async () => {
  await gateway.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => sim.state.reset());

const sdk = (name: string) => new Anthropic({ apiKey: key(name), baseURL: gateway.url, maxRetries: 0 });
const ask = (name: string, body: Record<string, unknown>) =>
  sdk(name).messages.create({
    model: 'claude-haiku-4-5',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hello' }],
    ...body,
  } as Anthropic.MessageCreateParamsNonStreaming);
const simBodies = () => sim.state.requests.all().map((r) => r.body as Record<string, unknown>);

describe('model catalog check', () => {
  test('an unknown id → 404 not_found_error naming the closest ids, before any upstream spend', async () => {
    const err = await ask('plain', { model: 'claude-haiku-4-6' }).catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.NotFoundError);
    assert.match(
      err.message,
      /model: claude-haiku-4-6 is not a known model; closest valid ids: claude-haiku-4-5-20251001/,
    );
    assert.equal(sim.state.requests.all().length, 0);
  });

  test('a retired id → 404 before spend, even for a client that passes new ids through', async () => {
    for (const name of ['plain', 'open']) {
      const err = await ask(name, { model: 'claude-opus-4-1' }).catch((e: unknown) => e);
      assert.ok(err instanceof Anthropic.NotFoundError, name);
      assert.match((err as Error).message, /was retired on 2026-08-05/);
    }
    const count = await sdk('plain')
      .messages.countTokens({ model: 'claude-3-opus-20240229', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(count instanceof Anthropic.NotFoundError);
    assert.equal(sim.state.requests.all().length, 0);
  });

  test('allow_unknown_models passes a new id through to the upstream', async () => {
    const err = await ask('open', { model: 'claude-nova-9' }).catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.NotFoundError); // the simulator's own answer
    assert.equal(sim.state.requests.all().length, 1);
    assert.equal(simBodies()[0].model, 'claude-nova-9');
  });
});

describe('allow-list and aliases', () => {
  test('a model outside the allow-list → 403; listed ids and aliases pass', async () => {
    const err = await ask('listed', { model: 'claude-opus-5' }).catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.PermissionDeniedError);
    assert.equal(sim.state.requests.all().length, 0);
    await ask('listed', { model: 'claude-haiku-4-5-20251001' }); // the dated id of a listed alias
    const viaAlias = await ask('listed', { model: 'fast' });
    assert.equal(viaAlias.model, 'claude-haiku-4-5-20251001');
    assert.equal(simBodies()[1].model, 'claude-haiku-4-5');
  });
});

describe('max_tokens', () => {
  test('a default when missing', async () => {
    const raw = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': key('capped'),
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(raw.status, 200);
    assert.equal(simBodies()[0].max_tokens, 111);
  });

  test('above the cap: reject with a clear 400, or clamp', async () => {
    const err = await ask('capped', { max_tokens: 501 }).catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.BadRequestError);
    assert.match((err as Error).message, /max_tokens: 501 is above this client's cap of 500/);
    assert.equal(sim.state.requests.all().length, 0);
    await ask('capped', { max_tokens: 500 });
    await ask('clamped', { max_tokens: 4000 });
    assert.deepEqual(
      simBodies().map((b) => b.max_tokens),
      [500, 500],
    );
  });
});

describe('routing', () => {
  test('a small request without tools goes to the cheaper model; the decision is in the ledger', async () => {
    const { data, response } = await sdk('router')
      .messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'short' }],
      })
      .withResponse();
    assert.equal(data.model, 'claude-haiku-4-5-20251001');
    const routedId = response.headers.get('gantry-request-id')!;
    // With tools (or a long prompt) the rule does not match.
    const tools = [{ name: 't', input_schema: { type: 'object' as const } }];
    const kept = await sdk('router').messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 50,
      tools,
      messages: [{ role: 'user', content: 'short' }],
    });
    assert.equal(kept.model, 'claude-sonnet-4-6');
    const long = await sdk('router').messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 50,
      messages: [{ role: 'user', content: LONG.slice(0, 4000) }],
    });
    assert.equal(long.model, 'claude-sonnet-4-6');
    // The row is written off the request path: wait for it, however loaded the machine.
    const row = await until(async () => {
      const store = await openLedgerStore(`sqlite:${join(dir, 'p.db')}`);
      try {
        return (await store.rows()).find((r) => r.id === routedId);
      } finally {
        await store.close();
      }
    }, "the routed request's ledger row");
    // The model that ran as the upstream named it; the one the client asked for.
    assert.deepEqual([row.model, row.requestedModel], ['claude-haiku-4-5-20251001', 'claude-sonnet-4-6']);
    assert.deepEqual(JSON.parse(row.decisions), [
      {
        stage: 'policy',
        action: 'routed',
        rule: 'policy.routing.small',
        detail: 'claude-sonnet-4-6->claude-haiku-4-5',
      },
    ]);
  });
});

describe('prompt caching auto', () => {
  test('opted in: a long system prompt gets a breakpoint and the cache is written', async () => {
    const first = await ask('cacher', { model: 'claude-opus-5', system: LONG });
    const sent = simBodies()[0];
    assert.deepEqual(sent.system, [{ type: 'text', text: LONG, cache_control: { type: 'ephemeral' } }]);
    assert.ok((first.usage.cache_creation_input_tokens ?? 0) > 0);
    const second = await ask('cacher', { model: 'claude-opus-5', system: LONG });
    assert.ok((second.usage.cache_read_input_tokens ?? 0) > 0);
  });

  test('opted in: a short prompt, or one that already has a breakpoint, is left alone', async () => {
    await ask('cacher', { model: 'claude-opus-5', system: 'short' });
    const marked = [{ type: 'text', text: LONG, cache_control: { type: 'ephemeral', ttl: '1h' } }];
    await ask('cacher', { model: 'claude-opus-5', system: marked });
    assert.equal(simBodies()[0].system, 'short');
    assert.deepEqual(simBodies()[1].system, marked);
  });

  test('not opted in: request bytes are forwarded byte for byte', async () => {
    const seen: Buffer[] = [];
    const upstream: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_bytes' });
        res.end(
          JSON.stringify({
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: 'claude-opus-5',
            content: [{ type: 'text', text: 'ok' }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 10, output_tokens: 2 },
          }),
        );
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const { gateway: g } = await startTestGateway(
      `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      {
        clients: [client('plain'), client('cacher', { prompt_caching: 'auto' })],
      },
    );
    try {
      // Odd spacing, key order and escapes: any re-serialisation would show.
      const body = `{ "max_tokens":100,  "model" : "claude-opus-5", "system": ${JSON.stringify(LONG)},\n "messages":[{"role":"user","content":"caf\\u00e9"}] }`;
      const short = `{"model":"claude-opus-5" ,"max_tokens":100,"system":"short","messages":[{"role":"user","content":"x"}]}`;
      for (const [name, b] of [
        ['plain', body],
        ['cacher', short],
      ]) {
        const res = await fetch(`${g.url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': key(name),
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
          },
          body: b,
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      assert.equal(seen[0].toString('utf8'), body);
      assert.equal(seen[1].toString('utf8'), short);
    } finally {
      await g.close();
      await new Promise((r) => upstream.close(r));
    }
  });

  test('breakpoints stay within the limit of four', () => {
    const entry = resolveModel('claude-opus-5');
    const content = Array.from({ length: 4 }, (_, i) => ({
      type: 'text',
      text: `t${i}`,
      cache_control: { type: 'ephemeral' },
    }));
    const full = { system: LONG, messages: [{ role: 'user', content }] };
    assert.equal(countBreakpoints(full).total, 4);
    assert.equal(autoCache(full, entry, '5m'), undefined);
    const three = { system: LONG, messages: [{ role: 'user', content: content.slice(1) }] };
    const added = autoCache(three, entry, '1h');
    assert.ok(added);
    assert.equal(countBreakpoints(added.body).total, 4);
    assert.deepEqual((added.body.system as Array<{ cache_control: unknown }>)[0].cache_control, {
      type: 'ephemeral',
      ttl: '1h',
    });
    // Tools only: the last tool is marked.
    const tools = [
      { name: 'a', input_schema: { type: 'object' } },
      { name: 'b', description: LONG, input_schema: { type: 'object' } },
    ];
    const t = autoCache({ tools, messages: [] }, entry, '5m');
    assert.ok(t);
    assert.equal(t.where, 'tools');
    assert.deepEqual((t.body.tools as Array<Record<string, unknown>>)[1].cache_control, {
      type: 'ephemeral',
    });
    assert.equal((tools[1] as Record<string, unknown>).cache_control, undefined, 'the input is not modified');
  });
});
