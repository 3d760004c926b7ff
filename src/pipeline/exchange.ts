/**
 * The Exchange: one client request as it moves through the pipeline.
 *
 * A transport (the gateway's HTTP server, later the in-process adapter) builds
 * it from the client's request, runs the stages, renders `response`, and calls
 * the stages' `complete` hooks once the response has been fully sent or failed.
 * Stages read and fill the fields they own; nothing here holds policy.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Cost } from '../anthropic/cost.ts';
import type { Usage } from '../anthropic/usage.ts';
import type { GantryError } from '../errors.ts';
import type { BatchResultLine } from '../ledger/batch-tap.ts';
import type { Ticket } from '../limits/types.ts';
import type { RouteDef } from './routes.ts';
import type { SseChain } from './upstream/relay.ts';

/**
 * Something a stage decided about the exchange, in order. Decisions feed the
 * response headers (`gantry-degraded`, `gantry-safety`, ...), the log line,
 * metrics and the ledger row. Never content.
 */
export interface Decision {
  /** The stage that decided (`admit`, `upstream`, `policy`, `safety.output`, ...). */
  stage: string;
  action:
    | 'retried'
    | 'failed_over'
    | 'degraded'
    | 'shed'
    | 'blocked'
    | 'rate_limited'
    | 'budget_exceeded'
    | 'downgraded'
    | 'routed'
    | 'rewritten'
    | 'clamped'
    | 'flagged'
    | 'redacted';
  /** Rule or policy id, e.g. `budget.client.daily`, `safety.secret.aws_access_key`. */
  rule?: string;
  /** Short metadata (a model id, a count); never content. */
  detail?: string;
}

/** A virtual-key client resolved by `authenticate`. */
export interface ExchangeClient {
  name: string;
  environment: string;
}

/** What the transport sends back: a whole body, or chunks forwarded as they arrive. */
export interface ExchangeResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | AsyncIterable<Buffer>;
  /**
   * `body` parsed as JSON, when a stage already parsed it (the upstream stage
   * does, to read usage), so later stages do not parse it again. A stage that
   * replaces `body` deletes it.
   */
  json?: unknown;
  /**
   * Set for an SSE answer relayed from the upstream: its one event chain
   * (src/pipeline/upstream/relay.ts). A later stage inspects or rewrites the
   * stream's events by setting `events.transform` before the body is read.
   */
  events?: SseChain;
}

/**
 * When things happened, in milliseconds since the request arrived
 * (`Exchange.startedAt`). The one clock of every duration Gantry reports: the
 * log line, the ledger, the metrics and traces read these fields and nothing
 * else.
 *
 * Time to first token (`timeToFirstToken`) is `firstByte` of a streamed answer:
 * from the request's arrival until the first byte of the upstream's stream
 * (gateway work, queueing, retries and the model's own latency included).
 */
export interface ExchangeTimings {
  /** The last upstream attempt was sent. */
  upstreamSent?: number;
  /** Its response headers arrived. */
  upstreamHeaders?: number;
  /** The first byte of its body arrived. */
  firstByte?: number;
  /** Its body ended (or failed). */
  upstreamEnded?: number;
  /** The response to the client was complete (or failed). */
  finished?: number;
}

/** Time to first token of an exchange in ms since arrival (streams only), the one definition. */
export function timeToFirstToken(ex: Pick<Exchange, 'stream' | 'timings'>): number | undefined {
  return ex.stream ? ex.timings.firstByte : undefined;
}

/** How the exchange ended, from the client's point of view. */
export type ExchangeOutcome =
  | 'ok' // a response was sent in full (any status)
  | 'gantry_error' // Gantry answered with its own error
  | 'stream_error' // the upstream stream failed after it started (SSE error event sent)
  | 'upstream_cut' // the upstream stream ended without message_stop
  | 'client_closed'; // the client went away before the response was complete

export interface Exchange {
  /** Gantry's request id (`gtw_…`), sent back as `gantry-request-id`. */
  readonly id: string;
  /** `performance.now()` when the request arrived: the origin of `timings`. */
  readonly startedAt: number;
  /** Wall-clock time of arrival (ms since epoch). */
  readonly receivedAt: number;
  readonly route: RouteDef;
  readonly method: string;
  /** The path the client asked for, without its query (for logs). */
  readonly path: string;
  /**
   * The path and query sent upstream, built from the route table alone
   * (`upstreamTarget` in routes.ts): the route's path, the validated id and the
   * client's query re-encoded.
   */
  target: string;
  /** Route parameters (e.g. `{ id }`), already validated by the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The client's connection, as an identity only (per-connection caches key on it); absent in-process. */
  readonly connection?: object;
  /**
   * The body bytes exactly as received; forwarded byte for byte unless a stage
   * changed the body (`bodyChanged`), in which case the upstream stage sends
   * one serialisation of `body` instead (src/pipeline/body.ts).
   */
  rawBody: Buffer | undefined;
  /** The body parsed once (JSON object), for stages to read; changed only through `setBodyFields`. */
  body: Record<string, unknown> | undefined;
  /** A stage changed `body` since `rawBody` was read or built. */
  bodyChanged?: boolean;
  /** Aborted when the client disconnects before the response is complete. */
  readonly signal: AbortSignal;

  client?: ExchangeClient;
  customer?: string;
  /** The model the request names now (after any routing or fallback). */
  model?: string;
  /** The model the client asked for, when a stage changed it. */
  requestedModel?: string;
  stream: boolean;
  /** Decisions taken by stages, in order. */
  decisions: Decision[];

  /** Set by the transport and the upstream stage; see `ExchangeTimings`. */
  timings: ExchangeTimings;

  upstream: {
    requestId?: string;
    status?: number;
    attempts: number;
    /** Id of the upstream key used for the last attempt (never the key itself). */
    keyId?: string;
    /**
     * Releases what the upstream stage holds for this exchange (concurrency
     * slots, the key's in-flight count) once the response is complete.
     */
    release?: () => void;
  };
  /** Rate-limit and budget reservations taken by admit, settled against `usage` when the exchange completes. */
  admission?: Ticket;
  /** Succeeded batch result lines relayed by `GET …/results` (usage per line, for the ledger). */
  batchResults?: readonly BatchResultLine[];

  response?: ExchangeResponse;
  /** Headers stages add to whatever response is rendered (e.g. `gantry-ratelimit-*` from admit). */
  responseHeaders?: Record<string, string>;
  usage?: Usage;
  /** What the upstream Message reported besides usage (metadata for traces; never content). */
  message?: { id?: string; model?: string; stopReason?: string };
  /** Cost of `usage`, set by the account stage. */
  cost?: Cost;
  /** The upstream's error type for non-2xx answers or SSE error events. */
  errorType?: string;
  error?: GantryError;
  outcome?: ExchangeOutcome;
}
