/**
 * REL-2: graceful degradation when the API is unavailable. For each Claude
 * call, an error path of that call must keep answering: a handler of a `try`
 * around the call (or around a call that leads to it) that returns or sends a
 * degraded answer (a message that the service is unavailable, a cached or
 * rule-based answer, a function named for a fallback) instead of an error, or
 * a fallback model / provider / key (LangChain `with_fallbacks`, LiteLLM
 * `fallbacks`). An HTTP error status is not a degraded answer, and a helper's
 * own error handling (e.g. for sending a message) is not the call's. Every
 * call covered: `pass`; otherwise `manual` (the fallback may live outside the
 * code).
 */
import type { SgNode } from '@ast-grep/napi';
import type { Site } from '../clients/site.ts';
import type { Hit } from '../code/evidence.ts';
import { endOf, startOf } from '../code/lang.ts';
import type { AuditContext } from '../context.ts';
import type { Evidence } from '../result.ts';
import { hitsFor, requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, gatewayProvides, manual, NO_CLAUDE, na, ok } from './util.ts';

/** The try statement whose handler holds `node`. */
function handlerTry(node: SgNode): SgNode | undefined {
  let cur = node.parent();
  while (cur) {
    const k = String(cur.kind());
    if (k === 'catch_clause' || k === 'except_clause' || k === 'except_group_clause')
      return cur.parent() ?? undefined;
    cur = cur.parent();
  }
  return undefined;
}

/** Whether a degraded-answer hit sits in an error path of this site's call chain. */
function onCallPath(ctx: AuditContext, s: Site, h: Hit): boolean {
  if (h.kind === 'fallback') return true;
  const tr = handlerTry(h.node);
  if (!tr) return false;
  const body =
    tr.field('body') ?? tr.children().find((c) => c.kind() === 'block' || c.kind() === 'statement_block');
  if (!body) return false;
  const [a, b] = [startOf(body), endOf(body)];
  const m = ctx.project.module(h.file);
  if (!m) return false;
  if (s.file === h.file && s.call && s.call.start >= a && s.call.start < b) return true;
  const scope = ctx.scopes.forSite(s);
  // a framework client: the functions using it make its requests
  if (
    s.kind === 'client' &&
    [...scope.siteFns].some((f) => f.module.file === h.file && a >= f.start && a < f.end)
  )
    return true;
  // a function that receives the calling function as a callback runs it inside its own try
  const receivers = s.fn?.callbackOf ? ctx.graph.resolve(s.fn.callbackOf) : [];
  if (receivers.some((f) => f.module.file === h.file && h.offset >= f.start && h.offset < f.end)) return true;
  for (const c of m.calls) {
    if (c.start < a || c.start >= b) continue;
    if (ctx.graph.resolve(c).some((f) => scope.fns.has(f))) return true;
    // a callback receiver calling what it was given (`await request()`)
    const owner = m.functions
      .filter((f) => c.start >= f.start && c.start < f.end)
      .sort((x, y) => y.start - x.start)[0];
    if (
      owner &&
      scope.fns.has(owner) &&
      owner.params.some((p) => p.name === c.calleeText || p.keys?.some((k) => k.name === c.calleeText))
    )
      return true;
  }
  return false;
}

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const gw = gatewayProvides(ctx, [
    'fallback',
    'upstream.fallback',
    'routing.fallback',
    'resilience.fallback',
  ]);
  if (gw) return ok('Gantry config sets a fallback', [gw]);
  const sites = requestSites(ctx);
  if (sites.length === 0)
    return manual('confirm users get a fallback or a clear degraded answer when the API is down');
  const ev: Evidence[] = [];
  const uncovered: Evidence[] = [];
  for (const s of sites) {
    const hits = hitsFor(ctx, s, ['degraded', 'fallback']).filter((h) => onCallPath(ctx, s, h));
    if (hits.length > 0)
      ev.push(
        at(
          hits[0],
          hits[0].kind === 'fallback' ? `fallback: ${hits[0].text}` : `degraded answer: ${hits[0].detail}`,
        ),
      );
    else uncovered.push(at(s, 'no fallback or degraded answer when this call fails'));
  }
  if (uncovered.length === 0) return ok('every Claude call has a fallback or a degraded answer', dedupe(ev));
  return manual(
    'no fallback found for some calls: confirm users get a fallback model/key or a clear degraded answer when the API is down',
    dedupe([...uncovered, ...ev]),
  );
};
