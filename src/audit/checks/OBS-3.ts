/**
 * OBS-3: token usage tracked per request (input, output, cache write, cache
 * read). Per Claude call, the usage fields read in its scope, whatever the
 * client's names for them (SDK, AI SDK, LangChain usage_metadata, LiteLLM,
 * Bedrock): all four (or the whole usage object handed to a recorder) `pass`;
 * some `warn`; none `fail`. An LLM tracing integration or the gateway `pass`.
 */
import type { Evidence, Finding } from '../result.ts';
import { tracingEvidence } from './OBS-2.ts';
import { hitsFor, requestSites } from './sites.ts';
import {
  at,
  dedupe,
  type Evaluator,
  fail,
  findings,
  NO_CLAUDE,
  na,
  ok,
  throughGateway,
  warn,
} from './util.ts';

const FIELDS = ['input', 'output', 'cache_write', 'cache_read'] as const;
const NAMES: Record<(typeof FIELDS)[number], string> = {
  input: 'input tokens',
  output: 'output tokens',
  cache_write: 'cache write tokens',
  cache_read: 'cache read tokens',
};

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  if (throughGateway(ctx)) return ok('the Gantry gateway logs usage of every request', ctx.gateway);
  const tracing = tracingEvidence(ctx, true);
  if (tracing.length > 0) return ok('an LLM tracing integration records token usage per call', tracing);
  const sites = requestSites(ctx);
  if (sites.length === 0) return na('no Claude requests found in code');
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const s of sites) {
    const hits = hitsFor(ctx, s, ['usage', 'usage-whole']);
    if (hits.some((h) => h.kind === 'usage-whole')) {
      const h = hits.find((x) => x.kind === 'usage-whole');
      if (h) ev.push(at(h, 'the whole usage object is recorded'));
      continue;
    }
    const seen = new Set(hits.map((h) => h.detail));
    const missing = FIELDS.filter((f) => !seen.has(f));
    for (const h of hits) ev.push(at(h, `reads ${NAMES[h.detail as (typeof FIELDS)[number]] ?? h.detail}`));
    if (missing.length === 0) continue;
    if (seen.size === 0) list.push(fail(at(s, 'token usage of this call is never read')));
    else list.push(warn(at(s, `usage recorded without ${missing.map((f) => NAMES[f]).join(', ')}`)));
  }
  const found = dedupe(list);
  if (found.length === 0)
    return ok('input, output, cache write and cache read tokens are recorded', dedupe(ev).slice(0, 8));
  return findings(`${found.length} call(s) with incomplete usage tracking`, found, dedupe(ev).slice(0, 8));
};
