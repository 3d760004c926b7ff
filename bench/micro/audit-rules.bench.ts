/**
 * Micro-benchmark: audit rule matching (src/audit/scan.ts): one scan of each
 * fixture project of test/fixtures/audit with the stock rules (ast-grep for
 * TS/JS and Python, text rules), rules loaded once. bench/audit.bench.ts
 * measures a whole 10,000-file tree.
 *
 *   node bench/micro/audit-rules.bench.ts
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRules } from '../../src/audit/rules.ts';
import { scan } from '../../src/audit/scan.ts';
import { bench } from './harness.ts';

const fixtures = fileURLToPath(new URL('../../test/fixtures/audit/', import.meta.url));
const rules = loadRules();
console.log('audit rule matching (one scan of a fixture project per op)');
for (const project of readdirSync(fixtures).sort()) {
  const root = `${fixtures}${project}`;
  const files = scan(root, { rules }).files.length;
  bench(`scan ${project} (${files} files)`, () => scan(root, { rules }).hits.length);
}
