/**
 * Reading a Messages request for safety checks, without changing it: the
 * user's text (string content, text blocks), tool results (indirect input),
 * and counts of messages, images and documents.
 */
import { estimateBlockTokens, estimateTextTokens } from '../anthropic/tokens.ts';
import { GantryError } from '../errors.ts';
import type { InputLimits } from './config.ts';

export interface InputText {
  /** Where the text came from: `user` (a user turn's own text) or `tool_result` (indirect). */
  source: 'user' | 'tool_result';
  text: string;
}

export interface InputSummary {
  texts: InputText[];
  userChars: number;
  userTokens: number;
  messages: number;
  images: number;
  documents: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks `messages` once. Unknown block types are skipped (they still pass through). */
export function summarizeInput(body: Obj | undefined): InputSummary {
  const out: InputSummary = { texts: [], userChars: 0, userTokens: 0, messages: 0, images: 0, documents: 0 };
  const messages = body?.messages;
  if (!Array.isArray(messages)) return out;
  out.messages = messages.length;
  const addText = (source: InputText['source'], text: string) => {
    out.texts.push({ source, text });
    out.userChars += text.length;
  };
  const visit = (block: unknown, source: InputText['source'], user: boolean) => {
    if (!isObj(block)) return;
    switch (block.type) {
      case 'text':
        if (user && typeof block.text === 'string') addText(source, block.text);
        break;
      case 'image':
        out.images++;
        break;
      case 'document':
        out.documents++;
        if (
          user &&
          isObj(block.source) &&
          block.source.type === 'text' &&
          typeof block.source.data === 'string'
        ) {
          addText('tool_result', block.source.data);
        }
        break;
      case 'tool_result':
        if (typeof block.content === 'string') {
          if (user) addText('tool_result', block.content);
        } else if (Array.isArray(block.content)) {
          for (const b of block.content) visit(b, 'tool_result', user);
        }
        break;
    }
  };
  for (const msg of messages) {
    if (!isObj(msg)) continue;
    const user = msg.role === 'user';
    if (typeof msg.content === 'string') {
      if (user) {
        addText('user', msg.content);
        out.userTokens += estimateTextTokens(msg.content);
      }
      continue;
    }
    if (!Array.isArray(msg.content)) continue;
    for (const block of msg.content) {
      visit(block, 'user', user);
      if (user) out.userTokens += estimateBlockTokens(block);
    }
  }
  return out;
}

/** Throws `input_limit_exceeded` (400) naming the first limit the request exceeds. */
export function checkInputLimits(limits: InputLimits, s: InputSummary, bodyBytes: number): void {
  const checks: Array<[name: string, value: number, max: number | undefined, what: string]> = [
    ['max_body_bytes', bodyBytes, limits.maxBodyBytes, 'bytes of request body'],
    ['max_messages', s.messages, limits.maxMessages, 'messages'],
    ['max_chars', s.userChars, limits.maxChars, 'characters of user content'],
    ['max_tokens', s.userTokens, limits.maxTokens, 'estimated tokens of user content'],
    ['max_images', s.images, limits.maxImages, 'images'],
    ['max_documents', s.documents, limits.maxDocuments, 'documents'],
  ];
  for (const [name, value, max, what] of checks) {
    if (max !== undefined && value > max) {
      throw new GantryError(
        'input_limit_exceeded',
        `The request has ${value} ${what}; this client allows at most ${max} (safety.input_limits.${name}).`,
        { details: { limit: name, value, max } },
      );
    }
  }
}
