/**
 * Gantry's lifecycle events, one set per gateway instance (`GatewayEvents`,
 * handed to every stage as `ctx.events` and exposed as `Gateway.events`): two
 * gateways in one process never feed each other's metrics or alerts.
 *
 * Producers (stages, stores, the breaker, the key ring) publish; consumers
 * (metrics, the alert engine, tests, an embedding application) subscribe.
 * Publishing costs nothing when nobody listens: `publish` takes a function
 * that builds the payload only when there is a subscriber.
 *
 * Payloads never carry prompt or completion content, nor a secret.
 */
import type { ExchangeRecord } from '../pipeline/record.ts';

/** A finished exchange: its record (after every stage's `complete` hook ran). */
export type ExchangeCompleteEvent = ExchangeRecord;

/** A circuit breaker changed state (per upstream key and model). */
export interface BreakerEvent {
  key: string;
  model: string;
  from: 'closed' | 'open' | 'half_open';
  to: 'closed' | 'open' | 'half_open';
  at: number;
}

/** An upstream key changed state (taken out after a 401/403, drained, restored). */
export interface UpstreamKeyEvent {
  environment: string;
  /** The key's id (never its value). */
  keyId: string;
  state: 'active' | 'draining' | 'disabled' | 'failed';
  reason: string;
  at: number;
}

/** A budget crossed a threshold. */
export interface BudgetEvent {
  /** e.g. `client:checkout`, `customer:c-42`, `environment:prod`, `overall`. */
  scope: string;
  period: 'daily' | 'monthly';
  /** Percent of the budget spent (80, 100). */
  threshold: number;
  spentMicros: number;
  limitMicros: number;
  action: 'block' | 'downgrade' | 'alert-only';
  at: number;
}

/** Ledger store health: queue depth, rows written, spilled at shutdown, dropped beyond the buffer bound. */
export interface LedgerEvent {
  queued: number;
  written: number;
  /** Rows written to a spill file at shutdown (replayed at the next start). */
  spilled?: number;
  dropped: number;
  storeUp: boolean;
  at: number;
}

/** The rate-limit and budget store went down (a call failed or timed out) or came back. */
export interface LimitsStoreEvent {
  up: boolean;
  at: number;
}

/** A broken accounting invariant (tokens with zero cost, double-counted cache, unknown model). */
export interface InvariantEvent {
  rule: 'tokens_without_cost' | 'cache_counted_twice' | 'model_not_in_catalog' | 'model_mismatch';
  requestId: string;
  model?: string;
  at: number;
}

/** A content-safety control decided on one exchange (one event per rule and action). */
export interface SafetyEvent {
  stage: 'safety.input' | 'safety.output';
  /** Rule id, e.g. `secret.aws_access_key`, `injection.instruction_override`, `limit.max_chars`. */
  rule: string;
  action: 'flagged' | 'redacted' | 'blocked';
  client?: string;
  stream: boolean;
  at: number;
}

/** One event stream: subscribers in order; a subscriber that throws does not stop the others. */
export class Topic<T> {
  #subscribers: Array<(event: T) => void> = [];

  get hasSubscribers(): boolean {
    return this.#subscribers.length > 0;
  }

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(fn: (event: T) => void): () => void {
    this.#subscribers = [...this.#subscribers, fn];
    return () => {
      this.#subscribers = this.#subscribers.filter((s) => s !== fn);
    };
  }

  /** Publishes the event `make` builds, only when someone listens. */
  publish(make: () => T): void {
    const subs = this.#subscribers;
    if (subs.length === 0) return;
    const event = make();
    for (const fn of subs) {
      try {
        fn(event);
      } catch {
        // A subscriber's fault is its own: the request path never fails for it.
      }
    }
  }
}

/** The lifecycle events of one gateway instance. */
export class GatewayEvents {
  readonly exchangeComplete = new Topic<ExchangeCompleteEvent>();
  readonly breaker = new Topic<BreakerEvent>();
  readonly upstreamKey = new Topic<UpstreamKeyEvent>();
  readonly budget = new Topic<BudgetEvent>();
  readonly ledger = new Topic<LedgerEvent>();
  readonly limitsStore = new Topic<LimitsStoreEvent>();
  readonly invariant = new Topic<InvariantEvent>();
  readonly safety = new Topic<SafetyEvent>();
}
