// Rewrites the audit docs derived from the code (src/audit/docs-text.ts): the
// "What `gantry audit` looks at" section of every docs/checks/<ID>.md and the
// client-style table of docs/audit.md. Run after changing an evaluator's header
// comment or STYLES:  node scripts/audit-docs.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { CHECK_IDS } from '../src/audit/checks-table.ts';
import { withLooksAt, withStyleTable } from '../src/audit/docs-text.ts';

const docs = new URL('../docs/', import.meta.url);
for (const id of CHECK_IDS) {
  const file = new URL(`checks/${id}.md`, docs);
  writeFileSync(file, withLooksAt(readFileSync(file, 'utf8'), id));
}
const audit = new URL('audit.md', docs);
writeFileSync(audit, withStyleTable(readFileSync(audit, 'utf8')));
console.log(`rewrote ${CHECK_IDS.length} check pages and the style table of docs/audit.md`);
