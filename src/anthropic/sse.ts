/**
 * Server-sent events as the Messages API uses them.
 *
 * - `encodeEvent` writes one frame in the API's shape.
 * - `SseDecoder` is an incremental, byte-level decoder for taps on the hot path: the
 *   gateway forwards upstream bytes untouched and pushes the same chunks here to learn
 *   what went by. It follows the WHATWG event-stream rules (the ones the official SDK's
 *   `_iterSSEMessages` implements), with one deliberate difference noted on `SseDecoder`.
 */
import { Buffer } from 'node:buffer';

/** One SSE frame in the API's shape: `event: <name>\ndata: <json>\n\n`. */
export function encodeEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, or `undefined` when the block had none (or an empty one). */
  event: string | undefined;
  /** All `data:` lines of the block joined with `\n` (no trailing newline). */
  data: string;
  /** The last event id in effect (WHATWG `lastEventId`: it persists across events); omitted when empty. */
  id?: string;
  /** A `retry:` value (all ASCII digits) given inside this event's block. */
  retry?: number;
  /**
   * Set by `SseDecoder.push`: the offset in the chunk just passed to `push` right
   * after the blank line that ended this event, so a relay can forward the
   * event's own bytes (up to here) without encoding them again.
   */
  end?: number;
}

export interface SseDecoderOptions {
  /**
   * Largest incomplete line (bytes) the decoder will buffer before `push` throws a
   * `RangeError`. Default: unlimited. The gateway may set it to bound memory on a
   * misbehaving upstream.
   */
  maxLineBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/**
 * Incremental byte-level SSE decoder.
 *
 * Contract:
 * - `push(chunk)` takes the next bytes of the stream (any chunking, any size, the same
 *   `Uint8Array`s the caller forwards; they are read, never kept or modified) and
 *   returns the events completed by it, in order (often an empty array).
 * - `end()` marks the end of the stream. Per the spec an unfinished event is discarded,
 *   so it always returns `[]`; read `pending` afterwards to know whether the stream was
 *   cut mid-event. `push` after `end` throws.
 * - `pending` is true while an event is incomplete: buffered bytes of an unterminated
 *   line, or field lines seen since the last blank line.
 *
 * Line endings LF, CRLF and lone CR are all accepted, including a CR at the end of one
 * chunk and its LF at the start of the next. Lines are kept as bytes until complete, so
 * a UTF-8 character split across chunks decodes intact. A leading BOM on the stream is
 * dropped. Comment lines (`:`) and unknown fields are ignored; a field with no colon has
 * an empty value; one space after the colon is stripped.
 *
 * Like the WHATWG algorithm (and unlike the SDK, which also yields an `event:` with no
 * `data:`), a block without any `data` line is not dispatched.
 *
 * Cost: each byte is scanned for line endings once (a scan offset is kept; cached
 * positions of the next LF and CR are reused), complete lines are decoded straight from
 * the caller's chunk, and only the tail of an unterminated line is copied.
 *
 * @example
 * const decoder = new SseDecoder();
 * for await (const chunk of upstream) {
 *   client.write(chunk);
 *   for (const ev of decoder.push(chunk)) tap.observe(ev);
 * }
 * decoder.end();
 * if (decoder.pending) console.warn('stream cut mid-event');
 */
export class SseDecoder {
  #maxLine: number;
  /** Bytes of the current unterminated line (never contains CR or LF). */
  #pend: Buffer | undefined;
  #pendLen = 0;
  /** The previous chunk ended with CR: an LF opening the next chunk belongs to it. */
  #skipLF = false;
  #firstLine = true;
  #ended = false;
  /** A non-comment line was seen since the last blank line. */
  #inEvent = false;
  #event: string | undefined;
  #data: string | undefined;
  #retry: number | undefined;
  #lastId = '';

  constructor(options: SseDecoderOptions = {}) {
    this.#maxLine = options.maxLineBytes ?? Number.POSITIVE_INFINITY;
  }

  /** True while an event is incomplete (after `end()`: the stream was cut mid-event). */
  get pending(): boolean {
    return this.#inEvent || this.#pendLen > 0;
  }

  /** Feeds the next bytes; returns the events they complete. */
  push(chunk: Uint8Array): SseEvent[] {
    if (this.#ended) throw new Error('SseDecoder: push() after end()');
    const out: SseEvent[] = [];
    const len = chunk.length;
    if (len === 0) return out;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, len);

    let pos = 0;
    if (this.#skipLF) {
      this.#skipLF = false;
      if (buf[0] === LF) pos = 1;
    }
    // Next LF / CR at or after the last search; -1: none up to the end of the chunk,
    // -2: not searched yet. A cached position stays valid while it is >= pos.
    let lf = -2;
    let cr = -2;
    while (pos < len) {
      if (lf !== -1 && lf < pos) lf = buf.indexOf(LF, pos);
      if (cr !== -1 && cr < pos) cr = buf.indexOf(CR, pos);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        next = cr + 1;
        if (next === len) this.#skipLF = true;
        else if (buf[next] === LF) next++;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const before = out.length;
      if (this.#pendLen > 0) {
        this.#append(buf, pos, end);
        const p = this.#pend!;
        const n = this.#pendLen;
        this.#pendLen = 0;
        this.#line(p, 0, n, out);
      } else {
        this.#line(buf, pos, end, out);
      }
      if (out.length !== before) out[before].end = next;
      pos = next;
    }
    if (pos < len) this.#append(buf, pos, len);
    return out;
  }

  /** Ends the stream. Returns `[]` (an unfinished event is discarded); see `pending`. */
  end(): SseEvent[] {
    this.#ended = true;
    return [];
  }

  #append(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    const need = this.#pendLen + n;
    if (need > this.#maxLine) {
      throw new RangeError(`SseDecoder: line longer than maxLineBytes (${this.#maxLine})`);
    }
    let p = this.#pend;
    if (p === undefined || p.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, p === undefined ? 1024 : p.length * 2));
      if (p !== undefined && this.#pendLen > 0) p.copy(grown, 0, 0, this.#pendLen);
      this.#pend = p = grown;
    }
    src.copy(p, this.#pendLen, start, end);
    this.#pendLen = need;
  }

  /** One complete line `buf[s, e)` without its terminator. */
  #line(buf: Buffer, s: number, e: number, out: SseEvent[]): void {
    if (this.#firstLine) {
      this.#firstLine = false;
      if (e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
    }
    if (s === e) {
      this.#dispatch(out);
      return;
    }
    const c0 = buf[s];
    if (c0 === COLON) return; // comment
    this.#inEvent = true;
    // Match the four field names on bytes; a name must be followed by ':' or the line end.
    let p: number;
    if (c0 === 0x64 /* d */ && buf[s + 1] === 0x61 && buf[s + 2] === 0x74 && buf[s + 3] === 0x61) {
      p = s + 4;
    } else if (
      c0 === 0x65 /* e */ &&
      buf[s + 1] === 0x76 &&
      buf[s + 2] === 0x65 &&
      buf[s + 3] === 0x6e &&
      buf[s + 4] === 0x74
    ) {
      p = s + 5;
    } else if (c0 === 0x69 /* i */ && buf[s + 1] === 0x64) {
      p = s + 2;
    } else if (
      c0 === 0x72 /* r */ &&
      buf[s + 1] === 0x65 &&
      buf[s + 2] === 0x74 &&
      buf[s + 3] === 0x72 &&
      buf[s + 4] === 0x79
    ) {
      p = s + 5;
    } else {
      return; // unknown field
    }
    if (p > e) return; // the name's bytes ran past the line end (read from a later line)
    const nameEnd = p;
    if (p < e) {
      if (buf[p] !== COLON) return; // a longer, unknown name such as `datum`
      p++;
      if (p < e && buf[p] === SPACE) p++;
    }
    const value = p === e ? '' : buf.toString('utf8', p, e);
    switch (nameEnd - s) {
      case 4: // data
        this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
        break;
      case 5:
        if (c0 === 0x65) this.#event = value;
        else if (/^[0-9]+$/.test(value)) this.#retry = Number(value);
        break;
      default: // id
        if (!value.includes('\0')) this.#lastId = value;
    }
  }

  #dispatch(out: SseEvent[]): void {
    const data = this.#data;
    if (data !== undefined) {
      const ev: SseEvent = { event: this.#event || undefined, data };
      if (this.#lastId !== '') ev.id = this.#lastId;
      if (this.#retry !== undefined) ev.retry = this.#retry;
      out.push(ev);
    }
    this.#event = undefined;
    this.#data = undefined;
    this.#retry = undefined;
    this.#inEvent = false;
  }
}
