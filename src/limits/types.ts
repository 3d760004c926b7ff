/**
 * The types of rate limits and budgets: scopes, the request admission sees,
 * what it holds for a request (a ticket) and what it answers, and the status
 * views of the admin API.
 */
import type { BudgetEvent } from '../observe/events.ts';
import type { BudgetAction, ScopeLimits, StoreErrorMode } from './config.ts';
import type { Period } from './periods.ts';
import type { BucketTake, BudgetReserve } from './store.ts';

export type ScopeKind = 'client' | 'customer' | 'environment' | 'overall';
export type Dimension = 'rpm' | 'input_tpm' | 'output_tpm';

export interface Scope {
  kind: ScopeKind;
  /** Key part: client name, `client/customer`, environment name, or `all`. */
  id: string;
  /** For events and messages: `client:checkout`, `customer:checkout/c-42`, `environment:prod`, `overall`. */
  label: string;
  limits: ScopeLimits;
}

export interface AdmitRequest {
  /** The request id: the budget reservation's lease id (default: a random id). */
  id?: string;
  client: string;
  environment: string;
  customer?: string;
  model?: string;
  estimatedInputTokens: number;
  maxTokens: number;
  /**
   * The budget reservation, µ$, when the caller prices it itself (a Message
   * Batch: every request's worst case at the batch price); default: the worst
   * case of `model`, `estimatedInputTokens` and `maxTokens`.
   */
  reserveMicros?: number;
}

export interface TakenBucket extends BucketTake {
  dim: Dimension;
  rule: string;
  scope: Scope;
}

export interface BudgetEntry extends BudgetReserve {
  scope: Scope;
  period: Period;
  rule: string;
  action: BudgetAction;
  downgradeTo?: string;
  resetsAt: number;
}

/** What admission holds for a request until it completes. */
export interface Ticket {
  buckets: TakenBucket[];
  budgets: BudgetEntry[];
  reservedMicros: number;
  /** The reservation's lease id (the request id). */
  leaseId: string;
}

export interface Admission {
  /** Undefined when no limit applies or the store failed open. */
  ticket?: Ticket;
  /** `gantry-ratelimit-*` headers for the response. */
  headers: Record<string, string>;
  /** Set when a spent `downgrade` budget switched the request to this model. */
  downgradeTo?: string;
}

export interface BudgetStatus {
  scope: string;
  period: Period;
  limitMicros: number;
  spentMicros: number;
  committedMicros: number;
  resetsAt: string;
}

/** One scope's limits now (`LimitsEnforcer.status`). */
export interface ScopeStatus {
  /** `client:checkout`, `environment:prod`, `overall`. */
  scope: string;
  kind: ScopeKind;
  rates: Array<{
    dimension: Dimension;
    limitPerMinute: number;
    /** Whole tokens (or requests) in the bucket now; what a request can take at once. */
    remaining: number;
    /** `remaining` in percent of the limit, one decimal. */
    headroomPercent: number;
    /** When the bucket is full again at the refill rate (now when it is full). */
    fullAt: string;
  }>;
  budgets: Array<{
    period: Period;
    action: BudgetAction;
    limitMicros: number;
    spentMicros: number;
    /** Spent plus what requests in flight have reserved (on every replica sharing the store). */
    committedMicros: number;
    /** Reservations of requests in flight: committed − spent. */
    reservedMicros: number;
    percent: number;
    resetsAt: string;
  }>;
}

export interface LimitsEnforcerOptions {
  /** Called for budget threshold crossings (besides the `budget` channel), e.g. to log them. */
  onBudgetEvent?: (event: BudgetEvent) => void;
  /** Called when the store fails (the limiter then applies `on_store_error`). */
  onStoreError?: (err: unknown, mode: StoreErrorMode) => void;
  /** Called when the store goes down (a call failed or timed out) or answers again; transitions only. */
  onStoreState?: (up: boolean, err?: unknown) => void;
  /** Called when a settlement is given up (the store did not take it within its retry window). */
  onSettleAbandoned?: (err: unknown, ticket: Ticket) => void;
  /** First delay between settlement attempts, doubled up to 2 s (default 50 ms). */
  settleRetryMs?: number;
  /** Wall clock for budget periods (ms); default `Date.now`. */
  now?: () => number;
}
