/**
 * ERR-1: all API error types are handled. For each Claude call, the error
 * kinds distinguished in its scope (SDK / framework error classes, error type
 * strings, status comparisons, Bedrock exception codes): all five `pass`;
 * some, or only a generic API-error class, `warn`; none `fail`.
 */
import { ERROR_KINDS } from '../code/evidence.ts';
import type { Evidence, Finding } from '../result.ts';
import { errorHitsFor, requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok, warn } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const sites = requestSites(ctx);
  if (sites.length === 0) return na('no Claude requests found in code');
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const s of sites) {
    const hits = errorHitsFor(ctx, s, ['error-kind', 'error-generic']);
    const kinds = new Set(hits.filter((h) => h.kind === 'error-kind').map((h) => h.detail));
    const generic = hits.find((h) => h.kind === 'error-generic');
    const missing = ERROR_KINDS.filter((k) => !kinds.has(k));
    for (const k of ERROR_KINDS) {
      const h = hits.find((x) => x.kind === 'error-kind' && x.detail === k);
      if (h) ev.push(at(h, `handles ${k}`));
    }
    if (missing.length === 0) continue;
    if (kinds.size === 0 && !generic) {
      list.push(
        fail(at(s, 'no API error kind is distinguished around this call (no error classes or status codes)')),
      );
      continue;
    }
    list.push(
      warn(
        at(
          s,
          `error handling around this call does not distinguish ${missing.join(', ')}${kinds.size === 0 ? ' (only a generic API error catch)' : ''}`,
        ),
      ),
    );
  }
  const found = dedupe(list);
  if (found.length === 0) return ok('every call handles all five error types', dedupe(ev));
  const fails = found.filter((f) => f.level === 'fail').length;
  return findings(
    fails > 0
      ? `${fails} call(s) without API error handling`
      : `${found.length} call(s) handle only some error types`,
    found,
    dedupe(ev),
  );
};
