import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Scenario, sleep } from '../lib/harness.ts';

/** SIGTERM under load while the ledger's PostgreSQL is blackholed; then PostgreSQL is back and the gateway restarts. */
export const sigtermLedgerBlackholed: Scenario = {
  name: 'sigterm-ledger-blackholed',
  quick: true,
  promise:
    'Shutdown is bounded: the gateway exits within `server.drain_timeout_ms` + `storage.ledger_close_timeout_ms` although the store hangs; the rows it could not write are spilled to a local file, replayed at the next start: no row lost, none doubled.',
  async run(ctx) {
    const proxy = await ctx.proxy(5432);
    const config = ctx.writeConfig({ ledger: { kind: 'postgres', port: proxy.port } });
    const gw = await ctx.startGateway(config);
    const load = ctx.load(gw.url);
    await sleep(1_000);
    await proxy.setMode('blackhole');
    await sleep(1_000);
    const took = await ctx.stop(gw, 'SIGTERM');
    await load.stop();
    ctx.figure('SIGTERM to exit, ms (drain 3000 + ledger close 2000)', took);
    ctx.check(gw.child.exitCode === 0, `exit code ${gw.child.exitCode} (signal ${gw.child.signalCode})`);
    ctx.check(took <= 3_000 + 2_000 + 1_000, `SIGTERM took ${took} ms`);
    const spillDir = join(ctx.dir, 'spill');
    const spilled = readdirSync(spillDir)
      .filter((f) => f.endsWith('.jsonl'))
      .reduce((n, f) => n + readFileSync(join(spillDir, f), 'utf8').trim().split('\n').length - 1, 0);
    ctx.figure('rows spilled', spilled);
    ctx.check(spilled > 0, 'nothing was spilled');

    proxy.reset();
    await proxy.setMode('pass');
    const next = await ctx.startGateway(config);
    await ctx.waitFor(
      () => readdirSync(spillDir).filter((f) => f.endsWith('.jsonl')).length === 0,
      15_000,
      'spill files replayed',
    );
    await ctx.stop(next, 'SIGTERM');
  },
};
