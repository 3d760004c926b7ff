import { type Scenario, sleep } from '../lib/harness.ts';

/** The limits' Redis is killed (SIGKILL) under load, then started again. */
export const redisKilled: Scenario = {
  name: 'redis-killed',
  quick: false,
  promise:
    'Limits fail open (the default): every request is still answered, none hangs, no 5xx; `/readyz` answers 503 while Redis is gone and 200 once it is back; limits apply again without a restart.',
  async run(ctx) {
    const redis = await ctx.redis();
    const gw = await ctx.startGateway(
      ctx.writeConfig({
        state: redis.url,
        limits: { store_timeout_ms: 250 },
        clientLimits: { rpm: 1_000_000, budget: { daily_usd: 1_000 } },
      }),
    );
    const load = ctx.load(gw.url);
    await sleep(1_500);
    await redis.kill();
    const down = await ctx.waitFor(
      async () => (await ctx.readyz(gw.url)) === 503,
      5_000,
      '/readyz 503 after the kill',
    );
    ctx.figure('readyz 503 after kill, ms', down);
    await sleep(2_000);
    await redis.restart();
    const back = await ctx.waitFor(
      async () => (await ctx.readyz(gw.url)) === 200,
      10_000,
      '/readyz 200 after restart',
    );
    ctx.figure('readyz 200 after restart, ms', back);
    await sleep(1_500);
    await load.stop();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    ctx.check(/^gantry_limits_store_up 1$/m.test(metrics), 'gantry_limits_store_up is not back to 1');
  },
};
