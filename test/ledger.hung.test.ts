/**
 * A hung ledger store is a down store, and shutdown is bounded (issue 12,
 * items 5 and 6). PostgreSQL (the real server) sits behind a fault proxy
 * (chaos/lib/proxy.ts) that can blackhole it: connections stay open, nothing
 * is answered.
 *
 * - The writer sees the store down within its timeout: logged, published,
 *   readiness fails; rows land exactly once when it is back.
 * - `close({ deadline })` with the store blackholed returns by the deadline
 *   and spills what is owed; the next writer replays the spill file, each row
 *   exactly once (rows of a batch that did land are not doubled); rows added
 *   after close land in a spill file too.
 * - Through a gateway: `/readyz` answers 503 within the timeout, a log line
 *   says why, `/metrics` shows `gantry_ledger_store_up 0`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { FaultProxy } from '../chaos/lib/proxy.ts';
import type { LedgerRow } from '../src/ledger/row.ts';
import { createLedgerStore, openLedgerStore } from '../src/ledger/store.ts';
import { LedgerWriter } from '../src/ledger/writer.ts';
import { type LedgerEvent, Topic } from '../src/observe/events.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, startTestGateway, UPSTREAM_KEY } from './support.ts';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gantry_hung_test_${process.pid}_${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'gantry-hung-'));
let proxy: FaultProxy;
let seq = 0;
const proxied = (table: string) =>
  `postgres://postgres@127.0.0.1:${proxy.port}/test?table=${SCHEMA}.${table}`;

function row(i: number): LedgerRow {
  return {
    id: `gtw_hung_${i}`,
    ts: 1_780_000_000_000 + i,
    upstreamRequestId: `req_${i}`,
    route: 'messages',
    client: 'checkout',
    environment: 'prod',
    customer: null,
    model: 'claude-haiku-4-5',
    requestedModel: null,
    stream: false,
    status: 200,
    outcome: 'ok',
    errorType: null,
    inputTokens: 10,
    outputTokens: 20,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 0,
    costMicros: 100 + i,
    priced: true,
    batch: false,
    latencyMs: 1.5,
    ttftMs: null,
    attempts: 1,
    decisions: '[]',
  };
}
const rows = (from: number, n: number) => Array.from({ length: n }, (_, k) => row(from + k));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition') {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await sleep(20);
  }
}

/** Ids in the table, with how often each appears (reads the real server, not through the proxy). */
async function idsIn(table: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const res = await client.query(`SELECT id FROM ${SCHEMA}.${table}`);
    const out = new Map<string, number>();
    for (const r of res.rows as Array<{ id: string }>) out.set(r.id, (out.get(r.id) ?? 0) + 1);
    return out;
  } finally {
    await client.end();
  }
}

before(async () => {
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: 5432 });
});
after(async () => {
  await proxy.close();
  rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
});

describe('ledger writer on a blackholed PostgreSQL', () => {
  const events: LedgerEvent[] = [];
  const topic = new Topic<LedgerEvent>();
  topic.subscribe((e) => events.push(e));

  test('down within its timeout — logged, published, readiness fails; every row lands once when it is back', async () => {
    await proxy.setMode('pass');
    const table = `t${++seq}`;
    const store = createLedgerStore(proxied(table), { timeoutMs: 500, spillDir: join(dir, 'a') });
    const logs = new LogSink();
    const writer = new LedgerWriter({
      store,
      bufferRows: 10_000,
      flushMs: 50,
      logger: pino(logs),
      events: topic,
    });
    for (const r of rows(0, 20)) writer.add(r);
    await until(() => writer.stats().written === 20, 10_000, 'first rows written');
    assert.deepEqual(await writer.check(), { ok: true });

    await proxy.setMode('blackhole');
    const t0 = Date.now();
    for (const r of rows(20, 30)) writer.add(r);
    await until(() => !writer.stats().storeUp, 5_000, 'store seen down');
    const downAfter = Date.now() - t0;
    assert.ok(downAfter <= 500 + 50 + 400, `store seen down after ${downAfter} ms (timeout 500 ms)`);
    assert.match(logs.text(), /ledger store unavailable/);
    assert.ok(
      events.some((e) => !e.storeUp),
      'a storeUp: false event',
    );
    const check = await writer.check();
    assert.equal(check.ok, false);
    assert.match(check.detail ?? '', /not answering/);
    assert.equal(writer.stats().queued, 30);

    // The partition ends with the old connections reset (as it did in the field).
    proxy.reset();
    await proxy.setMode('pass');
    await until(() => writer.stats().written === 50, 15_000, 'rows written after the store came back');
    assert.match(logs.text(), /ledger store back/);
    assert.deepEqual(await writer.check(), { ok: true });
    const stats = await writer.close();
    assert.deepEqual([stats.written, stats.spilled, stats.dropped], [50, 0, 0]);
    const ids = await idsIn(table);
    assert.equal(ids.size, 50);
    assert.ok([...ids.values()].every((n) => n === 1));
  });

  test('idle: a blackholed store fails the readiness check within its timeout (one ping)', async () => {
    await proxy.setMode('pass');
    const store = createLedgerStore(proxied(`t${++seq}`), { timeoutMs: 400, spillDir: join(dir, 'b') });
    const writer = new LedgerWriter({ store, bufferRows: 100, flushMs: 50, probeMs: 60_000 });
    await writer.flush();
    await sleep(1_100); // the last round trip is now older than the freshness window (1 s)
    await proxy.setMode('blackhole');
    const t0 = Date.now();
    const check = await writer.check();
    const took = Date.now() - t0;
    assert.equal(check.ok, false);
    assert.ok(took < 400 + 300, `readiness answered after ${took} ms`);
    proxy.reset();
    await proxy.setMode('pass');
    await writer.close({ deadline: Date.now() + 2_000 });
  });

  test('close with the store blackholed returns by its deadline and spills; the next start replays each row exactly once', async () => {
    await proxy.setMode('pass');
    const table = `t${++seq}`;
    const spillDir = join(dir, 'c');
    const url = proxied(table);
    const logs = new LogSink();
    // A long flush interval: rows wait in memory, as under load between flushes.
    const writer = new LedgerWriter({
      store: createLedgerStore(url, { timeoutMs: 5_000, spillDir }),
      bufferRows: 10_000,
      flushMs: 60_000,
      logger: pino(logs),
    });
    await writer.flush(); // opened: the table exists
    for (const r of rows(0, 300)) writer.add(r);
    // 40 of them already reached the store (a batch that landed although its answer was lost).
    const direct = await openLedgerStore(`${PG_URL}?table=${SCHEMA}.${table}`);
    await direct.insert(rows(0, 40));
    await direct.close();

    await proxy.setMode('blackhole');
    void writer.flush(); // an insert now hangs on the blackholed connection
    const t0 = Date.now();
    const stats = await writer.close({ deadline: t0 + 1_000 });
    const took = Date.now() - t0;
    assert.ok(took <= 1_000 + 300, `close took ${took} ms for a 1,000 ms deadline`);
    assert.deepEqual([stats.written, stats.spilled, stats.dropped, stats.queued], [0, 300, 0, 0]);
    assert.match(logs.text(), /ledger rows spilled at shutdown/);

    // A request cut at the drain timeout completes after close: its row lands in a spill file too.
    assert.equal(writer.add(row(300)), true);
    assert.equal(writer.stats().spilled, 301);
    assert.equal(readdirSync(spillDir).filter((f) => f.endsWith('.jsonl')).length, 2);

    // The next start: the store is back; the spill files are replayed, then deleted.
    proxy.reset();
    await proxy.setMode('pass');
    const next = new LedgerWriter({
      store: createLedgerStore(url, { timeoutMs: 5_000, spillDir }),
      bufferRows: 10_000,
      flushMs: 50,
      logger: pino(logs),
    });
    await until(() => next.stats().replayed === 301, 15_000, 'spill replayed');
    assert.match(logs.text(), /ledger spill file replayed/);
    assert.deepEqual(
      readdirSync(spillDir).filter((f) => f.startsWith('gantry-ledger-spill-')),
      [],
      'replayed spill files are deleted',
    );
    await next.close();
    const ids = await idsIn(table);
    assert.equal(ids.size, 301);
    assert.ok(
      [...ids.values()].every((n) => n === 1),
      'no row doubled',
    );
  });
});

describe('gateway with its ledger on a blackholed PostgreSQL', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  });
  after(() => sim.close());

  test('/readyz 503 within the ledger timeout, a log line, gantry_ledger_store_up 0; 200 again once it is back', async () => {
    await proxy.setMode('pass');
    const { gateway, logs } = await startTestGateway(sim.url, {
      storage: {
        ledger: proxied(`gw${++seq}`),
        ledgerTimeoutMs: 500,
        ledgerFlushMs: 50,
        ledgerSpillDir: join(dir, 'gw'),
      },
    });
    try {
      const ask = () =>
        fetch(`${gateway.url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': UPSTREAM_KEY,
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            model: 'claude-haiku-4-5',
            max_tokens: 16,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        }).then((r) => r.arrayBuffer());
      const ready = async () => (await fetch(`${gateway.url}/readyz`)).status;
      await ask();
      await until(async () => (await ready()) === 200, 10_000, 'ready');

      await proxy.setMode('blackhole');
      const t0 = Date.now();
      await ask(); // a row for the blackholed store
      await until(async () => (await ready()) === 503, 5_000, '/readyz 503');
      const took = Date.now() - t0;
      assert.ok(took <= 500 + 1_000, `/readyz 503 after ${took} ms (ledger timeout 500 ms)`);
      const body = (await (await fetch(`${gateway.url}/readyz`)).json()) as {
        checks: { stores: Record<string, string> };
      };
      assert.match(body.checks.stores.ledger, /unreachable/);
      await until(() => logs.text().includes('ledger store unavailable'), 2_000, 'log line');
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      assert.match(metrics, /^gantry_ledger_store_up 0$/m);

      proxy.reset();
      await proxy.setMode('pass');
      await until(async () => (await ready()) === 200, 15_000, '/readyz 200 again');
      assert.match(await (await fetch(`${gateway.url}/metrics`)).text(), /^gantry_ledger_store_up 1$/m);
    } finally {
      await gateway.close();
    }
  });
});
