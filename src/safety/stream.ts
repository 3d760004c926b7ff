/**
 * Scanning a Messages SSE stream while it flows.
 *
 * `scanSseStream` wraps the event-aligned chunks the upstream stage relays. It
 * decodes events (SseDecoder) and:
 * - feeds every `text_delta` of a text block to that block's `TextScanner`
 *   and re-emits the released part as a `text_delta` of the same index (a
 *   delta whose text is all held back is not emitted yet);
 * - flushes a block's held text just before its `content_block_stop`, and all
 *   held text before `message_delta`, `message_stop`, `error` and at the end;
 * - passes every other event (message_start, ping, thinking, tool_use JSON,
 *   citations, signatures, errors) through unchanged and in order;
 * - when a `block` rule matches, emits the text before the match, then an SSE
 *   `error` event (`output_blocked`), and stops reading the upstream.
 *
 * Events are re-encoded as `event: <name>\ndata: <data>\n\n`, the API's own
 * framing, so passed-through events are byte-identical for API streams.
 *
 * @example
 *   ex.response.body = scanSseStream(ex.response.body, rules, { holdBack: 64 }, onFinding);
 */
import { encodeEvent, SseDecoder, type SseEvent } from '../anthropic/sse.ts';
import { type Finding, type ScannerOptions, type ScanRule, TextScanner } from './scanner.ts';

export interface StreamScanHooks {
  /** Called for each finding, in order, when the text that carries it is released. */
  onFinding?(finding: Finding): void;
  /** Called once when a block rule ends the stream. */
  onBlocked?(finding: Finding): void;
}

/** The SSE `error` event a blocked stream ends with. */
export function blockedEvent(rule: string): string {
  return encodeEvent('error', {
    type: 'error',
    error: {
      type: 'permission_error',
      message: 'The response was stopped by the gateway’s output safety policy.',
      details: { gantry_code: 'output_blocked', rules: [rule] },
    },
  });
}

function raw(ev: SseEvent): string {
  return `${ev.event === undefined ? '' : `event: ${ev.event}\n`}data: ${ev.data}\n\n`;
}

const textDelta = (index: number, text: string) =>
  encodeEvent('content_block_delta', {
    type: 'content_block_delta',
    index,
    delta: { type: 'text_delta', text },
  });

export async function* scanSseStream(
  body: AsyncIterable<Buffer>,
  rules: readonly ScanRule[],
  options: ScannerOptions,
  hooks: StreamScanHooks = {},
): AsyncGenerator<Buffer> {
  const decoder = new SseDecoder();
  const scanners = new Map<number, TextScanner>();
  let reported = new Map<TextScanner, number>();
  let blocked = false;

  /** Records findings released since the last call; returns the blocking one, if any. */
  const report = (s: TextScanner) => {
    const seen = reported.get(s) ?? 0;
    for (let i = seen; i < s.findings.length; i++) hooks.onFinding?.(s.findings[i]);
    reported.set(s, s.findings.length);
    if (s.blocked) {
      blocked = true;
      hooks.onBlocked?.(s.blocked);
      return s.blocked;
    }
    return undefined;
  };

  /** Releases the held text of one block (or all), with its error event when it blocks. */
  const flush = (index: number | undefined): string => {
    let out = '';
    for (const [i, s] of scanners) {
      if (index !== undefined && i !== index) continue;
      const text = s.flush();
      if (text) out += textDelta(i, text);
      const b = report(s);
      scanners.delete(i);
      if (b) return out + blockedEvent(b.rule);
    }
    return out;
  };

  const onEvent = (ev: SseEvent): string => {
    let data: {
      type?: string;
      index?: number;
      content_block?: { type?: string };
      delta?: { type?: string; text?: string };
    };
    try {
      data = JSON.parse(ev.data);
    } catch {
      return raw(ev);
    }
    switch (ev.event ?? data.type) {
      case 'content_block_start':
        if (data.content_block?.type === 'text' && typeof data.index === 'number') {
          scanners.set(data.index, new TextScanner(rules, options));
        }
        return raw(ev);
      case 'content_block_delta': {
        const s = typeof data.index === 'number' ? scanners.get(data.index) : undefined;
        if (!s || data.delta?.type !== 'text_delta' || typeof data.delta.text !== 'string') return raw(ev);
        const text = s.push(data.delta.text);
        const out = text ? textDelta(data.index as number, text) : '';
        const b = report(s);
        return b ? out + blockedEvent(b.rule) : out;
      }
      case 'content_block_stop': {
        const out = typeof data.index === 'number' ? flush(data.index) : '';
        return blocked ? out : out + raw(ev);
      }
      case 'message_delta':
      case 'message_stop':
      case 'error': {
        const out = flush(undefined);
        return blocked ? out : out + raw(ev);
      }
      default:
        return raw(ev);
    }
  };

  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      let out = '';
      for (const ev of decoder.push(next.value)) {
        out += onEvent(ev);
        if (blocked) break;
      }
      if (out) yield Buffer.from(out);
      if (blocked) return;
    }
    const out = flush(undefined);
    if (out) yield Buffer.from(out);
  } finally {
    reported = new Map();
    // Stop the upstream relay (it releases the connection) when we end early.
    await iterator.return?.();
  }
}
