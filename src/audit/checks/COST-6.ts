/**
 * COST-6: prompt caching is enabled for repeated system prompts. For each
 * Claude request, its system prompt (and tool list) is resolved — constants,
 * imports, prompt-building functions, prompt files read at start-up, content
 * blocks, framework prompt templates — and sized with Gantry's token
 * estimate against the model's minimum cacheable length (1,024 when
 * unknown). Long and cached (`cache_control` on a block or at the top level,
 * AI SDK `cacheControl`, Bedrock `cachePoint`, the Claude Agent SDK): `pass`.
 * Long and uncached: `fail`. A prompt whose length cannot be resolved and is
 * not cached: `warn` ("could not resolve"). Short or none: `n/a`.
 */
import type { SgNode } from '@ast-grep/napi';
import { resolveModel } from '../../anthropic/models.ts';
import { estimateTextTokens } from '../../anthropic/tokens.ts';
import { readOption, type Site } from '../clients/site.ts';
import { findKinds, named, stringLiteral } from '../code/lang.ts';
import type { ModuleInfo } from '../code/module.ts';
import { isUnknown, options, type Value } from '../code/values.ts';
import type { AuditContext } from '../context.ts';
import { normalizeModelId } from '../model-ids.ts';
import type { Evidence, Finding } from '../result.ts';
import { modelsOf } from './knobs.ts';
import { requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok, warn } from './util.ts';

const DEFAULT_MIN_CACHEABLE = 1024;
const CACHE_MARK = /cache_control|cacheControl|cachePoint|cache_idx|cache_prompt|cachePrompt/;

interface Prompt {
  value: Value;
  /** Where the prompt is written. */
  at: { file: string; line: number };
  /** The message carrying it is marked for caching (LlamaIndex `additional_kwargs`). */
  cached?: boolean;
}

interface Sized {
  text: string;
  unknown: string[];
  cached: boolean;
}

/** Static text, unknown parts and cache markers of a prompt value. */
function size(ctx: AuditContext, v: Value, depth = 0): Sized {
  const out: Sized = { text: '', unknown: [], cached: false };
  if (depth > 6) return { ...out, unknown: [`\`${v.at.text}\``] };
  const opts = options(v);
  const strings = opts.filter((o) => o.kind === 'string');
  if (strings.length > 0 && strings.length === opts.length) {
    // several options (a wrapper's callers pass different prompts): the longest decides whether caching pays
    const best = strings.reduce((a, b) =>
      (a as { value: string }).value.length >= (b as { value: string }).value.length ? a : b,
    ) as Extract<Value, { kind: 'string' }>;
    return { text: best.value, unknown: best.partial ?? [], cached: false };
  }
  for (const o of opts) {
    if (o.kind === 'string') {
      out.text += o.value;
      if (o.partial) out.unknown.push(...o.partial);
    } else if (o.kind === 'array') {
      for (const item of named(o.node)) {
        const iv = ctx.ev.eval(item, o.module, o.env);
        const sz = size(ctx, iv, depth + 1);
        out.text += sz.text;
        out.unknown.push(...sz.unknown);
        out.cached ||= sz.cached;
      }
    } else if (o.kind === 'object') {
      if (CACHE_MARK.test(o.node.text())) out.cached = true;
      for (const key of ['text', 'content']) {
        const t = ctx.ev.prop(o, key);
        if (t.kind === 'unresolved' && t.reason.startsWith('no property')) continue;
        const sz = size(ctx, t, depth + 1);
        out.text += sz.text;
        out.unknown.push(...sz.unknown);
        out.cached ||= sz.cached;
        break;
      }
    } else if (o.kind === 'null') {
      // no prompt
    } else if (isUnknown(o) || o.kind === 'several') {
      out.unknown.push(o.kind === 'unresolved' ? o.reason : `\`${o.at.text}\``);
    }
  }
  return out;
}

/** Rough size of a tool list: its resolved source text, four characters a token. */
function toolTokens(v: Value | undefined): number {
  if (!v) return 0;
  let n = 0;
  for (const o of options(v))
    if (o.kind === 'array' || o.kind === 'object') n += Math.ceil(o.node.text().length / 4);
  return n;
}

/** System prompts written for a framework client: SystemMessage, ("system", …), {role: "system"}, system_prompt=. */
function frameworkPrompts(ctx: AuditContext, s: Site): Prompt[] {
  const scope = ctx.scopes.forSite(s);
  const out: Prompt[] = [];
  const fns = [...scope.fns];
  const mods = new Set<ModuleInfo>(fns.map((f) => f.module));
  for (const f of scope.files) {
    const m = ctx.project.module(f);
    if (m) mods.add(m);
  }
  const inScope = (m: ModuleInfo, node: SgNode) =>
    scope.files.has(m.file) ||
    fns.some(
      (f) => f.module === m && node.range().start.index >= f.start && node.range().start.index < f.end,
    );
  for (const m of mods) {
    for (const c of m.calls) {
      if (!inScope(m, c.node)) continue;
      if (/(^|\.)\w*SystemMessage$|^SystemMessagePromptTemplate(\.from_template)?$/.test(c.calleeText)) {
        const a = c.kwargs.get('content') ?? c.args[0];
        if (a) out.push({ value: ctx.ev.eval(a, m), at: { file: m.file, line: c.line } });
      }
      // LlamaIndex ChatMessage(role="system" | MessageRole.SYSTEM, content=…)
      if (
        /(^|\.)ChatMessage(\.from_str)?$/.test(c.calleeText) &&
        /system/i.test(c.kwargs.get('role')?.text() ?? '')
      ) {
        const a = c.kwargs.get('content') ?? c.args[0];
        if (a)
          out.push({
            value: ctx.ev.eval(a, m),
            at: { file: m.file, line: c.line },
            cached: CACHE_MARK.test(c.node.text()),
          });
      }
      const sp = c.kwargs.get('system_prompt') ?? c.kwargs.get('system');
      if (sp && (c.kwargs.has('llm') || /Agent|Options|Engine|Chain/.test(c.name)))
        out.push({ value: ctx.ev.eval(sp, m), at: { file: m.file, line: c.line } });
      if (m.family === 'ts' && c.args[0]?.kind() === 'object' && /Agent|Options/.test(c.name)) {
        const v = ctx.ev.prop(ctx.ev.eval(c.args[0], m), 'systemPrompt');
        if (!(v.kind === 'unresolved' && v.reason.startsWith('no property')))
          out.push({ value: v, at: { file: m.file, line: c.line } });
      }
    }
    for (const o of findKinds(m.root, m.family, ['object', 'dictionary'])) {
      if (!inScope(m, o) || !/["']?role["']?\s*:\s*["']system["']/.test(o.text())) continue;
      const v = ctx.ev.eval(o, m);
      const role = ctx.ev.prop(v, 'role');
      if (role.kind === 'string' && role.value === 'system')
        out.push({ value: v, at: { file: m.file, line: o.range().start.line + 1 } });
    }
    const pairs = findKinds(m.root, m.family, ['tuple', 'array', 'list']);
    for (const p of pairs) {
      const items = named(p);
      if (items.length === 2 && stringLiteral(items[0]) === 'system' && inScope(m, p))
        out.push({ value: ctx.ev.eval(items[1], m), at: { file: m.file, line: p.range().start.line + 1 } });
    }
  }
  return out;
}

function systemOf(ctx: AuditContext, s: Site): { prompts: Prompt[]; tools?: Value; topLevelCache: boolean } {
  const ev = ctx.ev;
  const prompts: Prompt[] = [];
  let tools: Value | undefined;
  let topLevelCache = false;
  const from = s.style === 'http' || (s.style === 'bedrock' && s.api === 'invoke') ? 'body' : 'options';
  if (s.style === 'langchain' || s.style === 'llamaindex')
    return { prompts: frameworkPrompts(ctx, s), topLevelCache };
  const sys = readOption(ev, s, ['system', 'systemPrompt'], from);
  // options we cannot read say nothing about a system prompt: only a prompt that is there is judged
  if (sys.state === 'set')
    prompts.push({ value: sys.value, at: { file: sys.value.at.file, line: sys.value.at.line } });
  const t = readOption(ev, s, ['tools'], from);
  if (t.state === 'set') tools = t.value;
  const cc = readOption(ev, s, ['cache_control'], from);
  if (cc.state === 'set' && cc.value.kind !== 'null') topLevelCache = true;
  // system messages inside `messages` (LiteLLM / OpenAI-style)
  const msgs = readOption(ev, s, ['messages'], from);
  if (msgs.state === 'set') {
    for (const o of options(msgs.value)) {
      if (o.kind !== 'array') continue;
      for (const item of named(o.node)) {
        const iv = ev.eval(item, o.module, o.env);
        const role = ev.prop(iv, 'role');
        if (role.kind === 'string' && role.value === 'system')
          prompts.push({ value: iv, at: { file: o.module.file, line: item.range().start.line + 1 } });
      }
    }
  }
  // messages built where the request cannot see them: system prompts written in the call's scope
  if (prompts.length === 0 && !(msgs.state === 'set' && options(msgs.value).every((o) => o.kind === 'array')))
    prompts.push(...frameworkPrompts(ctx, s));
  return { prompts, tools, topLevelCache };
}

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const s of requestSites(ctx)) {
    if (s.style === 'agent-sdk') {
      ev.push(at(s, 'Claude Agent SDK sessions are cached automatically'));
      continue;
    }
    const { prompts, tools, topLevelCache } = systemOf(ctx, s);
    if (topLevelCache) {
      ev.push(at(s, 'top-level cache_control: the request prefix is cached automatically'));
      continue;
    }
    if (prompts.length === 0 && !tools) continue;
    const models = modelsOf(ctx, s).map((id) => {
      const ref = normalizeModelId(id);
      return ref ? resolveModel(ref.id) : undefined;
    });
    const min = Math.min(
      ...models.map((e) => e?.min_cacheable_tokens ?? DEFAULT_MIN_CACHEABLE),
      DEFAULT_MIN_CACHEABLE * 8,
    );
    const threshold = models.length > 0 ? min : DEFAULT_MIN_CACHEABLE;
    const siteText = s.fn?.node.text() ?? '';
    const toolsT = toolTokens(tools);
    const toolsCached = tools
      ? options(tools).some(
          (o) => (o.kind === 'array' || o.kind === 'object') && CACHE_MARK.test(o.node.text()),
        )
      : false;
    const list0 =
      prompts.length > 0
        ? prompts
        : [
            {
              value: { kind: 'null', at: { file: s.file, line: s.line, text: '' } } as Value,
              at: s,
            } as Prompt,
          ];
    for (const p of list0) {
      const sz = size(ctx, p.value);
      const tokens = estimateTextTokens(sz.text) + toolsT;
      const cached =
        topLevelCache || sz.cached || p.cached === true || toolsCached || CACHE_MARK.test(siteText);
      if (tokens >= threshold) {
        if (cached) ev.push(at(p.at, `system prompt + tools ~${tokens} tokens, cached`));
        else
          list.push(
            fail(
              at(
                p.at,
                `system prompt + tools of ~${tokens} tokens (minimum cacheable ${threshold}) sent without cache_control`,
              ),
            ),
          );
      } else if (sz.unknown.length > 0) {
        if (cached) ev.push(at(p.at, 'system prompt cached (its length could not be resolved)'));
        else
          list.push(
            warn(
              at(
                p.at,
                `could not resolve the system prompt's length (~${tokens} tokens known; ${sz.unknown.slice(0, 2).join(', ')}) and it is not cached`,
              ),
            ),
          );
      }
    }
  }
  const found = dedupe(list);
  if (found.length > 0)
    return findings(`${found.length} system prompt(s) to cache or review`, found, dedupe(ev));
  if (ev.length > 0) return ok('long system prompts are cached', dedupe(ev));
  return na('no system prompt long enough to cache');
};
