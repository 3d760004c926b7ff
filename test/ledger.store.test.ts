/**
 * The ledger stores: SQLite and PostgreSQL pass the same suite (round trip,
 * idempotent inserts, time filter, the writer end to end), then outages: a
 * locked store, a store that fails N times, a store that never comes back —
 * no row is lost within the buffer bound, and what is dropped beyond it is
 * counted, published and logged.
 *
 * PostgreSQL is the real server (postgres://postgres@127.0.0.1:5432/test),
 * one unique schema per run, dropped at the end.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import type { LedgerRow } from '../src/ledger/row.ts';
import { createLedgerStore, type LedgerStore, openLedgerStore } from '../src/ledger/store.ts';
import { LedgerWriter } from '../src/ledger/writer.ts';
import { type LedgerEvent, Topic } from '../src/observe/events.ts';
import { LogSink } from './support.ts';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gantry_ledger_test_${process.pid}_${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'gantry-ledger-'));
let seq = 0;

function row(i: number, over: Partial<LedgerRow> = {}): LedgerRow {
  return {
    id: `gtw_test_${i}`,
    ts: 1_780_000_000_000 + i,
    upstreamRequestId: i % 3 === 0 ? null : `req_${i}`,
    route: 'messages',
    client: 'checkout',
    environment: 'prod',
    customer: i % 2 ? 'cust-1' : null,
    model: 'claude-haiku-4-5',
    requestedModel: i % 5 === 0 ? 'claude-sonnet-4-5' : null,
    stream: i % 2 === 0,
    status: 200,
    outcome: 'ok',
    errorType: null,
    inputTokens: 1000 + i,
    outputTokens: 50 + i,
    cacheWrite5mTokens: i,
    cacheWrite1hTokens: 2 * i,
    cacheReadTokens: 3 * i,
    costMicros: 123_456_789_012 + i,
    priced: i % 7 !== 0,
    batch: false,
    latencyMs: 12.345,
    ttftMs: i % 4 === 0 ? null : 3.5,
    attempts: 1,
    decisions: JSON.stringify([
      { stage: 'policy', action: 'routed', rule: 'r1', detail: 'claude-haiku-4-5' },
    ]),
    ...over,
  };
}

const rows = (from: number, n: number) => Array.from({ length: n }, (_, k) => row(from + k));

/** Each backend: a fresh, isolated store per call. */
const BACKENDS: Array<[string, () => string]> = [
  ['sqlite', () => `sqlite:${join(dir, `ledger-${++seq}.db`)}`],
  ['postgres', () => `${PG_URL}?table=${SCHEMA}.ledger_${++seq}`],
];

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
});

for (const [name, url] of BACKENDS) {
  describe(`ledger store: ${name}`, () => {
    let store: LedgerStore;
    before(async () => {
      store = await openLedgerStore(url());
    });
    after(() => store.close());

    test('rows round-trip field for field', async () => {
      const input = rows(1, 30);
      await store.insert(input);
      assert.deepEqual(await store.rows(), input);
    });

    test('a batch larger than one multi-row statement (130 rows: 2 × 50 + 30 singly) round-trips', async () => {
      const input = rows(1000, 130);
      await store.insert(input);
      const got = (await store.rows()).filter(
        (r) => r.id >= 'gtw_test_1000' && input.some((i) => i.id === r.id),
      );
      assert.equal(got.length, 130);
      assert.deepEqual(
        got.sort((a, b) => a.id.localeCompare(b.id)),
        [...input].sort((a, b) => a.id.localeCompare(b.id)),
      );
    });

    test('inserts are idempotent: a retried batch never counts a row twice', async () => {
      const before = await store.count();
      await store.insert(rows(1, 30)); // the same batch again
      await store.insert(rows(25, 10)); // overlapping: 25..34, of which 31..34 are new
      assert.equal(await store.count(), before + 4);
      const again = (await store.rows()).find((r) => r.id === 'gtw_test_5');
      assert.deepEqual(again, row(5));
    });

    test('rows filter by time', async () => {
      const got = await store.rows({ since: 1_780_000_000_000 + 10, until: 1_780_000_000_000 + 20 });
      assert.deepEqual(
        got.map((r) => r.id),
        rows(10, 10).map((r) => r.id),
      );
    });

    test('writer: batched off the request path, everything written by close()', async () => {
      const where = url();
      const target = createLedgerStore(where);
      const writer = new LedgerWriter({ store: target, bufferRows: 10_000, flushMs: 20, batchRows: 256 });
      const t0 = performance.now();
      for (const r of rows(1000, 2000)) assert.equal(writer.add(r), true);
      const addMs = performance.now() - t0;
      // add() never waits on the store: 2000 rows are queued far faster than any store writes them.
      assert.ok(addMs < 1_000, `add took ${addMs} ms`);
      const stats = await writer.close();
      assert.deepEqual([stats.written, stats.dropped, stats.queued], [2000, 0, 0]);
      const check = await openLedgerStore(where);
      assert.equal(await check.count(), 2000);
      await check.close();
    });
  });
}

/** A store that fails its first `failures` inserts (connection refused), then works. */
class FlakyStore implements LedgerStore {
  readonly kind = 'sqlite' as const;
  readonly where = 'flaky';
  readonly spillDir = undefined;
  failures: number;
  attempts = 0;
  readonly inner: LedgerStore;
  constructor(inner: LedgerStore, failures: number) {
    this.inner = inner;
    this.failures = failures;
  }
  init() {
    return this.inner.init();
  }
  async insert(r: readonly LedgerRow[]) {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    }
    return this.inner.insert(r);
  }
  rows() {
    return this.inner.rows();
  }
  count() {
    return this.inner.count();
  }
  spend(q: { since: number; until: number }) {
    return this.inner.spend(q);
  }
  async ping() {
    if (this.failures > 0) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('ledger outages', () => {
  const events: LedgerEvent[] = [];
  const topic = new Topic<LedgerEvent>();
  topic.subscribe((e) => events.push(e));

  test('a store failing N times loses no row within the buffer bound', async () => {
    const flaky = new FlakyStore(createLedgerStore(`sqlite:${join(dir, 'flaky.db')}`), 5);
    const logs = new LogSink();
    const writer = new LedgerWriter({
      store: flaky,
      bufferRows: 1000,
      flushMs: 15,
      logger: pino(logs),
      events: topic,
    });
    for (let k = 0; k < 10; k++) {
      for (const r of rows(k * 50, 50)) writer.add(r);
      await sleep(10);
    }
    await until(() => writer.stats().written === 500);
    const stats = writer.stats();
    assert.equal(stats.dropped, 0);
    assert.ok(stats.failures >= 5, `failures ${stats.failures}`);
    assert.ok(stats.maxQueued > 0 && stats.maxQueued <= 1000);
    assert.ok(logs.text().includes('ledger store unavailable'));
    assert.ok(logs.text().includes('ledger store back'));
    assert.ok(events.some((e) => !e.storeUp) && events.at(-1)!.storeUp);
    await writer.close();
    const check = await openLedgerStore(`sqlite:${join(dir, 'flaky.db')}`);
    assert.equal(await check.count(), 500);
    await check.close();
  });

  test('beyond the bound, rows are dropped, counted, published and logged', async () => {
    events.length = 0;
    const flaky = new FlakyStore(
      createLedgerStore(`sqlite:${join(dir, 'bound.db')}`),
      Number.POSITIVE_INFINITY,
    );
    const logs = new LogSink();
    const writer = new LedgerWriter({
      store: flaky,
      bufferRows: 100,
      flushMs: 10,
      logger: pino(logs),
      events: topic,
    });
    let accepted = 0;
    for (const r of rows(0, 150)) if (writer.add(r)) accepted++;
    assert.equal(accepted, 100);
    assert.deepEqual([writer.stats().queued, writer.stats().dropped], [100, 50]);
    assert.ok(events.some((e) => e.dropped === 50 && e.queued === 100));
    assert.match(logs.text(), /ledger buffer full/);
    flaky.failures = 0; // the store comes back
    await until(() => writer.stats().written === 100);
    const stats = await writer.close();
    assert.deepEqual([stats.written, stats.dropped], [100, 50]);
  });

  test('sqlite: a locked database (another writer holds it) delays rows, loses none, never holds the event loop', async () => {
    const path = join(dir, 'locked.db');
    const store = await openLedgerStore(`sqlite:${path}`);
    const writer = new LedgerWriter({ store, storeReady: true, bufferRows: 5000, flushMs: 20 });
    const locker = new DatabaseSync(path);
    locker.exec('BEGIN EXCLUSIVE');
    for (const r of rows(0, 300)) writer.add(r);
    // The insert waits on the lock (busy timeout) inside the worker thread: this event loop stays free.
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    await sleep(600);
    delay.disable();
    assert.equal(writer.stats().written, 0);
    const maxMs = delay.max / 1e6;
    assert.ok(maxMs < 60, `event loop held ${maxMs.toFixed(1)} ms while the database was locked`);
    locker.exec('COMMIT');
    locker.close();
    await until(() => writer.stats().written === 300);
    await writer.close();
  });

  test('postgres: a locked table delays rows, loses none', async () => {
    const table = `${SCHEMA}.locked`;
    const store = await openLedgerStore(`${PG_URL}?table=${table}`);
    const writer = new LedgerWriter({ store, storeReady: true, bufferRows: 5000, flushMs: 20 });
    const locker = new pg.Client({ connectionString: PG_URL });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    for (const r of rows(0, 300)) writer.add(r);
    await sleep(300);
    assert.equal(writer.stats().written, 0);
    for (const r of rows(300, 200)) writer.add(r); // more traffic while locked
    await locker.query('COMMIT');
    await locker.end();
    await until(() => writer.stats().written === 500);
    const stats = await writer.close();
    assert.equal(stats.dropped, 0);
  });

  test('postgres: connection refused at start — rows buffer; close gives up at its timeout and spills them', async () => {
    const spillDir = join(dir, 'spill-refused');
    const store = createLedgerStore('postgres://postgres@127.0.0.1:1/test', { spillDir });
    const logs = new LogSink();
    const writer = new LedgerWriter({
      store,
      bufferRows: 1000,
      flushMs: 20,
      closeTimeoutMs: 300,
      logger: pino(logs),
    });
    for (const r of rows(0, 40)) writer.add(r);
    await until(() => writer.stats().failures > 0);
    assert.equal(writer.stats().queued, 40);
    const stats = await writer.close();
    assert.deepEqual([stats.written, stats.spilled, stats.dropped], [0, 40, 0]);
    assert.match(logs.text(), /ledger rows spilled at shutdown/);
    assert.equal(readdirSync(spillDir).filter((f) => f.endsWith('.jsonl')).length, 1);
  });

  test('rows added while close runs (requests cut at the drain timeout) still reach the store', async () => {
    const flaky = new FlakyStore(createLedgerStore(`sqlite:${join(dir, 'late.db')}`), 3);
    const writer = new LedgerWriter({ store: flaky, bufferRows: 1000, flushMs: 10, closeTimeoutMs: 5_000 });
    for (const r of rows(0, 20)) writer.add(r);
    const closing = writer.close();
    await sleep(20);
    for (const r of rows(20, 5)) assert.equal(writer.add(r), true); // cut handlers run while the close retries
    const stats = await closing;
    assert.deepEqual([stats.written, stats.spilled, stats.dropped], [25, 0, 0]);
    const check = await openLedgerStore(`sqlite:${join(dir, 'late.db')}`);
    assert.equal(await check.count(), 25);
    await check.close();
  });

  test('sqlite::memory: has nowhere to spill: rows left at close are dropped, counted and logged', async () => {
    const flaky = new FlakyStore(createLedgerStore('sqlite::memory:'), Number.POSITIVE_INFINITY);
    const logs = new LogSink();
    const writer = new LedgerWriter({
      store: flaky,
      bufferRows: 100,
      flushMs: 10,
      closeTimeoutMs: 100,
      logger: pino(logs),
    });
    for (const r of rows(0, 7)) writer.add(r);
    const stats = await writer.close();
    assert.deepEqual([stats.written, stats.spilled, stats.dropped], [0, 0, 7]);
    assert.match(logs.text(), /ledger rows lost at shutdown/);
  });
});
