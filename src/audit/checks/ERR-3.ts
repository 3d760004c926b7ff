/**
 * ERR-3: every error is logged with the upstream request-id. For each Claude
 * call: the request id read from an error or response in its scope
 * (`request_id`, `_request_id`, `requestID`, the `request-id` header, AWS
 * `RequestId`, or the error's headers logged whole) `pass`, else `fail`.
 * A variable merely named `request_id` (a Lambda or local id) is not one.
 */
import type { Evidence, Finding } from '../result.ts';
import { hitsFor, requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok, throughGateway } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  if (throughGateway(ctx))
    return ok('the Gantry gateway logs the upstream request-id of every error', ctx.gateway);
  const sites = requestSites(ctx);
  if (sites.length === 0) return na('no Claude requests found in code');
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const s of sites) {
    const hits = hitsFor(ctx, s, ['request-id']);
    if (hits.length > 0) ev.push(at(hits[0], `reads ${hits[0].detail}`));
    else list.push(fail(at(s, 'errors of this call are never logged with the upstream request-id')));
  }
  const found = dedupe(list);
  if (found.length === 0) return ok('request ids are read where Claude errors are handled', dedupe(ev));
  return findings(`${found.length} call(s) without the request-id`, found, dedupe(ev));
};
