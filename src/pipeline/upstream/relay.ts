/**
 * The relay: an upstream answer turned into the client's response body, as it
 * arrives.
 *
 * Streams (`relaySse`) run through ONE decoding chain:
 *
 * ```
 * upstream bytes ─▶ SseDecoder (byte boundaries found once)
 *                     ├─▶ StreamTap.observe(event)      usage, ids, stop reason, errors
 *                     ├─▶ transform.event(event)        at most one (safety.output), optional
 *                     └─▶ client: each event's own bytes, unchanged, unless the transform replaced it
 * ```
 *
 * Each chunk is forwarded up to the end of its last complete event, so a
 * client never holds half an event: when the upstream fails mid-stream
 * (reset, idle timeout) or ends without `message_stop`, the client receives a
 * well-formed SSE `error` event instead (as the API reports its own mid-stream
 * failures). Events that pass are never re-encoded; a transform parses only the
 * events it inspects and encodes only what it changes.
 *
 * Buffers, and their bounds:
 * - bytes of an incomplete event (`held`): at most `MAX_EVENT_BYTES`; an event
 *   larger than that ends the stream with an `error` event;
 * - the transform's held-back text: its own bound (`safety.stream.max_hold_chars`);
 * - nothing else is kept: events are observed and dropped.
 *
 * Non-streaming bodies (`relayBody`) of unknown or large size are forwarded
 * chunk by chunk, keeping a copy only up to `CAPTURE_LIMIT` to read usage
 * from; batch results are tapped line by line into `ex.batchResults`.
 */
import type { Readable } from 'node:stream';
import { encodeEvent, SseDecoder, type SseEvent } from '../../anthropic/sse.ts';
import { StreamTap, usageFromMessage } from '../../anthropic/usage.ts';
import { GantryError } from '../../errors.ts';
import { BatchResultsTap } from '../../ledger/batch-tap.ts';
import type { Exchange } from '../exchange.ts';

/** Largest single SSE event the relay holds while it arrives (8 MiB). */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;
/** Largest non-streaming response the relay keeps a copy of to read usage from. */
const CAPTURE_LIMIT = 16 * 1024 * 1024;

/**
 * What a transform does with one event: `undefined` forwards the event's own
 * bytes; otherwise `emit` is sent in its place (possibly empty), followed by the
 * event's own bytes when `pass` is true; `stop` ends the stream after that.
 */
export type SseTransformResult = undefined | { emit: string; pass?: boolean; stop?: boolean };

/** A stage's view of a relayed stream's events (safety.output's hold-back scanner). */
export interface SseTransform {
  event(ev: SseEvent): SseTransformResult;
  /** The stream ended (normally or not): what is still held back, to send before the end. */
  end(): string;
}

/** The event chain of a relayed stream; a stage sets `transform` before the body is read. */
export interface SseChain {
  transform?: SseTransform;
}

const since = (ex: Exchange) => performance.now() - ex.startedAt;

/** The usage tap's view of a stream, copied onto the exchange when the stream ends. */
function settleTap(ex: Exchange, tap: StreamTap): void {
  ex.usage = tap.usage;
  ex.message = { id: tap.messageId, model: tap.model, stopReason: tap.stopReason };
  if (tap.error) ex.errorType = tap.error.type;
}

/**
 * The chain's core: decodes `body` once, shows every event to `observe`, runs
 * the transform, and yields the bytes to forward (each chunk up to the end of
 * its last complete event). Returns `true` when the transform stopped the
 * stream; throws what the body throws, or a `RangeError` for an event larger
 * than `MAX_EVENT_BYTES`.
 */
export async function* forwardEvents(
  body: AsyncIterable<Buffer>,
  chain: SseChain,
  observe: (ev: SseEvent) => void,
  onChunk?: () => void,
): AsyncGenerator<Buffer, boolean> {
  const decoder = new SseDecoder({ maxLineBytes: MAX_EVENT_BYTES });
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of body) {
    onChunk?.();
    const events = decoder.push(chunk);
    if (events.length === 0) {
      heldBytes += chunk.length;
      if (heldBytes > MAX_EVENT_BYTES) throw new RangeError('SSE event larger than MAX_EVENT_BYTES');
      held.push(chunk);
      continue;
    }
    for (let i = 0; i < events.length; i++) observe(events[i]);
    const cut = events[events.length - 1].end!;
    const transform = chain.transform;
    let out: Buffer;
    let stopped = false;
    if (transform === undefined) {
      out = heldBytes === 0 ? chunk.subarray(0, cut) : Buffer.concat([...held, chunk.subarray(0, cut)]);
    } else {
      const r = transformChunk(transform, events, held, heldBytes, chunk);
      out = r.out;
      stopped = r.stopped;
    }
    held = cut < chunk.length ? [chunk.subarray(cut)] : [];
    heldBytes = chunk.length - cut;
    if (out.length > 0) yield out;
    if (stopped) return true;
  }
  return false;
}

/**
 * Relays an SSE body event by event through the chain above. `done` releases
 * what the attempt holds (its connection, its slots) once the body is over.
 */
export async function* relaySse(
  body: Readable,
  ex: Exchange,
  chain: SseChain,
  done: () => void,
): AsyncGenerator<Buffer> {
  const tap = new StreamTap();
  const observe = (ev: SseEvent) => tap.observe(ev);
  const onChunk = () => {
    if (ex.timings.firstByte === undefined) ex.timings.firstByte = since(ex);
  };
  let failure: unknown;
  try {
    const stopped = yield* forwardEvents(body as AsyncIterable<Buffer>, chain, observe, onChunk);
    if (stopped) return;
  } catch (err) {
    failure = err;
  } finally {
    done();
    body.destroy();
    ex.timings.upstreamEnded = since(ex);
    settleTap(ex, tap);
  }
  if (ex.signal.aborted) return;
  const tail = chain.transform?.end() ?? '';
  if (tail) yield Buffer.from(tail);
  const outcome = tap.outcome();
  if (failure === undefined && outcome !== 'cut') {
    if (outcome === 'error_event') ex.outcome = 'stream_error';
    return;
  }
  // Cut (connection failure, idle timeout, an event too large) or ended without
  // `message_stop`: the client gets an SSE error event, as for the API's own failures.
  const timeout = (failure as { code?: string } | undefined)?.code === 'UND_ERR_BODY_TIMEOUT';
  const type = timeout ? 'timeout_error' : 'api_error';
  const message = timeout
    ? 'The upstream stream went idle for too long.'
    : failure === undefined
      ? 'The upstream stream ended before message_stop.'
      : 'The upstream stream was interrupted.';
  ex.outcome = failure === undefined ? 'upstream_cut' : 'stream_error';
  ex.errorType = type;
  ex.error = new GantryError('stream_interrupted', message, { cause: failure });
  yield Buffer.from(
    encodeEvent('error', {
      type: 'error',
      error: { type, message, details: { gantry_code: 'stream_interrupted' } },
    }),
  );
}

/**
 * Runs the transform over one chunk's events. Runs of events it passes are
 * forwarded as their original bytes (one slice per run); what it emits in
 * their place is encoded once.
 */
function transformChunk(
  transform: SseTransform,
  events: SseEvent[],
  held: Buffer[],
  heldBytes: number,
  chunk: Buffer,
): { out: Buffer; stopped: boolean } {
  // Offsets are virtual: the held bytes of earlier chunks sit at [-heldBytes, 0),
  // the chunk at [0, chunk.length). Only the first event can start in the held bytes.
  const parts: Buffer[] = [];
  const pushRun = (from: number, to: number) => {
    if (to <= from) return;
    if (from < 0) {
      parts.push(...held);
      from = 0;
    }
    if (to > from) parts.push(chunk.subarray(from, to));
  };
  let runFrom = -heldBytes; // start of the current run of passed events
  let start = -heldBytes; // start of the current event
  for (const ev of events) {
    const end = ev.end!;
    const r = transform.event(ev);
    if (r !== undefined) {
      pushRun(runFrom, start);
      if (r.emit) parts.push(Buffer.from(r.emit));
      runFrom = r.pass ? start : end;
      if (r.stop) {
        pushRun(runFrom, end);
        return { out: Buffer.concat(parts), stopped: true };
      }
    }
    start = end;
  }
  pushRun(runFrom, start);
  return { out: parts.length === 1 ? parts[0] : Buffer.concat(parts), stopped: false };
}

/** Usage and identity of a non-streaming Message, for the ledger and the log line; returns the parsed body. */
export function readMessage(ex: Exchange, buf: Buffer): unknown {
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

/** Reads a whole (small) body; a failure while reading is a clean error (nothing was sent yet). */
export async function readAll(body: Readable, ex: Exchange): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) {
      if (ex.timings.firstByte === undefined) ex.timings.firstByte = since(ex);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw new GantryError(
      'upstream_connection_failed',
      ex.signal.aborted ? 'The client closed the request.' : 'The upstream answer was interrupted.',
      { cause: err },
    );
  }
  ex.timings.upstreamEnded = since(ex);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** Relays a non-streaming body chunk by chunk, keeping a copy to read usage from. */
export async function* relayBody(
  body: Readable,
  ex: Exchange,
  capture: boolean,
  done: () => void,
): AsyncGenerator<Buffer> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const results = ex.route.kind === 'batches.results' ? new BatchResultsTap() : undefined;
  try {
    for await (const chunk of body) {
      if (ex.timings.firstByte === undefined) ex.timings.firstByte = since(ex);
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
  if (results) {
    results.end();
    ex.batchResults = results.lines;
  }
  ex.timings.upstreamEnded = since(ex);
  if (capture && keptBytes < CAPTURE_LIMIT) readMessage(ex, Buffer.concat(kept, keptBytes));
}

/** Batch results read whole: their lines for the ledger. */
export function tapWholeBatchResults(ex: Exchange, buf: Buffer): void {
  if (ex.route.kind !== 'batches.results') return;
  const results = new BatchResultsTap();
  results.write(buf);
  results.end();
  ex.batchResults = results.lines;
}
