/**
 * Minimal rewrite of a request body's top-level `model`: only the bytes of
 * that one string value change; every other byte (field order, spacing,
 * unknown fields) stays as the client sent it.
 */

/** Byte range of the top-level `"model"` string value (quotes included), or undefined. */
export function findTopLevelString(raw: string, field: string): [number, number] | undefined {
  let depth = 0;
  let i = 0;
  let expectKey = false;
  const n = raw.length;
  const readString = (start: number): number => {
    let j = start + 1;
    while (j < n) {
      const c = raw.charCodeAt(j);
      if (c === 0x5c) j += 2;
      else if (c === 0x22) return j + 1;
      else j++;
    }
    return -1;
  };
  while (i < n) {
    const c = raw[i];
    if (c === '{') {
      depth++;
      expectKey = depth === 1;
      i++;
    } else if (c === '[') {
      depth++;
      i++;
    } else if (c === '}' || c === ']') {
      depth--;
      i++;
    } else if (c === ',') {
      expectKey = depth === 1;
      i++;
    } else if (c === '"') {
      const end = readString(i);
      if (end < 0) return undefined;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(raw.slice(i, end)) as string;
        expectKey = false;
        if (key === field) {
          let j = end;
          while (j < n && /[\s:]/.test(raw[j])) j++;
          if (raw[j] !== '"') return undefined;
          const valueEnd = readString(j);
          return valueEnd < 0 ? undefined : [j, valueEnd];
        }
      }
      i = end;
    } else {
      i++;
    }
  }
  return undefined;
}

/** The body with its top-level `model` replaced; falls back to re-serialising when it cannot be found. */
export function rewriteModel(raw: Buffer, body: Record<string, unknown>, model: string): Buffer {
  const text = raw.toString('utf8');
  const range = findTopLevelString(text, 'model');
  if (!range) return Buffer.from(JSON.stringify({ ...body, model }));
  return Buffer.from(text.slice(0, range[0]) + JSON.stringify(model) + text.slice(range[1]));
}
