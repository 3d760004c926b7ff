import { type Scenario, sleep } from '../lib/harness.ts';
import { asRecord, hostileCases, runCase } from '../lib/hostile.ts';

/** 120-odd malformed, hostile and smuggled requests on raw sockets, beside a normal load. */
export const hostileInput: Scenario = {
  name: 'hostile-input',
  quick: true,
  promise:
    'Every hostile request gets an answer in the Anthropic envelope with a request id (4xx, never a 5xx), none hangs, nothing is forwarded that the route table does not build; normal traffic alongside is served as usual and the gateway stays ready.',
  async run(ctx) {
    const gw = await ctx.startGateway(ctx.writeConfig({ server: { request_timeout_ms: 2_000 } }));
    const port = Number(new URL(gw.url).port);
    const load = ctx.load(gw.url, { workers: 2 });
    const cases = hostileCases();
    const keys = { client: ctx.secrets.clientKey, admin: ctx.secrets.adminKey };
    const unanswered: string[] = [];
    const notEnveloped: string[] = [];
    const server5xx: string[] = [];
    // Four at a time: hostile traffic, not a benchmark.
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const sentAt = Date.now();
      const results = await Promise.all(batch.map((c) => runCase(port, c, keys, 8_000)));
      for (const r of results) {
        ctx.record(asRecord(r, sentAt));
        if (r.statuses.length === 0) unanswered.push(r.case);
        if (!r.enveloped) notEnveloped.push(r.case);
        if (r.statuses.some((s) => s >= 500)) server5xx.push(`${r.case} (${r.statuses.join(',')})`);
      }
    }
    ctx.figure('hostile cases', cases.length);
    ctx.figure('answered without a response', unanswered.length);
    ctx.check(unanswered.length === 0, `no answer at all: ${unanswered.join('; ')}`);
    ctx.check(notEnveloped.length === 0, `answers not in the envelope: ${notEnveloped.join('; ')}`);
    ctx.check(server5xx.length === 0, `5xx on hostile input: ${server5xx.join('; ')}`);
    ctx.check((await ctx.readyz(gw.url)) === 200, '/readyz 200 after the battery');
    await sleep(300);
    await load.stop();
    ctx.check(load.answered() > 0, 'normal traffic was served alongside');
  },
};
