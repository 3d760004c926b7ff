/**
 * The gateway's HTTP transport: a thin layer that turns each HTTP request into
 * an Exchange, runs the pipeline, and renders the result. It holds no policy.
 *
 * Order of work for an API request (nothing is read before it is needed):
 * 1. the request line: origin-form paths only (`POST http://host/...` and `*`
 *    get 400 `invalid_request_target`), the route from the table, the id
 *    checked against `ID_PATTERN`;
 * 2. the pipeline's head hooks (authenticate) from the headers alone: an
 *    unauthenticated request is answered 401 before its body is read; a body
 *    still on the wire is then discarded when small, else the connection is
 *    closed (`connection: close`) so at most `DUMP_LIMIT` bytes are ever read;
 * 3. the body, at most `server.body_limit` bytes (413 before reading when the
 *    declared length is larger), shape-checked (depth, duplicate keys) and
 *    parsed once (src/gateway/body.ts); a route without a body accepts an empty
 *    body whatever its content type;
 * 4. the client's compiled pipeline; the response rendered (a buffer in one
 *    write, or chunks forwarded as they arrive with backpressure).
 *
 * Every answer the gateway itself gives is in the Anthropic error envelope with
 * `request-id` and `gantry-request-id`: router errors (bad percent-encoding),
 * 404/405, parser errors (431, 408, garbage after a pipelined request, which
 * waits for the response in flight), `CONNECT`, and HEAD on API routes (405:
 * nothing is forwarded upstream as HEAD; Claude Code's `HEAD /api/hello` probe
 * is answered 200).
 *
 * Shutdown (`close()`): stop accepting, close idle keep-alive connections,
 * answer requests that still arrive on open connections with 503
 * `shutting_down`, let in-flight requests and streams finish up to
 * `server.drain_timeout_ms`, then cut what is left and wait for the cut
 * exchanges' completion hooks (so every cut request has its ledger row), then
 * close the stages within what is left of `server.shutdown_timeout_ms`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { newId } from '../anthropic/ids.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { GantryError, toGantryError } from '../errors.ts';
import { GatewayEvents } from '../observe/events.ts';
import { createLogger, describeError, flushLogger } from '../observe/log.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { buildPipeline } from '../pipeline/index.ts';
import { recordOf } from '../pipeline/record.ts';
import { ID_PATTERN, ROUTES, type RouteDef, upstreamTarget } from '../pipeline/routes.ts';
import type { GatewayRoute, SecretLookup, Stage } from '../pipeline/stage.ts';
import { openAdminAuth } from './admin.ts';
import { fromFastifyError, onClientError, sendError, toRouterError, writeRawError } from './answers.ts';
import { declaredLength, isJsonContentType, parseJson, readBody } from './body.ts';
import { readinessRegistry } from './readiness.ts';
import { render } from './render.ts';
import { openSecretLookup } from './secrets.ts';

export interface GatewayOptions {
  config: ResolvedConfig;
  /** Where log lines go (tests pass a stream); default from `config.logging`. */
  logDestination?: DestinationStream;
  logger?: Logger;
  /** Live secrets; default: open every reference of the config. */
  secrets?: SecretLookup & { close?(): void };
  /**
   * The upstream is Gantry's built-in simulator (`gantry serve --simulate`): every
   * response carries `gantry-upstream: simulated` and `/health` says `"simulated": true`.
   */
  simulated?: boolean;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  /** This gateway's lifecycle events: finished exchanges, breakers, keys, budgets, ledger, safety. */
  readonly events: GatewayEvents;
  /** Graceful shutdown: drain in-flight requests (up to the drain timeout), then release everything. */
  close(): Promise<void>;
}

const UNMATCHED: RouteDef = { kind: 'unmatched', method: 'GET', path: '(none)', body: false };
/**
 * A request answered before its body was read keeps its connection when at most
 * this many bytes are still to come (Node reads and discards them); a larger or
 * chunked remainder closes the connection instead.
 */
const DUMP_LIMIT = 64 * 1024;
/** Largest body a route without a body reads before answering 413. */
const NO_BODY_LIMIT = 64 * 1024;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logging, options.logDestination);
  const secrets = options.secrets ?? (await openSecretLookup(config, logger));
  const extraRoutes: GatewayRoute[] = [];
  const events = new GatewayEvents();
  const pipeline = await buildPipeline({
    events,
    config,
    logger,
    secrets,
    routes: { add: (r) => extraRoutes.push(r) },
    readiness: readinessRegistry(),
  });
  const admin = await openAdminAuth(config, logger);
  const { stages, head } = pipeline;
  const maxDepth = config.server.maxJsonDepth;

  let draining = false;
  let inflight = 0;
  let idle: (() => void) | undefined;
  /** Sockets Node's request timeout fired on: their exchange ends as 408, not as a read error. */
  const timedOut = new WeakSet<Socket>();

  const app = Fastify({
    logger: false,
    requestIdHeader: false,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    exposeHeadRoutes: false,
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
          // The upstream target never comes from `Host`: a request without one is answered like any other.
          requireHostHeader: false,
        },
        handler,
      ),
    clientErrorHandler: (err, socket) => onClientError(err, socket, logger, timedOut),
    // Router faults (a bad percent-encoding, ...) are answered like every other error.
    frameworkErrors: (error, request, reply) => answerUnmatched(toRouterError(error), request, reply),
  });

  if (options.simulated) {
    // Set before any handler runs, so it joins whatever headers the response is written with.
    app.addHook('onRequest', (_req, reply, done) => {
      reply.raw.setHeader('gantry-upstream', 'simulated');
      done();
    });
  }

  // Bodies are read by the handlers themselves, after authentication (see readRequestBody).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  // The request line: origin-form only. Nothing of an absolute-form target is ever used.
  app.addHook('onRequest', (request, reply, done) => {
    const url = request.raw.url ?? '';
    if (url.charCodeAt(0) === 0x2f /* / */) return done();
    answerUnmatched(
      new GantryError(
        'invalid_request_target',
        'The request target must be a path (origin-form), e.g. /v1/messages.',
      ),
      request,
      reply,
    );
  });

  /** Completion: every stage's `complete` hook, then the record to every observer. */
  const finish = (ex: Exchange) => {
    ex.timings.finished = performance.now() - ex.startedAt;
    const p = pipeline.forClient(ex.client);
    for (const complete of p.complete) {
      try {
        complete(ex);
      } catch (err) {
        logger.error({ req_id: ex.id, err: describeError(err) }, 'stage complete hook threw');
      }
    }
    const record = recordOf(ex);
    for (const observe of p.observe) {
      try {
        observe(record);
      } catch (err) {
        logger.error({ req_id: ex.id, err: describeError(err) }, 'observer threw');
      }
    }
    events.exchangeComplete.publish(() => record);
  };

  /** The request body of an authenticated API request: JSON for body routes, else empty or ignored. */
  const readRequestBody = async (ex: Exchange, req: IncomingMessage) => {
    if (!ex.route.body) {
      // Old SDKs send `content-type: application/json` with an empty body on cancel/delete.
      if (declaredLength(req) === 0) return;
      await readBody(req, NO_BODY_LIMIT, ex.signal);
      return;
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new GantryError('unsupported_content_type', 'Send the request body as `application/json`.');
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, config.server.bodyLimit, ex.signal);
    } catch (err) {
      if (timedOut.has(req.socket)) throw clientTimeout();
      throw err;
    }
    if (raw.length === 0)
      throw new GantryError('invalid_json', 'The request body is empty; send a JSON object.');
    ex.rawBody = raw;
    ex.body = parseJson(raw, maxDepth) as Record<string, unknown>;
  };

  const handle = async (route: RouteDef, request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    const req = request.raw;
    const res = reply.raw;
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once('close', onClose);
    const ex = makeExchange(route, request, controller.signal);
    inflight += 1;
    try {
      if (draining) {
        throw new GantryError('shutting_down', 'The gateway is shutting down; retry on another instance.');
      }
      const id = (request.params as { id?: string }).id;
      if (id !== undefined && !ID_PATTERN.test(id)) {
        throw new GantryError(
          'invalid_request_target',
          `Not an id: ${route.kind} takes an id of [A-Za-z0-9_.:-] without dot segments.`,
        );
      }
      ex.target = upstreamTarget(route, id, queryOf(req.url ?? ''));
      for (const hook of head) await hook(ex);
      await readRequestBody(ex, req);
      for (const hook of pipeline.forClient(ex.client).request) {
        await hook(ex);
        if (ex.response) break;
      }
      if (!ex.response) throw new GantryError('internal_error', 'The pipeline produced no response.');
      await render(ex, res, draining);
    } catch (err) {
      ex.error = toGantryError(err);
      if (controller.signal.aborted) ex.outcome = 'client_closed';
      else {
        ex.outcome = 'gantry_error';
        if (!res.headersSent) sendError(res, ex.error, ex.id, draining || mustClose(req));
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

  /** Answers a request that matched no API route (errors before routing, 404, 405, HEAD). */
  const answerUnmatched = (error: GantryError, request: FastifyRequest, reply: FastifyReply) => {
    const ex = makeExchange(UNMATCHED, request, new AbortController().signal);
    ex.error = error;
    ex.outcome = 'gantry_error';
    reply.hijack();
    sendError(reply.raw, error, ex.id, draining || mustClose(request.raw), request.method === 'HEAD');
    finish(ex);
  };

  // Routes of the table; the other methods of a known path answer 405 (HEAD included:
  // nothing is forwarded upstream as HEAD).
  const methodsByPath = new Map<string, string[]>();
  for (const route of ROUTES) {
    app.route({ method: route.method, url: route.path, handler: (req, reply) => handle(route, req, reply) });
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);
  }
  for (const [path, methods] of methodsByPath) {
    const others = (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const).filter(
      (m) => !methods.includes(m),
    );
    app.route({
      method: others,
      url: path,
      handler: (request, reply) =>
        answerUnmatched(
          new GantryError(
            'method_not_allowed',
            `${path} does not take this method; use ${methods.join(' or ')}.`,
            {
              headers: { allow: methods.join(', ') },
            },
          ),
          request,
          reply,
        ),
    });
  }
  // Claude Code probes the gateway with `HEAD /api/hello` at start-up.
  app.route({
    method: ['HEAD', 'GET'],
    url: '/api/hello',
    handler: (_request, reply) => {
      reply.hijack();
      const requestId = newId('gtw');
      reply.raw.writeHead(200, {
        'content-type': 'application/json',
        'content-length': 2,
        'request-id': requestId,
        'gantry-request-id': requestId,
      });
      reply.raw.end(_request.method === 'HEAD' ? undefined : '{}');
    },
  });
  // Routes stages serve (health probes, metrics, admin views).
  for (const route of extraRoutes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        reply.hijack();
        const res = reply.raw;
        const requestId = newId('gtw');
        try {
          if (route.access === 'admin') admin.check(request.headers, request.method, request.url);
          let body: unknown;
          if (route.method === 'POST' && declaredLength(request.raw) !== 0) {
            if (!isJsonContentType(request.headers['content-type'])) {
              throw new GantryError(
                'unsupported_content_type',
                'Send the request body as `application/json`.',
              );
            }
            const raw = await readBody(
              request.raw,
              config.server.adminBodyLimit,
              new AbortController().signal,
            );
            if (raw.length > 0) body = parseJson(raw, maxDepth);
          }
          const answer = await route.handle({
            headers: request.headers,
            query: (request.query ?? {}) as Record<string, string | undefined>,
            body,
          });
          if (options.simulated && route.path === '/health' && !Buffer.isBuffer(answer.body))
            answer.body = { simulated: true, ...(answer.body as object) };
          const payload =
            typeof answer.body === 'string' || Buffer.isBuffer(answer.body)
              ? answer.body
              : JSON.stringify(answer.body);
          res.writeHead(answer.status, {
            'content-type': 'application/json; charset=utf-8',
            'content-length': Buffer.byteLength(payload),
            'request-id': requestId,
            'gantry-request-id': requestId,
            ...answer.headers,
          });
          res.end(payload);
        } catch (err) {
          const error = toGantryError(err);
          if (error.code === 'internal_error') {
            logger.error({ req_id: requestId, path: route.path, err: describeError(err) }, 'route failed');
          } else {
            logger.warn(
              {
                req_id: requestId,
                method: request.method,
                path: route.path,
                status: error.status,
                gantry_code: error.code,
              },
              'route refused',
            );
          }
          if (!res.headersSent) sendError(res, error, requestId, draining || mustClose(request.raw));
          else res.destroy();
        }
      },
    });
  }
  app.setNotFoundHandler((request, reply) =>
    answerUnmatched(
      new GantryError(
        'route_not_found',
        `No route ${request.method} ${pathOf(request.url)} on this gateway.`,
      ),
      request,
      reply,
    ),
  );
  app.setErrorHandler((error: FastifyError | GantryError, request, reply) => {
    answerUnmatched(fromFastifyError(error), request, reply);
  });

  await app.listen({ host: config.server.host, port: config.server.port });
  // CONNECT gets an answer, not a silent close.
  app.server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    writeRawError(
      socket,
      new GantryError('method_not_allowed', 'This gateway does not take CONNECT.'),
      'Method Not Allowed',
    );
  });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // One deadline for the whole shutdown (ms since epoch): stages never wait past it.
      const deadline = Date.now() + config.server.shutdownTimeoutMs;
      draining = true;
      const closed = app.close();
      app.server.closeIdleConnections();
      const drained = (ms: number) =>
        inflight === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              idle = resolve;
              setTimeout(resolve, Math.max(0, ms)).unref();
            });
      await drained(config.server.drainTimeoutMs);
      // Cut what is left; each cut exchange still runs its completion hooks (its
      // ledger row) before the stages close.
      app.server.closeAllConnections();
      await drained(Math.min(2_000, deadline - Date.now()));
      await closed;
      await Promise.all(
        stages.map((s: Stage) =>
          s.close?.({ deadline }).catch((err: unknown) => {
            logger.error({ stage: s.name, err: describeError(err) }, 'stage close failed');
          }),
        ),
      );
      secrets.close?.();
      admin.close();
      await flushLogger(logger);
    })();
    return closing;
  };

  return { url, port: address.port, logger, events, close };
}

/** The path of a request URL, without its query. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The raw query of a request URL, without the `?`. */
function queryOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

function makeExchange(route: RouteDef, request: FastifyRequest, signal: AbortSignal): Exchange {
  const url = request.raw.url ?? '';
  return {
    id: newId('gtw'),
    startedAt: performance.now(),
    receivedAt: Date.now(),
    route,
    method: request.method,
    path: pathOf(url),
    target: route.path,
    params: (request.params ?? {}) as Record<string, string>,
    headers: request.headers,
    connection: request.raw.socket,
    rawBody: undefined,
    body: undefined,
    signal,
    stream: false,
    decisions: [],
    timings: {},
    upstream: { attempts: 0 },
  };
}

/**
 * Whether answering now must close the connection: part of the body is still on
 * the wire and more than `DUMP_LIMIT` bytes (or an unknown amount) would have to
 * be read to reuse it.
 */
function mustClose(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const declared = declaredLength(req);
  return declared === undefined || Number.isNaN(declared) || declared > DUMP_LIMIT;
}

function clientTimeout(): GantryError {
  return new GantryError('client_timeout', 'The request was not received in time.');
}
