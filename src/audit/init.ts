/**
 * `gantry init [dir]`: a commented gantry.yaml and the operational documents
 * the audit looks for (docs/RUNBOOK.md, ROLLBACK.md, ONCALL.md,
 * KEY-ROTATION.md), each with the sections of src/audit/docs-spec.ts.
 * Never overwrites a file without `force`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const INIT_FILES: { template: string; target: string }[] = [
  { template: 'gantry.yaml', target: 'gantry.yaml' },
  { template: 'RUNBOOK.md', target: 'docs/RUNBOOK.md' },
  { template: 'ROLLBACK.md', target: 'docs/ROLLBACK.md' },
  { template: 'ONCALL.md', target: 'docs/ONCALL.md' },
  { template: 'KEY-ROTATION.md', target: 'docs/KEY-ROTATION.md' },
];

function templateText(name: string): string {
  return readFileSync(new URL(`./templates/${name}`, import.meta.url), 'utf8');
}

export interface InitResult {
  written: string[];
  skipped: string[];
}

export function initProject(dir: string, opts: { force?: boolean } = {}): InitResult {
  const result: InitResult = { written: [], skipped: [] };
  for (const f of INIT_FILES) {
    const target = join(dir, f.target);
    if (existsSync(target) && !opts.force) {
      result.skipped.push(f.target);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, templateText(f.template));
    result.written.push(f.target);
  }
  return result;
}
