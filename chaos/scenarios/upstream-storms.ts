import { type Scenario, sleep } from '../lib/harness.ts';

/** What the simulator's control API takes for a fault (docs/simulator.md). */
async function fault(simUrl: string, spec: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${simUrl}/_sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  return ((await res.json()) as { id: string }).id;
}

async function clearFaults(simUrl: string): Promise<void> {
  await (await fetch(`${simUrl}/_sim/faults`, { method: 'DELETE' })).arrayBuffer();
}

/** Documented answers to an upstream that keeps failing: its own errors, or Gantry's upstream-failure codes. */
const UPSTREAM_FAILURE_CODES = new Set([
  'upstream_connection_failed',
  'upstream_timeout',
  'upstream_unavailable',
  'load_shed',
]);

/** 429, 529 and 5xx storms, connection resets, cut streams and mid-stream error events from the upstream, one after the other, under load. */
export const upstreamStorms: Scenario = {
  name: 'upstream-storms',
  quick: true,
  promise:
    "An upstream storm never hangs a request nor makes the gateway fail on its own: every request is answered with the upstream's answer after bounded retries, a documented upstream-failure code, or (streams) an SSE error event; every answered request has its ledger row; the gateway is ready once the storm ends.",
  async run(ctx) {
    // A short breaker cool-down, so the scenario sees the gateway recover within seconds.
    const gw = await ctx.startGateway(ctx.writeConfig({ resilience: { breaker: { cooldown_ms: 1_000 } } }));
    // The upstream's own errors pass through unchanged (no gantry_code); Gantry's are the documented ones.
    ctx.allow5xx((r) => r.code === undefined || UPSTREAM_FAILURE_CODES.has(r.code));
    const load = ctx.load(gw.url, { workers: 4, hangMs: 20_000 });
    await sleep(500);
    const storms: Array<[string, Record<string, unknown>]> = [
      ['429 storm', { kind: 'status', status: 429, retryAfter: 1, path: '/v1/messages' }],
      ['529 storm', { kind: 'status', status: 529, path: '/v1/messages' }],
      ['500 storm', { kind: 'status', status: 500, path: '/v1/messages' }],
      ['connection resets', { kind: 'reset', path: '/v1/messages' }],
      ['mixed, half the requests', { kind: 'status', status: 503, probability: 0.5, path: '/v1/messages' }],
      ['streams cut after 3 events', { kind: 'cut', afterEvents: 3, path: '/v1/messages' }],
      ['error events mid-stream', { kind: 'stream_error', afterEvents: 4, path: '/v1/messages' }],
    ];
    for (const [name, spec] of storms) {
      const before = load.records.length;
      await fault(ctx.simUrl, spec);
      await sleep(1_500);
      await clearFaults(ctx.simUrl);
      ctx.figure(`${name}: requests`, load.records.length - before);
      await sleep(500);
    }
    const ready = await ctx.waitFor(
      async () => (await ctx.readyz(gw.url)) === 200,
      10_000,
      '/readyz 200 after the storms',
    );
    ctx.figure('/readyz 200 after the storms, ms', ready);
    // Breakers that opened cool down (1 s here), probe, and close: requests succeed again.
    const back = await ctx.waitFor(
      () => load.records.slice(-8).length === 8 && load.records.slice(-8).every((r) => r.status === 200),
      10_000,
      'requests succeed again after the storms',
    );
    ctx.figure('every request succeeds again after the storms, ms', back);
    await load.stop();
    // A stream the upstream broke off ends, for the client, with an SSE error event (never silently).
    const cuts = load.records.filter((r) => r.outcome === 'cut');
    ctx.figure(
      'streams broken off or ended by an error upstream (each must end with an SSE error event)',
      cuts.length,
    );
    const silent = cuts.filter((r) => !r.errorEvent).length;
    ctx.check(silent === 0, `${silent} streams ended without message_stop and without an error event`);
  },
};
