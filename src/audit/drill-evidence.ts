/**
 * INFRA-2's "tested": a recent passing report of `gantry drill rollback`
 * (src/rollouts/drill.ts) in the project. Self-contained: the INFRA-2
 * evaluator passes its document check through `withDrillEvidence`.
 *
 * A report is a JSON file named `rollback-drill*.json` anywhere in the
 * audited files, or `drills/rollback-drill.json` (the drill's default output,
 * read even when git ignores it), with `kind: "gantry.drill.rollback"`. The
 * newest by `finished_at` counts:
 * - passed and at most `DRILL_MAX_AGE_DAYS` old: evidence of the test; it
 *   also stands for the document's "Last tested" section;
 * - failed, or older: a warning on the report file;
 * - none: the document check as it was.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Evaluation } from './checks/util.ts';
import type { AuditContext } from './context.ts';
import { DOC_SPECS, findDoc } from './docs-spec.ts';

const DRILL_REPORT_FILE = /(^|\/)rollback-drill[^/]*\.json$/i;
const DRILL_DEFAULT_PATH = 'drills/rollback-drill.json';
const DRILL_MAX_AGE_DAYS = 90;

interface DrillFound {
  file: string;
  passed: boolean;
  finishedAt: number;
  line: string;
}

/** The newest rollback drill report of the project, if any. */
function findDrillReport(root: string, files: readonly string[]): DrillFound | undefined {
  const candidates = new Set(files.filter((f) => DRILL_REPORT_FILE.test(f)));
  candidates.add(DRILL_DEFAULT_PATH);
  let best: DrillFound | undefined;
  for (const file of candidates) {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(readFileSync(join(root, file), 'utf8'));
    } catch {
      continue;
    }
    const finishedAt = Date.parse(String(r.finished_at));
    if (r.kind !== 'gantry.drill.rollback' || Number.isNaN(finishedAt)) continue;
    const detect = r.time_to_detect_ms;
    const line =
      `rollback drill ${r.passed === true ? 'passed' : 'FAILED'} on ${new Date(finishedAt).toISOString().slice(0, 10)} ` +
      `(${String(r.mode)}, ${String(r.scenario)}): ${typeof detect === 'number' ? `rolled back ${detect} ms after the breach, ` : ''}` +
      `${String(r.candidate_requests_after_breach)} candidate request(s) after it`;
    if (!best || finishedAt > best.finishedAt) best = { file, passed: r.passed === true, finishedAt, line };
  }
  return best;
}

/** The INFRA-2 document check with the drill report's evidence (see the file comment). */
export function withDrillEvidence(ctx: AuditContext, doc: Evaluation): Evaluation {
  const drill = findDrillReport(ctx.scan.root, ctx.scan.files);
  if (!drill) return doc;
  const ageDays = Math.floor((ctx.now.getTime() - drill.finishedAt) / 86_400_000);
  const evidence = { file: drill.file, line: 1, message: drill.line };
  if (!drill.passed || ageDays > DRILL_MAX_AGE_DAYS) {
    const why = drill.passed ? `is ${ageDays} days old (more than ${DRILL_MAX_AGE_DAYS})` : 'failed';
    return {
      ...doc,
      findings: [
        ...doc.findings,
        {
          ...evidence,
          level: 'warn',
          message: `the last rollback drill ${why}; run npx gantry drill rollback`,
        },
      ],
    };
  }
  const spec = DOC_SPECS.rollback;
  const found = findDoc(ctx.scan, spec);
  const missing = found ? spec.sections.filter((s) => !found.headings.some((h) => s.match.test(h.text))) : [];
  if (found && missing.length === 1 && missing[0].name === 'Last tested') {
    return {
      base: 'pass',
      summary: `${found.file} has every section; tested by a rollback drill ${ageDays} day(s) ago`,
      findings: [],
      evidence: [
        { file: found.file, line: 1, message: 'sections: When to roll back, Procedure, Verification' },
        evidence,
      ],
    };
  }
  return {
    ...doc,
    summary: `${doc.summary}; tested by a rollback drill ${ageDays} day(s) ago`,
    evidence: [...doc.evidence, evidence],
  };
}
