/**
 * Raw HTTP calls to the Messages API: fetch, axios, undici, got, requests,
 * httpx, aiohttp, or any repository helper they go through. A call counts
 * when one of its arguments resolves to the Anthropic API URL or carries
 * headers with both `x-api-key` and `anthropic-version`. When that call is a
 * helper of the repository (`postJson(ANTHROPIC_API, payload, headers)`), the
 * HTTP call inside it is the transport whose timeout the checks read, and the
 * helper call is the site (its payload is where model and max_tokens are).
 */
import type { SgNode } from '@ast-grep/napi';
import type { CallGraph } from '../code/callgraph.ts';
import { named, pairKey } from '../code/lang.ts';
import type { CallInfo, FnInfo, ModuleInfo } from '../code/module.ts';
import { isTestFile } from '../code/project.ts';
import { type Evaluator, options, type Value } from '../code/values.ts';
import type { Site } from './site.ts';

const HTTP_HINT =
  /api\.anthropic\.com|\/v1\/messages|v1\/complete|x-api-key|anthropic-version|ANTHROPIC_(API_)?(URL|ENDPOINT|BASE)/i;

/** Callees that send an HTTP request. */
const TRANSPORT: Record<'ts' | 'py', RegExp> = {
  ts: /^(fetch|nodeFetch|undici\.(fetch|request)|request|axios|axios\.(post|request|put)|[\w$.]*\.(post|request)|got|got\.post|ky\.post|\$fetch|ofetch)$/,
  py: /^(requests\.(post|request)|httpx\.(post|request|stream)|[\w.]*\.(post|request|stream)|urlopen|urllib\.request\.urlopen)$/,
};

type UrlKind = 'messages' | 'probe' | 'other' | undefined;

/** Constructors of HTTP clients / sessions that carry a base URL and default headers. */
const HTTP_CLIENT =
  /^(httpx\.(Async)?Client|aiohttp\.ClientSession|requests\.Session|axios\.create|ky\.create|got\.extend|(undici\.)?Pool|(undici\.)?Client)$/;

/** A `.post(…)` on a client whose base URL is the API (`httpx.Client(base_url="https://api.anthropic.com")`). */
function throughApiClient(ev: Evaluator, call: CallInfo, m: ModuleInfo): boolean {
  const recv = call.callee.field('object');
  if (!recv) return false;
  for (const o of options(ev.eval(recv, m))) {
    if (o.kind !== 'external' || !HTTP_CLIENT.test(o.callee.replace(/\s+/g, ''))) continue;
    for (const a of named(o.node.field('arguments'))) {
      const v = a.kind() === 'keyword_argument' ? a.field('value') : a;
      if (!v) continue;
      const val = ev.eval(v, o.module);
      if (
        urlKind(val) ||
        urlKind(ev.prop(val, 'baseURL')) ||
        urlKind(ev.prop(val, 'base_url')) ||
        hasAnthropicHeaders(ev, val)
      )
        return true;
    }
  }
  return false;
}

function urlKind(v: Value): UrlKind {
  let kind: UrlKind;
  for (const o of options(v)) {
    if (o.kind !== 'string') continue;
    const s = o.value;
    if (/count_tokens/.test(s) && /anthropic|\/v1\/messages/.test(s)) return 'probe';
    if (/\/v1\/(messages|complete)\b|api\.anthropic\.com\/v1\/?$|api\.anthropic\.com\/?$/.test(s))
      kind = 'messages';
    else if (/api\.anthropic\.com/.test(s)) kind = kind ?? 'other';
  }
  return kind;
}

function hasAnthropicHeaders(ev: Evaluator, v: Value): boolean {
  for (const o of options(v)) {
    if (o.kind !== 'object') continue;
    const keys = new Set<string>();
    for (const p of named(o.node)) {
      if (p.kind() === 'pair') keys.add((pairKey(p) ?? '').toLowerCase());
    }
    if (keys.has('x-api-key') && keys.has('anthropic-version')) return true;
    const h = ev.prop(o, 'headers');
    if (h.kind !== 'unresolved' && hasAnthropicHeaders(ev, h)) return true;
  }
  return false;
}

export function recogniseHttp(graph: CallGraph, ev: Evaluator, mods: ModuleInfo[]): Site[] {
  const found: { call: CallInfo; kind: 'call' | 'probe'; module: ModuleInfo }[] = [];
  for (const m of mods) {
    if (!HTTP_HINT.test(m.text)) continue;
    for (const call of m.calls) {
      if (call.name === 'require' || call.name === 'import') continue;
      // an HTTP client built for the API is not a request; its `.post(…)` calls are
      if (HTTP_CLIENT.test(call.calleeText.replace(/\s+/g, ''))) continue;
      if (call.receiver && /^(post|request|stream)$/.test(call.name) && throughApiClient(ev, call, m)) {
        found.push({ call, kind: 'call', module: m });
        continue;
      }
      const args = [...call.args, ...call.kwargs.values()];
      if (args.length === 0) continue;
      let url: UrlKind;
      let headers = false;
      for (const a of args) {
        const k = a.kind();
        if (k === 'arrow_function' || k === 'function_expression' || k === 'lambda') continue;
        const v = ev.eval(a, m);
        url = url ?? urlKind(v);
        if (
          !headers &&
          (k === 'object' ||
            k === 'dictionary' ||
            k === 'identifier' ||
            k === 'attribute' ||
            k === 'member_expression')
        )
          headers = hasAnthropicHeaders(ev, v);
      }
      if (url === 'other' && !headers) continue;
      if (!url && !headers) continue;
      found.push({ call, kind: url === 'probe' ? 'probe' : 'call', module: m });
    }
  }
  // A helper that itself sends the request is the transport of its callers' site.
  const sites: Site[] = [];
  const inner = new Set<CallInfo>();
  for (const f of found) {
    const targets = graph.resolve(f.call);
    for (const t of targets) {
      for (const g of found) if (g !== f && g.call.fn && within(g.call, t)) inner.add(g.call);
    }
  }
  for (const f of found) {
    if (inner.has(f.call) && !isTransport(f.call)) continue;
    const transport = isTransport(f.call) ? f.call : transportIn(graph, f.call);
    if (inner.has(f.call)) continue;
    const body = bodyArg(ev, f.call, f.module);
    sites.push({
      style: 'http',
      kind: f.kind,
      module: f.module,
      node: f.call.node,
      call: f.call,
      fn: f.call.fn,
      file: f.module.file,
      line: f.call.line,
      test: isTestFile(f.module.file),
      body: body?.node,
      bodyModule: body?.module,
      transport,
    });
  }
  return sites;
}

function within(call: CallInfo, fn: FnInfo): boolean {
  return call.module === fn.module && call.start >= fn.start && call.start < fn.end;
}

function isTransport(call: CallInfo): boolean {
  return TRANSPORT[call.module.family].test(call.calleeText.replace(/\s+/g, ''));
}

/** The first HTTP call inside the helper(s) a call resolves to (two levels). */
function transportIn(graph: CallGraph, call: CallInfo, depth = 0): CallInfo | undefined {
  if (depth > 2) return undefined;
  for (const fn of graph.resolve(call)) {
    const inside = fn.module.calls.filter((c) => within(c, fn));
    const t = inside.find(isTransport);
    if (t) return t;
    for (const c of inside) {
      const deeper = transportIn(graph, c, depth + 1);
      if (deeper) return deeper;
    }
  }
  return undefined;
}

/** The request payload: `body:` of fetch options, axios data, `json=` / `data=`, or an argument object with `model` / `messages`. */
function bodyArg(
  ev: Evaluator,
  call: CallInfo,
  m: ModuleInfo,
): { node: SgNode; module: ModuleInfo } | undefined {
  const unwrap = (n: SgNode): SgNode => {
    const k = n.kind();
    if (k === 'call' || k === 'call_expression') {
      const fn = (n.field('function') ?? named(n)[0])?.text() ?? '';
      if (/^(json\.dumps|JSON\.stringify|dumps)$/.test(fn)) return named(n.field('arguments'))[0] ?? n;
    }
    if (k === 'await_expression' || k === 'parenthesized_expression') return named(n)[0] ?? n;
    return n;
  };
  for (const key of ['json', 'data', 'content']) {
    const v = call.kwargs.get(key);
    if (v) return { node: unwrap(v), module: m };
  }
  // fetch(url, { body }) / axios(url, data) / axios({ data })
  for (const a of call.args) {
    const v = ev.eval(a, m);
    for (const o of options(v)) {
      if (o.kind !== 'object') continue;
      for (const p of named(o.node)) {
        if (p.kind() !== 'pair') continue;
        const key = pairKey(p);
        const val = p.field('value');
        if (!val) continue;
        if (key === 'body' || key === 'data' || key === 'json')
          return { node: unwrap(val), module: o.module };
        if (key === 'model' || key === 'messages' || key === 'max_tokens')
          return { node: o.node, module: o.module };
      }
    }
  }
  // axios.post(url, data, config): the second argument
  if (/\.(post|put)$/.test(call.calleeText) && call.args[1]) return { node: unwrap(call.args[1]), module: m };
  // helper(url, payload, headers): the argument that is not the URL nor the headers
  for (const a of call.args.slice(1)) return { node: unwrap(a), module: m };
  return undefined;
}
