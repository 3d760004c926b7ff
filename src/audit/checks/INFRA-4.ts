/**
 * INFRA-4: an on-call escalation path is defined: `docs/ONCALL.md` (or
 * `*oncall*.md` / `*on-call*.md`) with the sections Rotation, Escalation
 * path, Contacts (src/audit/docs-spec.ts) `pass`; sections missing `warn`;
 * no document `fail`.
 */
import { docCheck, type Evaluator } from './util.ts';

export const evaluate: Evaluator = (ctx) => docCheck(ctx, 'oncall');
