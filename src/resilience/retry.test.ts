import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { backoffMs, ERROR_OUTCOMES, retryDelay, serverRetryDelayMs, shouldRetry } from './retry.ts';

describe('shouldRetry: the SDK rules', () => {
  test('x-should-retry decides first, then the status', () => {
    assert.equal(shouldRetry(400, { 'x-should-retry': 'true' }), true);
    assert.equal(shouldRetry(529, { 'x-should-retry': 'false' }), false);
    assert.equal(shouldRetry(500, { 'x-should-retry': 'false' }), false);
    for (const s of [408, 409, 429, 500, 502, 503, 504, 529]) assert.equal(shouldRetry(s), true, String(s));
    for (const s of [400, 401, 402, 403, 404, 413, 422]) assert.equal(shouldRetry(s), false, String(s));
    assert.equal(shouldRetry(undefined), true, 'connection errors and timeouts are retried');
    assert.equal(shouldRetry(undefined, { 'x-should-retry': 'false' }), false);
  });
});

describe('retry delays', () => {
  const now = Date.parse('2026-11-28T00:00:00Z');
  test('retry-after-ms first, then retry-after in seconds or as an HTTP date', () => {
    assert.equal(serverRetryDelayMs({ 'retry-after-ms': '150', 'retry-after': '9' }, now), 150);
    assert.equal(serverRetryDelayMs({ 'retry-after-ms': '12.5' }, now), 12.5);
    assert.equal(serverRetryDelayMs({ 'retry-after': '2' }, now), 2000);
    assert.equal(serverRetryDelayMs({ 'retry-after': '0.25' }, now), 250);
    assert.equal(serverRetryDelayMs({ 'retry-after': new Date(now + 3000).toUTCString() }, now), 3000);
    assert.equal(serverRetryDelayMs({ 'retry-after-ms': 'nope', 'retry-after': '1' }, now), 1000);
    assert.equal(serverRetryDelayMs({ 'retry-after': '0' }, now), undefined, 'zero means no server delay');
    assert.equal(serverRetryDelayMs({ 'retry-after': '-5' }, now), undefined);
    assert.equal(serverRetryDelayMs({ 'retry-after': new Date(now - 1000).toUTCString() }, now), undefined);
    assert.equal(serverRetryDelayMs({}, now), undefined);
  });

  test('backoff is min(0.5 * 2^n, 8) s times (1 - rand * 0.25)', () => {
    assert.equal(
      backoffMs(0, () => 0),
      500,
    );
    assert.equal(
      backoffMs(0, () => 1),
      375,
    );
    assert.equal(
      backoffMs(1, () => 0),
      1000,
    );
    assert.equal(
      backoffMs(2, () => 0.5),
      2000 * 0.875,
    );
    assert.equal(
      backoffMs(4, () => 0),
      8000,
    );
    assert.equal(
      backoffMs(10, () => 0),
      8000,
      'capped at 8 s',
    );
    for (let n = 0; n < 8; n++) {
      const d = backoffMs(n);
      const base = Math.min(500 * 2 ** n, 8000);
      assert.ok(d <= base && d >= base * 0.75, `${n}: ${d}`);
    }
  });

  test('retryDelay names its source', () => {
    assert.deepEqual(
      retryDelay({ 'retry-after-ms': '200' }, 0, () => 0, now),
      { ms: 200, source: 'retry-after-ms' },
    );
    assert.deepEqual(
      retryDelay({ 'retry-after': '1' }, 0, () => 0, now),
      { ms: 1000, source: 'retry-after' },
    );
    assert.deepEqual(
      retryDelay({}, 1, () => 0, now),
      { ms: 1000, source: 'backoff' },
    );
  });
});

test('docs/resilience.md has one row per error type, identical to ERROR_OUTCOMES', () => {
  const doc = readFileSync(new URL('../../docs/resilience.md', import.meta.url), 'utf8');
  const block = doc.split('<!-- error-outcomes:start')[1]?.split('<!-- error-outcomes:end')[0];
  assert.ok(block, 'docs/resilience.md has the error-outcomes block');
  const rows = Object.fromEntries(
    [...block.matchAll(/^\| `([a-z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]),
  );
  assert.deepEqual(rows, ERROR_OUTCOMES);
  assert.equal(Object.keys(ERROR_OUTCOMES).length, 10);
});
