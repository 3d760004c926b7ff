/**
 * A rollout's state and the rules that move it: the pure evaluator (guards
 * over a window → roll back, promote, complete or hold) and the operator's
 * actions (start, pause, promote, abort). No clock, no I/O: callers pass
 * `now` and the window's counts, so the rules are tested with fake clocks.
 *
 * Statuses:
 *
 * | status | candidate share | moves to |
 * |---|---|---|
 * | `pending` | 0 (never started) | `running` (start) |
 * | `running` | the current step's percent | `paused`, next step, `complete`, `rolled_back`, `aborted` |
 * | `paused` | the current step's percent, frozen (no promotion; a breach still rolls back) | `running` (start), next step (promote), `rolled_back`, `aborted` |
 * | `rolled_back` | 0: a guard was breached | `running` (start again from the first step) |
 * | `aborted` | 0: the operator stopped it | `running` (start again) |
 * | `complete` | 100: every step passed | `running` (start again) |
 */
import type { RolloutConfig } from './config.ts';
import type { ArmCounts } from './counts.ts';
import { type ArmFigures, type Breach, figuresOf, type GuardReading, readGuards } from './guards.ts';

const STATUSES = ['pending', 'running', 'paused', 'rolled_back', 'aborted', 'complete'] as const;
export type RolloutStatus = (typeof STATUSES)[number];

/** Decisions kept in the state (older ones are in the log and the alert history). */
const DECISIONS_KEPT = 50;

export type DecisionAction =
  | 'started'
  | 'resumed'
  | 'paused'
  | 'promoted'
  | 'completed'
  | 'rolled_back'
  | 'aborted';

/** The figures of a window a decision was taken on. */
export interface WindowFigures {
  /** ms since epoch. */
  from: number;
  to: number;
  baseline: ArmFigures;
  candidate: ArmFigures;
  guards: GuardReading[];
}

/** One decision, with what explains it. Kept in the state, logged, and sent as an alert event. */
export interface RolloutDecision {
  rollout: string;
  at: number;
  action: DecisionAction;
  /** `guard`: taken by the evaluator; `operator`: an admin call (`gantry rollout …`). */
  by: 'guard' | 'operator';
  fromStep: number;
  toStep: number;
  fromPercent: number;
  toPercent: number;
  reason: string;
  breaches?: Breach[];
  window?: WindowFigures;
}

export interface RolloutState {
  id: string;
  status: RolloutStatus;
  /** Index of the current step in `RolloutConfig.steps`. */
  step: number;
  /** When the current step began (ms since epoch); its hold counts from here. */
  stepStartedAt: number;
  /** When this run was started (ms since epoch); 0 when never started. Keys the per-step counts. */
  runStartedAt: number;
  updatedAt: number;
  /** Bumped by every write; a write names the version it read (compare-and-set). */
  version: number;
  decisions: RolloutDecision[];
}

export function initialState(id: string): RolloutState {
  return {
    id,
    status: 'pending',
    step: 0,
    stepStartedAt: 0,
    runStartedAt: 0,
    updatedAt: 0,
    version: 0,
    decisions: [],
  };
}

/** Arms are assigned (and tagged) while a rollout runs, is paused, or completed. */
export function isActive(s: Pick<RolloutState, 'status'>): boolean {
  return s.status === 'running' || s.status === 'paused' || s.status === 'complete';
}

/** The candidate's share of traffic now, percent. */
export function percentOf(
  config: Pick<RolloutConfig, 'steps'>,
  s: Pick<RolloutState, 'status' | 'step'>,
): number {
  if (s.status === 'complete') return 100;
  if (s.status === 'running' || s.status === 'paused')
    return config.steps[Math.min(s.step, config.steps.length - 1)].percent;
  return 0;
}

/** The window an evaluation reads. */
export interface EvaluationInput {
  config: RolloutConfig;
  state: RolloutState;
  now: number;
  /** Counts of each arm over the guard window [now - windowMs, now]. */
  window: { baseline: ArmCounts; candidate: ArmCounts; from: number; to: number };
  /** Requests each arm served since the current step began. */
  step: { baseline: number; candidate: number };
}

export type Verdict = 'rollback' | 'promote' | 'complete' | 'hold';

export interface Evaluation {
  verdict: Verdict;
  /** Why (for holds: what is still missing). */
  reason: string;
  breaches: Breach[];
  window: WindowFigures;
}

/**
 * The evaluator. In order:
 * 1. fewer than `min_samples` candidate requests in the window: hold (no
 *    decision either way);
 * 2. any guard breached: roll back;
 * 3. paused: hold;
 * 4. the step's hold time not over, or fewer than its `min_requests`
 *    candidate requests in the step: hold;
 * 5. else promote to the next step, or complete after the last.
 */
export function evaluate(input: EvaluationInput): Evaluation {
  const { config, state, now } = input;
  const span = input.window.to - input.window.from;
  const baseline = figuresOf(input.window.baseline, span);
  const candidate = figuresOf(input.window.candidate, span);
  const { readings, breaches } = readGuards(config.guards, baseline, candidate, config.minSamples);
  const window: WindowFigures = {
    from: input.window.from,
    to: input.window.to,
    baseline,
    candidate,
    guards: readings,
  };
  const hold = (reason: string): Evaluation => ({ verdict: 'hold', reason, breaches: [], window });
  if (state.status !== 'running' && state.status !== 'paused') return hold(`the rollout is ${state.status}`);
  if (candidate.requests < config.minSamples)
    return hold(
      `${candidate.requests} candidate requests in the window, fewer than min_samples (${config.minSamples})`,
    );
  if (breaches.length > 0) {
    const what = breaches
      .map(
        (b) =>
          `${b.guard} ${b.candidate} ${b.unit} > ${b.limit} ${b.unit} (${b.bound}${b.baseline === null ? '' : `, baseline ${b.baseline}`})`,
      )
      .join('; ');
    return { verdict: 'rollback', reason: `guard breached: ${what}`, breaches, window };
  }
  if (state.status === 'paused') return hold('paused');
  const index = Math.min(state.step, config.steps.length - 1);
  const step = config.steps[index];
  const held = now - state.stepStartedAt;
  if (held < step.holdMs) return hold(`step held ${held} ms of ${step.holdMs} ms`);
  if (input.step.candidate < step.minRequests)
    return hold(
      `${input.step.candidate} candidate requests in this step, fewer than min_requests (${step.minRequests})`,
    );
  const last = index >= config.steps.length - 1;
  return {
    verdict: last ? 'complete' : 'promote',
    reason: `step ${index + 1} (${step.percent} %) held ${held} ms with ${input.step.candidate} candidate requests; every guard passed`,
    breaches: [],
    window,
  };
}

function withDecision(s: RolloutState, next: Partial<RolloutState>, d: RolloutDecision): RolloutState {
  return {
    ...s,
    ...next,
    updatedAt: d.at,
    version: s.version + 1,
    decisions: [...s.decisions, d].slice(-DECISIONS_KEPT),
  };
}

/** The state after an evaluation, with its decision; undefined for a hold. */
export function applyEvaluation(
  config: RolloutConfig,
  s: RolloutState,
  e: Evaluation,
  now: number,
): { next: RolloutState; decision: RolloutDecision } | undefined {
  if (e.verdict === 'hold') return undefined;
  const from = percentOf(config, s);
  const base = {
    rollout: s.id,
    at: now,
    by: 'guard' as const,
    fromStep: s.step,
    fromPercent: from,
    reason: e.reason,
    window: e.window,
  };
  if (e.verdict === 'rollback') {
    const decision: RolloutDecision = {
      ...base,
      action: 'rolled_back',
      toStep: s.step,
      toPercent: 0,
      breaches: e.breaches,
    };
    return { next: withDecision(s, { status: 'rolled_back' }, decision), decision };
  }
  if (e.verdict === 'complete') {
    const decision: RolloutDecision = { ...base, action: 'completed', toStep: s.step, toPercent: 100 };
    return { next: withDecision(s, { status: 'complete' }, decision), decision };
  }
  const to = Math.min(s.step + 1, config.steps.length - 1);
  const decision: RolloutDecision = {
    ...base,
    action: 'promoted',
    toStep: to,
    toPercent: config.steps[to].percent,
  };
  return { next: withDecision(s, { step: to, stepStartedAt: now }, decision), decision };
}

export const OPERATOR_ACTIONS = ['start', 'pause', 'promote', 'abort'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

/**
 * An operator's action on a rollout: the next state and its decision, or the
 * reason it does not apply to the current status.
 */
export function operate(
  config: RolloutConfig,
  s: RolloutState,
  action: OperatorAction,
  now: number,
): { next: RolloutState; decision: RolloutDecision } | { refused: string } {
  const from = percentOf(config, s);
  const d = (a: DecisionAction, toStep: number, toPercent: number, reason: string): RolloutDecision => ({
    rollout: s.id,
    at: now,
    action: a,
    by: 'operator',
    fromStep: s.step,
    toStep,
    fromPercent: from,
    toPercent,
    reason,
  });
  const go = (next: Partial<RolloutState>, decision: RolloutDecision) => ({
    next: withDecision(s, next, decision),
    decision,
  });
  switch (action) {
    case 'start': {
      if (s.status === 'running') return { refused: 'the rollout is already running' };
      if (s.status === 'paused')
        return go({ status: 'running' }, d('resumed', s.step, from, 'resumed by the operator'));
      const first = config.steps[0].percent;
      return go(
        { status: 'running', step: 0, stepStartedAt: now, runStartedAt: now },
        d(
          'started',
          0,
          first,
          s.status === 'pending' ? 'started by the operator' : `started again (was ${s.status})`,
        ),
      );
    }
    case 'pause':
      if (s.status !== 'running')
        return { refused: `only a running rollout can be paused; it is ${s.status}` };
      return go({ status: 'paused' }, d('paused', s.step, from, 'paused by the operator'));
    case 'promote': {
      if (s.status !== 'running' && s.status !== 'paused')
        return { refused: `only a running or paused rollout can be promoted; it is ${s.status}` };
      if (s.step >= config.steps.length - 1)
        return go({ status: 'complete' }, d('completed', s.step, 100, 'completed by the operator'));
      const to = s.step + 1;
      return go(
        { step: to, stepStartedAt: now },
        d('promoted', to, config.steps[to].percent, 'promoted by the operator'),
      );
    }
    case 'abort':
      if (s.status !== 'running' && s.status !== 'paused' && s.status !== 'complete')
        return { refused: `only a running, paused or complete rollout can be aborted; it is ${s.status}` };
      return go(
        { status: 'aborted' },
        d('aborted', s.step, 0, 'aborted by the operator: all traffic to the baseline'),
      );
  }
}
