/**
 * Reading the knobs of a Claude site whatever its client style: retries,
 * timeout, max_tokens, model. A knob is `set` (with its value, resolved
 * across files), `unset` (the library default applies), `open` (options we
 * cannot see, e.g. a spread of a request field) or `none` (the style has no
 * such setting, e.g. the Claude Agent SDK).
 */
import type { SgNode } from '@ast-grep/napi';
import { type ModelEntry, resolveModel } from '../../anthropic/models.ts';
import { type OptionRead, readOption, type Site } from '../clients/site.ts';
import { STYLES } from '../clients/styles.ts';
import type { Hit } from '../code/evidence.ts';
import { named } from '../code/lang.ts';
import { isTestFile } from '../code/project.ts';
import { type Evaluator, isUnknown, locOf, numbers, options, type Value } from '../code/values.ts';
import type { AuditContext } from '../context.ts';
import { normalizeModelId } from '../model-ids.ts';

export type Knob =
  | { state: 'set'; value: Value; where: string; unit: 's' | 'ms' | 'retries' | 'attempts' | 'tokens' }
  | { state: 'unset'; default?: number | null; unit?: string }
  | { state: 'open'; reason: string }
  | { state: 'none' };

type Unit = 's' | 'ms' | 'retries' | 'attempts' | 'tokens';

function fromRead(r: OptionRead, unit: Unit, where: string): Knob {
  if (r.state === 'set') return { state: 'set', value: r.value, where: r.key || where, unit };
  if (r.state === 'open') return { state: 'open', reason: r.reason };
  return { state: 'unset' };
}

/** Keyword argument or TS object property of a library call's result (`Config(retries=…)`, `httpx.Timeout(60)`). */
function externalArg(ev: Evaluator, v: Value, key: string, position?: number): Value | undefined {
  for (const o of options(v)) {
    if (o.kind !== 'external') continue;
    const args = named(o.node.field('arguments'));
    for (const a of args) {
      if (a.kind() === 'keyword_argument' && a.field('name')?.text() === key) {
        const val = a.field('value');
        if (val) return ev.eval(val, o.module);
      }
      if (a.kind() === 'object') {
        const p = ev.prop(ev.eval(a, o.module), key);
        if (!(p.kind === 'unresolved' && p.reason.startsWith('no property'))) return p;
      }
    }
    if (position !== undefined) {
      const positional = args.filter((a) => a.kind() !== 'keyword_argument')[position];
      if (positional) return ev.eval(positional, o.module);
    }
  }
  return undefined;
}

/** The site that carries the client-level knobs of a request (itself for call-level styles). */
function knobSite(s: Site): Site | undefined {
  if (STYLES[s.style].knobsOn === 'call') return s;
  if (s.kind === 'client') return s;
  return s.client;
}

// ------------------------------------------------------------------ retries

export function retriesKnob(ctx: AuditContext, s: Site): Knob {
  const ev = ctx.ev;
  switch (s.style) {
    case 'agent-sdk':
      return { state: 'none' };
    case 'http':
      return { state: 'unset', default: 0 };
    case 'vercel-ai':
      return fromRead(readOption(ev, s, ['maxRetries']), 'retries', 'maxRetries');
    case 'litellm': {
      const r = readOption(ev, s, ['num_retries', 'max_retries']);
      if (r.state !== 'unset') return fromRead(r, 'retries', 'num_retries');
      const global = globalAssignment(ctx, /^litellm\.num_retries$/, 'num_retries');
      return global
        ? { state: 'set', value: global, where: 'litellm.num_retries', unit: 'retries' }
        : { state: 'unset', default: 0 };
    }
    case 'bedrock': {
      const c = s.kind === 'client' ? s : s.client;
      if (!c) return { state: 'open', reason: 'the bedrock-runtime client is built outside the repository' };
      if (c.module.family === 'ts')
        return fromRead(readOption(ev, c, ['maxAttempts']), 'attempts', 'maxAttempts');
      const cfg = readOption(ev, c, ['config']);
      if (cfg.state !== 'set')
        return cfg.state === 'open' ? { state: 'open', reason: cfg.reason } : { state: 'unset' };
      const retries = externalArg(ev, cfg.value, 'retries');
      if (!retries) return { state: 'unset' };
      const attempts = ev.prop(retries, 'max_attempts');
      if (attempts.kind === 'unresolved' && attempts.reason.startsWith('no property')) {
        const total = ev.prop(retries, 'total_max_attempts');
        if (!(total.kind === 'unresolved' && total.reason.startsWith('no property')))
          return { state: 'set', value: total, where: 'total_max_attempts', unit: 'attempts' };
        return { state: 'unset' };
      }
      // botocore: max_attempts counts retries (the first try excluded); total_max_attempts counts attempts
      return { state: 'set', value: attempts, where: 'retries.max_attempts', unit: 'retries' };
    }
    default: {
      const k = knobSite(s);
      if (!k) return { state: 'open', reason: 'the client is built outside the repository' };
      const req =
        s.kind === 'call'
          ? readOption(ev, s, ['maxRetries', 'max_retries'], 'request')
          : { state: 'unset' as const };
      if (req.state === 'set') return fromRead(req, 'retries', 'maxRetries');
      if (k.style === 'sdk' && s.kind === 'call' && s.module.family === 'py') {
        // client.with_options(max_retries=…).messages.create(…)
        const m = /with_options\([^)]*max_retries\s*=\s*([^,)]+)/.exec(s.call?.calleeText ?? '');
        if (m)
          return {
            state: 'set',
            value: { kind: 'unresolved', at: locOf(s.node, s.module), reason: m[1] },
            where: 'with_options',
            unit: 'retries',
          };
      }
      return fromRead(
        readOption(ev, k, STYLES[k.style].retries?.keys ?? ['maxRetries', 'max_retries']),
        'retries',
        'maxRetries',
      );
    }
  }
}

/** Library default retries when unset (per language where they differ). */
export function defaultRetries(s: Site): number | null | undefined {
  if (s.style === 'langchain') return s.module.family === 'ts' ? 6 : 2;
  if (s.style === 'bedrock') return s.module.family === 'ts' ? 2 : 4;
  return STYLES[s.style].retries?.default;
}

// ------------------------------------------------------------------ timeout

export function timeoutKnob(ctx: AuditContext, s: Site): Knob {
  const ev = ctx.ev;
  const ms = s.module.family === 'ts';
  switch (s.style) {
    case 'agent-sdk':
      return { state: 'none' };
    case 'vercel-ai': {
      const r = readOption(ev, s, ['abortSignal', 'timeout']);
      if (r.state !== 'set') return fromRead(r, 'ms', 'abortSignal');
      if (r.key === 'timeout') return { state: 'set', value: r.value, where: 'timeout', unit: 'ms' };
      const t = externalArg(ev, r.value, '', 0);
      return t
        ? { state: 'set', value: t, where: 'AbortSignal.timeout', unit: 'ms' }
        : { state: 'open', reason: `\`${r.value.at.text}\`` };
    }
    case 'litellm':
      return fromRead(readOption(ev, s, ['timeout', 'request_timeout']), 's', 'timeout');
    case 'bedrock': {
      const c = s.kind === 'client' ? s : s.client;
      if (!c) return { state: 'open', reason: 'the bedrock-runtime client is built outside the repository' };
      if (c.module.family === 'ts') {
        const h = readOption(ev, c, ['requestHandler']);
        if (h.state !== 'set')
          return h.state === 'open' ? { state: 'open', reason: h.reason } : { state: 'unset' };
        const t = externalArg(ev, h.value, 'requestTimeout') ?? ev.prop(h.value, 'requestTimeout');
        return t && !(t.kind === 'unresolved' && t.reason.startsWith('no property'))
          ? { state: 'set', value: t, where: 'requestTimeout', unit: 'ms' }
          : { state: 'unset' };
      }
      const cfg = readOption(ev, c, ['config']);
      if (cfg.state !== 'set')
        return cfg.state === 'open' ? { state: 'open', reason: cfg.reason } : { state: 'unset' };
      const t = externalArg(ev, cfg.value, 'read_timeout');
      return t ? { state: 'set', value: t, where: 'read_timeout', unit: 's' } : { state: 'unset' };
    }
    case 'http':
      return httpTimeout(ctx, s);
    default: {
      const k = knobSite(s);
      if (s.kind === 'call') {
        const req = readOption(ev, s, ['timeout'], ms ? 'request' : 'options');
        if (req.state === 'set')
          return {
            state: 'set',
            value: timeoutValue(ev, req.value),
            where: 'timeout',
            unit: ms ? 'ms' : 's',
          };
      }
      if (!k) return { state: 'open', reason: 'the client is built outside the repository' };
      const keys = STYLES[k.style].timeout?.keys ?? ['timeout'];
      const r = readOption(ev, k, keys);
      if (r.state !== 'set') return fromRead(r, ms ? 'ms' : 's', 'timeout');
      return { state: 'set', value: timeoutValue(ev, r.value), where: r.key, unit: ms ? 'ms' : 's' };
    }
  }
}

/** `httpx.Timeout(60.0, connect=5.0)` → 60; `aiohttp.ClientTimeout(total=120)` → 120; else the value. */
function timeoutValue(ev: Evaluator, v: Value): Value {
  for (const o of options(v)) {
    if (o.kind !== 'external') continue;
    if (/ClientTimeout/.test(o.callee)) return externalArg(ev, o, 'total') ?? v;
    if (/Timeout/.test(o.callee)) return externalArg(ev, o, 'timeout', 0) ?? externalArg(ev, o, 'read') ?? v;
  }
  return v;
}

/** Raw HTTP: the transport's own timeout, its client's, or a timeout wrapper around it. */
function httpTimeout(ctx: AuditContext, s: Site): Knob {
  const ev = ctx.ev;
  const t = s.transport;
  if (!t) return { state: 'open', reason: 'the HTTP call that sends the request was not found' };
  const m = t.module;
  const py = m.family === 'py';
  const callee = t.calleeText;
  if (py) {
    const kw = t.kwargs.get('timeout');
    if (kw) return { state: 'set', value: timeoutValue(ev, ev.eval(kw, m)), where: 'timeout', unit: 's' };
    // the client / session it goes through
    if (t.receiver && !/^(requests|httpx)$/.test(t.receiver)) {
      const recv = receiverNode(t.callee, t.receiver);
      const client = recv ? ev.eval(recv, m) : undefined;
      for (const o of client ? options(client) : []) {
        if (o.kind !== 'external') continue;
        const to = externalArg(ev, o, 'timeout');
        if (to) return { state: 'set', value: timeoutValue(ev, to), where: 'client timeout', unit: 's' };
        if (/httpx\.(Async)?Client|AsyncClient|Client\(/.test(o.callee))
          return { state: 'unset', default: 5, unit: 's' };
        if (/ClientSession/.test(o.callee)) return { state: 'unset', default: 300, unit: 's' };
        if (/requests\.Session|Session\(/.test(o.callee)) return { state: 'unset', default: null };
      }
      // a session created elsewhere (passed in): the sessions this code base creates
      const made = sessionTimeouts(ctx, m.family);
      if (made) return made;
    }
    if (/^httpx\./.test(callee)) return { state: 'unset', default: 5, unit: 's' };
    return { state: 'unset', default: null };
  }
  // TypeScript: fetch(url, { signal }), axios(…, { timeout }), undici request(url, { headersTimeout })
  const opts = /^axios\.(post|put)$|\.(post|put)$/.test(callee)
    ? t.args[2]
    : (t.args[1] ?? (t.args[0]?.kind() === 'object' ? t.args[0] : undefined));
  if (opts) {
    const o = ev.eval(opts, m);
    for (const key of ['timeout', 'headersTimeout', 'bodyTimeout']) {
      const v = ev.prop(o, key);
      if (!(v.kind === 'unresolved' && v.reason.startsWith('no property')))
        return { state: 'set', value: v, where: key, unit: 'ms' };
    }
    const sig = ev.prop(o, 'signal');
    if (!(sig.kind === 'unresolved' && sig.reason.startsWith('no property'))) {
      const n = externalArg(ev, sig, '', 0);
      if (n && /AbortSignal\.timeout/.test(sig.at.text + (sig.kind === 'external' ? sig.callee : '')))
        return { state: 'set', value: n, where: 'AbortSignal.timeout', unit: 'ms' };
      const wrapper = timeoutWrapperIn(ctx, t);
      if (wrapper) return wrapper;
      return { state: 'open', reason: `\`${sig.at.text}\`` };
    }
  }
  // axios instance created with a timeout
  if (t.receiver && t.receiver !== 'axios') {
    const recv = receiverNode(t.callee, t.receiver);
    const client = recv ? ev.eval(recv, m) : undefined;
    for (const o of client ? options(client) : []) {
      if (o.kind === 'external' && /axios\.create|create\(/.test(o.callee)) {
        const to = externalArg(ev, o, 'timeout');
        return to
          ? { state: 'set', value: to, where: 'axios.create timeout', unit: 'ms' }
          : { state: 'unset', default: null };
      }
    }
  }
  const wrapper = timeoutWrapperIn(ctx, t);
  if (wrapper) return wrapper;
  return { state: 'unset', default: null };
}

function timeoutWrapperIn(
  ctx: AuditContext,
  t: { module: import('../code/module.ts').ModuleInfo; fn?: import('../code/module.ts').FnInfo },
): Knob | undefined {
  if (!t.fn) return undefined;
  const hits = ctx.scopes
    .hitsOf(t.module)
    .filter((h) => h.kind === 'timeout-wrapper' && h.offset >= t.fn!.start && h.offset < t.fn!.end);
  const h = hits.find((x) => x.bound);
  if (!h?.bound) return undefined;
  return { state: 'set', value: ctx.ev.eval(h.bound, t.module), where: h.detail, unit: h.unit ?? 'ms' };
}

function sessionTimeouts(ctx: AuditContext, family: 'ts' | 'py'): Knob | undefined {
  if (family !== 'py') return undefined;
  for (const m of ctx.project.parsed()) {
    for (const c of m.calls) {
      if (!/(aiohttp\.)?ClientSession$|httpx\.(Async)?Client$/.test(c.calleeText)) continue;
      const to = c.kwargs.get('timeout');
      if (to)
        return {
          state: 'set',
          value: timeoutValue(ctx.ev, ctx.ev.eval(to, m)),
          where: 'session timeout',
          unit: 's',
        };
    }
  }
  return undefined;
}

function receiverNode(callee: SgNode, recv: string): SgNode | undefined {
  let cur: SgNode | null = callee;
  while (cur) {
    if (cur.text().replace(/\s+/g, '') === recv) return cur;
    cur = cur.field('object') ?? null;
  }
  return undefined;
}

// ------------------------------------------------------------ max_tokens / model

export function maxTokensKnob(ctx: AuditContext, s: Site): Knob {
  const ev = ctx.ev;
  switch (s.style) {
    case 'agent-sdk':
      return { state: 'none' };
    case 'http':
      if (!s.body) return { state: 'open', reason: 'the request body could not be found' };
      return fromRead(
        readOption(ev, s, ['max_tokens', 'max_tokens_to_sample'], 'body'),
        'tokens',
        'max_tokens',
      );
    case 'bedrock':
      if (s.kind === 'client') return { state: 'none' };
      if (s.api === 'converse') {
        const cfg =
          s.module.family === 'ts'
            ? readOption(ev, s, ['inferenceConfig.maxTokens'])
            : readOption(ev, s, ['inferenceConfig']);
        if (cfg.state !== 'set') return fromRead(cfg, 'tokens', 'maxTokens');
        if (s.module.family === 'ts')
          return { state: 'set', value: cfg.value, where: 'maxTokens', unit: 'tokens' };
        const v = ev.prop(cfg.value, 'maxTokens');
        return v.kind === 'unresolved' && v.reason.startsWith('no property')
          ? { state: 'unset' }
          : { state: 'set', value: v, where: 'maxTokens', unit: 'tokens' };
      }
      if (!s.body) return { state: 'open', reason: 'the request body could not be resolved' };
      return fromRead(
        readOption(ev, s, ['max_tokens', 'max_tokens_to_sample'], 'body'),
        'tokens',
        'max_tokens',
      );
    default: {
      const k =
        STYLES[s.style].knobsOn === 'client' && s.style !== 'sdk' ? (s.kind === 'client' ? s : s.client) : s;
      if (!k) return { state: 'open', reason: 'the client is built outside the repository' };
      if (s.style === 'sdk' && s.kind === 'client') return { state: 'none' };
      if (s.style === 'litellm' && s.kind === 'client') return { state: 'none' };
      if (s.style === 'vercel-ai' && s.kind === 'client') return { state: 'none' };
      const keys = STYLES[s.style].maxTokens?.keys ?? ['max_tokens'];
      return fromRead(readOption(ev, k, keys), 'tokens', keys[0]);
    }
  }
}

/** Default max_tokens of a style when unset (undefined: the API requires it). */
export function defaultMaxTokens(s: Site): number | undefined {
  if (s.style === 'langchain') return s.module.family === 'ts' ? 2048 : 1024;
  if (s.style === 'bedrock' && s.api === 'converse') return undefined;
  return STYLES[s.style].maxTokens?.default ?? undefined;
}

/** Model ids a site names (call option, body, client default). */
export function modelsOf(ctx: AuditContext, s: Site): string[] {
  const ev = ctx.ev;
  const reads: OptionRead[] = [];
  if (s.style === 'http' || (s.style === 'bedrock' && s.api === 'invoke'))
    reads.push(readOption(ev, s, ['model'], 'body'));
  reads.push(readOption(ev, s, ['model', 'model_name', 'modelName', 'model_id', 'modelId']));
  if (s.client && s.client !== s)
    reads.push(readOption(ev, s.client, ['model', 'model_name', 'modelName', 'model_id', 'modelId']));
  const out: string[] = [];
  for (const r of reads) {
    if (r.state !== 'set') continue;
    for (const o of options(r.value)) {
      if (o.kind === 'string' && !o.partial) out.push(o.value);
      // a provider function's model (`anthropic('claude-…')`, `bedrock('anthropic.claude-…')`)
      if (o.kind === 'external') {
        const a = externalArg(ev, o, 'model', 0);
        for (const x of a ? options(a) : []) if (x.kind === 'string' && !x.partial) out.push(x.value);
      }
    }
  }
  return out;
}

/** Numbers of a knob in seconds / retries; undefined when unknown. */
export function knobNumbers(k: Knob): number[] | undefined {
  if (k.state !== 'set') return undefined;
  const ns = numbers(k.value);
  if (!ns) return undefined;
  return ns.map((n) => (k.unit === 'ms' ? n / 1000 : n));
}

export function describeUnknown(v: Value): string {
  const u = options(v).find(isUnknown);
  if (!u) return `\`${v.at.text}\``;
  if (u.kind === 'unresolved') return u.reason;
  return `\`${u.at.text}\``;
}

/** A retry hit's bound in retries (attempts − 1), or undefined. */
export function retryBound(
  ctx: AuditContext,
  h: Hit,
  m: import('../code/module.ts').ModuleInfo,
): { retries?: number[]; unknown?: string } {
  if (!h.bound) return { unknown: h.detail === 'loop' ? `\`${h.text}\`` : `${h.detail} without a bound` };
  const v = ctx.ev.eval(h.bound, m);
  const ns = numbers(v);
  if (!ns) return { unknown: describeUnknown(v) };
  return { retries: ns.map((n) => (h.counts === 'retries' ? n : n - 1)) };
}

/** `x = value` assignments at module level anywhere in production code (e.g. `litellm.num_retries = 3`). */
function globalAssignment(ctx: AuditContext, target: RegExp, hint: string): Value | undefined {
  for (const f of ctx.project.codeFiles()) {
    if (isTestFile(f) || !ctx.project.text(f)?.includes(hint)) continue;
    const m = ctx.project.module(f);
    if (!m) continue;
    for (const a of m.root.findAll({
      rule: { kind: m.family === 'py' ? 'assignment' : 'assignment_expression' },
    } as never)) {
      const left = a.field('left')?.text() ?? '';
      const right = a.field('right');
      if (target.test(left) && right) return ctx.ev.eval(right, m);
    }
  }
  return undefined;
}

/** Catalog entries of the models a site uses, whatever the platform's spelling of the id. */
export function catalogModels(ctx: AuditContext, s: Site): ModelEntry[] {
  const out: ModelEntry[] = [];
  for (const id of modelsOf(ctx, s)) {
    const ref = normalizeModelId(id);
    const e = ref ? resolveModel(ref.id) : undefined;
    if (e) out.push(e);
  }
  return out;
}
