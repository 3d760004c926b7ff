import { type Scenario, sleep } from '../lib/harness.ts';

/** The limits' Redis stops answering (connections open, nothing comes back) under load. */
export const redisBlackholed: Scenario = {
  name: 'redis-blackholed',
  quick: true,
  promise:
    'A Redis that accepts and never answers is a down Redis: each store call fails within `limits.store_timeout_ms`, requests are answered (fail open), none hangs, no 5xx; `/readyz` 503 while it lasts, 200 after.',
  async run(ctx) {
    const redis = await ctx.redis();
    const proxy = await ctx.proxy(redis.port);
    const gw = await ctx.startGateway(
      ctx.writeConfig({
        state: `redis://127.0.0.1:${proxy.port}/0`,
        limits: { store_timeout_ms: 250 },
        clientLimits: { rpm: 1_000_000, budget: { daily_usd: 1_000 } },
      }),
    );
    const load = ctx.load(gw.url);
    await sleep(1_000);
    await proxy.setMode('blackhole');
    const t0 = Date.now();
    const down = await ctx.waitFor(async () => (await ctx.readyz(gw.url)) === 503, 5_000, '/readyz 503');
    ctx.figure('readyz 503 after blackhole, ms', down);
    await sleep(2_000);
    const during = load.records.filter((r) => r.sentAt >= t0 && r.outcome === 'answered');
    ctx.figure('answered while blackholed', during.length);
    ctx.figure(
      'slowest answer while blackholed, ms',
      Math.max(0, ...during.map((r) => r.endedAt - r.sentAt)),
    );
    proxy.reset();
    await proxy.setMode('pass');
    const back = await ctx.waitFor(
      async () => (await ctx.readyz(gw.url)) === 200,
      10_000,
      '/readyz 200 after',
    );
    ctx.figure('readyz 200 after restore, ms', back);
    await sleep(500);
  },
};
