/**
 * The innermost upstream layer: one attempt over the keep-alive pool, read up
 * to its headers (error bodies whole, so they can be passed on byte for byte
 * or retried).
 *
 * The host is the configured base URL's; the path is `ex.target`, built from
 * the route table by the transport. One AbortController per attempt, aborted
 * by the client going away or by the total deadline; a stream's body is then
 * governed by the idle timeout alone.
 *
 * An attempt on a cloud platform (`AttemptInput.platform`) has one more step
 * on each side: the platform adapter prepares the request (URL, body, signed
 * or authorized headers) and reads the answer back into the Messages API's
 * (error envelope and status, a stream's events): src/platforms/adapter.ts.
 */
import type { Readable } from 'node:stream';
import type { Pool } from 'undici';
import { GantryError } from '../../errors.ts';
import type { PlatformAdapter } from '../../platforms/adapter.ts';
import type { Timeouts } from '../../resilience/config.ts';
import type { UpstreamKey } from '../../resilience/keys.ts';
import type { Exchange } from '../exchange.ts';
import { upstreamRequestHeaders } from '../headers.ts';
import { readAll } from './relay.ts';

export type UpstreamResponse = Awaited<ReturnType<Pool['request']>>;
export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/** One attempt's result, as the breaker and `decide` see it. */
export type Attempt =
  | { kind: 'ok'; failed: false; res: UpstreamResponse; done: () => void }
  | { kind: 'status'; failed: boolean; status: number; headers: UpstreamHeaders; body: Buffer }
  | { kind: 'error'; failed: boolean; error: GantryError; aborted: boolean };

export interface SendOptions {
  pool: Pool;
  /** The base URL's path prefix (no trailing slash). */
  prefix: string;
  /** `upstream.headers_timeout_ms`, `upstream.body_timeout_ms`. */
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

export interface AttemptInput {
  key: UpstreamKey;
  keyValue: string;
  body: Buffer | undefined;
  timeouts: Timeouts;
  /** `performance.now()` by which the whole request must be answered. */
  deadline: number;
  /** This attempt is the breaker's half-open probe: it must settle whatever happens. */
  probe: boolean;
  /** Client headers the client's config keeps from the upstream (`clients[].deny_headers`). */
  denyHeaders?: ReadonlySet<string>;
  /** The attempt goes to a cloud platform: its adapter, pool, and the platform's id of the model. */
  platform?: { adapter: PlatformAdapter; pool: Pool; model: string; platformModel: string };
}

const since = (ex: Exchange) => performance.now() - ex.startedAt;

function timeoutError(which: 'total' | 'first_byte', timeouts: Timeouts, cause?: unknown): GantryError {
  const ms = which === 'total' ? timeouts.totalMs : timeouts.firstByteMs;
  return new GantryError(
    'upstream_timeout',
    which === 'total'
      ? `The upstream did not answer within the total timeout (${ms} ms).`
      : `The upstream sent no first byte within ${ms} ms.`,
    { cause, details: { timeout: which } },
  );
}

/** The GantryError for a transport failure of an attempt. */
export function upstreamFailure(err: unknown, ex: Exchange, timeouts?: Timeouts): GantryError {
  if (err instanceof GantryError) return err;
  const code = (err as { code?: string })?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return timeouts
      ? timeoutError('first_byte', timeouts, err)
      : new GantryError('upstream_timeout', 'The upstream did not answer in time.', { cause: err });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new GantryError('upstream_timeout', 'The upstream did not accept the connection in time.', {
      cause: err,
      details: { timeout: 'connect' },
    });
  }
  if (ex.signal.aborted) {
    return new GantryError('upstream_connection_failed', 'The client closed the request.', { cause: err });
  }
  return new GantryError('upstream_connection_failed', 'The upstream API could not be reached.', {
    cause: err,
    details: code ? { cause_code: code } : undefined,
  });
}

/** Sends one attempt and reads it up to its headers (a non-2xx body whole). */
export async function sendAttempt(o: SendOptions, ex: Exchange, a: AttemptInput): Promise<Attempt> {
  const remaining = a.deadline - performance.now();
  if (remaining <= 0) {
    return { kind: 'error', failed: true, aborted: false, error: timeoutError('total', a.timeouts) };
  }
  // (A listener on the exchange's signal: AbortSignal.any costs several times more per request.)
  const attemptCtl = new AbortController();
  let timedOut = false;
  const onClientAbort = () => attemptCtl.abort(ex.signal.reason);
  ex.signal.addEventListener('abort', onClientAbort, { once: true });
  if (ex.signal.aborted) attemptCtl.abort(ex.signal.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    attemptCtl.abort(new Error('total timeout'));
  }, remaining);
  // Never what keeps the process alive (a body nobody reads would hold it until the deadline).
  timer.unref();
  const settle = () => {
    clearTimeout(timer);
    ex.signal.removeEventListener('abort', onClientAbort);
  };
  const headersTimeout = Math.max(
    1,
    Math.ceil(Math.min(o.headersTimeoutMs, remaining, ex.stream ? a.timeouts.firstByteMs : remaining)),
  );
  const bodyTimeout = ex.stream ? Math.min(o.bodyTimeoutMs, a.timeouts.streamIdleMs) : o.bodyTimeoutMs;
  ex.upstream.keyId = a.key.id;
  ex.upstream.attempts += 1;
  const p = a.platform;
  ex.upstream.platform = p?.adapter.name ?? 'anthropic';
  ex.upstream.region = p?.adapter.region;
  ex.upstream.global = p ? p.adapter.isGlobal(p.platformModel) : undefined;
  let request: {
    path: string;
    method: 'GET' | 'POST' | 'DELETE';
    headers: Record<string, string | string[]>;
    body: Buffer | undefined;
  };
  if (p) {
    try {
      request = await p.adapter.prepare({
        route: ex.route.kind,
        body: { ...ex.body, model: p.model },
        stream: ex.stream,
        headers: ex.headers,
        platformModel: p.platformModel,
      });
    } catch (err) {
      settle();
      // No credentials (an empty reference, the AWS chain or Google token failing): this platform cannot be tried now.
      const error = new GantryError(
        'upstream_key_unavailable',
        `The ${p.adapter.name} credentials of environment "${p.adapter.environment}" are not available: ${(err as Error).message}`,
        { cause: err },
      );
      return { kind: 'error', failed: true, aborted: false, error };
    }
  } else {
    request = {
      path: o.prefix + ex.target,
      method: ex.method as 'GET' | 'POST' | 'DELETE',
      headers: upstreamRequestHeaders(ex.headers, a.keyValue, a.denyHeaders),
      body: a.body,
    };
  }
  ex.timings.upstreamSent = since(ex);
  let res: UpstreamResponse;
  try {
    res = await (p?.pool ?? o.pool).request({
      ...request,
      signal: attemptCtl.signal,
      headersTimeout,
      bodyTimeout,
    });
  } catch (err) {
    settle();
    const aborted = ex.signal.aborted;
    const error = timedOut ? timeoutError('total', a.timeouts, err) : upstreamFailure(err, ex, a.timeouts);
    // A client that went away says nothing about the upstream, except for a probe, which must settle.
    return { kind: 'error', failed: aborted ? a.probe : true, aborted, error };
  }
  ex.timings.upstreamHeaders = since(ex);
  ex.upstream.status = res.statusCode;
  const requestId = p ? p.adapter.requestId(res.headers) : res.headers['request-id'];
  if (typeof requestId === 'string') ex.upstream.requestId = requestId;
  if (res.statusCode >= 400) {
    let buf: Buffer;
    try {
      buf = await readAll(res.body as unknown as Readable, ex);
    } catch (err) {
      settle();
      return {
        kind: 'error',
        failed: !ex.signal.aborted || a.probe,
        aborted: ex.signal.aborted,
        error: upstreamFailure(err, ex, a.timeouts),
      };
    }
    settle();
    if (p) {
      // The platform's error in the API's envelope and status (the breaker and `decide` see the API's status).
      const t = p.adapter.error(res.statusCode, res.headers, buf);
      ex.upstream.requestId ??= p.adapter.requestId(res.headers, buf);
      return {
        kind: 'status',
        failed: t.status >= 500 || t.status === 408,
        status: t.status,
        headers: t.headers,
        body: t.body,
      };
    }
    return {
      kind: 'status',
      failed: res.statusCode >= 500 || res.statusCode === 408,
      status: res.statusCode,
      headers: res.headers,
      body: buf,
    };
  }
  let done = settle;
  if (p) {
    // The platform's answer in the API's form; the platform's own body is released with the attempt
    // (a converted stream a client abandons must not hold the platform's connection).
    const original = res.body as unknown as Readable;
    try {
      const out = await p.adapter.success(ex.route.kind, ex.stream, res.headers, original);
      res = { ...res, headers: out.headers, body: out.body } as unknown as UpstreamResponse;
    } catch (err) {
      settle();
      original.destroy();
      return {
        kind: 'error',
        failed: true,
        aborted: ex.signal.aborted,
        error: upstreamFailure(err, ex, a.timeouts),
      };
    }
    done = () => {
      settle();
      original.destroy();
    };
  }
  // Streams are governed by the idle timeout once they started.
  if (ex.stream) clearTimeout(timer);
  return { kind: 'ok', failed: false, res, done };
}
