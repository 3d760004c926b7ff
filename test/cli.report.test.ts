/**
 * `gantry report` and `gantry models` as a user runs them: a SQLite ledger
 * with known rows, the CLI spawned, its output checked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { costOf } from '../src/anthropic/cost.ts';
import { emptyUsage } from '../src/anthropic/usage.ts';
import { budgetStatus, buildReport, percentile, recommend } from '../src/ledger/report.ts';
import type { LedgerRow } from '../src/ledger/row.ts';
import { openLedgerStore } from '../src/ledger/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'gantry-report-'));
const db = `sqlite:${join(dir, 'ledger.db')}`;
const DAY = Date.parse('2026-11-20T12:00:00Z');

function row(i: number, over: Partial<LedgerRow>): LedgerRow {
  return {
    id: `gtw_r${i}`,
    ts: DAY + i * 1000,
    upstreamRequestId: `req_${i}`,
    route: 'messages',
    client: 'search',
    environment: 'prod',
    customer: 'c1',
    model: 'claude-opus-5',
    requestedModel: null,
    stream: false,
    status: 200,
    outcome: 'ok',
    errorType: null,
    inputTokens: 100,
    outputTokens: 40,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 0,
    costMicros: 0,
    priced: true,
    batch: false,
    latencyMs: 10,
    ttftMs: 5,
    attempts: 1,
    decisions: '[]',
    ...over,
  };
}
const priced = (r: LedgerRow): LedgerRow => {
  const u = {
    ...emptyUsage(),
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cacheReadInputTokens: r.cacheReadTokens,
  };
  return { ...r, costMicros: costOf(u, r.model ?? undefined).micros };
};

// 30 small opus requests for "search" (outputs 1..30), 5 haiku requests with cache reads for "chat", one error.
const ROWS: LedgerRow[] = [
  ...Array.from({ length: 30 }, (_, i) => priced(row(i, { outputTokens: i + 1 }))),
  ...Array.from({ length: 5 }, (_, i) =>
    priced(
      row(100 + i, {
        client: 'chat',
        customer: 'c2',
        model: 'claude-haiku-4-5',
        inputTokens: 50,
        cacheReadTokens: 1000,
        ts: DAY + 86_400_000 + i,
      }),
    ),
  ),
  row(200, {
    client: 'chat',
    status: 429,
    outcome: 'ok',
    errorType: 'rate_limit_error',
    inputTokens: 0,
    outputTokens: 0,
  }),
];

before(async () => {
  const store = await openLedgerStore(db);
  await store.insert(ROWS);
  await store.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const gantry = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/gantry.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('report', () => {
  test('groups, cache hit rate and savings', () => {
    const { lines, total } = buildReport(ROWS, 'client');
    const chat = lines.find((l) => l.key === 'chat')!;
    assert.deepEqual([chat.requests, chat.errors, chat.cacheReadTokens], [6, 1, 5000]);
    assert.equal(chat.cacheHitRate, 5000 / 5250);
    // 5000 reads on Haiku 4.5: $1/MTok as input vs $0.10 as reads → 5000 × 0.9 µ$ = 4500 µ$.
    assert.equal(chat.savingsMicros, 4500);
    assert.equal(total.requests, 36);
    assert.equal(
      total.costMicros,
      ROWS.reduce((s, r) => s + r.costMicros, 0),
    );
    assert.deepEqual(
      buildReport(ROWS, 'day').lines.map((l) => l.key),
      ['2026-11-20', '2026-11-21'],
    );
  });

  test('recommendations: max_tokens from p99 of output, cheaper model for small requests', () => {
    assert.equal(percentile([5, 1, 3, 2, 4], 99), 5);
    assert.equal(percentile([], 99), 0);
    const recs = recommend(ROWS);
    const mt = recs.find((r) => r.client === 'search' && r.kind === 'max_tokens');
    assert.equal(mt?.suggestion, 'max_tokens: 64'); // p99 = 30 → 36 → 64
    const cheaper = recs.find((r) => r.kind === 'cheaper_model');
    assert.ok(cheaper && cheaper.client === 'search' && cheaper.suggestion.endsWith('for claude-opus-5'));
    assert.ok((cheaper.savingsMicros ?? 0) > 0);
    assert.ok(!recs.some((r) => r.client === 'chat'), 'too few requests for chat');
  });

  test('gantry report --format json --by model reads the store', () => {
    const { code, out, err } = gantry(
      'report',
      '--ledger',
      db,
      '--by',
      'model',
      '--format',
      'json',
      '--recommend',
    );
    assert.equal(code, 0, err);
    const rep = JSON.parse(out);
    assert.equal(rep.by, 'model');
    // One line per model, by the catalog's canonical id; the names asked for in `requested`.
    assert.deepEqual(rep.lines.map((l: { key: string }) => l.key).sort(), [
      'claude-haiku-4-5-20251001',
      'claude-opus-5',
    ]);
    assert.deepEqual(
      rep.lines.find((l: { key: string }) => l.key === 'claude-haiku-4-5-20251001').requested,
      ['claude-haiku-4-5'],
    );
    assert.equal(
      rep.total.costMicros,
      ROWS.reduce((s, r) => s + r.costMicros, 0),
    );
    assert.ok(rep.recommendations.length >= 2);
  });

  test('gantry report: table, csv, --since, bad options', () => {
    const table = gantry('report', '--ledger', db, '--since', '2026-11-21');
    assert.equal(table.code, 0, table.err);
    // client, requests, errors, closed, input, output, estimated, writes, read, hit rate, cost, saved
    assert.match(
      table.out,
      /chat\s+5\s+0\s+0\s+250\s+200\s+0\s+0\s+0\s+5000\s+95\.2%\s+0\.001750\s+0\.004500/,
    );
    assert.doesNotMatch(table.out, /search/);
    const csv = gantry('report', '--ledger', db, '--format', 'csv', '--by', 'customer');
    assert.equal(
      csv.out.split('\n')[0],
      'customer,requests,errors,closed,input,output,estimated,write 5m,write 1h,read,hit rate,cost $,saved $',
    );
    assert.equal(gantry('report', '--ledger', db, '--by', 'team').code, 2);
  });

  test('gantry report without a ledger says so, and creates none', () => {
    const missing = join(dir, 'missing', 'ledger.db');
    const r = gantry('report', '--ledger', `sqlite:${missing}`);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`no ledger at ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(existsSync(missing), false);
    const off = gantry('report', '--ledger', 'off');
    assert.equal(off.code, 1);
    assert.match(off.err, /storage\.ledger is off/);
  });
});

describe('budget status', () => {
  const limits = (budget: object) => ({ budget: { action: 'block', ...budget } });
  test('spent per scope in the current UTC day and month, from the ledger rows', () => {
    const now = DAY + 3_600_000; // same UTC day as every row
    const status = budgetStatus(
      ROWS,
      {
        clients: [
          { name: 'search', limits: limits({ dailyMicros: 1_000_000 }) },
          { name: 'chat', limits: {} },
        ],
        limits: {
          overall: limits({ monthlyMicros: 50_000_000 }),
          environments: { prod: limits({ dailyMicros: 10 }) },
        },
      },
      now,
    );
    const spent = (pred: (r: LedgerRow) => boolean) =>
      ROWS.filter((r) => pred(r) && r.ts >= Date.UTC(2026, 10, 20) && r.ts < Date.UTC(2026, 10, 21)).reduce(
        (sum, r) => sum + r.costMicros,
        0,
      );
    assert.deepEqual(
      status.map((b) => [b.scope, b.period, b.spentMicros, b.resetsAt]),
      [
        ['client:search', 'daily', spent((r) => r.client === 'search'), '2026-11-21T00:00:00.000Z'],
        ['environment:prod', 'daily', spent((r) => r.environment === 'prod'), '2026-11-21T00:00:00.000Z'],
        [
          'overall',
          'monthly',
          ROWS.filter((r) => r.ts >= Date.UTC(2026, 10, 1)).reduce((sum, r) => sum + r.costMicros, 0),
          '2026-12-01T00:00:00.000Z',
        ],
      ],
    );
    assert.ok(status[0].spentMicros > 0);
    assert.ok(status[1].percent > 100, 'a 10 µ$ budget is overspent');
  });

  test('gantry report --config shows the configured budgets', () => {
    const config = join(dir, 'gantry.yaml');
    writeFileSync(
      config,
      `storage: { ledger: "${db}" }\nlimits: { overall: { budget: { monthly_usd: 100, action: alert-only } } }\n`,
    );
    const json = gantry('report', '--config', config, '--format', 'json');
    assert.equal(json.code, 0, json.err);
    const budgets = JSON.parse(json.out).budgets;
    assert.equal(budgets.length, 1);
    assert.equal(budgets[0].scope, 'overall');
    assert.equal(budgets[0].limitMicros, 100_000_000);
    const table = gantry('report', '--config', config);
    assert.match(table.out, /overall monthly: \$[0-9.]+ of \$100\.000000 .*alert-only at 100 %/);
  });
});

describe('models', () => {
  test('gantry models prints the catalog with its source; --json is the data', () => {
    const t = gantry('models');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /claude-haiku-4-5-20251001\s+claude-haiku-4-5\s+active/);
    assert.match(t.out, /Source: .* as of 2026-11-24/);
    assert.doesNotMatch(t.out, /claude-3-opus/);
    const j = JSON.parse(gantry('models', '--json', '--all').out);
    assert.equal(j.as_of, '2026-11-24');
    const haiku = j.models.find((m: { id: string }) => m.id === 'claude-haiku-4-5-20251001');
    assert.deepEqual(haiku.prices, {
      input: 1,
      cache_write_5m: 1.25,
      cache_write_1h: 2,
      cache_read: 0.1,
      output: 5,
    });
    assert.ok(j.models.some((m: { lifecycle: string }) => m.lifecycle === 'retired'));
  });
});
