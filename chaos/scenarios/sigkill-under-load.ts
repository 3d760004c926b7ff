import { type Scenario, sleep } from '../lib/harness.ts';

const FLUSH_MS = 1_000;

/** SIGKILL of the gateway under load (SQLite ledger, default flush interval). */
export const sigkillUnderLoad: Scenario = {
  name: 'sigkill-under-load',
  quick: false,
  promise: `A hard kill loses at most the rows of the last \`storage.ledger_flush_ms\` (${FLUSH_MS} ms here) — the rows still in memory; every row written before is intact.`,
  async run(ctx) {
    const gw = await ctx.startGateway(ctx.writeConfig({ storage: { ledger_flush_ms: FLUSH_MS } }));
    const load = ctx.load(gw.url, { workers: 8 });
    await sleep(3_000);
    await ctx.snapshot(gw);
    const killedAt = Date.now();
    await gw.stop('SIGKILL');
    await load.stop();
    // Rows answered in the last flush interval (plus one insert's time) may be lost; nothing older.
    const bound = FLUSH_MS + 250;
    ctx.allowLoss((r) => r.endedAt >= killedAt - bound);
    const { ids } = await ctx.ledgerIds();
    const answered = load.records.filter((r) => r.id !== undefined && r.outcome !== 'hung');
    const lost = answered.filter((r) => !ids.has(r.id!));
    ctx.figure('answered before the kill', answered.length);
    ctx.figure('rows lost', lost.length);
    ctx.figure(
      'lost, as traffic time before the kill, ms',
      lost.length === 0 ? 0 : killedAt - Math.min(...lost.map((r) => r.endedAt)),
    );
    ctx.figure('allowed window, ms', bound);
  },
};
