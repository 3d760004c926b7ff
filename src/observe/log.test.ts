import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { isoTimestamp } from './log.ts';

test('isoTimestamp writes the same text as pino.stdTimeFunctions.isoTime', (t) => {
  for (const now of [
    Date.UTC(2026, 10, 28, 3, 1, 20, 5),
    Date.UTC(2026, 10, 28, 3, 1, 20, 45),
    Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    Date.UTC(2027, 0, 1, 0, 0, 0, 0),
  ]) {
    t.mock.timers.enable({ apis: ['Date'], now });
    assert.equal(isoTimestamp(), pino.stdTimeFunctions.isoTime());
    t.mock.timers.reset();
  }
});
