/**
 * A minimal rewrite of one top-level string member of a JSON object, used to
 * send a fallback model: only the bytes of the value of `"model"` change, the
 * rest of the client's body goes out exactly as it came (field order, spacing,
 * numbers, unknown fields). See docs/resilience.md ("Decisions").
 */

/**
 * Returns `raw` with the value of top-level key `key` replaced by the JSON
 * string `value`, or undefined when `raw` is not an object with a string
 * member `key` at the top level.
 *
 * @example rewriteTopLevelString(Buffer.from('{"model":"a","x":{"model":"b"}}'), 'model', 'c')
 * // '{"model":"c","x":{"model":"b"}}'
 */
export function rewriteTopLevelString(raw: Buffer, key: string, value: string): Buffer | undefined {
  const text = raw.toString('utf8');
  let depth = 0;
  let i = 0;
  const n = text.length;
  // Scan strings; at depth 1 a string followed by ':' is a key.
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      i = skipString(text, i);
      if (i < 0) return undefined;
      if (depth === 1) {
        let j = i;
        while (j < n && /\s/.test(text[j])) j++;
        if (text[j] === ':') {
          let name: string;
          try {
            name = JSON.parse(text.slice(start, i)) as string;
          } catch {
            return undefined;
          }
          j++;
          while (j < n && /\s/.test(text[j])) j++;
          if (name === key) {
            if (text[j] !== '"') return undefined;
            const end = skipString(text, j);
            if (end < 0) return undefined;
            return Buffer.from(text.slice(0, j) + JSON.stringify(value) + text.slice(end), 'utf8');
          }
          i = j;
        }
      }
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return undefined;
}

/** Index just after the closing quote of the string starting at `i`, or -1. */
function skipString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === '\\') j += 2;
    else if (c === '"') return j + 1;
    else j++;
  }
  return -1;
}
