import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../config/load.ts';
import { runAudit } from './audit.ts';
import { INIT_FILES, initProject } from './init.ts';

const BIN = new URL('../../bin/gantry.js', import.meta.url).pathname;

test('init writes gantry.yaml and the four documents; the config passes gantry config check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-init-'));
  const r = initProject(dir);
  assert.deepEqual(
    r.written,
    INIT_FILES.map((f) => f.target),
  );
  const text = readFileSync(join(dir, 'gantry.yaml'), 'utf8');
  const config = parseConfig(text, { source: 'gantry.yaml', baseDir: dir });
  assert.deepEqual(Object.keys(config.environments), ['prod', 'staging', 'dev']);
  assert.deepEqual(config.audit.waivers, []);
  assert.ok(config.upstream.headersTimeoutMs >= 60_000 && config.upstream.headersTimeoutMs <= 120_000);
  const out = execFileSync(process.execPath, [BIN, 'config', 'check', '--config', join(dir, 'gantry.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  assert.match(out, /environments:/);
});

test('the documents init writes have every section the audit looks for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-init-'));
  initProject(dir);
  const report = runAudit(dir);
  for (const id of ['KEY-3', 'INFRA-2', 'INFRA-3', 'INFRA-4']) {
    const c = report.checks.find((x) => x.id === id);
    assert.equal(c?.outcome, 'pass', `${id}: ${c?.summary}`);
  }
  // The gantry.yaml it writes gives KEY-4 (distinct environment keys) and OBS-4 (clients).
  assert.equal(report.checks.find((x) => x.id === 'KEY-4')?.outcome, 'pass');
  assert.equal(report.checks.find((x) => x.id === 'OBS-4')?.outcome, 'pass');
});

test('init never overwrites without --force', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-init-'));
  initProject(dir);
  writeFileSync(join(dir, 'docs', 'RUNBOOK.md'), '# my own runbook\n');
  const again = initProject(dir);
  assert.deepEqual(again.written, []);
  assert.equal(again.skipped.length, INIT_FILES.length);
  assert.equal(readFileSync(join(dir, 'docs', 'RUNBOOK.md'), 'utf8'), '# my own runbook\n');
  const forced = initProject(dir, { force: true });
  assert.equal(forced.written.length, INIT_FILES.length);
  assert.match(readFileSync(join(dir, 'docs', 'RUNBOOK.md'), 'utf8'), /## Error decision tree/);
});
