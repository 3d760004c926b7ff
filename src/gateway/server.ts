/**
 * The gateway's HTTP transport: a thin layer that turns each HTTP request into
 * an Exchange, runs the pipeline, and renders the result. It holds no policy.
 *
 * Limits enforced here: body size (`server.body_limit`, 413), header size
 * (`server.header_limit`, 431), whole-request time for slow clients
 * (`server.request_timeout_ms`, 408), content type (415), JSON (400), method
 * (405) and route (404), each answered in the Anthropic error envelope.
 *
 * Shutdown (`close()`): stop accepting, answer new requests on open
 * connections with 503 `shutting_down`, let in-flight requests and streams
 * finish up to `server.drain_timeout_ms`, then cut what is left, close the
 * upstream pool and flush the log.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { newId } from '../anthropic/ids.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { GantryError, toGantryError } from '../errors.ts';
import { createLogger, describeError, flushLogger } from '../observe/log.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { buildPipeline } from '../pipeline/index.ts';
import { ID_PATTERN, ROUTES, type RouteDef } from '../pipeline/routes.ts';
import type {
  GatewayRoute,
  ReadinessRegistry,
  ReadinessResult,
  SecretLookup,
  Stage,
} from '../pipeline/stage.ts';
import { openAdminAuth } from './admin.ts';
import { openSecretLookup } from './secrets.ts';

export interface GatewayOptions {
  config: ResolvedConfig;
  /** Where log lines go (tests pass a stream); default from `config.logging`. */
  logDestination?: DestinationStream;
  logger?: Logger;
  /** Live secrets; default: open every reference of the config. */
  secrets?: SecretLookup & { close?(): void };
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  /** Graceful shutdown: drain in-flight requests (up to the drain timeout), then release everything. */
  close(): Promise<void>;
}

interface ParsedBody {
  raw: Buffer;
  json: unknown;
}

const UNMATCHED: RouteDef = { kind: 'unmatched', method: 'GET', path: '(none)', body: false };

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logging, options.logDestination);
  const secrets = options.secrets ?? (await openSecretLookup(config, logger));
  const extraRoutes: GatewayRoute[] = [];
  const stages = await buildPipeline({
    config,
    logger,
    secrets,
    routes: { add: (r) => extraRoutes.push(r) },
    readiness: readinessRegistry(),
  });
  const admin = await openAdminAuth(config, logger);
  const completers = stages.filter((s) => s.complete);
  const requesters = stages.filter((s) => s.request);

  let draining = false;
  let inflight = 0;
  let idle: (() => void) | undefined;

  const app = Fastify({
    logger: false,
    bodyLimit: config.server.bodyLimit,
    requestIdHeader: false,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    serverFactory: (handler) =>
      createServer(
        {
          maxHeaderSize: config.server.headerLimit,
          requestTimeout: config.server.requestTimeoutMs,
          headersTimeout: Math.min(config.server.requestTimeoutMs, 60_000),
          keepAliveTimeout: config.server.keepAliveTimeoutMs,
          // Node checks request timeouts on this interval (default 30 s): keep it a fraction of the timeout.
          connectionsCheckingInterval: Math.min(30_000, Math.max(100, config.server.requestTimeoutMs / 4)),
          noDelay: true,
        },
        handler,
      ),
    clientErrorHandler: (err, socket) => onClientError(err, socket, logger),
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, raw, done) => {
    const buf = raw as Buffer;
    try {
      done(null, { raw: buf, json: JSON.parse(buf.toString('utf8')) } satisfies ParsedBody);
    } catch (err) {
      // The parser's message quotes the body: keep it out of the response and the logs.
      done(new GantryError('invalid_json', 'The request body is not valid JSON.', { cause: err }), undefined);
    }
  });

  const finish = (ex: Exchange) => {
    ex.finishedAt = performance.now() - ex.startedAt;
    for (const stage of completers) {
      try {
        stage.complete!(ex);
      } catch (err) {
        logger.error({ stage: stage.name, err: describeError(err) }, 'stage complete hook threw');
      }
    }
  };

  const handle = async (route: RouteDef, request: FastifyRequest, reply: FastifyReply) => {
    const res = reply.raw;
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once('close', onClose);
    const parsed = request.body as ParsedBody | undefined;
    const ex = makeExchange(route, request, controller.signal, parsed);
    inflight += 1;
    reply.hijack();
    try {
      if (draining) {
        throw new GantryError('shutting_down', 'The gateway is shutting down; retry on another instance.');
      }
      const id = (request.params as { id?: string }).id;
      if (id !== undefined && !ID_PATTERN.test(id)) {
        throw new GantryError(
          'route_not_found',
          `No such resource: ${route.kind} takes an id of [A-Za-z0-9_.:-].`,
        );
      }
      for (const stage of requesters) {
        await stage.request!(ex);
        if (ex.response) break;
      }
      if (!ex.response) throw new GantryError('internal_error', 'The pipeline produced no response.');
      await render(ex, res, draining);
    } catch (err) {
      ex.error = toGantryError(err);
      if (controller.signal.aborted) ex.outcome = 'client_closed';
      else {
        ex.outcome = 'gantry_error';
        if (!res.headersSent) sendError(res, ex.error, ex.id, draining);
        else res.destroy();
      }
    } finally {
      res.off('close', onClose);
      if (!ex.outcome)
        ex.outcome = controller.signal.aborted && !res.writableFinished ? 'client_closed' : 'ok';
      finish(ex);
      inflight -= 1;
      if (inflight === 0 && idle) idle();
    }
  };

  // Routes of the table; the other methods of a known path answer 405.
  const methodsByPath = new Map<string, string[]>();
  for (const route of ROUTES) {
    app.route({ method: route.method, url: route.path, handler: (req, reply) => handle(route, req, reply) });
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);
  }
  for (const [path, methods] of methodsByPath) {
    const others = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter((m) => !methods.includes(m));
    app.route({
      method: others,
      url: path,
      handler: async (_req, _reply) => {
        throw new GantryError(
          'method_not_allowed',
          `${path} does not take this method; use ${methods.join(' or ')}.`,
          {
            headers: { allow: methods.join(', ') },
          },
        );
      },
    });
  }
  // Routes stages serve (health probes, metrics, admin views).
  for (const route of extraRoutes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (req, reply) => {
        if (route.access === 'admin') admin.check(req.headers, req.method, req.url);
        const answer = await route.handle({
          headers: req.headers,
          query: (req.query ?? {}) as Record<string, string | undefined>,
          body: (req.body as ParsedBody | undefined)?.json,
        });
        const requestId = newId('gtw');
        const raw = typeof answer.body === 'string' || Buffer.isBuffer(answer.body);
        reply.code(answer.status).headers({
          'request-id': requestId,
          'gantry-request-id': requestId,
          ...(raw ? {} : { 'content-type': 'application/json; charset=utf-8' }),
          ...answer.headers,
        });
        return raw ? answer.body : JSON.stringify(answer.body);
      },
    });
  }
  app.setNotFoundHandler(async (req) => {
    throw new GantryError(
      'route_not_found',
      `No route ${req.method} ${req.url.split('?')[0]} on this gateway.`,
    );
  });
  app.setErrorHandler(async (error: FastifyError | GantryError, request, reply) => {
    const gantry = fromFastifyError(error);
    const ex = makeExchange(UNMATCHED, request, new AbortController().signal, undefined);
    ex.error = gantry;
    ex.outcome = 'gantry_error';
    reply.hijack();
    sendError(reply.raw, gantry, ex.id, draining);
    finish(ex);
  });

  await app.listen({ host: config.server.host, port: config.server.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      const closed = app.close();
      app.server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
          setTimeout(resolve, config.server.drainTimeoutMs).unref();
        });
      }
      app.server.closeAllConnections();
      await closed;
      await Promise.all(stages.map((s: Stage) => s.close?.()));
      secrets.close?.();
      admin.close();
      await flushLogger(logger);
    })();
    return closing;
  };

  return { url, port: address.port, logger, close };
}

function readinessRegistry(): ReadinessRegistry {
  const checks: Array<[string, () => ReadinessResult | Promise<ReadinessResult>]> = [];
  return {
    add: (name, check) => {
      checks.push([name, check]);
    },
    run: async (timeoutMs) => {
      const results = await Promise.all(
        checks.map(async ([name, check]): Promise<[string, ReadinessResult]> => {
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<ReadinessResult>((resolve) => {
            timer = setTimeout(
              () => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }),
              timeoutMs,
            );
          });
          try {
            return [name, await Promise.race([Promise.resolve().then(check), timedOut])];
          } catch (err) {
            return [name, { ok: false, detail: String((err as Error)?.name ?? 'error') }];
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      return Object.fromEntries(results);
    },
  };
}

function makeExchange(
  route: RouteDef,
  request: FastifyRequest,
  signal: AbortSignal,
  parsed: ParsedBody | undefined,
): Exchange {
  return {
    id: newId('gtw'),
    startedAt: performance.now(),
    receivedAt: Date.now(),
    route,
    method: request.method,
    url: request.url,
    params: (request.params ?? {}) as Record<string, string>,
    headers: request.headers,
    rawBody: parsed?.raw,
    body: parsed?.json as Record<string, unknown> | undefined,
    signal,
    stream: false,
    decisions: [],
    upstream: { attempts: 0 },
  };
}

async function render(ex: Exchange, res: ServerResponse, draining: boolean): Promise<void> {
  const { status, headers, body } = ex.response!;
  if (ex.responseHeaders) Object.assign(headers, ex.responseHeaders);
  if (draining) headers.connection = 'close';
  if (Buffer.isBuffer(body)) {
    res.writeHead(status, headers);
    res.end(body);
    return;
  }
  res.writeHead(status, headers);
  const it = body[Symbol.asyncIterator]();
  const first = it.next();
  // The headers leave with the first chunk when it is already there (one write instead of
  // two); when it is not, they are flushed now so the client sees the response start.
  let next = await Promise.race([first, nextTurn()]);
  if (next === NEXT_TURN) {
    res.flushHeaders();
    next = await first;
  }
  for (let r = next as IteratorResult<Buffer>; !r.done; r = await it.next()) {
    if (res.destroyed) {
      await it.return?.();
      return;
    }
    if (!res.write(r.value)) await drained(res);
  }
  if (!res.destroyed) res.end();
}

const NEXT_TURN = Symbol('next turn');
/** Resolves after the event loop's next I/O phase. */
function nextTurn(): Promise<typeof NEXT_TURN> {
  return new Promise((resolve) => setImmediate(resolve, NEXT_TURN));
}

function drained(res: ServerResponse): Promise<void> {
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

function sendError(res: ServerResponse, error: GantryError, requestId: string, draining: boolean): void {
  const body = JSON.stringify(error.toEnvelope(requestId));
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'request-id': requestId,
    'gantry-request-id': requestId,
    ...error.headers,
  };
  if (draining || error.code === 'shutting_down') headers.connection = 'close';
  res.writeHead(error.status, headers);
  res.end(body);
}

function fromFastifyError(error: FastifyError | GantryError): GantryError {
  if (error instanceof GantryError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GantryError('body_too_large', 'The request body is larger than this gateway accepts.', {
        cause: error,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GantryError('unsupported_content_type', 'Send the request body as `application/json`.', {
        cause: error,
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new GantryError('invalid_json', 'The request body is not valid JSON.', { cause: error });
    default:
      if (typeof error.statusCode === 'number' && error.statusCode < 500) {
        return new GantryError('invalid_body', 'The request could not be read.', { cause: error });
      }
      return toGantryError(error);
  }
}

const CLIENT_ERRORS: Record<
  string,
  { code: 'headers_too_large' | 'client_timeout' | 'invalid_body'; reason: string }
> = {
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large', reason: 'Request Header Fields Too Large' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'client_timeout', reason: 'Request Timeout' },
  ERR_HTTP_HEADERS_TIMEOUT: { code: 'client_timeout', reason: 'Request Timeout' },
};

/** Errors Node's HTTP parser raises before a request exists (oversized headers, slow clients, garbage). */
function onClientError(err: Error & { code?: string }, socket: Socket, logger: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const known = err.code ? CLIENT_ERRORS[err.code] : undefined;
  const error = known
    ? new GantryError(
        known.code,
        known.code === 'headers_too_large'
          ? 'The request headers are larger than this gateway accepts.'
          : 'The request was not received in time.',
      )
    : new GantryError('invalid_body', 'The request is not valid HTTP.');
  const requestId = newId('gtw');
  const body = JSON.stringify(error.toEnvelope(requestId));
  socket.end(
    `HTTP/1.1 ${error.status} ${known?.reason ?? 'Bad Request'}\r\n` +
      'content-type: application/json\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
  logger.warn({ req_id: requestId, status: error.status, gantry_code: error.code }, 'client error');
}

export type { IncomingMessage };
