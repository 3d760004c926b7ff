import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CHECKS, SECTIONS, sectionOf } from './checks-table.ts';
import { STYLES } from './clients/styles.ts';
import { looksAt, withLooksAt, withStyleTable, wrap } from './docs-text.ts';

const root = new URL('../../', import.meta.url);

test('the checks table in docs/audit.md is identical to the CHECKS table', () => {
  const doc = readFileSync(new URL('docs/audit.md', root), 'utf8');
  const start = doc.indexOf('<!-- checks:start');
  const end = doc.indexOf('<!-- checks:end -->');
  assert.ok(start > 0 && end > start);
  const rows = doc
    .slice(start, end)
    .split('\n')
    .filter(
      (l) => l.startsWith('| [') || (l.startsWith('| ') && !l.startsWith('| id ') && !l.startsWith('|---')),
    );
  const expected = CHECKS.map(
    (c) => `| [${c.id}](checks/${c.id}.md) | ${SECTIONS[sectionOf(c.id)]} | ${c.title} | ${c.severity} |`,
  );
  assert.deepEqual(rows, expected);
});

test('docs/checks/<ID>.md exists for every check and is titled with it', () => {
  for (const c of CHECKS) {
    const file = new URL(`docs/checks/${c.id}.md`, root);
    assert.ok(existsSync(file), c.id);
    assert.equal(readFileSync(file, 'utf8').split('\n')[0], `# ${c.id}: ${c.title}`);
  }
});

test('the check ids are those of the go-live checklist, in order', () => {
  assert.deepEqual(
    CHECKS.map((c) => c.id),
    [
      ...['KEY-1', 'KEY-2', 'KEY-3', 'KEY-4'],
      ...['ERR-1', 'ERR-2', 'ERR-3', 'ERR-4'],
      ...['COST-1', 'COST-2', 'COST-3', 'COST-4', 'COST-5', 'COST-6'],
      ...['REL-1', 'REL-2', 'REL-3'],
      ...['OBS-1', 'OBS-2', 'OBS-3', 'OBS-4', 'OBS-5'],
      ...['SAFE-1', 'SAFE-2', 'SAFE-3', 'SAFE-4'],
      ...['INFRA-1', 'INFRA-2', 'INFRA-3', 'INFRA-4'],
    ],
  );
});

test('each check page says what the evaluator looks at (its header comment): node scripts/audit-docs.ts rewrites them', () => {
  for (const c of CHECKS) {
    const page = readFileSync(new URL(`docs/checks/${c.id}.md`, root), 'utf8');
    assert.equal(page, withLooksAt(page, c.id), `docs/checks/${c.id}.md`);
    assert.ok(page.includes(wrap(looksAt(c.id))), c.id);
  }
});

test('the client-style table of docs/audit.md is rendered from STYLES', () => {
  const doc = readFileSync(new URL('docs/audit.md', root), 'utf8');
  assert.ok(doc.includes('<!-- styles:start'), 'docs/audit.md has the styles markers');
  assert.equal(doc, withStyleTable(doc));
  for (const s of Object.values(STYLES)) assert.ok(doc.includes(`| ${s.title} |`), s.id);
});
