/**
 * Static values: what the evaluator (values.ts) yields for an expression,
 * and the pure helpers over them.
 */
import { posix } from 'node:path';
import type { SgNode } from '@ast-grep/napi';
import { clip, line } from './lang.ts';
import type { CallInfo, FnInfo, ModuleInfo } from './module.ts';

export interface Loc {
  file: string;
  line: number;
  text: string;
}

export type Value =
  | { kind: 'number'; value: number; at: Loc }
  /** `partial`: the texts of parts that could not be resolved (then `value` holds the rest). */
  | { kind: 'string'; value: string; at: Loc; partial?: string[] }
  | { kind: 'bool'; value: boolean; at: Loc }
  | { kind: 'null'; at: Loc }
  /** An object / dict literal; `binding`: the local it is stored in (keys assigned later count too). */
  | {
      kind: 'object';
      node: SgNode;
      module: ModuleInfo;
      at: Loc;
      env?: Env;
      binding?: { fn: FnInfo; name: string };
    }
  | { kind: 'array'; node: SgNode; module: ModuleInfo; at: Loc; env?: Env }
  /** An instance of (or reference to) a class of the repository. */
  | { kind: 'instance'; cls: SgNode; module: ModuleInfo; args?: SgNode; at: Loc }
  | { kind: 'fn'; fn: FnInfo; at: Loc }
  /** The result of calling something outside the repository (a library constructor or factory). */
  | { kind: 'external'; node: SgNode; module: ModuleInfo; callee: string; at: Loc }
  /** Python `**kwargs` of a function: the keyword arguments its call sites pass. */
  | { kind: 'kwargs'; calls: CallInfo[]; at: Loc }
  | { kind: 'unresolved'; at: Loc; reason: string }
  | { kind: 'several'; options: Value[]; at: Loc };

/** Parameter bindings while evaluating inside a function called with known arguments. */
export type Env = Map<string, Value>;

export const MAX_DEPTH = 14;

export function locOf(n: SgNode, m: ModuleInfo): Loc {
  return { file: m.file, line: line(n), text: clip(n.text()) };
}

export const un = (n: SgNode, m: ModuleInfo, reason?: string): Value => ({
  kind: 'unresolved',
  at: locOf(n, m),
  reason: reason ?? `\`${clip(n.text())}\``,
});

/** Every concrete option of a value (flattens `several`). */
export function options(v: Value): Value[] {
  return v.kind === 'several' ? v.options.flatMap(options) : [v];
}

/** Numbers a value may take, or undefined when any option is not a number. */
export function numbers(v: Value): number[] | undefined {
  const out: number[] = [];
  for (const o of options(v)) {
    if (o.kind === 'number') out.push(o.value);
    else if (o.kind === 'string' && !o.partial && /^\s*\d+(\.\d+)?\s*$/.test(o.value))
      out.push(Number(o.value));
    else return undefined;
  }
  return out;
}

/** Whether a value is unknown (unresolved, or the result of a library call). */
export function isUnknown(v: Value): boolean {
  return v.kind === 'unresolved' || v.kind === 'external' || v.kind === 'kwargs';
}

export function several(opts: Value[], at: Loc): Value {
  const flat = opts.flatMap(options);
  const seen = new Set<string>();
  const uniq = flat.filter((o) => {
    const key =
      o.kind === 'number' || o.kind === 'string' || o.kind === 'bool'
        ? `${o.kind}:${String(o.value)}:${o.kind === 'string' ? (o.partial?.join('|') ?? '') : ''}`
        : o.kind === 'unresolved'
          ? `u:${o.reason}`
          : `${o.kind}:${o.at.file}:${o.at.line}:${o.at.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return uniq.length === 1 ? uniq[0] : { kind: 'several', options: uniq, at };
}

export function withAt(v: Value, at: Loc): Value {
  if (v.kind === 'several' || v.kind === 'object' || v.kind === 'array' || v.kind === 'instance') return v;
  return { ...v, at } as Value;
}

export function isStringish(v: Value): boolean {
  return options(v).some((o) => o.kind === 'string');
}

/** Concatenation of parts: static text joined; unresolved parts recorded in `partial`. */
export function concat(parts: Value[], at: Loc): Value {
  let value = '';
  const partial: string[] = [];
  for (const p of parts) {
    const opts = options(p);
    if (
      opts.length === 1 &&
      (opts[0].kind === 'string' || opts[0].kind === 'number' || opts[0].kind === 'bool')
    ) {
      const o = opts[0] as { value: unknown; partial?: string[] };
      value += String(o.value);
      if (o.partial) partial.push(...o.partial);
    } else if (opts.length > 1 && opts.every((o) => o.kind === 'string')) {
      // Several known texts: count the shortest (a lower bound).
      const shortest = (opts as { value: string; partial?: string[] }[]).reduce((a, b) =>
        a.value.length <= b.value.length ? a : b,
      );
      value += shortest.value;
      if (shortest.partial) partial.push(...shortest.partial);
    } else if (p.kind === 'null') {
      // `${undefined}` prints "undefined"; treat as empty
    } else {
      partial.push(p.kind === 'unresolved' ? p.at.text : p.at.text);
    }
  }
  return partial.length > 0 ? { kind: 'string', value, at, partial } : { kind: 'string', value, at };
}

export function unescapeString(s: string): string {
  return s
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t')
    .replace(/\\(["'`\\])/g, '$1');
}

export function dirOf(file: string): string {
  const d = posix.dirname(file);
  return d === '.' ? '' : d;
}

/** `process.env.X`, `process.env["X"]`, `import.meta.env.X`, `Bun.env.X`, `os.environ["X"]` → X. */
export function envVarName(text: string): string | undefined {
  const m =
    /^(?:process\.env|import\.meta\.env|Bun\.env|os\.environ)(?:\.([A-Za-z_]\w*)|\[\s*["']([A-Za-z_]\w*)["']\s*\])$/.exec(
      text.replace(/\s+/g, ''),
    );
  return m ? (m[1] ?? m[2]) : undefined;
}
