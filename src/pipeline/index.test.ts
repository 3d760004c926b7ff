import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { STAGES } from './index.ts';

test('docs/architecture.md lists the stages in the order of STAGES', () => {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('| stage | file | job |'));
  const lines = table.split('\n').slice(2);
  const rows = lines
    .slice(
      0,
      lines.findIndex((line) => !line.startsWith('| ')),
    )
    .map((line) => line.split(' | ')[0].slice(2).trim());
  assert.deepEqual(
    rows,
    STAGES.map(([name]) => name),
  );
});
