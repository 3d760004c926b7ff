/** INFRA-3: an incident runbook exists (the document and its sections, src/audit/docs-spec.ts). */
import { docCheck, type Evaluator } from './util.ts';

export const evaluate: Evaluator = (ctx) => docCheck(ctx, 'runbook');
