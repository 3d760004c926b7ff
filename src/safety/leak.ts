/**
 * `leak.system_prompt`: output that reproduces a long span of the request's
 * own system prompt.
 *
 * Both sides are normalised (lower case, every run of whitespace one space)
 * and any span of at least `minChars` normalised characters of the output that
 * also occurs in the normalised system prompt is a candidate; overlapping
 * windows merge into one span. The system prompt comes with each request; the
 * detector for a prompt is built once and cached (apps repeat their prompts).
 *
 * @example
 *   const d = systemPromptLeakDetector(system, 80);
 *   d?.find(outputText, 0) // [{ start, end, valid: true }] where the output repeats the prompt
 */
import type { Candidate, Detector } from './detectors.ts';

/** Longest system prompt (normalised characters) indexed; beyond it only the head is compared. */
const MAX_PROMPT = 100_000;

interface Normalised {
  text: string;
  /** For each normalised character, the index of its source character. */
  map: number[];
}

function normalise(s: string, from = 0): Normalised {
  let text = '';
  const map: number[] = [];
  let space = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      if (!space && text.length > 0) {
        text += ' ';
        map.push(i);
      }
      space = true;
      continue;
    }
    space = false;
    text += c.toLowerCase();
    map.push(i);
  }
  return { text, map };
}

/** The text of `system` (a string or an array of text blocks). */
export function systemText(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  const parts: string[] = [];
  for (const b of system) {
    if (b && typeof b === 'object' && typeof (b as { text?: unknown }).text === 'string') {
      parts.push((b as { text: string }).text);
    }
  }
  return parts.join('\n');
}

/** Polynomial rolling hash of `k` characters (mod 2^32). */
const BASE = 0x01000193;

function powBase(k: number): number {
  let p = 1;
  for (let i = 0; i < k - 1; i++) p = Math.imul(p, BASE) >>> 0;
  return p;
}

/** Calls `fn(start, hash)` for every window of `k` characters of `s`. */
function rolling(s: string, k: number, fn: (start: number, hash: number) => void): void {
  if (s.length < k) return;
  const top = powBase(k);
  let h = 0;
  for (let i = 0; i < k; i++) h = (Math.imul(h, BASE) + s.charCodeAt(i)) >>> 0;
  fn(0, h);
  for (let i = k; i < s.length; i++) {
    h = (h - Math.imul(s.charCodeAt(i - k), top)) >>> 0;
    h = (Math.imul(h, BASE) + s.charCodeAt(i)) >>> 0;
    fn(i - k + 1, h);
  }
}

/** Detectors by system prompt: apps send the same prompt again and again. */
const cache = new Map<string, Detector | undefined>();
const CACHE_SIZE = 64;

/**
 * A detector for this system prompt, or undefined when it is shorter than
 * `minChars`. Windows are kept as 32-bit rolling hashes (a hit is confirmed
 * on the text), and detectors are cached for the last 64 prompts.
 */
export function systemPromptLeakDetector(system: string, minChars: number): Detector | undefined {
  const key = `${minChars}\0${system}`;
  if (cache.has(key)) {
    const d = cache.get(key);
    cache.delete(key);
    cache.set(key, d);
    return d;
  }
  const d = buildDetector(system, minChars);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, d);
  return d;
}

function buildDetector(system: string, minChars: number): Detector | undefined {
  const prompt = normalise(system).text.slice(0, MAX_PROMPT);
  if (prompt.length < minChars) return undefined;
  const windows = new Set<number>();
  rolling(prompt, minChars, (_i, h) => windows.add(h));
  return {
    rule: 'leak.system_prompt',
    kind: 'leak',
    label: 'system_prompt',
    find(text, from): Candidate[] {
      const n = normalise(text, from);
      const out: Candidate[] = [];
      let runStart = -1;
      let runEnd = -1;
      rolling(n.text, minChars, (i, h) => {
        if (!windows.has(h) || !prompt.includes(n.text.slice(i, i + minChars))) return;
        if (runStart >= 0 && i < runEnd) {
          runEnd = i + minChars;
        } else {
          if (runStart >= 0) out.push(span(n, runStart, runEnd));
          runStart = i;
          runEnd = i + minChars;
        }
      });
      if (runStart >= 0) out.push(span(n, runStart, runEnd));
      return out;
    },
    open(text, from) {
      // The longest tail of the text (shorter than a window) that occurs in the prompt could be a leak
      // in progress. Containment is monotone in the tail's length, so: one check, then a binary search.
      const tail = normalise(text, Math.max(from, text.length - minChars * 2));
      const max = Math.min(minChars - 1, tail.text.length);
      const has = (len: number) => prompt.includes(tail.text.slice(tail.text.length - len));
      if (max < 12 || !has(12)) return -1;
      let lo = 12;
      let hi = max;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (has(mid)) lo = mid;
        else hi = mid - 1;
      }
      return tail.map[tail.text.length - lo];
    },
  };
}

function span(n: Normalised, s: number, e: number): Candidate {
  // A span never starts or ends with whitespace.
  if (n.text[s] === ' ') s++;
  if (n.text[e - 1] === ' ') e--;
  return { start: n.map[s], end: n.map[e - 1] + 1, valid: true };
}
