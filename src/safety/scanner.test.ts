import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PII_DETECTORS, SECRET_DETECTORS } from './detectors.ts';
import { type ScanRule, scanText, TextScanner } from './scanner.ts';

const rules = (action: 'flag' | 'redact' | 'block'): ScanRule[] =>
  [...SECRET_DETECTORS, ...PII_DETECTORS].map((detector) => ({ detector, action }));
const REDACT = rules('redact');

const AWS = `AKIA${'IOSFODNN7EXAMPLE'}`;
const ANTHROPIC = `${['sk', 'ant', 'api03'].join('-')}-${'x1Y2z3'.repeat(15)}abcAA`;
const PEM = `-----BEGIN PRIVATE KEY-----\n${'QUJD'.repeat(40)}\n${'REVG'.repeat(30)}\n-----END PRIVATE KEY-----`;

/** Pieces texts are made of: prose, punctuation, and things some detector matches (or nearly). */
const FRAGMENTS = [
  'the ',
  'key ',
  'is ',
  ' ',
  '\n',
  '. ',
  ', ',
  '"',
  '=',
  'password = "',
  'hunter2hunter',
  `${'x9Y'.repeat(30)}"`,
  `password = "${'x9Y'.repeat(30)}"`,
  `"api_key": '${'Ab1'.repeat(25)}'`,
  `jane.${'doe'.repeat(25)}@example.com`,
  AWS,
  AWS.slice(0, 10),
  ANTHROPIC,
  ANTHROPIC.slice(0, 30),
  PEM,
  PEM.slice(0, 60),
  'jane.doe@example.com',
  'jane.doe',
  '@example',
  '.com',
  '415-555-0132',
  '+44 20 7946 0958',
  '4111 1111 1111 1111',
  '4111 1111 1111 1112',
  'GB82 WEST 1234 5698 7654 32',
  '219-09-9999',
  '666-12-3456',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N',
  `ghp_${'a1B2c3'.repeat(6)}`,
  'lorem',
  'ipsum',
  '12',
  '-',
  // Prefixes of matches, so that deltas end inside them.
  'sk-',
  'sk-ant-',
  'sk-ant-api03-',
  'sk-ant-admin01-',
  'AK',
  'ASIA',
  'gh',
  'ghp_',
  'github_pat_',
  `github_pat_${'Z9_'.repeat(22)}`,
  'xox',
  'xoxb-1234567890-abc',
  'sk_live_',
  `sk_live_${'Q1w2'.repeat(6)}`,
  '-----BEG',
  '-----BEGIN RSA ',
  'PRIVATE KEY-----',
  'e',
  'ey',
  'eyJ',
  'pass',
  "'",
  'api-key',
  ': ',
  'Client_Secret',
  '(415) ',
  '555-',
  '+1 ',
  'GB',
  '82 ',
  '4111',
  ' 1111',
  '219-',
];

const textArb = fc
  .array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 40 })
  .map((a) => a.join(''));

/** Splits `text` at sorted random cut points. */
const splitArb = (text: string) =>
  fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, text.length - 1) }), { maxLength: 12 }).map((cuts) => {
    const sorted = cuts.filter((c) => c < text.length).sort((a, b) => a - b);
    const parts: string[] = [];
    let prev = 0;
    for (const c of sorted) {
      parts.push(text.slice(prev, c));
      prev = c;
    }
    parts.push(text.slice(prev));
    return parts;
  });

describe('TextScanner', () => {
  test('a key split across three deltas is redacted', () => {
    const s = new TextScanner(REDACT);
    const out =
      s.push(`my key: ${AWS.slice(0, 6)}`) + s.push(AWS.slice(6, 14)) + s.push(`${AWS.slice(14)} ok`);
    assert.equal(out + s.flush(), 'my key: [REDACTED:aws_access_key] ok');
    assert.deepEqual(s.findings, [{ rule: 'secret.aws_access_key', action: 'redact' }]);
  });

  test('holds back at most holdBack characters of plain text', () => {
    const s = new TextScanner(REDACT, { holdBack: 64 });
    let released = '';
    for (let i = 0; i < 50; i++) {
      released += s.push('word ');
      assert.ok(s.held <= 64, `held ${s.held}`);
    }
    assert.equal(released.length + s.held, 250);
  });

  test('a long run of word characters (a base64 blob) is not held beyond the window', () => {
    const s = new TextScanner(REDACT, { holdBack: 64 });
    let released = 0;
    for (let i = 0; i < 500; i++) released += s.push('QUJDRA').length;
    assert.ok(s.held <= 64, `held ${s.held}`);
    assert.equal(released + s.held, 3000);
  });

  test('an incomplete private key block is held until its END line', () => {
    const s = new TextScanner(REDACT, { holdBack: 16 });
    const head = s.push(`x ${PEM.slice(0, 120)}`);
    assert.equal(head, 'x ');
    const rest = s.push(PEM.slice(120)) + s.flush();
    assert.equal(rest, '[REDACTED:private_key]');
  });

  test('block releases the text before the match, then nothing', () => {
    const s = new TextScanner(rules('block'));
    const out = s.push(`before ${AWS} after and more text that follows it for a while to pass the window.`);
    assert.equal(out + s.flush(), 'before ');
    assert.deepEqual(s.blocked, { rule: 'secret.aws_access_key', action: 'block' });
    assert.equal(s.push('more'), '');
  });

  test('flag keeps the text and records the finding', () => {
    const r = scanText(`a ${AWS} b jane.doe@example.com`, rules('flag'));
    assert.equal(r.text, `a ${AWS} b jane.doe@example.com`);
    assert.deepEqual(
      r.findings.map((f) => f.rule),
      ['secret.aws_access_key', 'pii.email'],
    );
  });

  test('property: for any split, the streamed result equals the whole-text result', () => {
    fc.assert(
      fc.property(
        textArb.chain((text) =>
          fc.tuple(
            fc.constant(text),
            splitArb(text),
            fc.constantFrom(64, 100, 256),
            fc.constantFrom('redact', 'flag'),
          ),
        ),
        ([text, parts, holdBack, action]) => {
          const ruleSet = action === 'redact' ? REDACT : rules('flag');
          const whole = scanText(text, ruleSet);
          const s = new TextScanner(ruleSet, { holdBack });
          let out = '';
          for (const p of parts) out += s.push(p);
          out += s.flush();
          assert.equal(out, whole.text);
          assert.deepEqual(s.findings, whole.findings);
        },
      ),
      { numRuns: 400 },
    );
  });

  test('property: mixed actions (secrets redacted or blocking, PII flagged): same text, block and findings for any split', () => {
    const mixedWith = (secrets: 'redact' | 'block'): ScanRule[] => [
      ...SECRET_DETECTORS.map((detector) => ({ detector, action: secrets })),
      ...PII_DETECTORS.map((detector) => ({ detector, action: 'flag' as const })),
    ];
    const key = (f: { rule: string; action: string }) => `${f.rule}/${f.action}`;
    fc.assert(
      fc.property(
        textArb.chain((text) =>
          fc.tuple(fc.constant(text), splitArb(text), fc.constantFrom('redact' as const, 'block' as const)),
        ),
        ([text, parts, secrets]) => {
          const mixed = mixedWith(secrets);
          const whole = scanText(text, mixed);
          const s = new TextScanner(mixed);
          let out = '';
          for (const p of parts) out += s.push(p);
          out += s.flush();
          assert.equal(out, whole.text);
          assert.deepEqual(s.blocked, whole.blocked);
          // Flag findings come from their own scanner: the same ones, interleaved by release time.
          assert.deepEqual(s.findings.map(key).sort(), whole.findings.map(key).sort());
        },
      ),
      { numRuns: 400 },
    );
  });

  test('flag findings stop at a blocking match: text after it is never judged', () => {
    const mixed: ScanRule[] = [
      ...SECRET_DETECTORS.map((detector) => ({ detector, action: 'block' as const })),
      ...PII_DETECTORS.map((detector) => ({ detector, action: 'flag' as const })),
    ];
    const r = scanText(`mail jane.doe@example.com then ${AWS} then bob@example.org`, mixed);
    assert.equal(r.text, 'mail jane.doe@example.com then ');
    assert.deepEqual(
      r.findings.map((f) => f.rule),
      ['secret.aws_access_key', 'pii.email'],
    );
  });

  test('prose is released as it arrives: nothing held unless it could start a match', () => {
    const mixed: ScanRule[] = [
      ...SECRET_DETECTORS.map((detector) => ({ detector, action: 'redact' as const })),
      ...PII_DETECTORS.map((detector) => ({ detector, action: 'flag' as const })),
    ];
    const s = new TextScanner(mixed, { holdBack: 64 });
    for (const delta of ['Hello', ',', ' world', '! The answer', ' is below.', '\n\n', 'Done']) {
      assert.equal(s.push(delta), delta);
      assert.equal(s.held, 0);
    }
    // A delta ending in something that could begin a key is held from there, and only from there.
    assert.equal(s.push(' use sk-an'), ' use ');
    assert.equal(s.held, 'sk-an'.length);
    assert.equal(s.push('d more'), 'sk-and more');
    assert.equal(s.push(' AKIA'), ' ');
    assert.equal(s.push(`${AWS.slice(4)} ok`), '[REDACTED:aws_access_key] ok');
  });

  test('property: block mode stops at the same place for any split', () => {
    fc.assert(
      fc.property(
        textArb.chain((text) => fc.tuple(fc.constant(text), splitArb(text))),
        ([text, parts]) => {
          const ruleSet = rules('block');
          const whole = scanText(text, ruleSet);
          const s = new TextScanner(ruleSet);
          let out = '';
          for (const p of parts) out += s.push(p);
          out += s.flush();
          assert.equal(out, whole.text);
          assert.deepEqual(s.blocked, whole.blocked);
        },
      ),
      { numRuns: 200 },
    );
  });
});
