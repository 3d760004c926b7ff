/**
 * COST-1: the organisation's usage tier and its limits are known: `pass`
 * when production code reads `anthropic-ratelimit-*` headers; else `manual`
 * (run `gantry preflight`, which reads them).
 */
import { isTestFile } from '../code/project.ts';
import { at, type Evaluator, manual, NO_CLAUDE, na, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const hits = ctx.project
    .codeFiles()
    .filter((f) => !isTestFile(f) && /anthropic-ratelimit-/i.test(ctx.project.text(f) ?? ''))
    .map((f) => ctx.project.module(f))
    .flatMap((m) => (m ? ctx.scopes.hitsOf(m).filter((h) => h.kind === 'ratelimit-headers') : []));
  if (hits.length > 0)
    return ok(
      'the app reads anthropic-ratelimit-* headers',
      hits.slice(0, 3).map((h) => at(h, h.text)),
    );
  return manual(
    'run `gantry preflight --api` to read the tier and limits from anthropic-ratelimit-* headers, and record them',
  );
};
