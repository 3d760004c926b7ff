/**
 * The contract of a cloud platform serving Claude (Bedrock, Vertex AI) to the
 * upstream stage: one place per platform that turns a Messages API request
 * into the platform's request and the platform's answer back into the
 * Messages API's answer. The Claude API itself needs no adapter: the upstream
 * stage sends it the client's request as it is.
 *
 * Who calls what, per attempt (src/pipeline/upstream/attempt.ts):
 * `modelId` (is the model offered here?) → `prepare` (URL, signed or
 * authorized headers, body) → the request over the platform's own keep-alive
 * pool → `error` for a non-2xx answer (read whole) or `success` for a 2xx one
 * (a stream is converted as it arrives: nothing is buffered beyond one frame).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { RouteKind } from '../pipeline/routes.ts';
import type { PlatformName } from './prices.ts';

export type PlatformHeaders = Record<string, string | string[] | undefined>;

/** What one attempt sends to a platform. */
export interface PreparedRequest {
  /** Path (and query) on the platform's origin. */
  path: string;
  method: 'POST';
  headers: Record<string, string>;
  body: Buffer;
}

/** The Messages API's form of a platform's answer. */
export interface TranslatedAnswer {
  status: number;
  headers: PlatformHeaders;
  body: Buffer;
}

export interface PrepareInput {
  route: RouteKind;
  /** The request body as the client sent it (after policy rewrites), `model` set to the catalog model. */
  body: Record<string, unknown>;
  stream: boolean;
  /** The client's headers (betas are read from `anthropic-beta`). */
  headers: IncomingHttpHeaders;
  /** The platform's id of the model (`modelId`). */
  platformModel: string;
}

export interface PlatformAdapter {
  readonly name: Exclude<PlatformName, 'anthropic'>;
  readonly environment: string;
  readonly region: string;
  /** Origin of the platform's endpoint (one keep-alive pool each). */
  readonly origin: string;
  /** The platform's id of a model for a route, or undefined when the platform does not serve it. */
  modelId(route: RouteKind, model: string | undefined): string | undefined;
  /** Whether a platform model id is served by a global endpoint (no regional premium). */
  isGlobal(platformModel: string): boolean;
  /** The platform's request for one attempt; rejects when credentials cannot be had. */
  prepare(input: PrepareInput): Promise<PreparedRequest>;
  /** The platform's request id of an answer (kept as the exchange's upstream request id). */
  requestId(headers: PlatformHeaders, body?: Buffer): string | undefined;
  /** A non-2xx answer in the Messages API's error envelope and status. */
  error(status: number, headers: PlatformHeaders, body: Buffer): TranslatedAnswer;
  /** A 2xx answer as the Messages API sends it (streams converted as they arrive). */
  success(
    route: RouteKind,
    stream: boolean,
    headers: PlatformHeaders,
    body: Readable,
  ): Promise<{ headers: PlatformHeaders; body: Readable }>;
  /** A cheap request that proves the credentials and the endpoint (`count_tokens` where offered). */
  probeRequest(model: string): Promise<PreparedRequest | undefined>;
  /** Stops background work (token refresh). */
  close(): void;
}

/** Betas the client asked for (`anthropic-beta`, comma-separated, possibly repeated). */
export function betasOf(headers: IncomingHttpHeaders): string[] {
  const raw = headers['anthropic-beta'];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list
    .flatMap((v) => v.split(','))
    .map((b) => b.trim())
    .filter(Boolean);
}

/**
 * Top-level request fields only the Claude API accepts (its capacity and
 * residency controls); the platforms reject them, so they are left out of a
 * platform's request. Everything else is passed as the client sent it.
 */
export const CLAUDE_API_ONLY_FIELDS: ReadonlySet<string> = new Set(['service_tier', 'inference_geo']);

/** The Messages API's error envelope, as bytes. */
export function envelope(type: string, message: string, requestId: string | undefined): Buffer {
  return Buffer.from(
    JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId ?? null }),
    'utf8',
  );
}
