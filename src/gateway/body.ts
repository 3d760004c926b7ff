/**
 * Request bodies: read with a size bound, checked for shape in one pass over
 * the bytes, then parsed once.
 *
 * The gateway reads a body only after the client is authenticated (see
 * server.ts), and never more than the route's limit: a declared
 * `content-length` over the limit is refused before a byte is read, a chunked
 * body is refused as soon as it passes the limit.
 *
 * `checkJsonShape` walks the bytes once (strings are skipped with `indexOf`,
 * so text costs next to nothing) before `JSON.parse` runs:
 * - nesting deeper than `maxDepth` → 400 `json_too_deep`. `JSON.parse` itself
 *   copes with any depth, but 15 million levels of `[` cost it seconds and a
 *   gigabyte; the scan refuses them in microseconds, and every later walker
 *   over the parsed body can rely on the bound.
 * - a top-level key given twice → 400 `duplicate_key`. `JSON.parse` keeps the
 *   last one while a byte-level rewrite or the upstream may read the first:
 *   one body must mean one request.
 */
import type { IncomingMessage } from 'node:http';
import { GantryError } from '../errors.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COLON = 0x3a;

/** Index of the quote that closes the string opened at `open`, or -1. */
function stringEnd(buf: Buffer, open: number): number {
  let j = open;
  for (;;) {
    j = buf.indexOf(QUOTE, j + 1);
    if (j < 0) return -1;
    let k = j - 1;
    let backslashes = 0;
    while (buf[k] === BACKSLASH) {
      backslashes++;
      k--;
    }
    if ((backslashes & 1) === 0) return j;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Checks nesting depth and top-level key uniqueness of a JSON text without
 * parsing it. Malformed JSON is left for `JSON.parse` to report.
 */
function checkJsonShape(buf: Buffer, maxDepth: number): void {
  let depth = 0;
  let topLevelObject = false;
  let keys: Set<string> | undefined;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const end = stringEnd(buf, i);
      if (end < 0) return; // unterminated: JSON.parse says so
      if (depth === 1 && topLevelObject) {
        let k = end + 1;
        while (k < n && isSpace(buf[k])) k++;
        if (buf[k] === COLON) {
          const raw = buf.toString('utf8', i + 1, end);
          let key = raw;
          if (raw.includes('\\')) {
            try {
              key = JSON.parse(`"${raw}"`) as string;
            } catch {
              return; // a bad escape: JSON.parse says so
            }
          }
          keys ??= new Set();
          if (keys.has(key)) {
            throw new GantryError(
              'duplicate_key',
              `The request body gives the top-level key "${key.slice(0, 64)}" more than once; send each key once.`,
            );
          }
          keys.add(key);
        }
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === 0) topLevelObject = c === OPEN_OBJECT;
      if (++depth > maxDepth) {
        throw new GantryError(
          'json_too_deep',
          `The request body nests deeper than ${maxDepth} levels (server.max_json_depth).`,
        );
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
}

/** Parses a checked JSON body; the parser's message (which quotes the body) never leaves. */
export function parseJson(buf: Buffer, maxDepth: number): unknown {
  checkJsonShape(buf, maxDepth);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new GantryError('invalid_json', 'The request body is not valid JSON.', { cause: err });
  }
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The declared body length: a number, `undefined` when chunked, `NaN` when malformed. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return req.headers['transfer-encoding'] === undefined ? 0 : undefined;
  return /^\d+$/.test(header) ? Number(header) : Number.NaN;
}

function tooLarge(limit: number): GantryError {
  return new GantryError(
    'body_too_large',
    `The request body is larger than this route accepts (${limit} bytes).`,
  );
}

/**
 * Reads the whole body, at most `limit` bytes. A declared length over the
 * limit is refused before reading; a body that passes it while arriving is
 * refused at once (the caller closes the connection: the rest is never read).
 */
export async function readBody(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<Buffer> {
  const declared = declaredLength(req);
  if (Number.isNaN(declared)) {
    throw new GantryError('invalid_body', 'The request has a malformed content-length.');
  }
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  if (declared === 0 || req.readableEnded) return EMPTY;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof GantryError) throw err;
    if (signal.aborted)
      throw new GantryError('invalid_body', 'The client closed the request while sending it.');
    throw new GantryError('invalid_body', 'The request body could not be read.', { cause: err });
  }
  if (!req.complete) {
    throw new GantryError('invalid_body', 'The client closed the request while sending it.');
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

const EMPTY = Buffer.alloc(0);
