/**
 * `gantry drill rollback` as a binary, offline: exit 0 with its JSON report
 * on stdout and in the file `gantry audit` reads; INFRA-2 takes a recent
 * passing report as the evidence the rollback was tested (it stands for the
 * document's "Last tested" section), and warns about a failed or stale one.
 * The staging mode against a deployed gateway sends no more requests than
 * its budget.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { runAudit } from '../src/audit/audit.ts';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import { startGateway } from '../src/gateway/server.ts';
import type { DrillReport } from '../src/rollouts/drill.ts';
import { runDrill } from '../src/rollouts/drill.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { LogSink, UPSTREAM_KEY } from './support.ts';

const run = promisify(execFile);
const project = mkdtempSync(join(tmpdir(), 'gantry-drill-'));
after(() => rmSync(project, { recursive: true, force: true }));

const INFRA2 = (now: Date) => runAudit(project, { now }).checks.find((c) => c.id === 'INFRA-2')!;
const text = (c: ReturnType<typeof INFRA2>) =>
  [...c.findings, ...c.evidence].map((e) => `${e.file ?? ''}:${e.line ?? ''} ${e.message}`).join('\n');

test('gantry drill rollback runs offline, exits 0 with its report; gantry audit reads it for INFRA-2', async () => {
  const out = join(project, 'drills', 'rollback-drill.json');
  const { stdout, stderr } = await run(
    process.execPath,
    ['bin/gantry.js', 'drill', 'rollback', '--output', out],
    {
      env: { ...process.env, ANTHROPIC_API_KEY: '' },
    },
  );
  const report = JSON.parse(stdout) as DrillReport;
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), report);
  assert.match(stderr, /drill report written to/);
  assert.equal(report.kind, 'gantry.drill.rollback');
  assert.equal(report.mode, 'offline');
  assert.equal(report.scenario, '5xx');
  assert.equal(report.passed, true, JSON.stringify(report.checks));
  assert.ok(report.promotions_before_breach >= 1);
  assert.ok(
    report.time_to_detect_ms !== null && report.time_to_detect_ms <= Number(report.rollout.window_ms),
  );
  assert.ok(
    report.candidate_requests_after_breach > 0,
    'the candidate served some requests after the breach',
  );
  assert.equal(report.after_rollback.candidate, 0);
  assert.ok(report.after_rollback.requests >= 50 && report.after_rollback.errors === 0);
  assert.equal((report.decision as { by: string }).by, 'guard');
  assert.ok((report.alert_events ?? 0) >= 1);

  // A rollback document without a "Last tested" section: the drill report is the test record.
  mkdirSync(join(project, 'docs'));
  writeFileSync(
    join(project, 'docs', 'ROLLBACK.md'),
    '# Rollback procedure\n\n## When to roll back\n\nx\n\n## Procedure\n\nx\n\n## Verification\n\nx\n',
  );
  const finished = new Date(report.finished_at);
  const day = 86_400_000;
  const fresh = INFRA2(new Date(finished.getTime() + day));
  assert.equal(fresh.outcome, 'pass', fresh.summary);
  assert.match(fresh.summary, /tested by a rollback drill 1 day\(s\) ago/);
  assert.match(
    text(fresh),
    /drills\/rollback-drill\.json:1 rollback drill passed on .* \(offline, 5xx\): rolled back \d+ ms after the breach/,
  );

  const stale = INFRA2(new Date(finished.getTime() + 120 * day));
  assert.equal(stale.outcome, 'warn');
  assert.match(text(stale), /the last rollback drill is 120 days old/);

  writeFileSync(out, JSON.stringify({ ...report, passed: false }));
  const failed = INFRA2(new Date(finished.getTime() + day));
  assert.equal(failed.outcome, 'warn');
  assert.match(text(failed), /the last rollback drill failed/);

  rmSync(out);
  const none = INFRA2(new Date(finished.getTime() + day));
  assert.equal(none.outcome, 'warn');
  assert.match(text(none), /missing section\(s\): Last tested/);
});

test('the staging drill: a deployed gateway whose candidate truncates, a bounded number of small requests', async (t) => {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const sim = await startSimulator({ profile: 'perf' });
  t.after(() => sim.close());
  const key = `gk_stagingdrill${randomBytes(12).toString('hex')}`;
  const adminKey = `gk_stagingadmin${randomBytes(12).toString('hex')}`;
  const config = parseConfig(
    [
      'server: { port: 0 }',
      `upstream: { base_url: "${sim.url}" }`,
      'environments: { default: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY } }',
      `clients: [ { name: drill, key_sha256: ${hashKey(key)} } ]`,
      `admin: { key_sha256: ${hashKey(adminKey)} }`,
      'storage: { ledger: off }',
      'rollouts:',
      '  - { id: drill, clients: [drill], baseline: { model: claude-haiku-4-5 }, candidate: { model: claude-haiku-4-5, max_tokens: 1 },',
      '      steps: [50, 100], window_ms: 60000, evaluate_every_ms: 200, min_samples: 5 }',
    ].join('\n'),
    { source: 'staging.yaml', baseDir: project },
  );
  const gateway = await startGateway({ config, logDestination: new LogSink() });
  t.after(() => gateway.close());
  const report = await runDrill({ gateway: gateway.url, clientKey: key, adminKey, maxRequests: 40 });
  assert.equal(report.mode, 'staging');
  assert.equal(report.passed, true, JSON.stringify(report.checks));
  assert.ok(report.requests_total <= 40, `${report.requests_total} requests`);
  assert.equal(
    sim.state.requests.all().length,
    report.requests_total,
    'every request the drill sent, and no more',
  );
  assert.match(String((report.decision as { reason: string }).reason), /max_tokens_rate 100 %/);
  assert.equal(report.after_rollback.candidate, 0);
});
