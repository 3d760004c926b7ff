/**
 * Bedrock's response stream (`application/vnd.amazon.eventstream`: binary
 * frames with a prelude, typed headers and CRC32 checksums) to and from the
 * Messages API's SSE events. The framing is Smithy's codec
 * (`@smithy/core/event-streams`, loaded on first use); what is here is only
 * the mapping:
 *
 * - an `event` frame of type `chunk` carries `{"bytes": base64(event JSON)}`:
 *   it becomes `event: <type>\ndata: <json>\n\n`, with Bedrock's own
 *   `amazon-bedrock-invocationMetrics` field (on `message_stop`) removed, so
 *   the relay, the usage tap and the output scanner see the API's events;
 * - an `exception` frame (`:exception-type` throttlingException,
 *   modelStreamErrorException, …) becomes the API's SSE `error` event with the
 *   matching error type.
 */
import type { Readable } from 'node:stream';
import { encodeEvent } from '../anthropic/sse.ts';

type Codec = import('@smithy/core/event-streams').EventStreamCodec;
type Message = import('@smithy/types').Message;

const utf8 = new TextDecoder();
const toUtf8 = (b: Uint8Array): string => utf8.decode(b);
const fromUtf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

let loading: Promise<typeof import('@smithy/core/event-streams')> | undefined;
/** Smithy's event-stream module, loaded once, when a Bedrock platform first needs it. */
const codecModule = () => {
  loading ??= import('@smithy/core/event-streams');
  return loading;
};

export async function newCodec(): Promise<Codec> {
  const { EventStreamCodec } = await codecModule();
  return new EventStreamCodec(toUtf8, fromUtf8);
}

/** Anthropic error types of Bedrock's stream exceptions (and of its HTTP exceptions, by name). */
const BEDROCK_EXCEPTION_TYPES: Readonly<Record<string, string>> = {
  throttlingException: 'rate_limit_error',
  serviceUnavailableException: 'overloaded_error',
  modelNotReadyException: 'overloaded_error',
  modelStreamErrorException: 'api_error',
  internalServerException: 'api_error',
  validationException: 'invalid_request_error',
  modelTimeoutException: 'timeout_error',
};

const header = (m: Message, name: string): string | undefined => {
  const h = m.headers[name];
  return h && typeof h.value === 'string' ? h.value : undefined;
};

/** The SSE text of one decoded Bedrock frame (undefined for frames that carry no event). */
function sseOfFrame(m: Message): string | undefined {
  const kind = header(m, ':message-type') ?? 'event';
  if (kind === 'event') {
    if (header(m, ':event-type') !== 'chunk') return undefined;
    const payload = JSON.parse(toUtf8(m.body)) as { bytes?: string };
    if (typeof payload.bytes !== 'string') return undefined;
    const event = JSON.parse(Buffer.from(payload.bytes, 'base64').toString('utf8')) as Record<
      string,
      unknown
    >;
    if (typeof event.type !== 'string') return undefined;
    delete event['amazon-bedrock-invocationMetrics'];
    return encodeEvent(event.type, event);
  }
  const name = header(m, ':exception-type') ?? header(m, ':error-code') ?? 'internalServerException';
  let message = header(m, ':error-message') ?? '';
  try {
    const body = JSON.parse(toUtf8(m.body)) as { message?: unknown; Message?: unknown };
    message = String(body.message ?? body.Message ?? message);
  } catch {
    // A frame without a JSON body keeps the header's message.
  }
  const type = BEDROCK_EXCEPTION_TYPES[name] ?? 'api_error';
  return encodeEvent('error', { type: 'error', error: { type, message: message || name } });
}

/**
 * Decodes a Bedrock response stream into SSE bytes, frame by frame as they
 * arrive (a frame split across chunks waits for its rest; nothing else is
 * held). A malformed frame (bad checksum) ends the stream with an error.
 */
export async function* bedrockStreamToSse(body: Readable): AsyncGenerator<Buffer> {
  const { EventStreamCodec, getChunkedStream } = await codecModule();
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  // Smithy's splitter yields whole frames (by the prelude's length), however the bytes arrived.
  for await (const frame of getChunkedStream(body as AsyncIterable<Uint8Array>)) {
    const sse = sseOfFrame(codec.decode(frame));
    if (sse) yield Buffer.from(sse, 'utf8');
  }
}

/** One Bedrock `chunk` frame carrying an event (the simulator's encoder). */
export function chunkFrame(codec: Codec, event: Record<string, unknown>): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(event), 'utf8').toString('base64');
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: 'chunk' },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(JSON.stringify({ bytes })),
  });
}

/** One Bedrock `exception` frame (the simulator's encoder). */
export function exceptionFrame(codec: Codec, exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: exceptionType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}
