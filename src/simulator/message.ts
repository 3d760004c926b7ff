/**
 * Wire shapes of a reply: the non-streaming `Message` (§5.3) and the SSE event
 * sequence (§4): message_start, per block content_block_start / deltas /
 * content_block_stop (a ping after the first block start), message_delta with
 * cumulative usage, message_stop.
 */
import { encodeEvent } from '../anthropic/sse.ts';
import type { CacheUsage } from './cache.ts';
import type { Reply, ReplyBlock } from './generate.ts';

export interface Usage extends CacheUsage {
  output_tokens: number;
  output_tokens_details: { thinking_tokens: number };
  server_tool_use: { web_search_requests: number; web_fetch_requests: number };
  service_tier: 'standard' | 'priority' | 'batch';
  inference_geo: string;
  speed: 'standard' | 'fast';
}

export function buildUsage(
  cache: CacheUsage,
  reply: Reply,
  body: Record<string, unknown>,
  serviceTier: Usage['service_tier'],
  override?: Record<string, unknown>,
): Usage {
  const u: Usage = {
    input_tokens: cache.input_tokens,
    cache_creation_input_tokens: cache.cache_creation_input_tokens,
    cache_read_input_tokens: cache.cache_read_input_tokens,
    cache_creation: { ...cache.cache_creation },
    output_tokens: reply.outputTokens,
    output_tokens_details: { thinking_tokens: reply.thinkingTokens },
    server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
    service_tier: serviceTier,
    inference_geo: typeof body.inference_geo === 'string' ? body.inference_geo : 'global',
    speed: body.speed === 'fast' ? 'fast' : 'standard',
  };
  return override ? (Object.assign(u, override) as Usage) : u;
}

function responseBlock(b: ReplyBlock): Record<string, unknown> {
  return b.type === 'text' ? { type: 'text', text: b.text, citations: null } : { ...b };
}

/** The non-streaming response body. */
export function messageBody(id: string, model: string, reply: Reply, usage: Usage): Record<string, unknown> {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: reply.content.map(responseBlock),
    stop_reason: reply.stopReason,
    stop_sequence: reply.stopSequence,
    stop_details: reply.stopDetails,
    container: null,
    usage,
  };
}

/** Splits `s` into pieces of about `size` characters, never inside a surrogate pair. */
function chunk(s: string, size: number): string[] {
  if (s.length <= size) return [s];
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    let end = Math.min(s.length, i + size);
    const c = s.charCodeAt(end - 1);
    if (end < s.length && c >= 0xd800 && c <= 0xdbff) end++;
    out.push(s.slice(i, end));
    i = end;
  }
  return out;
}

/**
 * One encoded SSE frame plus whether it is a content delta (per-chunk latency
 * applies before deltas); `event` and `data` are its parts, for families that
 * frame events otherwise (Bedrock's event stream).
 */
export interface Frame {
  text: string;
  delta: boolean;
  event: string;
  data: Record<string, unknown>;
}

/**
 * The SSE frames of a reply, encoded. `usage` is the final usage: message_start
 * carries its input side and 1 output token, message_delta the cumulative totals.
 */
export function streamFrames(
  id: string,
  model: string,
  reply: Reply,
  usage: Usage,
  chunkSize: number,
): Frame[] {
  const frames: Frame[] = [];
  const push = (event: string, data: Record<string, unknown>, delta = false) =>
    frames.push({ text: encodeEvent(event, data), delta, event, data });
  push('message_start', {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        cache_creation: usage.cache_creation,
        output_tokens: Math.min(1, usage.output_tokens),
        service_tier: usage.service_tier,
      },
    },
  });
  const size = Math.max(1, chunkSize);
  reply.content.forEach((b, index) => {
    switch (b.type) {
      case 'text':
        push('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'text', text: '' },
        });
        if (index === 0) push('ping', { type: 'ping' });
        for (const text of chunk(b.text, size)) {
          if (text) {
            push(
              'content_block_delta',
              { type: 'content_block_delta', index, delta: { type: 'text_delta', text } },
              true,
            );
          }
        }
        break;
      case 'thinking':
        push('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        });
        if (index === 0) push('ping', { type: 'ping' });
        if (b.thinking) {
          for (const thinking of chunk(b.thinking, size)) {
            push(
              'content_block_delta',
              { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } },
              true,
            );
          }
        }
        push(
          'content_block_delta',
          { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: b.signature } },
          true,
        );
        break;
      case 'redacted_thinking':
        push('content_block_start', { type: 'content_block_start', index, content_block: { ...b } });
        if (index === 0) push('ping', { type: 'ping' });
        break;
      case 'tool_use': {
        push('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} },
        });
        if (index === 0) push('ping', { type: 'ping' });
        push(
          'content_block_delta',
          { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } },
          true,
        );
        for (const partial_json of chunk(JSON.stringify(b.input), size)) {
          push(
            'content_block_delta',
            { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } },
            true,
          );
        }
        break;
      }
    }
    push('content_block_stop', { type: 'content_block_stop', index });
  });
  if (reply.content.length === 0) push('ping', { type: 'ping' });
  push('message_delta', {
    type: 'message_delta',
    delta: {
      stop_reason: reply.stopReason,
      stop_sequence: reply.stopSequence,
      stop_details: reply.stopDetails,
    },
    usage: {
      input_tokens: usage.input_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
      output_tokens: usage.output_tokens,
    },
  });
  push('message_stop', { type: 'message_stop' });
  return frames;
}
