/**
 * OBS-1: request/response logging keeps metadata and redacts content. A
 * logging call in the scope of a Claude call that logs the prompt, the
 * messages, the user's input, the request body or the model's output `fail`
 * (print / console count as logging in server processes only); else `pass`.
 */
import type { Finding } from '../result.ts';
import { contentLogs } from './content.ts';
import { requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const list: Finding[] = [];
  for (const s of requestSites(ctx)) {
    for (const c of contentLogs(ctx, s))
      list.push(
        fail(
          at(
            { file: c.module.file, line: c.line },
            `logs content: ${c.node.text().split('\n')[0].slice(0, 120)}`,
          ),
        ),
      );
  }
  const found = dedupe(list);
  if (found.length > 0) return findings(`${found.length} logging call(s) log message content`, found);
  return ok('no logging call around Claude calls logs message content');
};
