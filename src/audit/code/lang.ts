/**
 * Languages the audit parses (TypeScript/JavaScript and Python, both with
 * ast-grep) and small helpers over their syntax trees shared by the code
 * model, the value evaluator and the detectors.
 */
import { createRequire } from 'node:module';
import { Lang, parse, registerDynamicLanguage, type SgNode } from '@ast-grep/napi';

export type Family = 'ts' | 'py';

const require = createRequire(import.meta.url);
let pythonRegistered = false;

/** The parser language and family of a file, by extension; undefined for files that are not code. */
export function languageOf(file: string): { lang: Lang | string; family: Family } | undefined {
  const m = /\.([a-z]+)$/.exec(file);
  switch (m?.[1]) {
    case 'ts':
    case 'mts':
    case 'cts':
      return { lang: Lang.TypeScript, family: 'ts' };
    case 'tsx':
    case 'jsx':
      return { lang: Lang.Tsx, family: 'ts' };
    case 'js':
    case 'mjs':
    case 'cjs':
      // Tsx parses JSX in .js files (common in React code) and plain JavaScript alike.
      return { lang: Lang.Tsx, family: 'ts' };
    case 'py':
      return { lang: 'python', family: 'py' };
    default:
      return undefined;
  }
}

/** Parses a file's text; throws on a parser failure. */
export function parseCode(file: string, text: string): { root: SgNode; family: Family } {
  const l = languageOf(file);
  if (!l) throw new Error(`not a code file: ${file}`);
  if (l.family === 'py' && !pythonRegistered) {
    registerDynamicLanguage({ python: require('@ast-grep/lang-python') });
    pythonRegistered = true;
  }
  return { root: parse(l.lang as Lang, text).root(), family: l.family };
}

/** Node kinds that start a function body. */
export const FUNCTION_KINDS: Record<Family, ReadonlySet<string>> = {
  ts: new Set([
    'function_declaration',
    'function_expression',
    'arrow_function',
    'method_definition',
    'generator_function_declaration',
    'generator_function',
  ]),
  py: new Set(['function_definition', 'lambda']),
};

export const CALL_KINDS: Record<Family, ReadonlySet<string>> = {
  ts: new Set(['call_expression', 'new_expression']),
  py: new Set(['call']),
};

export const line = (n: SgNode): number => n.range().start.line + 1;
export const startOf = (n: SgNode): number => n.range().start.index;
export const endOf = (n: SgNode): number => n.range().end.index;

/** First line of a node's text, at most 200 characters. */
export function clip(text: string): string {
  const first = text.split('\n')[0];
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}

/** Named children that are not comments. */
export function named(n: SgNode | null | undefined): SgNode[] {
  if (!n) return [];
  return n.children().filter((c) => c.isNamed() && c.kind() !== 'comment');
}

/** The value of a string literal without evaluation (no escapes processed), or undefined. */
export function stringLiteral(n: SgNode | null | undefined): string | undefined {
  if (!n) return undefined;
  const k = n.kind();
  if (k === 'string') {
    const raw = n.text();
    if (n.children().some((c) => c.kind() === 'string_start')) {
      // Python: an f-string with interpolations has no single static value.
      if (n.children().some((c) => c.kind() === 'interpolation')) return undefined;
      const m = /^[rRbBuUfF]*("""|'''|"|')([\s\S]*)\1$/.exec(raw);
      return m ? m[2] : undefined;
    }
    return raw.slice(1, -1);
  }
  if (k === 'template_string') {
    if (n.children().some((c) => c.kind() === 'template_substitution')) return undefined;
    return n.text().slice(1, -1);
  }
  return undefined;
}

/** The key text of an object pair / dictionary pair (quotes removed). */
export function pairKey(pair: SgNode): string | undefined {
  const key = pair.field('key');
  if (!key) return undefined;
  const k = key.kind();
  if (k === 'property_identifier' || k === 'identifier') return key.text();
  const s = stringLiteral(key);
  if (s !== undefined) return s;
  if (k === 'computed_property_name') return undefined;
  return key.text();
}

/** The innermost function (by offsets) among `fns` that contains `offset`. `fns` sorted by start. */
export function innermost<T extends { start: number; end: number }>(
  fns: readonly T[],
  offset: number,
): T | undefined {
  let best: T | undefined;
  for (const f of fns) {
    if (f.start > offset) break;
    if (offset < f.end && (!best || f.start >= best.start)) best = f;
  }
  return best;
}

const kindSupport = new Map<string, boolean>();
const emptyRoots: Partial<Record<Family, SgNode>> = {};

/** Whether `kind` is a node kind of the family's grammar (ast-grep rejects unknown kinds). */
function knownKind(family: Family, kind: string): boolean {
  const key = `${family}:${kind}`;
  const hit = kindSupport.get(key);
  if (hit !== undefined) return hit;
  emptyRoots[family] ??= parseCode(family === 'ts' ? 'x.ts' : 'x.py', '').root;
  const root = emptyRoots[family];
  let ok = true;
  try {
    root.find({ rule: { kind } } as never);
  } catch {
    ok = false;
  }
  kindSupport.set(key, ok);
  return ok;
}

/** Descendants of `node` of any of `kinds` that exist in the family's grammar. */
export function findKinds(node: SgNode, family: Family, kinds: readonly string[]): SgNode[] {
  const valid = kinds.filter((k) => knownKind(family, k));
  if (valid.length === 0) return [];
  return node.findAll({ rule: { any: valid.map((kind) => ({ kind })) } } as never);
}
