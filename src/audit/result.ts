/** Result types shared by the engine, checks, suppressions and reporters. */
import type { SectionId, Severity } from './checks-table.ts';

const OUTCOMES = ['pass', 'warn', 'fail', 'n/a', 'manual', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Where something was seen: a file and line, or a config key. */
export interface Evidence {
  file?: string;
  line?: number;
  /** A config key (dotted path), for findings in gantry.yaml. */
  key?: string;
  message: string;
}

export interface Finding extends Evidence {
  level: 'fail' | 'warn';
  /** Set when an inline `gantry-ignore ID: reason` covers it. */
  suppressed?: { reason: string; file: string; line: number };
}

export interface CheckResult {
  /** A checklist id (audit) or a probe id (preflight, e.g. PF-KEY). */
  id: string;
  /** The checklist item a preflight probe verifies. */
  checklist?: string;
  title: string;
  section: SectionId;
  severity: Severity;
  rationale: string;
  remediation: string;
  docs: string;
  outcome: Outcome;
  summary: string;
  findings: Finding[];
  /** Supporting evidence (what was found for a pass, what to confirm for manual). */
  evidence: Evidence[];
  /** Set when a gantry.yaml waiver covers the check (it then does not gate). */
  waiver?: { reason: string; expires: string };
}

export interface AuditReport {
  tool: 'gantry audit' | 'gantry preflight';
  version: string;
  target: string;
  generatedAt: string;
  filesScanned?: number;
  checks: CheckResult[];
  /** Rule metadata for SARIF (default: the checklist table). */
  rules?: readonly RuleMeta[];
  /** Notes on the run (expired waivers, skipped files, invalid config). */
  notes: string[];
}

export function counts(checks: CheckResult[]): Record<Outcome, number> {
  const c: Record<Outcome, number> = { pass: 0, warn: 0, fail: 0, 'n/a': 0, manual: 0, error: 0 };
  for (const r of checks) c[r.outcome]++;
  return c;
}

/** What a report needs to describe a check or probe (SARIF rules). */
export interface RuleMeta {
  id: string;
  title: string;
  severity: Severity;
  rationale: string;
  remediation: string;
  docs?: string;
}
