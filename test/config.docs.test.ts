/**
 * The config schema, docs/configuration.md and gantry.example.yaml say the
 * same thing (issue 14.8). The keys come from the zod schema itself
 * (test/config-keys.ts), so a key added anywhere fails here until it is
 * documented and shown; each failure names the key and the file to change.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isMap, isPair, isScalar, isSeq, type Node, parse, parseDocument } from 'yaml';
import { documentPaths, recordPaths, schemaKeys } from './config-keys.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const keys = schemaKeys();
const byPath = new Map(keys.map((k) => [k.path, k]));
const records = recordPaths(keys);
const sectionOf = (path: string) => path.split(/[.[]/)[0];

/** The rows of docs/configuration.md's "Every key" tables: path → default cell (one entry per row). */
function documentedRows(): Array<{ path: string; defaultCell: string }> {
  const doc = read('docs/configuration.md');
  const start = doc.indexOf('## Every key');
  assert.ok(start >= 0, 'docs/configuration.md has no "## Every key" section');
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `([^`]+)` \| (.*?) \| .* \|$/gm)].map((m) => ({
    path: m[1],
    defaultCell: m[2],
  }));
}

describe('docs/configuration.md lists every key of the schema, once, with its default', () => {
  const rows = documentedRows();

  test('every schema key has a row', () => {
    const documented = new Set(rows.map((r) => r.path));
    const missing = keys.filter((k) => !documented.has(k.path));
    assert.deepEqual(
      missing.map(
        (k) =>
          `${k.path}: add a row to the \`${sectionOf(k.path)}\` table under "## Every key" in docs/configuration.md`,
      ),
      [],
    );
  });

  test('each key is listed once, and only keys of the schema', () => {
    const seen = new Map<string, number>();
    for (const r of rows) seen.set(r.path, (seen.get(r.path) ?? 0) + 1);
    assert.deepEqual(
      [...seen]
        .filter(([, n]) => n > 1)
        .map(([p, n]) => `${p} is listed ${n} times in docs/configuration.md`),
      [],
    );
    assert.deepEqual(
      rows
        .filter((r) => !byPath.has(r.path))
        .map((r) => `docs/configuration.md lists ${r.path}, which is not a key of the schema`),
      [],
    );
  });

  test('a documented default is the default', () => {
    const wrong: string[] = [];
    for (const r of rows) {
      const k = byPath.get(r.path);
      if (!k?.hasDefault) continue;
      const cell = /^`(.*)`$/.exec(r.defaultCell)?.[1];
      if (cell === undefined) {
        wrong.push(
          `${r.path}: the default cell should be \`${JSON.stringify(k.default)}\` (as YAML), not ${r.defaultCell}`,
        );
        continue;
      }
      const parsed = k.schema.safeParse(parse(cell));
      if (!parsed.success || JSON.stringify(parsed.data) !== JSON.stringify(k.default))
        wrong.push(
          `${r.path}: docs/configuration.md says ${r.defaultCell}, the schema's default is ${JSON.stringify(k.default)}`,
        );
    }
    assert.deepEqual(wrong, []);
  });
});

describe('gantry.example.yaml shows every key, and its defaults are the defaults', () => {
  const text = read('gantry.example.yaml');

  test('every schema key appears in the example', () => {
    const present = documentPaths(parse(text), records);
    const missing = keys.filter((k) => !k.path.endsWith('[]') && !present.has(k.path));
    assert.deepEqual(
      missing.map((k) => `${k.path}: show it in gantry.example.yaml (under ${sectionOf(k.path)}:)`),
      [],
    );
  });

  /** Lists and maps the user fills in: their values are examples. */
  const EXAMPLES = [
    'environments',
    'clients',
    'limits.overall',
    'limits.environments',
    'alerts.channels',
    'alerts.rules',
    'audit.waivers',
  ];
  const inExample = (path: string) =>
    EXAMPLES.some((e) => path === e || path.startsWith(`${e}.`) || path.startsWith(`${e}[`));

  test('outside the example lists, a value is the default, or marked "example" when the key has none', () => {
    const doc = parseDocument(text);
    const lines = text.split('\n');
    const wrong: string[] = [];
    const walk = (node: unknown, p: string) => {
      if (isSeq(node)) {
        for (const item of node.items) walk(item, `${p}[]`);
        return;
      }
      if (!isMap(node)) return;
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const path = records.has(p) ? `${p}.<name>` : p ? `${p}.${pair.key.value}` : String(pair.key.value);
        const k = byPath.get(path);
        const value = pair.value as Node | null;
        const lineNo = text.slice(0, pair.key.range?.[0] ?? 0).split('\n').length;
        const line = lines[lineNo - 1];
        if (k && !k.container && !inExample(path)) {
          const v = (value as { toJSON(): unknown } | null)?.toJSON();
          if (k.hasDefault) {
            const parsed = k.schema.safeParse(v);
            if (!parsed.success || JSON.stringify(parsed.data) !== JSON.stringify(k.default))
              wrong.push(
                `gantry.example.yaml line ${lineNo}: ${path} is ${JSON.stringify(v)}, its default is ${JSON.stringify(k.default)}`,
              );
          } else if (!/#.*\bexample\b/.test(line)) {
            wrong.push(
              `gantry.example.yaml line ${lineNo}: ${path} has no default; mark its value "# example"`,
            );
          }
        }
        walk(value, path);
      }
    };
    walk(doc.contents, '');
    assert.deepEqual(wrong, []);
  });
});
