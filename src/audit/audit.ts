/**
 * `gantry audit`: scan → context → one evaluator per checklist id →
 * inline suppressions → gantry.yaml waivers → report.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { evaluateAll, outcomeOf } from './checks/index.ts';
import { auditConfigSchema, type Waiver, waiverActive } from './config.ts';
import { buildContext } from './context.ts';
import type { AuditReport, CheckResult, Outcome } from './result.ts';
import { loadRules } from './rules.ts';
import { type Hit, scan } from './scan.ts';

export const VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
})();

export interface AuditOptions {
  now?: Date;
  onProgress?: (done: number, total: number) => void;
}

export function runAudit(path: string, opts: AuditOptions = {}): AuditReport {
  const root = resolve(path);
  const rules = loadRules();
  const result = scan(root, { rules, onProgress: opts.onProgress });
  const ctx = buildContext(result, rules.libraries, opts.now);
  const notes: string[] = [];
  for (const s of result.skipped) notes.push(`skipped ${s.file}: ${s.reason}`);
  if (ctx.config?.invalid) notes.push(`${ctx.config.file} does not validate: ${ctx.config.invalid}`);

  const evaluated = evaluateAll(ctx);
  const checks = evaluated.map(({ result: r }) => r);
  applySuppressions(checks, result.byRule('ignore'));
  for (const c of checks) {
    if (c.outcome !== 'error') c.outcome = outcomeOf(c.outcome, c.findings);
    if (c.findings.length > 0 && c.findings.every((f) => f.suppressed))
      c.summary += ' (all suppressed inline)';
  }
  applyWaivers(checks, ctx.config?.raw, ctx.now, notes, ctx.config?.file);
  return {
    tool: 'gantry audit',
    version: VERSION,
    target: root,
    generatedAt: ctx.now.toISOString(),
    filesScanned: result.files.length,
    checks,
    notes,
  };
}

/**
 * `gantry-ignore ID: reason` on the finding's line or the line above
 * suppresses that finding. Without a reason it suppresses nothing and is
 * itself a finding (warn) of the named check.
 */
function applySuppressions(checks: CheckResult[], ignores: Hit[]): void {
  const byId = new Map(checks.map((c) => [c.id as string, c]));
  for (const ig of ignores) {
    const id = ig.groups?.[0];
    const reason = ig.groups?.[1]?.trim();
    if (!id) continue;
    const check = byId.get(id);
    if (!check) continue;
    if (!reason) {
      check.findings.push({
        level: 'warn',
        file: ig.file,
        line: ig.line,
        message: `gantry-ignore ${id} without a reason: write "gantry-ignore ${id}: <reason>"`,
      });
      continue;
    }
    for (const f of check.findings) {
      if (f.file === ig.file && f.line !== undefined && (f.line === ig.line || f.line === ig.line + 1)) {
        f.suppressed = { reason, file: ig.file, line: ig.line };
      }
    }
  }
}

function applyWaivers(
  checks: CheckResult[],
  raw: Record<string, unknown> | undefined,
  now: Date,
  notes: string[],
  configFile = 'gantry.yaml',
): void {
  const section = raw?.audit;
  if (section === undefined || section === null) return;
  const parsed = auditConfigSchema.safeParse(section);
  if (!parsed.success) {
    notes.push(
      `${configFile}: audit section ignored: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
    return;
  }
  for (const w of parsed.data.waivers as Waiver[]) {
    const check = checks.find((c) => c.id === w.check);
    if (!check) continue;
    if (!waiverActive(w, now)) {
      notes.push(`waiver for ${w.check} expired on ${w.expires}; it no longer applies`);
      continue;
    }
    check.waiver = { reason: w.reason, expires: w.expires };
  }
}

export type FailOn = 'warn' | 'fail';

/** Checks that fail the gate: outcome at or above the threshold (error always), not waived. */
export function gateFailures(checks: CheckResult[], failOn: FailOn): CheckResult[] {
  const bad: Outcome[] = failOn === 'warn' ? ['fail', 'warn', 'error'] : ['fail', 'error'];
  return checks.filter((c) => bad.includes(c.outcome) && !c.waiver);
}
