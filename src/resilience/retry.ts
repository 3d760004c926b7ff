/**
 * The official SDK's retry rules, applied by the gateway (see
 * docs/resilience.md and the API reference §3.5, §8):
 *
 * - `x-should-retry: true` / `false` decides first;
 * - else connection errors and timeouts, 408, 409, 429 and every status
 *   >= 500 (529 included) are retried; other 4xx are not;
 * - the delay comes from `retry-after-ms`, then `retry-after` (seconds, or an
 *   HTTP date); otherwise exponential backoff with jitter:
 *   `min(0.5 * 2^n, 8)` s `* (1 - rand * 0.25)`, n = retries already made.
 *
 * Pure functions: the clock and the random source are parameters.
 */
import type { IncomingHttpHeaders } from 'node:http';

type Headers = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

const INITIAL_RETRY_DELAY_S = 0.5;
const MAX_RETRY_DELAY_S = 8;
/** Largest delay the SDK accepts from a server (a Node timer's limit). */
const MAX_SERVER_DELAY_MS = 2_147_483_647;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Whether the SDK would retry this answer. `status` is undefined for a
 * connection error or a timeout (no answer).
 *
 * @example shouldRetry(529, {}) // true
 * @example shouldRetry(500, { 'x-should-retry': 'false' }) // false
 */
export function shouldRetry(status: number | undefined, headers: Headers = {}): boolean {
  const directive = header(headers, 'x-should-retry');
  if (directive === 'true') return true;
  if (directive === 'false') return false;
  if (status === undefined) return true;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * The delay the server asked for, in ms: `retry-after-ms` (float ms) first,
 * then `retry-after` (float seconds or an HTTP date). Undefined when absent,
 * unparsable, not positive, or beyond a timer's range.
 */
export function serverRetryDelayMs(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const ok = (ms: number) => (Number.isFinite(ms) && ms > 0 && ms <= MAX_SERVER_DELAY_MS ? ms : undefined);
  const afterMs = header(headers, 'retry-after-ms');
  if (afterMs !== undefined && afterMs.trim() !== '') {
    const v = ok(Number.parseFloat(afterMs));
    if (v !== undefined) return v;
  }
  const after = header(headers, 'retry-after');
  if (after !== undefined && after.trim() !== '') {
    const seconds = Number(after.trim());
    if (!Number.isNaN(seconds)) return ok(seconds * 1000);
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return ok(date - nowMs);
  }
  return undefined;
}

/** The SDK's backoff before retry number `retriesSoFar + 1`, in ms. */
export function backoffMs(retriesSoFar: number, random: () => number = Math.random): number {
  const base = Math.min(INITIAL_RETRY_DELAY_S * 2 ** retriesSoFar, MAX_RETRY_DELAY_S);
  return base * (1 - random() * 0.25) * 1000;
}

export interface RetryDelay {
  ms: number;
  source: 'retry-after-ms' | 'retry-after' | 'backoff';
}

/** The delay before the next retry: the server's, else the SDK's backoff. */
export function retryDelay(
  headers: Headers,
  retriesSoFar: number,
  random: () => number = Math.random,
  nowMs: number = Date.now(),
): RetryDelay {
  const server = serverRetryDelayMs(headers, nowMs);
  if (server !== undefined) {
    const fromMs = header(headers, 'retry-after-ms');
    const usedMs = fromMs !== undefined && Number.parseFloat(fromMs) === server;
    return { ms: server, source: usedMs ? 'retry-after-ms' : 'retry-after' };
  }
  return { ms: backoffMs(retriesSoFar, random), source: 'backoff' };
}

/**
 * What the gateway does with each API error type. The table in
 * docs/resilience.md is kept identical to this one by a test.
 */
export const ERROR_OUTCOMES = {
  authentication_error:
    'failed over: the key is taken out of rotation and reported; the next key is tried; passed through when none is left',
  permission_error:
    'failed over: the key is taken out of rotation and reported; the next key is tried; passed through when none is left',
  invalid_request_error: 'passed through (not retried)',
  not_found_error: 'passed through (not retried)',
  request_too_large: 'passed through (not retried)',
  billing_error: 'passed through (not retried)',
  rate_limit_error:
    'failed over to another active key when there is one, else retried after `retry-after`; degraded when configured',
  api_error: 'retried with backoff; counts toward the breaker; degraded when configured',
  overloaded_error:
    'failed over along the fallback chain of models, else retried with backoff; counts toward the breaker; degraded when configured',
  timeout_error: 'retried within the total deadline; counts toward the breaker; degraded when configured',
} as const;
