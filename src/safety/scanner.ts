/**
 * The hold-back text scanner: judges text that arrives in pieces (stream
 * deltas) exactly as it would judge the whole text at once.
 *
 * Contract:
 * - `push(delta)` appends text and returns the part that is now safe to
 *   release (redacted where a `redact` rule matched). Only text that could
 *   still become part of a `redact` or `block` match is held back: each
 *   detector's `pending` says where the end of the text might be the start of
 *   a match (`sk-a`, `AKIA…`, `-----BEG`, a digit run), so prose is released
 *   at once. Detectors without `pending` (the system-prompt leak detector)
 *   hold a fixed window of `holdBack` characters instead. An incomplete match
 *   that can grow (a private key block before its END line) is held until it
 *   completes, capped at `maxHold`.
 * - `flag` rules never hold text back: they only record findings, so they run
 *   on a second scanner, fed the original text this one releases (up to a
 *   blocking match), whose output is discarded. Their findings are the same
 *   for any split; their position in `findings` relative to redact findings
 *   follows when the text was released.
 * - `flush()` releases the rest (the end of a text block or stream).
 * - `findings` lists every match released so far; `blocked` is set when a
 *   `block` rule matched: the text before the match is released, the rest
 *   never is, and the caller ends the response with an error.
 *
 * Why the result does not depend on how the text was split: text is released
 * only up to a cut `c` such that (1) no candidate of any detector, valid or
 * not, starts before `c` and ends after it (or ends at the end of the text,
 * where it could still grow), (2) no possibly-incomplete match
 * (`Detector.open`) or possible match prefix (`Detector.pending`) starts
 * before `c`, and (3) for detectors without `pending`, at least `holdBack`
 * characters follow `c`, more than any bounded match is long. Every match that starts
 * before `c` is therefore complete and the same as in the whole text, and each
 * detector's left-to-right search restarts at `c` exactly where it would be in
 * the whole text. A fast-check property test (`scanner.test.ts`) checks this
 * for arbitrary splits. Only the `maxHold` cap can break it, for inputs that
 * keep an incomplete match open for more than `maxHold` characters.
 *
 * @example
 *   const s = new TextScanner([{ detector: awsKey, action: 'redact' }]);
 *   s.push('key AKIAIOSFOD') + s.push('NN7EXAMPLE.') + s.flush()
 *   // 'key [REDACTED:aws_access_key].'
 */
import type { Candidate, Detector } from './detectors.ts';

export type Action = 'flag' | 'redact' | 'block';

export interface ScanRule {
  detector: Detector;
  action: Action;
}

export interface Finding {
  rule: string;
  action: Action;
}

export interface ScannerOptions {
  /** Characters held back behind the newest text for detectors without `pending` (default 64). */
  holdBack?: number;
  /** Most characters ever held while an incomplete match is open (default 16384). */
  maxHold?: number;
}

/** Characters of released text kept as look-behind context for the detectors. */
const CONTEXT = 32;

interface Hit extends Candidate {
  rule: ScanRule;
}

/** The unions of one kind of pattern (`find`, `pending` or `open`) of a scanner's rules, one per flag set. */
interface Union {
  /** Rules whose pattern is in a union (the others run on their own). */
  covers: Set<ScanRule>;
  /** Where the leftmost match of any covered pattern starts at or after `from`, or -1. */
  first(text: string, from: number): number;
}

/**
 * One regex per flag set matching wherever any of the rules' patterns
 * matches: its leftmost match is the leftmost match of any of them, so one
 * search answers for all (most text matches nothing). Patterns with
 * back-references stay out (group numbers shift in a union).
 */
function unionOf(rules: readonly ScanRule[], pick: (d: ScanRule['detector']) => RegExp | undefined): Union {
  const byFlags = new Map<string, ScanRule[]>();
  for (const r of rules) {
    const p = pick(r.detector);
    if (!p || /\\[1-9]/.test(p.source)) continue;
    const flags = p.flags.replace(/[gdy]/g, '');
    byFlags.set(flags, [...(byFlags.get(flags) ?? []), r]);
  }
  const unions: RegExp[] = [];
  const covers = new Set<ScanRule>();
  for (const [flags, group] of byFlags) {
    try {
      unions.push(new RegExp(group.map((r) => `(?:${pick(r.detector)!.source})`).join('|'), `${flags}g`));
      for (const r of group) covers.add(r);
    } catch {
      // A union that does not compile: those detectors run on their own.
    }
  }
  return {
    covers,
    first(text, from) {
      let best = -1;
      for (const u of unions) {
        u.lastIndex = from;
        const m = u.exec(text);
        if (m && (best < 0 || m.index < best)) best = m.index;
      }
      return best;
    },
  };
}

/** What a scanner of one rule list needs, built once per list (most lists are a client's, kept for its life). */
interface Plan {
  /** Rules that change or stop the text (redact, block); all rules for the flag scanner. */
  rules: readonly ScanRule[];
  /** The flag rules, scanned apart (text is never held for them). */
  flagRules: readonly ScanRule[] | undefined;
  finds: Union;
  pendings: Union;
  opens: Union;
}

/** Plans by rule list: [the scanner's, the flag scanner's]. */
const plans = new WeakMap<readonly ScanRule[], [Plan | undefined, Plan | undefined]>();

function planOf(rules: readonly ScanRule[], flagsOnly: boolean): Plan {
  let entry = plans.get(rules);
  if (!entry) {
    entry = [undefined, undefined];
    plans.set(rules, entry);
  }
  const i = flagsOnly ? 1 : 0;
  let plan = entry[i];
  if (!plan) {
    const own = flagsOnly ? rules : rules.filter((r) => r.action !== 'flag');
    const flagRules = flagsOnly ? [] : rules.filter((r) => r.action === 'flag');
    plan = {
      rules: own,
      flagRules: flagRules.length > 0 ? flagRules : undefined,
      finds: unionOf(own, (d) => d.pattern),
      pendings: unionOf(own, (d) => d.pendingPattern),
      opens: unionOf(own, (d) => d.openPattern),
    };
    entry[i] = plan;
  }
  return plan;
}

export class TextScanner {
  readonly findings: Finding[] = [];
  blocked: Finding | undefined;
  /** Rules that change or stop the text (redact, block); all rules for the flag scanner. */
  readonly #rules: readonly ScanRule[];
  /** The scanner of the flag rules (text never held for them; only its findings are used). */
  readonly #flags: TextScanner | undefined;
  readonly #holdBack: number;
  readonly #maxHold: number;
  /** Findings of the flag scanner already copied into `findings`. */
  #flagsSeen = 0;
  readonly #finds: Union;
  readonly #pendings: Union;
  readonly #opens: Union;
  /** Original text released since the flag scanner was last fed. */
  #judged = '';
  /** Original text not yet released. */
  #buf = '';
  /** The last released original characters (look-behind context). */
  #ctx = '';

  constructor(rules: readonly ScanRule[], options: ScannerOptions = {}, flagsOnly = false) {
    const plan = planOf(rules, flagsOnly);
    this.#rules = plan.rules;
    this.#flags = plan.flagRules ? new TextScanner(plan.flagRules, options, true) : undefined;
    this.#finds = plan.finds;
    this.#pendings = plan.pendings;
    this.#opens = plan.opens;
    this.#holdBack = options.holdBack ?? 64;
    this.#maxHold = Math.max(this.#holdBack, options.maxHold ?? 16_384);
  }

  /** Characters currently held back from the output. */
  get held(): number {
    return this.#buf.length;
  }

  push(delta: string): string {
    if (this.blocked) return '';
    this.#buf += delta;
    const out = this.#release(false);
    this.#feedFlags(false);
    return out;
  }

  /** Releases the rest (after appending `last`, the final piece of text, if given). */
  flush(last = ''): string {
    if (this.blocked) return '';
    this.#buf += last;
    const out = this.#release(true);
    this.#feedFlags(true);
    return out;
  }

  /**
   * Gives the flag scanner the original text this scanner released (up to a
   * blocking match: text after it is never judged), and copies its new
   * findings into `findings`.
   */
  #feedFlags(final: boolean): void {
    const flags = this.#flags;
    if (!flags) return;
    const text = this.#judged;
    this.#judged = '';
    if (final || this.blocked) flags.flush(text);
    else if (text) flags.push(text);
    for (let i = this.#flagsSeen; i < flags.findings.length; i++) this.findings.push(flags.findings[i]);
    this.#flagsSeen = flags.findings.length;
  }

  #release(final: boolean): string {
    const from = this.#ctx.length;
    const text = this.#ctx + this.#buf;
    const end = text.length;
    if (end === from) return '';
    let cut = end;
    const hits: Hit[] = [];
    // Most text matches no detector: one union regex says so for all of them at once,
    // and the unions of the `pending` and `open` patterns give their earliest start directly.
    const anyMatch = this.#finds.covers.size === 0 || this.#finds.first(text, from) >= 0;
    if (!final) {
      const p = this.#pendings.first(text, from);
      if (p >= 0 && p < cut) cut = p;
      const o = this.#opens.first(text, from);
      if (o >= 0 && o < cut) cut = o;
    }
    for (const rule of this.#rules) {
      const d = rule.detector;
      if (anyMatch || !this.#finds.covers.has(rule)) {
        for (const c of d.find(text, from)) hits.push({ ...c, rule });
      }
      if (final) continue;
      if (d.pending) {
        if (!this.#pendings.covers.has(rule)) {
          const p = d.pending(text, from);
          if (p >= 0 && p < cut) cut = p;
        }
      } else {
        cut = Math.min(cut, Math.max(from, end - this.#holdBack));
      }
      if (d.open && !this.#opens.covers.has(rule)) {
        const o = d.open(text, from);
        if (o >= 0 && o < cut) cut = o;
      }
    }
    if (!final) {
      // Move the cut before any candidate that crosses it (or that touches the end and could grow).
      for (let moved = true; moved; ) {
        moved = false;
        for (const h of hits) {
          if (h.start < cut && (h.end > cut || h.end === end)) {
            cut = h.start;
            moved = true;
          }
        }
      }
      if (end - cut > this.#maxHold) cut = end - this.#maxHold;
      if (cut <= from) return '';
    }
    const chosen = hits
      .filter((h) => h.valid && h.start < cut && h.end <= cut)
      .sort((a, b) => a.start - b.start || b.end - a.end);
    let out = '';
    let pos = from;
    let lastEnd = from;
    for (const h of chosen) {
      if (h.start < lastEnd) continue; // overlaps an earlier match
      lastEnd = h.end;
      const finding = { rule: h.rule.detector.rule, action: h.rule.action };
      if (h.rule.action === 'block') {
        out += text.slice(pos, h.start);
        if (this.#flags) this.#judged += text.slice(from, h.start);
        this.findings.push(finding);
        this.blocked = finding;
        this.#buf = '';
        return out;
      }
      this.findings.push(finding);
      if (h.rule.action === 'redact') {
        const rs = h.redactStart ?? h.start;
        const re = h.redactEnd ?? h.end;
        out += `${text.slice(pos, rs)}[REDACTED:${h.rule.detector.label}]`;
        pos = re;
      }
    }
    out += text.slice(pos, cut);
    if (this.#flags) this.#judged += text.slice(from, cut);
    this.#ctx = text.slice(Math.max(0, cut - CONTEXT), cut);
    this.#buf = text.slice(cut);
    return out;
  }
}

/**
 * The whole-text judgement: the same scanner, fed at once. When `blocked` is
 * set, `text` is only the part before the blocking match.
 */
export function scanText(
  text: string,
  rules: readonly ScanRule[],
): { text: string; findings: Finding[]; blocked: Finding | undefined } {
  // One final pass: nothing can follow, so no detector needs to say where a match may be starting.
  const s = new TextScanner(rules);
  const out = s.flush(text);
  return { text: out, findings: s.findings, blocked: s.blocked };
}
