/**
 * The simulator's HTTP server (fastify): the request lifecycle every API
 * request goes through, for each API family (the Anthropic API, Claude on
 * Bedrock, Claude on Vertex AI); the routes live in their own modules.
 *
 *   onRequest   request log entry, 413 on a declared oversize body, then the
 *               family's header checks (Anthropic: request-id and organization
 *               headers, auth (401), anthropic-version (400))
 *   parsing     raw body (size-limited: 32 MB, 256 MB for batches)
 *   preHandler  JSON parse, the family's body-signed auth (Bedrock SigV4),
 *               fault injection, first-byte latency, 400 on bad JSON
 *   handler     the route (routes/*.ts, platforms/*.ts)
 *
 * | module | routes |
 * |---|---|
 * | routes/messages.ts | `POST /v1/messages`, `POST /v1/messages/count_tokens`; the shared answer core |
 * | routes/models.ts | `GET /v1/models`, `GET /v1/models/{id}` |
 * | routes/batches.ts | `/v1/messages/batches/*` |
 * | platforms/bedrock.ts | Bedrock runtime: `POST /model/{id}/invoke`, `…/invoke-with-response-stream`, `…/count-tokens` |
 * | platforms/vertex.ts | Vertex AI: `…/publishers/anthropic/models/{id}:rawPredict`, `:streamRawPredict`, `count-tokens:rawPredict`; the OAuth token endpoint |
 * | control.ts | `/_sim/*` |
 *
 * Nothing is logged per request unless `logger` is set.
 */
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { errorEnvelope, errorTypeForStatus } from '../anthropic/errors.ts';
import { newId } from '../anthropic/ids.ts';
import { registerControl } from './control.ts';
import {
  type Ctx,
  DEFAULT_MESSAGES,
  type ErrorRenderer,
  type Family,
  type FamilyHooks,
  isObj,
  type Obj,
  pathOf,
  pause,
  type RouteCfg,
  type SimApi,
} from './http.ts';
import { registerBedrock } from './platforms/bedrock.ts';
import { registerVertex } from './platforms/vertex.ts';
import { isZero, sample } from './random.ts';
import { registerBatches } from './routes/batches.ts';
import { MESSAGES_BODY_LIMIT, registerMessages } from './routes/messages.ts';
import { registerModels } from './routes/models.ts';
import type { RequestLogEntry, SimulatorState } from './state.ts';
import { checkVersion } from './validate.ts';

export {} from './routes/batches.ts';
export {} from './routes/messages.ts';

/** API routes by path pattern, for 405 answers on a wrong method. */
const KNOWN_ROUTES: { re: RegExp; methods: string[] }[] = [
  { re: /^\/v1\/messages$/, methods: ['POST'] },
  { re: /^\/v1\/messages\/count_tokens$/, methods: ['POST'] },
  { re: /^\/v1\/models$/, methods: ['GET'] },
  { re: /^\/v1\/models\/[^/]+$/, methods: ['GET'] },
  { re: /^\/v1\/messages\/batches$/, methods: ['GET', 'POST'] },
  { re: /^\/v1\/messages\/batches\/[^/]+$/, methods: ['GET', 'DELETE'] },
  { re: /^\/v1\/messages\/batches\/[^/]+\/cancel$/, methods: ['POST'] },
  { re: /^\/v1\/messages\/batches\/[^/]+\/results$/, methods: ['GET'] },
];

const BEARER = /^Bearer\s+(.+)$/i;

export interface ServerDeps {
  state: SimulatorState;
  /** Aborted when the simulator closes (cancels pending delays). */
  signal: AbortSignal;
  logger: boolean;
  /** Initial simulated batch processing time. */
  batchProcessingMs: number;
}

/** Builds the fastify app (not listening). */
export function buildServer({ state, signal, logger, batchProcessingMs }: ServerDeps): FastifyInstance {
  const app = Fastify({
    logger: logger ? { level: 'info' } : false,
    bodyLimit: MESSAGES_BODY_LIMIT,
    forceCloseConnections: true,
    keepAliveTimeout: 75_000,
    return503OnClosing: false,
  });

  app.decorateRequest('sim', null as unknown as Ctx);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const families = new Map<Family, FamilyHooks>();
  const familyOf = (reply: FastifyReply): Family =>
    (reply.request.routeOptions.config as RouteCfg).family ?? 'anthropic';

  const send: SimApi['send'] = (reply, status, payload, headers) => {
    if (headers) reply.headers(headers);
    const entry = reply.request.sim?.entry;
    if (entry) entry.status = status;
    return reply.code(status).send(payload);
  };

  /** The Anthropic API's error envelope. */
  const anthropicError: ErrorRenderer = (reply, status, type, message, headers, details) =>
    send(reply, status, errorEnvelope(type, message, reply.request.sim?.requestId ?? null, details), headers);

  const sendError: ErrorRenderer = (reply, status, type, message, headers, details) =>
    (families.get(familyOf(reply))?.renderError ?? anthropicError)(
      reply,
      status,
      type,
      message,
      headers,
      details,
    );

  /** Destroys the connection without answering (a reset sends RST when the platform supports it). */
  function destroy(reply: FastifyReply, reset = false) {
    reply.hijack();
    const entry = reply.request.sim?.entry;
    if (entry) entry.status = 0;
    const socket = reply.raw.socket as (Socket & { resetAndDestroy?: () => void }) | null;
    if (reset && socket?.resetAndDestroy) socket.resetAndDestroy();
    else reply.raw.destroy();
    return reply;
  }

  const api: SimApi = {
    app,
    state,
    signal,
    logger,
    send,
    sendError,
    destroy,
    family: (name, hooks) => families.set(name, hooks),
  };

  // The Anthropic API: request-id and organization headers, x-api-key (or bearer) auth, anthropic-version.
  api.family('anthropic', {
    renderError: anthropicError,
    async onRequest(req, reply) {
      const ctx = req.sim;
      reply.header('anthropic-organization-id', ctx.org);
      const xKey = req.headers['x-api-key'];
      let key = typeof xKey === 'string' ? xKey : undefined;
      if (!key) {
        const auth = req.headers.authorization;
        const m = typeof auth === 'string' ? BEARER.exec(auth) : null;
        if (m) key = m[1].trim();
      }
      if (!key) {
        return sendError(
          reply,
          401,
          'authentication_error',
          'x-api-key header is required (or send the key as Authorization: Bearer <key>)',
        );
      }
      const org = state.authenticate(key);
      if (org === null) return sendError(reply, 401, 'authentication_error', 'invalid x-api-key');
      if (org !== ctx.org) {
        ctx.org = org;
        reply.header('anthropic-organization-id', org);
      }
      const v = checkVersion(req.headers['anthropic-version']);
      if (typeof v !== 'string') return sendError(reply, v.status, v.type, v.message);
      ctx.version = v;
      return undefined;
    },
  });

  // ---- lifecycle ----

  app.addHook('onRequest', async (req, reply) => {
    const cfg = req.routeOptions.config as RouteCfg;
    const family = cfg.family ?? 'anthropic';
    const path = pathOf(req.url);
    const ctx: Ctx = {
      requestId: newId('req'),
      org: state.organizationId,
      version: '2023-06-01',
      entry: null,
      body: null,
      jsonError: false,
      fault: undefined,
      family,
      logicalPath: path,
      streaming: false,
    };
    req.sim = ctx;
    // Control routes and unknown paths answer like the Anthropic API.
    if (family === 'anthropic') {
      reply.header('request-id', ctx.requestId);
      reply.header('anthropic-organization-id', ctx.org);
    }
    if (!cfg.api) return;

    const entry: RequestLogEntry = {
      requestId: ctx.requestId,
      method: req.method,
      url: req.url,
      path,
      headers: req.headers,
      body: null,
      receivedAt: new Date(state.clock.now()).toISOString(),
      status: null,
    };
    ctx.entry = entry;
    state.requests.add(entry);

    const declared = Number(req.headers['content-length']);
    if (declared > (cfg.bodyLimit ?? MESSAGES_BODY_LIMIT)) {
      reply.header('connection', 'close');
      return sendError(
        reply,
        413,
        'request_too_large',
        `Request exceeds the maximum allowed number of bytes (${cfg.bodyLimit ?? MESSAGES_BODY_LIMIT}).`,
      );
    }
    return families.get(family)?.onRequest?.(req, reply);
  });

  app.addHook('preHandler', async (req, reply) => {
    const cfg = req.routeOptions.config as RouteCfg;
    if (!cfg.api) return;
    const ctx = req.sim;
    const raw = req.body;
    if (Buffer.isBuffer(raw) && raw.length > 0) {
      try {
        ctx.body = JSON.parse(raw.toString('utf8'));
      } catch {
        ctx.jsonError = true;
      }
      if (ctx.entry) ctx.entry.body = ctx.body;
    }
    const authenticate = families.get(ctx.family)?.authenticate;
    if (authenticate) {
      const answered = await authenticate(req, reply);
      if (answered) return answered;
    }
    const path = ctx.logicalPath;
    const streaming =
      ctx.family === 'anthropic'
        ? path === '/v1/messages' && isObj(ctx.body) && ctx.body.stream === true
        : ctx.streaming;
    const model =
      ctx.model ?? (isObj(ctx.body) && typeof ctx.body.model === 'string' ? ctx.body.model : undefined);
    const fault = state.matchFault(req.method, path, streaming, model, ctx.family);
    if (fault) {
      if (ctx.entry) ctx.entry.fault = fault.id;
      if (fault.delayMs && !(await pause(fault.delayMs, signal))) return destroy(reply);
      switch (fault.kind) {
        case 'status': {
          const status = fault.status ?? 500;
          const type = fault.errorType ?? errorTypeForStatus(status);
          const headers: Record<string, string> = { ...fault.headers };
          if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
          if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
          if (fault.shouldRetry !== undefined) headers['x-should-retry'] = String(fault.shouldRetry);
          return sendError(
            reply,
            status,
            type,
            fault.message ?? DEFAULT_MESSAGES[type] ?? 'Error',
            headers,
            fault.details as Obj | null | undefined,
          );
        }
        case 'reset':
          return destroy(reply, true);
        case 'cut':
        case 'stream_error':
          ctx.fault = fault;
          break;
        case 'slow':
          break;
      }
    }
    if (ctx.jsonError) {
      return sendError(
        reply,
        400,
        'invalid_request_error',
        'There was an error parsing the body of your request: invalid JSON',
      );
    }
    if (req.method === 'POST' && !isObj(ctx.body) && !path.endsWith('/cancel')) {
      return sendError(reply, 400, 'invalid_request_error', 'Request body must be a JSON object');
    }
    const fb = state.latency.firstByte;
    if (!isZero(fb) && !(await pause(sample(fb, state.random), signal))) return destroy(reply);
  });

  app.addHook('onResponse', async (req, reply) => {
    const e = req.sim?.entry;
    if (e && e.status === null) e.status = reply.statusCode;
  });

  app.setNotFoundHandler(async (req, reply) => {
    const path = pathOf(req.url);
    const known = KNOWN_ROUTES.find((r) => r.re.test(path));
    if (known) {
      return sendError(reply, 405, 'invalid_request_error', `Method ${req.method} not allowed for ${path}`, {
        allow: known.methods.join(', '),
      });
    }
    return sendError(reply, 404, 'not_found_error', `Not found: no route ${req.method} ${path}`);
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (reply.sent) return;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      reply.header('connection', 'close');
      const cfg = req.routeOptions.config as RouteCfg;
      return sendError(
        reply,
        413,
        'request_too_large',
        `Request exceeds the maximum allowed number of bytes (${cfg.bodyLimit ?? MESSAGES_BODY_LIMIT}).`,
      );
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, errorTypeForStatus(err.statusCode), err.message);
    }
    if (logger) req.log.error(err);
    return sendError(reply, 500, 'api_error', 'Internal server error');
  });

  registerMessages(api);
  registerModels(api);
  registerBatches(api, batchProcessingMs);
  registerBedrock(api);
  registerVertex(api);
  registerControl(app, state);
  return app;
}
