/**
 * Profiles the gateway's hot path: runs `gantry serve` with `--cpu-prof`
 * in front of the simulator (perf profile), drives it with the load
 * generator, stops it, and writes the .cpuprofile plus a summary of self
 * time by function and by file to bench/results/.
 *
 *   node bench/profile.ts [--target gantry-full|gantry-min] [--seconds 15]
 *                         [--mode closed|open|stream] [--rate 2000] [--connections 32] [--top 25]
 *   node bench/profile.ts --summarize bench/results/<file>.cpuprofile [--from-ms N]   # an existing profile
 *
 * Open the .cpuprofile in Chrome DevTools (Performance → Load profile) or
 * https://www.speedscope.app for flame graphs.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { type CpuProfile, summarize } from './lib/cpuprofile.ts';
import type { LoadResult, LoadSpec } from './lib/loadgen.ts';
import { hasCommand, spawnProc } from './lib/procs.ts';
import { BENCH, ROOT, startSimulatorProcess, startTarget, type TargetName } from './lib/targets.ts';

const { values: o } = parseArgs({
  options: {
    target: { type: 'string', default: 'gantry-full' },
    seconds: { type: 'string', default: '15' },
    mode: { type: 'string', default: 'closed' },
    rate: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '32' },
    top: { type: 'string', default: '25' },
    summarize: { type: 'string' },
    'from-ms': { type: 'string', default: '0' },
  },
});
const top = Number(o.top);
// The same placement as bench/run.ts: the gateway alone on CPU 0, simulator and load generator on CPU 1.
const pin = hasCommand('taskset') !== undefined && availableParallelism() >= 2;
const CPU_TARGET = pin ? '0' : undefined;
const CPU_REST = pin ? '1' : undefined;

async function main(): Promise<void> {
  if (o.summarize) {
    process.stdout.write(
      summarize(JSON.parse(readFileSync(o.summarize, 'utf8')) as CpuProfile, top, Number(o['from-ms'])),
    );
    return;
  }
  const target = o.target as TargetName;
  if (target !== 'gantry-full' && target !== 'gantry-min')
    throw new Error('--target is gantry-full or gantry-min');
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const tmpDir = mkdtempSync(join(tmpdir(), 'gantry-profile-'));
  const profDir = join(tmpDir, 'prof');
  mkdirSync(profDir);
  const { url: simUrl, proc: sim } = await startSimulatorProcess(CPU_REST);
  try {
    const spawnedAt = performance.now();
    const t = await startTarget(target, {
      simUrl,
      tmpDir,
      resultsDir,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
      cpus: CPU_TARGET,
    });
    const mode = o.mode as LoadSpec['mode'];
    const stream = mode === 'stream';
    const spec: LoadSpec = {
      mode,
      url: t.url,
      headers: t.headers,
      body: JSON.stringify({
        model: 'claude-sonnet-4-6',
        max_tokens: stream ? 4096 : 64,
        stream,
        messages: [
          { role: 'user', content: stream ? 'abcdefghijklmno '.repeat(20).trim() : 'Hello, benchmark.' },
        ],
      }),
      rate: Number(o.rate),
      concurrency: Number(o.connections),
      durationMs: Number(o.seconds) * 1000,
    };
    process.stderr.write(`profiling ${target} (${mode}) for ${o.seconds} s\n`);
    const loadFromMs = performance.now() - spawnedAt;
    const gen = spawnProc({
      name: 'loadgen',
      cmd: process.execPath,
      args: [join(BENCH, 'lib/loadgen.ts'), JSON.stringify(spec)],
      cpus: CPU_REST,
    });
    await new Promise((r) => gen.child.once('exit', r));
    const out = gen.output().trim().split('\n').pop() ?? '';
    const load = out.startsWith('{') ? (JSON.parse(out) as LoadResult) : undefined;
    await t.stop(); // SIGTERM: the gateway drains and exits, Node writes the profile
    // Worker threads (the SQLite ledger's) write profiles of their own: the main thread's is the largest.
    const file = readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => statSync(join(profDir, b)).size - statSync(join(profDir, a)).size)[0];
    if (!file) throw new Error(`no .cpuprofile written; gateway output:\n${t.proc?.output().slice(-2000)}`);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const dest = join(resultsDir, `${target}-${mode}-${stamp}.cpuprofile`);
    const raw = readFileSync(join(profDir, file), 'utf8');
    writeFileSync(dest, raw);
    const header = load
      ? `load: ${load.ok} ok, ${load.errors} errors, ${load.throughput.toFixed(0)} req/s, p50 ${load.latency.p50.toFixed(3)} ms, p99 ${load.latency.p99.toFixed(3)} ms\n`
      : 'load: the load generator reported nothing\n';
    const text = `${target} ${mode} — ${basename(dest)}\n${header}${summarize(JSON.parse(raw) as CpuProfile, top, loadFromMs)}`;
    const summaryPath = dest.replace(/\.cpuprofile$/, '.txt');
    writeFileSync(summaryPath, text);
    process.stdout.write(text);
    process.stderr.write(`wrote ${relative(ROOT, dest)} and ${relative(ROOT, summaryPath)}\n`);
  } finally {
    await sim.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`profile: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
