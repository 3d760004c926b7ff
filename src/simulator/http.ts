/**
 * What every route module of the simulator shares: the per-request context,
 * the route config flags, the API families and their error renderers, and the
 * small I/O helpers (pauses on the simulator's signal, drain and flush waits).
 *
 * A route module (`routes/*.ts`, `platforms/*.ts`) receives a `SimApi` and
 * registers its routes on `api.app`; `server.ts` owns the request lifecycle.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fault } from './faults.ts';
import type { RequestLogEntry, SimulatorState } from './state.ts';
import type { ApiVersion } from './validate.ts';

/**
 * The API a route belongs to: the Anthropic API, or Claude on a cloud platform
 * (Bedrock runtime, Vertex AI). Each family authenticates and answers errors
 * in its own format; faults are scoped to a family.
 */
export type Family = 'anthropic' | 'bedrock' | 'vertex';

/** Per-request context, set by the `onRequest` hook. */
export interface Ctx {
  requestId: string;
  org: string;
  version: ApiVersion;
  entry: RequestLogEntry | null;
  body: unknown;
  jsonError: boolean;
  fault: Fault | undefined;
  family: Family;
  /** The Anthropic API path the request stands for (`/v1/messages` for a Bedrock invoke): what faults match. */
  logicalPath: string;
  /** Whether the request asks for a stream (the Bedrock and Vertex routes say so in their path). */
  streaming: boolean;
  /** The catalog model id a platform route names in its path. */
  model?: string;
}

export interface RouteCfg {
  api?: boolean;
  family?: Family;
  bodyLimit?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    sim: Ctx;
  }
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

/** Renders one error in a family's wire format (status, body, headers). */
export type ErrorRenderer = (
  reply: FastifyReply,
  status: number,
  type: string,
  message: string,
  headers?: Record<string, string>,
  details?: Obj | null,
) => FastifyReply;

/** What a family adds to the request lifecycle. */
export interface FamilyHooks {
  /** Headers only (before the body): identity headers, header-based auth. May answer. */
  onRequest?(
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> | FastifyReply | undefined;
  /** After the body is read, before faults: body-signed auth (SigV4). May answer. */
  authenticate?(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  renderError: ErrorRenderer;
}

/** The simulator's shared services, handed to every route module. */
export interface SimApi {
  app: FastifyInstance;
  state: SimulatorState;
  /** Aborted when the simulator closes (cancels pending delays). */
  signal: AbortSignal;
  logger: boolean;
  /** Sends a JSON payload (records the status in the request log). */
  send(reply: FastifyReply, status: number, payload: unknown, headers?: Record<string, string>): FastifyReply;
  /** Sends an error in the route's family format. */
  sendError: ErrorRenderer;
  /** Destroys the connection without answering (`reset`: RST when the platform supports it). */
  destroy(reply: FastifyReply, reset?: boolean): FastifyReply;
  /** Registers a family's lifecycle hooks and error format. */
  family(name: Family, hooks: FamilyHooks): void;
}

export const DEFAULT_MESSAGES: Record<string, string> = {
  invalid_request_error: 'Invalid request',
  authentication_error: 'invalid x-api-key',
  billing_error: 'Your credit balance is too low to access the Anthropic API.',
  permission_error: 'Your API key does not have permission to use the specified resource.',
  not_found_error: 'Not found',
  conflict_error: 'Conflict',
  request_too_large: 'Request exceeds the maximum allowed number of bytes.',
  rate_limit_error: 'Number of requests has exceeded your rate limit. Please try again later.',
  api_error: 'Internal server error',
  timeout_error: 'Request timed out',
  overloaded_error: 'Overloaded',
};

/** Resolves when `ms` passed (true) or the simulator closed (false). No timer for 0. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!signal.aborted);
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Resolves once everything written to `res` so far has left the process. HTTP
 * responses cork the socket until the next tick, so a `destroy()` in the same
 * tick as the writes would drop them.
 */
export function flushed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (!res.headersSent) res.flushHeaders();
    setImmediate(() => {
      const socket = res.socket;
      if (!socket || socket.destroyed || socket.writableLength === 0) return resolve();
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  });
}
