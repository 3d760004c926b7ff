/**
 * The repository as code: file texts read once, modules parsed on demand
 * (only the files the checks reach are parsed), import specifiers resolved
 * to files (relative paths, tsconfig path aliases, workspace packages,
 * Python packages), and which files are tests.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { looksBinary, MAX_FILE_BYTES } from '../files.ts';
import { languageOf, parseCode } from './lang.ts';
import { buildModule, type ModuleInfo } from './module.ts';

/** Tests and fixtures: never evidence that production code passes. */
const TEST_PATH =
  /(^|\/)(tests?|__tests__|spec|specs|e2e|cypress|playwright|fixtures?|__fixtures__|__mocks__|mocks?|testdata|test_data|testing)\/|(^|\/)(test_[^/]*\.py|[^/]*_test\.py|conftest\.py|[^/]*\.(test|spec|e2e)\.[cm]?[jt]sx?|[^/]*[-_.]mock[^/]*\.[cm]?[jt]sx?)$/i;

export function isTestFile(file: string): boolean {
  return TEST_PATH.test(file);
}

const TS_EXTS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

export class Project {
  readonly root: string;
  readonly files: readonly string[];
  private readonly fileSet: Set<string>;
  private readonly texts = new Map<string, string | null>();
  private readonly modules = new Map<string, ModuleInfo | null>();
  /** Files that failed to parse, with the reason. */
  readonly parseErrors: { file: string; reason: string }[] = [];
  private aliases?: { prefix: string; targets: string[]; dir: string }[];
  private packages?: Map<string, string>;
  private pyIndex?: Map<string, string[]>;
  private importerIndex?: Map<string, string[]>;

  constructor(root: string, files: readonly string[], texts?: Map<string, string>) {
    this.root = root;
    this.files = files;
    this.fileSet = new Set(files);
    if (texts) for (const [f, t] of texts) this.texts.set(f, t);
  }

  has(file: string): boolean {
    return this.fileSet.has(file);
  }

  /** File text (undefined for binary, missing or oversized files). */
  text(file: string): string | undefined {
    if (this.texts.has(file)) return this.texts.get(file) ?? undefined;
    let text: string | null = null;
    try {
      const abs = join(this.root, file);
      if (statSync(abs).size <= MAX_FILE_BYTES) {
        const buf = readFileSync(abs);
        if (!looksBinary(buf)) text = buf.toString('utf8');
      }
    } catch {
      text = null;
    }
    this.texts.set(file, text);
    return text ?? undefined;
  }

  /** The parsed module of a code file (cached); undefined when not code or unparsable. */
  module(file: string): ModuleInfo | undefined {
    if (this.modules.has(file)) return this.modules.get(file) ?? undefined;
    let mod: ModuleInfo | null = null;
    const text = languageOf(file) ? this.text(file) : undefined;
    if (text !== undefined) {
      try {
        const { root, family } = parseCode(file, text);
        mod = buildModule(file, family, root, text);
      } catch (err) {
        this.parseErrors.push({ file, reason: `parse error: ${(err as Error).message}` });
      }
    }
    this.modules.set(file, mod);
    return mod ?? undefined;
  }

  /** Modules parsed so far. */
  parsed(): ModuleInfo[] {
    return [...this.modules.values()].filter((m): m is ModuleInfo => m !== null);
  }

  codeFiles(): string[] {
    return this.files.filter((f) => languageOf(f) !== undefined);
  }

  // ------------------------------------------------------------ resolution

  /** The file an import specifier names, seen from `from`; undefined for packages outside the repository. */
  resolveImport(from: string, spec: string): string | undefined {
    if (from.endsWith('.py')) return this.resolvePy(from, spec);
    if (spec.startsWith('.')) return this.resolveTsPath(posix.join(posix.dirname(from), spec));
    if (spec.startsWith('/')) return undefined;
    for (const a of this.tsAliases()) {
      if (spec === a.prefix.replace(/\/$/, '') || spec.startsWith(a.prefix)) {
        const rest = spec.slice(a.prefix.length);
        for (const t of a.targets) {
          const hit = this.resolveTsPath(posix.join(a.dir, t, rest));
          if (hit) return hit;
        }
      }
    }
    const pkgs = this.workspacePackages();
    const parts = spec.split('/');
    const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
    const dir = pkgs.get(name);
    if (dir !== undefined) {
      const sub = spec.slice(name.length).replace(/^\//, '');
      for (const cand of sub
        ? [posix.join(dir, sub), posix.join(dir, 'src', sub)]
        : [posix.join(dir, 'src/index'), posix.join(dir, 'index'), posix.join(dir, 'src')]) {
        const hit = this.resolveTsPath(cand);
        if (hit) return hit;
      }
    }
    return undefined;
  }

  private resolveTsPath(base: string): string | undefined {
    const b = posix.normalize(base).replace(/^\.\//, '');
    if (this.fileSet.has(b) && /\.[cm]?[jt]sx?$/.test(b)) return b;
    const noExt = b.replace(/\.(js|jsx|mjs|cjs)$/, '');
    for (const ext of TS_EXTS) if (this.fileSet.has(noExt + ext)) return noExt + ext;
    for (const ext of TS_EXTS) if (this.fileSet.has(`${b}/index${ext}`)) return `${b}/index${ext}`;
    return undefined;
  }

  private tsAliases(): { prefix: string; targets: string[]; dir: string }[] {
    if (this.aliases) return this.aliases;
    const out: { prefix: string; targets: string[]; dir: string }[] = [];
    for (const f of this.files) {
      if (!/(^|\/)(tsconfig|jsconfig)[^/]*\.json$/.test(f)) continue;
      const text = this.text(f);
      if (!text) continue;
      let json: { compilerOptions?: { baseUrl?: string; paths?: Record<string, string[]> } };
      try {
        json = JSON.parse(text.replace(/^\s*\/\/.*$/gm, '').replace(/,(\s*[}\]])/g, '$1'));
      } catch {
        continue;
      }
      const dir = posix.dirname(f) === '.' ? '' : posix.dirname(f);
      const base = posix.join(dir, json.compilerOptions?.baseUrl ?? '.');
      for (const [key, targets] of Object.entries(json.compilerOptions?.paths ?? {})) {
        out.push({
          prefix: key.replace(/\*$/, ''),
          targets: targets.map((t) => t.replace(/\*$/, '')),
          dir: base,
        });
      }
    }
    out.sort((a, b) => b.prefix.length - a.prefix.length);
    this.aliases = out;
    return out;
  }

  private workspacePackages(): Map<string, string> {
    if (this.packages) return this.packages;
    const map = new Map<string, string>();
    for (const f of this.files) {
      if (!/(^|\/)package\.json$/.test(f) || f.includes('node_modules/')) continue;
      try {
        const name = JSON.parse(this.text(f) ?? '{}').name;
        if (typeof name === 'string') map.set(name, posix.dirname(f) === '.' ? '' : posix.dirname(f));
      } catch {
        // not JSON
      }
    }
    this.packages = map;
    return map;
  }

  private resolvePy(from: string, spec: string): string | undefined {
    const m = /^(\.*)(.*)$/.exec(spec);
    const dots = m?.[1].length ?? 0;
    const path = (m?.[2] ?? '').split('.').filter(Boolean).join('/');
    if (dots > 0) {
      let dir = posix.dirname(from);
      for (let i = 1; i < dots; i++) dir = posix.dirname(dir);
      const base = posix.join(dir === '.' ? '' : dir, path);
      return this.pyFile(base);
    }
    if (!path) return undefined;
    // Absolute: any file ending in <path>.py or <path>/__init__.py; prefer the one nearest `from`.
    const idx = this.pythonIndex();
    const cands = [...(idx.get(`${path}.py`) ?? []), ...(idx.get(`${path}/__init__.py`) ?? [])];
    if (cands.length === 0) return undefined;
    const fromDir = posix.dirname(from);
    cands.sort((a, b) => commonPrefix(b, fromDir) - commonPrefix(a, fromDir) || a.length - b.length);
    return cands[0];
  }

  private pyFile(base: string): string | undefined {
    const b = base.replace(/^\.\//, '').replace(/^\//, '');
    if (this.fileSet.has(`${b}.py`)) return `${b}.py`;
    if (this.fileSet.has(`${b}/__init__.py`)) return `${b}/__init__.py`;
    return undefined;
  }

  /** Every suffix `a/b/c.py`, `b/c.py`, `c.py` of Python files → files. */
  private pythonIndex(): Map<string, string[]> {
    if (this.pyIndex) return this.pyIndex;
    const idx = new Map<string, string[]>();
    for (const f of this.files) {
      if (!f.endsWith('.py')) continue;
      const parts = f.split('/');
      for (let i = 0; i < parts.length; i++) {
        const key = parts.slice(i).join('/');
        const list = idx.get(key);
        if (list) list.push(f);
        else idx.set(key, [f]);
      }
    }
    this.pyIndex = idx;
    return idx;
  }

  /** Files that import `file` (by text scan of import lines; cached). */
  importersOf(file: string): string[] {
    if (!this.importerIndex) this.importerIndex = this.buildImporterIndex();
    return this.importerIndex.get(file) ?? [];
  }

  private buildImporterIndex(): Map<string, string[]> {
    const idx = new Map<string, string[]>();
    for (const f of this.codeFiles()) {
      const text = this.text(f);
      if (!text) continue;
      for (const spec of importSpecsOf(f, text)) {
        const target = this.resolveImport(f, spec);
        if (!target || target === f) continue;
        const list = idx.get(target);
        if (list) {
          if (!list.includes(f)) list.push(f);
        } else idx.set(target, [f]);
      }
    }
    return idx;
  }

  /** Modules that import `file` and are parseable. */
  importerModules(file: string): ModuleInfo[] {
    return this.importersOf(file)
      .map((f) => this.module(f))
      .filter((m): m is ModuleInfo => m !== undefined);
  }

  /** Absolute path of a repository file. */
  abs(file: string): string {
    return join(this.root, file);
  }

  dirOf(file: string): string {
    return dirname(file);
  }
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

const TS_IMPORT_RE =
  /(?:^|\n)\s*(?:import\s[^'"`]*?from\s*["']([^"']+)["']|import\s*["']([^"']+)["']|export\s[^'"`]*?from\s*["']([^"']+)["'])|require\(\s*["']([^"']+)["']\s*\)|import\(\s*["']([^"']+)["']\s*\)/g;
const PY_IMPORT_RE = /^\s*(?:from\s+(\.*[\w.]*)\s+import\b|import\s+([\w.]+(?:\s*,\s*[\w.]+)*))/gm;

/** Import specifiers of a file, by regular expressions (no parse). */
function importSpecsOf(file: string, text: string): string[] {
  const out: string[] = [];
  if (file.endsWith('.py')) {
    for (const m of text.matchAll(PY_IMPORT_RE)) {
      if (m[1]) out.push(m[1]);
      else if (m[2]) for (const s of m[2].split(',')) out.push(s.trim());
    }
  } else {
    for (const m of text.matchAll(TS_IMPORT_RE)) {
      const s = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5];
      if (s) out.push(s);
    }
  }
  return out;
}
