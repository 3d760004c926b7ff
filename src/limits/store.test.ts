/**
 * One suite, two stores: the memory store and the Redis store (real server at
 * 127.0.0.1:6379, unique key prefix per run). Time is passed explicitly, so the
 * Lua scripts are checked against the same fake clock as the memory store.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { levelAt, msUntilFull, waitMs } from './bucket.ts';
import { MemoryStore } from './memory.ts';
import { RedisStore } from './redis.ts';
import type { StateStore } from './store.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';

describe('bucket math (fake clock)', () => {
  const rate = 60 / 60_000; // 60 per minute
  test('a missing bucket is full; refill is continuous and capped', () => {
    assert.equal(levelAt(undefined, 5, 60, rate), 60);
    assert.equal(levelAt({ level: 0, ts: 0 }, 30_000, 60, rate), 30);
    assert.equal(levelAt({ level: 0, ts: 0 }, 1_000, 60, rate), 1);
    assert.equal(levelAt({ level: 10, ts: 0 }, 10 * 60_000, 60, rate), 60);
  });
  test('debt refills too; a clock going backwards refills nothing', () => {
    assert.equal(levelAt({ level: -30, ts: 0 }, 60_000, 60, rate), 30);
    assert.equal(levelAt({ level: 5, ts: 1_000 }, 500, 60, rate), 5);
  });
  test('wait and time to full', () => {
    assert.equal(waitMs(0.5, 1, rate), 500);
    assert.equal(waitMs(3, 1, rate), 0);
    assert.equal(msUntilFull(30, 60, rate), 30_000);
  });
});

function storeSuite(name: string, make: () => StateStore) {
  describe(`${name} store`, () => {
    const store = make();
    const prefix = `gantry-test:${randomUUID()}:`;
    let n = 0;
    const key = () => `${prefix}${n++}`;
    before(async () => {
      if (store instanceof RedisStore) assert.ok(await store.ready(3_000), 'redis reachable');
    });
    after(() => store.close());
    const rpm = (k: string, cap = 60) => ({ key: k, capacity: cap, ratePerMs: cap / 60_000 });

    test('takes from a full bucket and refills continuously', async () => {
      const b = rpm(key(), 3);
      const t0 = 1_000_000;
      for (let i = 0; i < 3; i++) assert.equal((await store.take([{ ...b, cost: 1 }], t0)).ok, true);
      const refused = await store.take([{ ...b, cost: 1 }], t0);
      assert.equal(refused.ok, false);
      assert.equal(refused.waitMs[0], 20_000); // 3/min: one token every 20 s
      assert.equal((await store.take([{ ...b, cost: 1 }], t0 + 19_999)).ok, false);
      assert.equal((await store.take([{ ...b, cost: 1 }], t0 + 20_000)).ok, true);
      assert.deepEqual(await store.peek([b], t0 + 20_000 + 30_000), [1.5]);
    });

    test('all or nothing across buckets', async () => {
      const a = rpm(key(), 10);
      const b = rpm(key(), 10);
      const t0 = 2_000_000;
      assert.equal((await store.take([{ ...b, cost: 8 }], t0)).ok, true);
      const r = await store.take(
        [
          { ...a, cost: 5 },
          { ...b, cost: 5 },
        ],
        t0,
      );
      assert.equal(r.ok, false);
      assert.equal(r.waitMs[0], 0);
      assert.equal(r.waitMs[1], 18_000);
      assert.deepEqual(await store.peek([a, b], t0), [10, 2]); // a untouched
    });

    test('refunds are capped at the capacity; charges may go into debt', async () => {
      const b = rpm(key(), 100);
      const t0 = 3_000_000;
      await store.take([{ ...b, cost: 90 }], t0);
      await store.adjust([{ ...b, delta: 50 }], t0);
      assert.deepEqual(await store.peek([b], t0), [60]);
      await store.adjust([{ ...b, delta: 500 }], t0);
      assert.deepEqual(await store.peek([b], t0), [100]);
      await store.adjust([{ ...b, delta: -150 }], t0);
      assert.deepEqual(await store.peek([b], t0), [-50]);
      const r = await store.take([{ ...b, cost: 1 }], t0);
      assert.equal(r.ok, false);
      assert.equal(Math.round(r.waitMs[0]), 51 * 600); // 100/min: 600 ms a token
    });

    test('budgets: reserve while committed < limit, all or nothing, forced reservations', async () => {
      const a = { key: key(), limit: 100, force: false, ttlSec: 60 };
      const b = { key: key(), limit: 1_000, force: false, ttlSec: 60 };
      const lease = () => ({ id: randomUUID(), ttlMs: 60_000 });
      assert.equal((await store.reserve([a, b], 60, lease())).ok, true);
      assert.equal((await store.reserve([a, b], 60, lease())).ok, true); // committed 60 < 100: admitted, overshoots once
      const refused = await store.reserve([a, b], 60, lease());
      assert.equal(refused.ok, false);
      assert.deepEqual(refused.committed, [120, 120]);
      assert.deepEqual((await store.readBudgets([a.key, b.key])).committed, [120, 120]);
      const forced = lease();
      assert.equal((await store.reserve([{ ...a, force: true }, b], 60, forced)).ok, true);
      const settled = await store.settle([a], forced.id, 10, 60_000);
      assert.deepEqual(settled, { duplicate: false, spentBefore: [0], spentAfter: [10], expired: [false] });
      assert.deepEqual(await store.readBudgets([a.key]), { committed: [130], spent: [10] });
    });

    test('leases: an expired reservation is swept by the next one; a renewed one is kept', async () => {
      const a = { key: key(), limit: 100, force: false, ttlSec: 60 };
      const t0 = 5_000_000;
      const l1 = { id: randomUUID(), ttlMs: 1_000 };
      const l2 = { id: randomUUID(), ttlMs: 1_000 };
      assert.equal((await store.reserve([a], 60, l1, t0)).ok, true);
      assert.equal((await store.reserve([a], 60, l2, t0)).ok, true);
      assert.equal((await store.reserve([a], 60, { id: randomUUID(), ttlMs: 1_000 }, t0 + 500)).ok, false);
      // l2's request is still running: its process renews the lease; l1's process died.
      assert.equal(
        await store.renew(
          [
            { key: a.key, id: l2.id },
            { key: a.key, id: 'gone' },
          ],
          1_000,
          t0 + 900,
        ),
        1,
      );
      const r3 = await store.reserve([a], 10, { id: randomUUID(), ttlMs: 1_000 }, t0 + 1_500);
      assert.deepEqual([r3.ok, r3.committed, r3.swept], [true, [60], [1]]); // l1 swept, l2 held
      const r4 = await store.reserve([a], 5, { id: randomUUID(), ttlMs: 1_000 }, t0 + 2_000);
      assert.deepEqual([r4.ok, r4.committed, r4.swept], [true, [10], [1]]); // l2 swept too
      assert.deepEqual(await store.readBudgets([a.key]), { committed: [15], spent: [0] });
    });

    test('settle is idempotent on the lease id; after the lease expired it counts the spend once', async () => {
      const a = { key: key(), limit: 1_000, force: false, ttlSec: 60 };
      const b = { key: key(), limit: 1_000, force: false, ttlSec: 60 };
      const l1 = { id: randomUUID(), ttlMs: 60_000 };
      await store.reserve([a, b], 100, l1);
      assert.deepEqual(await store.settle([a, b], l1.id, 40, 60_000), {
        duplicate: false,
        spentBefore: [0, 0],
        spentAfter: [40, 40],
        expired: [false, false],
      });
      // A retry after a lost answer changes nothing.
      assert.deepEqual(await store.settle([a, b], l1.id, 40, 60_000), {
        duplicate: true,
        spentBefore: [40, 40],
        spentAfter: [40, 40],
        expired: [false, false],
      });
      assert.deepEqual(await store.readBudgets([a.key, b.key]), { committed: [40, 40], spent: [40, 40] });
      // A reservation swept before its settlement arrives: committed no longer holds it, the spend still counts.
      const now = Date.now();
      const l2 = { id: randomUUID(), ttlMs: 1_000 };
      await store.reserve([a], 100, l2, now - 5_000);
      await store.reserve([a], 0, { id: randomUUID(), ttlMs: 1_000 }, now); // sweeps l2
      assert.deepEqual((await store.settle([a], l2.id, 30, 60_000)).expired, [true]);
      assert.deepEqual(await store.readBudgets([a.key]), { committed: [70], spent: [70] });
    });

    test('reprice changes a held reservation; raiseSpent only ever raises', async () => {
      const a = { key: key(), limit: 1_000, force: false, ttlSec: 60 };
      const l1 = { id: randomUUID(), ttlMs: 60_000 };
      await store.reserve([a], 100, l1);
      await store.reprice([a], l1.id, 30);
      await store.reprice([a], 'not-held', 500);
      assert.deepEqual(await store.readBudgets([a.key]), { committed: [30], spent: [0] });
      await store.settle([a], l1.id, 20, 60_000);
      assert.deepEqual(await store.raiseSpent([{ ...a, spent: 50 }]), { before: [20], after: [50] });
      assert.deepEqual(await store.raiseSpent([{ ...a, spent: 10 }]), { before: [50], after: [50] });
      assert.deepEqual(await store.readBudgets([a.key]), { committed: [50], spent: [50] });
    });
  });
}

storeSuite('memory', () => new MemoryStore({ sweepMs: 0 }));
storeSuite('redis', () => new RedisStore({ url: REDIS_URL, keyPrefix: `gantry-test:${randomUUID()}:` }));

test('memory store sweeps entries past their time to live', async () => {
  let now = 0;
  const store = new MemoryStore({ now: () => now, sweepMs: 0 });
  await store.take([{ key: 'k', capacity: 60, ratePerMs: 0.001, cost: 60 }]);
  await store.reserve([{ key: 'b', limit: 10, force: false, ttlSec: 1 }], 5, { id: 'r1', ttlMs: 1_000 });
  assert.equal(store.sweep(), 2);
  now = 60_000 + 60_001;
  assert.equal(store.sweep(), 0);
});
