/**
 * Where the gateway's memory goes: runs `gantry serve`'s gateway in this
 * process (so `process.memoryUsage()` and the V8 heap spaces can be read) in
 * front of the simulator, and prints the breakdown at each step:
 *
 *   1. idle, after start-up;
 *   2. after a closed-loop burst of small requests;
 *   3. the same after a forced GC;
 *   4. while N slow streams are held open (memory per open stream);
 *   5. after they closed and a forced GC.
 *
 *   node --expose-gc bench/memory.ts [--target gantry-full|gantry-min] [--streams 2000]
 *                                    [--seconds 10] [--connections 64] [--snapshot FILE]
 *
 * `--snapshot FILE` writes a V8 heap snapshot while the streams are open
 * (load it in Chrome DevTools → Memory, or summarise it with
 * `node bench/lib/heap-summary.ts FILE`).
 *
 * RSS includes what V8 keeps reserved after a burst (heap it grew and has not
 * returned) and native memory (sockets, SQLite, the allocator); the
 * difference between `rss` and `heapTotal + external` is that native part.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../src/config/load.ts';
import { startGateway } from '../src/gateway/server.ts';
import type { LoadResult, LoadSpec } from './lib/loadgen.ts';
import { freePort, spawnProc } from './lib/procs.ts';
import {
  BENCH,
  BENCH_CLIENT_KEY,
  BENCH_UPSTREAM_KEY,
  renderGantryConfig,
  startSimulatorProcess,
} from './lib/targets.ts';

const { values: o } = parseArgs({
  options: {
    target: { type: 'string', default: 'gantry-full' },
    streams: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    snapshot: { type: 'string' },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
const MiB = (n: number) => (n / 1024 / 1024).toFixed(1);

function snapshot(label: string): void {
  const m = process.memoryUsage();
  const spaces = getHeapSpaceStatistics()
    .filter((s) => s.space_size > 1024 * 1024)
    .map((s) => `${s.space_name.replace('_space', '')} ${MiB(s.space_used_size)}/${MiB(s.space_size)}`)
    .join(', ');
  process.stdout.write(
    `${label.padEnd(34)} rss ${MiB(m.rss).padStart(6)}  heapTotal ${MiB(m.heapTotal).padStart(6)}  heapUsed ${MiB(m.heapUsed).padStart(6)}  external ${MiB(m.external).padStart(5)}  arrayBuffers ${MiB(m.arrayBuffers).padStart(5)}  native≈ ${MiB(m.rss - m.heapTotal - m.external).padStart(6)}\n${' '.repeat(36)}${spaces}\n`,
  );
}

async function forceGc(): Promise<void> {
  if (!gc) return;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  if (!gc) process.stderr.write('memory: run with --expose-gc for the after-GC rows\n');
  const tmpDir = mkdtempSync(join(tmpdir(), 'gantry-memory-'));
  const { url: simUrl, proc: sim } = await startSimulatorProcess();
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${simUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
  };
  try {
    const confPath = renderGantryConfig(o.target, { simUrl, port: await freePort(), dir: tmpDir });
    process.env.BENCH_UPSTREAM_KEY = BENCH_UPSTREAM_KEY;
    snapshot('before the gateway starts');
    const gateway = await startGateway({ config: loadConfig({ path: confPath }) });
    await forceGc();
    snapshot('idle');

    const headers = {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': BENCH_CLIENT_KEY,
    };
    const load = async (spec: LoadSpec): Promise<{ result?: LoadResult; held: number; stop: () => void }> => {
      const gen = spawnProc({
        name: 'loadgen',
        cmd: process.execPath,
        args: [join(BENCH, 'lib/loadgen.ts'), JSON.stringify(spec)],
      });
      const exited = new Promise((r) => gen.child.once('exit', r));
      if (spec.mode === 'hold') {
        while (!gen.output().includes('"held"') && gen.child.exitCode === null)
          await new Promise((r) => setTimeout(r, 100));
        const line = gen
          .output()
          .split('\n')
          .find((l) => l.includes('"held"'));
        return { held: line ? (JSON.parse(line) as { held: number }).held : 0, stop: () => gen.child.kill() };
      }
      await exited;
      const last = gen.output().trim().split('\n').pop() ?? '';
      return {
        result: last.startsWith('{') ? (JSON.parse(last) as LoadResult) : undefined,
        held: 0,
        stop() {},
      };
    };

    const burst = await load({
      mode: 'closed',
      url: gateway.url,
      headers,
      body: JSON.stringify({
        model: 'claude-sonnet-4-6',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'Hello, benchmark.' }],
      }),
      concurrency: Number(o.connections),
      durationMs: Number(o.seconds) * 1000,
    });
    process.stdout.write(
      `burst: ${burst.result?.ok ?? 0} ok, ${burst.result?.errors ?? '?'} errors, ${burst.result?.throughput.toFixed(0)} req/s\n`,
    );
    snapshot('after the burst');
    await forceGc();
    snapshot('after the burst, GC');

    await control('/_sim/latency', { firstByte: 0, perChunk: 2000 });
    const streams = Number(o.streams);
    const before = process.memoryUsage().rss;
    const hold = await load({
      mode: 'hold',
      url: gateway.url,
      headers,
      body: JSON.stringify({
        model: 'claude-sonnet-4-6',
        max_tokens: 4096,
        stream: true,
        messages: [{ role: 'user', content: 'abcdefghijklmno '.repeat(200).trim() }],
      }),
      concurrency: streams,
      connections: streams,
      holdMs: 60_000,
    });
    snapshot(`${hold.held} streams open`);
    await forceGc();
    snapshot(`${hold.held} streams open, GC`);
    if (o.snapshot) {
      writeHeapSnapshot(o.snapshot);
      process.stdout.write(`heap snapshot: ${o.snapshot}\n`);
    }
    const perStream = (process.memoryUsage().rss - before) / Math.max(1, hold.held);
    process.stdout.write(`≈ ${(perStream / 1024).toFixed(1)} KiB of RSS per open stream (after GC)\n`);
    hold.stop();
    await control('/_sim/profile', { profile: 'perf' });
    await new Promise((r) => setTimeout(r, 2000));
    await forceGc();
    snapshot('streams closed, GC');
    await gateway.close();
  } finally {
    await sim.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`memory: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
