/**
 * Event-loop stalls during streaming: runs the gateway in this process (so
 * `monitorEventLoopDelay` and GC events can be observed) in front of the
 * simulator (first byte 30 ms, 10 ms per delta) with 50 concurrent streams,
 * and prints how many deltas reached the client merged with the previous one
 * next to the event-loop delay and the GC pauses over the same time. Pinned
 * like bench/run.ts when taskset is there (run this script itself with
 * `taskset -c 0`).
 *
 *   taskset -c 0 node --max-semi-space-size=16 bench/stalls.ts [gantry-full|gantry-min] [seconds] [stream|open] [rate]
 *
 * `open` (instead of the 50 streams): non-streaming requests in an open loop
 * at `rate` req/s (default 2,000) — one ledger row each, so the ledger's
 * writes (batches of up to 500 rows) weigh in the event-loop delay; deltas
 * are not counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.ts';
import { startGateway } from '../src/gateway/server.ts';
import type { LoadResult } from './lib/loadgen.ts';
import { freePort, hasCommand, spawnProc } from './lib/procs.ts';
import {
  BENCH,
  BENCH_CLIENT_KEY,
  BENCH_UPSTREAM_KEY,
  renderGantryConfig,
  startSimulatorProcess,
} from './lib/targets.ts';

const target = process.argv[2] ?? 'gantry-full';
const seconds = Number(process.argv[3] ?? 15);
const mode = process.argv[4] === 'open' ? 'open' : 'stream';
const rate = Number(process.argv[5] ?? 2_000);
const other = hasCommand('taskset') ? '1' : undefined;
const tmp = mkdtempSync(join(tmpdir(), 'gantry-stalls-'));
const { url: simUrl, proc: sim } = await startSimulatorProcess(other);
try {
  await fetch(`${simUrl}/_sim/latency`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ firstByte: 30, perChunk: 10 }),
  }).then((r) => r.arrayBuffer());
  const conf = renderGantryConfig(target, { simUrl, port: await freePort(), dir: tmp });
  process.env.BENCH_UPSTREAM_KEY = BENCH_UPSTREAM_KEY;
  const gateway = await startGateway({ config: loadConfig({ path: conf }) });
  const gcs: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const spec = {
    mode,
    url: gateway.url,
    headers: {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': BENCH_CLIENT_KEY,
    },
    body: JSON.stringify({
      model: 'claude-sonnet-4-6',
      max_tokens: mode === 'open' ? 64 : 4096,
      stream: mode === 'stream',
      messages: [{ role: 'user', content: 'abcdefghijklmno '.repeat(20).trim() }],
    }),
    ...(mode === 'open' ? { rate } : { concurrency: 50 }),
    durationMs: seconds * 1000,
  };
  const gen = spawnProc({
    name: 'loadgen',
    cmd: process.execPath,
    args: [join(BENCH, 'lib/loadgen.ts'), JSON.stringify(spec)],
    cpus: other,
  });
  await new Promise((r) => gen.child.once('exit', r));
  delay.disable();
  obs.disconnect();
  const load = JSON.parse(gen.output().trim().split('\n').pop() ?? '{}') as LoadResult;
  const ms = (ns: number) => (ns / 1e6).toFixed(2);
  const gaps = load.gaps;
  const what =
    mode === 'open'
      ? `${target}, open loop ${rate} req/s: ${load.ok} answered, ${load.errors} errors, latency p99 ${load.latency?.p99?.toFixed(1) ?? '?'} ms`
      : `${target}: ${gaps?.zeroGaps ?? '?'} of ${gaps?.count ?? '?'} deltas merged (${gaps?.count ? ((100 * gaps.zeroGaps) / gaps.count).toFixed(2) : '?'} %)`;
  console.log(
    `${what}\n` +
      `event-loop delay: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms\n` +
      `GC: ${gcs.length} pauses, ${gcs.filter((d) => d > 5).length} over 5 ms, longest ${Math.max(0, ...gcs).toFixed(1)} ms`,
  );
  await gateway.close();
} finally {
  await sim.stop();
  rmSync(tmp, { recursive: true, force: true });
}
