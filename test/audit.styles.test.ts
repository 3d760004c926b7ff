/**
 * Every call-site check × every client style × each outcome the check has:
 * the fixture projects of test/audit-styles.ts (pass / fail / warn variants
 * of the same app, written in each library's idiom) audited for real.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runAudit } from '../src/audit/audit.ts';
import type { AuditReport, Outcome } from '../src/audit/result.ts';
import { ALL_STYLES, project, type StyleFixture, type Variant } from './audit-styles/index.ts';

const NOW = new Date('2026-12-01T00:00:00Z');

/** What each variant yields for the checks read at call sites. */
const EXPECTED: Record<Variant, Record<string, Outcome>> = {
  pass: {
    'ERR-1': 'pass',
    'ERR-2': 'pass',
    'ERR-3': 'pass',
    'COST-4': 'manual',
    'COST-5': 'pass',
    'COST-6': 'pass',
    'REL-1': 'pass',
    'REL-2': 'pass',
    'OBS-1': 'pass',
    'OBS-2': 'pass',
    'OBS-3': 'pass',
    'SAFE-2': 'pass',
    'SAFE-3': 'pass',
    'SAFE-4': 'pass',
  },
  fail: {
    'ERR-1': 'fail',
    'ERR-2': 'fail',
    'ERR-3': 'fail',
    'COST-4': 'fail',
    'COST-5': 'fail',
    'COST-6': 'fail',
    'REL-1': 'fail',
    'REL-2': 'manual',
    'OBS-1': 'fail',
    'OBS-2': 'fail',
    'OBS-3': 'fail',
    'SAFE-2': 'fail',
    'SAFE-3': 'fail',
    'SAFE-4': 'fail',
  },
  warn: {
    'ERR-1': 'warn',
    'ERR-2': 'warn',
    'COST-5': 'warn',
    'COST-6': 'warn',
    'REL-1': 'warn',
    'OBS-2': 'warn',
    'OBS-3': 'warn',
  },
};

/**
 * Where a style has no such setting, the check cannot take some outcomes: the
 * Claude Agent SDK has no retry, timeout or max_tokens option and caches its
 * prompts itself.
 */
const NOT_APPLICABLE: Record<string, Record<string, Outcome>> = {
  'agent-sdk': { 'ERR-2': 'manual', 'REL-1': 'manual', 'COST-5': 'n/a', 'COST-6': 'pass' },
};

/**
 * A model retired on the Anthropic API may still be served by Bedrock or
 * Vertex AI, whose lifecycles the catalog does not hold: `warn`, not `fail`.
 */
const PLATFORM_IDS = /^(bedrock|vertex)/;

function expected(s: StyleFixture, v: Variant): Record<string, Outcome> {
  const over = NOT_APPLICABLE[s.id.replace(/-(ts|py)$/, '')] ?? {};
  const out = { ...EXPECTED[v] };
  for (const [id, o] of Object.entries(over)) out[id] = o;
  if (v === 'fail' && PLATFORM_IDS.test(s.id)) out['COST-4'] = 'warn';
  return out;
}

function audit(s: StyleFixture, v: Variant): AuditReport {
  const dir = mkdtempSync(join(tmpdir(), `gantry-style-${s.id}-${v}-`));
  for (const [name, text] of Object.entries(project(s, v))) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return runAudit(dir, { now: NOW });
}

for (const s of ALL_STYLES) {
  describe(`client style ${s.id}`, () => {
    for (const v of ['pass', 'fail', 'warn'] as const) {
      test(`${v} variant`, () => {
        const r = audit(s, v);
        const got: Record<string, string> = {};
        const want = expected(s, v);
        for (const id of Object.keys(want)) {
          const c = r.checks.find((x) => x.id === id);
          const first = c?.findings[0] ?? c?.evidence[0];
          got[id] =
            `${c?.outcome}${c?.outcome === want[id] ? '' : ` (${c?.summary}; ${first?.file}:${first?.line} ${first?.message})`}`;
        }
        assert.deepEqual(got, want);
      });
    }
  });
}

test('the matrix covers every outcome each call-site check has, in TypeScript and Python', () => {
  const seen = new Map<string, Set<string>>();
  for (const s of ALL_STYLES)
    for (const v of ['pass', 'fail', 'warn'] as const)
      for (const [id, o] of Object.entries(expected(s, v))) {
        const key = `${id} ${s.lang}`;
        if (!seen.has(key)) seen.set(key, new Set());
        seen.get(key)?.add(o);
      }
  for (const id of ['ERR-1', 'ERR-2', 'COST-5', 'COST-6', 'REL-1', 'OBS-2', 'OBS-3'])
    for (const lang of ['ts', 'py'])
      assert.deepEqual(
        [...(seen.get(`${id} ${lang}`) ?? [])].sort().filter((o) => o !== 'manual' && o !== 'n/a'),
        ['fail', 'pass', 'warn'],
      );
});
