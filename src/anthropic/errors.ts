/**
 * The Anthropic error model: error types, their HTTP statuses, and the error
 * envelope `{"type":"error","error":{"type","message"},"request_id"}`.
 *
 * Used by the simulator (to answer like the API) and by the gateway (to answer
 * its own errors so that the official SDKs raise their usual classes).
 */

/** `error.type` values of the API and the status each one is sent with. */
export const ANTHROPIC_ERROR_STATUS = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
} as const;

export type AnthropicErrorType = keyof typeof ANTHROPIC_ERROR_STATUS;

export interface ErrorEnvelope {
  type: 'error';
  error: { type: string; message: string; details?: Record<string, unknown> | null };
  request_id: string | null;
}

/** Builds the API's error envelope. `details` is included only when given. */
export function errorEnvelope(
  type: string,
  message: string,
  requestId: string | null,
  details?: Record<string, unknown> | null,
): ErrorEnvelope {
  const error: ErrorEnvelope['error'] = { type, message };
  if (details !== undefined) error.details = details;
  return { type: 'error', error, request_id: requestId };
}

/** The error type the API uses for a status (400-type for unlisted 4xx, api_error for unlisted 5xx). */
export function errorTypeForStatus(status: number): string {
  for (const [type, s] of Object.entries(ANTHROPIC_ERROR_STATUS)) if (s === status) return type;
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}
