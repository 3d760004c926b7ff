import { type Scenario, sleep } from '../lib/harness.ts';

/** Every connection to the limits' Redis is reset (RST) every 200 ms for 2 s under load. */
export const redisReset: Scenario = {
  name: 'redis-reset',
  quick: false,
  promise:
    'Connection resets cost at most a degraded (fail-open) answer: every request is answered, none hangs, no 5xx; the store reconnects on its own.',
  async run(ctx) {
    const redis = await ctx.redis();
    const proxy = await ctx.proxy(redis.port);
    const gw = await ctx.startGateway(
      ctx.writeConfig({
        state: `redis://127.0.0.1:${proxy.port}/0`,
        clientLimits: { rpm: 1_000_000, budget: { daily_usd: 1_000 } },
      }),
    );
    const load = ctx.load(gw.url);
    await sleep(1_000);
    for (let i = 0; i < 10; i++) {
      proxy.reset();
      await sleep(200);
    }
    ctx.figure('resets', 10);
    const back = await ctx.waitFor(
      async () => (await ctx.readyz(gw.url)) === 200,
      10_000,
      '/readyz 200 after',
    );
    ctx.figure('readyz 200 after the last reset, ms', back);
    await sleep(1_000);
    await load.stop();
  },
};
