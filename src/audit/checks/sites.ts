/**
 * Helpers for checks judged per Claude call site: the sites to judge
 * (production requests and framework clients), their scope, and the hits in
 * that scope, with the refinement for a `try` around the call that swallows
 * every error (then only what that handler does counts).
 */
import type { SgNode } from '@ast-grep/napi';
import type { Site } from '../clients/site.ts';
import type { Hit, HitKind } from '../code/evidence.ts';
import { endOf, startOf } from '../code/lang.ts';
import type { FnInfo } from '../code/module.ts';
import type { AuditContext } from '../context.ts';

/** Production sites that make requests (probes left out unless asked). */
export function requestSites(ctx: AuditContext, opts: { probes?: boolean } = {}): Site[] {
  return ctx.claude.calls.filter((s) => opts.probes || s.kind !== 'probe');
}

export function hitsFor(ctx: AuditContext, s: Site, kinds: readonly HitKind[]): Hit[] {
  return ctx.scopes.hits(ctx.scopes.forSite(s), kinds);
}

/**
 * Error-handling hits for a site: everything in scope, unless the call sits in
 * a `try` (in its own function) whose handlers swallow every error — then only
 * the hits inside that try statement and the helpers its handlers call.
 */
export function errorHitsFor(ctx: AuditContext, s: Site, kinds: readonly HitKind[]): Hit[] {
  const all = hitsFor(ctx, s, kinds);
  const tr = swallowingTry(s.node, s.fn);
  if (!tr) return all;
  const [a, b] = [startOf(tr), endOf(tr)];
  const helpers = new Set<FnInfo>();
  for (const c of s.module.calls) {
    if (c.start < a || c.start >= b) continue;
    for (const f of ctx.graph.resolve(c)) {
      helpers.add(f);
      for (const g of ctx.graph.callees(f)) helpers.add(g);
    }
  }
  return all.filter(
    (h) =>
      (h.file === s.file && h.offset >= a && h.offset < b) ||
      [...helpers].some((f) => f.module.file === h.file && h.offset >= f.start && h.offset < f.end),
  );
}

/** The innermost try statement around `node` (inside `fn`) whose handlers rethrow nothing. */
function swallowingTry(node: SgNode, fn: FnInfo | undefined): SgNode | undefined {
  let cur = node.parent();
  while (cur) {
    const k = cur.kind();
    if (fn && (startOf(cur) < fn.start || endOf(cur) > fn.end)) return undefined;
    if (k === 'try_statement') {
      const body = cur.field('body');
      const inBody = body ? startOf(node) >= startOf(body) && startOf(node) < endOf(body) : true;
      if (inBody) {
        const handlers = cur
          .children()
          .filter(
            (c) =>
              c.kind() === 'catch_clause' ||
              c.kind() === 'except_clause' ||
              c.kind() === 'except_group_clause',
          );
        if (handlers.length === 0) return undefined;
        const catchesAll = handlers.some(
          (h) =>
            h.kind() === 'catch_clause' || /^except\s*(\(?\s*(Exception|BaseException)\b|:)/.test(h.text()),
        );
        const rethrows = handlers.some((h) => /\b(throw|raise)\b/.test(h.text()));
        return catchesAll && !rethrows ? cur : undefined;
      }
    }
    if (/function|arrow_function|method_definition|lambda/.test(String(k))) return undefined;
    cur = cur.parent();
  }
  return undefined;
}
