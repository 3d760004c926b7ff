import { worstCaseCostMicros } from '../../src/anthropic/cost.ts';
import { estimateRequestTokens } from '../../src/anthropic/tokens.ts';
import { type Scenario, sleep } from '../lib/harness.ts';

const LEASE_MS = 2_000;
const BODY = { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hold' }] };

/** SIGKILL of a gateway holding 10 budget reservations (a whole budget) in flight; another gateway takes over. */
export const sigkillReservations: Scenario = {
  name: 'sigkill-reservations',
  quick: false,
  promise: `Budget reservations are leases: a gateway killed with requests in flight frees their share of the budget within one \`limits.reservation_lease_ms\` (${LEASE_MS} ms here); no budget stays held.`,
  async run(ctx) {
    const redis = await ctx.redis();
    const reservation = worstCaseCostMicros(BODY.model, estimateRequestTokens(BODY).total, BODY.max_tokens)!;
    const config = ctx.writeConfig({
      state: redis.url,
      limits: { reservation_lease_ms: LEASE_MS },
      clientLimits: { budget: { daily_usd: (10 * reservation) / 1e6 } },
    });
    // The next 10 upstream calls hang: their reservations stay in flight.
    await fetch(`${ctx.simUrl}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'slow', delayMs: 60_000, count: 10, path: '/v1/messages' }),
    });
    const first = await ctx.startGateway(config);
    const aborts = new AbortController();
    const post = (url: string, signal?: AbortSignal) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': ctx.secrets.clientKey,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
        },
        body: JSON.stringify(BODY),
        signal,
      });
    const held = Array.from({ length: 10 }, () => post(first.url, aborts.signal).catch(() => undefined));
    const reserved = await ctx.waitFor(
      async () => (await post(first.url).then((r) => r.text())).includes('budget_reserved'),
      10_000,
      'the budget held by 10 reservations',
    );
    ctx.check(reserved >= 0, 'never held');
    const killedAt = Date.now();
    await first.stop('SIGKILL');
    aborts.abort();
    await Promise.all(held);
    // Slow faults not yet consumed (a held request killed before it reached the upstream) would slow the next ones.
    await fetch(`${ctx.simUrl}/_sim/faults`, { method: 'DELETE' }).then((r) => r.arrayBuffer());
    const second = await ctx.startGateway(config);
    const freed = await ctx.waitFor(
      async () => (await post(second.url).then((r) => r.status)) === 200,
      LEASE_MS + 10_000,
      'the budget usable again',
    );
    const after = freed < 0 ? -1 : Date.now() - killedAt;
    ctx.figure('budget usable again after the kill, ms', after);
    ctx.check(after >= 0 && after <= LEASE_MS + LEASE_MS / 3 + 1_000, `usable again after ${after} ms`);
    // Some traffic through the second gateway: answered (200 or 429 budget_reserved), never 5xx.
    const load = ctx.load(second.url, { workers: 2 });
    await sleep(1_000);
    await load.stop();
  },
};
