/**
 * Loads src/audit/rules.yaml: the line rules of the first pass (scan.ts) and
 * the libraries that provide a control, by module name. Validated here so a
 * typo in the data fails loudly. Code is read through the code model
 * (src/audit/code/), not through these rules.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface TextRule {
  id: string;
  files: RegExp;
  regex: RegExp;
  /** The file must contain one of these for the rule to run. */
  prefilter?: string[];
}

export interface RuleSet {
  text: TextRule[];
  libraries: Record<string, string[]>;
}

let cached: RuleSet | undefined;

export function loadRules(path: URL | string = new URL('./rules.yaml', import.meta.url)): RuleSet {
  if (cached && path instanceof URL && path.href === new URL('./rules.yaml', import.meta.url).href)
    return cached;
  const doc = parse(readFileSync(path, 'utf8')) as {
    text?: unknown[];
    libraries?: Record<string, string[]>;
  };
  const seen = new Set<string>();
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
  const rules = { text, libraries: doc.libraries ?? {} };
  if (path instanceof URL) cached = rules;
  return rules;
}
