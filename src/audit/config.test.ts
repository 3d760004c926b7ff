import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../config/load.ts';
import { waiverActive } from './config.ts';

const opts = { source: 'gantry.yaml', baseDir: '/tmp' };

test('the audit section: waivers validate into the resolved config', () => {
  const c = parseConfig(
    'audit:\n  waivers:\n    - check: INFRA-1\n      reason: later\n      expires: 2027-01-31\n',
    opts,
  );
  assert.deepEqual(c.audit.waivers, [{ check: 'INFRA-1', reason: 'later', expires: '2027-01-31' }]);
  assert.deepEqual(parseConfig('{}', opts).audit.waivers, []);
});

test('a waiver needs a known check, a reason and a date; each problem has its path and line', () => {
  const text = 'audit:\n  waivers:\n    - check: NOPE-1\n      reason: ""\n      expires: tomorrow\n';
  try {
    parseConfig(text, opts);
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(
      err.issues.map((i) => [i.path, i.line]),
      [
        ['audit.waivers[0].check', 3],
        ['audit.waivers[0].reason', 4],
        ['audit.waivers[0].expires', 5],
      ],
    );
  }
});

test('a waiver applies through the end of its expiry day (UTC)', () => {
  const w = { check: 'INFRA-1', reason: 'r', expires: '2027-01-31' };
  assert.equal(waiverActive(w, new Date('2027-01-31T23:59:59Z')), true);
  assert.equal(waiverActive(w, new Date('2027-02-01T00:00:00Z')), false);
});
