/**
 * The final degraded answer: a fixed message the operator configured
 * (`clients[].resilience.degraded.message`), returned as a normal Message, or
 * as a well-formed SSE stream when the request streamed, so the client's code
 * path stays the same. The response carries `gantry-degraded: true`; usage is
 * zero (nothing was generated upstream, nothing is billed).
 */
import { newId } from '../anthropic/ids.ts';
import { encodeEvent } from '../anthropic/sse.ts';
import type { ExchangeResponse } from '../pipeline/exchange.ts';

const ZERO_USAGE = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
};

/** A degraded Message (or its stream) for `model` with the text `message`. */
export function degradedResponse(
  model: string,
  message: string,
  stream: boolean,
  gatewayRequestId: string,
): ExchangeResponse {
  const id = newId('msg');
  const headers: Record<string, string> = {
    'gantry-degraded': 'true',
    'gantry-request-id': gatewayRequestId,
    'request-id': gatewayRequestId,
  };
  if (!stream) {
    const body = Buffer.from(
      JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: message }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: ZERO_USAGE,
      }),
    );
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
    return { status: 200, headers, body };
  }
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  const events = [
    encodeEvent('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: ZERO_USAGE,
      },
    }),
    encodeEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
    encodeEvent('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: message },
    }),
    encodeEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
    encodeEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 0 },
    }),
    encodeEvent('message_stop', { type: 'message_stop' }),
  ];
  return { status: 200, headers, body: Buffer.from(events.join('')) };
}
