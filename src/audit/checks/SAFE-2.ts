/**
 * SAFE-2: user input is validated and length-limited. Per Claude call: a
 * bound on the size of the text reaching it, in its scope or in a schema the
 * scope uses (length comparisons against a bound of 100+ or a named
 * maximum, `.slice(0, N)` / `[:N]` truncation, a string schema's `.max()`, pydantic
 * `max_length`, `maxLength`) `pass`; none `fail`. A message-count limit is
 * not a size bound. Calls whose input is a constant are `n/a`.
 */

import { readOption, type Site } from '../clients/site.ts';
import type { Hit } from '../code/evidence.ts';
import { findKinds } from '../code/lang.ts';
import { isUnknown, options, type Value } from '../code/values.ts';
import type { AuditContext } from '../context.ts';
import type { Evidence, Finding } from '../result.ts';
import { taintedIn } from './content.ts';
import { hitsFor, requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok } from './util.ts';

/** Whether a value is fully known text (no user input reaches it). */
function constant(ctx: AuditContext, v: Value, depth = 0): boolean {
  if (depth > 5) return false;
  for (const o of options(v)) {
    if (o.kind === 'string') {
      if (o.partial) return false;
    } else if (o.kind === 'array' || o.kind === 'object') {
      const items = o.kind === 'array' ? o.node.children().filter((c) => c.isNamed()) : [];
      // an empty literal is filled later (`messages.append(…)`): its content is not known
      if (o.kind === 'array' && items.length === 0) return false;
      if (o.kind === 'object') {
        for (const key of ['content', 'text']) {
          const p = ctx.ev.prop(o, key);
          if (
            !(p.kind === 'unresolved' && p.reason.startsWith('no property')) &&
            !constant(ctx, p, depth + 1)
          )
            return false;
        }
      }
      for (const i of items) if (!constant(ctx, ctx.ev.eval(i, o.module, o.env), depth + 1)) return false;
    } else if (isUnknown(o) || o.kind === 'several' || o.kind === 'fn' || o.kind === 'instance') return false;
  }
  return true;
}

function inputOf(ctx: AuditContext, s: Site): Value | undefined {
  const from = s.style === 'http' || (s.style === 'bedrock' && s.api === 'invoke') ? 'body' : 'options';
  for (const key of ['messages', 'prompt', 'input']) {
    const r = readOption(ctx.ev, s, [key], from);
    if (r.state === 'set') return r.value;
    if (r.state === 'open') return undefined;
  }
  return undefined;
}

/** Input limits inside definitions (schema classes, zod schemas) the scope refers to by name. */
function referencedLimits(ctx: AuditContext, s: Site): Hit[] {
  const scope = ctx.scopes.forSite(s);
  const out: Hit[] = [];
  for (const f of scope.fns) {
    const m = f.module;
    const names = new Set(
      findKinds(f.node, m.family, ['identifier', 'type_identifier']).map((n) => n.text()),
    );
    // a registration call around the handler (hono `post(route, zValidator("json", schema), handler)`)
    if (f.callbackOf)
      for (const a of f.callbackOf.args)
        for (const n of a.findAll({ rule: { kind: 'identifier' } } as never)) names.add(n.text());
    for (const name of names) {
      const local = m.bindings.get(name)?.at(-1) ?? m.classes.get(name);
      let target = local ? { mod: m, node: local } : undefined;
      if (!target) {
        const imp = m.imports.get(name);
        const file = imp ? ctx.project.resolveImport(m.file, imp.spec) : undefined;
        const tm = file ? ctx.project.module(file) : undefined;
        const def = tm
          ? (tm.bindings.get(imp?.name ?? name)?.at(-1) ?? tm.classes.get(imp?.name ?? name))
          : undefined;
        if (tm && def) target = { mod: tm, node: def };
      }
      if (!target) continue;
      const [a, b] = [target.node.range().start.index, target.node.range().end.index];
      out.push(
        ...ctx.scopes
          .hitsOf(target.mod)
          .filter((h) => h.kind === 'input-limit' && h.offset >= a && h.offset < b),
      );
    }
  }
  return out;
}

/**
 * A length check bounds the input unless it is about something else: in an
 * error handler, or on a value derived from the model's answer (paging the
 * output into chat messages is not an input limit).
 */
function inputLimit(ctx: AuditContext, s: Site, h: Hit): boolean {
  let cur = h.node.parent();
  while (cur) {
    const k = String(cur.kind());
    if (k === 'catch_clause' || k === 'except_clause') return false;
    if (/function|method_definition|lambda|arrow_function/.test(k)) break;
    cur = cur.parent();
  }
  const m = ctx.project.module(h.file);
  const fn = m?.functions
    .filter((f) => h.offset >= f.start && h.offset < f.end)
    .sort((a, b) => b.start - a.start)[0];
  if (!fn) return true;
  const scope = ctx.scopes.forSite(s);
  if (scope.helpers.has(fn) && !scope.fns.has(fn)) {
    // a helper's check bounds the input when the helper is an input check (not a formatter), used on
    // the input rather than to format a message
    if (
      !/valid|sanitiz|check|limit|truncat|clip|trim|bound|guard|clean|assert|ensure|cap_|_cap\b|shorten/i.test(
        fn.name ?? '',
      )
    )
      return false;
    const uses = ctx.graph.callsTo(fn).filter((c) => c.fn && scope.fns.has(c.fn));
    if (uses.length > 0 && uses.every((c) => inTemplate(c.node))) return false;
  }
  const out = taintedIn(ctx, fn, ctx.scopes.forSite(s), s, 'output');
  if (out.size === 0) return true;
  const ids = h.node.kind() === 'identifier' ? [h.node] : findKinds(h.node, fn.module.family, ['identifier']);
  return !ids.some((id) => out.has(id.text()));
}

function inTemplate(n: import('@ast-grep/napi').SgNode): boolean {
  let cur = n.parent();
  for (let i = 0; cur && i < 8; i++) {
    const k = String(cur.kind());
    if (k === 'template_substitution' || k === 'interpolation') return true;
    if (/statement|function|lambda|block/.test(k)) return false;
    cur = cur.parent();
  }
  return false;
}

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  let judged = 0;
  for (const s of requestSites(ctx)) {
    const input = inputOf(ctx, s);
    if (input && constant(ctx, input)) continue;
    judged++;
    const hits = [...hitsFor(ctx, s, ['input-limit']), ...referencedLimits(ctx, s)].filter((h) =>
      inputLimit(ctx, s, h),
    );
    if (hits.length > 0) ev.push(at(hits[0], `input bounded: ${hits[0].text}`));
    else list.push(fail(at(s, 'the text reaching this call is not length-limited')));
  }
  if (judged === 0) return na('every Claude call sends constant input');
  const found = dedupe(list);
  if (found.length === 0) return ok('input reaching Claude is length-limited', dedupe(ev));
  return findings(`${found.length} call(s) without an input size limit`, found, dedupe(ev));
};
