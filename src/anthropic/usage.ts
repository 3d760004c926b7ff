/**
 * Token usage: one reducer for non-streaming bodies and for streams.
 *
 * - `usageFromMessage` reads a `Message` body (or a batch result line).
 * - `StreamTap` watches a stream's events (or raw bytes) and keeps the message id,
 *   model, usage, stop reason and how the stream ended.
 *
 * Rules (API reference 4.3 and 5.3; the official TS accumulator):
 * - `message_start.message.usage` sets the input side and a small initial output count.
 * - `message_delta.usage` holds CUMULATIVE totals: `output_tokens` is always
 *   overwritten; every other counter is overwritten only when present and non-null.
 *   Nothing is ever added.
 * - Cache writes by TTL: taken from the `cache_creation` breakdown
 *   (`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`). Tokens of
 *   `cache_creation_input_tokens` that no breakdown accounts for (typically: no
 *   breakdown at all, as from older API versions) are attributed to the 5-minute TTL,
 *   the API's default TTL and the cheaper write price. When only the breakdown is
 *   given, the total is its sum.
 */
import { OutputEstimate } from './estimate.ts';
import { SseDecoder, type SseEvent } from './sse.ts';

/**
 * Where a usage's output count comes from: `reported` by the API (a `Message`'s
 * usage, a stream's final `message_delta`), or `estimated` by Gantry from what
 * was relayed because the stream ended without its final usage (client closed,
 * cut, error event; src/anthropic/estimate.ts).
 */
export type UsageSource = 'reported' | 'estimated';

/** Usage of one message. Counters default to 0; optional fields are absent when not reported. */
export interface Usage {
  /** Input tokens after the last cache breakpoint (not the whole prompt). */
  inputTokens: number;
  outputTokens: number;
  /** All cache-write tokens; equals `cacheCreation5mInputTokens + cacheCreation1hInputTokens`. */
  cacheCreationInputTokens: number;
  cacheCreation5mInputTokens: number;
  cacheCreation1hInputTokens: number;
  cacheReadInputTokens: number;
  webSearchRequests: number;
  webFetchRequests: number;
  /** `output_tokens_details.thinking_tokens` (already included in `outputTokens`). */
  thinkingTokens?: number;
  serviceTier?: string;
  inferenceGeo?: string;
  speed?: string;
  /** Absent: reported by the API. `estimated`: see `UsageSource`. */
  source?: UsageSource;
}

/** A fresh all-zero `Usage`. */
export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationInputTokens: 0,
    cacheCreation5mInputTokens: 0,
    cacheCreation1hInputTokens: 0,
    cacheReadInputTokens: 0,
    webSearchRequests: 0,
    webFetchRequests: 0,
  };
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Mutable reduction state: the `Usage` plus the last cache-write breakdown seen, kept
 * apart so a later total without breakdown does not lose the TTL split.
 */
class UsageState {
  usage: Usage = emptyUsage();
  b5m = 0;
  b1h = 0;
  sawTotal = false;

  /**
   * Applies one API `usage` object with the overwrite rule: each counter present as a
   * number replaces the current value (`output_tokens` is always present in practice).
   */
  apply(raw: Obj): void {
    const u = this.usage;
    let v: unknown = raw['output_tokens'];
    if (isNum(v)) u.outputTokens = v;
    v = raw['input_tokens'];
    if (isNum(v)) u.inputTokens = v;
    v = raw['cache_read_input_tokens'];
    if (isNum(v)) u.cacheReadInputTokens = v;
    v = raw['cache_creation_input_tokens'];
    if (isNum(v)) {
      u.cacheCreationInputTokens = v;
      this.sawTotal = true;
    }
    const cc = raw['cache_creation'];
    if (isObj(cc)) {
      v = cc['ephemeral_5m_input_tokens'];
      if (isNum(v)) this.b5m = v;
      v = cc['ephemeral_1h_input_tokens'];
      if (isNum(v)) this.b1h = v;
    }
    const stu = raw['server_tool_use'];
    if (isObj(stu)) {
      v = stu['web_search_requests'];
      if (isNum(v)) u.webSearchRequests = v;
      v = stu['web_fetch_requests'];
      if (isNum(v)) u.webFetchRequests = v;
    }
    const otd = raw['output_tokens_details'];
    if (isObj(otd)) {
      v = otd['thinking_tokens'];
      if (isNum(v)) u.thinkingTokens = v;
    }
    v = raw['service_tier'];
    if (typeof v === 'string') u.serviceTier = v;
    v = raw['inference_geo'];
    if (typeof v === 'string') u.inferenceGeo = v;
    v = raw['speed'];
    if (typeof v === 'string') u.speed = v;

    // Split cache writes by TTL (see the module comment).
    if (!this.sawTotal) u.cacheCreationInputTokens = this.b5m + this.b1h;
    const rest = u.cacheCreationInputTokens - this.b5m - this.b1h;
    u.cacheCreation5mInputTokens = this.b5m + Math.max(rest, 0);
    u.cacheCreation1hInputTokens = this.b1h;
  }
}

/**
 * Usage of a non-streaming response body. Accepts a `Message`
 * (`{ usage: {...} }`), a batch result line (`{ custom_id, result: { type: 'succeeded',
 * message } }`) or its `result` object. Anything else (an error body, an errored or
 * expired batch result) gives all zeros.
 *
 * @example
 * usageFromMessage(JSON.parse(body)).outputTokens;
 */
export function usageFromMessage(message: unknown): Usage {
  if (!isObj(message)) return emptyUsage();
  let raw = message['usage'];
  if (!isObj(raw)) {
    const result = isObj(message['result']) ? message['result'] : message;
    const msg = result['message'];
    raw = isObj(msg) ? msg['usage'] : undefined;
  }
  if (!isObj(raw)) return emptyUsage();
  const st = new UsageState();
  st.apply(raw);
  return st.usage;
}

/** How a stream ended, as the tap saw it. */
export type StreamOutcome =
  | 'complete' // `message_stop` arrived (and no `event: error`)
  | 'error_event' // an `event: error` arrived (the API then closes the stream)
  | 'cut'; // ended (or still open) without `message_stop` or an error event

/** The error carried by an `event: error`. */
export interface StreamError {
  type: string;
  message: string;
}

export interface StreamTapOptions {
  /** Clock for `firstEventAt`. Default: `performance.now` (the clock of `Exchange.startedAt`). */
  now?: () => number;
}

/**
 * Watches one Messages API stream while its bytes are forwarded elsewhere.
 *
 * Feed it either decoded events with `observe(event)` (when the caller runs its own
 * `SseDecoder`), or raw chunks with `write(chunk)` and then `end()` (the tap runs a
 * decoder). Fast path: only `message_start`, `message_delta` and `error` payloads are
 * JSON-parsed; `message_stop` is recognised by name; every other event (text and JSON
 * deltas, pings, block starts and stops, unknown events) is only counted. A payload that
 * fails to parse is counted in `malformedEvents` and otherwise ignored: the tap never
 * throws on stream content.
 *
 * `usage` is the running total and, once the stream is over, the message's usage.
 * When no `message_delta` with usage arrived (the stream was aborted, cut or ended
 * by an error event), `usage.outputTokens` is estimated from the content relayed so
 * far (text, tool input JSON, thinking: `OutputEstimate`) and `usage.source` is
 * `'estimated'`; to estimate, the tap also reads the content-block events (their
 * payloads are scanned, not parsed).
 *
 * @example
 * const tap = new StreamTap();
 * for await (const chunk of upstream) { client.write(chunk); tap.write(chunk); }
 * tap.end();
 * tap.outcome(); // 'complete' | 'error_event' | 'cut'
 * tap.usage.outputTokens;
 */
export class StreamTap {
  messageId: string | undefined;
  model: string | undefined;
  stopReason: string | undefined;
  stopSequence: string | undefined;
  sawMessageStart = false;
  sawMessageStop = false;
  /** Set by an `event: error`. Unparseable payloads give `{ type: 'api_error', message: <raw data> }`. */
  error: StreamError | undefined;
  /** `now()` when the first event was observed. */
  firstEventAt: number | undefined;
  eventCount = 0;
  /** Parsed events whose payload was not the expected JSON. */
  malformedEvents = 0;
  /** After `end()` (byte mode only): the bytes stopped in the middle of an event. */
  endedMidEvent = false;

  #state = new UsageState();
  #estimate = new OutputEstimate();
  /** A `message_delta` carried usage: the output count is the API's. */
  #finalUsage = false;
  #now: () => number;
  #decoder: SseDecoder | undefined;

  constructor(options: StreamTapOptions = {}) {
    this.#now = options.now ?? performance.now.bind(performance);
  }

  /**
   * The usage so far (final once the stream is over). Before a `message_delta` with
   * usage, a copy whose output count is the larger of the API's initial count and
   * the estimate, marked `source: 'estimated'`.
   */
  get usage(): Usage {
    const u = this.#state.usage;
    if (this.#finalUsage) return u;
    const est: Usage = {
      ...u,
      outputTokens: Math.max(u.outputTokens, this.#estimate.tokens),
      source: 'estimated',
    };
    const thinking = this.#estimate.thinkingTokens;
    if (thinking > 0) est.thinkingTokens = Math.max(u.thinkingTokens ?? 0, thinking);
    return est;
  }

  /** Where `usage.outputTokens` comes from now. */
  get usageSource(): UsageSource {
    return this.#finalUsage ? 'reported' : 'estimated';
  }

  /** Output tokens estimated from the content seen so far (whatever the API reported). */
  get estimatedOutputTokens(): number {
    return this.#estimate.tokens;
  }

  /** Feeds raw stream bytes (byte mode). */
  write(chunk: Uint8Array): void {
    if (this.#decoder === undefined) this.#decoder = new SseDecoder();
    const events = this.#decoder.push(chunk);
    for (let i = 0; i < events.length; i++) this.observe(events[i]);
  }

  /** Ends byte mode: records whether the bytes stopped mid-event. */
  end(): void {
    if (this.#decoder === undefined) return;
    this.#decoder.end();
    this.endedMidEvent = this.#decoder.pending;
  }

  /**
   * Observes one decoded event: the reducer. Public so a caller that already decodes
   * the stream (one decoder per stream) feeds it events instead of bytes.
   */
  observe(ev: SseEvent): void {
    if (this.eventCount++ === 0) this.firstEventAt = this.#now();
    switch (ev.event) {
      case 'content_block_delta':
      case 'content_block_start':
      case 'content_block_stop':
        if (!this.#finalUsage) this.#estimate.event(ev.event, ev.data);
        break;
      case 'message_start':
        this.#messageStart(ev.data);
        break;
      case 'message_delta':
        this.#messageDelta(ev.data);
        break;
      case 'message_stop':
        this.sawMessageStop = true;
        break;
      case 'error':
        this.#error(ev.data);
        break;
    }
  }

  /** `'error_event'` if an error event arrived, else `'complete'` after `message_stop`, else `'cut'`. */
  outcome(): StreamOutcome {
    if (this.error !== undefined) return 'error_event';
    return this.sawMessageStop ? 'complete' : 'cut';
  }

  #parse(data: string): Obj | undefined {
    try {
      const v: unknown = JSON.parse(data);
      if (isObj(v)) return v;
    } catch {
      // counted below
    }
    this.malformedEvents++;
    return undefined;
  }

  #messageStart(data: string): void {
    const body = this.#parse(data);
    if (body === undefined) return;
    const msg = body['message'];
    if (!isObj(msg)) {
      this.malformedEvents++;
      return;
    }
    this.sawMessageStart = true;
    if (typeof msg['id'] === 'string') this.messageId = msg['id'];
    if (typeof msg['model'] === 'string') this.model = msg['model'];
    if (typeof msg['stop_reason'] === 'string') this.stopReason = msg['stop_reason'];
    const raw = msg['usage'];
    if (isObj(raw)) this.#state.apply(raw);
  }

  #messageDelta(data: string): void {
    const body = this.#parse(data);
    if (body === undefined) return;
    const delta = body['delta'];
    if (isObj(delta)) {
      if (typeof delta['stop_reason'] === 'string') this.stopReason = delta['stop_reason'];
      if (typeof delta['stop_sequence'] === 'string') this.stopSequence = delta['stop_sequence'];
    }
    const raw = body['usage'];
    if (isObj(raw)) {
      this.#state.apply(raw);
      this.#finalUsage = true;
    }
  }

  #error(data: string): void {
    const body = this.#parse(data);
    const err = body?.['error'];
    if (isObj(err)) {
      this.error = {
        type: typeof err['type'] === 'string' ? err['type'] : 'api_error',
        message: typeof err['message'] === 'string' ? err['message'] : '',
      };
    } else {
      if (body !== undefined) this.malformedEvents++;
      this.error = { type: 'api_error', message: data };
    }
  }
}
