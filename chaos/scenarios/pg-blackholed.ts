import { type Scenario, sleep } from '../lib/harness.ts';

/** The ledger's PostgreSQL stops answering (connections open, nothing comes back) for 2 s under load. */
export const pgBlackholed: Scenario = {
  name: 'pg-blackholed',
  quick: true,
  promise:
    'A PostgreSQL that never answers is down within `storage.ledger_timeout_ms`: `/readyz` 503, a log line, `gantry_ledger_store_up` 0; requests are answered meanwhile; once it is back every answered request has exactly one row.',
  async run(ctx) {
    const proxy = await ctx.proxy(5432);
    const gw = await ctx.startGateway(ctx.writeConfig({ ledger: { kind: 'postgres', port: proxy.port } }));
    const load = ctx.load(gw.url);
    await sleep(1_000);
    await proxy.setMode('blackhole');
    const down = await ctx.waitFor(async () => (await ctx.readyz(gw.url)) === 503, 5_000, '/readyz 503');
    ctx.figure('readyz 503 after blackhole, ms (ledger_timeout_ms 1000)', down);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    ctx.check(
      /^gantry_ledger_store_up 0$/m.test(metrics),
      'gantry_ledger_store_up is not 0 while blackholed',
    );
    await ctx.waitFor(() => ctx.logText().includes('ledger store unavailable'), 2_000, 'the log line');
    await sleep(1_500);
    proxy.reset();
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
