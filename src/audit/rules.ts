/**
 * Loads src/audit/rules.yaml: the structural (ast-grep) and line rules the
 * checks consume. Validated here so a typo in the data fails loudly.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface CodeRule {
  id: string;
  prefilter?: string[];
  /** Compiled from `prefilter_regex`. */
  prefilterRegex?: RegExp;
  options?: Record<string, string[]>;
  ts?: Record<string, unknown>;
  py?: Record<string, unknown>;
}

export interface TextRule {
  id: string;
  files: RegExp;
  regex: RegExp;
  /** The file must contain one of these for the rule to run. */
  prefilter?: string[];
}

export interface RuleSet {
  code: CodeRule[];
  text: TextRule[];
  libraries: Record<string, string[]>;
}

let cached: RuleSet | undefined;

export function loadRules(path: URL | string = new URL('./rules.yaml', import.meta.url)): RuleSet {
  if (cached && path instanceof URL && path.href === new URL('./rules.yaml', import.meta.url).href)
    return cached;
  const doc = parse(readFileSync(path, 'utf8')) as {
    code?: unknown[];
    text?: unknown[];
    libraries?: Record<string, string[]>;
  };
  const code: CodeRule[] = [];
  const seen = new Set<string>();
  for (const raw of doc.code ?? []) {
    const r = raw as CodeRule & { prefilter_regex?: string };
    if (typeof r.id !== 'string' || seen.has(r.id))
      throw new Error(`rules.yaml: bad or duplicate code rule id ${r.id}`);
    if (r.prefilter_regex) r.prefilterRegex = new RegExp(r.prefilter_regex);
    if (!r.prefilterRegex && (!Array.isArray(r.prefilter) || r.prefilter.length === 0))
      throw new Error(`rules.yaml: ${r.id}: prefilter or prefilter_regex required`);
    if (!r.ts && !r.py) throw new Error(`rules.yaml: ${r.id}: needs a ts or py rule`);
    seen.add(r.id);
    code.push(r);
  }
  const text: TextRule[] = [];
  for (const raw of doc.text ?? []) {
    const r = raw as { id: string; files: string; regex: string; prefilter?: string[] };
    if (typeof r.id !== 'string' || seen.has(r.id))
      throw new Error(`rules.yaml: bad or duplicate text rule id ${r.id}`);
    seen.add(r.id);
    text.push({
      id: r.id,
      files: new RegExp(r.files),
      regex: new RegExp(r.regex, 'g'),
      prefilter: r.prefilter,
    });
  }
  const rules = { code, text, libraries: doc.libraries ?? {} };
  if (path instanceof URL) cached = rules;
  return rules;
}
