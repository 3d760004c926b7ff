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
 * (`enableOfflineQueue: false`): they fail at once, or after the command
 * timeout when Redis accepts but does not answer (a blackholed link: two
 * timeouts in a row recycle the connection; TCP keep-alive is on), and the
 * limiter applies each scope's `on_store_error` choice. Keys expire on their
 * own (buckets when full again, budgets after their period, settled markers
 * after the settle window), so Redis holds only live state. Single Redis (or
 * a primary); Redis Cluster would need every key of a request in one hash
 * slot.
 */
import { Redis } from 'ioredis';
import type {
  BucketAdjust,
  BucketRef,
  BucketTake,
  BudgetRef,
  BudgetReserve,
  Lease,
  LeaseRef,
  ReserveResult,
  SettleResult,
  StateStore,
  TakeResult,
} from './store.ts';

/** Each budget's hash and lease set, in the order the budget scripts take them. */
function leaseKeys(budgets: readonly BudgetRef[]): string[] {
  const keys: string[] = [];
  for (const b of budgets) keys.push(b.key, `${b.key}:l`);
  return keys;
}

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

/**
 * Budgets: hash `<key>` holds `c` (committed), `s` (spent) and `r:<id>` (the
 * amount of each held reservation); sorted set `<key>:l` holds each held
 * reservation's id scored by the end of its lease (ms). A reservation
 * settled is remembered under `<prefix>settled:<id>` for the settle window.
 */
const SWEEP = `
local function sweep(h, z, now)
  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(gone) do
    local held = redis.call('HGET', h, 'r:' .. id)
    if held then
      redis.call('HINCRBY', h, 'c', -tonumber(held))
      redis.call('HDEL', h, 'r:' .. id)
    end
    redis.call('ZREM', z, id)
  end
  return #gone
end
`;

/**
 * KEYS: hash, lease set per budget. ARGV: now (-1: Redis time), amount, lease id, lease ms,
 * then limit, force (0/1), ttl seconds per budget. Returns ok, then committed, spent, swept per budget.
 */
const RESERVE = `${CLOCK}${SWEEP}
local amount = tonumber(ARGV[2])
local id = ARGV[3]
local leaseMs = tonumber(ARGV[4])
local n = #KEYS / 2
local ok = 1
local out = {}
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local swept = sweep(h, z, now)
  local v = redis.call('HMGET', h, 'c', 's')
  local base = 4 + 3 * (i - 1)
  if ARGV[base + 2] ~= '1' and tonumber(v[1] or '0') >= tonumber(ARGV[base + 1]) then ok = 0 end
  out[#out + 1] = v[1] or '0'
  out[#out + 1] = v[2] or '0'
  out[#out + 1] = swept
end
if ok == 1 then
  for i = 1, n do
    local h, z = KEYS[2 * i - 1], KEYS[2 * i]
    local ttl = tonumber(ARGV[4 + 3 * (i - 1) + 3])
    redis.call('HINCRBY', h, 'c', amount)
    redis.call('HSET', h, 'r:' .. id, amount)
    redis.call('ZADD', z, now + leaseMs, id)
    redis.call('EXPIRE', h, ttl)
    redis.call('EXPIRE', z, ttl)
  end
end
table.insert(out, 1, ok)
return out
`;

/** KEYS: hash, lease set per budget. ARGV: lease id, new amount. */
const REPRICE = `
for i = 1, #KEYS / 2 do
  local h = KEYS[2 * i - 1]
  local held = redis.call('HGET', h, 'r:' .. ARGV[1])
  if held then
    redis.call('HINCRBY', h, 'c', tonumber(ARGV[2]) - tonumber(held))
    redis.call('HSET', h, 'r:' .. ARGV[1], ARGV[2])
  end
end
return 1
`;

/** KEYS: lease sets (one per lease). ARGV: now, lease ms, then the lease id per key. Returns how many were held. */
const RENEW = `${CLOCK}
local n = 0
for i = 1, #KEYS do
  if redis.call('ZSCORE', KEYS[i], ARGV[2 + i]) then
    redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2]), ARGV[2 + i])
    n = n + 1
  end
end
return n
`;

/**
 * KEYS: hash, lease set per budget, then the settled marker. ARGV: lease id, actual, settle
 * window ms, then ttl seconds per budget. Returns duplicate (0/1), then spent before, after,
 * expired (0/1) per budget.
 */
const SETTLE = `
local n = (#KEYS - 1) / 2
local id = ARGV[1]
local actual = tonumber(ARGV[2])
local out = {}
if not redis.call('SET', KEYS[#KEYS], '1', 'PX', ARGV[3], 'NX') then
  for i = 1, n do
    local s = redis.call('HGET', KEYS[2 * i - 1], 's') or '0'
    out[#out + 1] = s
    out[#out + 1] = s
    out[#out + 1] = 0
  end
  table.insert(out, 1, 1)
  return out
end
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local before = redis.call('HGET', h, 's') or '0'
  local held = redis.call('HGET', h, 'r:' .. id)
  local expired = 1
  if held then
    redis.call('HINCRBY', h, 'c', actual - tonumber(held))
    redis.call('HDEL', h, 'r:' .. id)
    redis.call('ZREM', z, id)
    expired = 0
  else
    redis.call('HINCRBY', h, 'c', actual)
  end
  local after = redis.call('HINCRBY', h, 's', actual)
  redis.call('EXPIRE', h, tonumber(ARGV[3 + i]))
  out[#out + 1] = before
  out[#out + 1] = tostring(after)
  out[#out + 1] = expired
end
table.insert(out, 1, 0)
return out
`;

/** KEYS: budget hashes. ARGV: spent floor, ttl seconds per budget. Returns spent before, after. */
const RAISE_SPENT = `
local out = {}
for i = 1, #KEYS do
  local before = tonumber(redis.call('HGET', KEYS[i], 's') or '0')
  local floor = tonumber(ARGV[2 * i - 1])
  local after = before
  if floor > before then
    redis.call('HINCRBY', KEYS[i], 's', floor - before)
    redis.call('HINCRBY', KEYS[i], 'c', floor - before)
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2 * i]))
    after = floor
  end
  out[#out + 1] = tostring(before)
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
  gantryReprice: Script;
  gantryRenew: Script;
  gantrySettle: Script;
  gantryRaiseSpent: Script;
}

export interface RedisStoreOptions {
  /** `redis://host:port/db`; the password, if any, comes from `REDIS_PASSWORD`. */
  url: string;
  /** Called (throttled by the caller) on connection errors. */
  onError?: (err: Error) => void;
  connectTimeoutMs?: number;
  /** A command not answered within this fails (default 1,000 ms). */
  commandTimeoutMs?: number;
  /** Prefix of the keys the store makes itself (settled reservation markers); default `gantry:`. */
  keyPrefix?: string;
}

/** Idle delay before the first TCP keep-alive probe. */
const KEEPALIVE_DELAY_MS = 10_000;

export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly redis: Redis;
  readonly #s: Scripted;
  readonly #prefix: string;
  /** Commands timed out in a row: the connection is recycled after two (a blackholed link never closes). */
  #timeouts = 0;
  #lastRecycle = 0;

  constructor(options: RedisStoreOptions) {
    const password = process.env.REDIS_PASSWORD;
    this.#prefix = options.keyPrefix ?? 'gantry:';
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      // A server that accepts and never answers fails every command in time (also the ready check,
      // which makes ioredis reconnect) instead of holding it forever.
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      keepAlive: KEEPALIVE_DELAY_MS,
      retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
      ...(password ? { password } : {}),
    });
    this.redis.on('error', (err: Error) => options.onError?.(err));
    this.redis.defineCommand('gantryTake', { lua: TAKE });
    this.redis.defineCommand('gantryAdjust', { lua: ADJUST });
    this.redis.defineCommand('gantryPeek', { lua: PEEK });
    this.redis.defineCommand('gantryReserve', { lua: RESERVE });
    this.redis.defineCommand('gantryReprice', { lua: REPRICE });
    this.redis.defineCommand('gantryRenew', { lua: RENEW });
    this.redis.defineCommand('gantrySettle', { lua: SETTLE });
    this.redis.defineCommand('gantryRaiseSpent', { lua: RAISE_SPENT });
    this.#s = this.redis as unknown as Scripted;
  }

  /**
   * Runs a command: a success resets the timeout count; two timeouts in a
   * row recycle the connection (its replies are not coming: a blackholed link
   * stays open forever), at most once a second.
   */
  async #run<T>(command: Promise<T>): Promise<T> {
    try {
      const value = await command;
      this.#timeouts = 0;
      return value;
    } catch (err) {
      if ((err as Error)?.message === 'Command timed out' && ++this.#timeouts >= 2) {
        const now = Date.now();
        if (now - this.#lastRecycle >= 1_000 && this.redis.status === 'ready') {
          this.#lastRecycle = now;
          this.#timeouts = 0;
          this.redis.disconnect(true);
        }
      }
      throw err;
    }
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
    const out = (await this.#run(
      this.#s.gantryTake(buckets.length, ...buckets.map((b) => b.key), ...args),
    )) as [number, string, ...string[]];
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
    await this.#run(this.#s.gantryAdjust(buckets.length, ...buckets.map((b) => b.key), ...args));
  }

  async peek(buckets: readonly BucketRef[], now = -1): Promise<number[]> {
    if (buckets.length === 0) return [];
    const args: (string | number)[] = [now];
    for (const b of buckets) args.push(b.capacity, b.ratePerMs);
    const out = (await this.#run(
      this.#s.gantryPeek(buckets.length, ...buckets.map((b) => b.key), ...args),
    )) as string[];
    return out.map(Number);
  }

  async reserve(
    budgets: readonly BudgetReserve[],
    amount: number,
    lease: Lease,
    now = -1,
  ): Promise<ReserveResult> {
    const args: (string | number)[] = [now, Math.round(amount), lease.id, Math.round(lease.ttlMs)];
    for (const b of budgets) args.push(b.limit, b.force ? 1 : 0, b.ttlSec);
    const out = (await this.#run(
      this.#s.gantryReserve(budgets.length * 2, ...leaseKeys(budgets), ...args),
    )) as [number, ...Array<string | number>];
    const committed: number[] = [];
    const spent: number[] = [];
    const swept: number[] = [];
    for (let i = 0; i < budgets.length; i++) {
      committed.push(Number(out[1 + 3 * i]));
      spent.push(Number(out[2 + 3 * i]));
      swept.push(Number(out[3 + 3 * i]));
    }
    return { ok: out[0] === 1, committed, spent, swept };
  }

  async reprice(budgets: readonly BudgetRef[], id: string, amount: number): Promise<void> {
    if (budgets.length === 0) return;
    await this.#run(this.#s.gantryReprice(budgets.length * 2, ...leaseKeys(budgets), id, Math.round(amount)));
  }

  async renew(leases: readonly LeaseRef[], ttlMs: number, now = -1): Promise<number> {
    if (leases.length === 0) return 0;
    const out = await this.#run(
      this.#s.gantryRenew(
        leases.length,
        ...leases.map((l) => `${l.key}:l`),
        now,
        Math.round(ttlMs),
        ...leases.map((l) => l.id),
      ),
    );
    return Number(out);
  }

  async settle(
    budgets: readonly BudgetRef[],
    id: string,
    actual: number,
    doneTtlMs: number,
  ): Promise<SettleResult> {
    const out = (await this.#run(
      this.#s.gantrySettle(
        budgets.length * 2 + 1,
        ...leaseKeys(budgets),
        `${this.#prefix}settled:${id}`,
        id,
        Math.round(actual),
        Math.round(doneTtlMs),
        ...budgets.map((b) => b.ttlSec),
      ),
    )) as [number, ...Array<string | number>];
    const spentBefore: number[] = [];
    const spentAfter: number[] = [];
    const expired: boolean[] = [];
    for (let i = 0; i < budgets.length; i++) {
      spentBefore.push(Number(out[1 + 3 * i]));
      spentAfter.push(Number(out[2 + 3 * i]));
      expired.push(Number(out[3 + 3 * i]) === 1);
    }
    return { duplicate: out[0] === 1, spentBefore, spentAfter, expired };
  }

  async raiseSpent(
    budgets: ReadonlyArray<BudgetRef & { spent: number }>,
  ): Promise<{ before: number[]; after: number[] }> {
    if (budgets.length === 0) return { before: [], after: [] };
    const args: (string | number)[] = [];
    for (const b of budgets) args.push(Math.round(b.spent), b.ttlSec);
    const out = (await this.#run(
      this.#s.gantryRaiseSpent(budgets.length, ...budgets.map((b) => b.key), ...args),
    )) as string[];
    const before: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < budgets.length; i++) {
      before.push(Number(out[2 * i]));
      after.push(Number(out[2 * i + 1]));
    }
    return { before, after };
  }

  async readBudgets(keys: readonly string[]): Promise<{ committed: number[]; spent: number[] }> {
    const pipeline = this.redis.pipeline();
    for (const k of keys) pipeline.hmget(k, 'c', 's');
    const results = (await this.#run(pipeline.exec())) ?? [];
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
