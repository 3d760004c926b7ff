/**
 * INFRA-3: an incident runbook exists: `docs/RUNBOOK.md` (or `*runbook*.md`)
 * with the sections Alerts, Error decision tree, Escalation
 * (src/audit/docs-spec.ts) `pass`; sections missing `warn`; no document
 * `fail`.
 */
import { docCheck, type Evaluator } from './util.ts';

export const evaluate: Evaluator = (ctx) => docCheck(ctx, 'runbook');
