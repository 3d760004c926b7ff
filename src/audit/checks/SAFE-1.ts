/**
 * SAFE-1: system prompts are reviewed for injection resistance: a human
 * review, so `manual` (the evidence lists every system prompt passed to a
 * Claude call, for review); `n/a` without Claude calls.
 */
import { readOption } from '../clients/site.ts';
import type { Evidence } from '../result.ts';
import { requestSites } from './sites.ts';
import { type Evaluator, manual, NO_CLAUDE, na } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const ev: Evidence[] = [];
  for (const s of requestSites(ctx)) {
    const sys = readOption(
      ctx.ev,
      s,
      ['system', 'systemPrompt', 'system_prompt'],
      s.style === 'http' ? 'body' : 'options',
    );
    if (sys.state === 'set')
      ev.push({ file: sys.value.at.file, line: sys.value.at.line, message: 'system prompt' });
  }
  return manual(
    ev.length > 0
      ? 'review each system prompt for injection resistance'
      : 'confirm prompts are reviewed for injection resistance',
    ev.slice(0, 10),
  );
};
