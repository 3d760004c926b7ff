import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cardValid,
  type Detector,
  findAll,
  ibanValid,
  luhnValid,
  PII_DETECTORS,
  SECRET_DETECTORS,
  ssnValid,
} from './detectors.ts';

const ALL = [...SECRET_DETECTORS, ...PII_DETECTORS];
const byRule = (rule: string): Detector => {
  const d = ALL.find((x) => x.rule === rule);
  assert.ok(d, rule);
  return d;
};

// Key-shaped vectors are assembled at run time so that this file holds no literal credential.
const alnum = (n: number, seed = 7) => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += abc[x % abc.length];
  }
  return s;
};
const ANTHROPIC = `${['sk', 'ant', 'api03'].join('-')}-${alnum(93)}AA`;
const ANTHROPIC_OAT = `${['sk', 'ant', 'oat01'].join('-')}-${alnum(90, 3)}`;
const ADMIN = `${['sk', 'ant', 'admin01'].join('-')}-${alnum(93, 5)}AA`;
const PEM = ['-----BEGIN RSA PRIVATE KEY-----', alnum(64), alnum(64), '-----END RSA PRIVATE KEY-----'].join(
  '\n',
);
const PEM8 = ['-----BEGIN PRIVATE KEY-----', alnum(64, 9), '-----END PRIVATE KEY-----'].join('\n');

/** rule -> [positives (the exact span the detector must report), negatives (texts with no match)]. */
const VECTORS: Record<string, [positive: string[], negative: string[]]> = {
  'secret.anthropic_api_key': [
    [ANTHROPIC, ANTHROPIC_OAT],
    [`${['sk', 'ant', 'api03'].join('-')}-short`, `x${ANTHROPIC}`, 'sk-ant-api03 is the prefix of keys'],
  ],
  'secret.anthropic_admin_key': [[ADMIN], [`${['sk', 'ant', 'admin01'].join('-')}-${alnum(20)}`]],
  'secret.aws_access_key': [
    [`AKIA${'IOSFODNN7EXAMPLE'}`, `ASIA${'Y34FZKBOKMUTVV7A'}`],
    ['AKIAIOSFODNN7EXAMPL', `X${'AKIAIOSFODNN7EXAMPLE'}`, 'akiaiosfodnn7example', 'AKIAIOSFODNN7EXAMPLE1'],
  ],
  'secret.github_token': [
    [
      `ghp_${alnum(36)}`,
      `gho_${alnum(36, 2)}`,
      `ghs_${alnum(36, 4)}`,
      `github_pat_11${alnum(20)}_${alnum(59)}`,
    ],
    ['ghp_short', `ghx_${alnum(36)}`, `ghp_${alnum(37)}`],
  ],
  'secret.stripe_key': [
    [`${'sk'}_live_${alnum(24)}`, `${'rk'}_live_${alnum(30)}`],
    [`sk_test_${alnum(24)}`, 'sk_live_short'],
  ],
  'secret.slack_token': [
    [`${'xoxb'}-123456789012-1234567890123-${alnum(24)}`, `${'xoxp'}-${alnum(30)}`],
    [`xoxz-${alnum(30)}`, 'xoxb-short'],
  ],
  'secret.private_key': [
    [PEM, PEM8],
    [
      '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
    ],
  ],
  'secret.jwt': [
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
    ['eyJhbGciOiJIUzI1NiJ9', 'eyJx.eyJy.z', 'a.b.c'],
  ],
  'secret.generic_credential': [
    ['password = "hunter2hunter"', "api_key: 'abcdef123456'", '"client_secret": "s3cr3t-value-1"'],
    ['password = ""', 'the password is required', 'password = "short"', 'password = "{{ vault }}"'],
  ],
  'pii.email': [
    ['jane.doe@example.com', 'a+b@sub.example.co.uk'],
    ['user@localhost', 'follow @handle', 'foo@bar', 'email me at'],
  ],
  'pii.phone': [
    ['+1 (415) 555-0132', '415-555-0132', '+44 20 7946 0958', '+14155550132', '(415) 555-0132'],
    ['2024-01-15', '3.14159', 'version 1.2.3', '12345', 'call 555-0132'],
  ],
  'pii.payment_card': [
    ['4111 1111 1111 1111', '5500-0000-0000-0004', '378282246310005', '4242424242424242'],
    ['4111 1111 1111 1112', '1234 5678 9012 3456', '0000 0000 0000 0000', '4111 1111'],
  ],
  'pii.iban': [
    ['GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000', 'FR1420041010050500013M02606'],
    ['GB82 WEST 1234 5698 7654 33', 'XX82WEST12345698765432', 'DE8937040044053201300'],
  ],
  'pii.us_ssn': [
    ['219-09-9999', '123-45-6789', '665-12-3456'],
    ['000-12-3456', '666-12-3456', '912-12-3456', '123-00-4567', '123-45-0000', '123456789'],
  ],
};

describe('output detectors', () => {
  test('every detector has vectors', () => {
    assert.deepEqual(Object.keys(VECTORS).sort(), ALL.map((d) => d.rule).sort());
  });
  for (const [rule, [positives, negatives]] of Object.entries(VECTORS)) {
    test(`${rule}: positive vectors match exactly, in prose too`, () => {
      const d = byRule(rule);
      for (const p of positives) {
        const text = `Here it is: ${p} - keep it safe.`;
        const hits = d.find(text, 0).filter((c) => c.valid);
        assert.equal(hits.length, 1, `${rule} should match ${JSON.stringify(p)}`);
        assert.equal(text.slice(hits[0].start, hits[0].end), p);
      }
    });
    test(`${rule}: negative vectors do not match`, () => {
      const d = byRule(rule);
      for (const n of negatives) {
        const hits = d.find(`Text: ${n} here.`, 0).filter((c) => c.valid);
        assert.equal(hits.length, 0, `${rule} should not match ${JSON.stringify(n)}`);
      }
    });
  }
  test('generic credentials redact only the value', () => {
    const d = byRule('secret.generic_credential');
    const text = 'db password = "hunter2hunter" ok';
    const [c] = d.find(text, 0);
    assert.equal(text.slice(c.redactStart, c.redactEnd), 'hunter2hunter');
  });
  test('no detector fires on ordinary prose and code', () => {
    const prose =
      'The quick brown fox jumps over the lazy dog. In 2024-03-01 we shipped v1.2.3 to 1,234 users; ' +
      'see https://example.com/docs?page=2 and call setPassword(newValue). Order #123456 totals $1,299.00.';
    assert.deepEqual(findAll(prose, ALL), []);
  });
});

describe('validators', () => {
  test('Luhn', () => {
    assert.ok(luhnValid('79927398713'));
    assert.ok(!luhnValid('79927398710'));
  });
  test('cards need a network prefix and 13-19 digits', () => {
    assert.ok(cardValid('4111111111111111'));
    assert.ok(!cardValid('9111111111111116'));
    assert.ok(!cardValid('41111111111'));
  });
  test('IBAN mod-97 and country length', () => {
    assert.ok(ibanValid('GB82WEST12345698765432'));
    assert.ok(ibanValid('gb82 west 1234 5698 7654 32'));
    assert.ok(!ibanValid('GB82WEST1234569876543'));
    assert.ok(!ibanValid('GB83WEST12345698765432'));
  });
  test('SSN invalid ranges', () => {
    assert.ok(ssnValid('123', '45', '6789'));
    for (const [a, g, s] of [
      ['000', '45', '6789'],
      ['666', '45', '6789'],
      ['900', '45', '6789'],
      ['999', '45', '6789'],
      ['123', '00', '6789'],
      ['123', '45', '0000'],
    ]) {
      assert.ok(!ssnValid(a, g, s), `${a}-${g}-${s}`);
    }
  });
});
