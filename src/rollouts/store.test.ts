/**
 * Both rollout stores pass one suite (memory, and the real Redis under a key
 * prefix of its own): a state write lands only on the version it read, so of
 * two concurrent deciders exactly one wins; counts added by several writers
 * sum up per window bucket and per step.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { bucketOf, emptyCounts } from './counts.ts';
import { RedisRolloutStore } from './redis.ts';
import { initialState } from './state.ts';
import { MemoryRolloutStore, type RolloutStore } from './store.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const prefix = `gantry-test:${randomUUID()}:`;
const redis = new RedisRolloutStore({ url: REDIS_URL, keyPrefix: prefix });
const redisUp = await redis.ready(2_000);

after(async () => {
  if (redisUp) {
    const keys = await redis.redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.redis.del(...keys);
  }
  await redis.close();
});

const stores: Array<[string, () => RolloutStore, boolean]> = [
  ['memory', () => new MemoryRolloutStore(), false],
  ['redis', () => redis, !redisUp],
];

for (const [name, make, skip] of stores) {
  describe(`${name} rollout store`, { skip: skip && 'Redis is not reachable at 127.0.0.1:6379' }, () => {
    test('compare-and-set: one of two writers on the same version lands', async () => {
      const store = make();
      const id = `r-${randomUUID()}`;
      assert.equal((await store.read([id])).size, 0);
      const s0 = initialState(id);
      const a = { ...s0, status: 'running' as const, version: 1 };
      const b = { ...s0, status: 'aborted' as const, version: 1 };
      const results = await Promise.all([store.write(a, 0), store.write(b, 0)]);
      assert.deepEqual(results.sort(), [false, true]);
      const read = (await store.read([id])).get(id)!;
      assert.equal(read.version, 1);
      assert.ok(read.status === 'running' || read.status === 'aborted');
      assert.equal(
        await store.write({ ...read, step: 2, version: 2 }, 0),
        false,
        'a stale version is refused',
      );
      assert.equal(await store.write({ ...read, step: 2, version: 2 }, 1), true);
      assert.equal((await store.read([id])).get(id)!.step, 2);
    });

    test('counts from several writers add up per bucket, per arm and per step', async () => {
      const store = make();
      const id = `r-${randomUUID()}`;
      const ttl = { bucketTtlMs: 60_000, stepTtlMs: 60_000 };
      const c = emptyCounts();
      c.requests = 3;
      c.server = 1;
      c.costMicros = 1_500;
      c.latency[bucketOf(900)] = 3;
      c.ttft[bucketOf(200)] = 2;
      await Promise.all([
        store.add(
          id,
          [{ bucket: 1000, arm: 'candidate', counts: c }],
          [{ key: '7:0', arm: 'candidate', n: 3 }],
          ttl,
        ),
        store.add(
          id,
          [{ bucket: 1000, arm: 'candidate', counts: c }],
          [{ key: '7:0', arm: 'candidate', n: 3 }],
          ttl,
        ),
        store.add(
          id,
          [
            { bucket: 2000, arm: 'candidate', counts: c },
            { bucket: 2000, arm: 'baseline', counts: c },
          ],
          [{ key: '7:0', arm: 'baseline', n: 3 }],
          ttl,
        ),
      ]);
      const w = await store.window(id, [1000, 2000, 3000]);
      assert.equal(w.candidate.requests, 9);
      assert.equal(w.candidate.server, 3);
      assert.equal(w.candidate.costMicros, 4_500);
      assert.deepEqual(w.candidate.latency, { [bucketOf(900)]: 9 });
      assert.deepEqual(w.candidate.ttft, { [bucketOf(200)]: 6 });
      assert.equal(w.baseline.requests, 3);
      assert.equal((await store.window(id, [2000])).candidate.requests, 3);
      assert.deepEqual(await store.stepCounts(id, '7:0'), { baseline: 3, candidate: 6 });
      assert.deepEqual(await store.stepCounts(id, '7:1'), { baseline: 0, candidate: 0 });
    });
  });
}
