/**
 * The account stage through the gateway: the row's fields (ids, client,
 * environment, customer, timings, decisions), and the invariant alarms, each
 * published on the gateway's `events.invariant` and logged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { costOf } from '../src/anthropic/cost.ts';
import { emptyUsage } from '../src/anthropic/usage.ts';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { brokenInvariants } from '../src/ledger/invariants.ts';
import type { LedgerRow } from '../src/ledger/row.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import type { InvariantEvent } from '../src/observe/events.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { type LogSink, startTestGateway, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_accountTestKey000000000000000000000000000';
const ADMIN_KEY = 'gk_accountAdminKey00000000000000000000000000';
let sim: Simulator;
let gateway: Gateway;
let logs: LogSink;
const dir = mkdtempSync(join(tmpdir(), 'gantry-account-'));
const events: InvariantEvent[] = [];
const onInvariant = (m: unknown) => events.push(m as InvariantEvent);
let rows: LedgerRow[] = [];

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway, logs } = await startTestGateway(sim.url, {
    environments: { prod: { name: 'prod', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' } },
    clients: [{ name: 'checkout', environment: 'prod', keySha256: hashKey(KEY), limits: {} }],
    storage: { ledger: `sqlite:${join(dir, 'l.db')}`, ledgerFlushMs: 20 },
  }));
  gateway.events.invariant.subscribe(onInvariant);
});
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const sdk = () =>
  new Anthropic({
    apiKey: KEY,
    baseURL: gateway.url,
    maxRetries: 0,
    defaultHeaders: { 'x-gantry-customer': 'cust-9' },
  });

describe('account stage', () => {
  let streamed = '';
  let unpriced = '';
  let doubled = '';
  test('traffic', async () => {
    const s = await sdk()
      .messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();
    for await (const _ of s.data) void _;
    streamed = s.response.headers.get('gantry-request-id')!;
    // A catalog model whose prices are unconfirmed: tokens without cost.
    const u = await sdk()
      .messages.create({
        model: 'claude-mythos-5-2',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();
    unpriced = u.response.headers.get('gantry-request-id')!;
    // A cache-write total smaller than its TTL breakdown: tokens counted in two places.
    sim.state.enqueue({
      usage: {
        cache_creation_input_tokens: 50,
        cache_creation: { ephemeral_5m_input_tokens: 40, ephemeral_1h_input_tokens: 40 },
      },
    });
    const d = await sdk()
      .messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();
    doubled = d.response.headers.get('gantry-request-id')!;
    await gateway.close();
    const store = await openLedgerStore(`sqlite:${join(dir, 'l.db')}`);
    rows = await store.rows();
    await store.close();
  });

  test('a row carries ids, client, environment, customer, timings, attempts and decisions', () => {
    const r = rows.find((x) => x.id === streamed);
    assert.ok(r);
    assert.match(r.upstreamRequestId ?? '', /^req_/);
    assert.deepEqual(
      [r.client, r.environment, r.customer, r.model, r.stream, r.status, r.outcome],
      // The model that ran, as the upstream named it (the request sent the alias).
      ['checkout', 'prod', 'cust-9', 'claude-haiku-4-5-20251001', true, 200, 'ok'],
    );
    assert.ok(r.costMicros > 0 && r.inputTokens > 0 && r.outputTokens > 0);
    assert.ok(r.latencyMs !== null && r.ttftMs !== null && r.ttftMs <= r.latencyMs);
    assert.equal(r.attempts, 1);
    assert.equal(r.decisions, '[]');
  });

  test('invariants: tokens without cost and cache counted twice are published and logged', () => {
    assert.ok(
      events.some(
        (e) =>
          e.rule === 'tokens_without_cost' && e.requestId === unpriced && e.model === 'claude-mythos-5-2',
      ),
    );
    assert.ok(events.some((e) => e.rule === 'cache_counted_twice' && e.requestId === doubled));
    assert.ok(!events.some((e) => e.requestId === streamed));
    const lines = logs.records().filter((l) => l.msg === 'accounting invariant broken');
    assert.deepEqual(lines.map((l) => l.invariant).sort(), ['cache_counted_twice', 'tokens_without_cost']);
    assert.equal(rows.find((x) => x.id === unpriced)?.priced, false);
  });

  test('invariants: a model missing from the catalog', () => {
    const u = { ...emptyUsage(), inputTokens: 100, outputTokens: 10 };
    assert.deepEqual(brokenInvariants(u, costOf(u, 'claude-nova-9'), 'claude-nova-9'), [
      'model_not_in_catalog',
    ]);
    assert.deepEqual(brokenInvariants(u, costOf(u, 'claude-haiku-4-5'), 'claude-haiku-4-5'), []);
    assert.deepEqual(
      brokenInvariants(emptyUsage(), costOf(emptyUsage(), 'claude-nova-9'), 'claude-nova-9'),
      [],
    );
  });
});

describe('account stage with a PostgreSQL ledger', () => {
  const table = `gantry_acct_${process.pid}_${Date.now().toString(36)}`;
  const url = `postgres://postgres@127.0.0.1:5432/test?table=${table}`;
  after(async () => {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS ${table}`);
    await c.end();
  });

  test('rows land in PostgreSQL, priced like in SQLite', async () => {
    const s = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const { gateway: g } = await startTestGateway(s.url, {
      clients: [{ name: 'pgclient', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
      storage: { ledger: url, ledgerFlushMs: 20 },
    });
    const client = new Anthropic({ apiKey: KEY, baseURL: g.url, maxRetries: 0 });
    const ids: string[] = [];
    for (const stream of [false, true]) {
      const r = await client.messages
        .create({
          model: 'claude-sonnet-4-6',
          max_tokens: 40,
          stream,
          messages: [{ role: 'user', content: 'pg' }],
        } as never)
        .withResponse();
      if (stream) for await (const _ of r.data as unknown as AsyncIterable<unknown>) void _;
      ids.push(r.response.headers.get('gantry-request-id')!);
    }
    await g.close();
    await s.close();
    const store = await openLedgerStore(url);
    const got = await store.rows();
    await store.close();
    assert.deepEqual(got.map((r) => r.id).sort(), [...ids].sort());
    for (const r of got) {
      const u = { ...emptyUsage(), inputTokens: r.inputTokens, outputTokens: r.outputTokens };
      assert.ok(r.costMicros > 0);
      assert.equal(r.costMicros, costOf(u, 'claude-sonnet-4-6').micros);
      assert.equal(r.client, 'pgclient');
    }
  });
});

describe('storage.ledger: off', () => {
  test('requests are priced and answered; no row is kept; /admin/ledger says off; a warning at start', async () => {
    const s = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
    const { gateway: g, logs: l } = await startTestGateway(s.url, {
      clients: [{ name: 'offclient', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
      storage: { ledger: 'off' },
      admin: { keySha256: hashKey(ADMIN_KEY) },
    });
    try {
      const client = new Anthropic({ apiKey: KEY, baseURL: g.url, maxRetries: 0 });
      const msg = await client.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 20,
        messages: [{ role: 'user', content: 'off' }],
      });
      assert.equal(msg.type, 'message');
      const records = l.records();
      const line = records.find((x) => x.cost_usd_micros !== undefined);
      assert.ok(Number(line?.cost_usd_micros) > 0, 'the log line still carries the cost');
      assert.ok(records.some((x) => String(x.msg).includes('storage.ledger is off')));
      const res = await fetch(`${g.url}/admin/ledger`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.deepEqual(await res.json(), { store: 'off' });
    } finally {
      await g.close();
      await s.close();
    }
  });
});

describe('a passed-through model missing from the catalog', () => {
  test('its usage raises model_not_in_catalog (published and logged); the row is marked unpriced', async () => {
    const { createServer } = await import('node:http');
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_nova' });
        res.end(
          JSON.stringify({
            id: 'msg_nova',
            type: 'message',
            role: 'assistant',
            model: 'claude-nova-9',
            content: [{ type: 'text', text: 'ok' }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 120, output_tokens: 30 },
          }),
        );
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as import('node:net').AddressInfo).port;
    const db = join(dir, 'nova.db');
    const { gateway: g, logs: l } = await startTestGateway(`http://127.0.0.1:${port}`, {
      clients: [
        {
          name: 'early',
          environment: 'default',
          keySha256: hashKey(KEY),
          limits: {},
          policy: { allowUnknownModels: true, promptCaching: 'off', cacheTtl: '5m' },
        },
      ],
      storage: { ledger: `sqlite:${db}` },
    });
    g.events.invariant.subscribe(onInvariant);
    const before = events.length;
    try {
      const msg = await new Anthropic({ apiKey: KEY, baseURL: g.url, maxRetries: 0 }).messages.create({
        model: 'claude-nova-9',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'new model' }],
      });
      assert.equal(msg.model, 'claude-nova-9');
    } finally {
      await g.close();
      await new Promise((r) => upstream.close(r));
    }
    const fired = events.slice(before);
    assert.deepEqual(
      fired.map((e) => [e.rule, e.model]),
      [['model_not_in_catalog', 'claude-nova-9']],
    );
    assert.ok(l.records().some((x) => x.invariant === 'model_not_in_catalog'));
    const store = await openLedgerStore(`sqlite:${db}`);
    const [row] = await store.rows();
    await store.close();
    assert.deepEqual(
      [row.model, row.inputTokens, row.outputTokens, row.costMicros, row.priced],
      ['claude-nova-9', 120, 30, 0, false],
    );
  });
});
