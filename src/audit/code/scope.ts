/**
 * The scope of a Claude call: where a control counts as wrapping, preceding
 * or following that call. It is the function making the call, the functions
 * that call it (transitively, four levels), the module the call is in (the
 * wrapper module every caller goes through), and the helpers all of those
 * call (two levels: `record_usage(response)`, `handle_error(e)`). For a
 * framework client (LangChain, LlamaIndex), the functions that use the client
 * object stand for the call. Tests are never in scope.
 */
import type { SgNode } from '@ast-grep/napi';
import type { Site } from '../clients/site.ts';
import type { CallGraph } from './callgraph.ts';
import { collectEvidence, type Hit, type HitKind } from './evidence.ts';
import type { FnInfo, ModuleInfo } from './module.ts';
import { isTestFile, type Project } from './project.ts';

export interface Scope {
  /** Functions that make the call (or use the client object). */
  siteFns: Set<FnInfo>;
  /** siteFns plus their callers (transitive) and callback receivers. */
  fns: Set<FnInfo>;
  /** Helpers the scope functions call (two levels). */
  helpers: Set<FnInfo>;
  /** Files of the call sites: every line of them is in scope. */
  files: Set<string>;
}

const CALLER_DEPTH = 4;
const HELPER_DEPTH = 2;

export class Scopes {
  private readonly project: Project;
  private readonly graph: CallGraph;
  private readonly evidence = new Map<string, Hit[]>();
  private readonly cache = new Map<Site, Scope>();

  constructor(project: Project, graph: CallGraph) {
    this.project = project;
    this.graph = graph;
  }

  /** Evidence hits of a module (computed once). */
  hitsOf(m: ModuleInfo): Hit[] {
    let h = this.evidence.get(m.file);
    if (!h) {
      h = collectEvidence(m);
      this.evidence.set(m.file, h);
    }
    return h;
  }

  forSite(site: Site): Scope {
    const cached = this.cache.get(site);
    if (cached) return cached;
    const siteFns = new Set<FnInfo>();
    const files = new Set<string>([site.file]);
    if (site.fn) siteFns.add(site.fn);
    if (site.kind === 'client') for (const f of this.useSites(site, files)) siteFns.add(f);
    const fns = new Set<FnInfo>(siteFns);
    let frontier = [...siteFns];
    for (let d = 0; d < CALLER_DEPTH && frontier.length > 0; d++) {
      const next: FnInfo[] = [];
      for (const f of frontier) {
        for (const c of this.graph.callers(f)) {
          if (fns.has(c) || isTestFile(c.module.file)) continue;
          fns.add(c);
          next.push(c);
        }
        // an enclosing function of a nested one (closures) sees the same values
        if (f.parent && !fns.has(f.parent) && f.callbackOf === undefined) {
          fns.add(f.parent);
          next.push(f.parent);
        }
      }
      frontier = next;
    }
    const helpers = new Set<FnInfo>();
    frontier = [...fns];
    for (let d = 0; d < HELPER_DEPTH && frontier.length > 0; d++) {
      const next: FnInfo[] = [];
      for (const f of frontier) {
        for (const c of this.graph.callees(f)) {
          if (fns.has(c) || helpers.has(c) || isTestFile(c.module.file)) continue;
          helpers.add(c);
          next.push(c);
        }
      }
      frontier = next;
    }
    const scope = { siteFns, fns, helpers, files };
    this.cache.set(site, scope);
    return scope;
  }

  /** Hits of `kinds` in a scope (production code only). */
  hits(scope: Scope, kinds: readonly HitKind[]): Hit[] {
    const out: Hit[] = [];
    const modules = new Set<ModuleInfo>();
    for (const f of [...scope.fns, ...scope.helpers]) modules.add(f.module);
    for (const file of scope.files) {
      const m = this.project.module(file);
      if (m) modules.add(m);
    }
    for (const m of modules) {
      if (isTestFile(m.file)) continue;
      const wholeFile = scope.files.has(m.file);
      const ranges = [...scope.fns, ...scope.helpers].filter((f) => f.module === m);
      for (const h of this.hitsOf(m)) {
        if (!kinds.includes(h.kind)) continue;
        if (wholeFile || ranges.some((f) => h.offset >= f.start && h.offset < f.end)) out.push(h);
      }
    }
    return out;
  }

  /**
   * Functions using a client object: where its binding (module variable,
   * attribute, local) is referenced, including modules that import it, and
   * the callers of a factory that returns it.
   */
  private useSites(site: Site, files: Set<string>): FnInfo[] {
    const m = site.module;
    const out = new Set<FnInfo>();
    const binding = bindingOf(site.node);
    if (!binding) {
      // `return new ChatAnthropic(…)` in a factory: its callers use the client.
      if (site.fn && isReturned(site.node)) for (const c of this.graph.callers(site.fn)) out.add(c);
      return [...out];
    }
    if (binding.kind === 'local') {
      if (site.fn) out.add(site.fn);
      return [...out];
    }
    const reOf = (name: string, attr: boolean) =>
      attr ? new RegExp(`\\b(this|self)\\.${name}\\b`) : new RegExp(`(^|[^.\\w])${name}\\b`);
    /** Module-level bindings of `mod` built from the client (`agent = FunctionAgent(llm=llm)`). */
    const derived = (mod: ModuleInfo, re: RegExp): string[] =>
      [...mod.bindings.entries()].filter(([, nodes]) => nodes.some((n) => re.test(n.text()))).map(([n]) => n);
    const scan = (mod: ModuleInfo, re: RegExp) => {
      for (const f of mod.functions) {
        if (f.parent) continue;
        if (re.test(f.node.text())) out.add(innermostUser(mod, f, re) ?? f);
      }
      // module-level code using it (e.g. agents built at import time)
      if (mod.text.split('\n').some((l) => re.test(l) && !/^\s*(import|from)\s/.test(l))) files.add(mod.file);
    };
    const queue: { mod: ModuleInfo; name: string; attr: boolean; depth: number }[] = [
      { mod: m, name: binding.name, attr: binding.kind === 'attr', depth: 0 },
    ];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const { mod, name, attr, depth } = queue.shift() as (typeof queue)[number];
      const key = `${mod.file}:${name}`;
      if (seen.has(key) || seen.size > 40) continue;
      seen.add(key);
      const re = reOf(name, attr);
      scan(mod, re);
      if (attr || depth >= 3) continue;
      for (const d of derived(mod, re))
        if (d !== name) queue.push({ mod, name: d, attr: false, depth: depth + 1 });
      for (const im of this.project.importerModules(mod.file)) {
        const imp = im.imports.get(name);
        if (imp && this.project.resolveImport(im.file, imp.spec) === mod.file)
          queue.push({ mod: im, name, attr: false, depth: depth + 1 });
      }
    }
    return [...out];
  }
}

function innermostUser(m: ModuleInfo, top: FnInfo, re: RegExp): FnInfo | undefined {
  let best: FnInfo | undefined;
  for (const f of m.functions) {
    if (f.start >= top.start && f.end <= top.end && re.test(f.node.text())) {
      if (!best || f.start >= best.start) best = f;
    }
  }
  return best;
}

function bindingOf(node: SgNode): { kind: 'module' | 'local' | 'attr'; name: string } | undefined {
  let cur = node.parent();
  // skip chained configuration: new ChatAnthropic(...).bindTools(...)
  while (
    cur &&
    /^(member_expression|call_expression|attribute|call|await_expression|parenthesized_expression|as_expression)$/.test(
      String(cur.kind()),
    )
  )
    cur = cur.parent();
  if (!cur) return undefined;
  const k = cur.kind();
  let target: SgNode | null = null;
  if (k === 'variable_declarator') target = cur.field('name');
  else if (k === 'assignment' || k === 'assignment_expression') target = cur.field('left');
  else if (k === 'public_field_definition' || k === 'field_definition') {
    const n = cur.field('name') ?? cur.field('property');
    return n ? { kind: 'attr', name: n.text() } : undefined;
  }
  if (!target) return undefined;
  const t = target.text();
  const attr = /^(this|self)\.([A-Za-z_$][\w$]*)$/.exec(t);
  if (attr) return { kind: 'attr', name: attr[2] };
  if (!/^[A-Za-z_$][\w$]*$/.test(t)) return undefined;
  // module level when no enclosing function
  let p = cur.parent();
  while (p) {
    if (/function|arrow_function|method_definition|lambda/.test(String(p.kind())))
      return { kind: 'local', name: t };
    p = p.parent();
  }
  return { kind: 'module', name: t };
}

function isReturned(node: SgNode): boolean {
  let cur = node.parent();
  while (
    cur &&
    /^(member_expression|call_expression|attribute|call|await_expression|parenthesized_expression|as_expression)$/.test(
      String(cur.kind()),
    )
  )
    cur = cur.parent();
  return cur?.kind() === 'return_statement' || cur?.kind() === 'arrow_function';
}
