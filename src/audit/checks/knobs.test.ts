import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Value } from '../code/values.ts';
import { buildContext } from '../context.ts';
import { loadRules } from '../rules.ts';
import { scan } from '../scan.ts';
import { type Knob, retriesKnob, timeoutKnob } from './knobs.ts';

function context(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-knobs-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const rules = loadRules();
  return buildContext(scan(dir, { rules }), rules.libraries);
}

function num(k: Knob): number | string {
  if (k.state !== 'set') return k.state;
  const v: Value = k.value;
  return v.kind === 'number' ? v.value : v.kind;
}

test('client options resolve literals, arithmetic, constants across files; the rest stays unresolved or open', () => {
  const ctx = context({
    'limits.ts': 'const MINUTE = 60 * 1000;\nexport const T = 2 * MINUTE;\n',
    'a.ts': [
      "import Anthropic from '@anthropic-ai/sdk';",
      "import { T } from './limits.ts';",
      'export const a = new Anthropic({ maxRetries: 3, timeout: T });',
      'export const b = new Anthropic({ maxRetries: Number(process.env.R), timeout: 90_000 });',
      'const opts = { maxRetries: 5 };',
      'export const c = new Anthropic(opts);',
      'export const d = new Anthropic({ ...base, timeout: 60000 });',
    ].join('\n'),
    'b.py': [
      'import anthropic, httpx',
      'TIMEOUT = 30 * 4',
      'a = anthropic.Anthropic(max_retries=4, timeout=TIMEOUT)',
      'b = anthropic.AsyncAnthropic(timeout=httpx.Timeout(timeout=75.0))',
      'c = anthropic.Anthropic(**settings)',
    ].join('\n'),
  });
  const at = (file: string, line: number) => {
    const s = ctx.claude.clients.find((c) => c.file === file && c.line === line);
    assert.ok(s, `client at ${file}:${line}`);
    return s;
  };
  assert.equal(num(retriesKnob(ctx, at('a.ts', 3))), 3);
  assert.equal(num(timeoutKnob(ctx, at('a.ts', 3))), 120_000);
  assert.equal(num(retriesKnob(ctx, at('a.ts', 4))), 'unresolved');
  assert.equal(num(timeoutKnob(ctx, at('a.ts', 4))), 90_000);
  assert.equal(num(retriesKnob(ctx, at('a.ts', 6))), 5);
  assert.equal(retriesKnob(ctx, at('a.ts', 7)).state, 'open');
  assert.equal(num(timeoutKnob(ctx, at('a.ts', 7))), 60_000);
  assert.equal(num(retriesKnob(ctx, at('b.py', 3))), 4);
  assert.equal(num(timeoutKnob(ctx, at('b.py', 3))), 120);
  assert.equal(num(timeoutKnob(ctx, at('b.py', 4))), 75);
  assert.equal(retriesKnob(ctx, at('b.py', 5)).state, 'open');
});
