/**
 * Deterministic replies: what the simulated model "says".
 *
 * Order of precedence: a scripted response (control API) → forced tool use
 * (`tool_choice` `tool` / `any`) → JSON for a structured-output request
 * (`output_config.format`, structured.ts) → echo of the last user text (or seeded lorem
 * when that text is empty or lorem mode is on). A thinking block comes first
 * when `thinking` is `enabled` / `adaptive`. The reply is bounded by
 * `max_tokens` under the token estimate of `anthropic/tokens.ts` and cut at
 * the earliest stop sequence.
 */
import { createHash } from 'node:crypto';
import { newId } from '../anthropic/ids.ts';
import { estimateJsonTokens, estimateTextTokens, truncateToTokens } from '../anthropic/tokens.ts';
import { hash32, lorem } from './random.ts';
import { outputSchemaOf, valueForSchema } from './structured.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export type ReplyBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

/** A scripted response (queued with `POST /_sim/script`). */
export interface ScriptedResponse {
  /** Reply with one text block. */
  text?: string;
  /** Reply with these content blocks (`text`, `thinking`, `redacted_thinking`, `tool_use`; ids filled in). */
  content?: Obj[];
  /** Append a tool_use block; `input` defaults to one matching the tool's schema. */
  toolUse?: { name: string; input?: unknown };
  /** Reply with seeded lorem of this many words. */
  lorem?: number;
  stopReason?: string;
  stopSequence?: string | null;
  /** `stop_details` for refusals. */
  stopDetails?: Obj | null;
  /** Fields merged over the computed usage. */
  usage?: Obj;
  /** Characters per delta when streaming. */
  chunkSize?: number;
  /** Delay before each delta when streaming (overrides the per-chunk latency). */
  chunkDelayMs?: number;
  /** Answer with this HTTP status and `error` instead of a message (status >= 400). */
  status?: number;
  error?: { type?: string; message?: string; details?: Obj | null };
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** How many requests this entry answers (default 1). */
  times?: number;
}

export interface ReplyOptions {
  seed: number;
  mode: 'echo' | 'lorem';
  loremWords: number;
  script?: ScriptedResponse;
}

export interface Reply {
  content: ReplyBlock[];
  stopReason: string;
  stopSequence: string | null;
  stopDetails: Obj | null;
  outputTokens: number;
  thinkingTokens: number;
}

/** Text of the last user turn (text blocks joined, else tool_result text). */
function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isObj(m) || m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (!Array.isArray(m.content)) return '';
    const texts: string[] = [];
    const results: string[] = [];
    for (const b of m.content) {
      if (!isObj(b)) continue;
      if (b.type === 'text' && typeof b.text === 'string') texts.push(b.text);
      else if (b.type === 'tool_result') {
        if (typeof b.content === 'string') results.push(b.content);
        else if (Array.isArray(b.content)) {
          for (const c of b.content)
            if (isObj(c) && c.type === 'text' && typeof c.text === 'string') results.push(c.text);
        }
      }
    }
    return texts.length ? texts.join('\n') : results.join('\n');
  }
  return '';
}

/** A value matching a JSON schema's required keys, deterministically (const, default, enum[0], typed placeholder). */
function exampleFromSchema(schema: unknown, key = 'value', depth = 0): unknown {
  if (!isObj(schema) || depth > 8) return `${key}_value`;
  if ('const' in schema) return schema.const;
  if ('default' in schema) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const alt = (schema.anyOf ?? schema.oneOf) as unknown;
  if (Array.isArray(alt) && alt.length) return exampleFromSchema(alt[0], key, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Obj = {};
      const props = isObj(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const k of required) if (typeof k === 'string') out[k] = exampleFromSchema(props[k], k, depth + 1);
      return out;
    }
    case 'array': {
      const n = typeof schema.minItems === 'number' ? Math.min(schema.minItems, 3) : 0;
      return Array.from({ length: n }, () => exampleFromSchema(schema.items, key, depth + 1));
    }
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return `${key}_value`;
  }
}

function findTool(body: Obj, name?: string): Obj | undefined {
  if (!Array.isArray(body.tools)) return undefined;
  for (const t of body.tools) {
    if (!isObj(t)) continue;
    if (name === undefined ? t.input_schema !== undefined : t.name === name) return t;
  }
  return undefined;
}

function signatureFor(text: string, seed: number): string {
  const d = createHash('sha256').update(`${seed}:${text}`).digest('base64');
  return `Eq${d}${d.slice(0, 40)}`;
}

/** Planned blocks before budget and stop sequences. */
function plan(body: Obj, o: ReplyOptions): ReplyBlock[] {
  const s = o.script;
  const blocks: ReplyBlock[] = [];
  if (s && (s.content || s.text !== undefined || s.toolUse || s.lorem !== undefined)) {
    if (s.content) for (const b of s.content) blocks.push(normalizeScripted(b, body, o.seed));
    if (s.text !== undefined) blocks.push({ type: 'text', text: s.text });
    if (s.lorem !== undefined) blocks.push({ type: 'text', text: lorem(o.seed, s.lorem) });
    if (s.toolUse) blocks.push(toolUseBlock(body, s.toolUse.name, s.toolUse.input));
    return blocks;
  }
  const userText = lastUserText(body.messages);
  const th = isObj(body.thinking) ? body.thinking.type : undefined;
  if (th === 'enabled' || th === 'adaptive') {
    const omitted = isObj(body.thinking) && body.thinking.display === 'omitted';
    const thinking = `The user wrote ${estimateTextTokens(userText)} tokens. I will answer deterministically.`;
    blocks.push({
      type: 'thinking',
      thinking: omitted ? '' : thinking,
      signature: signatureFor(thinking, o.seed),
    });
  }
  const tc = isObj(body.tool_choice) ? body.tool_choice : undefined;
  if (tc && (tc.type === 'tool' || tc.type === 'any')) {
    const tool = findTool(body, tc.type === 'tool' ? (tc.name as string) : undefined);
    if (tool) {
      blocks.push(toolUseBlock(body, tool.name as string));
      return blocks;
    }
  }
  // Structured outputs: the reply is JSON that validates against the requested schema (structured.ts).
  const schema = outputSchemaOf(body);
  if (schema !== undefined) {
    blocks.push({ type: 'text', text: JSON.stringify(valueForSchema(schema)) });
    return blocks;
  }
  const text =
    o.mode === 'lorem' || userText.trim() === ''
      ? lorem((o.seed ^ hash32(userText)) >>> 0, o.loremWords)
      : userText;
  blocks.push({ type: 'text', text });
  return blocks;
}

function toolUseBlock(body: Obj, name: string, input?: unknown): ReplyBlock {
  const tool = findTool(body, name);
  return {
    type: 'tool_use',
    id: newId('toolu'),
    name,
    input: input !== undefined ? input : exampleFromSchema(tool?.input_schema ?? { type: 'object' }),
  };
}

function normalizeScripted(b: Obj, body: Obj, seed: number): ReplyBlock {
  switch (b.type) {
    case 'thinking': {
      const thinking = typeof b.thinking === 'string' ? b.thinking : '';
      return {
        type: 'thinking',
        thinking,
        signature: typeof b.signature === 'string' ? b.signature : signatureFor(thinking, seed),
      };
    }
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: typeof b.data === 'string' ? b.data : 'EmwKAhgB' };
    case 'tool_use': {
      const t = toolUseBlock(body, String(b.name ?? 'tool'), b.input);
      if (typeof b.id === 'string' && t.type === 'tool_use') t.id = b.id;
      return t;
    }
    default:
      return { type: 'text', text: typeof b.text === 'string' ? b.text : '' };
  }
}

export function blockOutputTokens(b: ReplyBlock): number {
  switch (b.type) {
    case 'text':
      return estimateTextTokens(b.text);
    case 'thinking':
      return estimateTextTokens(b.thinking);
    case 'redacted_thinking':
      return Math.ceil(b.data.length / 8);
    case 'tool_use':
      return estimateTextTokens(b.name) + estimateJsonTokens(b.input);
  }
}

/**
 * The reply to a (validated) Messages body. Deterministic for a given body,
 * options and script, except generated `toolu_` ids.
 */
export function generateReply(body: Obj, o: ReplyOptions): Reply {
  const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : 0;
  const stops = Array.isArray(body.stop_sequences)
    ? (body.stop_sequences as unknown[]).filter((s): s is string => typeof s === 'string' && s.length > 0)
    : [];
  const planned = maxTokens > 0 ? plan(body, o) : [];
  const content: ReplyBlock[] = [];
  let budget = maxTokens;
  let used = 0;
  let thinkingTokens = 0;
  let stopReason: string | null = null;
  let stopSequence: string | null = null;

  for (const block of planned) {
    if (block.type === 'text') {
      let text = block.text;
      let hit: string | null = null;
      if (stops.length) {
        let at = -1;
        for (const s of stops) {
          const i = text.indexOf(s);
          if (i >= 0 && (at < 0 || i < at)) {
            at = i;
            hit = s;
          }
        }
        if (at >= 0) text = text.slice(0, at);
      }
      const cut = truncateToTokens(text, budget);
      if (cut.text.length > 0) content.push({ type: 'text', text: cut.text });
      used += cut.tokens;
      budget -= cut.tokens;
      if (cut.truncated) {
        stopReason = 'max_tokens';
        break;
      }
      if (hit !== null) {
        stopReason = 'stop_sequence';
        stopSequence = hit;
        break;
      }
      continue;
    }
    if (block.type === 'thinking') {
      const counted = block.thinking === '' ? Math.min(budget, 16) : estimateTextTokens(block.thinking);
      if (counted > budget) {
        const cut = truncateToTokens(block.thinking, budget);
        content.push({ ...block, thinking: cut.text });
        used += cut.tokens;
        thinkingTokens += cut.tokens;
        budget = 0;
        stopReason = 'max_tokens';
        break;
      }
      content.push(block);
      used += counted;
      thinkingTokens += counted;
      budget -= counted;
      continue;
    }
    const t = blockOutputTokens(block);
    if (t > budget) {
      used += budget;
      budget = 0;
      stopReason = 'max_tokens';
      break;
    }
    content.push(block);
    used += t;
    budget -= t;
  }

  const s = o.script;
  if (stopReason === null) {
    if (s?.stopReason) {
      stopReason = s.stopReason;
      stopSequence = s.stopSequence ?? null;
    } else if (maxTokens === 0) stopReason = 'max_tokens';
    else stopReason = content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  }
  // Billing-authoritative output is never 0 for a generating request.
  const outputTokens = maxTokens > 0 ? Math.min(maxTokens, Math.max(1, used)) : 0;
  return {
    content,
    stopReason,
    stopSequence,
    stopDetails: s?.stopDetails ?? null,
    outputTokens,
    thinkingTokens,
  };
}
