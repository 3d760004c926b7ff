/**
 * upstream: send the exchange to the Anthropic API (or the simulator) over a
 * keep-alive pool and turn its answer into `ex.response`, with the resilience
 * rules of docs/resilience.md.
 *
 * - The body bytes go out exactly as the client sent them (a fallback model is
 *   the one exception: only the `model` value is rewritten, see
 *   src/resilience/rewrite.ts).
 * - The host comes only from `upstream.base_url`; the path only from the route
 *   table (with the client's query string).
 * - Keys: one of the environment's upstream keys is picked per attempt
 *   (src/resilience/keys.ts); a 401/403 takes the key out of rotation.
 * - Retries follow the official SDK's rules (src/resilience/retry.ts), up to
 *   the client's `max_attempts`, within one total deadline and the retry
 *   budget. 429 tries another key first; 529 walks the fallback chain of
 *   models first. Every retry happens before `ex.response` is set, so before
 *   any byte reached the client: a started stream is never retried.
 * - A circuit breaker per key and model (src/resilience/breaker.ts) skips a
 *   failing target; with every target open the answer is the fallback chain,
 *   the degraded answer, or a fast 529 with `retry-after`.
 * - Bodies are relayed as they arrive. SSE streams are relayed event by event:
 *   bytes are forwarded up to the last complete event in each chunk, so that if
 *   the upstream fails mid-stream (reset, idle timeout) the client never holds
 *   half an event and gets a well-formed `event: error` instead. The same bytes
 *   feed the stream tap that reads usage from `message_start` / `message_delta`.
 * - The final upstream error is passed through byte for byte with its headers;
 *   when the gateway retried, it adds `x-should-retry: false` so the client's
 *   SDK does not multiply the attempts.
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { encodeEvent } from '../anthropic/sse.ts';
import { StreamTap, usageFromMessage } from '../anthropic/usage.ts';
import { GantryError } from '../errors.ts';
import { tapBatchResults } from '../ledger/batch-tap.ts';
import { BreakerOpen, Breakers } from '../resilience/breaker.ts';
import { RetryBudget } from '../resilience/budget.ts';
import type { ClientResilience, Timeouts } from '../resilience/config.ts';
import { degradedResponse } from '../resilience/degrade.ts';
import { registerHealthRoutes, UpstreamHealth } from '../resilience/health.ts';
import { KeyRing, type UpstreamKey } from '../resilience/keys.ts';
import { Limiter, Shed } from '../resilience/limiter.ts';
import { retryDelay, shouldRetry } from '../resilience/retry.ts';
import { rewriteTopLevelString } from '../resilience/rewrite.ts';
import type { Exchange } from './exchange.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import type { Stage, StageContext } from './stage.ts';

/** Largest non-streaming response Gantry keeps a copy of to read usage from. */
const CAPTURE_LIMIT = 16 * 1024 * 1024;
/** Answers of known length up to this size are read whole and sent in one write (larger ones are relayed). */
const BUFFER_LIMIT = 1024 * 1024;
/** Batch objects are small; their `results_url` is rewritten to point at the gateway. */
const BATCH_KINDS = new Set(['batches.create', 'batches.list', 'batches.retrieve', 'batches.cancel']);

/** One attempt's result, as the retry loop and the breaker see it. */
type Attempt =
  | { kind: 'ok'; failed: false; res: UpstreamResponse; done: () => void }
  | { kind: 'status'; failed: boolean; status: number; headers: UpstreamHeaders; body: Buffer }
  | { kind: 'error'; failed: boolean; error: GantryError; aborted: boolean };

type UpstreamResponse = Awaited<ReturnType<Pool['request']>>;
type UpstreamHeaders = Record<string, string | string[] | undefined>;

interface Policy {
  maxAttempts: number;
  timeouts: Timeouts;
  fallbackModels: readonly string[];
  degraded?: { message: string };
}

export function upstream(ctx: StageContext): Stage {
  const { config, secrets, logger } = ctx;
  const rc = config.resilience;
  const base = new URL(config.upstream.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const baseHref = `${base.origin}${prefix}`;
  // Where clients fetch batch results: the configured public URL, else a path the SDKs join to their base URL.
  const publicBase = config.server.publicUrl ?? '';
  const pool = new Pool(base.origin, {
    connections: config.upstream.connections,
    connectTimeout: config.upstream.connectTimeoutMs,
    headersTimeout: config.upstream.headersTimeoutMs,
    bodyTimeout: config.upstream.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
  });
  const perKey = rc.concurrency.perKey
    ? {
        limit: rc.concurrency.perKey,
        queue: rc.concurrency.queue,
        queueTimeoutMs: rc.concurrency.queueTimeoutMs,
      }
    : undefined;
  const rings = new Map<string, KeyRing>();
  for (const env of Object.values(config.environments)) {
    rings.set(env.name, new KeyRing(env, secrets, logger, perKey));
  }
  const breakers = new Breakers(rc.breaker, logger);
  const budget = new RetryBudget(rc.retryBudget);
  const clientConfigs = new Map<string, ClientResilience | undefined>(
    config.clients.map((c) => [c.name, c.resilience]),
  );
  const policies = new Map<string, Policy>();
  const clientLimiters = new Map<string, Limiter | undefined>();
  /** Slots and in-flight counts an exchange holds until its response is complete. */
  const held = new WeakMap<Exchange, Array<() => void>>();
  const hold = (ex: Exchange, release: () => void) => {
    const list = held.get(ex);
    if (list) list.push(release);
    else held.set(ex, [release]);
  };
  const health = new UpstreamHealth({ pool, prefix, rings, config: rc.health, logger });
  registerHealthRoutes(ctx.routes, { health, rings, breakers, budget, readiness: ctx.readiness });

  const policyFor = (client: string): Policy => {
    let p = policies.get(client);
    if (!p) {
      const own = clientConfigs.get(client);
      p = {
        maxAttempts: own?.maxAttempts ?? rc.maxAttempts,
        timeouts: { ...rc.timeouts, ...own?.timeouts },
        fallbackModels: own?.fallbackModels ?? [],
        ...(own?.degraded ? { degraded: own.degraded } : {}),
      };
      policies.set(client, p);
    }
    return p;
  };
  const limiterFor = (client: string): Limiter | undefined => {
    if (!clientLimiters.has(client)) {
      const limit = clientConfigs.get(client)?.maxConcurrency ?? rc.concurrency.perClient;
      clientLimiters.set(
        client,
        limit ? new Limiter(limit, rc.concurrency.queue, rc.concurrency.queueTimeoutMs) : undefined,
      );
    }
    return clientLimiters.get(client);
  };
  const shed = (ex: Exchange, err: unknown, scope: string): never => {
    if (!(err instanceof Shed)) throw err;
    ex.decisions.push({
      stage: 'upstream',
      action: 'shed',
      rule: `concurrency.${scope}`,
      detail: err.reason,
    });
    throw new GantryError('load_shed', `Too many concurrent requests for this ${scope}; retry shortly.`, {
      headers: { 'retry-after': String(rc.concurrency.shedRetryAfterS) },
    });
  };

  /** One attempt: send, and read the answer up to its headers (error bodies whole). */
  const send = async (
    ex: Exchange,
    key: UpstreamKey,
    keyValue: string,
    body: Buffer | undefined,
    policy: Policy,
    deadline: number,
    probe: boolean,
  ): Promise<Attempt> => {
    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      return { kind: 'error', failed: true, aborted: false, error: timeoutError('total', policy) };
    }
    // One controller per attempt, aborted by the client going away or by the total deadline.
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
    const ceiling = config.upstream.headersTimeoutMs;
    const headersTimeout = Math.max(
      1,
      Math.ceil(Math.min(ceiling, remaining, ex.stream ? policy.timeouts.firstByteMs : remaining)),
    );
    const bodyTimeout = ex.stream
      ? Math.min(config.upstream.bodyTimeoutMs, policy.timeouts.streamIdleMs)
      : config.upstream.bodyTimeoutMs;
    ex.upstream.keyId = key.id;
    ex.upstream.attempts += 1;
    ex.upstream.sentAt = performance.now() - ex.startedAt;
    let res: UpstreamResponse;
    try {
      res = await pool.request({
        path: prefix + ex.target,
        method: ex.method as 'GET' | 'POST' | 'DELETE',
        headers: upstreamRequestHeaders(ex.headers, keyValue),
        body,
        signal: attemptCtl.signal,
        headersTimeout,
        bodyTimeout,
      });
    } catch (err) {
      settle();
      const aborted = ex.signal.aborted;
      const error = timedOut ? timeoutError('total', policy, err) : upstreamFailure(err, ex, policy);
      // A client that went away says nothing about the upstream, except for a probe, which must settle.
      return { kind: 'error', failed: aborted ? probe : true, aborted, error };
    }
    ex.upstream.headersAt = performance.now() - ex.startedAt;
    ex.upstream.status = res.statusCode;
    const requestId = res.headers['request-id'];
    if (typeof requestId === 'string') ex.upstream.requestId = requestId;
    if (res.statusCode >= 400) {
      let buf: Buffer;
      try {
        buf = await readAll(res.body as unknown as Readable, ex);
      } catch (err) {
        settle();
        return {
          kind: 'error',
          failed: !ex.signal.aborted || probe,
          aborted: ex.signal.aborted,
          error: err instanceof GantryError ? err : upstreamFailure(err, ex, policy),
        };
      }
      settle();
      return {
        kind: 'status',
        failed: res.statusCode >= 500 || res.statusCode === 408,
        status: res.statusCode,
        headers: res.headers,
        body: buf,
      };
    }
    // Streams are governed by the idle timeout once they started.
    if (ex.stream) clearTimeout(timer);
    return { kind: 'ok', failed: false, res, done: settle };
  };

  return {
    name: 'upstream',
    async request(ex) {
      const ring = rings.get(ex.client!.environment);
      const noKey = () =>
        new GantryError(
          'upstream_key_unavailable',
          `The upstream key of environment "${ex.client!.environment}" is not available; run \`gantry config check\` on the gateway.`,
        );
      if (!ring) throw noKey();
      const policy = policyFor(ex.client!.name);
      const clientLimiter = limiterFor(ex.client!.name);
      if (clientLimiter) {
        try {
          hold(ex, await clientLimiter.acquire(ex.signal));
        } catch (err) {
          if (ex.signal.aborted) throw upstreamFailure(err, ex, policy);
          shed(ex, err, 'client');
        }
      }
      budget.recordRequest();
      const deadline = ex.startedAt + policy.timeouts.totalMs;
      const requested = ex.model;
      const models: Array<string | undefined> =
        ex.route.kind === 'messages' && requested ? [requested, ...policy.fallbackModels] : [requested];
      const bodyModel = typeof ex.body?.model === 'string' ? ex.body.model : undefined;
      let mi = 0;
      const excluded = new Set<string>();
      let attempts = 0;
      let delayedRetries = 0;
      let last: Attempt | undefined;
      let openRetryAfterMs: number | undefined;
      let keyFailover: string | undefined;

      for (;;) {
        const model = models[mi];
        const breakerFor = (key: UpstreamKey) =>
          model === undefined ? undefined : breakers.get(`${ring.environment}/${key.id}`, model);
        const key = ring.pick((k) => !excluded.has(k.id) && (breakerFor(k)?.available() ?? true));
        if (!key) {
          if (model !== undefined) {
            for (const k of ring.keys) {
              const b = breakerFor(k);
              if (b && !b.available())
                openRetryAfterMs = Math.min(openRetryAfterMs ?? Number.POSITIVE_INFINITY, b.retryAfterMs());
            }
          }
          if (mi + 1 < models.length) {
            mi += 1;
            excluded.clear();
            ex.decisions.push({
              stage: 'upstream',
              action: 'failed_over',
              rule: 'model',
              detail: models[mi],
            });
            continue;
          }
          break;
        }
        if (attempts >= policy.maxAttempts) break;
        const keyValue = key.value();
        if (keyValue === undefined) throw noKey();
        let body = ex.rawBody;
        if (model !== undefined && model !== bodyModel && ex.rawBody) {
          body =
            rewriteTopLevelString(ex.rawBody, 'model', model) ??
            Buffer.from(JSON.stringify({ ...ex.body, model }));
        }
        if (model !== requested) {
          ex.requestedModel = requested;
          ex.model = model;
        }
        let releaseKey: (() => void) | undefined;
        if (key.limiter) {
          try {
            releaseKey = await key.limiter.acquire(ex.signal);
          } catch (err) {
            if (ex.signal.aborted) throw upstreamFailure(err, ex, policy);
            shed(ex, err, 'upstream key');
          }
        }
        key.inflight += 1;
        const releaseAll = () => {
          key.inflight -= 1;
          releaseKey?.();
        };
        attempts += 1;
        let result: Attempt;
        try {
          const breaker = breakerFor(key);
          result = breaker
            ? await breaker.run((probe) => send(ex, key, keyValue, body, policy, deadline, probe))
            : await send(ex, key, keyValue, body, policy, deadline, false);
        } catch (err) {
          releaseAll();
          attempts -= 1;
          if (err instanceof BreakerOpen) {
            // Opened by a concurrent request between pick and run: try another target.
            excluded.add(key.id);
            openRetryAfterMs = Math.min(openRetryAfterMs ?? Number.POSITIVE_INFINITY, err.retryAfterMs);
            continue;
          }
          throw err;
        }
        if (result.kind === 'ok') {
          hold(ex, releaseAll);
          await respond(ex, result, baseHref, publicBase, keyFailover);
          return;
        }
        releaseAll();
        last = result;
        if (result.kind === 'error' && result.aborted) throw result.error;

        // Decide what comes next.
        const status = result.kind === 'status' ? result.status : undefined;
        const headers: UpstreamHeaders = result.kind === 'status' ? result.headers : {};
        if (status !== undefined)
          ex.errorType = errorTypeOf(result.kind === 'status' ? result.body : Buffer.alloc(0));
        if (headers['x-should-retry'] === 'false') break;
        if (status === 401 || status === 403) {
          if (key.value() !== keyValue) continue; // rotated while in flight: same key, new value
          ring.setState(key.id, 'failed', `upstream answered ${status}`);
          excluded.add(key.id);
          keyFailover = key.id;
          continue;
        }
        if (!shouldRetry(status, headers)) break;
        if (status === 429) {
          excluded.add(key.id);
          const other = ring.pick((k) => !excluded.has(k.id) && (breakerFor(k)?.available() ?? true));
          if (other) {
            ex.decisions.push({ stage: 'upstream', action: 'failed_over', rule: 'key', detail: other.id });
            keyFailover = other.id;
            continue;
          }
          excluded.delete(key.id);
        }
        if (status === 529 && mi + 1 < models.length) {
          mi += 1;
          excluded.clear();
          ex.decisions.push({ stage: 'upstream', action: 'failed_over', rule: 'model', detail: models[mi] });
          continue;
        }
        if (attempts >= policy.maxAttempts) break;
        const delay = retryDelay(headers, delayedRetries);
        if (delay.ms > rc.maxRetryDelayMs || performance.now() + delay.ms >= deadline) break;
        // Retrying the same kind of target costs budget; failovers above (another key or model) do not.
        if (!budget.tryRetry()) {
          ex.decisions.push({ stage: 'upstream', action: 'retried', rule: 'retry_budget', detail: 'spent' });
          break;
        }
        delayedRetries += 1;
        ex.decisions.push({
          stage: 'upstream',
          action: 'retried',
          rule: delay.source,
          detail: status === undefined ? 'connection' : String(status),
        });
        if (!(await sleep(delay.ms, ex.signal))) throw upstreamFailure(ex.signal.reason, ex, policy);
      }

      // No attempt succeeded.
      const degradable =
        last === undefined ||
        last.kind === 'error' ||
        (last.kind === 'status' && (last.status === 429 || last.status >= 500));
      if (policy.degraded && degradable && ex.route.kind === 'messages') {
        ex.decisions.push({ stage: 'upstream', action: 'degraded', rule: 'fallback.degraded' });
        ex.response = degradedResponse(requested ?? 'unknown', policy.degraded.message, ex.stream, ex.id);
        return;
      }
      const retried = attempts > 1;
      if (last?.kind === 'status') {
        const headers = downstreamResponseHeaders(last.headers, ex.id);
        if (retried) headers['x-should-retry'] = 'false';
        ex.response = { status: last.status, headers, body: last.body };
        return;
      }
      if (last?.kind === 'error') {
        throw retried ? withHeaders(last.error, { 'x-should-retry': 'false' }) : last.error;
      }
      if (openRetryAfterMs !== undefined) {
        throw new GantryError(
          'upstream_unavailable',
          'The upstream is failing for this model and the circuit breaker is open; retry later.',
          { headers: { 'retry-after': String(Math.max(1, Math.ceil(openRetryAfterMs / 1000))) } },
        );
      }
      throw noKey();
    },
    complete(ex) {
      const list = held.get(ex);
      if (list) for (const release of list) release();
      held.delete(ex);
    },
    async close() {
      health.close();
      // In-flight requests already had the drain timeout: wait briefly for the pool to
      // close cleanly, then destroy it so nothing abandoned can hold shutdown open.
      await Promise.race([pool.close(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      await pool.destroy().catch(() => undefined);
    },
  };
}

/** Turns a successful attempt into `ex.response` (relayed as it arrives). */
async function respond(
  ex: Exchange,
  a: Extract<Attempt, { kind: 'ok' }>,
  baseHref: string,
  publicBase: string,
  keyFailover?: string,
): Promise<void> {
  const { res } = a;
  const headers = downstreamResponseHeaders(res.headers, ex.id);
  if (ex.requestedModel !== undefined && ex.model !== ex.requestedModel) {
    headers['gantry-fallback'] = String(ex.model);
  } else if (keyFailover !== undefined) {
    headers['gantry-fallback'] = `key:${ex.upstream.keyId}`;
  }
  const contentType = String(res.headers['content-type'] ?? '');
  const body = res.body as unknown as Readable;
  if (contentType.startsWith('text/event-stream')) {
    ex.response = { status: res.statusCode, headers, body: relaySse(body, ex, a.done) };
    return;
  }
  if (BATCH_KINDS.has(ex.route.kind) && contentType.includes('json')) {
    let buf: Buffer;
    try {
      buf = await readAll(body, ex);
    } finally {
      a.done();
    }
    const rewritten = rewriteResultsUrls(buf, baseHref, publicBase);
    if (rewritten !== buf) headers['content-length'] = String(rewritten.length);
    ex.response = { status: res.statusCode, headers, body: rewritten };
    return;
  }
  const length = Number(res.headers['content-length']);
  if (Number.isSafeInteger(length) && length <= BUFFER_LIMIT) {
    // A whole answer of known, small size (every non-streaming Message): read it, then send it
    // in one write with its headers. The client cannot use half a JSON body, and an upstream
    // failure while reading becomes a clean error instead of a cut response.
    let buf: Buffer;
    try {
      buf = await readAll(body, ex);
    } finally {
      a.done();
    }
    const results = tapBatchResults(ex);
    if (results) {
      results.write(buf);
      results.end();
    }
    const json = contentType.includes('json') ? readMessage(ex, buf) : undefined;
    ex.response =
      json === undefined
        ? { status: res.statusCode, headers, body: buf }
        : { status: res.statusCode, headers, body: buf, json };
    return;
  }
  ex.response = {
    status: res.statusCode,
    headers,
    body: relayBody(body, ex, contentType.includes('json'), a.done),
  };
}

/** Usage and identity of a non-streaming Message, for the ledger and the log line; returns the parsed body. */
function readMessage(ex: Exchange, buf: Buffer): unknown {
  if (ex.route.kind !== 'messages') return undefined;
  try {
    const message = JSON.parse(buf.toString('utf8'));
    ex.usage = usageFromMessage(message);
    ex.message = { id: message?.id, model: message?.model, stopReason: message?.stop_reason ?? undefined };
    return message;
  } catch {
    // Not a Message: nothing to account.
    return undefined;
  }
}

function withHeaders(err: GantryError, headers: Record<string, string>): GantryError {
  return new GantryError(err.code, err.message, {
    cause: err.cause,
    headers: { ...err.headers, ...headers },
    details: err.details,
  });
}

function timeoutError(which: 'total' | 'first_byte', policy: Policy, cause?: unknown): GantryError {
  const ms = which === 'total' ? policy.timeouts.totalMs : policy.timeouts.firstByteMs;
  return new GantryError(
    'upstream_timeout',
    which === 'total'
      ? `The upstream did not answer within the total timeout (${ms} ms).`
      : `The upstream sent no first byte within ${ms} ms.`,
    { cause, details: { timeout: which } },
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function upstreamFailure(err: unknown, ex: Exchange, policy?: Policy): GantryError {
  const code = (err as { code?: string })?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return policy
      ? timeoutError('first_byte', policy, err)
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

async function readAll(body: Readable, ex: Exchange): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) {
      if (ex.upstream.firstByteAt === undefined) ex.upstream.firstByteAt = performance.now() - ex.startedAt;
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw upstreamFailure(err, ex);
  }
  ex.upstream.endedAt = performance.now() - ex.startedAt;
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

function errorTypeOf(buf: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(buf.toString('utf8')) as { error?: { type?: unknown } };
    return typeof parsed.error?.type === 'string' ? parsed.error.type : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Relays a non-streaming body chunk by chunk, keeping a copy to read usage from. */
async function* relayBody(
  body: Readable,
  ex: Exchange,
  capture: boolean,
  done: () => void,
): AsyncGenerator<Buffer> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const results = tapBatchResults(ex); // batch results JSONL: usage per line for the ledger
  try {
    for await (const chunk of body) {
      if (ex.upstream.firstByteAt === undefined) ex.upstream.firstByteAt = performance.now() - ex.startedAt;
      results?.write(chunk as Buffer);
      if (capture && keptBytes < CAPTURE_LIMIT) {
        kept.push(chunk as Buffer);
        keptBytes += (chunk as Buffer).length;
      }
      yield chunk as Buffer;
    }
  } finally {
    done();
    body.destroy();
  }
  results?.end();
  ex.upstream.endedAt = performance.now() - ex.startedAt;
  if (capture && keptBytes < CAPTURE_LIMIT) readMessage(ex, Buffer.concat(kept, keptBytes));
}

/**
 * Relays an SSE body event by event and taps it. If the upstream fails after
 * the stream started (reset, idle timeout), the client receives an SSE `error`
 * event, as the API itself reports mid-stream failures, then the stream ends.
 */
export async function* relaySse(body: Readable, ex: Exchange, done: () => void): AsyncGenerator<Buffer> {
  const tap = new StreamTap();
  // Bytes after the last complete event, kept as chunks: each byte is scanned
  // once, so a large event arriving in small chunks costs linear time.
  let held: Buffer[] = [];
  let heldBytes = 0;
  let failure: unknown;
  try {
    for await (const raw of body) {
      const chunk = raw as Buffer;
      if (ex.upstream.firstByteAt === undefined) ex.upstream.firstByteAt = performance.now() - ex.startedAt;
      tap.write(chunk);
      // A boundary can only end in the new chunk; it may start in the last held bytes.
      const last = held.length > 0 ? held[held.length - 1] : undefined;
      const lookBehind = last ? last.subarray(Math.max(0, last.length - 3)) : undefined;
      const scan = lookBehind ? Buffer.concat([lookBehind, chunk]) : chunk;
      const cut = lastEventBoundary(scan) - (lookBehind?.length ?? 0);
      if (cut <= 0) {
        held.push(chunk);
        heldBytes += chunk.length;
        continue;
      }
      const ready =
        heldBytes === 0 ? chunk.subarray(0, cut) : Buffer.concat([...held, chunk.subarray(0, cut)]);
      held = cut < chunk.length ? [chunk.subarray(cut)] : [];
      heldBytes = chunk.length - cut;
      yield ready;
    }
  } catch (err) {
    failure = err;
  } finally {
    done();
    body.destroy();
    tap.end();
    ex.upstream.endedAt = performance.now() - ex.startedAt;
    ex.usage = tap.usage;
    ex.message = { id: tap.messageId, model: tap.model, stopReason: tap.stopReason };
    if (tap.error) ex.errorType = tap.error.type;
  }
  if (ex.signal.aborted) return;
  const pendingEvent = held.some((part) => part.some((b) => b !== 0x0a && b !== 0x0d));
  if (failure !== undefined || pendingEvent) {
    const timeout = (failure as { code?: string } | undefined)?.code === 'UND_ERR_BODY_TIMEOUT';
    const type = timeout ? 'timeout_error' : 'api_error';
    ex.outcome = 'stream_error';
    ex.errorType = type;
    ex.error = new GantryError(
      'stream_interrupted',
      timeout ? 'The upstream stream went idle for too long.' : 'The upstream stream was interrupted.',
      { cause: failure },
    );
    yield Buffer.from(
      encodeEvent('error', {
        type: 'error',
        error: { type, message: ex.error.message, details: { gantry_code: 'stream_interrupted' } },
      }),
    );
    return;
  }
  if (heldBytes > 0) yield Buffer.concat(held);
  if (tap.outcome() === 'cut') ex.outcome = 'upstream_cut';
  else if (tap.outcome() === 'error_event') ex.outcome = 'stream_error';
}

/** Index just after the last blank line (end of an SSE event) in `buf`, or 0 when there is none. */
export function lastEventBoundary(buf: Buffer): number {
  for (let i = buf.length - 1; i > 0; i--) {
    const c = buf[i];
    if (c !== 0x0a && c !== 0x0d) continue;
    const p = buf[i - 1];
    if (c === 0x0a) {
      if (p === 0x0a) return i + 1; // \n\n
      if (p === 0x0d && i >= 2 && (buf[i - 2] === 0x0a || buf[i - 2] === 0x0d)) return i + 1; // \n\r\n, \r\r\n
    } else if (p === 0x0d || p === 0x0a) {
      // \r\r or \n\r; a following \n belongs to the same terminator
      return i + 1 < buf.length && buf[i + 1] === 0x0a ? i + 2 : i + 1;
    }
  }
  return 0;
}

/** Points `results_url` values at the gateway, so clients fetch results through it with their virtual key. */
export function rewriteResultsUrls(buf: Buffer, upstreamBase: string, gatewayBaseUrl: string): Buffer {
  if (!buf.includes('"results_url"')) return buf;
  let changed = false;
  const fix = (batch: { results_url?: unknown }) => {
    if (typeof batch?.results_url === 'string' && batch.results_url.startsWith(upstreamBase)) {
      batch.results_url = gatewayBaseUrl + batch.results_url.slice(upstreamBase.length);
      changed = true;
    }
  };
  try {
    const parsed = JSON.parse(buf.toString('utf8')) as { results_url?: unknown; data?: unknown };
    fix(parsed);
    if (Array.isArray(parsed.data)) for (const item of parsed.data) fix(item);
    return changed ? Buffer.from(JSON.stringify(parsed)) : buf;
  } catch {
    return buf;
  }
}
