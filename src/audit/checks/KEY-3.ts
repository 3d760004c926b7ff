/** KEY-3: key rotation is documented and tested (docs/KEY-ROTATION.md with its sections). */
import { docCheck, type Evaluator, NO_CLAUDE, na } from './util.ts';

export const evaluate: Evaluator = (ctx) => (ctx.usesClaude ? docCheck(ctx, 'keyRotation') : na(NO_CLAUDE));
