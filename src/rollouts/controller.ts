/**
 * The rollout controller of one gateway replica: it keeps each rollout's last
 * known state for the request path (assignment never waits on the store),
 * counts what each arm served, and every `evaluate_every_ms`, per rollout:
 *
 * 1. adds this replica's counts to the store (all replicas add to the same
 *    buckets, so the window holds everybody's traffic);
 * 2. reads the stored state (so every replica assigns from the same step);
 * 3. evaluates the guards over the window (`evaluate`, pure) and writes the
 *    decision by compare-and-set: when several replicas decide at once, one
 *    write lands and only its replica announces the decision — a log line,
 *    a `rollout` event (the alert engine sends it to the channels) and the
 *    decision record kept in the state with the window's figures.
 *
 * When the store does not answer, the last known state stays in force (a
 * warning is logged, at most every 10 s) and counts are kept for the next
 * tick (those older than the window are dropped).
 */
import type { Logger } from 'pino';
import type { GatewayEvents } from '../observe/events.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';
import type { RolloutConfig } from './config.ts';
import { ARMS, type ArmCounts, type ArmName, addCounts, counted, countRecord } from './counts.ts';
import {
  type OperatorAction as Action,
  applyEvaluation,
  type Evaluation,
  evaluate,
  initialState,
  operate,
  type RolloutDecision,
  type RolloutState,
} from './state.ts';
import { emptyArms, type RolloutStore } from './store.ts';

export type { OperatorAction } from './state.ts';

/** Window buckets per window: the window slides by this fraction of itself. */
const BUCKETS_PER_WINDOW = 20;

interface Pending {
  buckets: Map<number, Record<ArmName, ArmCounts>>;
  steps: Map<string, Record<ArmName, number>>;
}

export interface ControllerOptions {
  rollouts: readonly RolloutConfig[];
  store: RolloutStore;
  logger: Logger;
  events?: GatewayEvents;
  now?: () => number;
  /** Start the evaluation timers (default true; tests drive `tick` themselves). */
  timers?: boolean;
}

/** The last evaluation of a rollout on this replica (for the admin view). */
export interface LastEvaluation {
  at: number;
  evaluation: Evaluation;
}

export class RolloutController {
  readonly store: RolloutStore;
  readonly #configs = new Map<string, RolloutConfig>();
  readonly #states = new Map<string, RolloutState>();
  readonly #pending = new Map<string, Pending>();
  readonly #last = new Map<string, LastEvaluation>();
  readonly #ticking = new Map<string, Promise<void>>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #o: ControllerOptions;
  readonly #now: () => number;
  #lastWarn = 0;

  constructor(o: ControllerOptions) {
    this.#o = o;
    this.store = o.store;
    this.#now = o.now ?? Date.now;
    for (const r of o.rollouts) {
      this.#configs.set(r.id, r);
      this.#states.set(r.id, initialState(r.id));
      this.#pending.set(r.id, { buckets: new Map(), steps: new Map() });
    }
  }

  get configs(): readonly RolloutConfig[] {
    return [...this.#configs.values()];
  }

  /** Reads the stored states (a restarted replica resumes where the rollouts were), then starts the timers. */
  async start(): Promise<void> {
    await this.refresh().catch((err) =>
      this.#warn(err, 'rollout state not readable at start-up; rollouts start as pending until it is'),
    );
    if (this.#o.timers === false) return;
    for (const r of this.#configs.values()) {
      const t = setInterval(() => void this.tick(r.id), r.evaluateEveryMs);
      t.unref();
      this.#timers.push(t);
    }
  }

  /** Re-reads every rollout's state from the store. */
  async refresh(): Promise<void> {
    const stored = await this.store.read([...this.#configs.keys()]);
    for (const [id, s] of stored)
      if (s.version >= (this.#states.get(id)?.version ?? 0)) this.#states.set(id, s);
  }

  /** The last known state of a rollout (the request path reads this, never the store). */
  state(id: string): RolloutState {
    return this.#states.get(id) ?? initialState(id);
  }

  config(id: string): RolloutConfig | undefined {
    return this.#configs.get(id);
  }

  last(id: string): LastEvaluation | undefined {
    return this.#last.get(id);
  }

  /** Counts a finished exchange for its arm (observe hook: memory only, no I/O). */
  record(r: ExchangeRecord): void {
    if (!counted(r)) return;
    const { id, arm, step } = r.rollout!;
    const config = this.#configs.get(id);
    const pending = this.#pending.get(id);
    if (!config || !pending) return;
    const now = this.#now();
    const width = bucketWidth(config);
    const bucket = now - (now % width);
    let b = pending.buckets.get(bucket);
    if (!b) {
      b = emptyArms();
      pending.buckets.set(bucket, b);
    }
    countRecord(b[arm as ArmName], r);
    const key = `${this.state(id).runStartedAt}:${step}`;
    const s = pending.steps.get(key) ?? { baseline: 0, candidate: 0 };
    s[arm as ArmName] += 1;
    pending.steps.set(key, s);
  }

  /**
   * One evaluation round for a rollout (see the file comment). Rounds of one
   * rollout never overlap; a round that fails leaves the state as it was.
   */
  tick(id: string): Promise<void> {
    const running = this.#ticking.get(id);
    if (running) return running;
    const p = this.#round(id)
      .catch((err) => this.#warn(err, 'rollout store error; the last known state stays in force'))
      .finally(() => this.#ticking.delete(id));
    this.#ticking.set(id, p);
    return p;
  }

  async #round(id: string): Promise<void> {
    const config = this.#configs.get(id)!;
    await this.#flush(config);
    const stored = (await this.store.read([id])).get(id) ?? initialState(id);
    this.#states.set(id, stored);
    if (stored.status !== 'running' && stored.status !== 'paused') return;
    const now = this.#now();
    const width = bucketWidth(config);
    const buckets: number[] = [];
    const first = Math.ceil((now - config.windowMs) / width) * width;
    for (let b = first; b <= now; b += width) buckets.push(b);
    const [window, step] = await Promise.all([
      this.store.window(id, buckets),
      this.store.stepCounts(id, `${stored.runStartedAt}:${stored.step}`),
    ]);
    const evaluation = evaluate({
      config,
      state: stored,
      now,
      window: { ...window, from: Math.min(first, now), to: now },
      step,
    });
    this.#last.set(id, { at: now, evaluation });
    const applied = applyEvaluation(config, stored, evaluation, now);
    if (!applied) return;
    if (await this.store.write(applied.next, stored.version)) {
      this.#states.set(id, applied.next);
      this.#announce(applied.decision);
    }
  }

  /** An operator's action, by compare-and-set (retried when another write lands first). */
  async act(
    id: string,
    action: Action,
  ): Promise<{ state: RolloutState; decision: RolloutDecision } | { refused: string }> {
    const config = this.#configs.get(id);
    if (!config) return { refused: `no rollout "${id}"` };
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = (await this.store.read([id])).get(id) ?? initialState(id);
      const out = operate(config, current, action, this.#now());
      if ('refused' in out) {
        this.#states.set(id, current);
        return out;
      }
      if (await this.store.write(out.next, current.version)) {
        this.#states.set(id, out.next);
        this.#announce(out.decision);
        return { state: out.next, decision: out.decision };
      }
    }
    return { refused: 'the rollout kept changing under this request; try again' };
  }

  /** Stops the timers, adds the last counts to the store, closes it. */
  async close(deadline?: number): Promise<void> {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    await Promise.allSettled([...this.#ticking.values()]);
    const flushes = Promise.allSettled([...this.#configs.values()].map((c) => this.#flush(c)));
    const wait = deadline === undefined ? 2_000 : Math.max(0, deadline - Date.now());
    await Promise.race([flushes, new Promise((r) => setTimeout(r, wait).unref())]);
    await this.store.close();
  }

  /** Adds this replica's counts to the store; on failure they wait for the next round. */
  async #flush(config: RolloutConfig): Promise<void> {
    const pending = this.#pending.get(config.id)!;
    if (pending.buckets.size === 0 && pending.steps.size === 0) return;
    const buckets = pending.buckets;
    const steps = pending.steps;
    pending.buckets = new Map();
    pending.steps = new Map();
    try {
      await this.store.add(
        config.id,
        [...buckets].flatMap(([bucket, arms]) => ARMS.map((arm) => ({ bucket, arm, counts: arms[arm] }))),
        [...steps].flatMap(([key, arms]) =>
          ARMS.filter((a) => arms[a] > 0).map((arm) => ({ key, arm, n: arms[arm] })),
        ),
        { bucketTtlMs: config.windowMs * 2 + 60_000, stepTtlMs: Math.max(86_400_000, maxHold(config) * 4) },
      );
    } catch (err) {
      // Keep what is still inside the window for the next round.
      const oldest = this.#now() - config.windowMs;
      for (const [bucket, arms] of buckets) {
        if (bucket < oldest) continue;
        const into = pending.buckets.get(bucket) ?? emptyArms();
        for (const a of ARMS) addCounts(into[a], arms[a]);
        pending.buckets.set(bucket, into);
      }
      for (const [key, arms] of steps) {
        const into = pending.steps.get(key) ?? { baseline: 0, candidate: 0 };
        for (const a of ARMS) into[a] += arms[a];
        pending.steps.set(key, into);
      }
      throw err;
    }
  }

  #announce(d: RolloutDecision): void {
    const line = {
      rollout: d.rollout,
      decision: d.action,
      by: d.by,
      from_percent: d.fromPercent,
      to_percent: d.toPercent,
      reason: d.reason,
      ...(d.breaches ? { breaches: d.breaches.map((b) => `${b.guard}:${b.bound}`) } : {}),
      ...(d.window
        ? {
            window_ms: d.window.to - d.window.from,
            baseline_requests: d.window.baseline.requests,
            candidate_requests: d.window.candidate.requests,
          }
        : {}),
    };
    if (d.action === 'rolled_back') this.#o.logger.error(line, 'rollout rolled back');
    else this.#o.logger.info(line, `rollout ${d.action.replace('_', ' ')}`);
    this.#o.events?.rollout.publish(() => d);
  }

  #warn(err: unknown, message: string): void {
    const now = Date.now();
    if (now - this.#lastWarn < 10_000) return;
    this.#lastWarn = now;
    this.#o.logger.warn({ store: this.store.kind, err: (err as Error)?.message ?? String(err) }, message);
  }
}

/** Width of one window bucket, ms. */
function bucketWidth(config: Pick<RolloutConfig, 'windowMs'>): number {
  return Math.max(50, Math.round(config.windowMs / BUCKETS_PER_WINDOW));
}

function maxHold(config: RolloutConfig): number {
  return Math.max(...config.steps.map((s) => s.holdMs));
}
