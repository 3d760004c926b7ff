/**
 * KEY-3: key rotation is documented and tested: `docs/KEY-ROTATION.md` (or
 * any `*key-rotation*.md`) with the sections Procedure, Verification and
 * Last tested `pass`; sections missing `warn`; no document `fail`.
 */
import { docCheck, type Evaluator, NO_CLAUDE, na } from './util.ts';

export const evaluate: Evaluator = (ctx) => (ctx.usesClaude ? docCheck(ctx, 'keyRotation') : na(NO_CLAUDE));
