/**
 * gantry preflight against a real gateway and simulator started here:
 * healthy deployment, an expired (revoked) upstream key, a rate-limited
 * upstream, an unknown client key, the API mode, an unreachable URL, and the
 * CLI's exit codes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { cheapModel, runPreflight } from '../src/audit/preflight.ts';
import { render } from '../src/audit/report.ts';
import type { AuditReport, CheckResult } from '../src/audit/result.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

let sim: Simulator;
let gateway: Gateway;

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway } = await startTestGateway(sim.url, {
    // Upstream errors pass through unretried, and /readyz probes afresh for every test.
    resilience: {
      maxAttempts: 1,
      health: { probeIntervalMs: 1, probeModel: 'claude-haiku-4-5', probeTimeoutMs: 5_000 },
    },
  }));
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => sim.state.reset());

function probe(r: AuditReport, id: string): CheckResult {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, id);
  return c;
}
/** A check as the terminal report shows it: evidence as `key: message`. */
const text = (c: CheckResult) =>
  [
    c.summary,
    ...c.findings.map((f) => f.message),
    ...c.evidence.map((e) => (e.key ? `${e.key}: ${e.message}` : e.message)),
  ].join('\n');

describe('gantry preflight', () => {
  test('the controls probe reads routes the gateway has (GET /admin/limits, /admin/alerts, /health); each header is printed once', async () => {
    const { startGateway } = await import('../src/gateway/server.ts');
    const { testConfig } = await import('./support.ts');
    const { hashKey } = await import('../src/config/keys.ts');
    process.env.GANTRY_TEST_ALERT_URL = 'http://127.0.0.1:9/never-called';
    const base = testConfig(sim.url, { admin: { keySha256: hashKey('preflight-admin') } });
    const start = (over: Partial<typeof base>) =>
      startGateway({ config: { ...base, ...over }, logDestination: { write: () => true } as never });
    const configured = await start({
      alerts: {
        ...base.alerts,
        channels: [
          { name: 'ops', type: 'webhook', url: 'env:GANTRY_TEST_ALERT_URL', minSeverity: 'warning' },
        ],
      },
      limits: { ...base.limits, overall: { budget: { dailyMicros: 50_000_000, action: 'block' } } },
    });
    const bare = await start({});
    try {
      sim.state.setTier('build');
      const opts = {
        mode: 'gateway' as const,
        key: UPSTREAM_KEY,
        adminKey: 'preflight-admin',
        latencySamples: 1,
      };
      const r = await runPreflight(configured.url, opts);
      const controls = probe(r, 'PF-CONTROLS');
      assert.equal(controls.outcome, 'pass', text(controls));
      assert.match(text(controls), /budgets: overall/);
      assert.match(text(controls), /alerts\.channels: 1 channel/);
      assert.match(text(controls), /GET \/health: 200/);
      const terminal = render(r, 'terminal', { failOn: 'fail', color: false });
      assert.match(terminal, /^\s+anthropic-ratelimit-requests-limit: \d+$/m);
      assert.doesNotMatch(terminal, /anthropic-ratelimit-requests-limit: anthropic-ratelimit/);
      // Nothing configured: a warning naming what is missing.
      const missing = probe(await runPreflight(bare.url, opts), 'PF-CONTROLS');
      assert.equal(missing.outcome, 'warn');
      assert.match(text(missing), /no budget configured/);
      assert.match(text(missing), /no alert channel configured/);
      // Without the admin key, only /health is read: manual.
      const plain = probe(
        await runPreflight(configured.url, { ...opts, adminKey: undefined }),
        'PF-CONTROLS',
      );
      assert.equal(plain.outcome, 'manual', text(plain));
      assert.match(plain.summary, /set \$GANTRY_ADMIN_KEY/);
    } finally {
      await configured.close();
      await bare.close();
    }
  });

  test('the probe model comes from the catalog and is a cheap current model', () => {
    assert.match(cheapModel(), /^claude-haiku-/);
  });

  test('a healthy gateway: reachable, key valid, limits and tier, latency baseline, envelope; /readyz 404 is a warn', async () => {
    sim.state.setTier('build');
    const r = await runPreflight(gateway.url, { mode: 'gateway', key: UPSTREAM_KEY, latencySamples: 3 });
    assert.equal(probe(r, 'PF-REACH').outcome, 'pass');
    const ready = probe(r, 'PF-READY');
    assert.ok(ready.outcome === 'warn' || ready.outcome === 'pass', ready.summary);
    if (ready.outcome === 'warn') assert.match(text(ready), /404/);
    assert.equal(probe(r, 'PF-KEY').outcome, 'pass', text(probe(r, 'PF-KEY')));
    const tier = probe(r, 'PF-TIER');
    assert.equal(tier.outcome, 'pass', text(tier));
    assert.match(text(tier), /anthropic-ratelimit-requests-limit: \d+/);
    assert.match(tier.summary, /requests\/min, (Tier|custom)/);
    const lat = probe(r, 'PF-LATENCY');
    assert.equal(lat.outcome, 'pass');
    assert.match(lat.summary, /p50 \d+ ms, max \d+ ms over 3 calls/);
    const env = probe(r, 'PF-ENVELOPE');
    assert.equal(env.outcome, 'pass', text(env));
    assert.match(env.summary, /400 invalid_request_error with request_id/);
    assert.equal(probe(r, 'PF-CONTROLS').outcome, 'manual');
    // Only count_tokens, one max_tokens-1 call (for the headers) and a rejected create reached the simulator.
    const paths = sim.state.requests.all().map((q: { path: string }) => q.path);
    assert.ok(
      paths.every((p: string) => p === '/v1/messages/count_tokens' || p === '/v1/messages'),
      paths.join(),
    );
    assert.ok(r.notes.some((n) => /max_tokens 1/.test(n)));
  });

  test('an expired upstream key (401 from the upstream) is reported as the upstream key, not the client key', async () => {
    sim.state.updateKeys({ revoke: UPSTREAM_KEY });
    const r = await runPreflight(gateway.url, { mode: 'gateway', key: UPSTREAM_KEY, latencySamples: 2 });
    const key = probe(r, 'PF-KEY');
    assert.equal(key.outcome, 'fail');
    assert.match(
      text(key),
      /401 authentication_error from the upstream Anthropic API, relayed by the gateway: the gateway's upstream key is invalid, expired or revoked/,
    );
    assert.equal(probe(r, 'PF-LATENCY').outcome, 'n/a');
  });

  test('an unknown client key (401 raised by the gateway) names the gateway as the cause', async () => {
    const r = await runPreflight(gateway.url, { mode: 'gateway', key: 'gk_not-a-client', latencySamples: 2 });
    assert.match(
      text(probe(r, 'PF-KEY')),
      /401 authentication_error from the gateway \(invalid_api_key\): the gateway does not know this client key/,
    );
  });

  test('a rate-limited upstream (429) is reported as an upstream rate limit with retry-after', async () => {
    sim.state.addFault({ kind: 'status', status: 429, retryAfter: 7, path: '/v1/messages/count_tokens' });
    const r = await runPreflight(gateway.url, { mode: 'gateway', key: UPSTREAM_KEY, latencySamples: 2 });
    const key = probe(r, 'PF-KEY');
    assert.equal(key.outcome, 'fail');
    assert.match(
      text(key),
      /429 rate_limit_error from the upstream Anthropic API, relayed by the gateway: the organisation is rate limited upstream \(retry-after 7 s\)/,
    );
  });

  test('--api mode against the API itself: no readiness route, tier from the headers', async () => {
    sim.state.setTier('scale');
    const r = await runPreflight(sim.url, { mode: 'api', key: UPSTREAM_KEY, latencySamples: 2 });
    assert.equal(probe(r, 'PF-READY').outcome, 'n/a');
    const noGen = await runPreflight(sim.url, {
      mode: 'api',
      key: UPSTREAM_KEY,
      latencySamples: 1,
      generate: false,
    });
    assert.equal(probe(noGen, 'PF-TIER').outcome, 'warn');
    assert.match(text(probe(noGen, 'PF-TIER')), /--no-generate/);
    assert.equal(probe(r, 'PF-KEY').outcome, 'pass');
    assert.equal(probe(r, 'PF-TIER').outcome, 'pass');
    assert.equal(probe(r, 'PF-ENVELOPE').outcome, 'pass');
    sim.state.updateKeys({ revoke: UPSTREAM_KEY });
    const bad = await runPreflight(sim.url, { mode: 'api', key: UPSTREAM_KEY, latencySamples: 2 });
    assert.match(
      text(probe(bad, 'PF-KEY')),
      /401 authentication_error from the Anthropic API: the API key is invalid, expired or revoked/,
    );
  });

  test('an unreachable URL fails reachability and skips the rest', async () => {
    const port = await freePort();
    const r = await runPreflight(`http://127.0.0.1:${port}`, {
      mode: 'gateway',
      key: UPSTREAM_KEY,
      timeoutMs: 2000,
    });
    assert.equal(probe(r, 'PF-REACH').outcome, 'fail');
    assert.match(text(probe(r, 'PF-REACH')), /ECONNREFUSED/);
    assert.ok(r.checks.filter((c) => c.id !== 'PF-REACH').every((c) => c.outcome === 'n/a'));
  });

  test('CLI: exit 0 when the gate passes, 1 when it fails, 2 on usage errors; same formats as audit', async () => {
    const ok = await cli(['preflight', gateway.url, '-f', 'json'], { GANTRY_KEY: UPSTREAM_KEY });
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    const report = JSON.parse(ok.stdout);
    assert.equal(report.tool, 'gantry preflight');
    const sarif = JSON.parse(
      render(
        await runPreflight(gateway.url, { mode: 'gateway', key: UPSTREAM_KEY, latencySamples: 1 }),
        'sarif',
        { failOn: 'fail' },
      ),
    );
    assert.equal(sarif.runs[0].tool.driver.rules[0].id, 'PF-REACH');
    assert.equal(sarif.version, '2.1.0');
    sim.state.updateKeys({ revoke: UPSTREAM_KEY });
    const revoked = await cli(['preflight', gateway.url], { GANTRY_KEY: UPSTREAM_KEY });
    assert.equal(revoked.code, 1);
    assert.match(revoked.stdout, /FAIL\s+PF-KEY/);
    assert.equal((await cli(['preflight', 'not a url'], {})).code, 2);
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Spawns the CLI asynchronously (the gateway runs in this process). */
async function cli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [new URL('../bin/gantry.js', import.meta.url).pathname, ...args], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = await once(child, 'exit');
  return { code: code as number, stdout, stderr };
}
