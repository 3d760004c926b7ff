/**
 * Who calls whom, within the repository. A call resolves to functions by
 * name: through the module's own definitions and imports first, then (for
 * method calls `x.f()` and names a file cannot see) to methods of the same
 * name in modules that import the target's module, or whose receiver names
 * the class (`llm_client.get_response` → `LLMClient.get_response`), or when
 * the name is distinctive enough to be unambiguous. A function written as a
 * callback argument `g(…, () => …)` counts `g` among its callers. Modules are
 * parsed only when a caller search reaches them (a text search for the name
 * first).
 */
import type { SgNode } from '@ast-grep/napi';
import type { CallInfo, FnInfo, ModuleInfo } from './module.ts';
import type { Project } from './project.ts';

/** Names too common to resolve a method call without more evidence. */
const COMMON = new Set([
  'run',
  'get',
  'set',
  'post',
  'put',
  'call',
  'send',
  'create',
  'invoke',
  'ainvoke',
  'stream',
  'astream',
  'chat',
  'complete',
  'execute',
  'process',
  'handle',
  'main',
  'start',
  'init',
  'update',
  'query',
  'generate',
  'request',
  'fetch',
  'load',
  'save',
  'parse',
  'render',
  'apply',
  'open',
  'close',
  'read',
  'write',
  'ask',
  'predict',
  'then',
  'catch',
  'map',
  'filter',
  'push',
  'append',
  'join',
  'format',
  'log',
  'info',
  'error',
  'warn',
  'debug',
  'toString',
  'constructor',
  '__init__',
  '__call__',
]);

function distinctive(name: string): boolean {
  if (COMMON.has(name) || name.length < 8) return false;
  return /[a-z][A-Z]|_[a-z]/.test(name) || name.length >= 14;
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

export class CallGraph {
  private readonly project: Project;
  private readonly callsToCache = new Map<FnInfo, CallInfo[]>();
  private readonly resolveCache = new Map<CallInfo, FnInfo[]>();
  private readonly importsCache = new Map<string, Set<string>>();

  constructor(project: Project) {
    this.project = project;
  }

  /** Files `file` imports, transitively up to `depth` hops. */
  importsOf(file: string, depth = 2): Set<string> {
    const key = `${file}|${depth}`;
    const hit = this.importsCache.get(key);
    if (hit) return hit;
    const out = new Set<string>();
    let frontier = [file];
    for (let d = 0; d < depth; d++) {
      const next: string[] = [];
      for (const f of frontier) {
        const m = this.project.module(f);
        if (!m) continue;
        for (const spec of m.importSpecs) {
          const t = this.project.resolveImport(f, spec);
          if (t && !out.has(t) && t !== file) {
            out.add(t);
            next.push(t);
          }
        }
      }
      frontier = next;
    }
    this.importsCache.set(key, out);
    return out;
  }

  /** Functions a call may invoke. */
  resolve(call: CallInfo): FnInfo[] {
    const cached = this.resolveCache.get(call);
    if (cached) return cached;
    const out = this.resolveUncached(call);
    this.resolveCache.set(call, out);
    return out;
  }

  private resolveUncached(call: CallInfo): FnInfo[] {
    const m = call.module;
    const name = call.name;
    if (!name) return [];
    const callee = call.callee;
    const ck = callee.kind();
    if (ck === 'identifier') {
      // nested or module-level definition in this module
      const local = m.functions.filter(
        (f) => f.name === name && !f.className && (!f.parent || (call.fn && isAncestor(f.parent, call.fn))),
      );
      if (local.length > 0) return local;
      const cls = m.classes.get(name);
      if (cls) return this.constructorOf(m, name);
      const imp = m.imports.get(name);
      if (imp) {
        const target = this.project.resolveImport(m.file, imp.spec);
        const tm = target ? this.project.module(target) : undefined;
        if (tm) {
          const exported = tm.family === 'ts' ? (tm.exports.get(imp.name) ?? imp.name) : imp.name;
          const fns = tm.functions.filter((f) => f.name === exported && !f.className && !f.parent);
          if (fns.length > 0) return fns;
          if (tm.classes.has(exported)) return this.constructorOf(tm, exported);
          // re-export: follow one level
          const re = tm.imports.get(exported);
          if (re) {
            const t2 = this.project.resolveImport(tm.file, re.spec);
            const m2 = t2 ? this.project.module(t2) : undefined;
            const f2 = m2?.functions.filter((f) => f.name === re.name && !f.className && !f.parent) ?? [];
            if (f2.length > 0) return f2;
          }
        }
        return [];
      }
      // a local alias: `completion_fn = llmCompletion` … `completion_fn(…)`
      for (const target of 'aliasOf' in call ? [] : aliasTargets(call)) {
        const viaAlias = this.resolve({
          ...call,
          name: target,
          calleeText: target,
          callee: call.callee,
          receiver: undefined,
          aliasOf: call,
        } as CallInfo & { aliasOf: CallInfo });
        if (viaAlias.length > 0) return viaAlias;
      }
      return distinctive(name) ? this.byName(name, call, false) : [];
    }
    // member call
    const receiver = call.receiver ?? '';
    if (receiver === 'this' || receiver === 'self' || receiver === 'cls' || receiver === 'super()') {
      const cls = call.fn?.className;
      const own = m.functions.filter((f) => f.name === name && f.className === cls);
      if (own.length > 0) return own;
      return this.byName(name, call, true);
    }
    const head = receiver.split('.')[0];
    const imp = m.imports.get(head);
    if (imp && receiver === head && (imp.name === '*' || imp.name === 'default')) {
      const target = this.project.resolveImport(m.file, imp.spec);
      const tm = target ? this.project.module(target) : undefined;
      if (tm) {
        const fns = tm.functions.filter((f) => f.name === name && !f.parent);
        if (fns.length > 0) return fns;
      }
      if (!target) return [];
    }
    if (m.classes.has(receiver)) {
      const fns = m.functions.filter((f) => f.name === name && f.className === receiver);
      if (fns.length > 0) return fns;
    }
    return this.byName(name, call, true);
  }

  private constructorOf(m: ModuleInfo, cls: string): FnInfo[] {
    return m.functions.filter(
      (f) => f.className === cls && (f.name === 'constructor' || f.name === '__init__'),
    );
  }

  /** Methods / functions named `name` anywhere, accepted when the evidence links them to `call`. */
  private byName(name: string, call: CallInfo, member: boolean): FnInfo[] {
    const out: FnInfo[] = [];
    const imported = this.importsOf(call.module.file, 3);
    const recv = norm((call.receiver ?? '').split('.').pop() ?? '');
    const wide = distinctive(name);
    const files = wide
      ? this.filesDefining(name)
      : this.filesDefining(name).filter(
          (f) =>
            f === call.module.file ||
            imported.has(f) ||
            (recv.length >= 3 && classNamed(this.project.text(f), recv)),
        );
    for (const file of files) {
      const m = this.project.module(file);
      if (!m) continue;
      for (const f of m.functions) {
        if (f.name !== name) continue;
        if (!member && f.className) continue;
        const sameOrImported = m === call.module || imported.has(m.file);
        const cls = f.className ? norm(f.className) : '';
        const receiverNamesClass =
          cls !== '' && recv.length >= 3 && (cls.includes(recv) || recv.includes(cls));
        if (sameOrImported || receiverNamesClass || wide) out.push(f);
      }
    }
    return out;
  }

  private readonly mentionCache = new Map<string, string[]>();

  /** Code files whose text contains `name` (cheap text search before any parse). */
  filesMentioning(name: string): string[] {
    const hit = this.mentionCache.get(name);
    if (hit) return hit;
    if (!this.words) {
      // one pass over the code: word → files (names are looked up many times)
      const words = new Map<string, string[]>();
      for (const f of this.project.codeFiles()) {
        const seen = new Set((this.project.text(f) ?? '').match(/[A-Za-z_$][\w$]*/g) ?? []);
        for (const w of seen) {
          const list = words.get(w);
          if (list) list.push(f);
          else words.set(w, [f]);
        }
      }
      this.words = words;
    }
    const out = this.words.get(name) ?? [];
    this.mentionCache.set(name, out);
    return out;
  }

  private words: Map<string, string[]> | undefined;

  private readonly definingCache = new Map<string, string[]>();

  /**
   * Code files that may define a function or method `name` (a text test that
   * over-approximates: the parse confirms), so resolving a name parses only those.
   */
  filesDefining(name: string): string[] {
    const hit = this.definingCache.get(name);
    if (hit) return hit;
    const n = name.replace(/\$/g, '\\$');
    const py = new RegExp(`\\bdef\\s+${n}\\s*\\(|\\b${n}\\s*=[^=]`);
    const ts = new RegExp(
      `\\bfunction\\s*\\*?\\s*${n}\\b|\\b${n}\\s*[:=][^=]|(^\\s*|[{,]\\s*)(?:(?:public|private|protected|static|async|override|get|set)\\s+)*\\*?${n}\\s*(?:<[^>]*>)?\\s*\\([^;\\n]*$`,
      'm',
    );
    const out = this.filesMentioning(name).filter((f) =>
      (f.endsWith('.py') ? py : ts).test(this.project.text(f) ?? ''),
    );
    this.definingCache.set(name, out);
    return out;
  }

  /** Every call in the repository that may invoke `fn` (and, for callbacks, the call they are passed to). */
  callsTo(fn: FnInfo): CallInfo[] {
    const cached = this.callsToCache.get(fn);
    if (cached) return cached;
    const out: CallInfo[] = [];
    const name = fn.name;
    if (name && name !== 'constructor' && name !== '__init__') {
      for (const file of this.filesMentioning(name)) {
        const m = this.project.module(file);
        if (!m) continue;
        const aliases = new Set<string>();
        for (const a of m.text.matchAll(
          new RegExp(`\\b([A-Za-z_$][\\w$]*)\\s*=\\s*[^=\\n;]*\\b${name.replace(/\$/g, '\\$')}\\b`, 'g'),
        ))
          aliases.add(a[1]);
        for (const c of m.calls) {
          if (c.name !== name && !(c.callee.kind() === 'identifier' && aliases.has(c.name))) continue;
          if (this.resolve(c).includes(fn)) out.push(c);
        }
      }
    } else if (fn.className && (name === 'constructor' || name === '__init__')) {
      for (const file of this.filesMentioning(fn.className)) {
        const m = this.project.module(file);
        if (!m) continue;
        for (const c of m.calls) if (c.name === fn.className && this.resolve(c).includes(fn)) out.push(c);
      }
    }
    this.callsToCache.set(fn, out);
    return out;
  }

  /** Functions that call `fn` directly (module-level calls are left out), and the receiver of a callback. */
  callers(fn: FnInfo): FnInfo[] {
    const out = new Set<FnInfo>();
    for (const c of this.callsTo(fn)) if (c.fn) out.add(c.fn);
    if (fn.callbackOf) {
      for (const g of this.resolve(fn.callbackOf)) out.add(g);
      if (fn.callbackOf.fn) out.add(fn.callbackOf.fn);
    }
    for (const f of this.wrappersOf(fn)) out.add(f);
    return [...out];
  }

  /**
   * A function passed by name to a call (`new CircuitBreaker(ask, …)`, `retry(ask)`, `pool.submit(ask, …)`) is
   * run by that call, and, when the call's result is stored (`const breaker = …`), by calls through that binding
   * in the same module (`breaker.fire(…)`).
   */
  private wrappersOf(fn: FnInfo): FnInfo[] {
    const name = fn.name;
    if (!name || fn.callbackOf || name === 'constructor' || name === '__init__') return [];
    const out: FnInfo[] = [];
    for (const file of this.filesMentioning(name)) {
      const m = this.project.module(file);
      if (!m || (m !== fn.module && !m.imports.has(name))) continue;
      for (const c of m.calls) {
        if (!c.args.some((a) => a.kind() === 'identifier' && a.text() === name)) continue;
        if (c.fn && c.fn !== fn) out.push(c.fn);
        const holder = bindingOf(c.node);
        if (!holder) continue;
        for (const d of m.calls) {
          if (d.fn && d.fn !== fn && (d.receiver === holder || d.calleeText === holder)) out.push(d.fn);
        }
      }
    }
    return out;
  }

  /** The argument a call passes for parameter `index` / `name` of `fn` (Python keywords too). */
  argumentFor(call: CallInfo, fn: FnInfo, index: number, name: string): SgNode | undefined {
    const kw = call.kwargs.get(name);
    if (kw) return kw;
    // Method called through an instance: positions line up (self is not a parameter here).
    const positional = call.args[index];
    if (positional) return positional;
    // A single object argument feeding destructured parameters (TS `f({ a, b })`).
    const p = fn.params[index];
    if (p?.keys && call.args.length === 1 && index === 0) return call.args[0];
    return undefined;
  }

  /** Functions called from inside `fn` (resolved), excluding nested function bodies' own calls. */
  callees(fn: FnInfo): FnInfo[] {
    const out = new Set<FnInfo>();
    for (const c of fn.module.calls) {
      if (c.start < fn.start || c.start >= fn.end) continue;
      for (const t of this.resolve(c)) if (t !== fn) out.add(t);
    }
    return [...out];
  }
}

/** Names an identifier callee is assigned from in its function (`f = g if x else h` → g, h). */
function aliasTargets(call: CallInfo): string[] {
  const fn = call.fn;
  if (!fn) return [];
  const text = fn.node.text();
  const out: string[] = [];
  const re = new RegExp(`(?:^|[\\s;])${call.name.replace(/\$/g, '\\$')}\\s*=\\s*([^\\n;]+)`, 'g');
  for (const m of text.matchAll(re)) {
    for (const id of m[1].matchAll(/[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/g)) {
      const last = id[0].split('.').pop() ?? '';
      if (
        last &&
        last !== call.name &&
        !/^(if|else|None|null|undefined|true|false|True|False|await|new|os|environ|get)$/.test(last)
      )
        out.push(id[0].includes('.') ? last : id[0]);
    }
  }
  return [...new Set(out)].slice(0, 4);
}

function isAncestor(a: FnInfo, b: FnInfo): boolean {
  let cur: FnInfo | undefined = b;
  while (cur) {
    if (cur === a) return true;
    cur = cur.parent;
  }
  return false;
}

/** Whether a file defines a class whose normalised name contains (or is contained in) `recv`. */
function classNamed(text: string | undefined, recv: string): boolean {
  if (!text) return false;
  for (const m of text.matchAll(/\bclass\s+([A-Za-z_]\w*)/g)) {
    const cls = norm(m[1]);
    if (cls.includes(recv) || recv.includes(cls)) return true;
  }
  return false;
}

/** The name a call's result is stored in (`const b = call(…)`, `b = call(…)`, `self.b = call(…)`). */
function bindingOf(call: SgNode): string | undefined {
  let p = call.parent();
  if (p?.kind() === 'await_expression' || p?.kind() === 'await') p = p.parent();
  if (!p) return undefined;
  const k = p.kind();
  const target =
    k === 'variable_declarator'
      ? p.field('name')
      : k === 'assignment' || k === 'assignment_expression'
        ? p.field('left')
        : undefined;
  if (!target) return undefined;
  const t = target.text();
  return /^(self\.|this\.)?[A-Za-z_$][\w$]*$/.test(t) ? t : undefined;
}
