/**
 * The evaluator and the operator's actions, on a fake clock and fake windows:
 * promotion through every step only when each step's hold and request count
 * are met with every guard passing; a rollback on any guard breached
 * (absolute or relative to the baseline); no decision below `min_samples`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type RawRollout, resolveRollouts, rolloutsSchema } from './config.ts';
import { type ArmCounts, bucketOf, emptyCounts } from './counts.ts';
import { applyEvaluation, evaluate, initialState, operate, percentOf, type RolloutState } from './state.ts';

const config = resolveRollouts(
  rolloutsSchema.parse([
    {
      id: 'r1',
      clients: ['app'],
      baseline: { model: 'claude-sonnet-4-6' },
      candidate: { model: 'claude-sonnet-4-6' },
      steps: [1, 5, 25, 50, 100],
      hold_ms: 60_000,
      min_requests: 50,
      window_ms: 60_000,
      min_samples: 20,
    },
  ]) as RawRollout[],
)[0];

/** Counts of `n` requests with the given shares, latencies and costs. */
function arm(
  n: number,
  o: {
    e5xx?: number;
    r429?: number;
    auth?: number;
    latencyMs?: number;
    ttftMs?: number;
    costMicros?: number;
    maxTokens?: number;
  } = {},
): ArmCounts {
  const c = emptyCounts();
  c.requests = n;
  c.server = o.e5xx ?? 0;
  c.r429 = o.r429 ?? 0;
  c.auth = o.auth ?? 0;
  c.maxTokens = o.maxTokens ?? 0;
  c.costMicros = (o.costMicros ?? 1_000) * n;
  if (n > 0) c.latency[bucketOf(o.latencyMs ?? 800)] = n;
  if (n > 0 && o.ttftMs !== undefined) c.ttft[bucketOf(o.ttftMs)] = n;
  return c;
}

function started(now: number): RolloutState {
  const out = operate(config, initialState('r1'), 'start', now);
  assert.ok(!('refused' in out));
  return out.next;
}

const at = (
  now: number,
  state: RolloutState,
  base: ArmCounts,
  cand: ArmCounts,
  stepCandidate = cand.requests,
) =>
  evaluate({
    config,
    state,
    now,
    window: { baseline: base, candidate: cand, from: now - 60_000, to: now },
    step: { baseline: base.requests, candidate: stepCandidate },
  });

describe('evaluate', () => {
  test('a healthy candidate is promoted through every step to 100 %, each after its hold and request count', () => {
    let now = 1_000_000;
    let s = started(now);
    const seen: number[] = [percentOf(config, s)];
    for (let round = 0; round < 40 && s.status === 'running'; round++) {
      // Before the hold is over: hold, whatever the counts.
      const early = at(now + 30_000, s, arm(2_000), arm(200));
      assert.equal(early.verdict, 'hold');
      assert.match(early.reason, /held 30000 ms of 60000 ms/);
      // Hold over but too few candidate requests in the step: hold.
      const few = at(now + 60_000, s, arm(2_000), arm(200), 49);
      assert.equal(few.verdict, 'hold');
      assert.match(few.reason, /49 candidate requests in this step/);
      now += 60_000;
      const e = at(now, s, arm(2_000), arm(200));
      const applied = applyEvaluation(config, s, e, now);
      assert.ok(applied, e.reason);
      s = applied.next;
      seen.push(percentOf(config, s));
      assert.equal(applied.decision.by, 'guard');
      assert.ok(applied.decision.window, 'a decision carries its window figures');
    }
    assert.deepEqual(seen, [1, 5, 25, 50, 100, 100]);
    assert.equal(s.status, 'complete');
    assert.deepEqual(
      s.decisions.map((d) => d.action),
      ['started', 'promoted', 'promoted', 'promoted', 'promoted', 'completed'],
    );
  });

  test('no decision below min_samples, even with every candidate request failing', () => {
    const now = 5_000_000;
    const s = { ...started(now - 120_000) };
    const e = at(now, s, arm(1_000), arm(19, { e5xx: 19 }));
    assert.equal(e.verdict, 'hold');
    assert.match(e.reason, /fewer than min_samples \(20\)/);
    assert.equal(applyEvaluation(config, s, e, now), undefined);
    // The 20th sample decides.
    assert.equal(at(now, s, arm(1_000), arm(20, { e5xx: 20 })).verdict, 'rollback');
  });

  test('raised 5xx rolls back at once (absolute and relative bounds), whatever the hold', () => {
    const now = 2_000_000;
    const s = started(now - 1_000);
    // 2 % against a clean baseline: over 0 × 1.5 + 1 point (relative), under 5 % (absolute).
    const e = at(now, s, arm(1_000), arm(100, { e5xx: 2 }));
    assert.equal(e.verdict, 'rollback');
    assert.deepEqual(
      e.breaches.map((b) => [b.guard, b.bound, b.limit]),
      [['error_rate_5xx', 'relative', 1]],
    );
    const applied = applyEvaluation(config, s, e, now)!;
    assert.equal(applied.next.status, 'rolled_back');
    assert.equal(percentOf(config, applied.next), 0);
    assert.equal(applied.decision.action, 'rolled_back');
    assert.equal(applied.decision.window!.candidate.error_rate_5xx, 2);
    // A baseline at 4 %: 5 % on the candidate is within 4 × 1.5 + 1 but crosses the absolute 5 %? No: not above 5.
    assert.equal(at(now, s, arm(1_000, { e5xx: 40 }), arm(100, { e5xx: 5 })).verdict, 'hold');
    // 6 %: above the absolute bound whatever the baseline.
    const abs = at(now, s, arm(1_000, { e5xx: 60 }), arm(100, { e5xx: 6 }));
    assert.deepEqual(
      abs.breaches.map((b) => b.bound),
      ['absolute'],
    );
  });

  test('p99 latency and time to first token beyond their guards roll back', () => {
    const now = 3_000_000;
    const s = started(now - 1_000);
    // 45 s p99: above the checklist's critical 30 s.
    assert.equal(at(now, s, arm(500), arm(50, { latencyMs: 45_000 })).breaches[0].guard, 'latency_p99');
    // 12 s vs a 1 s baseline: above 1 × 1.5 + 10 s.
    assert.equal(
      at(now, s, arm(500, { latencyMs: 1_000 }), arm(50, { latencyMs: 12_000 })).verdict,
      'rollback',
    );
    assert.equal(at(now, s, arm(500, { latencyMs: 1_000 }), arm(50, { latencyMs: 10_000 })).verdict, 'hold');
    const ttft = at(now, s, arm(500, { ttftMs: 300 }), arm(50, { ttftMs: 2_500 }));
    assert.deepEqual(
      ttft.breaches.map((b) => b.guard),
      ['ttft_p99'],
    );
  });

  test('a 429 burst and any 401/403 roll back; 429s are compared at the candidate volume', () => {
    const now = 4_000_000;
    const s = started(now - 1_000);
    // 30 429s in a minute on the candidate: above 20 / min.
    assert.equal(at(now, s, arm(1_000), arm(100, { r429: 30 })).breaches[0].guard, 'rate_429');
    // Baseline 100 429s on 1,000 requests = 10 per 100: the candidate's 10 on 100 are the same rate.
    assert.equal(at(now, s, arm(1_000, { r429: 100 }), arm(100, { r429: 10 })).verdict, 'hold');
    assert.equal(at(now, s, arm(1_000), arm(100, { auth: 1 })).breaches[0].guard, 'auth_failures');
  });

  test('cost per request and truncation are judged relative to the baseline', () => {
    const now = 6_000_000;
    const s = started(now - 1_000);
    assert.equal(at(now, s, arm(500, { costMicros: 1_000 }), arm(50, { costMicros: 1_400 })).verdict, 'hold');
    assert.equal(
      at(now, s, arm(500, { costMicros: 1_000 }), arm(50, { costMicros: 1_600 })).breaches[0].guard,
      'cost_per_request',
    );
    assert.equal(at(now, s, arm(500), arm(50, { maxTokens: 10 })).breaches[0].guard, 'max_tokens_rate');
    // Relative bounds need the baseline's own min_samples: at 100 % (no baseline) only absolute bounds judge.
    assert.equal(at(now, s, arm(0), arm(50, { costMicros: 9_000 })).verdict, 'hold');
  });

  test('paused: never promoted, still rolled back on a breach', () => {
    const now = 7_000_000;
    const paused = operate(config, started(now - 600_000), 'pause', now - 1);
    assert.ok(!('refused' in paused));
    assert.equal(at(now, paused.next, arm(2_000), arm(200)).verdict, 'hold');
    assert.equal(at(now, paused.next, arm(2_000), arm(200, { e5xx: 50 })).verdict, 'rollback');
  });
});

describe('operate', () => {
  test('start, pause, resume, promote, abort; each a decision by the operator; refusals say why', () => {
    let s = initialState('r1');
    const step = (action: Parameters<typeof operate>[2], now: number) => {
      const out = operate(config, s, action, now);
      if ('refused' in out) return out.refused;
      s = out.next;
      return out.decision.action;
    };
    assert.match(String(step('pause', 1)), /only a running rollout can be paused; it is pending/);
    assert.equal(step('start', 10), 'started');
    assert.equal(s.runStartedAt, 10);
    assert.match(String(step('start', 11)), /already running/);
    assert.equal(step('pause', 12), 'paused');
    assert.equal(step('start', 13), 'resumed');
    assert.equal(s.step, 0);
    assert.equal(step('promote', 14), 'promoted');
    assert.equal(percentOf(config, s), 5);
    assert.equal(s.stepStartedAt, 14);
    assert.equal(step('abort', 15), 'aborted');
    assert.equal(percentOf(config, s), 0);
    assert.equal(step('start', 16), 'started');
    assert.equal(s.step, 0, 'a new run starts from the first step');
    assert.equal(s.version, 6);
    assert.ok(s.decisions.every((d) => d.by === 'operator'));
  });
});
