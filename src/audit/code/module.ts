/**
 * The code model of one source file: its imports, module-level bindings,
 * classes, functions (with parameters and the function that encloses them)
 * and calls (with the function each call is in). Built once per parsed file;
 * everything else (values, call graph, detectors) reads it.
 */
import type { SgNode } from '@ast-grep/napi';
import { endOf, type Family, FUNCTION_KINDS, line, named, startOf, stringLiteral } from './lang.ts';
import { callbackOfFn, collectCalls, collectClassAttrs } from './module-calls.ts';

export interface ParamInfo {
  /** Positional index (TS and Python; keyword-only Python parameters keep counting). */
  index: number;
  name?: string;
  node: SgNode;
  default?: SgNode;
  /** A destructured object parameter (TS `{a, b = 1}`): its keys and defaults. */
  keys?: { name: string; default?: SgNode }[];
  rest?: boolean;
}

export interface FnInfo {
  module: ModuleInfo;
  node: SgNode;
  /** Declared name: function, method, or the variable / property it is assigned to. */
  name?: string;
  /** Class of a method. */
  className?: string;
  start: number;
  end: number;
  line: number;
  params: ParamInfo[];
  /** The function this one is nested in. */
  parent?: FnInfo;
  /** Set when the function is written as an argument of a call (a callback). */
  callbackOf?: CallInfo;
  /** Python decorators / TS decorators, as text. */
  decorators: SgNode[];
}

export interface CallInfo {
  module: ModuleInfo;
  node: SgNode;
  callee: SgNode;
  calleeText: string;
  /** Last identifier of the callee (`a.b.create` → `create`). */
  name: string;
  /** Callee text before the last `.` (`a.b` for `a.b.create`), when a member call. */
  receiver?: string;
  isNew: boolean;
  /** Positional arguments. */
  args: SgNode[];
  /** Keyword arguments (Python). */
  kwargs: Map<string, SgNode>;
  /** Spread arguments (`...x`, `*x`, `**x`). */
  splats: SgNode[];
  fn?: FnInfo;
  start: number;
  line: number;
}

export interface ImportRef {
  /** Module specifier as written (`./x`, `@scope/pkg`, `a.b`, `.c`). */
  spec: string;
  /** Imported name: `default`, `*` (namespace / whole module), or an exported name. */
  name: string;
  line: number;
}

export interface ModuleInfo {
  file: string;
  family: Family;
  root: SgNode;
  text: string;
  /** Local name → where it comes from. */
  imports: Map<string, ImportRef>;
  /** Module specifiers imported (for the import graph). */
  importSpecs: string[];
  /** Module-level bindings: name → value node (last assignment wins; all kept in order). */
  bindings: Map<string, SgNode[]>;
  /** Module-level classes by name. */
  classes: Map<string, SgNode>;
  /** Class attributes: class → attribute → value nodes (class fields, `self.x = …`, `this.x = …`). */
  classAttrs: Map<string, Map<string, SgNode[]>>;
  /** Every function, sorted by start offset. */
  functions: FnInfo[];
  /** Every call, in source order. */
  calls: CallInfo[];
  /** Exported name → local name (TS); Python exports every module-level name. */
  exports: Map<string, string>;
}

const TS_IMPORT_DEFAULT = 'default';

export function buildModule(file: string, family: Family, root: SgNode, text: string): ModuleInfo {
  const m: ModuleInfo = {
    file,
    family,
    root,
    text,
    imports: new Map(),
    importSpecs: [],
    bindings: new Map(),
    classes: new Map(),
    classAttrs: new Map(),
    functions: [],
    calls: [],
    exports: new Map(),
  };
  if (family === 'ts') collectTsTopLevel(m);
  else collectPyTopLevel(m);
  collectFunctions(m);
  // Calls and class attributes are built when first read: resolving a name by its
  // definitions needs only the functions of the modules it parses.
  let calls: CallInfo[] | undefined;
  let attrs: Map<string, Map<string, SgNode[]>> | undefined;
  Object.defineProperty(m, 'calls', {
    enumerable: true,
    get: () => {
      if (!calls) {
        calls = [];
        collectCalls(m, calls);
      }
      return calls;
    },
  });
  Object.defineProperty(m, 'classAttrs', {
    enumerable: true,
    get: () => {
      if (!attrs) {
        attrs = new Map();
        collectClassAttrs(m, attrs);
      }
      return attrs;
    },
  });
  for (const f of m.functions) {
    Object.defineProperty(f, 'callbackOf', {
      enumerable: true,
      get: () => {
        void m.calls;
        return callbackOfFn(f);
      },
    });
  }
  return m;
}

function addBinding(m: ModuleInfo, name: string, value: SgNode): void {
  const list = m.bindings.get(name);
  if (list) list.push(value);
  else m.bindings.set(name, [value]);
}

// ---------------------------------------------------------------- TypeScript

function collectTsTopLevel(m: ModuleInfo): void {
  for (const stmt of named(m.root)) tsStatement(m, stmt, false);
  // require() anywhere at module level or in functions: `const x = require('m')`, `const {a} = require('m')`.
  for (const call of m.root.findAll({
    rule: { kind: 'call_expression', has: { field: 'function', regex: '^require$' } },
  } as never)) {
    const spec = stringLiteral(named(call.field('arguments'))[0]);
    if (!spec) continue;
    m.importSpecs.push(spec);
    const decl = call.parent();
    if (decl?.kind() !== 'variable_declarator') continue;
    const nameNode = decl.field('name');
    if (nameNode?.kind() === 'identifier')
      m.imports.set(nameNode.text(), { spec, name: '*', line: line(call) });
    else if (nameNode?.kind() === 'object_pattern') {
      for (const p of named(nameNode)) {
        if (p.kind() === 'shorthand_property_identifier_pattern')
          m.imports.set(p.text(), { spec, name: p.text(), line: line(call) });
        else if (p.kind() === 'pair_pattern') {
          const key = p.field('key')?.text();
          const val = p.field('value');
          if (key && val?.kind() === 'identifier')
            m.imports.set(val.text(), { spec, name: key, line: line(call) });
        }
      }
    }
  }
}

function tsStatement(m: ModuleInfo, stmt: SgNode, exported: boolean): void {
  switch (stmt.kind()) {
    case 'import_statement': {
      const spec = stringLiteral(stmt.field('source'));
      if (!spec) return;
      m.importSpecs.push(spec);
      const clause = named(stmt).find((c) => c.kind() === 'import_clause');
      for (const part of named(clause)) {
        if (part.kind() === 'identifier')
          m.imports.set(part.text(), { spec, name: TS_IMPORT_DEFAULT, line: line(stmt) });
        else if (part.kind() === 'namespace_import') {
          const id = named(part).find((c) => c.kind() === 'identifier');
          if (id) m.imports.set(id.text(), { spec, name: '*', line: line(stmt) });
        } else if (part.kind() === 'named_imports') {
          for (const s of named(part)) {
            if (s.kind() !== 'import_specifier') continue;
            const ids = named(s).filter((c) => c.kind() === 'identifier' || c.kind() === 'string');
            const imported = ids[0]?.text().replace(/^["']|["']$/g, '');
            const local = (ids[1] ?? ids[0])?.text();
            if (imported && local) m.imports.set(local, { spec, name: imported, line: line(stmt) });
          }
        }
      }
      return;
    }
    case 'export_statement': {
      const decl = stmt.field('declaration');
      const src = stringLiteral(stmt.field('source'));
      if (src) m.importSpecs.push(src);
      if (decl) {
        tsStatement(m, decl, true);
        return;
      }
      const isDefault = stmt.children().some((c) => !c.isNamed() && c.text() === 'default');
      const value = stmt.field('value') ?? named(stmt).find((c) => c.kind() !== 'export_clause');
      if (isDefault && value) {
        addBinding(m, 'default', value);
        m.exports.set('default', 'default');
        if (value.kind() === 'identifier') m.exports.set('default', value.text());
      }
      const clause = named(stmt).find((c) => c.kind() === 'export_clause');
      for (const s of named(clause)) {
        if (s.kind() !== 'export_specifier') continue;
        const ids = named(s);
        const local = ids[0]?.text();
        const exportedAs = (ids[1] ?? ids[0])?.text();
        if (local && exportedAs) {
          m.exports.set(exportedAs, local);
          if (src) m.imports.set(local, { spec: src, name: local, line: line(stmt) });
        }
      }
      return;
    }
    case 'lexical_declaration':
    case 'variable_declaration': {
      for (const d of named(stmt)) {
        if (d.kind() !== 'variable_declarator') continue;
        const name = d.field('name');
        const value = d.field('value');
        if (name?.kind() === 'identifier' && value) {
          addBinding(m, name.text(), value);
          if (exported) m.exports.set(name.text(), name.text());
        } else if (name?.kind() === 'object_pattern' && value) {
          // const { a, b } = obj: bind each key to `obj.key` lazily via a synthetic marker (the pattern node).
          for (const p of named(name)) {
            const key =
              p.kind() === 'shorthand_property_identifier_pattern'
                ? p.text()
                : p.kind() === 'pair_pattern'
                  ? p.field('value')?.text()
                  : undefined;
            if (key) addBinding(m, key, p);
          }
        }
      }
      return;
    }
    case 'function_declaration':
    case 'generator_function_declaration':
    case 'class_declaration':
    case 'abstract_class_declaration': {
      const name = stmt.field('name')?.text();
      if (!name) return;
      if (String(stmt.kind()).includes('class')) m.classes.set(name, stmt);
      addBinding(m, name, stmt);
      if (exported) m.exports.set(name, name);
      return;
    }
    case 'expression_statement': {
      // module.exports = { … } / exports.x = …
      const e = named(stmt)[0];
      if (e?.kind() === 'assignment_expression') {
        const left = e.field('left')?.text() ?? '';
        const right = e.field('right');
        if (!right) return;
        if (left === 'module.exports') {
          addBinding(m, 'default', right);
          m.exports.set('default', 'default');
          if (right.kind() === 'object') {
            for (const p of named(right)) {
              if (p.kind() === 'shorthand_property_identifier') m.exports.set(p.text(), p.text());
              else if (p.kind() === 'pair') {
                const k = p.field('key')?.text();
                const v = p.field('value');
                if (k && v) {
                  addBinding(m, `__export_${k}`, v);
                  m.exports.set(k, v.kind() === 'identifier' ? v.text() : `__export_${k}`);
                }
              }
            }
          }
        } else {
          const mm = /^(?:module\.)?exports\.([A-Za-z_$][\w$]*)$/.exec(left);
          if (mm) {
            addBinding(m, mm[1], right);
            m.exports.set(mm[1], mm[1]);
          }
        }
      }
      return;
    }
    default:
      return;
  }
}

// -------------------------------------------------------------------- Python

function collectPyTopLevel(m: ModuleInfo): void {
  for (const stmt of named(m.root)) pyStatement(m, stmt);
  // Imports inside functions (lazy imports) still name modules.
  for (const imp of m.root.findAll({
    rule: { any: [{ kind: 'import_statement' }, { kind: 'import_from_statement' }] },
  } as never)) {
    if (imp.parent()?.kind() !== 'module') pyImport(m, imp);
  }
}

function pyStatement(m: ModuleInfo, stmt: SgNode): void {
  switch (stmt.kind()) {
    case 'import_statement':
    case 'import_from_statement':
      pyImport(m, stmt);
      return;
    case 'expression_statement': {
      const a = named(stmt)[0];
      if (a?.kind() !== 'assignment') return;
      const left = a.field('left');
      const right = a.field('right');
      if (left?.kind() === 'identifier' && right) addBinding(m, left.text(), right);
      return;
    }
    case 'function_definition':
    case 'class_definition': {
      const name = stmt.field('name')?.text();
      if (!name) return;
      if (stmt.kind() === 'class_definition') m.classes.set(name, stmt);
      addBinding(m, name, stmt);
      return;
    }
    case 'decorated_definition': {
      const def = stmt.field('definition');
      if (def) pyStatement(m, def);
      return;
    }
    case 'if_statement':
    case 'try_statement': {
      // Module-level `try: import x except ImportError: …` and `if TYPE_CHECKING:`.
      for (const block of stmt.findAll({ rule: { kind: 'block' } } as never)) {
        if (block.parent()?.parent()?.kind() === 'module' || block.parent()?.kind() === stmt.kind())
          for (const s of named(block)) pyStatement(m, s);
      }
      return;
    }
    default:
      return;
  }
}

function pyImport(m: ModuleInfo, stmt: SgNode): void {
  const l = line(stmt);
  if (stmt.kind() === 'import_statement') {
    for (const c of named(stmt)) {
      if (c.kind() === 'dotted_name') {
        m.importSpecs.push(c.text());
        m.imports.set(c.text().split('.')[0], { spec: c.text().split('.')[0], name: '*', line: l });
      } else if (c.kind() === 'aliased_import') {
        const mod = c.field('name')?.text() ?? named(c)[0]?.text();
        const alias = c.field('alias')?.text() ?? named(c)[1]?.text();
        if (mod) m.importSpecs.push(mod);
        if (mod && alias) m.imports.set(alias, { spec: mod, name: '*', line: l });
      }
    }
    return;
  }
  const modNode = stmt.field('module_name');
  const spec = modNode?.text() ?? '';
  if (!spec) return;
  m.importSpecs.push(spec);
  for (const c of named(stmt)) {
    if (c === modNode || c.range().start.index === modNode?.range().start.index) continue;
    if (c.kind() === 'dotted_name') {
      const n = c.text();
      m.imports.set(n, { spec, name: n, line: l });
    } else if (c.kind() === 'aliased_import') {
      const n = c.field('name')?.text() ?? named(c)[0]?.text();
      const alias = c.field('alias')?.text() ?? named(c)[1]?.text();
      if (n && alias) m.imports.set(alias, { spec, name: n, line: l });
    } else if (c.kind() === 'wildcard_import') {
      m.imports.set(`*${spec}`, { spec, name: '*', line: l });
    }
  }
}

// ----------------------------------------------------------------- functions

function collectFunctions(m: ModuleInfo): void {
  const kinds = [...FUNCTION_KINDS[m.family]].map((kind) => ({ kind }));
  const nodes = m.root.findAll({ rule: { any: kinds } } as never);
  const fns: FnInfo[] = nodes.map((node) => ({
    module: m,
    node,
    name: functionName(node, m.family),
    className: enclosingClass(node, m.family),
    start: startOf(node),
    end: endOf(node),
    line: line(node),
    params: params(node, m.family),
    decorators: decorators(node, m.family),
  }));
  fns.sort((a, b) => a.start - b.start || b.end - a.end);
  for (let i = 0; i < fns.length; i++) {
    const f = fns[i];
    // parent: the innermost earlier function that contains it
    for (let j = i - 1; j >= 0; j--) {
      if (fns[j].start <= f.start && f.end <= fns[j].end && fns[j] !== f) {
        f.parent = fns[j];
        break;
      }
    }
  }
  m.functions = fns;
}

function functionName(node: SgNode, family: Family): string | undefined {
  const own = node.field('name')?.text();
  if (own) return own;
  const parent = node.parent();
  if (!parent) return undefined;
  const pk = parent.kind();
  if (family === 'ts') {
    if (pk === 'variable_declarator') return parent.field('name')?.text();
    if (pk === 'pair')
      return parent
        .field('key')
        ?.text()
        .replace(/^["']|["']$/g, '');
    if (pk === 'assignment_expression') return parent.field('left')?.text().split('.').pop();
    if (pk === 'public_field_definition' || pk === 'field_definition')
      return parent.field('name')?.text() ?? parent.field('property')?.text();
  } else if (pk === 'assignment') {
    return parent.field('left')?.text().split('.').pop();
  }
  return undefined;
}

function enclosingClass(node: SgNode, family: Family): string | undefined {
  let cur = node.parent();
  while (cur) {
    const k = cur.kind();
    if (family === 'ts' && (k === 'class_declaration' || k === 'class' || k === 'abstract_class_declaration'))
      return cur.field('name')?.text() ?? cur.parent()?.field('name')?.text();
    if (family === 'py' && k === 'class_definition') return cur.field('name')?.text();
    if (FUNCTION_KINDS[family].has(String(k))) return undefined;
    cur = cur.parent();
  }
  return undefined;
}

function decorators(node: SgNode, family: Family): SgNode[] {
  if (family === 'py') {
    const p = node.parent();
    return p?.kind() === 'decorated_definition' ? named(p).filter((c) => c.kind() === 'decorator') : [];
  }
  return named(node).filter((c) => c.kind() === 'decorator');
}

function params(node: SgNode, family: Family): ParamInfo[] {
  const list = node.field('parameters') ?? (family === 'ts' ? node.field('parameter') : null);
  if (!list) return [];
  if (list.kind() === 'identifier') return [{ index: 0, name: list.text(), node: list }];
  const out: ParamInfo[] = [];
  let index = 0;
  for (const p of named(list)) {
    const k = p.kind();
    if (family === 'ts') {
      if (k !== 'required_parameter' && k !== 'optional_parameter' && k !== 'identifier') continue;
      const pattern = k === 'identifier' ? p : p.field('pattern');
      const info: ParamInfo = { index: index++, node: p, default: p.field('value') ?? undefined };
      if (pattern?.kind() === 'identifier' || pattern?.kind() === 'this') info.name = pattern.text();
      else if (pattern?.kind() === 'rest_pattern') {
        info.rest = true;
        info.name = named(pattern)[0]?.text();
      } else if (pattern?.kind() === 'object_pattern') {
        info.keys = [];
        for (const e of named(pattern)) {
          if (e.kind() === 'shorthand_property_identifier_pattern') info.keys.push({ name: e.text() });
          else if (e.kind() === 'object_assignment_pattern') {
            const left = e.field('left');
            info.keys.push({ name: left?.text() ?? '', default: e.field('right') ?? undefined });
          } else if (e.kind() === 'pair_pattern') {
            const v = e.field('value');
            const key = e.field('key')?.text() ?? '';
            if (v?.kind() === 'assignment_pattern')
              info.keys.push({ name: key, default: v.field('right') ?? undefined });
            else info.keys.push({ name: key });
          }
        }
      }
      if (info.name === 'this') continue;
      out.push(info);
    } else {
      if (k === 'identifier') {
        if (p.text() === 'self' || p.text() === 'cls') continue;
        out.push({ index: index++, name: p.text(), node: p });
      } else if (k === 'default_parameter' || k === 'typed_default_parameter') {
        out.push({
          index: index++,
          name: p.field('name')?.text(),
          node: p,
          default: p.field('value') ?? undefined,
        });
      } else if (k === 'typed_parameter') {
        const id = named(p).find((c) => c.kind() === 'identifier');
        if (id && id.text() !== 'self' && id.text() !== 'cls')
          out.push({ index: index++, name: id.text(), node: p });
      } else if (k === 'list_splat_pattern' || k === 'dictionary_splat_pattern') {
        out.push({ index: index++, name: named(p)[0]?.text(), node: p, rest: true });
      }
    }
  }
  return out;
}
