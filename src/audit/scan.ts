/**
 * The audit engine: one pass per file. Each file is read once; line rules run
 * on its text, and when a structural rule's prefilter matches, the file is
 * parsed once with ast-grep and every applicable rule runs on that tree.
 * Values in matched calls are resolved statically (literals, arithmetic on
 * literals, module-level constants); anything else stays `unresolved`.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Lang, parse, registerDynamicLanguage, type SgNode } from '@ast-grep/napi';
import { listFiles, looksBinary, MAX_FILE_BYTES } from './files.ts';
import { type CodeRule, loadRules, type RuleSet } from './rules.ts';

const require = createRequire(import.meta.url);
let pythonRegistered = false;
function ensurePython(): void {
  if (pythonRegistered) return;
  registerDynamicLanguage({ python: require('@ast-grep/lang-python') });
  pythonRegistered = true;
}

/** A statically resolved value, or why it is not. */
export type Value =
  | { kind: 'number'; value: number; text: string; line: number }
  | { kind: 'string'; value: string; text: string; line: number }
  | { kind: 'unresolved'; text: string; line: number };

export interface Hit {
  rule: string;
  file: string;
  /** 1-based. */
  line: number;
  /** The matched text, first line, at most 200 characters. */
  text: string;
  /** Regex groups (line rules). */
  groups?: (string | undefined)[];
  /** Options read from a matched call (code rules with `options`). */
  options?: Record<string, Value>;
  /** The call's options could hold more keys than we see (spread, variable argument). */
  openOptions?: boolean;
  lang?: 'ts' | 'py';
}

export interface ScanResult {
  root: string;
  files: string[];
  source: 'git' | 'walk';
  hits: Hit[];
  skipped: { file: string; reason: string }[];
  byRule(rule: string): Hit[];
}

export interface ScanOptions {
  rules?: RuleSet;
  onProgress?: (done: number, total: number) => void;
}

type CodeLang = { lang: Lang | string; family: 'ts' | 'py' };

function languageOf(file: string): CodeLang | undefined {
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
      return { lang: Lang.JavaScript, family: 'ts' };
    case 'py':
      return { lang: 'python', family: 'py' };
    default:
      return undefined;
  }
}

export function scan(root: string, opts: ScanOptions = {}): ScanResult {
  const rules = opts.rules ?? loadRules();
  const listing = listFiles(root);
  const hits: Hit[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const total = listing.files.length;
  listing.files.forEach((file, i) => {
    if (opts.onProgress && i % 250 === 0) opts.onProgress(i, total);
    scanFile(root, file, rules, hits, skipped);
  });
  opts.onProgress?.(total, total);
  const index = new Map<string, Hit[]>();
  for (const h of hits) {
    const list = index.get(h.rule);
    if (list) list.push(h);
    else index.set(h.rule, [h]);
  }
  return {
    root,
    files: listing.files,
    source: listing.source,
    hits,
    skipped,
    byRule: (rule) => index.get(rule) ?? [],
  };
}

function scanFile(
  root: string,
  file: string,
  rules: RuleSet,
  hits: Hit[],
  skipped: { file: string; reason: string }[],
): void {
  const abs = join(root, file);
  let buf: Buffer;
  try {
    const st = statSync(abs);
    if (!st.isFile()) return;
    if (st.size > MAX_FILE_BYTES) {
      skipped.push({ file, reason: `larger than ${MAX_FILE_BYTES} bytes` });
      return;
    }
    buf = readFileSync(abs);
  } catch {
    return; // listed by git but deleted in the work tree
  }
  if (looksBinary(buf)) return;
  const text = buf.toString('utf8');

  const textRules = rules.text.filter(
    (r) => r.files.test(file) && (!r.prefilter || r.prefilter.some((p) => text.includes(p))),
  );
  if (textRules.length > 0) {
    const lines = text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n];
      for (const r of textRules) {
        for (const m of line.matchAll(r.regex)) {
          hits.push({ rule: r.id, file, line: n + 1, text: clip(line.trim()), groups: m.slice(1) });
        }
      }
    }
  }

  const cl = languageOf(file);
  if (!cl) return;
  const applicable = rules.code.filter(
    (r) =>
      r[cl.family] &&
      (r.prefilterRegex ? r.prefilterRegex.test(text) : r.prefilter?.some((p) => text.includes(p))),
  );
  if (applicable.length === 0) return;
  if (cl.family === 'py') ensurePython();
  let tree: SgNode;
  try {
    tree = parse(cl.lang as Lang, text).root();
  } catch (err) {
    skipped.push({ file, reason: `parse error: ${(err as Error).message}` });
    return;
  }
  for (const rule of applicable) runRule(rule, cl.family, tree, file, hits);
}

function runRule(rule: CodeRule, family: 'ts' | 'py', tree: SgNode, file: string, hits: Hit[]): void {
  const matcher = rule[family] as Record<string, unknown>;
  for (const node of tree.findAll({ rule: matcher } as never)) {
    const hit: Hit = {
      rule: rule.id,
      file,
      line: node.range().start.line + 1,
      text: clip(node.text()),
      lang: family,
    };
    if (rule.options) {
      const { options, open } = readOptions(node, rule.options, family, tree);
      hit.options = options;
      hit.openOptions = open;
    }
    hits.push(hit);
  }
}

function clip(text: string): string {
  const first = text.split('\n')[0];
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}

function stripKey(text: string): string {
  return text.replace(/^["'`]|["'`]$/g, '');
}

/** Options of a call: the first object argument (TS) or keyword arguments (Python). */
function readOptions(
  call: SgNode,
  wanted: Record<string, string[]>,
  family: 'ts' | 'py',
  tree: SgNode,
): { options: Record<string, Value>; open: boolean } {
  const options: Record<string, Value> = {};
  const keyToName = new Map<string, string>();
  for (const [name, keys] of Object.entries(wanted)) for (const k of keys) keyToName.set(k, name);
  const args = call.field('arguments');
  let open = false;
  if (!args) return { options, open: true };
  if (family === 'ts') {
    const first = args.children().find((c) => c.isNamed() && c.kind() !== 'comment');
    if (!first) return { options, open };
    let obj: SgNode | null = first;
    if (first.kind() === 'identifier') {
      obj = resolveIdentifierNode(first.text(), tree, 'ts');
    }
    if (obj?.kind() !== 'object') return { options, open: true };
    for (const prop of obj.children()) {
      if (prop.kind() === 'spread_element') open = true;
      else if (prop.kind() === 'pair') {
        const key = stripKey(prop.field('key')?.text() ?? '');
        const name = keyToName.get(key);
        const value = prop.field('value');
        if (name && value) options[name] = evaluate(value, tree, 'ts', 0);
      } else if (prop.kind() === 'shorthand_property_identifier') {
        const name = keyToName.get(prop.text());
        if (name) options[name] = evaluate(prop, tree, 'ts', 0);
      }
    }
  } else {
    for (const arg of args.children()) {
      if (arg.kind() === 'dictionary_splat' || arg.kind() === 'list_splat') open = true;
      if (arg.kind() !== 'keyword_argument') continue;
      const name = keyToName.get(arg.field('name')?.text() ?? '');
      const value = arg.field('value');
      if (name && value) options[name] = evaluate(value, tree, 'py', 0);
    }
  }
  return { options, open };
}

/** The value node of a module-level `const NAME = …` (TS) or `NAME = …` (Python). */
function resolveIdentifierNode(name: string, tree: SgNode, family: 'ts' | 'py'): SgNode | null {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return null;
  if (family === 'ts') {
    const decl = tree.find({
      rule: { kind: 'variable_declarator', has: { field: 'name', regex: `^${name.replace(/\$/g, '\\$')}$` } },
    } as never);
    return decl?.field('value') ?? null;
  }
  const assign = tree.find({
    rule: { kind: 'assignment', has: { field: 'left', regex: `^${name}$` } },
  } as never);
  return assign?.field('right') ?? null;
}

function unresolved(node: SgNode): Value {
  return { kind: 'unresolved', text: clip(node.text()), line: node.range().start.line + 1 };
}

export function evaluate(node: SgNode, tree: SgNode, family: 'ts' | 'py', depth: number): Value {
  const line = node.range().start.line + 1;
  const text = clip(node.text());
  if (depth > 8) return unresolved(node);
  const kind = node.kind();
  switch (kind) {
    case 'number':
    case 'integer':
    case 'float': {
      const n = Number(node.text().replace(/_/g, ''));
      return Number.isFinite(n) ? { kind: 'number', value: n, text, line } : unresolved(node);
    }
    case 'string': {
      const raw = node.text();
      if (family === 'ts') return { kind: 'string', value: raw.slice(1, -1), text, line };
      const m = /^[rRbBuUfF]*("""|'''|"|')([\s\S]*)\1$/.exec(raw);
      if (!m || /^[a-zA-Z]*[fF]/.test(raw)) return unresolved(node);
      return { kind: 'string', value: m[2], text, line };
    }
    case 'template_string': {
      if (node.children().some((c) => c.kind() === 'template_substitution')) return unresolved(node);
      return { kind: 'string', value: node.text().slice(1, -1), text, line };
    }
    case 'concatenated_string': {
      let out = '';
      for (const c of node.children()) {
        const v = evaluate(c, tree, family, depth + 1);
        if (v.kind !== 'string') return unresolved(node);
        out += v.value;
      }
      return { kind: 'string', value: out, text, line };
    }
    case 'parenthesized_expression': {
      const inner = node.children().find((c) => c.isNamed());
      return inner ? withPos(evaluate(inner, tree, family, depth + 1), text, line) : unresolved(node);
    }
    case 'binary_expression':
    case 'binary_operator': {
      const left = node.field('left');
      const right = node.field('right');
      const op =
        node.field('operator')?.text() ??
        node
          .children()
          .find((c) => !c.isNamed())
          ?.text();
      if (!left || !right || !op) return unresolved(node);
      const a = evaluate(left, tree, family, depth + 1);
      const b = evaluate(right, tree, family, depth + 1);
      if (a.kind === 'number' && b.kind === 'number') {
        const r =
          op === '*'
            ? a.value * b.value
            : op === '+'
              ? a.value + b.value
              : op === '-'
                ? a.value - b.value
                : op === '/'
                  ? a.value / b.value
                  : Number.NaN;
        return Number.isFinite(r) ? { kind: 'number', value: r, text, line } : unresolved(node);
      }
      if (a.kind === 'string' && b.kind === 'string' && op === '+')
        return { kind: 'string', value: a.value + b.value, text, line };
      return unresolved(node);
    }
    case 'identifier':
    case 'shorthand_property_identifier': {
      const target = resolveIdentifierNode(node.text(), tree, family);
      if (!target) return unresolved(node);
      const v = evaluate(target, tree, family, depth + 1);
      return v.kind === 'unresolved' ? unresolved(node) : withPos(v, text, line);
    }
    case 'call': {
      // httpx.Timeout(60.0, connect=5.0): the first positional argument is the overall timeout.
      const fn = node.field('function')?.text() ?? '';
      if (/(^|\.)Timeout$/.test(fn)) {
        const first = node
          .field('arguments')
          ?.children()
          .find((c) => c.isNamed());
        if (first && first.kind() !== 'keyword_argument')
          return withPos(evaluate(first, tree, family, depth + 1), text, line);
        if (first?.kind() === 'keyword_argument' && first.field('name')?.text() === 'timeout') {
          const v = first.field('value');
          if (v) return withPos(evaluate(v, tree, family, depth + 1), text, line);
        }
      }
      return unresolved(node);
    }
    case 'array':
    case 'list': {
      // System prompt as content blocks: the text of every block, when all are constant.
      const texts = node.findAll({
        rule:
          family === 'ts'
            ? { kind: 'pair', has: { field: 'key', regex: '^["\']?text["\']?$' } }
            : { kind: 'pair', has: { field: 'key', regex: '^["\']text["\']$' } },
      } as never);
      if (texts.length === 0) return unresolved(node);
      let out = '';
      for (const t of texts) {
        const v = t.field('value');
        const r = v ? evaluate(v, tree, family, depth + 1) : unresolved(t);
        if (r.kind !== 'string') return unresolved(node);
        out += r.value;
      }
      return { kind: 'string', value: out, text, line };
    }
    default:
      return unresolved(node);
  }
}

function withPos(v: Value, text: string, line: number): Value {
  return { ...v, text, line } as Value;
}
