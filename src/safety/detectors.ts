/**
 * Output detectors: secrets and PII found in model text.
 *
 * A detector reports *candidates* (`find`) and, for matches that can be longer
 * than the stream hold-back window, where a possibly-incomplete match touching
 * the end of the text starts (`open`). The hold-back scanner (`scanner.ts`)
 * uses both to decide how much text is safe to release; the whole-text path
 * uses the same scanner, so a stream and a buffered answer are judged alike.
 *
 * Key shapes follow /work/shared/reference/anthropic-api.md §10.2 and the
 * providers' documented prefixes. Validated detectors (cards: Luhn, IBAN:
 * mod-97, SSN: invalid ranges) report failing candidates as `valid: false`,
 * which never match but still count as scanned spans (see scanner.ts).
 *
 * @example
 *   findAll('key AKIAIOSFODNN7EXAMPLE', SECRET_DETECTORS)
 *   // [{ rule: 'secret.aws_access_key', start: 4, end: 24, ... }]
 */

export type DetectorKind = 'secret' | 'pii' | 'leak';

/** A span a detector reports. `start`/`end` index the scanned string (UTF-16). */
export interface Candidate {
  start: number;
  end: number;
  /** False when the shape matched but validation (Luhn, mod-97, ranges) failed. */
  valid: boolean;
  /** The span to replace when redacting (defaults to the whole candidate). */
  redactStart?: number;
  redactEnd?: number;
}

export interface Detector {
  /** Rule id, e.g. `secret.aws_access_key`; stable, used in headers, logs, metrics. */
  readonly rule: string;
  readonly kind: DetectorKind;
  /** The placeholder's type: `[REDACTED:<label>]`. */
  readonly label: string;
  /** Candidates starting at or after `from`, in order, non-overlapping. */
  find(text: string, from: number): Candidate[];
  /** Start (>= from) of a possibly-incomplete match that touches the end of `text`, or -1. */
  open?(text: string, from: number): number;
  /**
   * Start (>= from) of the earliest text at the end of `text` that could still
   * become (part of) a match as more text arrives — any prefix of a match,
   * however short (`sk-a`, `AK`, `-----BEG`) — or -1. A detector with
   * `pending` needs no fixed hold-back window: the scanner holds exactly from
   * there, so plain prose is released at once.
   */
  pending?(text: string, from: number): number;
  /**
   * The detector's match pattern, when `find` is exactly "every match of this
   * regex": lets a scanner test many detectors with one union regex first.
   */
  readonly pattern?: RegExp;
  /** Likewise for `pending` and `open`: the regexes they run (each anchored at the end, `$`). */
  readonly pendingPattern?: RegExp;
  readonly openPattern?: RegExp;
}

interface RegexDetectorSpec {
  rule: string;
  kind: DetectorKind;
  label: string;
  re: RegExp;
  validate?: (m: RegExpExecArray) => boolean;
  /** Group whose span is redacted instead of the whole match. */
  group?: number;
  /** Matches a possibly-incomplete match at the end of the text (must end with `$`). */
  open?: RegExp;
  /** Matches every prefix of a match that ends the text (must end with `$`; may over-approximate). */
  pending?: RegExp;
}

function regexDetector(spec: RegexDetectorSpec): Detector {
  const flags = new Set(spec.re.flags.split(''));
  flags.add('g');
  if (spec.group !== undefined) flags.add('d');
  const re = new RegExp(spec.re.source, [...flags].join(''));
  const open = spec.open ? new RegExp(spec.open.source, `${spec.open.flags.replace('g', '')}g`) : undefined;
  const pending = spec.pending
    ? new RegExp(spec.pending.source, `${spec.pending.flags.replace('g', '')}g`)
    : undefined;
  const at = (re: RegExp) => (text: string, from: number) => {
    re.lastIndex = from;
    const m = re.exec(text);
    return m ? m.index : -1;
  };
  return {
    rule: spec.rule,
    kind: spec.kind,
    label: spec.label,
    pattern: spec.re,
    pendingPattern: spec.pending,
    openPattern: spec.open,
    find(text, from) {
      const out: Candidate[] = [];
      re.lastIndex = from;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        const c: Candidate = {
          start: m.index,
          end: m.index + m[0].length,
          valid: spec.validate ? spec.validate(m) : true,
        };
        if (spec.group !== undefined && m.indices?.[spec.group]) {
          [c.redactStart, c.redactEnd] = m.indices[spec.group] as [number, number];
        }
        out.push(c);
      }
      return out;
    },
    open: open ? at(open) : undefined,
    pending: pending ? at(pending) : undefined,
  };
}

/** A regex source matching any non-empty prefix of `literal` (`abc` → `a(?:b(?:c)?)?`). */
function prefixesOf(literal: string): string {
  const esc = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  let out = '';
  for (let i = literal.length - 1; i >= 0; i--) out = `${esc(literal[i])}${out ? `(?:${out})?` : ''}`;
  return out;
}
const P = prefixesOf;

// ---------------------------------------------------------------------------
// Validators

/** Luhn checksum over the digits of `s` (separators ignored). */
export function luhnValid(s: string): boolean {
  const digits = s.replace(/\D/g, '');
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Payment card: 13-19 digits, a known network prefix, Luhn. */
export function cardValid(s: string): boolean {
  const digits = s.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  if (/^0+$/.test(digits)) return false;
  if (!/^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|22)|35)/.test(digits)) return false;
  return luhnValid(digits);
}

/** IBAN length by country (ISO 13616 registry, common countries). */
// biome-ignore format: a table
const IBAN_LENGTH: Record<string, number> = {
  AD: 24, AE: 23, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23,
  GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20,
  LB: 28, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30,
  NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SE: 24, SI: 19,
  SK: 24, SM: 27, TN: 24, TR: 26, UA: 29, VG: 24, XK: 20,
};

/** IBAN: known country length and ISO 7064 mod-97 = 1. */
export function ibanValid(s: string): boolean {
  const iban = s.replace(/ /g, '').toUpperCase();
  const len = IBAN_LENGTH[iban.slice(0, 2)];
  if (len === undefined || iban.length !== len) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

/** US SSN ranges: area not 000, 666 or 9xx; group not 00; serial not 0000. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

// ---------------------------------------------------------------------------
// Detectors

/** Not preceded by a letter, digit or `_` (a start boundary that also works before `-`). */
const B = '(?<![A-Za-z0-9_])';
/** Not followed by a letter, digit or `_`. */
const E = '(?![A-Za-z0-9_])';

/** The keywords of `secret.generic_credential`, spelled out (for its `pending` prefixes). */
const CREDENTIAL_WORDS = ['password', 'passwd', 'pwd', 'secret'].concat(
  ['api', 'access', 'auth', 'client', 'private'].flatMap((a) => {
    const b = { api: 'key', access: 'token', auth: 'token', client: 'secret', private: 'key' }[a];
    return [`${a}_${b}`, `${a}-${b}`, `${a}${b}`];
  }),
);
const CREDENTIAL_KEYWORD =
  '(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key)';

export const SECRET_DETECTORS: readonly Detector[] = [
  regexDetector({
    rule: 'secret.anthropic_admin_key',
    kind: 'secret',
    label: 'anthropic_admin_key',
    re: new RegExp(`${B}sk-ant-admin\\d\\d-[A-Za-z0-9_-]{80,}`),
    open: new RegExp(`${B}sk-ant-admin[A-Za-z0-9_-]*$`),
    pending: new RegExp(`${B}(?:${P('sk-ant-admin')}|sk-ant-admin[A-Za-z0-9_-]*)$`),
  }),
  regexDetector({
    rule: 'secret.anthropic_api_key',
    kind: 'secret',
    label: 'anthropic_api_key',
    // api03 (Console), api01 (Enterprise analytics), oat01 / ort01 (OAuth tokens)
    re: new RegExp(`${B}sk-ant-(?:api|oat|ort)\\d\\d-[A-Za-z0-9_-]{80,}`),
    open: new RegExp(`${B}sk-ant-(?:api|oat|ort)[A-Za-z0-9_-]*$`),
    pending: new RegExp(`${B}(?:${P('sk-ant-')}|sk-ant-[A-Za-z0-9_-]*)$`),
  }),
  regexDetector({
    rule: 'secret.aws_access_key',
    kind: 'secret',
    label: 'aws_access_key',
    re: new RegExp(`${B}(?:AKIA|ASIA)[A-Z0-9]{16}${E}`),
    pending: new RegExp(`${B}(?:${P('AKIA')}|${P('ASIA')}|(?:AKIA|ASIA)[A-Z0-9]{0,16})$`),
  }),
  regexDetector({
    rule: 'secret.github_token',
    kind: 'secret',
    label: 'github_token',
    re: new RegExp(`${B}(?:gh[posur]_[A-Za-z0-9]{36}${E}|github_pat_[A-Za-z0-9_]{60,})`),
    open: new RegExp(`${B}github_pat_[A-Za-z0-9_]*$`),
    pending: new RegExp(
      `${B}(?:${P('github_pat_')}|github_pat_[A-Za-z0-9_]*|gh(?:[posur](?:_[A-Za-z0-9]{0,36})?)?)$`,
    ),
  }),
  regexDetector({
    rule: 'secret.stripe_key',
    kind: 'secret',
    label: 'stripe_key',
    re: new RegExp(`${B}(?:sk|rk)_live_[A-Za-z0-9]{20,}`),
    open: new RegExp(`${B}(?:sk|rk)_live_[A-Za-z0-9]*$`),
    pending: new RegExp(`${B}(?:${P('sk_live_')}|${P('rk_live_')}|(?:sk|rk)_live_[A-Za-z0-9]*)$`),
  }),
  regexDetector({
    rule: 'secret.slack_token',
    kind: 'secret',
    label: 'slack_token',
    re: new RegExp(`${B}xox[baprs]-[A-Za-z0-9-]{10,}`),
    open: new RegExp(`${B}xox[baprs]-[A-Za-z0-9-]*$`),
    pending: new RegExp(`${B}(?:${P('xox')}|xox[baprs](?:-[A-Za-z0-9-]*)?)$`),
  }),
  regexDetector({
    rule: 'secret.private_key',
    kind: 'secret',
    label: 'private_key',
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----/,
    open: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:(?!-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)[\s\S])*$/,
    // The BEGIN line in progress (after it, `open` holds the block).
    pending: new RegExp(`(?:-{1,5}|-----${P('BEGIN ')}|-----BEGIN [A-Z0-9 ]*-{0,5})$`),
  }),
  regexDetector({
    rule: 'secret.jwt',
    kind: 'secret',
    label: 'jwt',
    re: new RegExp(`${B}eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}`),
    open: new RegExp(`${B}eyJ[A-Za-z0-9_.-]*$`),
    pending: new RegExp(`${B}(?:ey?|eyJ[A-Za-z0-9_.-]*)$`),
  }),
  regexDetector({
    rule: 'secret.generic_credential',
    kind: 'secret',
    label: 'credential',
    // password = "…", api_key: '…', "client_secret": "…": only the value is redacted.
    re: new RegExp(
      `(?<![A-Za-z0-9])["']?${CREDENTIAL_KEYWORD}["']?\\s{0,3}[:=]\\s{0,3}(["'])([^"'\\s]{6,200})\\1`,
      'i',
    ),
    group: 2,
    open: new RegExp(
      `(?<![A-Za-z0-9])["']?${CREDENTIAL_KEYWORD}["']?\\s{0,3}[:=]\\s{0,3}["'][^"'\\s]{0,200}$`,
      'i',
    ),
    // A quote, a keyword in progress, or a whole keyword up to an unfinished value.
    pending: new RegExp(
      `(?<![A-Za-z0-9])(?:["']|["']?(?:${CREDENTIAL_WORDS.map(P).join('|')})|["']?${CREDENTIAL_KEYWORD}["']?\\s{0,3}(?:[:=]\\s{0,3}(?:["'][^"'\\s]{0,200})?)?)$`,
      'i',
    ),
  }),
];

export const PII_DETECTORS: readonly Detector[] = [
  regexDetector({
    rule: 'pii.email',
    kind: 'pii',
    label: 'email',
    re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/,
    // Local parts are at most 64 characters, so a longer run without '@' is never held.
    open: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}(?:@[A-Za-z0-9.-]*)?$/,
    pending: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}(?:@[A-Za-z0-9.-]*)?$/,
  }),
  regexDetector({
    rule: 'pii.payment_card',
    kind: 'pii',
    label: 'payment_card',
    re: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/,
    validate: (m) => cardValid(m[0]),
    pending: /(?<![\d-])\d(?:[ -]?\d){0,18}[ -]?$/,
  }),
  regexDetector({
    rule: 'pii.iban',
    kind: 'pii',
    label: 'iban',
    re: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/,
    validate: (m) => ibanValid(m[0]),
    pending: /(?<![A-Za-z0-9])[A-Z](?:[A-Z](?:\d(?:\d(?: ?[A-Z0-9]){0,30} ?)?)?)?$/,
  }),
  regexDetector({
    rule: 'pii.us_ssn',
    kind: 'pii',
    label: 'us_ssn',
    re: /(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])/,
    validate: (m) => ssnValid(m[1], m[2], m[3]),
    pending: /(?<![\d-])(?:\d{1,3}|\d{3}-(?:\d{1,2}|\d{2}-\d{0,4})?)$/,
  }),
  regexDetector({
    rule: 'pii.phone',
    kind: 'pii',
    label: 'phone',
    // +44 20 7946 0958, +1 (415) 555-0132, (415) 555-0132, 415-555-0132, +14155550132
    re: /(?<![\w+])(?:\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)|\d{1,4})(?:[ .-]?\d{2,4}){2,4}|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w-])/,
    validate: (m) => {
      const n = m[0].replace(/\D/g, '').length;
      return n >= 10 && n <= 15;
    },
    pending: /(?<![\w+])[+(\d][\d ().-]*$/,
  }),
];

/** Every candidate of every detector in `text` (tests, corpora). */
export function findAll(text: string, detectors: readonly Detector[]): Array<Candidate & { rule: string }> {
  const out: Array<Candidate & { rule: string }> = [];
  for (const d of detectors) for (const c of d.find(text, 0)) if (c.valid) out.push({ ...c, rule: d.rule });
  return out.sort((a, b) => a.start - b.start || b.end - a.end);
}
