/**
 * LedgerReader: its SQL equals `gantry report`'s row-by-row functions
 * (buildReport, budgetStatus, recommend) on random rows, on SQLite and on the
 * real PostgreSQL (one schema per run, dropped at the end); the requests list
 * pages through every row of its filter exactly once, newest first; ids are
 * found by gateway id and by upstream request id.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { LedgerReader, LedgerUnavailable } from './query.ts';
import { type BudgetConfig, budgetStatus, buildReport, isErrorRow, recommend } from './report.ts';
import type { LedgerRow } from './row.ts';
import { openLedgerStore } from './store.ts';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `gantry_query_test_${process.pid}_${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'gantry-query-'));
let seq = 0;
const NOW = Date.UTC(2026, 10, 20, 15, 30);

const pgUp = await (async () => {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
})();

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!pgUp) return;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await c.end();
});

const MODELS = [
  'claude-haiku-4-5',
  'claude-sonnet-4-5',
  'claude-opus-4-1',
  'claude-haiku-5-5',
  'not-a-model',
  null,
];
const ROUTES = ['messages', 'messages', 'messages', 'batches.result', 'count_tokens', 'batches.results'];

const rowArb = (i: number) =>
  fc
    .record({
      ts: fc.integer({ min: NOW - 40 * 86_400_000, max: NOW }),
      route: fc.constantFrom(...ROUTES),
      client: fc.constantFrom('checkout', 'search', null),
      environment: fc.constantFrom('prod', 'staging', null),
      customer: fc.constantFrom('c-1', 'c-2', 'c-3', null),
      model: fc.constantFrom(...MODELS),
      status: fc.constantFrom(200, 200, 200, 429, 500, 529, null),
      outcome: fc.constantFrom('ok', 'ok', 'stream_error', 'client_closed', null),
      inputTokens: fc.integer({ min: 0, max: 300_000 }),
      outputTokens: fc.integer({ min: 0, max: 4_000 }),
      cacheWrite5mTokens: fc.integer({ min: 0, max: 3_000 }),
      cacheWrite1hTokens: fc.constantFrom(0, 0, 777),
      cacheReadTokens: fc.constantFrom(0, 0, 1, 333, 1_999, 250_001),
      costMicros: fc.integer({ min: 0, max: 5_000_000 }),
      priced: fc.boolean(),
      batch: fc.boolean(),
      upstream: fc.boolean(),
    })
    .map(
      (r): LedgerRow => ({
        id: `gtw_q${String(i).padStart(4, '0')}`,
        ts: r.ts,
        upstreamRequestId: r.upstream ? `req_q${i}` : null,
        route: r.route,
        client: r.client,
        environment: r.environment,
        customer: r.customer,
        model: r.model,
        requestedModel: null,
        stream: false,
        status: r.status,
        outcome: r.outcome,
        errorType: r.status === 429 ? 'rate_limit_error' : null,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        cacheWrite5mTokens: r.cacheWrite5mTokens,
        cacheWrite1hTokens: r.cacheWrite1hTokens,
        cacheReadTokens: r.cacheReadTokens,
        costMicros: r.costMicros,
        priced: r.priced,
        batch: r.batch,
        latencyMs: 10,
        ttftMs: null,
        attempts: 1,
        decisions: '[]',
      }),
    );

const rowsArb = fc
  .integer({ min: 0, max: 120 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rowArb(i))));

const BUDGETS: BudgetConfig = {
  clients: [
    {
      name: 'checkout',
      limits: { budget: { dailyMicros: 9_000_000, monthlyMicros: 90_000_000, action: 'block' } },
    },
    { name: 'search', limits: {} },
  ],
  limits: {
    environments: { prod: { budget: { monthlyMicros: 50_000_000, action: 'alert-only' } } },
    overall: { budget: { dailyMicros: 20_000_000, action: 'block' } },
  },
};

const BACKENDS: Array<[string, () => string, boolean]> = [
  ['sqlite', () => `sqlite:${join(dir, `ledger-${++seq}.db`)}`, true],
  ['postgres', () => `${PG_URL}?table=${SCHEMA}.ledger_${++seq}`, pgUp],
];

for (const [name, url, up] of BACKENDS) {
  describe(`LedgerReader on ${name}`, {
    skip: up ? false : 'PostgreSQL is not reachable at 127.0.0.1:5432',
  }, () => {
    async function withRows<T>(rows: LedgerRow[], fn: (reader: LedgerReader) => Promise<T>): Promise<T> {
      const u = url();
      const store = await openLedgerStore(u);
      await store.insert(rows);
      await store.close();
      const reader = LedgerReader.open(u);
      try {
        return await fn(reader);
      } finally {
        await reader.close();
      }
    }

    test('reports, budgets and recommendations equal the row-by-row functions', async () => {
      await fc.assert(
        fc.asyncProperty(rowsArb, async (rows) => {
          await withRows(rows, async (reader) => {
            const since = NOW - 30 * 86_400_000;
            const range = { since, until: NOW + 1 };
            const inRange = rows.filter((r) => r.ts >= since && r.ts <= NOW);
            for (const by of ['client', 'customer', 'model', 'day'] as const) {
              assert.deepEqual(await reader.report(by, range), buildReport(inRange, by), `by ${by}`);
            }
            const all = await reader.reports(['client', 'customer', 'model', 'day'], range);
            for (const by of ['client', 'customer', 'model', 'day'] as const) {
              assert.deepEqual(all[by], buildReport(inRange, by), `together, by ${by}`);
            }
            const budgets = await reader.budgets(BUDGETS, NOW);
            assert.deepEqual(
              budgets.map(
                ({ startsAt, projectedMicros, warnAtMicros, curve, bucketMs, ...status }) => status,
              ),
              budgetStatus(rows, BUDGETS, NOW),
            );
            for (const b of budgets) assert.equal(b.curve.at(-1)?.spentMicros ?? 0, b.spentMicros);
            const recRows = await reader.recommendationRows(range);
            assert.deepEqual(recommend(recRows, 3), recommend(inRange, 3));
          });
        }),
        { numRuns: name === 'sqlite' ? 25 : 8 },
      );
    });

    test('the requests list pages through its filter once, newest first; ids are found', async () => {
      const rows = fc.sample(
        rowsArb.filter((r) => r.length > 60),
        { numRuns: 1, seed: 42 },
      )[0];
      // Equal timestamps exercise the (ts, id) cursor.
      for (let i = 0; i < 10; i++) rows[i].ts = rows[0].ts;
      await withRows(rows, async (reader) => {
        const range = { since: 0, until: NOW + 1 };
        const want = [...rows].sort((a, b) => b.ts - a.ts || (a.id < b.id ? 1 : -1));
        const seen: LedgerRow[] = [];
        let cursor: string | undefined;
        do {
          const page = await reader.requests(range, { cursor, limit: 7 });
          assert.ok(page.rows.length <= 7);
          seen.push(...page.rows);
          cursor = page.next ?? undefined;
        } while (cursor);
        assert.deepEqual(seen, want);

        const errors = await reader.requests({ ...range, status: 'error' }, { limit: 500 });
        assert.deepEqual(
          errors.rows.map((r) => r.id),
          want.filter(isErrorRow).map((r) => r.id),
        );
        const fiveXx = await reader.requests({ ...range, status: '5xx', client: 'checkout' }, { limit: 500 });
        assert.deepEqual(
          fiveXx.rows.map((r) => r.id),
          want
            .filter((r) => r.status !== null && r.status >= 500 && r.client === 'checkout')
            .map((r) => r.id),
        );
        const code = await reader.requests(
          { ...range, status: '429', model: 'claude-haiku-4-5' },
          { limit: 500 },
        );
        assert.deepEqual(
          code.rows.map((r) => r.id),
          want.filter((r) => r.status === 429 && r.model === 'claude-haiku-4-5').map((r) => r.id),
        );

        const one = rows.find((r) => r.upstreamRequestId)!;
        assert.deepEqual(await reader.find(one.id, 0), [one]);
        assert.deepEqual(await reader.find(one.upstreamRequestId!, 0), [one]);
        assert.deepEqual(await reader.find('gtw_nothing', 0), []);
        await assert.rejects(reader.requests({ ...range, status: 'teapot' }), RangeError);
        await assert.rejects(reader.requests(range, { cursor: 'garbage' }), RangeError);
      });
    });
  });
}

test('a ledger another connection cannot read is refused with the reason', async () => {
  assert.throws(() => LedgerReader.open('off'), LedgerUnavailable);
  assert.throws(() => LedgerReader.open('sqlite::memory:'), /only the writer can see/);
  const reader = LedgerReader.open(`sqlite:${join(dir, 'never-written.db')}`);
  await assert.rejects(reader.report('client', { since: 0, until: 1 }), /does not exist yet/);
  await reader.close();
});
