/**
 * The docs say what the CLI does, and tests keep them so (issue 14.8):
 * - docs/cli.md lists every command with each of its options, and nothing else;
 * - its exit-code table is `EXIT_CODES` (src/cli/errors.ts);
 * - `simulate --help` lists the simulator's profiles and tiers, as docs/simulator.md does;
 * - commands in README.md and docs/ run in a fresh clone: `npx gantry …` or
 *   `node bin/gantry.js …`, never a bare `gantry` that is not on the PATH;
 * - docs/claude-code.md's protocol table names exactly the tests of
 *   test/claude-code.protocol.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT_CODES } from '../src/cli/errors.ts';
import { buildProgram, SIMULATOR_PROFILES, SIMULATOR_TIERS } from '../src/cli/main.ts';
import { PROFILE_NAMES, TIER_NAMES } from '../src/simulator/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Every command that runs (no subcommands), with its long options. */
function leaves(cmd: Command, prefix: string[] = []): Array<{ path: string; options: string[] }> {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    if (c.commands.length > 0) return leaves(c, path);
    return [{ path: path.join(' '), options: c.options.map((o) => o.long).filter((l): l is string => !!l) }];
  });
}

/** docs/cli.md command rows: the command path and the options the row's first cell names. */
function docRows(): Array<{ path: string; options: string[]; cell: string }> {
  const rows: Array<{ path: string; options: string[]; cell: string }> = [];
  for (const line of read('docs/cli.md').split('\n')) {
    const m = /^\| `gantry ([^`]+)`/.exec(line);
    if (!m) continue;
    const words = m[1].split(' ');
    const path: string[] = [];
    for (const w of words) {
      if (/^[[<-]/.test(w)) break;
      path.push(w);
    }
    rows.push({
      path: path.join(' '),
      options: [...m[1].matchAll(/--[a-z][a-z-]*/g)].map((x) => x[0]),
      cell: m[1],
    });
  }
  return rows;
}

describe('docs/cli.md and the CLI', () => {
  const cli = leaves(buildProgram());
  const docs = docRows();

  test('every command is in docs/cli.md, with each of its options', () => {
    for (const c of cli) {
      const row = docs.find((r) => r.path === c.path);
      assert.ok(row, `docs/cli.md has no row for \`gantry ${c.path}\``);
      for (const o of c.options)
        assert.ok(row.options.includes(o), `docs/cli.md: \`gantry ${c.path}\` does not list ${o}`);
    }
  });

  test('docs/cli.md lists no command or option the CLI does not have', () => {
    for (const r of docs) {
      const c = cli.find((x) => x.path === r.path);
      assert.ok(c, `docs/cli.md lists \`gantry ${r.path}\`, which is not a command`);
      for (const o of r.options)
        assert.ok(c.options.includes(o), `docs/cli.md: \`gantry ${r.path}\` has no option ${o}`);
    }
  });

  test('the exit-code table is EXIT_CODES', () => {
    const doc = read('docs/cli.md');
    const table = doc.slice(doc.indexOf('## Exit codes'));
    const rows = [...table.matchAll(/^\| (\d) \| `(\w+)` \| (.+) \|$/gm)].map((m) => [
      Number(m[1]),
      m[2],
      m[3],
    ]);
    assert.deepEqual(
      rows,
      Object.entries(EXIT_CODES).map(([kind, e]) => [e.code, kind, e.meaning]),
    );
  });
});

describe('simulate --help and docs/simulator.md', () => {
  test('the help lists the simulator’s profiles and tiers', () => {
    assert.deepEqual([...SIMULATOR_PROFILES], [...PROFILE_NAMES]);
    assert.deepEqual([...SIMULATOR_TIERS], [...TIER_NAMES]);
    const simulate = buildProgram().commands.find((c) => c.name() === 'simulate')!;
    const help = simulate.helpInformation().replace(/\s+/g, ' ');
    for (const t of TIER_NAMES) assert.ok(help.includes(t), `simulate --help lacks tier ${t}`);
    for (const p of PROFILE_NAMES) assert.ok(help.includes(p), `simulate --help lacks profile ${p}`);
  });

  test('docs/simulator.md names the same tiers in its table and its --tier option', () => {
    const doc = read('docs/simulator.md');
    const documented = [...doc.matchAll(/^\| `(\w+)`\s+\|/gm)]
      .map((m) => m[1])
      .filter((t) => (TIER_NAMES as readonly string[]).includes(t));
    assert.deepEqual([...new Set(documented)].sort(), [...TIER_NAMES].sort());
  });
});

describe('commands in the docs run in a fresh clone', () => {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  test('no code block runs a bare `gantry` (use `npx gantry` or `node bin/gantry.js`)', () => {
    const bare: string[] = [];
    for (const file of files) {
      let inCode = false;
      read(file)
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*```/.test(line)) inCode = !inCode;
          else if (inCode && /^\s*(\$\s+)?(\w+=\S+\s+)*gantry\s/.test(line))
            bare.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(bare, [], `bare gantry commands:\n${bare.join('\n')}`);
  });
});

describe('docs/claude-code.md and the protocol tests', () => {
  test('the rule table names exactly the tests of test/claude-code.protocol.test.ts', () => {
    const norm = (s: string) => s.replace(/[’`]/g, "'").replace(/\\\|/g, '|').trim();
    const source = read('test/claude-code.protocol.test.ts');
    const titles = [...source.matchAll(/test\(\s*'((?:[^'\\]|\\.)+)'/g)].map((m) => norm(m[1]));
    const doc = read('docs/claude-code.md');
    const table = doc.slice(doc.indexOf('## The gateway protocol, rule by rule'));
    const named = [...table.matchAll(/^\| [^|]+ \| ([^|]+) \| [^|]+ \|$/gm)]
      .map((m) => norm(m[1]))
      .filter((t) => t !== 'test' && !t.startsWith("'test/"));
    assert.deepEqual([...named].sort(), [...titles].sort());
  });
});
