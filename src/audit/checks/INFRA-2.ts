/**
 * INFRA-2: rollback procedure is documented and tested: `docs/ROLLBACK.md`
 * (or `*rollback*.md`) with the sections When to roll back, Procedure,
 * Verification, Last tested (src/audit/docs-spec.ts) `pass`; sections
 * missing `warn`; no document `fail`.
 */
import { docCheck, type Evaluator } from './util.ts';

export const evaluate: Evaluator = (ctx) => docCheck(ctx, 'rollback');
