/**
 * The audit's first pass: every listed file read once; the line rules of
 * rules.yaml run on its text (imports, key shapes, env-file keys, manifests,
 * alert rules, Markdown headings, gantry-ignore comments). Texts of code,
 * env and config files are kept for the code model (code/project.ts), so no
 * file is read twice.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listFiles, looksBinary, MAX_FILE_BYTES } from './files.ts';
import { loadRules, type RuleSet } from './rules.ts';

export interface Hit {
  rule: string;
  file: string;
  /** 1-based. */
  line: number;
  /** The matched line, trimmed, at most 200 characters. */
  text: string;
  /** Regex groups. */
  groups?: (string | undefined)[];
}

export interface ScanResult {
  root: string;
  files: string[];
  source: 'git' | 'walk';
  hits: Hit[];
  skipped: { file: string; reason: string }[];
  /** Texts kept for the code model: code, env and config files. */
  texts: Map<string, string>;
  byRule(rule: string): Hit[];
}

export interface ScanOptions {
  rules?: RuleSet;
  onProgress?: (done: number, total: number) => void;
}

const KEEP_TEXT = /\.([cm]?[jt]sx?|py|ya?ml|json|toml)$|(^|\/)\.env/;

export function scan(root: string, opts: ScanOptions = {}): ScanResult {
  const rules = opts.rules ?? loadRules();
  const listing = listFiles(root);
  const hits: Hit[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const texts = new Map<string, string>();
  const total = listing.files.length;
  listing.files.forEach((file, i) => {
    if (opts.onProgress && i % 250 === 0) opts.onProgress(i, total);
    const text = readText(root, file, skipped);
    if (text === undefined) return;
    if (KEEP_TEXT.test(file)) texts.set(file, text);
    runTextRules(rules, file, text, hits);
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
    texts,
    byRule: (rule) => index.get(rule) ?? [],
  };
}

function readText(
  root: string,
  file: string,
  skipped: { file: string; reason: string }[],
): string | undefined {
  const abs = join(root, file);
  let buf: Buffer;
  try {
    const st = statSync(abs);
    if (!st.isFile()) return undefined;
    if (st.size > MAX_FILE_BYTES) {
      skipped.push({ file, reason: `larger than ${MAX_FILE_BYTES} bytes` });
      return undefined;
    }
    buf = readFileSync(abs);
  } catch {
    return undefined; // listed by git but deleted in the work tree
  }
  if (looksBinary(buf)) return undefined;
  return buf.toString('utf8');
}

function runTextRules(rules: RuleSet, file: string, text: string, hits: Hit[]): void {
  const textRules = rules.text.filter(
    (r) => r.files.test(file) && (!r.prefilter || r.prefilter.some((p) => text.includes(p))),
  );
  if (textRules.length === 0) return;
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

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
