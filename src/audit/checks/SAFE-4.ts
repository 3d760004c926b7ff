/**
 * SAFE-4: user-facing responses pass content moderation. Per Claude call: a
 * moderation step in its scope (a moderation API, a guardrail, a toxicity
 * classifier, Bedrock guardrails) or a moderation library imported by a
 * module in scope `pass`; none `fail`.
 */
import type { Evidence, Finding } from '../result.ts';
import { hitsFor, requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const libsIn = ctx.libraries.get('moderation') ?? [];
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const s of requestSites(ctx)) {
    const scope = ctx.scopes.forSite(s);
    const files = new Set([...scope.files, ...[...scope.fns, ...scope.helpers].map((f) => f.module.file)]);
    const lib = libsIn.find((p) => files.has(p.hit.file));
    const hits = hitsFor(ctx, s, ['moderation']);
    if (lib) ev.push(at(lib.hit, `uses ${lib.lib}`));
    else if (hits.length > 0) ev.push(at(hits[0], `moderation: ${hits[0].text}`));
    else list.push(fail(at(s, 'the response of this call is not moderated')));
  }
  const found = dedupe(list);
  if (found.length === 0 && ev.length > 0) return ok('responses pass a moderation step', dedupe(ev));
  if (found.length === 0) return na('no Claude requests found in code');
  return findings(`${found.length} call(s) without moderation`, found, dedupe(ev));
};
