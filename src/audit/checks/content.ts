/**
 * Which logging calls log content. A logging call (logger / logging /
 * console / print, the last two only in server processes) in the scope of a
 * Claude call logs content when an argument holds the prompt, the messages,
 * the user's input or the model's output: a variable that flows into or out
 * of the call (the request body, the response and values derived from it),
 * a content-named variable, or a `.content` / `.text` / `.messages` access.
 * Metadata (`.length`, `len()`, `usage`, ids, model, status, headers) is fine.
 */
import type { SgNode } from '@ast-grep/napi';
import type { Site } from '../clients/site.ts';
import { LOG_CALL } from '../code/evidence.ts';
import { findKinds, named, startOf, stringLiteral } from '../code/lang.ts';
import type { CallInfo, FnInfo, ModuleInfo } from '../code/module.ts';
import type { Scope } from '../code/scope.ts';
import type { AuditContext } from '../context.ts';

const CONTENT_NAMES =
  /^(messages?|prompts?|user_?prompt|system_?prompt|userPrompt|systemPrompt|content|contents|completion|completions|user_?input|userInput|input_?text|inputText|question|answer|reply|response_?text|responseText|result_?text|resultText|transcript|user_?message|userMessage|latest_?message|latestMessage|latestQuery|output_?text|outputText|raw_?response|rawResponse|llm_?output|model_?output)$/;
const CONTENT_PROPS =
  /^(content|text|messages|prompt|completion|output_text|delta|choices|user_message|userMessage)$/;
const META_PROPS =
  /^(length|usage|id|model|stop_reason|stopReason|status|status_code|statusCode|headers|type|role|name|request_id|_request_id|requestID|error|code|message_id|input_tokens|output_tokens|finish_reason|size|count|keys|providerMetadata|provider_metadata|response_metadata|responseMetadata|usage_metadata|usageMetadata|responseHeaders|\$metadata|ResponseMetadata|raw)$/;

/** Arguments of a Claude call that are settings, not content. */
const META_NAMES =
  /^(self|this|cls|model|models?_?id|modelId|model_?name|modelName|max_?tokens|maxTokens|temperature|top_?[pk]|api_?key|apiKey|url|endpoint|headers|client|session|timeout|stream|options|config|settings|betas|tool_choice|toolChoice|tools|schema|region|retries|attempt)$/i;

/** Request methods of framework clients and the chains / agents built from them. */
const FRAMEWORK_CALL =
  /^(invoke|ainvoke|stream|astream|batch|abatch|chat|achat|stream_chat|astream_chat|complete|acomplete|stream_complete|predict|apredict|run|arun|generate|agenerate|query|aquery|acall)$/;

/**
 * A command-line script (a Python module run as `__main__` that starts no server or bot, a Node
 * file with a shebang): its print / console.log output goes to the user, even when the
 * repository also has a server.
 */
const cliCache = new WeakMap<ModuleInfo, boolean>();

function cliScript(ctx: AuditContext, m: ModuleInfo): boolean {
  let hit = cliCache.get(m);
  if (hit === undefined) {
    hit = isCliScript(ctx, m);
    cliCache.set(m, hit);
  }
  return hit;
}

function isCliScript(ctx: AuditContext, m: ModuleInfo): boolean {
  if (m.family === 'py') {
    const server =
      /\b(FastAPI|Flask|Starlette|Quart|Sanic|Application|Blocks|Interface)\(|uvicorn\.run|\b(app|bot|client|server|demo|iface)\.(run|launch)\(|\.run_polling|add_routes\(|import (streamlit|gradio|discord|telegram|slack_bolt)|def (lambda_handler|handler)\(/.test(
        m.text,
      );
    if (server) return false;
    // run directly: a __main__ guard, a top-level asyncio.run(main()) / main(), or a module nothing imports
    return (
      /^if\s+__name__\s*==\s*["']__main__["']\s*:|^(asyncio\.run\(|main\(\))/m.test(m.text) ||
      ctx.project.importersOf(m.file).length === 0
    );
  }
  return /^#!.*\bnode\b/.test(m.text);
}

function isPrint(ct: string): boolean {
  return /^(print|pprint|console\.(log|info|warn|error|debug|trace))$/.test(ct);
}

/** Identifiers that carry content in one function: flowing into a Claude call or out of it. */
export function taintedIn(
  ctx: AuditContext,
  f: FnInfo,
  scope: Scope,
  site: Site,
  which: 'both' | 'output' = 'both',
): Set<string> {
  const t = new Set<string>();
  const addIds = (n: SgNode | undefined) => {
    if (!n) return;
    if (n.kind() === 'identifier') t.add(n.text());
    for (const id of n.findAll({ rule: { kind: 'identifier' } } as never)) {
      const p = id.parent();
      if (p && /member_expression|attribute/.test(String(p.kind())) && p.field('object') !== id) continue;
      t.add(id.text());
    }
  };
  const inF = (c: CallInfo) => c.module === f.module && c.start >= f.start && c.start < f.end;
  const calls = f.module.calls.filter(inF);
  const isClaude = (c: CallInfo) =>
    c === site.call ||
    ctx.claude.sites.some((s) => s.call === c) ||
    // a framework client's request method, in a function that uses the client
    (site.kind === 'client' && scope.siteFns.has(f) && FRAMEWORK_CALL.test(c.name));
  const inScope = (g: FnInfo) => scope.fns.has(g) || scope.siteFns.has(g);
  // a function of the scope handed to a wrapper (`pRetry(send)`, `breaker.fire(ask)`): the wrapper returns its result
  const passesScopeFn = (c: CallInfo) =>
    c.args.some(
      (a) => a.kind() === 'identifier' && f.module.functions.some((g) => g.name === a.text() && inScope(g)),
    );
  for (const c of calls) {
    const toScope = isClaude(c) || passesScopeFn(c) || ctx.graph.resolve(c).some(inScope);
    if (!toScope) continue;
    if (which === 'both') for (const a of [...c.args, ...c.kwargs.values()]) addIds(a);
    // the result variable
    let p = c.node.parent();
    while (
      p &&
      /await_expression|parenthesized_expression|as_expression|member_expression|attribute/.test(
        String(p.kind()),
      )
    )
      p = p.parent();
    if (p?.kind() === 'variable_declarator') addIds(p.field('name') ?? undefined);
    else if (p?.kind() === 'assignment' || p?.kind() === 'assignment_expression')
      addIds(p.field('left') ?? undefined);
    else if (p?.kind() === 'with_item' || p?.kind() === 'as_pattern') addIds(named(p).at(-1));
    else if (p?.kind() === 'for_in_statement' || p?.kind() === 'for_statement')
      addIds(p.field('left') ?? undefined);
  }
  // propagate through assignments (twice is enough for x = f(resp); y = x.text)
  const assigns = findKinds(f.node, f.module.family, [
    'variable_declarator',
    'assignment',
    'assignment_expression',
    'for_statement',
    'for_in_statement',
  ]);
  for (let round = 0; round < 2; round++) {
    for (const a of assigns) {
      const right = a.field('value') ?? a.field('right');
      const left = a.field('name') ?? a.field('left');
      if (!right || !left) continue;
      if (carries(right, t)) addIds(left);
    }
  }
  for (const name of [...t]) if (META_NAMES.test(name)) t.delete(name);
  return t;
}

/** Whether an expression carries content from `tainted` names (not only metadata of it). */
function carries(n: SgNode, tainted: Set<string>): boolean {
  const ids = n.kind() === 'identifier' ? [n] : n.findAll({ rule: { kind: 'identifier' } } as never);
  for (const id of ids) {
    if (!tainted.has(id.text())) continue;
    if (metadataUse(id)) continue;
    return true;
  }
  return false;
}

/** Functions whose result says something about a value without carrying it (sizes, key names, types). */
const META_FUNCTIONS =
  /^(len|typeof|Object\.keys|str\(len|count|isinstance|type|list\(\w+\.keys|\w+\.keys|Array\.isArray|Boolean|bool)$/;

function metadataUse(id: SgNode): boolean {
  // inside a call that only measures or names the value: Object.keys(req.body || {}), len(messages)
  for (let a = id.parent(), i = 0; a && i < 6; a = a.parent(), i++) {
    const k = String(a.kind());
    // req.body.messages.length: a size at the end of the chain
    if (
      (k === 'member_expression' || k === 'attribute') &&
      META_PROPS.test((a.field('property') ?? a.field('attribute'))?.text() ?? '')
    )
      return true;
    if (k === 'arguments' || k === 'argument_list') {
      const fn = a.parent()?.field('function')?.text().replace(/\s+/g, '') ?? '';
      if (META_FUNCTIONS.test(fn) || /\.(keys|length)$/.test(fn)) return true;
      break;
    }
    if (/statement|pair|keyword_argument|call/.test(k)) break;
  }
  const p = id.parent();
  // r["usage"] / r['ResponseMetadata']
  if (p && /^(subscript|subscript_expression)$/.test(String(p.kind()))) {
    const obj = p.field('value') ?? p.field('object');
    const key = p.field('subscript') ?? p.field('index');
    const k = key ? stringLiteral(key) : undefined;
    if (obj?.range().start.index === id.range().start.index && k !== undefined && META_PROPS.test(k))
      return true;
  }
  if (
    p &&
    /member_expression|attribute/.test(String(p.kind())) &&
    p.field('object')?.range().start.index === id.range().start.index
  ) {
    const prop = (p.field('property') ?? p.field('attribute'))?.text() ?? '';
    if (META_PROPS.test(prop)) return true;
  }
  const call = p?.kind() === 'argument_list' || p?.kind() === 'arguments' ? p.parent() : undefined;
  const fn = call?.field('function')?.text() ?? '';
  return /^(len|typeof|Object\.keys|str\(len|count|isinstance|type)$/.test(fn);
}

/** Logging calls in a site's scope that log content. */
export function contentLogs(ctx: AuditContext, site: Site): CallInfo[] {
  const scope = ctx.scopes.forSite(site);
  const fns = [...scope.fns, ...scope.helpers];
  const mods = new Set(fns.map((f) => f.module));
  for (const file of scope.files) {
    const m = ctx.project.module(file);
    if (m) mods.add(m);
  }
  const out: CallInfo[] = [];
  const taintCache = new Map<FnInfo, Set<string>>();
  for (const m of mods) {
    if (/(^|\/)(tests?|__tests__)\//.test(m.file)) continue;
    for (const c of m.calls) {
      const ct = c.calleeText.replace(/\s+/g, '');
      if (!LOG_CALL.test(ct)) continue;
      if (isPrint(ct) && (!ctx.server.process || cliScript(ctx, m))) continue;
      const owner = fns
        .filter((f) => f.module === m && c.start >= f.start && c.start < f.end)
        .sort((a, b) => b.start - a.start)[0];
      if (!owner && !scope.files.has(m.file)) continue;
      let tainted = new Set<string>();
      if (owner) {
        tainted = taintCache.get(owner) ?? taintedIn(ctx, owner, scope, site);
        taintCache.set(owner, tainted);
      }
      if (logsContent(c, tainted)) out.push(c);
    }
  }
  return out;
}

function logsContent(c: CallInfo, tainted: Set<string>): boolean {
  const args = [...c.args, ...c.kwargs.values(), ...c.splats];
  for (const a of args) {
    const ids =
      a.kind() === 'identifier' ? [a] : findKinds(a, c.module.family, ['identifier', 'property_identifier']);
    for (const id of ids) {
      const name = id.text();
      const parent = id.parent();
      const isProp =
        id.kind() === 'property_identifier' ||
        (parent?.kind() === 'attribute' && parent.field('attribute')?.range().start.index === startOf(id));
      if (isProp) {
        if (parent && metadataUse(parent)) continue;
        // obj.content / obj.text; req.body
        const obj = parent?.field('object')?.text() ?? '';
        const grand = parent?.parent();
        const chainedMeta =
          grand &&
          /member_expression|attribute/.test(String(grand.kind())) &&
          META_PROPS.test((grand.field('property') ?? grand.field('attribute'))?.text() ?? '');
        if (chainedMeta) continue;
        if (
          CONTENT_PROPS.test(name) &&
          !/^(e|err|error|exc|ex|exception|res|response)$/.test(obj.split('.').pop() ?? '')
        )
          return true;
        if (name === 'body' && /^(req|request|event|ctx\.request)$/.test(obj)) return true;
        continue;
      }
      if (metadataUse(id)) continue;
      if (tainted.has(name) || CONTENT_NAMES.test(name)) return true;
    }
  }
  return false;
}
