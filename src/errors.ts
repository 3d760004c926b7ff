/**
 * Gantry's own errors: one table of stable codes, one error class, one mapping
 * to the Anthropic error envelope. A test keeps this table identical to
 * docs/errors.md; retired codes are never reused.
 *
 * Every code names the HTTP status and Anthropic `error.type` a client receives,
 * so the official SDKs raise their usual classes (401 -> AuthenticationError, ...).
 * The code itself travels in `error.details.gantry_code` and in the log line.
 */
import { type ErrorEnvelope, errorEnvelope } from './anthropic/errors.ts';

export const ERROR_CODES = {
  route_not_found: { status: 404, type: 'not_found_error', summary: 'No such route on the gateway.' },
  method_not_allowed: {
    status: 405,
    type: 'invalid_request_error',
    summary: 'The route exists but not for this HTTP method.',
  },
  missing_api_key: {
    status: 401,
    type: 'authentication_error',
    summary: 'No `x-api-key` or `Authorization: Bearer` credential was sent.',
  },
  invalid_api_key: {
    status: 401,
    type: 'authentication_error',
    summary: 'The credential matches no virtual key of a configured client.',
  },
  invalid_json: {
    status: 400,
    type: 'invalid_request_error',
    summary: 'The request body is not valid JSON.',
  },
  invalid_body: {
    status: 400,
    type: 'invalid_request_error',
    summary: 'The request body is JSON but not of the shape the route takes.',
  },
  json_too_deep: {
    status: 400,
    type: 'invalid_request_error',
    summary: 'The JSON body nests deeper than `server.max_json_depth` levels.',
  },
  duplicate_key: {
    status: 400,
    type: 'invalid_request_error',
    summary: 'The JSON body gives a top-level key more than once (one body must mean one request).',
  },
  invalid_request_target: {
    status: 400,
    type: 'invalid_request_error',
    summary:
      'The request line is not a plain path (absolute-form or `*` targets), or an id has dot segments or characters ids never use.',
  },
  unsupported_content_type: {
    status: 415,
    type: 'invalid_request_error',
    summary: 'The request body is not `application/json`.',
  },
  body_too_large: {
    status: 413,
    type: 'request_too_large',
    summary: 'The request body is larger than `server.body_limit`.',
  },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    summary: 'The request headers are larger than `server.header_limit`.',
  },
  client_timeout: {
    status: 408,
    type: 'timeout_error',
    summary: 'The client did not send its whole request within `server.request_timeout_ms`.',
  },
  upstream_key_unavailable: {
    status: 500,
    type: 'api_error',
    summary: 'The upstream key reference of the client’s environment has no value.',
  },
  upstream_connection_failed: {
    status: 502,
    type: 'api_error',
    summary: 'The upstream could not be reached or closed the connection before answering.',
  },
  upstream_timeout: {
    status: 504,
    type: 'timeout_error',
    summary:
      'The upstream did not answer in time: connect, first byte or total timeout (`resilience.timeouts`, `upstream.*_timeout_ms`).',
  },
  upstream_unavailable: {
    status: 529,
    type: 'overloaded_error',
    summary:
      'Every upstream key’s circuit breaker is open for the model and no fallback is left; `retry-after` says when to try again.',
  },
  load_shed: {
    status: 529,
    type: 'overloaded_error',
    summary:
      'The concurrency limit of the client or upstream key and its queue are full; `retry-after` says when to try again.',
  },
  stream_interrupted: {
    status: 200,
    type: 'api_error',
    summary:
      'The upstream stream failed after it started; the client receives an SSE `error` event (status stays 200).',
  },
  input_limit_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    summary:
      'The request exceeds an input limit of the client’s safety policy (the message names the limit).',
  },
  input_blocked: {
    status: 400,
    type: 'invalid_request_error',
    summary: 'The request was blocked by the client’s input safety policy (prompt injection or moderation).',
  },
  output_blocked: {
    status: 403,
    type: 'permission_error',
    summary:
      'The response was withheld by the client’s output safety policy; in a stream, an SSE `error` event ends it.',
  },
  shutting_down: {
    status: 503,
    type: 'overloaded_error',
    summary: 'The gateway is draining for shutdown and takes no new requests.',
  },
  model_not_found: {
    status: 404,
    type: 'not_found_error',
    summary:
      'The model id is not in the catalog, or is retired; refused before any upstream spend (the message names the closest ids).',
  },
  model_not_allowed: {
    status: 403,
    type: 'permission_error',
    summary: 'The client’s policy does not allow this model (`clients[].policy.models`).',
  },
  max_tokens_over_cap: {
    status: 400,
    type: 'invalid_request_error',
    summary:
      '`max_tokens` is above the client’s cap (`clients[].policy.max_tokens.cap`, `over_cap: reject`).',
  },
  rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    summary:
      'A Gantry rate limit (requests, input or output tokens per minute) is used up; retry after `retry-after` seconds.',
  },
  budget_reserved: {
    status: 429,
    type: 'rate_limit_error',
    summary: 'Requests in flight hold the rest of a Gantry budget; retry after `retry-after` seconds.',
  },
  budget_exceeded: {
    status: 402,
    type: 'billing_error',
    summary:
      'A Gantry budget is spent for its period (`x-should-retry: false`); the message names the budget and when it resets.',
  },
  limits_unavailable: {
    status: 503,
    type: 'api_error',
    summary: 'The rate-limit and budget store is unreachable and the limit is set to fail closed.',
  },
  invalid_query: {
    status: 400,
    type: 'invalid_request_error',
    summary: 'A query parameter of an admin route is not valid; the message names it and what it takes.',
  },
  ledger_unavailable: {
    status: 503,
    type: 'api_error',
    summary:
      'The ledger cannot be read for an admin view: `storage.ledger` is off or in memory, or its store does not answer.',
  },
  internal_error: { status: 500, type: 'api_error', summary: 'An unexpected fault inside Gantry.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface GantryErrorOptions {
  cause?: unknown;
  /** Extra response headers (e.g. `allow`, `retry-after`). */
  headers?: Record<string, string>;
  /** Extra machine-readable fields merged into `error.details`. */
  details?: Record<string, unknown>;
}

/** An error Gantry itself answers with. Carries its stable code and the status to send. */
export class GantryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly headers: Record<string, string> | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: GantryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GantryError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
    this.headers = options.headers;
    this.details = options.details;
  }

  /** The Anthropic envelope for this error, with Gantry's code in `error.details.gantry_code`. */
  toEnvelope(requestId: string): ErrorEnvelope {
    return errorEnvelope(this.type, this.message, requestId, { gantry_code: this.code, ...this.details });
  }
}

/** Wraps anything thrown into a GantryError (unknown faults become `internal_error`). */
export function toGantryError(err: unknown): GantryError {
  if (err instanceof GantryError) return err;
  return new GantryError('internal_error', 'Internal error in the gateway.', { cause: err });
}

/**
 * Gantry's internal errors: thrown between modules (a store that does not
 * answer, a breaker that refuses a call, an invalid config), never sent to a
 * client as such — the stage that catches one answers with a `GantryError`
 * above, or the CLI exits with its code. One table of stable codes, kept
 * identical to docs/errors.md by a test, like the HTTP ones.
 */
export const INTERNAL_ERROR_CODES = {
  config_invalid: {
    class: 'ConfigError',
    summary: 'gantry.yaml is invalid: every problem with its path (the CLI exits 2).',
  },
  secret_ref_invalid: {
    class: 'SecretRefError',
    summary: 'A secret reference is malformed; the message never repeats the reference.',
  },
  limits_store_unavailable: {
    class: 'StoreError',
    summary: 'The rate-limit and budget store did not answer in time (`limits.on_store_error` decides).',
  },
  ledger_timeout: {
    class: 'LedgerTimeoutError',
    summary: 'A ledger store call got no answer within `storage.ledger_timeout_ms`: the store is down.',
  },
  breaker_open: {
    class: 'BreakerOpenError',
    summary: 'A circuit breaker refused the call (the upstream stage tries another target).',
  },
  concurrency_full: {
    class: 'LoadShedError',
    summary: 'A concurrency limit and its queue are full (answered 529 `load_shed`).',
  },
} as const;

export type InternalErrorCode = keyof typeof INTERNAL_ERROR_CODES;

/** The base of Gantry's internal errors: a stable `code` from `INTERNAL_ERROR_CODES`. */
export class InternalError extends Error {
  readonly code: InternalErrorCode;
  constructor(code: InternalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = INTERNAL_ERROR_CODES[code].class;
  }
}
