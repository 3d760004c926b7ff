/**
 * The calls of a module (callee, receiver, positional and keyword arguments,
 * spreads, enclosing function; functions passed as callbacks) and its class
 * attributes (class fields, `self.x = …`, `this.x = …`), built on first use.
 */
import type { SgNode } from '@ast-grep/napi';
import { CALL_KINDS, innermost, line, named, startOf } from './lang.ts';
import type { CallInfo, FnInfo, ModuleInfo } from './module.ts';

/** A function passed to a call: the call (set by collectCalls). */
const callbackOf = new WeakMap<FnInfo, CallInfo>();

/** The call a function is passed to as a callback, once the module's calls are built. */
export function callbackOfFn(f: FnInfo): CallInfo | undefined {
  return callbackOf.get(f);
}

// --------------------------------------------------------------------- calls

export function collectCalls(m: ModuleInfo, out: CallInfo[]): void {
  const kinds = [...CALL_KINDS[m.family]].map((kind) => ({ kind }));
  for (const node of m.root.findAll({ rule: { any: kinds } } as never)) {
    const isNew = node.kind() === 'new_expression';
    const callee = (isNew ? node.field('constructor') : node.field('function')) ?? named(node)[0];
    if (!callee) continue;
    const calleeText = callee.text();
    const ck = callee.kind();
    const prop =
      ck === 'identifier'
        ? callee
        : ck === 'member_expression' || ck === 'attribute'
          ? (callee.field('property') ?? callee.field('attribute'))
          : null;
    const name =
      prop?.text() ?? /([A-Za-z_$][\w$]*)\s*$/.exec(calleeText.slice(-200).replace(/\?\.$/, ''))?.[1] ?? '';
    const dot = calleeText.lastIndexOf('.');
    const argsNode = node.field('arguments');
    const args: SgNode[] = [];
    const kwargs = new Map<string, SgNode>();
    const splats: SgNode[] = [];
    for (const a of named(argsNode)) {
      const k = a.kind();
      if (k === 'keyword_argument') {
        const n = a.field('name')?.text();
        const v = a.field('value');
        if (n && v) kwargs.set(n, v);
      } else if (k === 'spread_element' || k === 'list_splat' || k === 'dictionary_splat') splats.push(a);
      else args.push(a);
    }
    const start = startOf(node);
    const call: CallInfo = {
      module: m,
      node,
      callee,
      calleeText,
      name,
      receiver: dot > 0 ? calleeText.slice(0, dot).replace(/\?$/, '') : undefined,
      isNew,
      args,
      kwargs,
      splats,
      fn: innermost(m.functions, start),
      start,
      line: line(node),
    };
    out.push(call);
  }
  // Mark callbacks: a function passed to a call, directly or as a property of an object argument
  // (`g({ request: async () => … })`, `g(handler=lambda: …)`).
  const byStart = new Map(out.map((c) => [c.start, c]));
  for (const f of m.functions) {
    let p = f.node.parent();
    for (let i = 0; p && i < 3 && /^(pair|object|keyword_argument|dictionary)$/.test(String(p.kind())); i++)
      p = p.parent();
    if (p?.kind() === 'arguments' || p?.kind() === 'argument_list') {
      const call = p.parent();
      const c = call ? byStart.get(startOf(call)) : undefined;
      if (c) callbackOf.set(f, c);
    }
  }
}

// ---------------------------------------------------------- class attributes

export function collectClassAttrs(m: ModuleInfo, into: Map<string, Map<string, SgNode[]>>): void {
  const add = (cls: string, attr: string, value: SgNode) => {
    let attrs = into.get(cls);
    if (!attrs) {
      attrs = new Map();
      into.set(cls, attrs);
    }
    const list = attrs.get(attr);
    if (list) list.push(value);
    else attrs.set(attr, [value]);
  };
  for (const [cls, node] of m.classes) {
    const body = node.field('body');
    for (const s of named(body)) {
      if (m.family === 'ts') {
        if (s.kind() === 'public_field_definition' || s.kind() === 'field_definition') {
          const n = s.field('name') ?? s.field('property');
          const v = s.field('value');
          if (n && v) add(cls, n.text(), v);
        }
      } else if (s.kind() === 'expression_statement') {
        const a = named(s)[0];
        if (a?.kind() === 'assignment') {
          const left = a.field('left');
          const right = a.field('right');
          if (left?.kind() === 'identifier' && right) add(cls, left.text(), right);
        }
      }
    }
  }
  // this.x = … / self.x = … inside methods
  const selfName = m.family === 'ts' ? 'this' : 'self';
  const kind = m.family === 'ts' ? 'assignment_expression' : 'assignment';
  for (const a of m.root.findAll({ rule: { kind } } as never)) {
    const left = a.field('left');
    const right = a.field('right');
    if (!left || !right) continue;
    const mm = new RegExp(`^${selfName}\\.([A-Za-z_$][\\w$]*)$`).exec(left.text());
    if (!mm) continue;
    const fn = innermost(m.functions, startOf(a));
    if (fn?.className) add(fn.className, mm[1], right);
  }
}
