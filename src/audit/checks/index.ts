/**
 * One evaluator per checklist id (one module each in this folder), run in the
 * order of the checklist. An evaluator that throws yields `error`, never a
 * crash; the outcome comes from the findings that still apply.
 */
import { CHECKS, type CheckId, docsLink, sectionOf } from '../checks-table.ts';
import type { AuditContext } from '../context.ts';
import type { CheckResult, Finding, Outcome } from '../result.ts';
import { evaluate as COST1 } from './COST-1.ts';
import { evaluate as COST2 } from './COST-2.ts';
import { evaluate as COST3 } from './COST-3.ts';
import { evaluate as COST4 } from './COST-4.ts';
import { evaluate as COST5 } from './COST-5.ts';
import { evaluate as COST6 } from './COST-6.ts';
import { evaluate as ERR1 } from './ERR-1.ts';
import { evaluate as ERR2 } from './ERR-2.ts';
import { evaluate as ERR3 } from './ERR-3.ts';
import { evaluate as ERR4 } from './ERR-4.ts';
import { evaluate as INFRA1 } from './INFRA-1.ts';
import { evaluate as INFRA2 } from './INFRA-2.ts';
import { evaluate as INFRA3 } from './INFRA-3.ts';
import { evaluate as INFRA4 } from './INFRA-4.ts';
import { evaluate as KEY1 } from './KEY-1.ts';
import { evaluate as KEY2 } from './KEY-2.ts';
import { evaluate as KEY3 } from './KEY-3.ts';
import { evaluate as KEY4 } from './KEY-4.ts';
import { evaluate as OBS1 } from './OBS-1.ts';
import { evaluate as OBS2 } from './OBS-2.ts';
import { evaluate as OBS3 } from './OBS-3.ts';
import { evaluate as OBS4 } from './OBS-4.ts';
import { evaluate as OBS5 } from './OBS-5.ts';
import { evaluate as REL1 } from './REL-1.ts';
import { evaluate as REL2 } from './REL-2.ts';
import { evaluate as REL3 } from './REL-3.ts';
import { evaluate as SAFE1 } from './SAFE-1.ts';
import { evaluate as SAFE2 } from './SAFE-2.ts';
import { evaluate as SAFE3 } from './SAFE-3.ts';
import { evaluate as SAFE4 } from './SAFE-4.ts';
import type { Evaluation, Evaluator } from './util.ts';

export type { Evaluation, Evaluator } from './util.ts';

export const EVALUATORS: Record<CheckId, Evaluator> = {
  'KEY-1': KEY1,
  'KEY-2': KEY2,
  'KEY-3': KEY3,
  'KEY-4': KEY4,
  'ERR-1': ERR1,
  'ERR-2': ERR2,
  'ERR-3': ERR3,
  'ERR-4': ERR4,
  'COST-1': COST1,
  'COST-2': COST2,
  'COST-3': COST3,
  'COST-4': COST4,
  'COST-5': COST5,
  'COST-6': COST6,
  'REL-1': REL1,
  'REL-2': REL2,
  'REL-3': REL3,
  'OBS-1': OBS1,
  'OBS-2': OBS2,
  'OBS-3': OBS3,
  'OBS-4': OBS4,
  'OBS-5': OBS5,
  'SAFE-1': SAFE1,
  'SAFE-2': SAFE2,
  'SAFE-3': SAFE3,
  'SAFE-4': SAFE4,
  'INFRA-1': INFRA1,
  'INFRA-2': INFRA2,
  'INFRA-3': INFRA3,
  'INFRA-4': INFRA4,
};

/** Runs every check; an evaluator that throws yields `error`, never a crash. */
export function evaluateAll(ctx: AuditContext): { result: CheckResult; evaluation: Evaluation }[] {
  return CHECKS.map((def) => {
    let evaluation: Evaluation;
    try {
      evaluation = EVALUATORS[def.id](ctx);
    } catch (err) {
      evaluation = {
        base: 'error',
        summary: `check failed: ${(err as Error).message}`,
        findings: [],
        evidence: [],
      };
    }
    const result: CheckResult = {
      id: def.id,
      title: def.title,
      section: sectionOf(def.id),
      severity: def.severity,
      rationale: def.rationale,
      remediation: def.remediation,
      docs: docsLink(def.id),
      outcome: evaluation.base,
      summary: evaluation.summary,
      findings: evaluation.findings,
      evidence: evaluation.evidence,
    };
    return { result, evaluation };
  });
}

/** The outcome from findings that still apply (not suppressed), else the base. */
export function outcomeOf(base: Outcome, list: Finding[]): Outcome {
  const live = list.filter((f) => !f.suppressed);
  if (live.some((f) => f.level === 'fail')) return 'fail';
  if (live.some((f) => f.level === 'warn')) return 'warn';
  return base;
}
