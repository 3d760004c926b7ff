import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type DecisionState, decide, type FailedAttempt } from './decide.ts';

const state = (o: Partial<DecisionState> = {}): DecisionState => ({
  attempts: 1,
  maxAttempts: 3,
  delayedRetries: 0,
  now: 1_000,
  deadline: 600_000,
  maxRetryDelayMs: 60_000,
  otherKeyAvailable: false,
  nextTargetAvailable: false,
  keyRotatedInFlight: false,
  wallClock: Date.UTC(2026, 0, 1),
  random: () => 0,
  ...o,
});
const status = (s: number, headers: Record<string, string> = {}): FailedAttempt => ({
  kind: 'status',
  status: s,
  headers,
});

test('a client that went away ends it, whatever else holds', () => {
  assert.deepEqual(decide({ kind: 'error', aborted: true }, state({ otherKeyAvailable: true })), {
    next: 'give_up',
    why: 'aborted',
  });
});

test('x-should-retry: false ends it even for a 529 with fallbacks left', () => {
  const d = decide(status(529, { 'x-should-retry': 'false' }), state({ nextTargetAvailable: true }));
  assert.deepEqual(d, { next: 'give_up', why: 'not_retryable' });
});

test('401/403 take the key out and try the next one; a key rotated in flight is tried again', () => {
  assert.deepEqual(decide(status(401), state()), { next: 'other_key', takeOut: true });
  assert.deepEqual(decide(status(403), state({ attempts: 3 })), { next: 'other_key', takeOut: true });
  assert.deepEqual(decide(status(401), state({ keyRotatedInFlight: true })), { next: 'same_key' });
});

test('4xx the SDK does not retry are passed through', () => {
  for (const s of [400, 404, 413, 422]) assert.equal(decide(status(s), state()).next, 'give_up');
});

test('429 goes to another key at once; without one it waits retry-after', () => {
  assert.deepEqual(decide(status(429), state({ otherKeyAvailable: true })), {
    next: 'other_key',
    takeOut: false,
  });
  assert.deepEqual(decide(status(429, { 'retry-after': '2' }), state()), {
    next: 'retry',
    delayMs: 2_000,
    source: 'retry-after',
  });
});

test('529 walks the fallback chain first, then backs off', () => {
  assert.deepEqual(decide(status(529), state({ nextTargetAvailable: true })), { next: 'next_target' });
  assert.deepEqual(decide(status(529), state()), { next: 'retry', delayMs: 500, source: 'backoff' });
  assert.deepEqual(decide(status(529), state({ delayedRetries: 2 })), {
    next: 'retry',
    delayMs: 2_000,
    source: 'backoff',
  });
});

test('retry-after-ms wins over retry-after; an HTTP date counts from the wall clock', () => {
  const wall = Date.UTC(2026, 0, 1, 0, 0, 0);
  assert.deepEqual(decide(status(500, { 'retry-after-ms': '150', 'retry-after': '9' }), state()), {
    next: 'retry',
    delayMs: 150,
    source: 'retry-after-ms',
  });
  const date = new Date(wall + 3_000).toUTCString();
  assert.deepEqual(decide(status(503, { 'retry-after': date }), state({ wallClock: wall })), {
    next: 'retry',
    delayMs: 3_000,
    source: 'retry-after',
  });
});

test('no attempts left, a delay over the cap, or past the deadline: it ends', () => {
  assert.deepEqual(decide(status(500), state({ attempts: 3 })), { next: 'give_up', why: 'no_attempts_left' });
  assert.deepEqual(decide(status(429, { 'retry-after': '120' }), state()), {
    next: 'give_up',
    why: 'delay_too_long',
  });
  assert.deepEqual(decide(status(500), state({ now: 10_000, deadline: 10_400 })), {
    next: 'give_up',
    why: 'delay_too_long',
  });
  // A connection error is retried like the SDK does.
  assert.equal(decide({ kind: 'error', aborted: false }, state()).next, 'retry');
});

test('property: a retry never sleeps past the deadline nor beyond the cap, and never exceeds the attempts', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(408, 409, 429, 500, 502, 503, 504, 529),
      fc.record({
        attempts: fc.integer({ min: 1, max: 6 }),
        maxAttempts: fc.integer({ min: 1, max: 6 }),
        delayedRetries: fc.integer({ min: 0, max: 10 }),
        now: fc.integer({ min: 0, max: 1_000_000 }),
        budget: fc.integer({ min: 0, max: 120_000 }),
        maxRetryDelayMs: fc.integer({ min: 0, max: 120_000 }),
        retryAfter: fc.option(fc.integer({ min: 0, max: 200 })),
      }),
      (code, o) => {
        const headers: Record<string, string> =
          o.retryAfter === null ? {} : { 'retry-after': String(o.retryAfter) };
        const d = decide(
          status(code, headers),
          state({ ...o, deadline: o.now + o.budget, random: () => 0.5 }),
        );
        if (d.next === 'retry') {
          assert.ok(o.attempts < o.maxAttempts);
          assert.ok(d.delayMs <= o.maxRetryDelayMs);
          assert.ok(o.now + d.delayMs < o.now + o.budget);
        }
      },
    ),
  );
});
