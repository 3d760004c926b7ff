import { type Scenario, sleep } from '../lib/harness.ts';

/** The ledger's PostgreSQL refuses connections (its port closed) for 2 s under load. */
export const pgRefused: Scenario = {
  name: 'pg-refused',
  quick: false,
  promise:
    'Requests never wait on the ledger: every one is answered, none hangs, no 5xx; rows wait in memory and every answered request has exactly one row once PostgreSQL is back; `/readyz` 503 while it is gone.',
  async run(ctx) {
    const proxy = await ctx.proxy(5432);
    const gw = await ctx.startGateway(ctx.writeConfig({ ledger: { kind: 'postgres', port: proxy.port } }));
    const load = ctx.load(gw.url);
    await sleep(1_000);
    await proxy.setMode('refuse');
    const down = await ctx.waitFor(async () => (await ctx.readyz(gw.url)) === 503, 5_000, '/readyz 503');
    ctx.figure('readyz 503 after refuse, ms', down);
    await sleep(2_000);
    await proxy.setMode('pass');
    const back = await ctx.waitFor(
      async () => (await ctx.readyz(gw.url)) === 200,
      10_000,
      '/readyz 200 after',
    );
    ctx.figure('readyz 200 after restore, ms', back);
    await sleep(500);
    await load.stop();
  },
};
