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
