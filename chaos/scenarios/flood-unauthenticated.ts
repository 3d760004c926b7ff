import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type Scenario, sleep } from '../lib/harness.ts';

/** Resident set size of a process, MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Four clients flooding 30 MB unauthenticated nested bodies; an authenticated client alongside. */
export const floodUnauthenticated: Scenario = {
  name: 'flood-unauthenticated',
  quick: false,
  promise:
    'Nothing is read before it is authenticated: during a flood of 30 MB unauthenticated, deeply nested bodies (4 at a time) every flood request gets its 401 without its body being parsed, an authenticated request alongside is answered in under 100 ms, and the resident memory is back under 250 MB within 10 s.',
  async run(ctx) {
    const gw = await ctx.startGateway(ctx.writeConfig());
    const pid = gw.child.pid!;
    const port = Number(new URL(gw.url).port);
    const before = rssMb(pid);
    // Four flooders, each in a thread of its own (chaos/lib/flood-worker.ts).
    const statuses = new Map<string, number>();
    const flooders = Array.from({ length: 4 }, () => {
      const w = new Worker(new URL('../lib/flood-worker.ts', import.meta.url), { workerData: { port } });
      w.on('message', (s: string) => statuses.set(s, (statuses.get(s) ?? 0) + 1));
      return w;
    });
    // The authenticated client: one request every 100 ms during the flood.
    const latencies: number[] = [];
    let peak = before;
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      const t0 = performance.now();
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': ctx.secrets.clientKey,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      await res.text();
      latencies.push(performance.now() - t0);
      ctx.record({
        outcome: 'answered',
        status: res.status,
        ...(res.headers.get('gantry-request-id') ? { id: res.headers.get('gantry-request-id')! } : {}),
        stream: false,
        sentAt: Date.now(),
        endedAt: Date.now(),
      });
      peak = Math.max(peak, rssMb(pid));
      await sleep(100);
    }
    await Promise.all(
      flooders.map((w) => {
        w.postMessage('stop');
        return new Promise((r) => w.once('exit', r));
      }),
    );
    const settled = await ctx.waitFor(() => rssMb(pid) < 250, 10_000, 'RSS under 250 MB after the flood');
    ctx.figure('RSS 10 s after the flood, MB', Math.round(rssMb(pid)));
    latencies.sort((a, b) => a - b);
    const max = latencies.at(-1) ?? 0;
    ctx.figure('flood requests (status: count)', [...statuses].map(([s, n]) => `${s}: ${n}`).join(', '));
    ctx.figure('RSS before, MB', Math.round(before));
    ctx.figure('RSS peak during the flood, MB', Math.round(peak));
    ctx.figure('RSS under 250 MB after the flood, ms', settled);
    ctx.figure('authenticated requests during the flood', latencies.length);
    ctx.figure(
      'their p50 / p99 / slowest answer, ms',
      [0.5, 0.99]
        .map((q) => Math.round(latencies[Math.floor(q * (latencies.length - 1))]))
        .concat(Math.round(max))
        .join(' / '),
    );
    ctx.check(max < 100, `an authenticated request took ${Math.round(max)} ms during the flood`);
    ctx.check(!statuses.has('200') && (statuses.get('401') ?? 0) > 0, 'flood requests were answered 401');
  },
};
