/**
 * Deterministic, cheap token estimates for text and Messages request bodies.
 *
 * Not a tokenizer: a fixed rule that is close enough to plan budgets, emulate
 * the API in the simulator and account prompt-cache prefixes. Same input, same
 * number, always (no model dependence, no randomness).
 *
 * Rule for text: every maximal run of non-whitespace characters (a "word") costs
 * ceil(units / 4) tokens, where an ASCII character is 1 unit and any other UTF-16
 * code unit is 4 units (so CJK text is about one token per character);
 * whitespace is free. Structural costs: each message +4 (role markers), a system
 * prompt +3, each tool +8 plus its name, description and JSON schema (4 chars a
 * token); images a fixed 1,600; PDFs 1,500 per started 100 KB; tool_use /
 * tool_result blocks +3 around their content.
 *
 * @example
 *   estimateTextTokens('Hello, world!')                 // 4
 *   estimateRequestTokens({ messages: [{ role: 'user', content: 'Hello' }] }).total  // 6
 */

export const MESSAGE_OVERHEAD_TOKENS = 4;
export const SYSTEM_OVERHEAD_TOKENS = 3;
const TOOL_OVERHEAD_TOKENS = 8;
const BLOCK_WRAPPER_TOKENS = 3;
export const IMAGE_TOKENS = 1600;
const PDF_TOKENS_PER_100KB = 1500;

/** Tokens of a text under the word rule (see the module comment). */
export function estimateTextTokens(text: string): number {
  let tokens = 0;
  let units = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      if (units > 0) {
        tokens += (units + 3) >> 2;
        units = 0;
      }
    } else {
      units += c < 128 ? 1 : 4;
    }
  }
  if (units > 0) tokens += (units + 3) >> 2;
  return tokens;
}

/** Tokens of arbitrary JSON-ish data: 4 characters of its JSON a token (cache_control left out). */
export function estimateJsonTokens(value: unknown): number {
  if (value === undefined) return 0;
  const s = JSON.stringify(value, omitCacheControl);
  return s === undefined ? 0 : Math.ceil(s.length / 4);
}

function omitCacheControl(key: string, v: unknown): unknown {
  return key === 'cache_control' ? undefined : v;
}

/**
 * The longest prefix of `text` that costs at most `maxTokens` under the word
 * rule: whole words while they fit, then as much of the next word as fits.
 */
export function truncateToTokens(
  text: string,
  maxTokens: number,
): { text: string; tokens: number; truncated: boolean } {
  if (maxTokens <= 0)
    return { text: '', tokens: 0, truncated: text.length > 0 && estimateTextTokens(text) > 0 };
  let tokens = 0;
  let units = 0;
  let wordStart = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      if (units > 0) {
        tokens += (units + 3) >> 2;
        units = 0;
      }
      wordStart = -1;
      continue;
    }
    if (wordStart < 0) wordStart = i;
    units += c < 128 ? 1 : 4;
    if (tokens + ((units + 3) >> 2) > maxTokens) {
      // This character does not fit: cut before it (never inside a surrogate pair).
      let cut = i;
      if (cut > 0 && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
      // Nothing of this word fits: end at the previous word, without the whitespace between.
      if (cut === wordStart) while (cut > 0 && isSpace(text.charCodeAt(cut - 1))) cut--;
      const head = text.slice(0, cut);
      return { text: head, tokens: estimateTextTokens(head), truncated: true };
    }
  }
  if (units > 0) tokens += (units + 3) >> 2;
  return { text, tokens, truncated: false };
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
/** Space, \t \n \v \f \r, NBSP and the common Unicode line/ideographic spaces. */
const isSpace = (c: number): boolean =>
  c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x2028 || c === 0x2029 || c === 0x3000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Tokens of one request content block (text, image, document, tool_use, tool_result, thinking, ...). */
export function estimateBlockTokens(block: unknown): number {
  if (typeof block === 'string') return estimateTextTokens(block);
  if (!isObj(block)) return 0;
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? estimateTextTokens(block.text) : 0;
    case 'image':
      return IMAGE_TOKENS;
    case 'document':
      return documentTokens(block);
    case 'tool_use':
    case 'server_tool_use':
      return (
        BLOCK_WRAPPER_TOKENS +
        (typeof block.name === 'string' ? estimateTextTokens(block.name) : 0) +
        estimateJsonTokens(block.input ?? {})
      );
    case 'tool_result':
      return BLOCK_WRAPPER_TOKENS + contentTokens(block.content);
    case 'thinking':
      return typeof block.thinking === 'string' ? estimateTextTokens(block.thinking) : 0;
    case 'redacted_thinking':
      return typeof block.data === 'string' ? Math.ceil(block.data.length / 8) : 0;
    case 'search_result':
      return (
        BLOCK_WRAPPER_TOKENS +
        (typeof block.title === 'string' ? estimateTextTokens(block.title) : 0) +
        (typeof block.source === 'string' ? estimateTextTokens(block.source) : 0) +
        contentTokens(block.content)
      );
    default:
      return estimateJsonTokens(block);
  }
}

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return estimateTextTokens(content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const b of content) n += estimateBlockTokens(b);
  return n;
}

function documentTokens(block: Obj): number {
  let n = BLOCK_WRAPPER_TOKENS;
  if (typeof block.title === 'string') n += estimateTextTokens(block.title);
  if (typeof block.context === 'string') n += estimateTextTokens(block.context);
  const src = block.source;
  if (!isObj(src)) return n;
  if (src.type === 'text' && typeof src.data === 'string') return n + estimateTextTokens(src.data);
  if (src.type === 'content') return n + contentTokens(src.content);
  if (src.type === 'base64' && typeof src.data === 'string') {
    const bytes = Math.floor((src.data.length * 3) / 4);
    return n + PDF_TOKENS_PER_100KB * Math.max(1, Math.ceil(bytes / 100_000));
  }
  return n + PDF_TOKENS_PER_100KB;
}

/** Tokens of one tool definition (custom or server tool), cache_control excluded. */
function estimateToolTokens(tool: unknown): number {
  if (!isObj(tool)) return 0;
  if (tool.input_schema !== undefined) {
    return (
      TOOL_OVERHEAD_TOKENS +
      (typeof tool.name === 'string' ? estimateTextTokens(tool.name) : 0) +
      (typeof tool.description === 'string' ? estimateTextTokens(tool.description) : 0) +
      estimateJsonTokens(tool.input_schema)
    );
  }
  return TOOL_OVERHEAD_TOKENS + estimateJsonTokens(tool);
}

export type Section = 'tools' | 'system' | 'messages';

/** One cacheable position of a request, in prompt order tools → system → messages. */
export interface TokenBlock {
  section: Section;
  /** Tool index, system block index, or message index. */
  index: number;
  /** Block index inside the message's content (0 for string content); 0 for tools and system. */
  block: number;
  /** Role of the message (messages only). */
  role?: string;
  /** The tool, system block or content block as sent (a string for string content). */
  value: unknown;
  /** Its `cache_control`, when it carries one. */
  cacheControl?: unknown;
  /** Tokens of this position, structural overhead included (message/system overhead on its first block). */
  tokens: number;
  /** Tokens of every position up to and including this one. */
  cumulative: number;
}

export interface RequestTokenEstimate {
  system: number;
  tools: number;
  messages: number;
  total: number;
  /** Number of blocks that carry `cache_control` (the top-level one not included). */
  cacheControlBlocks: number;
}

type Visit = (
  section: Section,
  index: number,
  block: number,
  value: unknown,
  tokens: number,
  role?: string,
) => void;

/** Walks the request in prompt order and reports each position with its tokens. */
function walk(body: Obj, visit: Visit): void {
  const tools = body.tools;
  if (Array.isArray(tools)) {
    for (let i = 0; i < tools.length; i++) visit('tools', i, 0, tools[i], estimateToolTokens(tools[i]));
  }
  const system = body.system;
  if (typeof system === 'string') {
    if (system.length > 0) visit('system', 0, 0, system, SYSTEM_OVERHEAD_TOKENS + estimateTextTokens(system));
  } else if (Array.isArray(system)) {
    for (let i = 0; i < system.length; i++) {
      visit(
        'system',
        i,
        0,
        system[i],
        (i === 0 ? SYSTEM_OVERHEAD_TOKENS : 0) + estimateBlockTokens(system[i]),
      );
    }
  }
  const messages = body.messages;
  if (!Array.isArray(messages)) return;
  for (let m = 0; m < messages.length; m++) {
    const msg = messages[m];
    if (!isObj(msg)) continue;
    const role = typeof msg.role === 'string' ? msg.role : undefined;
    const content = msg.content;
    if (typeof content === 'string') {
      visit('messages', m, 0, content, MESSAGE_OVERHEAD_TOKENS + estimateTextTokens(content), role);
    } else if (Array.isArray(content)) {
      if (content.length === 0) {
        visit('messages', m, 0, '', MESSAGE_OVERHEAD_TOKENS, role);
        continue;
      }
      for (let b = 0; b < content.length; b++) {
        visit(
          'messages',
          m,
          b,
          content[b],
          (b === 0 ? MESSAGE_OVERHEAD_TOKENS : 0) + estimateBlockTokens(content[b]),
          role,
        );
      }
    } else {
      visit('messages', m, 0, '', MESSAGE_OVERHEAD_TOKENS, role);
    }
  }
}

/**
 * Input tokens of a Messages (or count_tokens) request body, by section.
 * `total` is at least 1. Fields other than tools, system and messages are ignored.
 */
export function estimateRequestTokens(body: unknown): RequestTokenEstimate {
  const out: RequestTokenEstimate = { system: 0, tools: 0, messages: 0, total: 0, cacheControlBlocks: 0 };
  if (!isObj(body)) return { ...out, total: 1 };
  walk(body, (section, _i, _b, value, tokens) => {
    out[section] += tokens;
    if (isObj(value) && value.cache_control != null) out.cacheControlBlocks++;
  });
  out.total = Math.max(1, out.tools + out.system + out.messages);
  return out;
}

/**
 * Every position of the request with its tokens and cumulative tokens, in order
 * tools → system → messages: what prompt-cache prefix accounting needs. The last
 * `cumulative` equals `estimateRequestTokens(body).total` (unless the body is empty).
 */
export function requestTokenBlocks(body: unknown): TokenBlock[] {
  const out: TokenBlock[] = [];
  if (!isObj(body)) return out;
  let cumulative = 0;
  walk(body, (section, index, block, value, tokens, role) => {
    cumulative += tokens;
    const tb: TokenBlock = { section, index, block, value, tokens, cumulative };
    if (role !== undefined) tb.role = role;
    if (isObj(value) && value.cache_control != null) tb.cacheControl = value.cache_control;
    out.push(tb);
  });
  return out;
}
