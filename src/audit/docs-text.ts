/**
 * Text of the audit docs that is derived from the code, so the two cannot
 * drift: the "What `gantry audit` looks at" section of docs/checks/<ID>.md is
 * the header comment of src/audit/checks/<ID>.ts, and the client-style table
 * of docs/audit.md is rendered from STYLES (src/audit/clients/styles.ts).
 * Tests compare; `node scripts/audit-docs.ts` rewrites both.
 */
import { readFileSync } from 'node:fs';
import { type Knob, STYLES } from './clients/styles.ts';

const CHECKS_DIR = new URL('./checks/', import.meta.url);

/** The header comment of an evaluator, without the leading `ID: `, as one paragraph. */
export function looksAt(id: string): string {
  const src = readFileSync(new URL(`${id}.ts`, CHECKS_DIR), 'utf8');
  const m = /\/\*\*([\s\S]*?)\*\//.exec(src);
  if (!m) throw new Error(`src/audit/checks/${id}.ts has no header comment`);
  const text = m[1]
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, ''))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!text.startsWith(`${id}: `)) throw new Error(`the header comment of ${id} must start with "${id}: "`);
  const rest = text.slice(id.length + 2);
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

/** Wraps a paragraph at `width` columns. */
export function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + w.length + 1 > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.join('\n');
}

/** A check page with its "looks at" section replaced by the evaluator's comment. */
export function withLooksAt(page: string, id: string): string {
  return page.replace(
    /(## What `gantry audit` looks at\n\n)([\s\S]*?)(\n\n## )/,
    (_all, head: string, _body: string, tail: string) => `${head}${wrap(looksAt(id))}${tail}`,
  );
}

const knob = (k: Knob | undefined): string => {
  if (!k || k.keys.length === 0) return k?.default === 0 ? 'none: 0 unless a retry wrapper is in scope' : '—';
  const keys = k.keys.map((x) => `\`${x}\``).join(', ');
  if (k.defaultText) return `${keys} (${k.defaultText})`;
  if (k.default === undefined) return keys;
  const d =
    k.default === null
      ? 'default: none'
      : `default ${k.default}${k.unit === 's' ? ' s' : k.unit === 'ms' ? ' ms' : ''}`;
  return `${keys} (${d})`;
};

/** The client-style table of docs/audit.md. */
function styleTable(): string {
  const rows = Object.values(STYLES).map(
    (s) =>
      `| ${s.title} | ${s.recognised} | ${knob(s.retries)} | ${knob(s.timeout)} | ${knob(s.maxTokens)} | ${s.knobsOn} |`,
  );
  return [
    '| client style | how it is recognised | retries (ERR-2) | timeout (REL-1) | max_tokens (COST-5) | knobs read on |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** docs/audit.md with the style table between its markers replaced. */
export function withStyleTable(doc: string): string {
  return doc.replace(
    /(<!-- styles:start[^\n]*-->\n)([\s\S]*?)(<!-- styles:end -->)/,
    (_all, head: string, _body: string, tail: string) => `${head}${styleTable()}\n${tail}`,
  );
}
