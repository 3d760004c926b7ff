/**
 * Gantry's lifecycle events, published on `node:diagnostics_channel`.
 *
 * Producers (stages, stores, the breaker) publish; consumers (metrics, the
 * alert engine, the ledger, tests) subscribe. Publishing costs nothing when
 * nobody listens: check `channel.hasSubscribers` before building a payload.
 *
 * Payloads never carry prompt or completion content, nor a secret.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Exchange } from '../pipeline/exchange.ts';

/** A finished exchange (after every stage's `complete` hook ran). */
export type ExchangeCompleteEvent = Exchange;

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
  rule: 'tokens_without_cost' | 'cache_counted_twice' | 'model_not_in_catalog';
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

export const channels = {
  exchangeComplete: diagnostics.channel('gantry:exchange:complete'),
  breaker: diagnostics.channel('gantry:breaker'),
  upstreamKey: diagnostics.channel('gantry:upstream-key'),
  budget: diagnostics.channel('gantry:budget'),
  ledger: diagnostics.channel('gantry:ledger'),
  limitsStore: diagnostics.channel('gantry:limits-store'),
  invariant: diagnostics.channel('gantry:invariant'),
  safety: diagnostics.channel('gantry:safety'),
} as const;

/** Publishes only when someone listens; `make` builds the payload lazily. */
export function publish<T>(channel: diagnostics.Channel, make: () => T): void {
  if (channel.hasSubscribers) channel.publish(make());
}
