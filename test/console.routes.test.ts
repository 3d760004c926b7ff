/**
 * The console's routes through a real gateway in front of the simulator: the
 * static files and their headers, the admin key, the ledger views equal to
 * what `gantry report` computes from the same ledger, the traffic series equal
 * to `/admin/stats`, errors that say what failed, and the size of each page's
 * data for a day of 100,000 requests.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildReport, recommend } from '../src/ledger/report.ts';
import type { LedgerRow } from '../src/ledger/row.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import {
  ADMIN_KEY,
  admin,
  type ConsoleStack,
  ledgerSettled,
  runWorkload,
  type Sent,
  startConsoleStack,
} from './console-support.ts';
import { startTestGateway } from './support.ts';

const adminSha = createHash('sha256').update(ADMIN_KEY).digest('hex');

describe('console routes on a gateway with a workload', () => {
  let stack: ConsoleStack;
  let sent: Sent[];
  const started = Date.now() - 60_000;
  before(async () => {
    stack = await startConsoleStack();
    sent = await runWorkload(stack, 40);
    await ledgerSettled(stack, 40);
  });
  after(() => stack.close());

  test('the console is served with a strict CSP; the admin routes want the admin key', async () => {
    const redirect = await fetch(`${stack.gateway.url}/console`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), 'console/');
    const page = await fetch(`${stack.gateway.url}/console/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(await page.text(), /<script type="module" src="app.js"><\/script>/);
    const lib = await fetch(`${stack.gateway.url}/console/vendor/preact.mjs`, {
      headers: { 'accept-encoding': 'br' },
    });
    assert.equal(lib.status, 200);
    assert.equal(lib.headers.get('content-type'), 'text/javascript; charset=utf-8');
    for (const [headers, code] of [
      [{}, 'missing_api_key'],
      [{ 'x-api-key': 'gk_wrong' }, 'invalid_api_key'],
    ] as const) {
      const res = await fetch(`${stack.gateway.url}/admin/cost`, { headers });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { type: string; details: { gantry_code: string } } };
      assert.equal(body.error.type, 'authentication_error');
      assert.equal(body.error.details.gantry_code, code);
    }
  });

  test('/admin/cost equals gantry report over the same ledger rows', async () => {
    const until = Date.now() + 60_000;
    const cost = await admin<Record<string, unknown>>(
      stack,
      `/admin/cost?since=${new Date(started).toISOString()}&until=${new Date(until).toISOString()}`,
    );
    const store = await openLedgerStore(stack.ledgerUrl);
    const rows = await store.rows({ since: started, until });
    await store.close();
    assert.equal(rows.filter((r) => r.route === 'messages').length, 40);
    assert.deepEqual(cost.by_client, buildReport(rows, 'client').lines);
    assert.deepEqual(cost.by_model, buildReport(rows, 'model').lines);
    assert.deepEqual(cost.by_day, buildReport(rows, 'day').lines);
    assert.deepEqual(cost.by_customer, buildReport(rows, 'customer').lines);
    assert.deepEqual(cost.total, buildReport(rows, 'client').total);
    assert.equal((cost.total as { requests: number }).requests, 40);
    assert.equal((cost.total as { errors: number }).errors, 2);
    const budgets = cost.budgets as Array<{ scope: string; period: string; spentMicros: number }>;
    const checkout = rows.filter((r) => r.client === 'checkout').reduce((n, r) => n + r.costMicros, 0);
    assert.deepEqual(
      budgets.map((b) => [b.scope, b.period, b.spentMicros]),
      [
        ['client:checkout', 'daily', checkout],
        ['client:checkout', 'monthly', checkout],
      ],
    );
    const recs = await admin<{ recommendations: unknown[] }>(
      stack,
      `/admin/cost/recommendations?since=${started}`,
    );
    assert.deepEqual(recs.recommendations, recommend(rows));
  });

  test('/admin/requests: newest first, pages, filters, and a request found by either id', async () => {
    const page1 = await admin<{ rows: LedgerRow[]; next: string }>(
      stack,
      '/admin/requests?route=messages&limit=25',
    );
    assert.equal(page1.rows.length, 25);
    assert.ok(page1.next);
    const page2 = await admin<{ rows: LedgerRow[]; next: string | null }>(
      stack,
      `/admin/requests?route=messages&limit=25&cursor=${page1.next}`,
    );
    assert.equal(page2.rows.length, 15);
    assert.equal(page2.next, null);
    const all = [...page1.rows, ...page2.rows];
    assert.deepEqual(new Set(all.map((r) => r.id)), new Set(sent.map((s) => s.gatewayId)));
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].ts >= all[i].ts, 'newest first');

    const errors = await admin<{ rows: LedgerRow[] }>(stack, '/admin/requests?status=5xx');
    assert.deepEqual(errors.rows.map((r) => r.status).sort(), [500, 529]);
    const search = await admin<{ rows: LedgerRow[] }>(stack, '/admin/requests?client=search&status=2xx');
    assert.ok(search.rows.length > 0 && search.rows.every((r) => r.client === 'search' && r.status === 200));

    const one = sent.find((s) => s.upstreamId)!;
    const byGateway = await admin<{ rows: LedgerRow[] }>(stack, `/admin/requests?id=${one.gatewayId}`);
    assert.deepEqual(
      byGateway.rows.map((r) => [r.id, r.upstreamRequestId]),
      [[one.gatewayId, one.upstreamId]],
    );
    const byUpstream = await admin<{ rows: LedgerRow[] }>(stack, `/admin/requests?id=${one.upstreamId}`);
    assert.deepEqual(
      byUpstream.rows.map((r) => r.id),
      [one.gatewayId],
    );
  });

  test('/admin/traffic slots add up to /admin/stats over the same window', async () => {
    const span = 120_000;
    const [traffic, stats] = await Promise.all([
      admin<{ slots: Array<{ requests: number; latency: { count: number } }>; thresholds: unknown }>(
        stack,
        `/admin/traffic?window_ms=${span}`,
      ),
      admin<{ overall: { latency: { count: number } } }>(stack, `/admin/stats?window_ms=${span}`),
    ]);
    const counted = traffic.slots.reduce((n, s) => n + s.latency.count, 0);
    assert.equal(counted, stats.overall.latency.count);
    assert.equal(
      traffic.slots.reduce((n, s) => n + s.requests, 0),
      40,
    );
    assert.deepEqual(traffic.thresholds, {
      enabled: true,
      error_rate_5xx: { warning: 1, critical: 5, window_ms: 60_000 },
      latency_p99: { warning: 10_000, critical: 30_000, window_ms: 300_000 },
    });
  });

  test('bad query parameters answer 400 invalid_query naming the parameter', async () => {
    for (const [query, name] of [
      ['since=yesterdayish', 'since'],
      ['status=teapot', 'status'],
      ['limit=0', 'limit'],
      ['cursor=garbage', 'cursor'],
      ['id=a%20b', 'id'],
    ]) {
      const res = await fetch(`${stack.gateway.url}/admin/requests?${query}`, {
        headers: { 'x-api-key': ADMIN_KEY },
      });
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: { message: string; details: { gantry_code: string } } };
      assert.equal(body.error.details.gantry_code, 'invalid_query');
      assert.ok(body.error.message.startsWith(`${name}:`), body.error.message);
    }
  });
});

test('without an admin key there is no console; a ledger in memory is said to be unreadable', async () => {
  const off = await startConsoleStack({ admin: false });
  try {
    const res = await fetch(`${off.gateway.url}/console/`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'not_found_error');
  } finally {
    await off.close();
  }
  const { gateway } = await startTestGateway('http://127.0.0.1:9', { admin: { keySha256: adminSha } });
  try {
    const res = await fetch(`${gateway.url}/admin/requests`, { headers: { 'x-api-key': ADMIN_KEY } });
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: { message: string; details: { gantry_code: string } } };
    assert.equal(body.error.details.gantry_code, 'ledger_unavailable');
    assert.match(body.error.message, /sqlite::memory:/);
  } finally {
    await gateway.close();
  }
});

test('each page’s data stays under 100 KB for a day of 100,000 requests', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-console-size-'));
  const url = `sqlite:${join(dir, 'ledger.db')}`;
  const store = await openLedgerStore(url);
  const now = Date.now();
  const batch: LedgerRow[] = [];
  for (let i = 0; i < 100_000; i++) {
    batch.push({
      id: `gtw_size${String(i).padStart(6, '0')}`,
      ts: now - 82_800_000 + Math.floor(i * 0.828),
      upstreamRequestId: `req_size${i}`,
      route: 'messages',
      client: `client-${i % 25}`,
      environment: 'default',
      customer: `customer-${i % 5_000}`,
      model: i % 3 === 0 ? 'claude-sonnet-4-6' : 'claude-haiku-4-5',
      requestedModel: null,
      stream: i % 2 === 0,
      status: i % 97 === 0 ? 529 : 200,
      outcome: 'ok',
      errorType: i % 97 === 0 ? 'overloaded_error' : null,
      inputTokens: 800 + (i % 400),
      outputTokens: 100 + (i % 300),
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      cacheReadTokens: i % 4 === 0 ? 2_000 + (i % 50) : 0,
      costMicros: 1_000 + (i % 700),
      priced: true,
      batch: false,
      latencyMs: 400 + (i % 900),
      ttftMs: 100,
      attempts: 1,
      decisions: '[]',
    });
    if (batch.length === 5_000) await store.insert(batch.splice(0));
  }
  await store.close();
  const { gateway } = await startTestGateway('http://127.0.0.1:9', {
    admin: { keySha256: adminSha },
    storage: { ledger: url },
  });
  try {
    const routes = [
      '/admin/console',
      '/admin/stats',
      '/admin/traffic',
      '/admin/upstream-keys',
      '/admin/limits',
      '/admin/cost?since=24h',
      '/admin/cost?since=30d',
      '/admin/cost/recommendations?since=24h',
      '/admin/requests?since=24h',
      '/admin/requests?since=24h&status=5xx',
      '/admin/requests?id=req_size4242',
    ];
    for (const path of routes) {
      const res = await fetch(`${gateway.url}${path}`, { headers: { 'x-api-key': ADMIN_KEY } });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, `${path}: ${body.toString().slice(0, 200)}`);
      assert.ok(body.length < 100_000, `${path}: ${body.length} bytes`);
    }
    const cost = (await (
      await fetch(`${gateway.url}/admin/cost?since=24h`, { headers: { 'x-api-key': ADMIN_KEY } })
    ).json()) as {
      total: { requests: number };
      by_customer: unknown[];
      other_customers: { customers: number };
    };
    assert.equal(cost.total.requests, 100_000);
    assert.equal(cost.by_customer.length, 20);
    assert.equal(cost.other_customers.customers, 4_980);
  } finally {
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
