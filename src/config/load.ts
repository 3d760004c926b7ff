/**
 * Finding, reading and validating gantry.yaml.
 *
 * Which file: `path` (from `--config`), else `$GANTRY_CONFIG`, else
 * `./gantry.yaml` when it exists, else the embedded defaults. An explicitly
 * named file that does not exist is an error, never a silent fallback.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { InternalError } from '../errors.ts';
import { type ConfigIssue, formatPath, type RawIssue } from './hints.ts';
import { looksLikeAnthropicKey, redactAnthropicKeys } from './mask.ts';
import { validateConfig } from './schema.ts';
import type { ResolvedConfig } from './types.ts';

const CONFIG_FILE_NAME = 'gantry.yaml';

/**
 * The config is invalid. `issues` lists every problem with its path; the
 * message lists them one per line. The CLI exits with `exitCode` (2).
 */
export class ConfigError extends InternalError {
  readonly exitCode = 2;
  /** Where the config came from: a file path, or `defaults`. */
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      'config_invalid',
      `invalid config ${source} (${count}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    this.source = source;
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}

/** `clients[1].key_sha256: expected 64 hex characters (line 12)`. */
function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? '' : ` (line ${issue.line})`;
  return issue.path ? `${issue.path}: ${issue.message}${where}` : `${issue.message}${where}`;
}

export interface LoadConfigOptions {
  /** Config file (from `--config`); relative to `cwd`. */
  path?: string;
  /** Where `GANTRY_CONFIG` is looked up (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Where `./gantry.yaml` is looked for and relative paths resolve (default `process.cwd()`). */
  cwd?: string;
}

/** The config file `loadConfig` would read, or `undefined` for the embedded defaults. */
export function findConfigFile(opts: LoadConfigOptions = {}): string | undefined {
  const cwd = opts.cwd ?? process.cwd();
  const named = opts.path || (opts.env ?? process.env).GANTRY_CONFIG;
  if (named) return resolve(cwd, named);
  const local = resolve(cwd, CONFIG_FILE_NAME);
  return existsSync(local) ? local : undefined;
}

/**
 * Loads and validates the config: returns it deeply frozen, or throws a
 * `ConfigError` listing every problem.
 *
 * @example
 * const config = loadConfig({ path: opts.config });
 * config.upstream.baseUrl; // 'https://api.anthropic.com'
 */
export function loadConfig(opts: LoadConfigOptions = {}): ResolvedConfig {
  const cwd = opts.cwd ?? process.cwd();
  const file = findConfigFile(opts);
  if (file === undefined) return parseConfig('', { source: 'defaults', baseDir: cwd });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'config file not found'
        : code === 'EACCES'
          ? 'config file is not readable (permission denied)'
          : code === 'EISDIR'
            ? 'config path is a directory, not a file'
            : `cannot read config file (${code ?? 'error'})`;
    throw new ConfigError(file, [{ path: '', message }]);
  }
  return parseConfig(text, { source: file, baseDir: dirname(file) });
}

export interface ParseConfigOptions {
  /** Recorded as `ResolvedConfig.source` and named in errors. */
  source: string;
  /** Relative `file:` references resolve against it. */
  baseDir: string;
}

/** Validates config text (YAML). Throws a `ConfigError` listing every problem. */
export function parseConfig(text: string, opts: ParseConfigOptions): ResolvedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      opts.source,
      doc.errors.map((err) => ({
        path: '',
        // Only the first line: the rest quotes the source text, which may hold a pasted key.
        message: `YAML syntax: ${redactAnthropicKeys(err.message.split('\n')[0])}`,
        line: lineCounter.linePos(err.pos[0]).line,
      })),
    );
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(opts.source, [
      { path: '', message: `YAML: ${redactAnthropicKeys((err as Error).message)}` },
    ]);
  }
  const result = validateConfig(document, opts.source, opts.baseDir);
  const issues: ConfigIssue[] = result.ok
    ? []
    : result.issues.map((i) => toIssue(i, doc.contents, lineCounter));

  // A key pasted into a comment is a leak too.
  const reportedLines = new Set(issues.map((i) => i.line));
  text.split('\n').forEach((line, i) => {
    if (looksLikeAnthropicKey(line) && !reportedLines.has(i + 1)) {
      issues.push({
        path: '',
        message: 'looks like an Anthropic API key (in a comment?); remove it from the file',
        line: i + 1,
      });
    }
  });

  if (issues.length > 0 || !result.ok) {
    issues.sort((a, b) => (a.line ?? Number.POSITIVE_INFINITY) - (b.line ?? Number.POSITIVE_INFINITY));
    throw new ConfigError(opts.source, issues);
  }
  return result.config;
}

function toIssue(issue: RawIssue, contents: unknown, lineCounter: LineCounter): ConfigIssue {
  const offset = offsetOf(contents, issue.path);
  const out: ConfigIssue = { path: formatPath(issue.path), message: issue.message };
  if (offset !== undefined) out.line = lineCounter.linePos(offset).line;
  return out;
}

/** Source offset of the deepest node on `path` (for a map entry, its key). */
function offsetOf(contents: unknown, path: PropertyKey[]): number | undefined {
  let node = contents as Node | null | undefined;
  let offset = node?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment] as Node | null;
      offset = node?.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}
