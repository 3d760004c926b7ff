import type { SgNode } from '@ast-grep/napi';
import type { CallGraph } from './callgraph.ts';
import { clip, endOf, innermost, named, pairKey, startOf, stringLiteral } from './lang.ts';
import type { FnInfo, ModuleInfo } from './module.ts';
import type { Project } from './project.ts';

import { callValue } from './values-calls.ts';

export {
  type Env,
  isUnknown,
  type Loc,
  locOf,
  numbers,
  options,
  type Value,
} from './value.ts';

import {
  concat,
  dirOf,
  type Env,
  envVarName,
  isStringish,
  isUnknown,
  type Loc,
  locOf,
  MAX_DEPTH,
  numbers,
  options,
  several,
  un,
  unescapeString,
  type Value,
  withAt,
} from './value.ts';

export class Evaluator {
  readonly project: Project;
  private readonly graph: CallGraph;
  readonly envFiles: Map<string, string>;
  private readonly assignmentsCache = new WeakMap<FnInfo, { left: string; right: SgNode }[]>();
  private readonly localsCache = new WeakMap<
    FnInfo,
    Map<string, { value: SgNode; start: number; end: number }[]>
  >();

  constructor(project: Project, graph: CallGraph, envFiles: Map<string, string>) {
    this.project = project;
    this.graph = graph;
    this.envFiles = envFiles;
  }

  /** Evaluates an expression node of module `m`. */
  eval(node: SgNode, m: ModuleInfo, env?: Env, depth = 0, seen: Set<string> = new Set()): Value {
    const at = locOf(node, m);
    if (depth > MAX_DEPTH) return un(node, m);
    const key = `${m.file}:${startOf(node)}:${endOf(node)}:${node.kind()}`;
    if (seen.has(key)) return un(node, m);
    const s2 = new Set(seen);
    s2.add(key);
    const ev = (n: SgNode, mm: ModuleInfo = m, e: Env | undefined = env) =>
      this.eval(n, mm, e, depth + 1, s2);
    const k = node.kind();
    switch (k) {
      case 'number':
      case 'integer':
      case 'float': {
        const n = Number(node.text().replace(/_/g, ''));
        return Number.isFinite(n) ? { kind: 'number', value: n, at } : un(node, m);
      }
      case 'true':
      case 'false':
        return { kind: 'bool', value: k === 'true', at };
      case 'null':
      case 'undefined':
      case 'none':
        return { kind: 'null', at };
      case 'string':
        return this.stringValue(node, m, env, depth, s2);
      case 'template_string':
        return this.templateValue(node, m, env, depth, s2);
      case 'concatenated_string': {
        return concat(
          named(node).map((c) => ev(c)),
          at,
        );
      }
      case 'parenthesized_expression':
      case 'await_expression':
      case 'as_expression':
      case 'satisfies_expression':
      case 'non_null_expression':
      case 'type_assertion': {
        const inner = named(node).find((c) => !String(c.kind()).startsWith('type'));
        return inner ? withAt(ev(inner), at) : un(node, m);
      }
      case 'object':
      case 'dictionary':
        return { kind: 'object', node, module: m, at, env };
      case 'array':
      case 'list':
      case 'tuple':
        return { kind: 'array', node, module: m, at, env };
      case 'arrow_function':
      case 'function_expression':
      case 'lambda': {
        const fn = m.functions.find((f) => f.start === startOf(node));
        return fn ? { kind: 'fn', fn, at } : un(node, m);
      }
      case 'unary_expression': {
        const arg = node.field('argument');
        const v = arg ? ev(arg) : undefined;
        if (v?.kind === 'number' && node.text().startsWith('-'))
          return { kind: 'number', value: -v.value, at };
        return un(node, m);
      }
      case 'binary_expression':
      case 'binary_operator':
      case 'boolean_operator':
        return this.binary(node, m, env, depth, s2);
      case 'ternary_expression':
      case 'conditional_expression': {
        const parts = named(node);
        const [a, b] =
          k === 'ternary_expression'
            ? [node.field('consequence'), node.field('alternative')]
            : [parts[0], parts[2]];
        if (!a || !b) return un(node, m);
        return several([ev(a), ev(b)], at);
      }
      case 'identifier':
      case 'shorthand_property_identifier':
      case 'this':
        return this.identifier(node, node.text(), m, env, depth, s2);
      case 'member_expression':
      case 'attribute':
      case 'subscript_expression':
      case 'subscript':
        return this.member(node, m, env, depth, s2);
      case 'call_expression':
      case 'call':
      case 'new_expression':
        return this.call(node, m, env, depth, s2);
      case 'class_declaration':
      case 'class_definition':
      case 'class':
        return { kind: 'instance', cls: node, module: m, at };
      case 'function_declaration':
      case 'function_definition': {
        const fn = m.functions.find((f) => f.start === startOf(node));
        return fn ? { kind: 'fn', fn, at } : un(node, m);
      }
      case 'shorthand_property_identifier_pattern':
      case 'pair_pattern':
        return this.destructured(node, m, env, depth, s2);
      default:
        return un(node, m);
    }
  }

  private stringValue(
    node: SgNode,
    m: ModuleInfo,
    env: Env | undefined,
    depth: number,
    seen: Set<string>,
  ): Value {
    const at = locOf(node, m);
    const plain = stringLiteral(node);
    if (plain !== undefined) return { kind: 'string', value: unescapeString(plain), at };
    // Python f-string: static content plus interpolations.
    const parts: Value[] = [];
    for (const c of node.children()) {
      if (c.kind() === 'string_content') parts.push({ kind: 'string', value: unescapeString(c.text()), at });
      else if (c.kind() === 'interpolation') {
        const expr = named(c).find((x) => x.kind() !== 'type_conversion' && x.kind() !== 'format_specifier');
        parts.push(expr ? this.eval(expr, m, env, depth + 1, seen) : un(c, m));
      } else if (c.kind() === 'escape_sequence')
        parts.push({ kind: 'string', value: unescapeString(c.text()), at });
    }
    return concat(parts, at);
  }

  private templateValue(
    node: SgNode,
    m: ModuleInfo,
    env: Env | undefined,
    depth: number,
    seen: Set<string>,
  ): Value {
    const at = locOf(node, m);
    const parts: Value[] = [];
    for (const c of node.children()) {
      const k = c.kind();
      if (k === 'string_fragment' || k === 'escape_sequence')
        parts.push({ kind: 'string', value: unescapeString(c.text()), at });
      else if (k === 'template_substitution') {
        const expr = named(c)[0];
        parts.push(expr ? this.eval(expr, m, env, depth + 1, seen) : un(c, m));
      }
    }
    return concat(parts, at);
  }

  private binary(node: SgNode, m: ModuleInfo, env: Env | undefined, depth: number, seen: Set<string>): Value {
    const at = locOf(node, m);
    const left = node.field('left');
    const right = node.field('right');
    const op =
      node.field('operator')?.text() ??
      node
        .children()
        .find((c) => !c.isNamed())
        ?.text();
    if (!left || !right || !op) return un(node, m);
    const a = this.eval(left, m, env, depth + 1, seen);
    if (op === '??' || op === '||' || op === 'or') {
      // A fallback: when the left side cannot be known (unset env, unresolved parameter) the right applies.
      if (isUnknown(a) || a.kind === 'null') return this.eval(right, m, env, depth + 1, seen);
      if (a.kind === 'several' && options(a).some((o) => isUnknown(o) || o.kind === 'null')) {
        const known = options(a).filter((o) => !isUnknown(o) && o.kind !== 'null');
        return several([...known, this.eval(right, m, env, depth + 1, seen)], at);
      }
      return a;
    }
    if (op === '&&' || op === 'and') return this.eval(right, m, env, depth + 1, seen);
    const b = this.eval(right, m, env, depth + 1, seen);
    if (op === '+' && (isStringish(a) || isStringish(b))) return concat([a, b], at);
    const na = numbers(a);
    const nb = numbers(b);
    if (na && nb && na.length === 1 && nb.length === 1) {
      const [x, y] = [na[0], nb[0]];
      const r =
        op === '*'
          ? x * y
          : op === '+'
            ? x + y
            : op === '-'
              ? x - y
              : op === '/'
                ? x / y
                : op === '//'
                  ? Math.floor(x / y)
                  : op === '**'
                    ? x ** y
                    : Number.NaN;
      return Number.isFinite(r) ? { kind: 'number', value: r, at } : un(node, m);
    }
    if (op === '%' && a.kind === 'string')
      return { kind: 'string', value: a.value, at, partial: [clip(right.text())] };
    return un(node, m);
  }

  // ------------------------------------------------------------ identifiers

  private identifier(
    node: SgNode,
    name: string,
    m: ModuleInfo,
    env: Env | undefined,
    depth: number,
    seen: Set<string>,
  ): Value {
    const at = locOf(node, m);
    if (env?.has(name)) return withAt(env.get(name) as Value, at);
    if (name === 'undefined' || name === 'None') return { kind: 'null', at };
    if (name === 'True' || name === 'False') return { kind: 'bool', value: name === 'True', at };
    if (name === '__dirname' || name === '__file__')
      return { kind: 'string', value: name === '__dirname' ? dirOf(m.file) : m.file, at };
    const offset = startOf(node);
    let fn = innermost(m.functions, offset);
    while (fn) {
      const defs = this.locals(fn)
        .get(name)
        ?.filter((d) => d.start < offset && !(offset < d.end));
      if (defs && defs.length > 0) {
        const owner = fn;
        const vals = defs.map((d) => {
          const v = this.eval(d.value, m, env, depth + 1, seen);
          return v.kind === 'object' ? { ...v, binding: { fn: owner, name } } : v;
        });
        return several(vals, at);
      }
      const param = fn.params.find((p) => p.name === name || p.keys?.some((k) => k.name === name));
      if (param)
        return this.parameter(fn, param.index, name, param.name === name ? undefined : name, at, depth, seen);
      fn = fn.parent;
    }
    return this.moduleName(name, m, at, depth, seen, node);
  }

  /** A module-level name of `m`: binding, class, function or import. */
  moduleName(name: string, m: ModuleInfo, at: Loc, depth: number, seen: Set<string>, node?: SgNode): Value {
    const b = m.bindings.get(name);
    if (b && b.length > 0) {
      const last = b[b.length - 1];
      return withAt(this.eval(last, m, undefined, depth + 1, seen), at);
    }
    const imp = m.imports.get(name);
    if (imp) return this.imported(imp.spec, imp.name, m, at, depth, seen);
    for (const [k, ref] of m.imports) {
      if (!k.startsWith('*')) continue;
      const target = this.project.resolveImport(m.file, ref.spec);
      const tm = target ? this.project.module(target) : undefined;
      if (tm?.bindings.has(name)) return this.moduleName(name, tm, at, depth + 1, seen);
    }
    return node ? un(node, m) : { kind: 'unresolved', at, reason: `\`${name}\`` };
  }

  /** The value a module exports under `name` (`*`: the module itself as an object of its bindings). */
  imported(spec: string, name: string, from: ModuleInfo, at: Loc, depth: number, seen: Set<string>): Value {
    const target = this.project.resolveImport(from.file, spec);
    const tm = target ? this.project.module(target) : undefined;
    if (!tm) {
      // Python: `from pkg import submodule`
      if (from.family === 'py' && name !== '*') {
        const sub = this.project.resolveImport(from.file, `${spec}${spec.endsWith('.') ? '' : '.'}${name}`);
        const sm = sub ? this.project.module(sub) : undefined;
        if (sm) return { kind: 'object', node: sm.root, module: sm, at };
      }
      return {
        kind: 'unresolved',
        at,
        reason: `\`${name === '*' || name === 'default' ? spec : name}\` from ${spec}`,
      };
    }
    if (name === '*') return { kind: 'object', node: tm.root, module: tm, at };
    const local = tm.family === 'ts' ? (tm.exports.get(name) ?? name) : name;
    if (tm.bindings.has(local) || tm.imports.has(local))
      return this.moduleName(local, tm, at, depth + 1, seen);
    if (tm.family === 'py') {
      const sub = this.project.resolveImport(tm.file, `.${name}`);
      const sm = sub ? this.project.module(sub) : undefined;
      if (sm) return { kind: 'object', node: sm.root, module: sm, at };
    }
    return { kind: 'unresolved', at, reason: `\`${name}\` from ${spec}` };
  }

  /** Declarations inside a function (not in nested functions), by name. */
  private locals(fn: FnInfo): Map<string, { value: SgNode; start: number; end: number }[]> {
    const cached = this.localsCache.get(fn);
    if (cached) return cached;
    const out = new Map<string, { value: SgNode; start: number; end: number }[]>();
    const add = (name: string, value: SgNode, d: SgNode) => {
      const entry = { value, start: startOf(d), end: endOf(d) };
      const list = out.get(name);
      if (list) list.push(entry);
      else out.set(name, [entry]);
    };
    const m = fn.module;
    const kinds =
      m.family === 'ts'
        ? [
            { kind: 'variable_declarator' },
            { kind: 'assignment_expression' },
            { kind: 'augmented_assignment_expression' },
            { kind: 'for_in_statement' },
          ]
        : [
            { kind: 'assignment' },
            { kind: 'augmented_assignment' },
            { kind: 'for_statement' },
            { kind: 'with_item' },
          ];
    for (const d of fn.node.findAll({ rule: { any: kinds } } as never)) {
      const start = startOf(d);
      if (innermost(m.functions, start) !== fn) continue;
      const k = d.kind();
      if (k === 'variable_declarator') {
        const n = d.field('name');
        const v = d.field('value');
        if (n?.kind() === 'identifier' && v) add(n.text(), v, d);
        else if (n?.kind() === 'object_pattern' && v)
          for (const p of named(n)) {
            if (p.kind() === 'rest_pattern') {
              const rest = named(p)[0];
              if (rest) add(rest.text(), d, d);
              continue;
            }
            const local =
              p.kind() === 'shorthand_property_identifier_pattern' ? p.text() : p.field('value')?.text();
            if (local) add(local, p, d);
          }
      } else if (k === 'assignment_expression' || k === 'assignment') {
        const l = d.field('left');
        const v = d.field('right');
        if (l?.kind() === 'identifier' && v) add(l.text(), v, d);
      } else if (k === 'augmented_assignment_expression' || k === 'augmented_assignment') {
        const l = d.field('left');
        if (l?.kind() === 'identifier') add(l.text(), d, d);
      } else if (k === 'for_statement' || k === 'for_in_statement') {
        const l = d.field('left');
        if (l?.kind() === 'identifier') add(l.text(), d, d);
      } else if (k === 'with_item') {
        const alias = d.find({ rule: { kind: 'as_pattern_target' } } as never);
        const value = d.find({ rule: { kind: 'as_pattern' } } as never);
        const source = value ? named(value)[0] : undefined;
        if (alias) add(alias.text(), source ?? d, d);
      }
    }
    this.localsCache.set(fn, out);
    return out;
  }

  /** `name[key] = v` / `name.key = v` assignments inside `fn` (objects filled after their literal). */
  assignedKeys(fn: FnInfo, name: string): Map<string, SgNode[]> {
    const out = new Map<string, SgNode[]>();
    let all = this.assignmentsCache.get(fn);
    if (!all) {
      all = [];
      const m = fn.module;
      const kind = m.family === 'ts' ? 'assignment_expression' : 'assignment';
      for (const a of fn.node.findAll({ rule: { kind } } as never)) {
        if (innermost(m.functions, startOf(a)) !== fn) continue;
        const left = a.field('left');
        const right = a.field('right');
        if (left && right) all.push({ left: left.text().replace(/\s+/g, ''), right });
      }
      this.assignmentsCache.set(fn, all);
    }
    for (const { left: lt, right } of all) {
      if (!lt.startsWith(name)) continue;
      const mm = new RegExp(
        `^${name.replace(/\$/g, '\\$')}(?:\\.([A-Za-z_$][\\w$]*)|\\[["'\`]([^"'\`]+)["'\`]\\])$`,
      ).exec(lt);
      const key = mm ? (mm[1] ?? mm[2]) : undefined;
      if (!key) continue;
      const list = out.get(key);
      if (list) list.push(right);
      else out.set(key, [right]);
    }
    return out;
  }

  /**
   * A parameter: the arguments every call site in the repository passes
   * (or the default when a call site leaves it out); the default alone when
   * no call site is found; else unresolved.
   */
  private parameter(
    fn: FnInfo,
    index: number,
    name: string,
    key: string | undefined,
    at: Loc,
    depth: number,
    seen: Set<string>,
  ): Value {
    const param = fn.params[index];
    const dflt = key ? param.keys?.find((k) => k.name === key)?.default : param.default;
    const sites = depth < 10 ? this.graph.callsTo(fn) : [];
    if (param.rest && param.node.kind() === 'dictionary_splat_pattern')
      return { kind: 'kwargs', calls: sites, at };
    const vals: Value[] = [];
    let missing = false;
    for (const call of sites) {
      const arg = this.graph.argumentFor(call, fn, index, param.name ?? name);
      if (!arg) {
        missing = true;
        continue;
      }
      let v = this.eval(arg, call.module, undefined, depth + 1, seen);
      if (key) v = this.prop(v, key, depth + 1, seen);
      if (v.kind === 'null' || (v.kind === 'unresolved' && v.reason.startsWith('no property'))) {
        missing = true;
        continue;
      }
      vals.push(v);
    }
    if ((missing || sites.length === 0) && dflt)
      vals.push(this.eval(dflt, fn.module, undefined, depth + 1, seen));
    if (vals.length === 0) {
      if (sites.length > 0 && !dflt) return { kind: 'null', at };
      return {
        kind: 'unresolved',
        at,
        reason: `parameter \`${name}\` of ${fn.name ?? 'a function'} (no call site in the repository)`,
      };
    }
    return several(vals, at);
  }

  private destructured(
    node: SgNode,
    m: ModuleInfo,
    env: Env | undefined,
    depth: number,
    seen: Set<string>,
  ): Value {
    // `const { a } = obj` or `const { a: b } = obj`: the declarator's value, property a.
    const pattern = node.parent();
    const decl = pattern?.parent();
    const source = decl?.field('value');
    const keyName = node.kind() === 'pair_pattern' ? node.field('key')?.text() : node.text();
    if (!source || !keyName) return un(node, m);
    const obj = this.eval(source, m, env, depth + 1, seen);
    return this.prop(obj, keyName, depth + 1, seen);
  }

  // ------------------------------------------------------------ members

  private member(node: SgNode, m: ModuleInfo, env: Env | undefined, depth: number, seen: Set<string>): Value {
    const at = locOf(node, m);
    const text = node.text();
    const envName = envVarName(text);
    if (envName) return this.envValue(envName, undefined, node, m);
    const obj = node.field('object') ?? node.field('value') ?? named(node)[0];
    let key: string | undefined;
    const k = node.kind();
    if (k === 'member_expression' || k === 'attribute')
      key = (node.field('property') ?? node.field('attribute'))?.text();
    else {
      const idx = node.field('index') ?? node.field('subscript') ?? named(node)[1];
      if (idx) {
        const iv = this.eval(idx, m, env, depth + 1, seen);
        if (iv.kind === 'string' && !iv.partial) key = iv.value;
        else if (iv.kind === 'number') key = String(iv.value);
        else key = '*';
      }
    }
    if (!obj || !key) return un(node, m);
    if (obj.kind() === 'this' || obj.text() === 'self' || obj.text() === 'cls') {
      const fn = innermost(m.functions, startOf(node));
      const cls = fn?.className;
      const attrs = cls ? m.classAttrs.get(cls)?.get(key) : undefined;
      if (attrs && attrs.length > 0)
        return several(
          attrs.map((a) => this.eval(a, m, env, depth + 1, seen)),
          at,
        );
      return un(node, m);
    }
    const base = this.eval(obj, m, env, depth + 1, seen);
    const v = this.prop(base, key, depth + 1, seen);
    return v.kind === 'unresolved'
      ? un(node, m, v.reason.startsWith('no property') ? undefined : v.reason)
      : withAt(v, at);
  }

  /** Property `key` of a value (`*`: every property). */
  prop(base: Value, key: string, depth = 0, seen: Set<string> = new Set()): Value {
    if (depth > MAX_DEPTH) return { kind: 'unresolved', at: base.at, reason: `\`${base.at.text}\`` };
    switch (base.kind) {
      case 'several':
        return several(
          base.options.map((o) => this.prop(o, key, depth + 1, seen)),
          base.at,
        );
      case 'object': {
        const m = base.module;
        if (base.node.kind() === 'module' || base.node.kind() === 'program')
          return this.moduleName(key, m, base.at, depth + 1, seen);
        const found: Value[] = [];
        let spreadUnknown = false;
        for (const p of named(base.node)) {
          const pk = p.kind();
          // a key written after a spread overrides it; a spread after a key may or may not override it
          if (pk === 'pair') {
            const k = pairKey(p);
            const v = p.field('value');
            if (v && (key === '*' || k === key)) {
              if (key !== '*') found.length = 0;
              found.push(this.eval(v, m, base.env, depth + 1, seen));
            }
          } else if (pk === 'shorthand_property_identifier' && (key === '*' || p.text() === key)) {
            if (key !== '*') found.length = 0;
            found.push(this.eval(p, m, base.env, depth + 1, seen));
          } else if (pk === 'spread_element' || pk === 'dictionary_splat') {
            const inner = named(p)[0];
            if (inner) {
              const sv = this.prop(this.eval(inner, m, base.env, depth + 1, seen), key, depth + 1, seen);
              if (sv.kind === 'unresolved')
                spreadUnknown = sv.reason.startsWith('no property') ? spreadUnknown : true;
              else found.push(sv);
            }
          }
        }
        if (base.binding) {
          const later = this.assignedKeys(base.binding.fn, base.binding.name);
          for (const [k, nodes] of later) {
            if (key !== '*' && k !== key) continue;
            for (const n of nodes) found.push(this.eval(n, m, base.env, depth + 1, seen));
          }
        }
        if (found.length > 0) return several(found, base.at);
        return {
          kind: 'unresolved',
          at: base.at,
          reason: spreadUnknown ? `\`${base.at.text}\` (spread)` : `no property ${key}`,
        };
      }
      case 'instance': {
        const cls = base.cls.field('name')?.text();
        const m = base.module;
        // Constructor keyword arguments (Python dataclass / pydantic) override class defaults.
        if (base.args) {
          for (const a of named(base.args)) {
            if (a.kind() === 'keyword_argument' && a.field('name')?.text() === key) {
              const v = a.field('value');
              if (v) return this.eval(v, m, undefined, depth + 1, seen);
            }
          }
        }
        const attrs = cls ? m.classAttrs.get(cls)?.get(key) : undefined;
        if (attrs && attrs.length > 0) {
          const vals = attrs.map((a) => this.eval(a, m, undefined, depth + 1, seen));
          return several(vals, base.at);
        }
        // Python annotated class attribute without value is not a default.
        return { kind: 'unresolved', at: base.at, reason: `no property ${key}` };
      }
      case 'kwargs': {
        const vals: Value[] = [];
        for (const c of base.calls) {
          const v = c.kwargs.get(key);
          if (v) {
            vals.push(this.eval(v, c.module, undefined, depth + 1, seen));
            continue;
          }
          for (const sp of c.splats) {
            if (sp.kind() !== 'dictionary_splat') continue;
            const inner = named(sp)[0];
            const sv = inner
              ? this.prop(this.eval(inner, c.module, undefined, depth + 1, seen), key, depth + 1, seen)
              : undefined;
            if (sv && !(sv.kind === 'unresolved' && sv.reason.startsWith('no property'))) vals.push(sv);
          }
        }
        return vals.length > 0
          ? several(vals, base.at)
          : { kind: 'unresolved', at: base.at, reason: `no property ${key}` };
      }
      default:
        return {
          kind: 'unresolved',
          at: base.at,
          reason: base.kind === 'unresolved' ? base.reason : `no property ${key}`,
        };
    }
  }

  private call(node: SgNode, m: ModuleInfo, env: Env | undefined, depth: number, seen: Set<string>): Value {
    return callValue(this, node, m, env, depth, seen);
  }

  /** An environment variable: its code default, else the value in a committed env file, else unresolved. */
  envValue(name: string, dflt: Value | undefined, node: SgNode, m: ModuleInfo): Value {
    if (dflt && dflt.kind !== 'null') return dflt;
    const fromFile = this.envFiles.get(name);
    if (fromFile !== undefined) return { kind: 'string', value: fromFile, at: locOf(node, m) };
    return un(node, m, `environment variable ${name}`);
  }
}
