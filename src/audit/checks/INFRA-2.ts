/** INFRA-2: rollback procedure is documented and tested (the document and its sections, src/audit/docs-spec.ts). */
import { docCheck, type Evaluator } from './util.ts';

export const evaluate: Evaluator = (ctx) => docCheck(ctx, 'rollback');
