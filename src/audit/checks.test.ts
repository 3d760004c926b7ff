import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gateFailures, runAudit } from './audit.ts';
import { EVALUATORS } from './checks/index.ts';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-checks-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('an evaluator that throws yields `error`, which always fails the gate', () => {
  const dir = project({ 'a.ts': "import Anthropic from '@anthropic-ai/sdk';\nnew Anthropic();\n" });
  const original = EVALUATORS['KEY-1'];
  EVALUATORS['KEY-1'] = () => {
    throw new Error('boom');
  };
  try {
    const r = runAudit(dir);
    const c = r.checks.find((x) => x.id === 'KEY-1');
    assert.equal(c?.outcome, 'error');
    assert.match(c?.summary ?? '', /check failed: boom/);
    assert.ok(gateFailures(r.checks, 'fail').some((x) => x.id === 'KEY-1'));
  } finally {
    EVALUATORS['KEY-1'] = original;
  }
});

test('REL-3: a health route that generates messages with a valid model is a warn, not a pass', () => {
  const dir = project({
    'health.ts': [
      "import Anthropic from '@anthropic-ai/sdk';",
      'const client = new Anthropic({ maxRetries: 3, timeout: 60_000 });',
      "app.get('/healthz', async () => client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [] }));",
    ].join('\n'),
  });
  const c = runAudit(dir).checks.find((x) => x.id === 'REL-3');
  assert.equal(c?.outcome, 'warn');
  assert.match(c?.findings[0].message ?? '', /generates messages .*: use count_tokens/);
  assert.equal(c?.findings[0].line, 3);
});

test('ERR-1 with a generic APIError catch only is a warn naming what is not distinguished', () => {
  const dir = project({
    'a.ts': [
      "import Anthropic from '@anthropic-ai/sdk';",
      'try { await c.messages.create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [] }); }',
      'catch (e) { if (e instanceof Anthropic.APIError) console.error(e.requestID); }',
    ].join('\n'),
  });
  const c = runAudit(dir).checks.find((x) => x.id === 'ERR-1');
  assert.equal(c?.outcome, 'warn');
  assert.match(c?.findings[0].message ?? '', /only a generic API error catch/);
});

test('JavaScript files are audited like TypeScript; Python comments suppress with # gantry-ignore', () => {
  const dir = project({
    'a.js':
      "const Anthropic = require('@anthropic-ai/sdk');\nconst c = new Anthropic({ maxRetries: 9, timeout: 90000 });\n",
    'b.py': [
      'import anthropic',
      '# gantry-ignore ERR-2: retries are handled by tenacity around every call',
      'c = anthropic.Anthropic(max_retries=0, timeout=90)',
    ].join('\n'),
  });
  const c = runAudit(dir).checks.find((x) => x.id === 'ERR-2');
  assert.equal(c?.outcome, 'fail');
  const js = c?.findings.find((f) => f.file === 'a.js');
  assert.match(js?.message ?? '', /maxRetries gives 9 retries/);
  assert.equal(js?.suppressed, undefined);
  const py = c?.findings.find((f) => f.file === 'b.py');
  assert.equal(py?.line, 3);
  assert.equal(py?.suppressed?.reason, 'retries are handled by tenacity around every call');
});
