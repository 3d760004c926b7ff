import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryBudget } from './budget.ts';

test('retries stay within ratio * requests + minRetries per window, and the window slides', () => {
  let now = 0;
  const budget = new RetryBudget({ ratio: 0.2, minRetries: 2, windowMs: 10_000, now: () => now });
  for (let i = 0; i < 100; i++) budget.recordRequest();
  let granted = 0;
  for (let i = 0; i < 100; i++) if (budget.tryRetry()) granted++;
  assert.equal(granted, 22);
  now += 5_000;
  assert.equal(budget.tryRetry(), false, 'still inside the window');
  now += 6_000;
  assert.deepEqual(budget.snapshot(), { requests: 0, retries: 0 }, 'the window moved past them');
  assert.equal(budget.tryRetry(), true, 'minRetries allow a quiet gateway to retry');
});
