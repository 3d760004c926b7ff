/**
 * The simulator's HTTP server (fastify): the Anthropic API routes, the
 * `/_sim/` control routes, and the request lifecycle every API request goes
 * through:
 *
 *   onRequest   request-id + organization headers, request log entry,
 *               413 on a declared oversize body, auth (401), anthropic-version (400)
 *   parsing     raw body (size-limited: 32 MB, 256 MB for batches)
 *   preHandler  JSON parse, fault injection, first-byte latency, 400 on bad JSON
 *   handler     validation (400/404), scripts, cache, rate limits (429), reply
 *
 * Nothing is logged per request unless `logger` is set.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorEnvelope, errorTypeForStatus } from '../anthropic/errors.ts';
import { newId } from '../anthropic/ids.ts';
import type { ApiLifecycle } from '../anthropic/models.ts';
import { resolveModel } from '../anthropic/models.ts';
import { encodeEvent } from '../anthropic/sse.ts';
import { estimateRequestTokens, requestTokenBlocks } from '../anthropic/tokens.ts';
import { type BatchRequest, type BatchResult, BatchStore } from './batches.ts';
import { type CachePlan, uncachedUsage } from './cache.ts';
import { registerControl } from './control.ts';
import type { Fault } from './faults.ts';
import { generateReply, type ScriptedResponse } from './generate.ts';
import { buildUsage, type Frame, messageBody, streamFrames } from './message.ts';
import { API_LIFECYCLES, MODEL_INFOS, modelInfoById } from './models-api.ts';
import { paginate } from './pagination.ts';
import { isZero, type Latency, sample } from './random.ts';
import type { RequestLogEntry, SimulatorState } from './state.ts';
import {
  type ApiVersion,
  CUSTOM_ID,
  checkVersion,
  validateBatchParams,
  validateMessagesBody,
} from './validate.ts';

export const MESSAGES_BODY_LIMIT = 32 * 1024 * 1024;
export const BATCH_BODY_LIMIT = 256 * 1024 * 1024;
export const MAX_BATCH_REQUESTS = 100_000;

interface Ctx {
  requestId: string;
  org: string;
  version: ApiVersion;
  entry: RequestLogEntry | null;
  body: unknown;
  jsonError: boolean;
  fault: Fault | undefined;
}

interface RouteCfg {
  api?: boolean;
  bodyLimit?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    sim: Ctx;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

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

const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

const BEARER = /^Bearer\s+(.+)$/i;

/** Resolves when `ms` passed (true) or the simulator closed (false). No timer for 0. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
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

function waitDrain(res: ServerResponse): Promise<void> {
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
function flushed(res: ServerResponse): Promise<void> {
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

const DEFAULT_MESSAGES: Record<string, string> = {
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

  const send = (reply: FastifyReply, status: number, payload: unknown, headers?: Record<string, string>) => {
    if (headers) reply.headers(headers);
    const entry = reply.request.sim?.entry;
    if (entry) entry.status = status;
    return reply.code(status).send(payload);
  };

  const sendError = (
    reply: FastifyReply,
    status: number,
    type: string,
    message: string,
    headers?: Record<string, string>,
    details?: Obj | null,
  ) =>
    send(reply, status, errorEnvelope(type, message, reply.request.sim?.requestId ?? null, details), headers);

  // ---- lifecycle ----

  app.addHook('onRequest', async (req, reply) => {
    const requestId = newId('req');
    const ctx: Ctx = {
      requestId,
      org: state.organizationId,
      version: '2023-06-01',
      entry: null,
      body: null,
      jsonError: false,
      fault: undefined,
    };
    req.sim = ctx;
    reply.header('request-id', requestId);
    reply.header('anthropic-organization-id', ctx.org);
    const cfg = req.routeOptions.config as RouteCfg;
    if (!cfg.api) return;

    const entry: RequestLogEntry = {
      requestId,
      method: req.method,
      url: req.url,
      path: pathOf(req.url),
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
    const path = ctx.entry?.path ?? pathOf(req.url);
    const streaming = path === '/v1/messages' && isObj(ctx.body) && ctx.body.stream === true;
    const model = isObj(ctx.body) && typeof ctx.body.model === 'string' ? ctx.body.model : undefined;
    const fault = state.matchFault(req.method, path, streaming, model);
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
            fault.details,
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

  // ---- helpers ----

  const validationError = (
    reply: FastifyReply,
    e: { status: number; type: string; message: string; details?: Obj | null },
  ) => sendError(reply, e.status, e.type, e.message, undefined, e.details);

  function scriptError(reply: FastifyReply, s: ScriptedResponse) {
    const status = s.status ?? 500;
    const type = s.error?.type ?? errorTypeForStatus(status);
    return sendError(
      reply,
      status,
      type,
      s.error?.message ?? DEFAULT_MESSAGES[type] ?? 'Error',
      s.headers,
      s.error?.details,
    );
  }

  async function writeStream(
    reply: FastifyReply,
    frames: Frame[],
    headers: Record<string, string>,
    script?: ScriptedResponse,
  ) {
    const ctx = reply.request.sim;
    reply.hijack();
    const res = reply.raw;
    const all: Record<string, string | number | string[]> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) all[k] = v as string;
    Object.assign(all, headers, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.writeHead(200, all);
    if (ctx.entry) ctx.entry.status = 200;
    const fault = ctx.fault;
    const fixedDelay = script?.chunkDelayMs;
    const perChunk: Latency | null =
      fixedDelay !== undefined
        ? { type: 'fixed', ms: fixedDelay }
        : isZero(state.latency.perChunk)
          ? null
          : state.latency.perChunk;
    if (!fault && !perChunk) {
      let out = '';
      for (const f of frames) out += f.text;
      res.end(out);
      return;
    }
    const stopAt = fault ? Math.max(0, Math.min(fault.afterEvents ?? 3, frames.length - 1)) : -1;
    for (let i = 0; i < frames.length; i++) {
      if (res.destroyed) return;
      if (i === stopAt && fault) {
        if (fault.kind === 'stream_error') {
          const type = fault.errorType ?? 'overloaded_error';
          res.end(
            encodeEvent('error', {
              type: 'error',
              error: { type, message: fault.message ?? DEFAULT_MESSAGES[type] ?? 'Error' },
            }),
          );
        } else if (fault.cutMode === 'end') res.end();
        else {
          // Let the events already written reach the client, then drop the connection.
          await flushed(res);
          res.destroy();
        }
        return;
      }
      if (perChunk && frames[i].delta) {
        const ms = sample(perChunk, state.random);
        if (ms > 0 && !(await pause(ms, signal))) {
          res.destroy();
          return;
        }
      }
      if (!res.write(frames[i].text)) await waitDrain(res);
    }
    res.end();
  }

  // ---- Messages ----

  app.post('/v1/messages', { config: { api: true, bodyLimit: MESSAGES_BODY_LIMIT } }, async (req, reply) => {
    const ctx = req.sim;
    const body = ctx.body as Obj;
    const v = validateMessagesBody(body, ctx.version);
    if ('status' in v) return validationError(reply, v);
    const model = v.model;
    // A scripted error answers before anything else; a scripted reply is taken
    // only once the request is admitted (a 429 does not consume it).
    const next = state.peekScript();
    if (next?.status !== undefined && next.status >= 400) return scriptError(reply, state.takeScript()!);

    const est = estimateRequestTokens(body);
    if (model.context_window !== null && est.total > model.context_window) {
      return sendError(
        reply,
        400,
        'invalid_request_error',
        `prompt is too long: ${est.total} tokens > ${model.context_window} maximum`,
      );
    }
    let plan: CachePlan;
    if (est.cacheControlBlocks > 0 || body.cache_control != null) {
      const p = state.cache.plan(ctx.org, model, body, requestTokenBlocks(body), est.total);
      if ('error' in p) return sendError(reply, 400, 'invalid_request_error', p.error);
      plan = p;
    } else plan = { usage: uncachedUsage(est.total), commit: noop };

    const cu = plan.usage;
    const adm = state.limiter.admitMessage(ctx.org, model, cu.input_tokens + cu.cache_creation_input_tokens);
    if (!adm.ok) {
      const what =
        adm.kind === 'requests'
          ? `${adm.limit} requests per minute`
          : adm.kind === 'input_tokens'
            ? `${adm.limit} input tokens per minute`
            : `${adm.limit} output tokens per minute`;
      return sendError(
        reply,
        429,
        'rate_limit_error',
        `This request would exceed your organization's rate limit of ${what} (org: ${ctx.org}, model: ${model.id}). For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.`,
        { ...adm.headers, 'retry-after': String(adm.retryAfterSeconds) },
      );
    }
    plan.commit();
    const script = next ? state.takeScript() : undefined;
    const r = generateReply(body, {
      seed: state.seed,
      mode: state.replyMode.mode,
      loremWords: state.replyMode.loremWords,
      script,
    });
    state.limiter.chargeOutput(ctx.org, model, r.outputTokens);
    const usage = buildUsage(cu, r, body, 'standard', script?.usage);
    const id = newId('msg');
    const headers = script?.headers ? { ...adm.headers, ...script.headers } : adm.headers;
    if (body.stream === true) {
      const frames = streamFrames(id, model.id, r, usage, script?.chunkSize ?? state.chunkSize);
      return writeStream(reply, frames, headers, script);
    }
    return send(reply, 200, messageBody(id, model.id, r, usage), headers);
  });

  app.post(
    '/v1/messages/count_tokens',
    { config: { api: true, bodyLimit: MESSAGES_BODY_LIMIT } },
    async (req, reply) => {
      const ctx = req.sim;
      const v = validateMessagesBody(ctx.body, ctx.version, { forCount: true });
      if ('status' in v) return validationError(reply, v);
      const adm = state.limiter.admitSimple(ctx.org, 'count_tokens');
      if (!adm.ok) {
        return sendError(
          reply,
          429,
          'rate_limit_error',
          `This request would exceed your organization's rate limit of ${adm.limit} token counting requests per minute (org: ${ctx.org}).`,
          { 'retry-after': String(adm.retryAfterSeconds) },
        );
      }
      return send(reply, 200, { input_tokens: estimateRequestTokens(ctx.body).total });
    },
  );

  // ---- Models ----

  app.get('/v1/models', { config: { api: true } }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const raw = q['lifecycle[]'] ?? q.lifecycle;
    let wanted: ApiLifecycle[] = ['active', 'deprecated'];
    if (raw !== undefined) {
      const list = (Array.isArray(raw) ? raw : String(raw).split(',')).map(String);
      for (const l of list) {
        if (!(API_LIFECYCLES as readonly string[]).includes(l)) {
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `lifecycle: Input should be 'active', 'deprecated' or 'retired'`,
          );
        }
      }
      wanted = list as ApiLifecycle[];
    }
    const items = MODEL_INFOS.filter((m) => wanted.includes(m.lifecycle));
    const page = paginate(items, (m) => m.id, q);
    if ('error' in page) return sendError(reply, 400, 'invalid_request_error', page.error);
    return send(reply, 200, page);
  });

  app.get('/v1/models/:model_id', { config: { api: true } }, async (req, reply) => {
    const id = decodeURIComponent((req.params as { model_id: string }).model_id);
    const entry = resolveModel(id);
    const info = entry ? modelInfoById(entry.id) : undefined;
    if (!info) return sendError(reply, 404, 'not_found_error', `model: ${id}`);
    return send(reply, 200, info);
  });

  // ---- Message Batches ----

  const batches = new BatchStore(
    () => state.clock.now(),
    (params, context) => processBatchRequest(params, context as { version: ApiVersion }),
    batchProcessingMs,
  );
  state.batches = batches;

  function processBatchRequest(params: unknown, context: { version: ApiVersion }): BatchResult {
    const v = validateBatchParams(params, context.version);
    if ('status' in v) {
      return { type: 'errored', error: errorEnvelope(v.type, v.message, null, v.details) };
    }
    const body = params as Obj;
    const est = estimateRequestTokens(body);
    const r = generateReply(body, {
      seed: state.seed,
      mode: state.replyMode.mode,
      loremWords: state.replyMode.loremWords,
    });
    const usage = buildUsage(uncachedUsage(est.total), r, body, 'batch');
    return { type: 'succeeded', message: messageBody(newId('msg'), v.model.id, r, usage) };
  }

  const batchId = (req: FastifyRequest) => (req.params as { id: string }).id;
  const batchNotFound = (reply: FastifyReply, id: string) =>
    sendError(reply, 404, 'not_found_error', `message_batch_id: no Message Batch with id ${id}`);

  app.post(
    '/v1/messages/batches',
    { config: { api: true, bodyLimit: BATCH_BODY_LIMIT }, bodyLimit: BATCH_BODY_LIMIT },
    async (req, reply) => {
      const ctx = req.sim;
      const body = ctx.body as Obj;
      const requests = body.requests;
      if (requests === undefined)
        return sendError(reply, 400, 'invalid_request_error', 'requests: Field required');
      if (!Array.isArray(requests))
        return sendError(reply, 400, 'invalid_request_error', 'requests: Input should be a valid list');
      if (requests.length === 0) {
        return sendError(
          reply,
          400,
          'invalid_request_error',
          'requests: List should have at least 1 item after validation, not 0',
        );
      }
      if (requests.length > MAX_BATCH_REQUESTS) {
        return sendError(
          reply,
          400,
          'invalid_request_error',
          `requests: at most ${MAX_BATCH_REQUESTS} requests per batch`,
        );
      }
      const seen = new Set<string>();
      const list: BatchRequest[] = [];
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i];
        if (!isObj(r))
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `requests.${i}: Input should be a valid dictionary`,
          );
        if (typeof r.custom_id !== 'string') {
          return sendError(reply, 400, 'invalid_request_error', `requests.${i}.custom_id: Field required`);
        }
        if (!CUSTOM_ID.test(r.custom_id)) {
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`,
          );
        }
        if (seen.has(r.custom_id)) {
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `requests.${i}.custom_id: Duplicate custom_id '${r.custom_id}'`,
          );
        }
        seen.add(r.custom_id);
        if (!isObj(r.params))
          return sendError(reply, 400, 'invalid_request_error', `requests.${i}.params: Field required`);
        list.push({ custom_id: r.custom_id, params: r.params });
      }
      const adm = state.limiter.admitSimple(ctx.org, 'batches');
      if (!adm.ok) {
        return sendError(
          reply,
          429,
          'rate_limit_error',
          `This request would exceed your organization's rate limit of ${adm.limit} Message Batches API requests per minute (org: ${ctx.org}).`,
          { 'retry-after': String(adm.retryAfterSeconds) },
        );
      }
      const host = req.headers.host ?? `${req.hostname}`;
      return send(reply, 200, batches.create(list, `${req.protocol}://${host}`, { version: ctx.version }));
    },
  );

  app.get('/v1/messages/batches', { config: { api: true } }, async (req, reply) => {
    const page = paginate(batches.list(), (b) => b.id, req.query as Obj);
    if ('error' in page) return sendError(reply, 400, 'invalid_request_error', page.error);
    return send(reply, 200, page);
  });

  app.get('/v1/messages/batches/:id', { config: { api: true } }, async (req, reply) => {
    const b = batches.get(batchId(req));
    return b ? send(reply, 200, b) : batchNotFound(reply, batchId(req));
  });

  app.post('/v1/messages/batches/:id/cancel', { config: { api: true } }, async (req, reply) => {
    const b = batches.cancel(batchId(req));
    return b ? send(reply, 200, b) : batchNotFound(reply, batchId(req));
  });

  app.delete('/v1/messages/batches/:id', { config: { api: true } }, async (req, reply) => {
    const id = batchId(req);
    const r = batches.delete(id);
    if (r === 'not_found') return batchNotFound(reply, id);
    if (r === 'in_progress') {
      return sendError(
        reply,
        400,
        'invalid_request_error',
        `Message Batch ${id} is still being processed; cancel it and wait until processing_status is "ended" before deleting it.`,
      );
    }
    return send(reply, 200, { id, type: 'message_batch_deleted' });
  });

  app.get('/v1/messages/batches/:id/results', { config: { api: true } }, async (req, reply) => {
    const id = batchId(req);
    const r = batches.results(id);
    if (r === 'not_found') return batchNotFound(reply, id);
    if (r === 'in_progress') {
      return sendError(
        reply,
        400,
        'invalid_request_error',
        `Message Batch ${id} has not finished processing; results are available once processing_status is "ended".`,
      );
    }
    reply.header('content-type', 'application/x-jsonl');
    return send(reply, 200, r);
  });

  registerControl(app, state);
  return app;
}

const noop = () => {};
