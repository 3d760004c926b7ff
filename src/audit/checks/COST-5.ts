/**
 * COST-5: max_tokens is set to realistic values. For each Claude request, the
 * max_tokens it sends, resolved across files (imported constants, config
 * objects, a wrapper's parameter through every call site, env defaults):
 * above the model's maximum `fail`; above 16,384 `warn`; not resolvable
 * `warn` ("could not resolve"); missing where the API requires it `fail`;
 * unset where the library has a default: the default is judged.
 */
import { numbers } from '../code/values.ts';
import type { Evidence, Finding } from '../result.ts';
import { catalogModels, defaultMaxTokens, describeUnknown, maxTokensKnob } from './knobs.ts';
import { requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok, warn } from './util.ts';

/** max_tokens above this is "not realistic" for an interactive request. */
const MAX_TOKENS_REALISTIC = 16_384;

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  let judged = 0;
  for (const s of requestSites(ctx)) {
    const k = maxTokensKnob(ctx, s);
    if (k.state === 'none') continue;
    judged++;
    if (k.state === 'open') {
      list.push(warn(at(s, `could not resolve max_tokens: ${k.reason}`)));
      continue;
    }
    let values: number[];
    let where: { file: string; line: number } = s;
    if (k.state === 'unset') {
      const d = defaultMaxTokens(s);
      if (d === undefined) {
        list.push(
          fail(
            at(
              s,
              s.style === 'bedrock'
                ? 'maxTokens not set: Converse then allows the model maximum'
                : 'max_tokens missing: the API rejects the request',
            ),
          ),
        );
        continue;
      }
      values = [d];
    } else {
      const ns = numbers(k.value);
      where = { file: k.value.at.file, line: k.value.at.line };
      if (!ns) {
        list.push(warn({ ...where, message: `could not resolve max_tokens: ${describeUnknown(k.value)}` }));
        continue;
      }
      values = ns;
    }
    const models = catalogModels(ctx, s);
    const smallest = models.reduce<(typeof models)[number] | undefined>(
      (a, e) =>
        a === undefined ||
        (e.max_output ?? Number.POSITIVE_INFINITY) < (a.max_output ?? Number.POSITIVE_INFINITY)
          ? e
          : a,
      undefined,
    );
    const maxOut = smallest?.max_output;
    for (const n of values) {
      const label = k.state === 'unset' ? `max_tokens unset (default ${n})` : `max_tokens ${n}`;
      if (smallest && typeof maxOut === 'number' && n > maxOut)
        list.push(fail({ ...where, message: `${label} exceeds ${smallest.id}'s maximum of ${maxOut}` }));
      else if (n > MAX_TOKENS_REALISTIC)
        list.push(warn({ ...where, message: `${label} is above ${MAX_TOKENS_REALISTIC}: is it realistic?` }));
      else ev.push({ ...where, message: label });
    }
  }
  if (judged === 0) return na('no Claude request takes max_tokens');
  const found = dedupe(list);
  if (found.length === 0) return ok('max_tokens values are realistic', dedupe(ev));
  return findings(`${found.length} max_tokens value(s) to review`, found, dedupe(ev));
};
