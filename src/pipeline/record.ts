/**
 * The record of a finished exchange: what observers (the ledger, metrics,
 * latency windows, alerts, traces, the log line) receive, once, after every
 * stage's `complete` hook ran. It is built from the exchange by `recordOf`,
 * frozen, and carries metadata only: no body, no headers, no content, so an
 * observer cannot leak what it never sees.
 *
 * Two rules are decided here, once, for every observer:
 * - the error type (`errorTypeOf`): Gantry's own error for `gantry_error`, the
 *   SSE error type sent for a failed stream, the upstream's for a non-2xx
 *   answer, none for a success (even after retried attempts);
 * - the price: `costOf(usage, model)` with the model the upstream says it ran
 *   (`answeredModel`), else the model sent, at the prices of the platform that
 *   served it (src/platforms/prices.ts: regional premiums).
 */
import { type Cost, costOf } from '../anthropic/cost.ts';
import type { Usage } from '../anthropic/usage.ts';
import type { GantryError } from '../errors.ts';
import type { BatchResultLine } from '../ledger/batch-tap.ts';
import { attributionOf } from './customer.ts';
import type {
  Decision,
  Exchange,
  ExchangeClient,
  ExchangeOutcome,
  ExchangeRollout,
  ExchangeTimings,
} from './exchange.ts';
import { timeToFirstToken } from './exchange.ts';
import type { RouteKind } from './routes.ts';

export interface ExchangeRecord {
  /** Gantry's request id (`gtw_…`). */
  readonly id: string;
  /** Wall-clock time of arrival (ms since epoch). */
  readonly receivedAt: number;
  readonly route: RouteKind;
  /** The route's pattern (`/v1/messages/batches/:id`), bounded: safe as a label. */
  readonly routePath: string;
  readonly method: string;
  /** The path the client asked for, without its query. */
  readonly path: string;
  /** The route's validated `:id` (a batch or model id), when it has one. */
  readonly resourceId?: string;
  readonly client?: ExchangeClient;
  readonly customer?: string;
  /** The model sent upstream (after aliases, routing, downgrades and fallbacks). */
  readonly model?: string;
  /** The model the client asked for, when a stage changed it. */
  readonly requestedModel?: string;
  /** The model the upstream says it ran (`message.model`), when it answered with a Message. */
  readonly answeredModel?: string;
  readonly stream: boolean;
  /** The status the client received (Gantry's own error's, or the upstream's). */
  readonly status?: number;
  readonly outcome: ExchangeOutcome;
  readonly errorType?: string;
  /** Gantry's own error, when it answered with one (or cut a stream with one). */
  readonly error?: GantryError;
  readonly decisions: readonly Decision[];
  readonly upstream: Readonly<{
    requestId?: string;
    status?: number;
    attempts: number;
    keyId?: string;
    /** The platform that served (or answered) the last attempt, and its region. */
    platform?: import('../platforms/prices.ts').PlatformName;
    region?: string;
  }>;
  /** Milliseconds since arrival (see `ExchangeTimings`). */
  readonly timings: Readonly<ExchangeTimings>;
  /** Time to first token (streams), the one definition (`timeToFirstToken`). */
  readonly ttftMs?: number;
  readonly usage?: Usage;
  readonly cost?: Cost;
  readonly stopReason?: string;
  readonly messageId?: string;
  readonly batchResults?: readonly BatchResultLine[];
  /** Request settings worth a trace attribute (numbers only). */
  readonly maxTokens?: number;
  readonly temperature?: number;
  /** W3C trace context the client sent, for the trace span's parent. */
  readonly traceContext?: Readonly<{ traceparent?: string; tracestate?: string }>;
  /** The rollout arm that served the exchange (src/rollouts). */
  readonly rollout?: Readonly<ExchangeRollout>;
  /** Claude Code's attribution headers (`x-claude-code-session-id`, `-agent-id`), bounded; absent when not sent. */
  readonly attribution?: Readonly<{ sessionId: string | null; agentId: string | null }>;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The error type an exchange ended with, by the rules above. */
function errorTypeOf(ex: Exchange): string | undefined {
  if (ex.outcome === 'gantry_error') return ex.error?.type;
  if (ex.outcome === 'stream_error' || ex.outcome === 'upstream_cut') return ex.errorType ?? ex.error?.type;
  const status = ex.response?.status;
  if (status !== undefined && status >= 400) return ex.errorType ?? ex.error?.type ?? 'unknown';
  return undefined;
}

/** Claude Code's attribution headers of an exchange, or undefined when it sent neither. */
function attributionIn(ex: Exchange): ExchangeRecord['attribution'] {
  const a = attributionOf(ex.headers);
  return a.sessionId === null && a.agentId === null ? undefined : a;
}

/** Builds the frozen record of a finished exchange (prices its usage). */
export function recordOf(ex: Exchange): ExchangeRecord {
  const answeredModel = ex.message?.model;
  const priced = answeredModel ?? ex.model;
  return Object.freeze({
    id: ex.id,
    receivedAt: ex.receivedAt,
    route: ex.route.kind,
    routePath: ex.route.path,
    method: ex.method,
    path: ex.path,
    resourceId: ex.params.id,
    client: ex.client,
    customer: ex.customer,
    model: ex.model,
    requestedModel: ex.requestedModel,
    answeredModel,
    stream: ex.stream,
    status: ex.response?.status ?? ex.error?.status,
    outcome: ex.outcome ?? 'ok',
    errorType: errorTypeOf(ex),
    error: ex.error,
    decisions: ex.decisions,
    upstream: {
      requestId: ex.upstream.requestId,
      status: ex.upstream.status,
      attempts: ex.upstream.attempts,
      keyId: ex.upstream.keyId,
      platform: ex.upstream.platform,
      region: ex.upstream.region,
    },
    timings: ex.timings,
    ttftMs: timeToFirstToken(ex),
    usage: ex.usage,
    cost: ex.usage
      ? costOf(
          ex.usage,
          priced,
          ex.upstream.platform && ex.upstream.platform !== 'anthropic'
            ? {
                servedBy: {
                  platform: ex.upstream.platform,
                  region: ex.upstream.region,
                  global: ex.upstream.global,
                },
              }
            : undefined,
        )
      : undefined,
    stopReason: ex.message?.stopReason,
    messageId: ex.message?.id,
    batchResults: ex.batchResults,
    maxTokens: num(ex.body?.max_tokens),
    temperature: num(ex.body?.temperature),
    attribution: attributionIn(ex),
    rollout: ex.rollout,
    traceContext:
      ex.headers.traceparent === undefined
        ? undefined
        : { traceparent: str(ex.headers.traceparent), tracestate: str(ex.headers.tracestate) },
  });
}
