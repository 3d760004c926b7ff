/**
 * The console in a real browser: playwright-core driving the system Chromium
 * (Debian's `chromium`; `.ci/run` installs it). After a workload through the
 * gateway to the simulator: a wrong admin key is refused; sign-in; every page
 * renders with data; the figures shown are the ledger's and `/admin/stats`'s;
 * a request id finds its row; a key taken out on the Keys page is out of
 * rotation for the next request; nothing is loaded from another origin; no
 * prompt content reaches any page; the admin key is in no URL and no log line.
 *
 * `GANTRY_CONSOLE_SCREENSHOTS=1` writes the screenshots to docs/console/
 * (with a longer, spread-out workload); otherwise they go to a temp folder.
 */
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { buildReport } from '../src/ledger/report.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import {
  ADMIN_KEY,
  admin,
  CHECKOUT_KEY,
  type ConsoleStack,
  ledgerSettled,
  PROMPT_MARKER,
  runWorkload,
  type Sent,
  send,
  startConsoleStack,
  UPSTREAM_B,
} from './console-support.ts';

// The console's own formatters: the test reads figures as the page prints them.
const format = (await import(new URL('../src/console/ui/format.js', import.meta.url).href)) as {
  int(n: number): string;
  ms(v: number | null): string;
};

const SHOTS = process.env.GANTRY_CONSOLE_SCREENSHOTS === '1';

// The functions passed to page.evaluate / waitForFunction run in the page: these are the browser globals they use.
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
  documentElement: { dataset: Record<string, string | undefined> };
  activeElement: { id: string } | null;
};
declare const location: { hash: string };

function findChromium(): string | undefined {
  if (process.env.GANTRY_CHROMIUM) return process.env.GANTRY_CHROMIUM;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const chromiumPath = findChromium();
const skip = chromiumPath
  ? false
  : 'no Chromium found on PATH (apt-get install chromium, or set GANTRY_CHROMIUM); .ci/run installs it';

describe('the console in Chromium', { skip, timeout: 240_000 }, () => {
  let stack: ConsoleStack;
  let sent: Sent[];
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const shots = SHOTS
    ? new URL('../docs/console/', import.meta.url).pathname
    : mkdtempSync(join(tmpdir(), 'shots-'));
  const requested: string[] = [];
  const problems: string[] = [];

  before(async () => {
    stack = await startConsoleStack();
    sent = await runWorkload(stack, SHOTS ? 120 : 40, SHOTS ? 40_000 : 6_000);
    await ledgerSettled(stack, sent.length);
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'gantry-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath!,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
      colorScheme: 'light',
      timezoneId: 'Europe/Paris',
    });
    context.on('request', (r) => requested.push(r.url()));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A 404 from /admin/rollouts is the Rollouts page learning that rollouts do not exist yet.
      if (m.type() === 'error' && !m.location().url.endsWith('/admin/rollouts'))
        problems.push(`console: ${m.text()}`);
    });
    if (SHOTS) mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await context?.close();
    await stack?.close();
    rmSync(profile, { recursive: true, force: true });
    if (!SHOTS) rmSync(shots, { recursive: true, force: true });
  });

  const open = async (hash: string, ready: string) => {
    await page.evaluate((h) => {
      location.hash = h;
    }, hash);
    await page.waitForSelector(ready, { timeout: 15_000 });
  };
  const shot = async (name: string, fullPage = true) => {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
  };
  const noContent = async (where: string) => {
    assert.ok(!(await page.content()).includes(PROMPT_MARKER), `prompt content on ${where}`);
  };

  test('a wrong admin key is refused; the right one signs in, fast', async () => {
    await page.goto(`${stack.gateway.url}/console`);
    const fcp = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
    );
    assert.ok(fcp < 1_000, `first contentful paint ${fcp} ms`);
    await page.fill('#admin-key', 'gk_not_the_admin_key');
    await page.press('#admin-key', 'Enter');
    const error = await page.waitForSelector('.error');
    assert.match((await error.textContent()) ?? '', /401 authentication_error.*Invalid admin key/s);
    assert.equal(await page.locator('nav').count(), 0);
    // The browser reports the refused call (401) on its console: that one was wanted.
    problems.length = 0;
    await page.fill('#admin-key', ADMIN_KEY);
    await page.press('#admin-key', 'Enter');
    await page.waitForSelector('nav a[aria-current="page"]');
    assert.equal(await page.evaluate(() => location.hash || '#/overview'), '#/overview');
  });

  test('Overview shows /admin/stats’s figures for the window', async () => {
    await open('#/overview', '[data-stat="p99"] .stat-value');
    await page.waitForFunction(() => document.querySelector('.uplot canvas') !== null);
    const stats = await admin<{ overall: { latency: { count: number; p99_ms: number } } }>(
      stack,
      '/admin/stats?window_ms=120000',
    );
    // The page refreshes every 5 s; wait until it shows the same snapshot.
    await page.waitForFunction(
      ([count, p99]) =>
        document.querySelector('[data-stat="requests"] .stat-value')?.textContent === count &&
        document.querySelector('[data-stat="p99"] .stat-value')?.textContent === p99,
      [format.int(stats.overall.latency.count), format.ms(stats.overall.latency.p99_ms)],
      { timeout: 15_000 },
    );
    assert.equal(stats.overall.latency.count, sent.length);
    assert.equal(await page.locator('.chart').count(), 4);
    // Units and the time zone, as the axes draw them.
    assert.match(
      (await page.locator('.chart figcaption').first().textContent()) ?? '',
      /Requests per second · req\/s · Europe\/Paris \(UTC\+0[12]:00\)/,
    );
    await noContent('Overview');
    await shot('overview');
  });

  test('Cost shows the ledger’s spend and request counts per client', async () => {
    await open('#/cost', '[data-table="by-client"]');
    const store = await openLedgerStore(stack.ledgerUrl);
    const rows = await store.rows({ since: Date.now() - 7 * 86_400_000 });
    await store.close();
    const report = buildReport(rows, 'client');
    assert.ok(report.lines.length >= 2);
    for (const line of report.lines) {
      const row = page.locator(`[data-table="by-client"] tbody tr[data-row="${line.key}"]`);
      assert.equal(
        await row.locator('[data-col="requests"]').textContent(),
        format.int(line.requests),
        line.key,
      );
      assert.equal(
        await row.locator('[data-col="cost"] [data-micros]').first().getAttribute('data-micros'),
        String(line.costMicros),
        line.key,
      );
    }
    const total = page.locator('[data-table="by-client"] tfoot');
    assert.equal(
      await total.locator('[data-col="requests"]').textContent(),
      format.int(report.total.requests),
    );
    await page.waitForSelector('[data-budget="client:checkout daily"]');
    await page.waitForSelector('[data-table="recommendations"], #cost-recs ~ p, .card p.muted');
    await noContent('Cost');
    await shot('cost');
  });

  test('Limits shows each scope’s headroom and budgets, and the upstream tier', async () => {
    await open('#/limits', '[data-table="rates-client:checkout"]');
    await page.waitForSelector('[data-table="budgets-client:checkout"]');
    await page.waitForSelector('[data-table="upstream"]');
    await noContent('Limits');
    await shot('limits');
  });

  test('Requests: the newest rows; a pasted req_… or gtw_… id finds the request', async () => {
    await open('#/requests', '[data-table="requests"] tbody tr');
    const target = sent.find((s) => s.upstreamId && s.status === 200)!;
    await page.fill('#request-id', target.upstreamId!);
    await page.press('#request-id', 'Enter');
    await page.waitForSelector(`[data-table="requests"] tr[data-row="${target.gatewayId}"]`);
    assert.equal(await page.locator('[data-table="requests"] tbody tr').count(), 1);
    await page.click(`[data-table="requests"] tr[data-row="${target.gatewayId}"] button`);
    await page.waitForSelector('.detail');
    assert.match((await page.locator('.detail').textContent()) ?? '', new RegExp(target.upstreamId!));
    await noContent('Requests (detail)');
    await page.fill('#request-id', target.gatewayId);
    await page.press('#request-id', 'Enter');
    await page.waitForSelector(`[data-table="requests"] tr[data-row="${target.gatewayId}"]`);
    await page.click('text=Back to the list');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-table="requests"] tbody tr').length > 1,
    );
    await noContent('Requests');
    await shot('requests', false);
  });

  test('Alerts shows the 5xx alert that fired and the notification it produced', async () => {
    await open('#/alerts', '[data-table="rules"]');
    await page.waitForSelector('[data-table="history"] .deliveries', { timeout: 20_000 });
    assert.match(
      (await page.locator('[data-table="history"]').textContent()) ?? '',
      /5xx error rate[\s\S]*sent[\s\S]*ops-webhook/,
    );
    assert.ok(stack.webhook.length > 0);
    await noContent('Alerts');
    await shot('alerts');
  });

  test('Keys: a key taken out (after confirming) is out of rotation for the next request', async () => {
    await open('#/keys', '[data-table="keys-prod"]');
    await shot('keys');
    await page.click('[data-table="keys-prod"] tr[data-row="primary"] [data-action="disabled"]');
    const dialog = page.locator('dialog[open]');
    assert.match((await dialog.textContent()) ?? '', /Take out key primary\?/);
    await dialog.locator('[data-confirm]').click();
    await page.waitForSelector('[data-table="keys-prod"] tr[data-row="primary"] .badge.disabled');
    const before = stack.sim.state.requests.all().length;
    for (let i = 0; i < 8; i++) assert.equal((await send(stack, { key: CHECKOUT_KEY })).status, 200);
    const used = stack.sim.state.requests
      .all()
      .slice(before)
      .map((r) => r.headers['x-api-key']);
    assert.equal(used.length, 8);
    assert.ok(
      used.every((k) => k === UPSTREAM_B),
      'every request after the take-out used the secondary key',
    );
    await noContent('Keys');
  });

  test('Rollouts says what it will show and that rollouts are not configured', async () => {
    await open('#/rollouts', '.empty');
    assert.match((await page.locator('.empty').textContent()) ?? '', /Rollouts are not configured/);
    await shot('rollouts');
  });

  test('keyboard: number keys switch pages, / goes to the request search; dark theme', async () => {
    await page.locator('main').focus();
    await page.keyboard.press('2');
    await page.waitForFunction(() => location.hash === '#/cost');
    await page.keyboard.press('/');
    await page.waitForFunction(() => document.activeElement?.id === 'request-id');
    await page.keyboard.press('Escape');
    await page.locator('main').focus();
    await page.keyboard.press('1');
    await page.waitForSelector('[data-stat="p99"]');
    await page.keyboard.press('t'); // auto → dark
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.waitForSelector('.uplot canvas');
    await shot('overview-dark');
    await page.keyboard.press('t');
    await page.keyboard.press('t'); // back to auto
  });

  test('nothing from another origin; the admin key in no URL, no log line', () => {
    assert.deepEqual(problems, []);
    const origin = new URL(stack.gateway.url).origin;
    const foreign = requested.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(foreign, []);
    assert.ok(requested.some((u) => u.includes('/admin/cost')));
    assert.ok(requested.every((u) => !u.includes(ADMIN_KEY)));
    assert.ok(!stack.logs.text().includes(ADMIN_KEY));
    assert.ok(!stack.logs.text().includes(PROMPT_MARKER));
  });
});
