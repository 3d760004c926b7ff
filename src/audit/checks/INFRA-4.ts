/** INFRA-4: an on-call escalation path is defined (the document and its sections, src/audit/docs-spec.ts). */
import { docCheck, type Evaluator } from './util.ts';

export const evaluate: Evaluator = (ctx) => docCheck(ctx, 'oncall');
