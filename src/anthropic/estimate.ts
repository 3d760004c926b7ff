/**
 * Output tokens of a stream that ended without its final usage.
 *
 * The API reports a stream's output tokens in the last `message_delta`; a
 * stream the client aborted, that was cut, or that ended with an `error`
 * event never gets there, and `message_start` says only 1. `OutputEstimate`
 * counts what was relayed instead, under the same rule as
 * `anthropic/tokens.ts` (the simulator's own count), block by block:
 *
 * - text and thinking deltas: the word rule of `estimateTextTokens`, kept
 *   incrementally across deltas (a word split over two deltas counts once);
 * - tool input (`input_json_delta`): 4 characters of JSON a token, plus the
 *   tool name's tokens (from `content_block_start`), as `estimateJsonTokens`;
 * - redacted thinking: 8 characters of its data a token.
 *
 * Thinking sent with `display: "omitted"` (signature only) is billed but never
 * seen, so it cannot be counted: an estimate is then a lower bound.
 *
 * Cost: delta payloads are not JSON-parsed. The string value is found by its
 * key and scanned once, escapes decoded on the fly, with no allocation; only
 * `content_block_start` (once per block) is parsed. Memory: a few numbers.
 *
 * @example
 *   const est = new OutputEstimate();
 *   est.event('content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello there"}}');
 *   est.tokens; // 3
 */
import { estimateTextTokens } from './tokens.ts';

export class OutputEstimate {
  /** Tokens of finished words and finished JSON blocks, all blocks so far. */
  #done = 0;
  /** Units (ASCII 1, other 4) of the word being read in the current text or thinking block. */
  #units = 0;
  /** Characters of tool input JSON in the current block. */
  #json = 0;
  /** Tokens of thinking (finished words), for `thinkingTokens`. */
  #thinkingDone = 0;
  #inThinking = false;

  /** Estimated output tokens so far (the word being read counts as finished). */
  get tokens(): number {
    return this.#done + ((this.#units + 3) >> 2) + ((this.#json + 3) >> 2);
  }

  /** Estimated thinking tokens so far (part of `tokens`). */
  get thinkingTokens(): number {
    return this.#thinkingDone + (this.#inThinking ? (this.#units + 3) >> 2 : 0);
  }

  /** Feeds one SSE event by name; events other than content blocks are ignored. */
  event(name: string, data: string): void {
    if (name === 'content_block_delta') this.#delta(data);
    else if (name === 'content_block_start') this.#start(data);
    else if (name === 'content_block_stop') this.#endBlock();
  }

  #endBlock(): void {
    const word = (this.#units + 3) >> 2;
    this.#done += word + ((this.#json + 3) >> 2);
    if (this.#inThinking) this.#thinkingDone += word;
    this.#units = 0;
    this.#json = 0;
    this.#inThinking = false;
  }

  #start(data: string): void {
    // A block start also ends a block whose stop never came.
    this.#endBlock();
    let block: { type?: unknown; name?: unknown; data?: unknown } | undefined;
    try {
      block = (JSON.parse(data) as { content_block?: typeof block }).content_block;
    } catch {
      return;
    }
    if (typeof block !== 'object' || block === null) return;
    if (block.type === 'tool_use' || block.type === 'server_tool_use') {
      if (typeof block.name === 'string') this.#done += estimateTextTokens(block.name);
    } else if (block.type === 'redacted_thinking') {
      if (typeof block.data === 'string') this.#done += Math.ceil(block.data.length / 8);
    } else if (block.type === 'thinking') {
      this.#inThinking = true;
    }
  }

  #delta(data: string): void {
    // Where the delta's type starts: the API's own layout is checked character by character
    // (`{"type":"content_block_delta","index":N,"delta":{"type":"`), any other layout is
    // searched for. Quotes inside JSON strings are escaped, so `"delta":` + `"type":"` can
    // only be the delta's own type.
    let kind = canonicalKindAt(data);
    if (kind < 0) {
      const d = data.indexOf('"delta":');
      const t = d < 0 ? -1 : data.indexOf('"type":"', d + 8);
      if (t < 0) return;
      kind = t + 8;
    }
    let at: number;
    if (matches(data, kind, 'text_delta"')) at = valueStart(data, kind + 11, '"text":');
    else if (matches(data, kind, 'input_json_delta"')) {
      at = valueStart(data, kind + 17, '"partial_json":');
      if (at >= 0) this.#json += scanString(data, at, undefined);
      return;
    } else if (matches(data, kind, 'thinking_delta"')) {
      this.#inThinking = true;
      at = valueStart(data, kind + 15, '"thinking":');
    } else return; // signature_delta, citations_delta, unknown deltas: no output text
    if (at < 0) return;
    words.tokens = 0;
    words.units = this.#units;
    scanString(data, at, words);
    this.#done += words.tokens;
    if (this.#inThinking) this.#thinkingDone += words.tokens;
    this.#units = words.units;
  }
}

/**
 * Word-rule state across deltas: tokens of the words finished during one scan, and
 * the units of the word still open. One module-level instance: scans are synchronous.
 */
export interface WordCount {
  tokens: number;
  units: number;
}
const words: WordCount = { tokens: 0, units: 0 };

const PREFIX = '{"type":"content_block_delta","index":';
const DELTA = ',"delta":{"type":"';

/** `literal` occurs in `data` at `at` (compared code unit by code unit: no builtin call). */
function matches(data: string, at: number, literal: string): boolean {
  if (at + literal.length > data.length) return false;
  for (let i = 0; i < literal.length; i++)
    if (data.charCodeAt(at + i) !== literal.charCodeAt(i)) return false;
  return true;
}

/**
 * Where the delta's type starts when `data` has the API's layout, else -1. The prefix
 * is only spot-checked (its `:` and the `c` of `content_block_delta`); what follows the
 * index must then read `,"delta":{"type":"`, which only the delta's own type can.
 */
function canonicalKindAt(data: string): number {
  if (data.charCodeAt(PREFIX.length - 1) !== 58 || data.charCodeAt(9) !== 99) return -1;
  let i = PREFIX.length;
  while (i < data.length && data.charCodeAt(i) >= 48 && data.charCodeAt(i) <= 57) i++;
  return matches(data, i, DELTA) ? i + DELTA.length : -1;
}

/**
 * Index just after the opening quote of the string value of `key` (`"text":`): right
 * after the type (`","text":"`, the API's layout), else searched for from `from`; -1 if none.
 */
function valueStart(data: string, from: number, key: string): number {
  if (data.charCodeAt(from) === 44 && matches(data, from + 1, key)) {
    const v = from + 1 + key.length;
    if (data.charCodeAt(v) === 34) return v + 1;
  }
  const k = data.indexOf(key);
  if (k < 0) return -1;
  let i = k + key.length;
  while (i < data.length && data.charCodeAt(i) === 32) i++;
  return data.charCodeAt(i) === 34 ? i + 1 : -1;
}

/**
 * Scans a JSON string body from `from` (just after its opening quote) to its closing
 * quote, decoding escapes as it goes, and returns the number of decoded UTF-16 code
 * units. With `count`, the decoded text is also counted under the word rule of
 * `estimateTextTokens`: `count.units` is the open word carried in (and out), and
 * `count.tokens` grows by the tokens of each word finished. One loop, no allocation,
 * no call per character.
 */
export function scanString(data: string, from: number, count: WordCount | undefined): number {
  let n = 0;
  let units = count?.units ?? 0;
  let tokens = 0;
  for (let i = from; i < data.length; i++) {
    let c = data.charCodeAt(i);
    if (c === 34) break; // the closing quote
    if (c === 92) {
      const e = data.charCodeAt(++i);
      if (e === 110) c = 10;
      else if (e === 116) c = 9;
      else if (e === 114) c = 13;
      else if (e === 98) c = 8;
      else if (e === 102) c = 12;
      else if (e === 117) {
        c = Number.parseInt(data.slice(i + 1, i + 5), 16);
        i += 4;
        if (Number.isNaN(c)) c = 63;
      } else c = e; // \" \\ \/
    }
    n++;
    if (count === undefined) continue;
    if (isSpace(c)) {
      tokens += (units + 3) >> 2;
      units = 0;
    } else units += c < 128 ? 1 : 4;
  }
  if (count !== undefined) {
    count.units = units;
    count.tokens += tokens;
  }
  return n;
}

/** Same whitespace set as `anthropic/tokens.ts`. */
const isSpace = (c: number): boolean =>
  c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x2028 || c === 0x2029 || c === 0x3000;
