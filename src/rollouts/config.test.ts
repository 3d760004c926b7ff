/**
 * The `rollouts:` and `prompts:` sections: defaults (the checklist's guard
 * thresholds), overrides and `null` to turn a guard off, and every problem
 * reported with its path (steps, clients, environments, prompts, catalog,
 * allow-lists, thinking without max_tokens, duplicates).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../config/load.ts';
import { GUARDS } from './guards.ts';

const CLIENTS = `
environments: { prod: { upstream_key: env:A }, canary: { upstream_key: env:B } }
clients:
  - { name: app, environment: prod, key_sha256: ${'a'.repeat(64)} }
  - { name: strict, environment: prod, key_sha256: ${'b'.repeat(64)}, policy: { models: [claude-haiku-4-5] } }
prompts:
  agent: { default: v1, versions: { v1: { text: one }, v2: { file: ./p/v2.md } } }
`;

const parse = (rollouts: string) =>
  parseConfig(`${CLIENTS}rollouts:\n${rollouts}`, { source: 'test.yaml', baseDir: '/srv/gantry' });
const problems = (rollouts: string): string => {
  try {
    parse(rollouts);
    return '';
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
};

test('defaults: the checklist guards, steps 1 → 100 %, ten-minute holds; overrides merge; null turns a guard off', () => {
  const c = parse(`  - id: r1
    clients: [app]
    baseline: { model: claude-haiku-4-5 }
    candidate: { model: claude-haiku-5-5, environment: canary, prompts: { agent: v2 } }
    steps: [1, { percent: 10, hold_ms: 5000 }, 100]
    guards: { latency_p99: { max: 20000 }, cost_per_request: null }
`);
  const r = c.rollouts[0];
  assert.deepEqual(
    r.steps.map((s) => [s.percent, s.holdMs, s.minRequests]),
    [
      [1, 600_000, 100],
      [10, 5_000, 100],
      [100, 600_000, 100],
    ],
  );
  assert.equal(r.windowMs, 300_000);
  assert.equal(r.minSamples, 20);
  assert.deepEqual(r.guards.error_rate_5xx, GUARDS.error_rate_5xx.defaults);
  assert.deepEqual(r.guards.error_rate_5xx, { max: 5, ratio: 1.5, margin: 1 });
  assert.deepEqual(r.guards.latency_p99, { max: 20_000, ratio: 1.5, margin: 10_000 });
  assert.deepEqual(r.guards.rate_429, { max: 20, ratio: 2, margin: 5 });
  assert.equal(r.guards.cost_per_request, undefined);
  assert.deepEqual(r.candidate, {
    name: 'candidate',
    model: 'claude-haiku-5-5',
    cacheTtl: '5m',
    environment: 'canary',
    prompts: { agent: 'v2' },
  });
  assert.deepEqual(c.prompts[0].versions.v2, { file: '/srv/gantry/p/v2.md' });
  assert.deepEqual(parseConfig('{}', { source: 'x', baseDir: '/' }).rollouts, []);
});

test('every problem is reported with its path', () => {
  const text = problems(`  - id: r1
    clients: [app, ghost]
    baseline: { model: claude-haiku-4-5 }
    candidate: { model: claude-haiku-5-5, environment: moon, prompts: { agent: v9, other: v1 }, thinking: { type: enabled, budget_tokens: 2048 } }
    steps: [5, 5, 50]
  - id: r1
    clients: [app, strict]
    candidate: { model: claude-sonnet-4-6 }
  - id: r3
    clients: [app]
    candidate: { model: claude-nonexistent-9 }
    guards: { error_rate_5xx: { max: -1 }, made_up: null }
`);
  for (const expected of [
    /rollouts\[0\]\.clients\[1\]: no client "ghost" in clients/,
    /rollouts\[0\]\.candidate\.environment: no environment "moon"/,
    /rollouts\[0\]\.candidate\.prompts\.agent: prompt "agent" has no version "v9"/,
    /rollouts\[0\]\.candidate\.prompts\.other: no prompt "other" in prompts/,
    /rollouts\[0\]\.candidate\.max_tokens: an arm with thinking budget_tokens sets max_tokens above the budget/,
    /rollouts\[0\]\.steps\[1\]: steps are percentages above 0 and at most 100, each above the one before/,
    /rollouts\[0\]\.steps: the last step is 100/,
    /rollouts\[1\]\.id: duplicate rollout id "r1"/,
    /rollouts\[1\]\.clients\[0\]: client "app" is already in rollout "r1" for the same requests/,
    /rollouts\[1\]\.candidate\.model: claude-sonnet-4-6 is not in the allow-list \(policy\.models\) of client "strict"/,
    /rollouts\[2\]\.candidate\.model: claude-nonexistent-9 is not a known model/,
    /rollouts\[2\]\.guards\.error_rate_5xx\.max/,
    /rollouts\[2\]\.guards\.made_up/,
  ]) {
    assert.match(text, expected);
  }
});
