/**
 * Redis state store, shared by every gateway replica. Each operation is one
 * Lua script, so it is atomic over all its keys (a request takes from all its
 * buckets or none; a reservation lands in all its budgets or none) however
 * many replicas race. The scripts run the same math as `bucket.ts`.
 *
 * Time: by default the scripts read Redis's own clock (`TIME`), so replicas
 * with skewed clocks still share one timeline. Tests pass `now` explicitly.
 *
 * Failure: commands are never queued while Redis is unreachable
 * (`enableOfflineQueue: false`): they fail at once (or after the caller's
 * timeout), and the limiter applies each scope's `on_store_error` choice.
 * Keys expire on their own (buckets when full again, budgets after their
 * period), so Redis holds only live state. Single Redis (or a primary);
 * Redis Cluster would need every key of a request in one hash slot.
 */
import { Redis } from 'ioredis';
import type {
  AdjustResult,
  BucketAdjust,
  BucketRef,
  BucketTake,
  BudgetAdjust,
  BudgetReserve,
  ReserveResult,
  StateStore,
  TakeResult,
} from './store.ts';

const CLOCK = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function level_at(key, cap, rate)
  local h = redis.call('HMGET', key, 'l', 't')
  if not h[1] then return cap, now end
  local level = tonumber(h[1])
  local ts = tonumber(h[2])
  if now > ts then level = level + (now - ts) * rate end
  if level > cap then level = cap end
  if ts < now then ts = now end
  return level, ts
end
local function put(key, level, ts, cap, rate)
  local full = 0
  if level < cap then full = math.ceil((cap - level) / rate) end
  redis.call('HSET', key, 'l', string.format('%.17g', level), 't', string.format('%.17g', ts))
  redis.call('PEXPIRE', key, full + 60000)
end
`;

/** KEYS: buckets. ARGV: now (-1: Redis time), then capacity, rate, cost per bucket. */
const TAKE = `${CLOCK}
local n = #KEYS
local levels, stamps, waits = {}, {}, {}
local ok = 1
for i = 1, n do
  local cap = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  levels[i], stamps[i] = level_at(KEYS[i], cap, rate)
  if levels[i] >= cost then waits[i] = 0 else waits[i] = (cost - levels[i]) / rate; ok = 0 end
end
local out = { ok, string.format('%.17g', now) }
for i = 1, n do
  if ok == 1 then
    local cap = tonumber(ARGV[3 * i - 1])
    local rate = tonumber(ARGV[3 * i])
    levels[i] = levels[i] - tonumber(ARGV[3 * i + 1])
    put(KEYS[i], levels[i], stamps[i], cap, rate)
  end
  out[#out + 1] = string.format('%.17g', levels[i])
  out[#out + 1] = string.format('%.17g', waits[i])
end
return out
`;

/** KEYS: buckets. ARGV: now, then capacity, rate, delta per bucket. */
const ADJUST = `${CLOCK}
for i = 1, #KEYS do
  local cap = tonumber(ARGV[3 * i - 1])
  local rate = tonumber(ARGV[3 * i])
  local level, ts = level_at(KEYS[i], cap, rate)
  level = level + tonumber(ARGV[3 * i + 1])
  if level > cap then level = cap end
  put(KEYS[i], level, ts, cap, rate)
end
return 1
`;

/** KEYS: buckets. ARGV: now, then capacity, rate per bucket. Read-only. */
const PEEK = `${CLOCK}
local out = {}
for i = 1, #KEYS do
  local level = level_at(KEYS[i], tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]))
  out[i] = string.format('%.17g', level)
end
return out
`;

/** KEYS: budgets. ARGV: amount, then limit, force (0/1), ttl seconds per budget. */
const RESERVE = `
local amount = tonumber(ARGV[1])
local ok = 1
local out = {}
for i = 1, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'c', 's')
  local c = tonumber(h[1] or '0')
  local s = tonumber(h[2] or '0')
  if ARGV[3 * i] ~= '1' and c >= tonumber(ARGV[3 * i - 1]) then ok = 0 end
  out[#out + 1] = h[1] or '0'
  out[#out + 1] = h[2] or '0'
end
if ok == 1 then
  for i = 1, #KEYS do
    redis.call('HINCRBY', KEYS[i], 'c', amount)
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[3 * i + 1]))
  end
end
table.insert(out, 1, ok)
return out
`;

/** KEYS: budgets. ARGV: committed delta, spent delta, ttl seconds per budget. Returns spent before, after. */
const ADJUST_BUDGETS = `
local out = {}
for i = 1, #KEYS do
  local before = redis.call('HGET', KEYS[i], 's') or '0'
  redis.call('HINCRBY', KEYS[i], 'c', ARGV[3 * i - 2])
  local after = redis.call('HINCRBY', KEYS[i], 's', ARGV[3 * i - 1])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[3 * i]))
  out[#out + 1] = before
  out[#out + 1] = tostring(after)
end
return out
`;

type Script = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;
interface Scripted {
  gantryTake: Script;
  gantryAdjust: Script;
  gantryPeek: Script;
  gantryReserve: Script;
  gantryAdjustBudgets: Script;
}

export interface RedisStoreOptions {
  /** `redis://host:port/db`; the password, if any, comes from `REDIS_PASSWORD`. */
  url: string;
  /** Called (throttled by the caller) on connection errors. */
  onError?: (err: Error) => void;
  connectTimeoutMs?: number;
}

export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly redis: Redis;
  readonly #s: Scripted;

  constructor(options: RedisStoreOptions) {
    const password = process.env.REDIS_PASSWORD;
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
      ...(password ? { password } : {}),
    });
    this.redis.on('error', (err: Error) => options.onError?.(err));
    this.redis.defineCommand('gantryTake', { lua: TAKE });
    this.redis.defineCommand('gantryAdjust', { lua: ADJUST });
    this.redis.defineCommand('gantryPeek', { lua: PEEK });
    this.redis.defineCommand('gantryReserve', { lua: RESERVE });
    this.redis.defineCommand('gantryAdjustBudgets', { lua: ADJUST_BUDGETS });
    this.#s = this.redis as unknown as Scripted;
  }

  /** True once connected; false on the first connection error or after `ms` (calls then fail until Redis is back). */
  ready(ms: number): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        this.redis.off('error', onError);
        resolve(ok);
      };
      const onReady = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      this.redis.once('ready', onReady);
      this.redis.once('error', onError);
    });
  }

  async take(buckets: readonly BucketTake[], now = -1): Promise<TakeResult> {
    const args: (string | number)[] = [now];
    for (const b of buckets) args.push(b.capacity, b.ratePerMs, b.cost);
    const out = (await this.#s.gantryTake(buckets.length, ...buckets.map((b) => b.key), ...args)) as [
      number,
      string,
      ...string[],
    ];
    const levels: number[] = [];
    const waitMs: number[] = [];
    for (let i = 0; i < buckets.length; i++) {
      levels.push(Number(out[2 + 2 * i]));
      waitMs.push(Number(out[3 + 2 * i]));
    }
    return { ok: out[0] === 1, now: Number(out[1]), levels, waitMs };
  }

  async adjust(buckets: readonly BucketAdjust[], now = -1): Promise<void> {
    if (buckets.length === 0) return;
    const args: (string | number)[] = [now];
    for (const b of buckets) args.push(b.capacity, b.ratePerMs, b.delta);
    await this.#s.gantryAdjust(buckets.length, ...buckets.map((b) => b.key), ...args);
  }

  async peek(buckets: readonly BucketRef[], now = -1): Promise<number[]> {
    if (buckets.length === 0) return [];
    const args: (string | number)[] = [now];
    for (const b of buckets) args.push(b.capacity, b.ratePerMs);
    const out = (await this.#s.gantryPeek(buckets.length, ...buckets.map((b) => b.key), ...args)) as string[];
    return out.map(Number);
  }

  async reserve(budgets: readonly BudgetReserve[], amount: number): Promise<ReserveResult> {
    const args: (string | number)[] = [Math.round(amount)];
    for (const b of budgets) args.push(b.limit, b.force ? 1 : 0, b.ttlSec);
    const out = (await this.#s.gantryReserve(budgets.length, ...budgets.map((b) => b.key), ...args)) as [
      number,
      ...string[],
    ];
    const committed: number[] = [];
    const spent: number[] = [];
    for (let i = 0; i < budgets.length; i++) {
      committed.push(Number(out[1 + 2 * i]));
      spent.push(Number(out[2 + 2 * i]));
    }
    return { ok: out[0] === 1, committed, spent };
  }

  async adjustBudgets(budgets: readonly BudgetAdjust[]): Promise<AdjustResult> {
    if (budgets.length === 0) return { spentBefore: [], spentAfter: [] };
    const args: (string | number)[] = [];
    for (const b of budgets) args.push(Math.round(b.committed), Math.round(b.spent), b.ttlSec);
    const out = (await this.#s.gantryAdjustBudgets(
      budgets.length,
      ...budgets.map((b) => b.key),
      ...args,
    )) as string[];
    const spentBefore: number[] = [];
    const spentAfter: number[] = [];
    for (let i = 0; i < budgets.length; i++) {
      spentBefore.push(Number(out[2 * i]));
      spentAfter.push(Number(out[2 * i + 1]));
    }
    return { spentBefore, spentAfter };
  }

  async readBudgets(keys: readonly string[]): Promise<{ committed: number[]; spent: number[] }> {
    const pipeline = this.redis.pipeline();
    for (const k of keys) pipeline.hmget(k, 'c', 's');
    const results = (await pipeline.exec()) ?? [];
    const committed: number[] = [];
    const spent: number[] = [];
    for (const [err, value] of results) {
      if (err) throw err;
      const [c, s] = value as [string | null, string | null];
      committed.push(Number(c ?? 0));
      spent.push(Number(s ?? 0));
    }
    return { committed, spent };
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
