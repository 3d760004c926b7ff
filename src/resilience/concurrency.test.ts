import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConcurrencyLimiter, LoadShedError } from './concurrency.ts';

test('a slot per request, a bounded queue, shed beyond it, released slots go to the queue', async () => {
  const l = new ConcurrencyLimiter(2, 1, 5_000);
  const a = await l.acquire();
  const b = await l.acquire();
  const queued = l.acquire();
  assert.equal(l.queued, 1);
  await assert.rejects(l.acquire(), (e: unknown) => e instanceof LoadShedError && e.reason === 'queue_full');
  a();
  a(); // idempotent
  const c = await queued;
  assert.equal(l.active, 2);
  b();
  c();
  assert.equal(l.active, 0);
});

test('a queued request is shed after the queue timeout, or leaves when its client aborts', async () => {
  const l = new ConcurrencyLimiter(1, 5, 30);
  const a = await l.acquire();
  await assert.rejects(
    l.acquire(),
    (e: unknown) => e instanceof LoadShedError && e.reason === 'queue_timeout',
  );
  const ctl = new AbortController();
  const waiting = l.acquire(ctl.signal);
  ctl.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(l.queued, 0);
  a();
  assert.equal(l.active, 0);
});
