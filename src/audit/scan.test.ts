import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { scan } from './scan.ts';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-scan-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('client options resolve literals, arithmetic, constants; the rest stays unresolved', () => {
  const dir = project({
    'a.ts': [
      "import Anthropic from '@anthropic-ai/sdk';",
      'const MINUTE = 60 * 1000;',
      'const T = 2 * MINUTE;',
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
  const clients = scan(dir).byRule('sdk-client');
  const byLine = (file: string, line: number) => clients.find((c) => c.file === file && c.line === line);
  assert.deepEqual(
    [byLine('a.ts', 4)?.options?.maxRetries?.kind, byLine('a.ts', 4)?.options?.timeout],
    ['number', { kind: 'number', value: 120_000, text: 'T', line: 4 }],
  );
  assert.equal(byLine('a.ts', 5)?.options?.maxRetries?.kind, 'unresolved');
  assert.equal(byLine('a.ts', 7)?.options?.maxRetries?.kind, 'number');
  assert.equal(byLine('a.ts', 8)?.openOptions, true);
  const pyTimeout = byLine('b.py', 3)?.options?.timeout;
  assert.ok(pyTimeout?.kind === 'number' && pyTimeout.value === 120);
  const httpx = byLine('b.py', 4)?.options?.timeout;
  assert.ok(httpx?.kind === 'number' && httpx.value === 75);
  assert.equal(byLine('b.py', 5)?.openOptions, true);
});

test('large and binary files are skipped; the walk skips dependency folders', () => {
  const dir = project({
    'node_modules/x/index.js': "new Anthropic({ apiKey: 'sk-ant-api03-NODEMODULESNODEMODULES-xx' })",
    'big.ts': `// ${'x'.repeat(1024 * 1024 + 10)}`,
    'ok.ts': 'export const x = 1;\n',
  });
  writeFileSync(join(dir, 'bin.dat'), Buffer.from([0, 1, 2, 115, 107, 45, 97, 110, 116]));
  const r = scan(dir);
  assert.ok(!r.files.some((f) => f.startsWith('node_modules/')));
  assert.deepEqual(
    r.skipped.map((s) => s.file),
    ['big.ts'],
  );
  assert.equal(r.byRule('api-key').length, 0);
});
