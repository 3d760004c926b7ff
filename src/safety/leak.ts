/**
 * `leak.system_prompt`: output that reproduces a long span of the request's
 * own system prompt.
 *
 * Both sides are normalised (lower case, every run of whitespace one space)
 * and any span of at least `minChars` normalised characters of the output that
 * also occurs in the normalised system prompt is a candidate; overlapping
 * windows merge into one span. Built per request (the system prompt is part of
 * the request); the set of windows is built once and shared by the stream
 * scanner's calls.
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

/** A detector for this system prompt, or undefined when it is shorter than `minChars`. */
export function systemPromptLeakDetector(system: string, minChars: number): Detector | undefined {
  const prompt = normalise(system).text.slice(0, MAX_PROMPT);
  if (prompt.length < minChars) return undefined;
  const windows = new Set<string>();
  for (let i = 0; i + minChars <= prompt.length; i++) windows.add(prompt.slice(i, i + minChars));
  return {
    rule: 'leak.system_prompt',
    kind: 'leak',
    label: 'system_prompt',
    find(text, from): Candidate[] {
      const n = normalise(text, from);
      const out: Candidate[] = [];
      let runStart = -1;
      let runEnd = -1;
      for (let i = 0; i + minChars <= n.text.length; i++) {
        if (!windows.has(n.text.slice(i, i + minChars))) continue;
        if (runStart >= 0 && i <= runEnd) {
          runEnd = i + minChars;
        } else {
          if (runStart >= 0) out.push(span(n, runStart, runEnd));
          runStart = i;
          runEnd = i + minChars;
        }
      }
      if (runStart >= 0) out.push(span(n, runStart, runEnd));
      return out;
    },
    open(text, from) {
      // The longest tail of the text (shorter than a window) that occurs in the prompt could be a leak in progress.
      const tail = normalise(text, Math.max(from, text.length - minChars * 2));
      for (let len = Math.min(minChars - 1, tail.text.length); len >= 12; len--) {
        if (prompt.includes(tail.text.slice(tail.text.length - len))) return tail.map[tail.text.length - len];
      }
      return -1;
    },
  };
}

function span(n: Normalised, s: number, e: number): Candidate {
  // A span never starts or ends with whitespace.
  if (n.text[s] === ' ') s++;
  if (n.text[e - 1] === ' ') e--;
  return { start: n.map[s], end: n.map[e - 1] + 1, valid: true };
}
