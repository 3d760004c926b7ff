import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { generateKey, hashKey } from './keys.ts';

test('generateKey: gk_ plus 43 base62 characters, never repeating', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const key = generateKey();
    assert.match(key, /^gk_[0-9A-Za-z]{43}$/);
    keys.add(key);
  }
  assert.equal(keys.size, 200);
});

test('hashKey is the hex SHA-256 of the UTF-8 key', () => {
  assert.equal(hashKey('gk_test'), createHash('sha256').update('gk_test').digest('hex'));
  assert.equal(hashKey('test'), '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
});
