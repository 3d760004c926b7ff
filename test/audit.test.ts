/**
 * Every checklist id asserted both ways on fixture projects (TypeScript and
 * Python): the outcome, and the evidence (file:line or config key) that
 * explains it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runAudit } from '../src/audit/audit.ts';
import { CHECK_IDS } from '../src/audit/checks-table.ts';
import type { AuditReport, CheckResult, Outcome } from '../src/audit/result.ts';
import { lookalikeKey, materialize } from './audit-support.ts';

const reports: Record<string, AuditReport> = {};
const NOW = new Date('2026-11-28T00:00:00Z');

before(() => {
  for (const name of ['ts-fail', 'ts-pass', 'py-fail', 'py-pass', 'gateway']) {
    reports[name] = runAudit(materialize(name), { now: NOW });
  }
  const empty = mkdtempSync(join(tmpdir(), 'gantry-audit-empty-'));
  writeFileSync(join(empty, 'README.md'), '# A project that does not call Claude\n');
  reports.empty = runAudit(empty, { now: NOW });
});

function check(project: string, id: string): CheckResult {
  const c = reports[project].checks.find((x) => x.id === id);
  assert.ok(c, `${id} in ${project}`);
  return c;
}

/** Where and what: every `file:line message` of findings (live or suppressed) and evidence. */
function evidenceText(c: CheckResult): string {
  return [...c.findings, ...c.evidence]
    .map((e) => `${e.file ?? ''}:${e.line ?? ''} ${e.key ?? ''} ${e.message}`)
    .join('\n');
}

type Case = [project: string, outcome: Outcome, evidence: RegExp];
/** For each id: a case that does not pass (fail/warn/manual/n-a as the check allows) and one that does. */
const CASES: Record<string, { bad: Case[]; good: Case[] }> = {
  'KEY-1': {
    bad: [['empty', 'n/a', /^$/]],
    good: [['gateway', 'manual', /gantry\.yaml:\d+ environments\.prod .*env:ANTHROPIC_API_KEY_PROD/]],
  },
  'KEY-2': {
    bad: [['ts-fail', 'fail', /\.env\.production:1 .*tracked file[\s\S]*src\/client\.ts:3 .*tracked file/]],
    good: [
      ['ts-pass', 'pass', /^$/],
      ['py-pass', 'pass', /^$/],
    ],
  },
  'KEY-3': {
    bad: [['ts-fail', 'fail', /package\.json:1 .*KEY-ROTATION\.md/]],
    good: [['ts-pass', 'pass', /docs\/KEY-ROTATION\.md:1/]],
  },
  'KEY-4': {
    bad: [['ts-fail', 'fail', /\.env\.production:1 .*same key value[\s\S]*\.env\.staging:1/]],
    good: [
      ['ts-pass', 'pass', /src\/client\.ts:7 .*ANTHROPIC_API_KEY_PROD/],
      ['gateway', 'pass', /gantry\.yaml:\d+ environments\.staging/],
    ],
  },
  'ERR-1': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:7 .*no API error kind is distinguished[\s\S]*src\/chat\.ts:21 /],
      [
        'py-fail',
        'warn',
        /app\/main\.py:22 .*does not distinguish authentication_error, invalid_request_error, api_error, overloaded_error[\s\S]*app\/main\.py:23 .*handles rate_limit_error/,
      ],
    ],
    good: [
      [
        'ts-pass',
        'pass',
        /handles rate_limit_error[\s\S]*handles overloaded_error|handles overloaded_error[\s\S]*handles rate_limit_error/,
      ],
      ['py-pass', 'pass', /app\/main\.py:\d+ .*handles authentication_error/],
    ],
  },
  'ERR-2': {
    bad: [
      [
        'ts-fail',
        'fail',
        /src\/client\.ts:3 .*default is 2[\s\S]*src\/client\.ts:4 .*maxRetries gives 8 retries[\s\S]*src\/client\.ts:5 .*could not resolve the retry setting: environment variable RETRIES/,
      ],
      ['py-fail', 'fail', /app\/main\.py:8 .*max_retries gives 1 retry; expected 3-5/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/client\.ts:10 .*maxRetries: 4 retries/],
      ['py-pass', 'pass', /app\/main\.py:21 .*max_retries: 4 retries/],
    ],
  },
  'ERR-3': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:7 .*never logged with the upstream request-id/],
      ['py-fail', 'fail', /app\/main\.py:22 .*request-id/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:\d+ .*requestID/],
      ['py-pass', 'pass', /app\/main\.py:\d+ .*request_id/],
      ['gateway', 'pass', /docker-compose\.yaml:4 .*http:\/\/gantry:8787/],
    ],
  },
  'ERR-4': {
    bad: [['ts-fail', 'fail', /package\.json:1 .*no circuit breaker/]],
    good: [
      ['ts-pass', 'pass', /uses opossum/],
      ['py-pass', 'pass', /uses pybreaker/],
      ['gateway', 'pass', /gantry\.yaml:\d+ resilience\.breaker/],
    ],
  },
  'COST-1': {
    bad: [['ts-fail', 'manual', /^$/]],
    good: [['ts-pass', 'pass', /src\/chat\.ts:\d+ .*anthropic-ratelimit-requests-remaining/]],
  },
  'COST-2': {
    bad: [
      ['ts-fail', 'fail', /package\.json:1 .*no rate limiter/],
      ['py-fail', 'fail', /requirements\.txt:1/],
    ],
    good: [
      ['ts-pass', 'pass', /uses bottleneck/],
      ['py-pass', 'pass', /uses slowapi/],
      ['gateway', 'pass', /client support-bot has limits/],
    ],
  },
  'COST-3': {
    bad: [['ts-fail', 'manual', /^$/]],
    good: [['gateway', 'pass', /gantry\.yaml:\d+ limits\.overall\.budget/]],
  },
  'COST-4': {
    bad: [
      [
        'ts-fail',
        'fail',
        /src\/health\.ts:6 .*unknown model id claude-haiku-4-20250514; did you mean claude-haiku-4-5/,
      ],
      ['py-fail', 'fail', /app\/main\.py:14 .*claude-3-haiku-20240307 is retired/],
    ],
    good: [
      ['ts-pass', 'manual', /uses claude-haiku-4-5-20251001/],
      ['py-pass', 'manual', /uses claude-sonnet-5-5/],
    ],
  },
  'COST-5': {
    bad: [
      [
        'ts-fail',
        'fail',
        /src\/chat\.ts:9 .*max_tokens 200000 exceeds claude-sonnet-4-5-20250929's maximum of 64000[\s\S]*could not resolve max_tokens: parameter `budget` of summarise/,
      ],
      ['py-fail', 'fail', /app\/main\.py:22 .*max_tokens 100000 exceeds/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:15 .*max_tokens 1024/],
      ['gateway', 'pass', /app\/main\.py:10 .*max_tokens 512/],
    ],
  },
  'COST-6': {
    bad: [
      [
        'ts-fail',
        'fail',
        /src\/chat\.ts:10 .*system prompt \+ tools of ~\d+ tokens \(minimum cacheable 1024\) sent without cache_control/,
      ],
    ],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:16 .*~\d+ tokens, cached/],
      ['py-fail', 'n/a', /^$/],
    ],
  },
  'REL-1': {
    bad: [
      [
        'ts-fail',
        'fail',
        /src\/client\.ts:3 .*timeout not set: a default of 10 min[\s\S]*src\/client\.ts:4 .*timeout is 10 min; expected 60-120 s/,
      ],
      ['py-fail', 'fail', /app\/main\.py:8 .*default of 10 min[\s\S]*app\/main\.py:9 .*timeout is 10 min/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/client\.ts:10 .*timeout 90 s/],
      ['py-pass', 'pass', /app\/main\.py:21 .*timeout 90 s/],
    ],
  },
  'REL-2': {
    bad: [['ts-fail', 'manual', /^$/]],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:\d+ .*fallback: breaker\.fallback/],
      ['py-pass', 'pass', /app\/main\.py:\d+ .*degraded answer: ask_fallback/],
    ],
  },
  'REL-3': {
    bad: [
      ['ts-fail', 'fail', /src\/health\.ts:5 .*probes with an unknown model id \(claude-haiku-4-20250514\)/],
      ['py-fail', 'fail', /app\/main\.py:1[23] .*probes with a retired model \(claude-3-haiku-20240307\)/],
      ['gateway', 'n/a', /^$/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/health\.ts:5 .*count_tokens/],
      ['py-pass', 'pass', /app\/main\.py:2[67] .*count_tokens/],
    ],
  },
  'OBS-1': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:13 .*console\.log\('reply', r\.content\)/],
      ['py-fail', 'fail', /app\/main\.py:20 .*logger\.info/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:\d+ .*console\.log\('template', prompt\)/],
      ['py-pass', 'pass', /^$/],
    ],
  },
  'OBS-2': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:7 .*no latency metric around this call/],
      ['gateway', 'fail', /app\/main\.py:10 .*no latency metric/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:\d+ .*latency recorded: latency\.startTimer\(\)/],
      ['py-pass', 'pass', /app\/main\.py:\d+ .*latency recorded: latency\.time\(\)/],
    ],
  },
  'OBS-3': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:7 .*token usage of this call is never read/],
      ['py-fail', 'fail', /app\/main\.py:22 .*token usage/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:\d+ .*reads cache read tokens/],
      ['py-pass', 'pass', /app\/main\.py:\d+ .*reads cache write tokens/],
      ['gateway', 'pass', /ANTHROPIC_BASE_URL/],
    ],
  },
  'OBS-4': { bad: [['ts-fail', 'manual', /^$/]], good: [['gateway', 'pass', /client support-bot/]] },
  'OBS-5': {
    bad: [
      ['ts-fail', 'fail', /no alert rules/],
      ['py-fail', 'fail', /requirements\.txt:1/],
    ],
    good: [
      ['ts-pass', 'pass', /ops\/alerts\.yaml:\d+ .*ClaudeHigh5xxRate/],
      ['py-pass', 'pass', /deploy\.yaml:\d+ .*ClaudeErrorRate/],
      ['gateway', 'pass', /gantry\.yaml:\d+ alerts/],
    ],
  },
  'SAFE-1': {
    bad: [['empty', 'n/a', /^$/]],
    good: [['ts-fail', 'manual', /src\/chat\.ts:10 .*system prompt/]],
  },
  'SAFE-2': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:7 .*not length-limited/],
      ['py-fail', 'fail', /app\/main\.py:22 .*not length-limited/],
    ],
    good: [
      ['ts-pass', 'pass', /src\/chat\.ts:\d+ .*userInput\.length > MAX_INPUT_CHARS/],
      ['py-pass', 'pass', /len\(user_input\) > MAX_INPUT_CHARS/],
    ],
  },
  'SAFE-3': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:7 .*not scanned for secrets or PII/],
      ['py-fail', 'fail', /app\/main\.py:22 .*not scanned/],
    ],
    good: [
      ['ts-pass', 'pass', /redactSecrets/],
      ['py-pass', 'pass', /uses presidio_analyzer/],
    ],
  },
  'SAFE-4': {
    bad: [
      ['ts-fail', 'fail', /src\/chat\.ts:7 .*not moderated/],
      ['py-fail', 'fail', /app\/main\.py:22 .*not moderated/],
    ],
    good: [
      ['ts-pass', 'pass', /moderate\(/],
      ['py-pass', 'pass', /moderate_text\(/],
    ],
  },
  'INFRA-1': {
    bad: [
      ['ts-fail', 'fail', /k8s\/deployment\.yaml:8 .*Recreate/],
      ['py-fail', 'manual', /^$/],
    ],
    good: [
      ['ts-pass', 'pass', /k8s\/rollout\.yaml:2 .*Rollout/],
      ['py-pass', 'pass', /deploy\.yaml:7 .*RollingUpdate/],
    ],
  },
  'INFRA-2': {
    bad: [['ts-fail', 'fail', /ROLLBACK\.md/]],
    good: [['ts-pass', 'pass', /docs\/ROLLBACK\.md:1 .*When to roll back/]],
  },
  'INFRA-3': {
    bad: [
      ['ts-fail', 'warn', /docs\/RUNBOOK\.md:1 .*missing section\(s\): Error decision tree, Escalation/],
      ['py-fail', 'fail', /RUNBOOK\.md/],
    ],
    good: [['ts-pass', 'pass', /docs\/RUNBOOK\.md:1 .*Alerts/]],
  },
  'INFRA-4': {
    bad: [['ts-fail', 'fail', /ONCALL\.md/]],
    good: [['py-pass', 'pass', /docs\/ONCALL\.md:1 .*Escalation path/]],
  },
};

describe('gantry audit: every checklist id, both ways', () => {
  test('the cases cover every checklist id with a bad and a good case', () => {
    assert.deepEqual(Object.keys(CASES).sort(), [...CHECK_IDS].sort());
    for (const [id, c] of Object.entries(CASES)) {
      assert.ok(c.bad.length > 0 && c.good.length > 0, id);
      assert.ok(
        c.bad.some(([, o]) => o !== 'pass'),
        `${id}: the bad case must not pass`,
      );
    }
  });
  for (const [id, { bad, good }] of Object.entries(CASES)) {
    for (const [kind, cases] of [
      ['bad', bad],
      ['good', good],
    ] as const) {
      for (const [project, outcome, evidence] of cases) {
        test(`${id} ${kind}: ${project} → ${outcome}`, () => {
          const c = check(project, id);
          assert.equal(c.outcome, outcome, `${id} on ${project}: ${c.summary}\n${evidenceText(c)}`);
          if (evidence.source === '^$') {
            assert.equal(c.findings.filter((f) => !f.suppressed).length, 0);
          } else assert.match(evidenceText(c), evidence);
          assert.equal(c.docs, `docs/checks/${id}.md`);
          assert.ok(c.title && c.rationale && c.remediation);
        });
      }
    }
  }
});

describe('files and keys', () => {
  test('an ignored local .env is not a finding; a committed .env.production is', () => {
    const dir = materialize('ts-pass');
    writeFileSync(join(dir, '.env'), `ANTHROPIC_API_KEY=${lookalikeKey(1)}\n`);
    assert.equal(check2(runAudit(dir, { now: NOW }), 'KEY-2').outcome, 'pass');
    writeFileSync(join(dir, '.env.production'), `ANTHROPIC_API_KEY=${lookalikeKey(2)}\n`);
    const r = runAudit(dir, { now: NOW });
    assert.equal(check2(r, 'KEY-2').outcome, 'fail');
    assert.match(evidenceText(check2(r, 'KEY-2')), /\.env\.production:1/);
    assert.doesNotMatch(evidenceText(check2(r, 'KEY-2')), /^\.env:/m);
  });

  test('outside git, the walk skips node_modules, .git, dist and venv', () => {
    const dir = materialize('ts-pass', { git: false });
    for (const d of ['node_modules/x', 'dist', 'venv/lib']) {
      const p = join(dir, d);
      mkdirSync(p, { recursive: true });
      writeFileSync(join(p, 'leak.js'), `const k = '${lookalikeKey(3)}';\n`);
    }
    const r = runAudit(dir, { now: NOW });
    assert.equal(check2(r, 'KEY-2').outcome, 'pass');
    writeFileSync(join(dir, 'src', 'leak.js'), `const k = '${lookalikeKey(4)}';\n`);
    assert.equal(check2(runAudit(dir, { now: NOW }), 'KEY-2').outcome, 'fail');
  });
});

function check2(r: AuditReport, id: string): CheckResult {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c);
  return c;
}

describe('suppressions and waivers', () => {
  test('gantry-ignore with a reason suppresses the finding on the next line', () => {
    const c = check('ts-pass', 'OBS-1');
    assert.equal(c.outcome, 'pass');
    assert.equal(c.findings.length, 1);
    assert.equal(c.findings[0].suppressed?.reason, 'prompt is the static template name, never user content');
    assert.match(c.summary, /suppressed/);
  });

  test('gantry-ignore without a reason suppresses nothing and is itself a finding', () => {
    const c = check('ts-fail', 'REL-1');
    const f = c.findings.find((x) => /without a reason/.test(x.message));
    assert.ok(f);
    assert.equal(f.file, 'src/client.ts');
    assert.equal(f.line, 6);
    assert.equal(f.level, 'warn');
  });

  test('a waiver with a future expiry keeps the outcome but stops it gating; an expired one does not apply', () => {
    const r = reports.gateway;
    const waived = check('gateway', 'SAFE-3');
    assert.equal(waived.outcome, 'fail');
    assert.deepEqual(waived.waiver, {
      reason: 'output scanning ships with the safety stage (OPS-42)',
      expires: '2099-12-31',
    });
    const expired = check('gateway', 'SAFE-4');
    assert.equal(expired.outcome, 'fail');
    assert.equal(expired.waiver, undefined);
    assert.ok(r.notes.some((n) => /waiver for SAFE-4 expired on 2020-01-01/.test(n)));
  });

  test('a waiver stops applying the day after it expires', () => {
    const dir = materialize('gateway');
    const on = runAudit(dir, { now: new Date('2099-12-31T12:00:00Z') });
    assert.ok(check2(on, 'SAFE-3').waiver);
    const after = runAudit(dir, { now: new Date('2100-01-01T00:00:01Z') });
    assert.equal(check2(after, 'SAFE-3').waiver, undefined);
  });
});
