/**
 * Values of calls: library values (`httpx.Timeout(90)`, `Number(x)`, `String(x)`),
 * environment reads with defaults, prompt files read at start-up and small
 * repository functions inlined with their arguments bound.
 */
import { posix } from 'node:path';
import type { SgNode } from '@ast-grep/napi';
import { clip, innermost, named, startOf } from './lang.ts';
import type { FnInfo, ModuleInfo } from './module.ts';
import {
  concat,
  dirOf,
  type Env,
  locOf,
  numbers,
  options,
  several,
  un,
  type Value,
  withAt,
} from './value.ts';
import type { Evaluator } from './values.ts';

export function callValue(
  evaluator: Evaluator,
  node: SgNode,
  m: ModuleInfo,
  env: Env | undefined,
  depth: number,
  seen: Set<string>,
): Value {
  const at = locOf(node, m);
  const isNew = node.kind() === 'new_expression';
  const callee = (isNew ? node.field('constructor') : node.field('function')) ?? named(node)[0];
  const args = node.field('arguments');
  const argList = named(args).filter((a) => a.kind() !== 'keyword_argument');
  const kw = (n: string) =>
    named(args)
      .find((a) => a.kind() === 'keyword_argument' && a.field('name')?.text() === n)
      ?.field('value');
  if (!callee) return un(node, m);
  const ct = callee.text();
  const ev = (n: SgNode) => evaluator.eval(n, m, env, depth + 1, seen);
  // Environment reads with defaults.
  if (/^(os\.getenv|os\.environ\.get|getenv|environ\.get|Deno\.env\.get)$/.test(ct)) {
    const nameV = argList[0] ? ev(argList[0]) : undefined;
    const dflt = argList[1] ?? kw('default');
    if (nameV?.kind === 'string')
      return evaluator.envValue(nameV.value, dflt ? ev(dflt) : undefined, node, m);
    return un(node, m);
  }
  // Conversions and pass-throughs.
  if (
    /^(Number|parseInt|parseFloat|int|float|String|str|JSON\.stringify|json\.dumps|dedent|textwrap\.dedent|inspect\.cleandoc|cleandoc|Buffer\.from)$/.test(
      ct,
    )
  ) {
    const a = argList[0];
    if (!a) return un(node, m);
    const v = ev(a);
    if (/^(Number|parseInt|parseFloat|int|float)$/.test(ct)) {
      const ns = numbers(v);
      if (ns && ns.length === 1) return { kind: 'number', value: ns[0], at };
      return v.kind === 'unresolved' ? v : un(node, m);
    }
    return withAt(v, at);
  }
  // Field defaults: pydantic Field(default=…), dataclasses.field(default=…).
  if (/^(Field|pydantic\.Field|field|dataclasses\.field)$/.test(ct)) {
    const d = kw('default') ?? argList[0];
    return d ? withAt(ev(d), at) : un(node, m);
  }
  // File reads (prompt files read at start-up).
  const read = fileRead(evaluator, callee, ct, argList, node, m, env, depth, seen);
  if (read) return read;
  // Path building.
  if (/^(path\.join|path\.resolve|join|resolve|os\.path\.join|posixpath\.join)$/.test(ct)) {
    const parts = argList.map((a) => ev(a));
    if (parts.every((p) => p.kind === 'string' && !p.partial))
      return { kind: 'string', value: posix.join(...parts.map((p) => (p as { value: string }).value)), at };
    return un(node, m);
  }
  if (/^(os\.path\.dirname|path\.dirname|dirname)$/.test(ct) && argList[0]) {
    const v = ev(argList[0]);
    if (v.kind === 'string' && !v.partial) return { kind: 'string', value: dirOf(v.value), at };
    return un(node, m);
  }
  if (/^(os\.path\.abspath|os\.path\.realpath|path\.normalize|Path|pathlib\.Path)$/.test(ct) && argList[0]) {
    return withAt(ev(argList[0]), at);
  }
  // String methods.
  if (callee.kind() === 'member_expression' || callee.kind() === 'attribute') {
    const obj = callee.field('object');
    const prop = (callee.field('property') ?? callee.field('attribute'))?.text() ?? '';
    if (obj && /^(trim|trimStart|trimEnd|strip|lstrip|rstrip|toString)$/.test(prop)) {
      const v = ev(obj);
      if (v.kind === 'string') return { ...v, value: v.value.trim(), at };
      return v;
    }
    if (obj && /^(replace|replaceAll|format|format_map|substitute|safe_substitute)$/.test(prop)) {
      const v = ev(obj);
      if (v.kind === 'string')
        return { kind: 'string', value: v.value, at, partial: [...(v.partial ?? []), clip(node.text())] };
      return v;
    }
    if (obj && prop === 'join') {
      const sep = ev(obj);
      const list = argList[0] ? ev(argList[0]) : undefined;
      if (sep.kind === 'string' && list?.kind === 'array') {
        const items = named(list.node).map((i) => evaluator.eval(i, list.module, list.env, depth + 1, seen));
        if (items.every((i) => i.kind === 'string' && !i.partial))
          return {
            kind: 'string',
            value: items.map((i) => (i as { value: string }).value).join(sep.value),
            at,
          };
        return concat(items, at);
      }
      return un(node, m);
    }
  }
  // A call of a repository function or class.
  const target = ev(callee);
  const results: Value[] = [];
  for (const t of options(target)) {
    if (t.kind === 'instance')
      results.push({ kind: 'instance', cls: t.cls, module: t.module, args: args ?? undefined, at });
    else if (t.kind === 'fn') results.push(inlineCall(evaluator, t.fn, node, m, env, depth, seen));
    else if (t.kind === 'unresolved' || t.kind === 'external')
      results.push({
        kind: 'external',
        node,
        module: m,
        callee: t.kind === 'external' ? `${t.callee}(…)` : ct,
        at,
      });
    else results.push(un(node, m));
  }
  return results.length === 0 ? un(node, m) : several(results, at);
}

/** The value a function returns when called at `call` (its return expressions, arguments bound). */
function inlineCall(
  ev: Evaluator,
  fn: FnInfo,
  call: SgNode,
  m: ModuleInfo,
  env: Env | undefined,
  depth: number,
  seen: Set<string>,
): Value {
  const at = locOf(call, m);
  const bindings: Env = new Map();
  const args = named(call.field('arguments'));
  let pos = 0;
  for (const a of args) {
    if (a.kind() === 'keyword_argument') {
      const n = a.field('name')?.text();
      const v = a.field('value');
      if (n && v) bindings.set(n, ev.eval(v, m, env, depth + 1, seen));
      continue;
    }
    const p = fn.params[pos++];
    if (!p) continue;
    const v = ev.eval(a, m, env, depth + 1, seen);
    if (p.name) bindings.set(p.name, v);
    if (p.keys) for (const k of p.keys) bindings.set(k.name, ev.prop(v, k.name, depth + 1, seen));
  }
  for (const p of fn.params) {
    if (p.name && !bindings.has(p.name) && p.default)
      bindings.set(p.name, ev.eval(p.default, fn.module, undefined, depth + 1, seen));
  }
  const body = fn.node.field('body');
  if (!body) return un(call, m);
  if (body.kind() !== 'statement_block' && body.kind() !== 'block')
    return withAt(ev.eval(body, fn.module, bindings, depth + 1, seen), at);
  const returns = body
    .findAll({ rule: { kind: 'return_statement' } } as never)
    .filter((r) => innermost(fn.module.functions, startOf(r)) === fn);
  if (returns.length === 0 || returns.length > 6) return un(call, m);
  const vals = returns.map((r) => {
    const e = named(r)[0];
    return e ? ev.eval(e, fn.module, bindings, depth + 1, seen) : ({ kind: 'null', at } as Value);
  });
  return several(vals, at);
}

function fileRead(
  ev: Evaluator,
  callee: SgNode,
  ct: string,
  argList: SgNode[],
  node: SgNode,
  m: ModuleInfo,
  env: Env | undefined,
  depth: number,
  seen: Set<string>,
): Value | undefined {
  let pathNode: SgNode | undefined;
  if (/(^|\.)(readFileSync|readFile)$/.test(ct)) pathNode = argList[0];
  else if (/\.(read|read_text)$/.test(ct)) {
    const obj = callee.field('object');
    if (obj?.kind() === 'call') {
      const fnText = obj.field('function')?.text() ?? '';
      if (/^(open|io\.open|codecs\.open|Path|pathlib\.Path)$/.test(fnText))
        pathNode = named(obj.field('arguments'))[0];
    } else if (obj) {
      // with open(p) as f: f.read()  →  the with item
      const v = ev.eval(obj, m, env, depth + 1, seen);
      if (v.kind === 'string' && !v.partial) return readRepoFile(ev, v.value, node, m);
      return undefined;
    }
  } else return undefined;
  if (!pathNode) return un(node, m);
  const p = ev.eval(pathNode, m, env, depth + 1, seen);
  if (p.kind === 'string' && !p.partial) return readRepoFile(ev, p.value, node, m);
  return un(node, m, `\`${clip(node.text())}\` (file path not resolvable)`);
}

function readRepoFile(ev: Evaluator, path: string, node: SgNode, m: ModuleInfo): Value {
  const at = locOf(node, m);
  const norm = path.replace(/^\.\//, '');
  const cands = [norm, posix.join(dirOf(m.file), norm), posix.normalize(norm)];
  for (const c of cands) {
    const rel = c.replace(/^\/+/, '');
    if (ev.project.has(rel)) {
      const text = ev.project.text(rel);
      if (text !== undefined)
        return { kind: 'string', value: text, at: { ...at, text: `${at.text} (${rel})` } };
    }
  }
  return un(node, m, `\`${clip(node.text())}\` (${norm} is not in the repository)`);
}
