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
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadResult, LoadSpec } from './lib/loadgen.ts';
import { freePort, spawnProc, waitForHttp } from './lib/procs.ts';
import { BENCH, ROOT, startTarget, type TargetName } from './lib/targets.ts';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Self time (ms) by function and by file, from a .cpuprofile's samples and time deltas.
 * Samples in the first `fromMs` of the profile (start-up: module loading, config parsing)
 * are left out.
 */
export function summarize(profile: CpuProfile, top = 25, fromMs = 0): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; attribute the interval after sample i to it.
  let at = 0;
  let skipped = 0;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const dt = deltas[i + 1] ?? 0;
    if (at < fromMs * 1000) {
      skipped++;
      continue;
    }
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(dt, 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const short = (url: string) => {
    if (!url) return '';
    const path = url.replace(/^file:\/\//, '');
    return path.startsWith(ROOT) ? relative(ROOT, path) : path.replace(/^.*node_modules\//, 'node_modules/');
  };
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const where = cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}${where ? `  ${where}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const file = cf.url
      ? short(cf.url)
      : cf.functionName.startsWith('(')
        ? cf.functionName
        : '(native / node internals)';
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const table = (m: Map<string, number>, title: string) => {
    const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    const lines = [`${title}`, `${'self ms'.padStart(10)} ${'%'.padStart(6)}  where`];
    for (const [k, us] of rows)
      lines.push(
        `${(us / 1000).toFixed(1).padStart(10)} ${((us / total) * 100).toFixed(1).padStart(6)}  ${k}`,
      );
    return lines.join('\n');
  };
  return [
    `profile: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s wall, ${(total / 1000).toFixed(0)} ms summarized, ${samples.length - skipped} samples (${skipped} start-up samples in the first ${fromMs.toFixed(0)} ms left out)`,
    '',
    table(fns, `Top ${top} functions by self time`),
    '',
    table(files, `Top ${top} files by self time`),
    '',
  ].join('\n');
}

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
  const port = await freePort();
  const sim = spawnProc({
    name: 'simulator',
    cmd: process.execPath,
    args: [join(ROOT, 'bin/gantry.js'), 'simulate', '--profile', 'perf', '--port', String(port)],
    cwd: ROOT,
  });
  const simUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${simUrl}/_sim/state`, sim);
    const spawnedAt = performance.now();
    const t = await startTarget(target, {
      simUrl,
      tmpDir,
      resultsDir,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
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
    });
    await new Promise((r) => gen.child.once('exit', r));
    const out = gen.output().trim().split('\n').pop() ?? '';
    const load = out.startsWith('{') ? (JSON.parse(out) as LoadResult) : undefined;
    await t.stop(); // SIGTERM: the gateway drains and exits, Node writes the profile
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
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
