/**
 * Scanning a Messages SSE stream while it flows, as the one transform of the
 * relay's event chain (src/pipeline/upstream/relay.ts): the relay decodes each
 * event once and hands it here; this module parses only the events it
 * inspects and encodes only what it changes.
 *
 * - `content_block_start` of a text block (parsed) opens a `TextScanner` for
 *   its index; other `content_block_start` events pass untouched;
 * - `content_block_delta` with a `text_delta` of a scanned block (parsed) is
 *   fed to that block's scanner and re-emitted as a `text_delta` carrying the
 *   released part (a delta whose text is all held back emits nothing yet);
 *   other deltas (tool input JSON, thinking, signatures, citations) are
 *   recognised from their bytes and pass untouched, unparsed;
 * - `content_block_stop` flushes that block's held text before it;
 *   `message_delta`, `message_stop` and `error` flush every block; the end of
 *   the stream flushes what is left;
 * - every other event passes untouched;
 * - when a `block` rule matches, the text before the match is emitted, then an
 *   SSE `error` event (`output_blocked`), and the stream stops.
 *
 * Bound: each scanner holds at most `maxHold` characters (`safety.stream.max_hold_chars`).
 *
 * @example
 *   ex.response.events.transform = new StreamScanner(rules, { holdBack: 64 }, hooks);
 */
import { encodeEvent, type SseEvent } from '../anthropic/sse.ts';
import { forwardEvents, type SseTransform, type SseTransformResult } from '../pipeline/upstream/relay.ts';
import { type Finding, type ScannerOptions, type ScanRule, TextScanner } from './scanner.ts';

export interface StreamScanHooks {
  /** Called for each finding, in order, when the text that carries it is released. */
  onFinding?(finding: Finding): void;
  /** Called once when a block rule ends the stream. */
  onBlocked?(finding: Finding): void;
}

/** The SSE `error` event a blocked stream ends with. */
function blockedEvent(rule: string): string {
  return encodeEvent('error', {
    type: 'error',
    error: {
      type: 'permission_error',
      message: 'The response was stopped by the gateway’s output safety policy.',
      details: { gantry_code: 'output_blocked', rules: [rule] },
    },
  });
}

const textDelta = (index: number, text: string) =>
  encodeEvent('content_block_delta', {
    type: 'content_block_delta',
    index,
    delta: { type: 'text_delta', text },
  });

const PASS: SseTransformResult = undefined;

interface BlockEvent {
  index?: number;
  content_block?: { type?: string };
  delta?: { type?: string; text?: string };
}

function parse(data: string): BlockEvent | undefined {
  try {
    const v = JSON.parse(data) as unknown;
    return typeof v === 'object' && v !== null ? (v as BlockEvent) : undefined;
  } catch {
    return undefined;
  }
}

export class StreamScanner implements SseTransform {
  readonly #rules: readonly ScanRule[];
  readonly #options: ScannerOptions;
  readonly #hooks: StreamScanHooks;
  readonly #scanners = new Map<number, TextScanner>();
  readonly #reported = new Map<TextScanner, number>();
  #blocked = false;

  constructor(rules: readonly ScanRule[], options: ScannerOptions, hooks: StreamScanHooks = {}) {
    this.#rules = rules;
    this.#options = options;
    this.#hooks = hooks;
  }

  /** Records findings released since the last call; returns the blocking one, if any. */
  #report(s: TextScanner): Finding | undefined {
    const seen = this.#reported.get(s) ?? 0;
    for (let i = seen; i < s.findings.length; i++) this.#hooks.onFinding?.(s.findings[i]);
    this.#reported.set(s, s.findings.length);
    if (s.blocked) {
      this.#blocked = true;
      this.#hooks.onBlocked?.(s.blocked);
      return s.blocked;
    }
    return undefined;
  }

  /** Releases the held text of one block (or all), with the error event when it blocks. */
  #flush(index: number | undefined): string {
    let out = '';
    for (const [i, s] of this.#scanners) {
      if (index !== undefined && i !== index) continue;
      const text = s.flush();
      if (text) out += textDelta(i, text);
      const b = this.#report(s);
      this.#scanners.delete(i);
      if (b) return out + blockedEvent(b.rule);
    }
    return out;
  }

  event(ev: SseEvent): SseTransformResult {
    if (this.#blocked) return { emit: '', stop: true };
    switch (ev.event) {
      case 'content_block_start': {
        if (!ev.data.includes('"text"')) return PASS;
        const data = parse(ev.data);
        if (data?.content_block?.type === 'text' && typeof data.index === 'number') {
          this.#scanners.set(data.index, new TextScanner(this.#rules, this.#options));
        }
        return PASS;
      }
      case 'content_block_delta': {
        if (this.#scanners.size === 0 || !ev.data.includes('"text_delta"')) return PASS;
        const data = parse(ev.data);
        const s = typeof data?.index === 'number' ? this.#scanners.get(data.index) : undefined;
        if (!s || data?.delta?.type !== 'text_delta' || typeof data.delta.text !== 'string') return PASS;
        const released = s.push(data.delta.text);
        const b = this.#report(s);
        // Released exactly as received (the common case: nothing held, nothing redacted): the
        // upstream's bytes go on unchanged; only a changed delta is encoded again.
        if (!b && released === data.delta.text) return PASS;
        const out = released ? textDelta(data.index as number, released) : '';
        return b ? { emit: out + blockedEvent(b.rule), stop: true } : { emit: out };
      }
      case 'content_block_stop': {
        if (this.#scanners.size === 0) return PASS;
        const data = parse(ev.data);
        const out = typeof data?.index === 'number' ? this.#flush(data.index) : '';
        if (this.#blocked) return { emit: out, stop: true };
        return out ? { emit: out, pass: true } : PASS;
      }
      case 'message_delta':
      case 'message_stop':
      case 'error': {
        if (this.#scanners.size === 0) return PASS;
        const out = this.#flush(undefined);
        if (this.#blocked) return { emit: out, stop: true };
        return out ? { emit: out, pass: true } : PASS;
      }
      default:
        return PASS;
    }
  }

  end(): string {
    return this.#blocked ? '' : this.#flush(undefined);
  }
}

/**
 * A byte stream through the relay's event chain with a `StreamScanner` as its
 * transform, without an upstream: what a client receives for `body` (tests and
 * benchmarks use it).
 */
export async function* scanSseStream(
  body: AsyncIterable<Buffer>,
  rules: readonly ScanRule[],
  options: ScannerOptions,
  hooks: StreamScanHooks = {},
): AsyncGenerator<Buffer> {
  const transform = new StreamScanner(rules, options, hooks);
  const stopped = yield* forwardEvents(body, { transform }, () => {});
  if (stopped) return;
  const tail = transform.end();
  if (tail) yield Buffer.from(tail);
}
