/**
 * What the upstream stage does after an attempt that did not succeed: one pure
 * function of the attempt and the state, so every rule of docs/resilience.md is
 * testable with a fake clock and no server (like undici's retry interceptor,
 * whose decision is one function).
 *
 * In order:
 * 1. `x-should-retry: false` from the upstream ends it (the SDK would not retry);
 * 2. 401/403: the key's value changed while the request was in flight → the same
 *    key again at once (rotation); else the key is taken out of rotation and the
 *    next key is tried (`other_key`), whatever is left of the attempts;
 * 3. an answer the SDK would not retry ends it;
 * 4. 429 with another usable key → that key at once, no delay;
 * 5. 529 with another target in the fallback chain → that target at once;
 * 6. out of attempts → end;
 * 7. the retry delay (`retry-after-ms`, `retry-after`, else the SDK's backoff)
 *    beyond `maxRetryDelayMs` or past the total deadline → end;
 * 8. else retry the same kind of target after the delay (the caller spends the
 *    retry budget: failovers above are free, a delayed retry is not).
 */
import { retryDelay, shouldRetry } from './retry.ts';

type Headers = Record<string, string | string[] | undefined>;

/** An attempt that did not produce a response to relay. */
export type FailedAttempt =
  | { kind: 'status'; status: number; headers: Headers }
  | { kind: 'error' /** the client went away: nothing more is tried */; aborted: boolean };

export interface DecisionState {
  /** Attempts made so far, this one included. */
  attempts: number;
  maxAttempts: number;
  /** Delayed retries already made (the backoff exponent). */
  delayedRetries: number;
  /** `now()` of the clock the deadline is on. */
  now: number;
  deadline: number;
  maxRetryDelayMs: number;
  /** Another key of the environment can take this target now (not excluded, breaker closed). */
  otherKeyAvailable: boolean;
  /** The fallback chain has a target after the current one. */
  nextTargetAvailable: boolean;
  /** The key's secret changed while the attempt was in flight. */
  keyRotatedInFlight: boolean;
  /** Wall-clock ms, for `retry-after` given as an HTTP date. */
  wallClock?: number;
  random?: () => number;
}

export type Decision =
  | { next: 'give_up'; why: 'aborted' | 'not_retryable' | 'no_attempts_left' | 'delay_too_long' }
  | { next: 'same_key' }
  | { next: 'other_key'; takeOut: boolean }
  | { next: 'next_target' }
  | { next: 'retry'; delayMs: number; source: 'retry-after-ms' | 'retry-after' | 'backoff' };

export function decide(attempt: FailedAttempt, s: DecisionState): Decision {
  if (attempt.kind === 'error' && attempt.aborted) return { next: 'give_up', why: 'aborted' };
  const status = attempt.kind === 'status' ? attempt.status : undefined;
  const headers = attempt.kind === 'status' ? attempt.headers : {};
  if (headers['x-should-retry'] === 'false') return { next: 'give_up', why: 'not_retryable' };
  if (status === 401 || status === 403) {
    return s.keyRotatedInFlight ? { next: 'same_key' } : { next: 'other_key', takeOut: true };
  }
  if (!shouldRetry(status, headers)) return { next: 'give_up', why: 'not_retryable' };
  if (status === 429 && s.otherKeyAvailable) return { next: 'other_key', takeOut: false };
  if (status === 529 && s.nextTargetAvailable) return { next: 'next_target' };
  if (s.attempts >= s.maxAttempts) return { next: 'give_up', why: 'no_attempts_left' };
  const delay = retryDelay(headers, s.delayedRetries, s.random, s.wallClock);
  if (delay.ms > s.maxRetryDelayMs || s.now + delay.ms >= s.deadline) {
    return { next: 'give_up', why: 'delay_too_long' };
  }
  return { next: 'retry', delayMs: delay.ms, source: delay.source };
}
