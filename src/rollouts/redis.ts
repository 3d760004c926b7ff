/**
 * The rollout store in Redis (`storage.state: redis://…`), shared by every
 * replica, under `limits.key_prefix` (one prefix per deployment):
 *
 * | key | type | holds |
 * |---|---|---|
 * | `<prefix>rollout:<id>` | hash | `v` (version), `s` (the state as JSON); never expires |
 * | `<prefix>rollout:<id>:w:<bucket start>` | hash | counts of both arms in one window bucket; expires after two windows |
 * | `<prefix>rollout:<id>:s:<run>:<step>` | hash | requests per arm in one step of one run |
 *
 * A state write is one Lua script (compare the version, then set), so of two
 * replicas deciding at once exactly one lands. Counts are `HINCRBY`s in one
 * pipeline. Like the limits' store, commands are never queued while Redis is
 * unreachable: they fail at once, and the caller keeps its last known state.
 */
import { Redis } from 'ioredis';
import { ARMS, type ArmCounts, type ArmName } from './counts.ts';
import type { RolloutState } from './state.ts';
import { addFields, type BucketAdd, emptyArms, fieldsOf, type RolloutStore, type StepAdd } from './store.ts';

/** KEYS[1]: the state hash. ARGV: expected version, new version, state JSON. */
const WRITE = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
return 1
`;

export interface RedisRolloutStoreOptions {
  url: string;
  keyPrefix: string;
  commandTimeoutMs?: number;
  onError?: (err: Error) => void;
}

export class RedisRolloutStore implements RolloutStore {
  readonly kind = 'redis' as const;
  readonly redis: Redis;
  readonly #prefix: string;

  constructor(o: RedisRolloutStoreOptions) {
    const password = process.env.REDIS_PASSWORD;
    this.#prefix = `${o.keyPrefix}rollout:`;
    this.redis = new Redis(o.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: o.commandTimeoutMs ?? 1_000,
      keepAlive: 10_000,
      retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
      ...(password ? { password } : {}),
    });
    this.redis.on('error', (err: Error) => o.onError?.(err));
    this.redis.defineCommand('gantryRolloutWrite', { numberOfKeys: 1, lua: WRITE });
  }

  /** Resolves true once connected, false after `ms`. */
  ready(ms: number): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.redis.once('ready', onReady);
    });
  }

  async read(ids: readonly string[]): Promise<Map<string, RolloutState>> {
    const out = new Map<string, RolloutState>();
    if (ids.length === 0) return out;
    const p = this.redis.pipeline();
    for (const id of ids) p.hget(this.#prefix + id, 's');
    const results = (await p.exec()) ?? [];
    results.forEach(([err, value], i) => {
      if (err) throw err;
      if (typeof value === 'string') out.set(ids[i], JSON.parse(value) as RolloutState);
    });
    return out;
  }

  async write(next: RolloutState, expected: number): Promise<boolean> {
    const run = (this.redis as unknown as { gantryRolloutWrite: (...a: unknown[]) => Promise<number> })
      .gantryRolloutWrite;
    const ok = await run.call(
      this.redis,
      this.#prefix + next.id,
      expected,
      next.version,
      JSON.stringify(next),
    );
    return Number(ok) === 1;
  }

  async add(
    id: string,
    buckets: readonly BucketAdd[],
    steps: readonly StepAdd[],
    ttl: { bucketTtlMs: number; stepTtlMs: number },
  ): Promise<void> {
    if (buckets.length === 0 && steps.length === 0) return;
    const p = this.redis.pipeline();
    for (const b of buckets) {
      const key = `${this.#prefix}${id}:w:${b.bucket}`;
      for (const [f, n] of fieldsOf(b.arm, b.counts)) p.hincrby(key, f, n);
      p.pexpire(key, ttl.bucketTtlMs);
    }
    for (const s of steps) {
      const key = `${this.#prefix}${id}:s:${s.key}`;
      p.hincrby(key, s.arm, s.n);
      p.pexpire(key, ttl.stepTtlMs);
    }
    const results = (await p.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  async window(id: string, buckets: readonly number[]): Promise<Record<ArmName, ArmCounts>> {
    const out = emptyArms();
    if (buckets.length === 0) return out;
    const p = this.redis.pipeline();
    for (const b of buckets) p.hgetall(`${this.#prefix}${id}:w:${b}`);
    const results = (await p.exec()) ?? [];
    for (const [err, value] of results) {
      if (err) throw err;
      addFields(out, Object.entries((value ?? {}) as Record<string, string>));
    }
    return out;
  }

  async stepCounts(id: string, key: string): Promise<Record<ArmName, number>> {
    const h = await this.redis.hgetall(`${this.#prefix}${id}:s:${key}`);
    return Object.fromEntries(ARMS.map((a) => [a, Number(h[a] ?? 0)])) as Record<ArmName, number>;
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
