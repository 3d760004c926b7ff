/**
 * Finds every place the repository talks to Claude, whatever the client
 * style (src/audit/clients/styles.ts): SDK clients and requests, the Claude
 * Agent SDK, the Vercel AI SDK, LangChain, LiteLLM, LlamaIndex, Bedrock
 * runtime and raw HTTP. Only files that mention Claude-ish names are parsed.
 */
import type { SgNode } from '@ast-grep/napi';
import type { CallGraph } from '../code/callgraph.ts';
import { named, startOf } from '../code/lang.ts';
import type { CallInfo, ModuleInfo } from '../code/module.ts';
import { isTestFile, type Project } from '../code/project.ts';
import { type Evaluator, isUnknown, options, type Value } from '../code/values.ts';
import { normalizeModelId } from '../model-ids.ts';
import { recogniseHttp } from './http.ts';
import type { Site } from './site.ts';
import { LANGCHAIN_CLIENTS, SDK_CLIENTS, STYLE_MODULES, type StyleId, VERCEL_GENERATE } from './styles.ts';

/** Files worth parsing for Claude usage (a cheap text test first). */
const INDICATOR =
  /@anthropic-ai\/|\banthropic\b|\bAnthropic|claude|litellm|llama_index|@llamaindex|bedrock|x-api-key|anthropic-version|@ai-sdk\//i;

export interface Recognition {
  sites: Site[];
  /** Production requests (generation and probes) and framework clients that act as request sites. */
  calls: Site[];
  clients: Site[];
  usesClaude: boolean;
  /** Styles seen in production code. */
  styles: Set<StyleId>;
}

/** Vercel AI SDK generation calls live in files that may only import the model from elsewhere. */
const AI_SDK_IMPORT = /from\s*["']ai["']|require\(\s*["']ai["']\s*\)/;

const SDK_REQUEST = /\.messages\.(?:with_raw_response\.|with_streaming_response\.)?(create|stream|parse)$/;

function candidateFiles(project: Project): string[] {
  return project.codeFiles().filter((f) => {
    const t = project.text(f);
    return t !== undefined && (INDICATOR.test(t) || AI_SDK_IMPORT.test(t));
  });
}

interface Ctx {
  project: Project;
  graph: CallGraph;
  ev: Evaluator;
  /** Project imports an official SDK somewhere. */
  sdkAnywhere: boolean;
  /** The project names Claude models (code or config): unresolved models of multi-provider clients count as Claude. */
  claudeNamed: boolean;
}

export function recognise(
  project: Project,
  graph: CallGraph,
  ev: Evaluator,
  claudeNamed: boolean,
): Recognition {
  const files = candidateFiles(project);
  const mods = files.map((f) => project.module(f)).filter((m): m is ModuleInfo => m !== undefined);
  const ctx: Ctx = {
    project,
    graph,
    ev,
    sdkAnywhere: mods.some((m) => [...m.imports.values()].some((i) => STYLE_MODULES.sdk.includes(i.spec))),
    claudeNamed,
  };
  const sites: Site[] = [];
  for (const m of mods) sites.push(...recogniseModule(ctx, m));
  sites.push(...recogniseHttp(graph, ev, mods));
  linkClients(ctx, sites);
  // A Bedrock runtime client is a Claude client only when a Claude request goes through it
  // (or the project names Claude models and the requests cannot be seen).
  const kept = sites.filter(
    (s) =>
      !(s.kind === 'client' && s.style === 'bedrock') ||
      sites.some((c) => c.client === s) ||
      (claudeNamed && !sites.some((c) => c.style === 'bedrock' && c.kind !== 'client')),
  );
  sites.length = 0;
  sites.push(...kept);
  const prod = sites.filter((s) => !s.test);
  const calls = prod.filter((s) => s.kind !== 'client' || isFrameworkClient(s));
  return {
    sites,
    calls,
    clients: prod.filter((s) => s.kind === 'client'),
    usesClaude: prod.length > 0,
    styles: new Set(prod.map((s) => s.style)),
  };
}

/** Framework clients (LangChain, LlamaIndex, LiteLLM Router) carry the request knobs themselves. */
function isFrameworkClient(s: Site): boolean {
  return (
    s.kind === 'client' && (s.style === 'langchain' || s.style === 'llamaindex' || s.style === 'litellm')
  );
}

/** The style of a module specifier, when it is one of the client libraries. */
function styleOfSpec(spec: string): StyleId | undefined {
  for (const [style, specs] of Object.entries(STYLE_MODULES) as [StyleId, readonly string[]][]) {
    if (specs.includes(spec)) return style;
  }
  return undefined;
}

function site(
  m: ModuleInfo,
  style: StyleId,
  kind: Site['kind'],
  call: CallInfo,
  extra: Partial<Site> = {},
): Site {
  return {
    style,
    kind,
    module: m,
    node: call.node,
    call,
    fn: call.fn,
    file: m.file,
    line: call.line,
    test: isTestFile(m.file),
    ...extra,
  };
}

/** Where a callee identifier was imported from (`X` or `ns.X`). */
function importOf(m: ModuleInfo, callee: SgNode): { spec: string; name: string } | undefined {
  const text = callee.text();
  const parts = text.split('.');
  if (parts.length === 1) {
    const imp = m.imports.get(text);
    return imp ? { spec: imp.spec, name: imp.name === 'default' ? text : imp.name } : undefined;
  }
  const head = m.imports.get(parts[0]);
  if (head && (head.name === '*' || head.name === 'default'))
    return { spec: head.spec, name: parts[parts.length - 1] };
  if (head) return { spec: head.spec, name: parts[parts.length - 1] };
  return undefined;
}

function firstObjectArg(call: CallInfo): SgNode | undefined {
  return call.args[0];
}

function recogniseModule(ctx: Ctx, m: ModuleInfo): Site[] {
  const out: Site[] = [];
  const importsSdk = [...m.imports.values()].some((i) => styleOfSpec(i.spec) === 'sdk');
  for (const call of m.calls) {
    const imp = importOf(m, call.callee);
    const style = imp ? styleOfSpec(imp.spec) : undefined;
    const name = call.name;
    // ---- client constructions
    if (style === 'sdk' && SDK_CLIENTS.test(name) && (name !== 'Client' || call.calleeText.includes('.'))) {
      out.push(
        site(m, 'sdk', 'client', call, { optionsArg: m.family === 'ts' ? firstObjectArg(call) : undefined }),
      );
      continue;
    }
    if (style === 'llamaindex' && /^(Anthropic|BedrockConverse)$/.test(name)) {
      if (name === 'BedrockConverse' && !claudeModelArg(ctx, m, call, ['model'])) continue;
      out.push(
        site(m, 'llamaindex', 'client', call, {
          optionsArg: m.family === 'ts' ? firstObjectArg(call) : undefined,
        }),
      );
      continue;
    }
    if (
      (style === 'langchain' || (imp && /^(langchain|@langchain)/.test(imp.spec))) &&
      LANGCHAIN_CLIENTS.test(name)
    ) {
      if (/Bedrock/.test(name) && !claudeModelArg(ctx, m, call, ['model_id', 'model', 'modelId'])) continue;
      out.push(
        site(m, 'langchain', 'client', call, {
          optionsArg: m.family === 'ts' ? firstObjectArg(call) : undefined,
        }),
      );
      continue;
    }
    if (/^(init_chat_model|initChatModel)$/.test(name) && imp && /langchain/.test(imp.spec)) {
      if (!langchainClaudeInit(ctx, m, call)) continue;
      out.push(
        site(m, 'langchain', 'client', call, {
          optionsArg: m.family === 'ts' ? (call.args[1] ?? undefined) : undefined,
        }),
      );
      continue;
    }
    if (style === 'litellm' && name === 'Router') {
      if (!ctx.claudeNamed) continue;
      out.push(site(m, 'litellm', 'client', call));
      continue;
    }
    if (style === 'vercel-ai' && /^create(Anthropic|AmazonBedrock|VertexAnthropic)$/.test(name)) {
      out.push(site(m, 'vercel-ai', 'client', call, { optionsArg: firstObjectArg(call) }));
      continue;
    }
    if (style === 'agent-sdk' && (name === 'ClaudeSDKClient' || name === 'query')) {
      out.push(
        site(m, 'agent-sdk', name === 'query' ? 'call' : 'client', call, {
          optionsArg: m.family === 'ts' ? firstObjectArg(call) : undefined,
        }),
      );
      continue;
    }
    // ---- Bedrock runtime
    if (m.family === 'py' && /(^|\.)client$/.test(call.calleeText) && isBedrockRuntimeArg(ctx, m, call)) {
      out.push(site(m, 'bedrock', 'client', call));
      continue;
    }
    if (m.family === 'ts' && call.isNew && name === 'BedrockRuntimeClient') {
      out.push(site(m, 'bedrock', 'client', call, { optionsArg: firstObjectArg(call) }));
      continue;
    }
    if (
      m.family === 'ts' &&
      call.isNew &&
      /^(InvokeModel|InvokeModelWithResponseStream|Converse|ConverseStream)Command$/.test(name)
    ) {
      const arg = firstObjectArg(call);
      if (!arg || !claudeModelIn(ctx, ctx.ev.prop(ctx.ev.eval(arg, m), 'modelId'))) continue;
      out.push(
        site(m, 'bedrock', 'call', call, {
          optionsArg: arg,
          api: name.startsWith('Converse') ? 'converse' : 'invoke',
          body: name.startsWith('Converse') ? arg : bodyOf(arg),
          bodyModule: m,
        }),
      );
      continue;
    }
    if (
      m.family === 'py' &&
      /^(invoke_model|invoke_model_with_response_stream|converse|converse_stream)$/.test(name) &&
      call.receiver
    ) {
      const modelId = call.kwargs.get('modelId');
      const mv = modelId ? ctx.ev.eval(modelId, m) : undefined;
      let modelOk = mv ? claudeModelIn(ctx, mv) : false;
      if (!mv && call.splats.length > 0) {
        const inner = named(call.splats[0])[0];
        if (inner) modelOk = claudeModelIn(ctx, ctx.ev.prop(ctx.ev.eval(inner, m), 'modelId'));
      }
      if (!modelOk) continue;
      const converse = name.startsWith('converse');
      let body: SgNode | undefined = converse ? undefined : call.kwargs.get('body');
      if (!converse && !body && call.splats.length > 0) body = named(call.splats[0])[0];
      out.push(
        site(m, 'bedrock', 'call', call, {
          api: converse ? 'converse' : 'invoke',
          body: body && !converse ? unwrapJson(body) : undefined,
          bodyModule: m,
        }),
      );
      continue;
    }
    // ---- SDK requests
    const ct = call.calleeText.replace(/\s+/g, '');
    const sdkReq =
      /\.messages\.(?:with_raw_response\.|with_streaming_response\.)?(create|stream|parse)$/.exec(ct) ??
      /\.messages\.batches\.create$/.exec(ct);
    const probe =
      /\.messages\.(countTokens|count_tokens)$/.test(ct) || (/\.count_tokens$/.test(ct) && m.family === 'py');
    const legacy = /\.completions\.create$/.test(ct) && !/chat\.completions/.test(ct);
    // The request method passed by reference: `breaker.call(client.messages.create, model=…)`,
    // `asyncio.to_thread(client.messages.create, **kw)`, `partial(client.messages.create, …)`.
    const refIndex = call.args.findIndex(
      (a) =>
        /^(member_expression|attribute)$/.test(String(a.kind())) &&
        SDK_REQUEST.test(a.text().replace(/\s+/g, '')),
    );
    if (!sdkReq && !probe && !legacy && refIndex >= 0 && (importsSdk || ctx.sdkAnywhere)) {
      const ref = call.args[refIndex];
      if (!/threads\.messages|openai|groq|mistral|cohere|together|deepseek/i.test(ref.text())) {
        out.push(
          site(m, 'sdk', 'call', call, {
            methodRef: ref,
            optionsArg: m.family === 'ts' ? call.args[refIndex + 1] : undefined,
          }),
        );
        continue;
      }
    }
    if (
      (sdkReq || probe || legacy) &&
      !/threads\.messages|openai|groq|mistral|cohere|together|deepseek/i.test(ct)
    ) {
      const linked = importsSdk || ctx.sdkAnywhere;
      if (!linked) continue;
      if (legacy && !(importsSdk && /anthropic|claude|client/i.test(ct))) continue;
      out.push(
        site(m, 'sdk', probe ? 'probe' : 'call', call, {
          optionsArg: m.family === 'ts' ? call.args[0] : undefined,
          requestOptions: m.family === 'ts' ? call.args[1] : undefined,
        }),
      );
      continue;
    }
    // ---- Vercel AI SDK generation
    if (VERCEL_GENERATE.test(name) && imp && (imp.spec === 'ai' || imp.spec.startsWith('ai/'))) {
      const arg = firstObjectArg(call);
      if (!arg) continue;
      if (!vercelClaudeModel(ctx, m, arg)) continue;
      out.push(site(m, 'vercel-ai', 'call', call, { optionsArg: arg }));
      continue;
    }
    // ---- LiteLLM requests
    if (
      (style === 'litellm' || (call.receiver === 'litellm' && m.imports.get('litellm'))) &&
      /^(completion|acompletion|text_completion|atext_completion|responses|aresponses)$/.test(name)
    ) {
      const model = call.kwargs.get('model') ?? call.args[0];
      let ok: boolean;
      if (model) ok = claudeModelIn(ctx, ctx.ev.eval(model, m));
      else if (call.splats.length > 0) {
        const inner = named(call.splats[0])[0];
        ok = inner ? claudeModelIn(ctx, ctx.ev.prop(ctx.ev.eval(inner, m), 'model')) : ctx.claudeNamed;
      } else ok = false;
      if (!ok) continue;
      out.push(site(m, 'litellm', 'call', call));
    }
  }
  return out;
}

/** Whether a value names a Claude model, or cannot be known in a project that names Claude models. */
function claudeModelIn(ctx: { claudeNamed: boolean }, v: Value): boolean {
  let unknown = false;
  for (const o of options(v)) {
    if (o.kind === 'string') {
      if (o.partial && o.value.length === 0) {
        unknown = true;
        continue;
      }
      if (/claude|anthropic/i.test(o.value) || normalizeModelId(o.value)) return true;
    } else if (isUnknown(o) || o.kind === 'null') unknown = true;
  }
  return unknown && ctx.claudeNamed;
}

function claudeModelArg(ctx: Ctx, m: ModuleInfo, call: CallInfo, keys: string[]): boolean {
  for (const k of keys) {
    const v = call.kwargs.get(k);
    if (v) return claudeModelIn(ctx, ctx.ev.eval(v, m));
  }
  const arg = call.args[0];
  if (arg && m.family === 'ts') {
    const obj = ctx.ev.eval(arg, m);
    for (const k of keys) {
      const v = ctx.ev.prop(obj, k);
      if (!(v.kind === 'unresolved' && v.reason.startsWith('no property'))) return claudeModelIn(ctx, v);
    }
  }
  if (arg && m.family === 'py') return claudeModelIn(ctx, ctx.ev.eval(arg, m));
  return ctx.claudeNamed;
}

function langchainClaudeInit(ctx: Ctx, m: ModuleInfo, call: CallInfo): boolean {
  const provider = call.kwargs.get('model_provider');
  if (provider) {
    const v = ctx.ev.eval(provider, m);
    if (v.kind === 'string') return /anthropic|bedrock/.test(v.value);
  }
  if (m.family === 'ts' && call.args[1]) {
    const p = ctx.ev.prop(ctx.ev.eval(call.args[1], m), 'modelProvider');
    if (p.kind === 'string') return /anthropic|bedrock/.test(p.value);
  }
  const model = call.kwargs.get('model') ?? call.args[0];
  if (!model) return false;
  const v = ctx.ev.eval(model, m);
  if (options(v).some((o) => o.kind === 'string' && /claude|^anthropic:/i.test(o.value))) return true;
  // a configurable model (provider chosen at run time) in a project that names Claude models
  return (
    ctx.claudeNamed &&
    options(v).some((o) => isUnknown(o) || (o.kind === 'string' && o.partial !== undefined))
  );
}

function isBedrockRuntimeArg(ctx: Ctx, m: ModuleInfo, call: CallInfo): boolean {
  const a = call.args[0] ?? call.kwargs.get('service_name');
  if (!a) return false;
  const v = ctx.ev.eval(a, m);
  return v.kind === 'string' && v.value === 'bedrock-runtime';
}

function vercelClaudeModel(ctx: Ctx, m: ModuleInfo, arg: SgNode): boolean {
  const model = ctx.ev.prop(ctx.ev.eval(arg, m), 'model');
  const providerNames = new Set<string>();
  for (const [local, imp] of m.imports) if (styleOfSpec(imp.spec) === 'vercel-ai') providerNames.add(local);
  let unknown = false;
  for (const o of options(model)) {
    if (o.kind === 'external') {
      const mod = o.module;
      for (const [local, imp] of mod.imports) {
        if (styleOfSpec(imp.spec) === 'vercel-ai' && new RegExp(`\\b${local}\\b`).test(o.callee)) return true;
      }
      if (/anthropic|claude/i.test(o.callee)) return true;
      unknown = true;
    } else if (o.kind === 'string' && /claude|anthropic/.test(o.value)) return true;
    else if (o.kind === 'unresolved') unknown = true;
  }
  if (unknown) {
    // A model built by a helper that can build an Anthropic model (multi-provider apps).
    return (
      providerNames.size > 0 ||
      ctx.project.files.some(
        (f) => /(^|\/)package\.json$/.test(f) && /@ai-sdk\/anthropic/.test(ctx.project.text(f) ?? ''),
      )
    );
  }
  return false;
}

/** `json.dumps(x)` / `JSON.stringify(x)` → x. */
function unwrapJson(n: SgNode): SgNode {
  const k = n.kind();
  if (k === 'call' || k === 'call_expression') {
    const fn = (n.field('function') ?? named(n)[0])?.text() ?? '';
    if (/^(json\.dumps|JSON\.stringify|dumps)$/.test(fn)) {
      const a = named(n.field('arguments'))[0];
      if (a) return a;
    }
  }
  return n;
}

function bodyOf(arg: SgNode): SgNode | undefined {
  if (arg.kind() !== 'object') return undefined;
  for (const p of named(arg)) {
    if (p.kind() === 'pair' && p.field('key')?.text() === 'body') {
      const v = p.field('value');
      return v ? unwrapJson(v) : undefined;
    }
  }
  return undefined;
}

// ------------------------------------------------------------- linking

/** Links requests to the client construction they go through. */
function linkClients(ctx: Ctx, sites: Site[]): void {
  const clients = sites.filter((s) => s.kind === 'client');
  const byNode = new Map(clients.map((c) => [`${c.file}:${startOf(c.node)}`, c]));
  for (const s of sites) {
    if (s.kind === 'client' || (s.style !== 'sdk' && s.style !== 'bedrock')) continue;
    const call = s.call;
    if (!call) continue;
    const callee = s.methodRef ?? call.callee;
    const refText = s.methodRef?.text().replace(/\s+/g, '');
    let recv = refText ? refText.slice(0, refText.lastIndexOf('.')) : (call.receiver ?? '');
    if (s.style === 'bedrock' && s.module.family === 'ts') {
      // new XCommand(...) is sent by `client.send(command)`: the client is the one in this module.
    } else {
      recv = recv.replace(
        /\.(beta|messages|completions|with_raw_response|with_streaming_response|batches|tools)(\..*)?$/,
        '',
      );
      recv = recv.replace(/\.(beta|messages|completions)(\..*)?$/, '');
    }
    let linked: Site | undefined;
    if (recv && s.module.family === call.module.family) {
      const expr = findReceiverNode(callee, recv);
      if (expr) {
        const v = ctx.ev.eval(expr, s.module);
        for (const o of options(v)) {
          if (o.kind === 'external') {
            const c = byNode.get(`${o.module.file}:${startOf(o.node)}`);
            if (c) {
              linked = c;
              break;
            }
          }
        }
      }
    }
    if (!linked) {
      const same = clients.filter((c) => c.module === s.module && c.style === s.style);
      if (same.length === 1) linked = same[0];
    }
    if (!linked) {
      const prod = clients.filter((c) => c.style === s.style && !c.test);
      if (prod.length === 1) linked = prod[0];
    }
    s.client = linked;
  }
}

function findReceiverNode(callee: SgNode, recv: string): SgNode | undefined {
  let cur: SgNode | null = callee;
  while (cur) {
    if (cur.text().replace(/\s+/g, '') === recv) return cur;
    cur = cur.field('object') ?? null;
  }
  return undefined;
}
