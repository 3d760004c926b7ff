/**
 * Circuit breakers per upstream key and model, on cockatiel.
 *
 * - closed -> open when more than `failure_rate` of the last `window` calls
 *   failed, once at least `min_volume` calls were seen (cockatiel's
 *   CountBreaker: a count-based sliding window with a minimum volume);
 * - open -> half-open after `cooldown_ms`: the next call is the one probe;
 * - half-open -> closed when the probe succeeds, -> open when it fails.
 *
 * Why the wrapper: cockatiel makes callers that arrive while the probe runs
 * wait for it; the gateway must not queue requests behind a probe, so
 * `available()` answers false during half-open and while cooling down, and
 * the upstream stage takes the fallback chain (or answers a fast 529)
 * instead. The probe's slot is always released: `run` settles whatever the
 * attempt does, and a probe that ends without a verdict (client abort) counts
 * as a failure, so the breaker re-opens and a later request probes again.
 * Failures are 5xx, 529, timeouts and connection errors; 4xx (429 included)
 * are the upstream answering, so they count as successes.
 */

import type { CircuitBreakerPolicy } from 'cockatiel';
import { CircuitState, CountBreaker, circuitBreaker, handleWhenResult } from 'cockatiel';
import { InternalError } from '../errors.ts';
import type { BreakerEvent, Topic } from '../observe/events.ts';

export type BreakerState = BreakerEvent['to'];

export interface BreakerOptions {
  failureRate: number;
  window: number;
  minVolume: number;
  cooldownMs: number;
}

/** What an attempt tells the breaker. */
export interface BreakerVerdict {
  failed: boolean;
}

const NAMES: Record<number, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
};

export class Breaker {
  readonly key: string;
  readonly model: string;
  readonly #policy: CircuitBreakerPolicy;
  readonly #cooldownMs: number;
  #openedAt = 0;
  #state: BreakerState = 'closed';

  constructor(key: string, model: string, o: BreakerOptions, onChange: (e: BreakerEvent) => void) {
    this.key = key;
    this.model = model;
    this.#cooldownMs = o.cooldownMs;
    this.#policy = circuitBreaker(
      handleWhenResult((r) => (r as BreakerVerdict).failed),
      {
        halfOpenAfter: o.cooldownMs,
        breaker: new CountBreaker({
          threshold: o.failureRate,
          size: o.window,
          minimumNumberOfCalls: Math.min(o.minVolume, o.window),
        }),
      },
    );
    this.#policy.onStateChange((s) => {
      const to = NAMES[s];
      const from = this.#state;
      if (to === 'open') this.#openedAt = Date.now();
      this.#state = to;
      onChange({ key, model, from, to, at: Date.now() });
    });
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** True when a call may go: closed, or open with the cool-down over (that call becomes the probe). */
  available(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'half_open') return false;
    return Date.now() - this.#openedAt >= this.#cooldownMs;
  }

  /** Ms until the cool-down ends (0 when closed or over). */
  retryAfterMs(): number {
    if (this.#state === 'closed') return 0;
    if (this.#state === 'half_open') return Math.min(1000, this.#cooldownMs);
    return Math.max(0, this.#cooldownMs - (Date.now() - this.#openedAt));
  }

  /**
   * Runs one attempt under the breaker. Resolves with the attempt's result;
   * rejects with `BreakerOpenError` when the breaker refused the call.
   */
  async run<T extends BreakerVerdict>(fn: (probe: boolean) => Promise<T>): Promise<T> {
    if (!this.available()) throw new BreakerOpenError(this.retryAfterMs());
    const probe = this.#state !== 'closed';
    try {
      return (await this.#policy.execute(() => fn(probe))) as T;
    } catch (err) {
      if (err instanceof Error && err.name === 'BrokenCircuitError')
        throw new BreakerOpenError(this.retryAfterMs());
      throw err;
    }
  }
}

export class BreakerOpenError extends InternalError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super('breaker_open', 'circuit open');
    this.retryAfterMs = retryAfterMs;
  }
}

export interface BreakerLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** One breaker per (key, model), created on first use. Transitions are logged and published on the gateway's `events.breaker`. */
export class Breakers {
  readonly #options: BreakerOptions;
  readonly #logger: BreakerLogger | undefined;
  readonly #map = new Map<string, Breaker>();
  readonly #events: Topic<BreakerEvent> | undefined;

  constructor(options: BreakerOptions, logger?: BreakerLogger, events?: Topic<BreakerEvent>) {
    this.#options = options;
    this.#logger = logger;
    this.#events = events;
  }

  get(key: string, model: string): Breaker {
    const id = `${key}\u0000${model}`;
    let b = this.#map.get(id);
    if (!b) {
      b = new Breaker(key, model, this.#options, (e) => {
        const line = { upstream_key: e.key, model: e.model, from: e.from, to: e.to };
        if (e.to === 'open') this.#logger?.warn(line, 'circuit breaker opened');
        else this.#logger?.info(line, `circuit breaker ${e.to === 'closed' ? 'closed' : 'half-open'}`);
        this.#events?.publish(() => e);
      });
      this.#map.set(id, b);
    }
    return b;
  }

  /** Every breaker that is not closed. */
  list(): Array<{ key: string; model: string; state: BreakerState; retryAfterMs: number }> {
    return [...this.#map.values()].map((b) => ({
      key: b.key,
      model: b.model,
      state: b.state,
      retryAfterMs: b.retryAfterMs(),
    }));
  }
}
