/**
 * The policy decisions as pure functions over a request body, so each is
 * testable alone; the policy stage (src/pipeline/policy.ts) applies them in
 * order and rewrites the body once.
 */
import { MAX_BREAKPOINTS, minCacheableTokens } from '../anthropic/caching.ts';
import { closestModelIds, type ModelEntry, resolveModel, statusOf } from '../anthropic/models.ts';
import { estimateRequestTokens } from '../anthropic/tokens.ts';
import type { ClientPolicy, RoutingRule } from './config.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Why a model id is refused, or undefined when the catalog knows it and it is
 * not retired on `now` (a deprecated model is refused from its retirement date on).
 */
export function catalogRefusal(
  model: string,
  allowUnknown: boolean,
  now: Date = new Date(),
): string | undefined {
  const entry = resolveModel(model);
  if (entry && statusOf(entry, now) !== 'retired') return undefined;
  if (!entry && allowUnknown) return undefined;
  const near = closestModelIds(model, 3, { now });
  const what = entry
    ? `was retired on ${entry.retires_at?.slice(0, 10) ?? 'an earlier date'}`
    : 'is not a known model';
  return `model: ${model} ${what}; closest valid ids: ${near.join(', ')}`;
}

/** True when `model` is in the allow-list (ids or aliases compare by canonical id). */
export function allowed(model: string, list: readonly string[] | undefined): boolean {
  if (!list) return true;
  const id = resolveModel(model)?.id;
  return list.some((m) => m === model || (id !== undefined && resolveModel(m)?.id === id));
}

/** The first routing rule that matches the request, if any. */
export function matchRoute(
  rules: readonly RoutingRule[] | undefined,
  model: string,
  body: Obj,
): RoutingRule | undefined {
  if (!rules) return undefined;
  const id = resolveModel(model)?.id ?? model;
  let input: number | undefined;
  for (const rule of rules) {
    const w = rule.when;
    if ((resolveModel(rule.model)?.id ?? rule.model) === id) continue;
    if (w.noTools && Array.isArray(body.tools) && body.tools.length > 0) continue;
    if (w.models && !w.models.some((m) => (resolveModel(m)?.id ?? m) === id)) continue;
    if (
      w.maxOutputTokens !== undefined &&
      !(typeof body.max_tokens === 'number' && body.max_tokens <= w.maxOutputTokens)
    )
      continue;
    if (w.maxInputTokens !== undefined) {
      input ??= estimateRequestTokens(body).total;
      if (input > w.maxInputTokens) continue;
    }
    return rule;
  }
  return undefined;
}

/** Breakpoints a body carries: blocks with `cache_control` in tools, system and messages, plus the top-level one. */
export function countBreakpoints(body: Obj): { total: number; prefix: number } {
  let prefix = 0;
  let total = body.cache_control != null ? 1 : 0;
  const mark = (v: unknown, inPrefix: boolean) => {
    if (isObj(v) && v.cache_control != null) {
      total++;
      if (inPrefix) prefix++;
    }
  };
  if (Array.isArray(body.tools)) for (const t of body.tools) mark(t, true);
  if (Array.isArray(body.system)) for (const b of body.system) mark(b, true);
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (isObj(m) && Array.isArray(m.content)) for (const b of m.content) mark(b, false);
    }
  }
  return { total, prefix };
}

/**
 * Prompt caching `auto`: when the tools + system prefix is at least the
 * model's minimum cacheable length and carries no breakpoint, and a slot of
 * the four is free, mark the end of that prefix (the last system block, or the
 * last tool when there is no system prompt). Returns the new body, or
 * undefined when nothing is to be done. `body` is not modified.
 */
export function autoCache(
  body: Obj,
  entry: ModelEntry | undefined,
  ttl: '5m' | '1h',
): { body: Obj; where: string } | undefined {
  if (!entry) return undefined;
  const bp = countBreakpoints(body);
  if (bp.prefix > 0 || bp.total >= MAX_BREAKPOINTS) return undefined;
  const est = estimateRequestTokens(body);
  const min = minCacheableTokens(entry);
  if (est.tools + est.system < min) return undefined;
  const cc = ttl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' };
  const system = body.system;
  if (typeof system === 'string' && system.length > 0) {
    return {
      body: { ...body, system: [{ type: 'text', text: system, cache_control: cc }] },
      where: 'system',
    };
  }
  if (Array.isArray(system) && system.length > 0 && isObj(system[system.length - 1])) {
    const blocks = [...system];
    blocks[blocks.length - 1] = { ...(blocks[blocks.length - 1] as Obj), cache_control: cc };
    return { body: { ...body, system: blocks }, where: 'system' };
  }
  const tools = body.tools;
  if (Array.isArray(tools) && tools.length > 0 && isObj(tools[tools.length - 1])) {
    const list = [...tools];
    list[list.length - 1] = { ...(list[list.length - 1] as Obj), cache_control: cc };
    return { body: { ...body, tools: list }, where: 'tools' };
  }
  return undefined;
}

export type MaxTokensOutcome =
  | { kind: 'keep' }
  | { kind: 'default'; value: number }
  | { kind: 'clamp'; value: number; was: number }
  | { kind: 'reject'; cap: number; was: number };

export function maxTokensPolicy(body: Obj, p: ClientPolicy['maxTokens']): MaxTokensOutcome {
  if (!p) return { kind: 'keep' };
  const v = body.max_tokens;
  if (v === undefined)
    return p.default !== undefined
      ? { kind: 'default', value: Math.min(p.default, p.cap ?? Number.POSITIVE_INFINITY) }
      : { kind: 'keep' };
  if (typeof v !== 'number' || p.cap === undefined || v <= p.cap) return { kind: 'keep' };
  return p.overCap === 'clamp'
    ? { kind: 'clamp', value: p.cap, was: v }
    : { kind: 'reject', cap: p.cap, was: v };
}
