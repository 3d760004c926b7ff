/**
 * upstream: send the exchange to the Anthropic API (or the simulator) over a
 * keep-alive pool and turn its answer into `ex.response`.
 *
 * - The body bytes go out exactly as the client sent them.
 * - The host comes only from `upstream.base_url`; the path only from the route
 *   table (with the client's query string).
 * - Bodies are relayed as they arrive. SSE streams are relayed event by event:
 *   bytes are forwarded up to the last complete event in each chunk, so that if
 *   the upstream fails mid-stream the client never holds half an event and gets
 *   a well-formed `event: error` instead. The same bytes feed the stream tap
 *   that reads usage from `message_start` / `message_delta`.
 * - Upstream errors (4xx/5xx) are passed through byte for byte with their
 *   headers (`retry-after`, `x-should-retry`, `request-id`), so the client's SDK
 *   applies its own rules. Retries and failover come with the resilience stage.
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { encodeEvent } from '../anthropic/sse.ts';
import { StreamTap, usageFromMessage } from '../anthropic/usage.ts';
import { GantryError } from '../errors.ts';
import { tapBatchResults } from '../ledger/batch-tap.ts';
import type { Exchange } from './exchange.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import type { Stage, StageContext } from './stage.ts';

/** Largest non-streaming response Gantry keeps a copy of to read usage from. */
const CAPTURE_LIMIT = 16 * 1024 * 1024;
/** Batch objects are small; their `results_url` is rewritten to point at the gateway. */
const BATCH_KINDS = new Set(['batches.create', 'batches.list', 'batches.retrieve', 'batches.cancel']);

export function upstream(ctx: StageContext): Stage {
  const { config, secrets } = ctx;
  const base = new URL(config.upstream.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const baseHref = `${base.origin}${prefix}`;
  const pool = new Pool(base.origin, {
    connections: config.upstream.connections,
    connectTimeout: config.upstream.connectTimeoutMs,
    headersTimeout: config.upstream.headersTimeoutMs,
    bodyTimeout: config.upstream.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
  });

  return {
    name: 'upstream',
    async request(ex) {
      const env = config.environments[ex.client!.environment];
      const key = env ? secrets.value(env.upstreamKey) : undefined;
      if (!key) {
        throw new GantryError(
          'upstream_key_unavailable',
          `The upstream key of environment "${ex.client!.environment}" is not available; run \`gantry config check\` on the gateway.`,
        );
      }
      ex.upstream.attempts += 1;
      ex.upstream.sentAt = performance.now() - ex.startedAt;
      let res: Awaited<ReturnType<Pool['request']>>;
      try {
        res = await pool.request({
          path: prefix + ex.url,
          method: ex.method as 'GET' | 'POST' | 'DELETE',
          headers: upstreamRequestHeaders(ex.headers, key),
          body: ex.rawBody,
          signal: ex.signal,
        });
      } catch (err) {
        throw upstreamFailure(err, ex);
      }
      const now = performance.now() - ex.startedAt;
      ex.upstream.headersAt = now;
      ex.upstream.status = res.statusCode;
      const requestId = res.headers['request-id'];
      if (typeof requestId === 'string') ex.upstream.requestId = requestId;
      const headers = downstreamResponseHeaders(res.headers, ex.id);
      const contentType = String(res.headers['content-type'] ?? '');
      const body = res.body as unknown as Readable;

      if (res.statusCode >= 400) {
        // Error bodies are small: read whole, keep the bytes, note the error type.
        const buf = await readAll(body, ex);
        ex.errorType = errorTypeOf(buf);
        ex.response = { status: res.statusCode, headers, body: buf };
        return;
      }
      if (contentType.startsWith('text/event-stream')) {
        ex.response = { status: res.statusCode, headers, body: relaySse(body, ex) };
        return;
      }
      if (BATCH_KINDS.has(ex.route.kind) && contentType.includes('json')) {
        const buf = await readAll(body, ex);
        const rewritten = rewriteResultsUrls(buf, baseHref, gatewayBase(ex));
        if (rewritten !== buf) {
          headers['content-length'] = String(rewritten.length);
        }
        ex.response = { status: res.statusCode, headers, body: rewritten };
        return;
      }
      ex.response = {
        status: res.statusCode,
        headers,
        body: relayBody(body, ex, contentType.includes('json')),
      };
    },
    async close() {
      await pool.close();
    },
  };
}

function upstreamFailure(err: unknown, ex: Exchange): GantryError {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new GantryError('upstream_timeout', 'The upstream API did not answer in time.', { cause: err });
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
async function* relayBody(body: Readable, ex: Exchange, capture: boolean): AsyncGenerator<Buffer> {
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
    body.destroy();
  }
  results?.end();
  ex.upstream.endedAt = performance.now() - ex.startedAt;
  if (capture && keptBytes < CAPTURE_LIMIT && ex.route.kind === 'messages') {
    try {
      const message = JSON.parse(Buffer.concat(kept, keptBytes).toString('utf8'));
      ex.usage = usageFromMessage(message);
      ex.message = { id: message?.id, model: message?.model, stopReason: message?.stop_reason ?? undefined };
    } catch {
      // Not a Message: nothing to account.
    }
  }
}

/**
 * Relays an SSE body event by event and taps it. If the upstream fails after
 * the stream started (reset, idle timeout), the client receives an SSE `error`
 * event, as the API itself reports mid-stream failures, then the stream ends.
 */
async function* relaySse(body: Readable, ex: Exchange): AsyncGenerator<Buffer> {
  const tap = new StreamTap();
  let held: Buffer | undefined;
  let failure: unknown;
  try {
    for await (const raw of body) {
      const chunk = raw as Buffer;
      if (ex.upstream.firstByteAt === undefined) ex.upstream.firstByteAt = performance.now() - ex.startedAt;
      tap.write(chunk);
      const buf = held === undefined ? chunk : Buffer.concat([held, chunk]);
      const cut = lastEventBoundary(buf);
      if (cut === buf.length) {
        held = undefined;
        yield buf;
      } else if (cut > 0) {
        held = buf.subarray(cut);
        yield buf.subarray(0, cut);
      } else {
        held = buf;
      }
    }
  } catch (err) {
    failure = err;
  } finally {
    body.destroy();
    tap.end();
    ex.upstream.endedAt = performance.now() - ex.startedAt;
    ex.usage = tap.usage;
    ex.message = { id: tap.messageId, model: tap.model, stopReason: tap.stopReason };
    if (tap.error) ex.errorType = tap.error.type;
  }
  if (ex.signal.aborted) return;
  const pendingEvent = held?.some((b) => b !== 0x0a && b !== 0x0d);
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
  if (held !== undefined) yield held;
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

function gatewayBase(ex: Exchange): string {
  const host = typeof ex.headers.host === 'string' ? ex.headers.host : 'localhost';
  return `http://${host}`;
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
