/**
 * INFRA-2: rollback procedure is documented and tested: `docs/ROLLBACK.md`
 * (or `*rollback*.md`) with the sections When to roll back, Procedure,
 * Verification, Last tested (src/audit/docs-spec.ts) `pass`; sections
 * missing `warn`; no document `fail`.
 *
 * And the report of `gantry drill rollback` (`drills/rollback-drill.json`, or
 * any `rollback-drill*.json`): the newest one, when it passed and is at most
 * 90 days old, is the evidence that the rollback was tested and stands for
 * the "Last tested" section; a failed or older report is a warning. See
 * [rollouts](../rollouts.md#the-rollback-drill) (src/audit/drill-evidence.ts).
 */
import { withDrillEvidence } from '../drill-evidence.ts';
import { docCheck, type Evaluator } from './util.ts';

export const evaluate: Evaluator = (ctx) => withDrillEvidence(ctx, docCheck(ctx, 'rollback'));
