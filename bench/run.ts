/**
 * `npm run bench`: measures the gateway against the floor (a direct call and
 * an nginx proxy hop) and a peer (Portkey's open-source gateway), all in front
 * of the same simulator, in the same run, on the same machine. Writes
 * BENCHMARKS.md and bench/results/latest.json. See docs/performance.md.
 *
 *   node bench/run.ts [--quick] [--targets direct,nginx,portkey,gantry-min,gantry-full]
 *                     [--phases open,closed,stream,hold,soak,rounds] [--rates 500,1000,2000]
 *                     [--rounds 5] [--round-seconds 5]
 *                     [--duration S] [--warmup S] [--connections N] [--stream-concurrency N]
 *                     [--first-byte-ms MS] [--chunk-delay-ms MS] [--hold-streams N]
 *                     [--soak-seconds S] [--soak-rate RPS] [--soak-targets gantry-full]
 *                     [--gantry source|dist] [--no-pin] [--note TEXT] [--out FILE] [--json FILE]
 *   node bench/run.ts --render bench/results/latest.json [--out FILE]   # re-render the report only
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadResult, LoadSpec } from './lib/loadgen.ts';
import {
  freePort,
  hasCommand,
  linearRegression,
  rssSampler,
  type Spawned,
  sampleProc,
  spawnProc,
  waitForHttp,
} from './lib/procs.ts';
import { renderMarkdown } from './lib/report.ts';
import {
  BENCH,
  gitRev,
  nginxVersion,
  PORTKEY_ENTRY,
  portkeyVersion,
  ROOT,
  type RunningTarget,
  startTarget,
  TARGETS,
  type TargetName,
  unavailable,
} from './lib/targets.ts';

const PHASES = ['open', 'closed', 'stream', 'hold', 'soak', 'rounds'] as const;
type Phase = (typeof PHASES)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    targets: { type: 'string' },
    phases: { type: 'string' },
    rates: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    'stream-concurrency': { type: 'string' },
    'first-byte-ms': { type: 'string' },
    'chunk-delay-ms': { type: 'string' },
    'hold-streams': { type: 'string' },
    'soak-seconds': { type: 'string' },
    'soak-rate': { type: 'string' },
    'soak-targets': { type: 'string' },
    rounds: { type: 'string' },
    'round-seconds': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    note: { type: 'string' },
    gantry: { type: 'string', default: 'source' },
    render: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  const src = readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(src)?.[1].replace(/^ \* ?/gm, '') ?? ''}\n`);
  process.exit(0);
}

function list<T extends string>(value: string | undefined, all: readonly T[], fallback: readonly T[]): T[] {
  if (!value) return [...fallback];
  const items = value.split(',').map((s) => s.trim()) as T[];
  for (const i of items)
    if (!all.includes(i)) {
      process.stderr.write(`bench: unknown "${i}"; expected one of ${all.join(', ')}\n`);
      process.exit(2);
    }
  return items;
}
function num(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`bench: expected a number, got "${value}"\n`);
    process.exit(2);
  }
  return n;
}

const quick = flags.quick ?? false;
if (flags.gantry !== 'source' && flags.gantry !== 'dist') {
  process.stderr.write(`bench: --gantry is "source" or "dist", got "${flags.gantry}"\n`);
  process.exit(2);
}
export interface Settings {
  quick: boolean;
  targets: TargetName[];
  phases: Phase[];
  rates: number[];
  durationS: number;
  warmupS: number;
  connections: number;
  streamConcurrency: number;
  firstByteMs: number;
  chunkDelayMs: number;
  streamDeltas: number;
  holdStreams: number;
  holdChunkDelayMs: number;
  soakSeconds: number;
  soakRate: number;
  soakTargets: TargetName[];
  /** Interleaved closed-loop rounds (phase `rounds`): how many, and seconds per target per round. */
  rounds: number;
  roundSeconds: number;
  pin: boolean;
  /** gantry targets run from `source` (Node strips types) or `dist` (compiled, as published). */
  gantryFrom: 'source' | 'dist';
  note?: string;
  command: string;
}
const settings: Settings = {
  quick,
  targets: list(flags.targets, TARGETS, TARGETS),
  phases: list(flags.phases, PHASES, PHASES),
  rates: flags.rates ? flags.rates.split(',').map((r) => num(r, 0)) : [500, 1000, 2000],
  durationS: num(flags.duration, quick ? 2 : 20),
  warmupS: num(flags.warmup, quick ? 1 : 3),
  connections: num(flags.connections, 64),
  streamConcurrency: num(flags['stream-concurrency'], 50),
  firstByteMs: num(flags['first-byte-ms'], 30),
  chunkDelayMs: num(flags['chunk-delay-ms'], 10),
  streamDeltas: 20,
  holdStreams: num(flags['hold-streams'], 2000),
  holdChunkDelayMs: 2000,
  soakSeconds: num(flags['soak-seconds'], quick ? 20 : 600),
  soakRate: num(flags['soak-rate'], 1000),
  soakTargets: list(flags['soak-targets'], TARGETS, ['gantry-full']),
  rounds: num(flags.rounds, quick ? 2 : 5),
  roundSeconds: num(flags['round-seconds'], quick ? 1 : 5),
  pin: !(flags['no-pin'] ?? false),
  gantryFrom: flags.gantry === 'dist' ? 'dist' : 'source',
  note: flags.note,
  command: `node bench/run.ts ${process.argv
    .slice(2)
    .map((a) => (/^[\w./,=:-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))
    .join(' ')}`.trim(),
};

// ---------------------------------------------------------------------------------------------
// CPU placement: the target gets core 0 to itself; the simulator and the load generator share
// the others (on 2 cores: core 1). Without taskset (or with --no-pin) the OS schedules freely.
const ncpu = cpus().length;
const canPin = settings.pin && ncpu >= 2 && hasCommand('taskset') !== undefined;
const CPU_TARGET = canPin ? '0' : undefined;
const CPU_SIM = canPin ? '1' : undefined;
const CPU_LOAD = canPin ? (ncpu >= 3 ? `2-${ncpu - 1}` : '1') : undefined;

// ---------------------------------------------------------------------------------------------
export interface CpuStat {
  cpuSeconds: number;
  wallSeconds: number;
  /** % of one core. */
  percent: number;
  /** CPU ms the target spent per 1,000 successful requests. */
  msPer1k: number;
  rssBytes: number;
}
/** Event-loop delay inside the target over a phase, ms (bench/lib/loop-probe.ts). */
export interface LoopStat {
  p50: number;
  p99: number;
  max: number;
}
export interface PhaseResult {
  load: LoadResult;
  cpu?: CpuStat;
  loop?: LoopStat;
}
export interface TargetResult {
  name: TargetName;
  version?: string;
  skipped?: string;
  error?: string;
  idleRssBytes?: number;
  open: Array<PhaseResult & { rate: number }>;
  closed?: PhaseResult;
  stream?: PhaseResult;
  hold?: {
    requested: number;
    held: number;
    errors: number;
    errorSamples: string[];
    rssBeforeBytes: number;
    rssBytes: number;
  };
  soak?: {
    seconds: number;
    rate: number;
    load: LoadResult;
    rssPoints: Array<[number, number]>;
    slopeBytesPerMin: number;
    startRssBytes: number;
    endRssBytes: number;
  };
}
export interface RunResult {
  startedAt: string;
  finishedAt?: string;
  settings: Settings;
  machine: Record<string, string | number>;
  placement: { target?: string; simulator?: string; loadgen?: string };
  loadBefore: string;
  loadAfter?: string;
  targets: TargetResult[];
  /**
   * Closed-loop throughput (req/s) per target in interleaved rounds: all targets run at once
   * (idle when not loaded) and take turns, so a drift of the machine's speed hits all alike.
   */
  rounds?: { rounds: number; seconds: number; throughput: Partial<Record<TargetName, number[]>> };
}

/** A number for the progress log (NaN / null as n/a). */
function fx(n: number | null | undefined, digits = 3): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function machine(): Record<string, string | number> {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  let nprocOut = String(ncpu);
  try {
    nprocOut = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {}
  return {
    nproc: nprocOut,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: (() => {
      try {
        return execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })(),
    nginx: nginxVersion() ?? 'not installed',
    portkey: portkeyVersion() ? `@portkey-ai/gateway ${portkeyVersion()}` : 'not installed',
    gantry: `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version} (${gitRev()}), run from ${settings.gantryFrom === 'dist' ? 'dist/ (compiled)' : 'src/ (Node type stripping)'}`,
    taskset: canPin ? 'yes' : 'no',
  };
}

const loadavg = () => (existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').trim() : 'n/a');

// ---------------------------------------------------------------------------------------------
// Request bodies
const SMALL = JSON.stringify({
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Hello, benchmark.' }],
});
// 16 characters per delta (simulator default): this text gives `streamDeltas` deltas.
function streamBody(deltas: number): string {
  const text = 'abcdefghijklmno '.repeat(deltas).trim();
  return JSON.stringify({
    model: 'claude-sonnet-4-6',
    max_tokens: 4096,
    stream: true,
    messages: [{ role: 'user', content: text }],
  });
}

// ---------------------------------------------------------------------------------------------
// Simulator (its own process) and its control API
let sim: Spawned | undefined;
let simUrl = '';
async function simControl(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${simUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`simulator ${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}
const simPerf = () => simControl('/_sim/profile', { profile: 'perf' });
const simLatency = (firstByte: number, perChunk: number) =>
  simControl('/_sim/latency', { firstByte, perChunk });

// ---------------------------------------------------------------------------------------------
// Load generator (its own process)
const LOADGEN = join(BENCH, 'lib/loadgen.ts');

async function runLoadgen(spec: LoadSpec): Promise<LoadResult> {
  const proc = spawnProc({
    name: 'loadgen',
    cmd: process.execPath,
    args: [LOADGEN, JSON.stringify(spec)],
    cpus: CPU_LOAD,
  });
  const code = await new Promise<number | null>((r) => proc.child.once('exit', (c) => r(c)));
  const lines = proc.output().trim().split('\n');
  const last = lines[lines.length - 1];
  if (code !== 0 || !last?.startsWith('{'))
    throw new Error(`load generator failed (${code}):\n${proc.output().slice(-2000)}`);
  return JSON.parse(last) as LoadResult;
}

function cpuBetween(
  pid: number | undefined,
  before: ReturnType<typeof sampleProc> | undefined,
  t0: number,
  ok: number,
): CpuStat | undefined {
  if (pid === undefined || before === undefined) return undefined;
  const after = sampleProc(pid);
  const wall = (performance.now() - t0) / 1000;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return {
    cpuSeconds: cpu,
    wallSeconds: wall,
    percent: (cpu / wall) * 100,
    msPer1k: ok > 0 ? (cpu * 1000 * 1000) / ok : Number.NaN,
    rssBytes: after.rssBytes,
  };
}

async function measured(t: RunningTarget, spec: LoadSpec): Promise<PhaseResult> {
  if (settings.warmupS > 0) {
    await runLoadgen({
      ...spec,
      mode: spec.mode === 'stream' ? 'stream' : 'closed',
      concurrency: 16,
      durationMs: settings.warmupS * 1000,
    });
  }
  const pid = t.proc?.pid;
  await loopSample(t); // starts the probe's window
  const before = pid !== undefined ? sampleProc(pid) : undefined;
  const t0 = performance.now();
  const load = await runLoadgen(spec);
  const cpu = cpuBetween(pid, before, t0, load.ok);
  const loop = await loopSample(t);
  return { load, cpu, ...(loop ? { loop } : {}) };
}

/** The target's event-loop delay since the previous call (SIGUSR2 to its probe), or undefined. */
async function loopSample(t: RunningTarget): Promise<LoopStat | undefined> {
  if (!t.loopFile || !t.proc) return undefined;
  const read = (): (LoopStat & { seq: number }) | undefined => {
    try {
      return JSON.parse(readFileSync(t.loopFile!, 'utf8'));
    } catch {
      return undefined;
    }
  };
  const seq = read()?.seq ?? 0;
  t.proc.child.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    const r = read();
    if (r && r.seq > seq) return { p50: r.p50, p99: r.p99, max: r.max };
    await new Promise((res) => setTimeout(res, 20));
  }
  return undefined;
}

async function holdPhase(t: RunningTarget): Promise<TargetResult['hold']> {
  await simLatency(0, settings.holdChunkDelayMs);
  const rssBefore = t.proc ? sampleProc(t.proc.pid).rssBytes : 0;
  const spec: LoadSpec = {
    mode: 'hold',
    url: t.url,
    headers: t.headers,
    body: streamBody(200), // 200 deltas x 2 s: far longer than the phase
    concurrency: settings.holdStreams,
    connections: settings.holdStreams,
    holdMs: 120_000,
  };
  const proc = spawnProc({
    name: 'loadgen-hold',
    cmd: process.execPath,
    args: [LOADGEN, JSON.stringify(spec)],
    cpus: CPU_LOAD,
  });
  const exited = new Promise<number | null>((r) => proc.child.once('exit', (c) => r(c)));
  // Wait for the {"held": n} line.
  const deadline = Date.now() + 120_000;
  while (!proc.output().includes('"held"')) {
    if (proc.child.exitCode !== null || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const heldLine = proc
    .output()
    .split('\n')
    .find((l) => l.includes('"held"'));
  const held = heldLine ? (JSON.parse(heldLine) as { held: number }).held : 0;
  // RSS while the streams are open: the highest of a few samples over 2 s.
  let rss = 0;
  for (let i = 0; i < 10; i++) {
    if (t.proc) rss = Math.max(rss, sampleProc(t.proc.pid).rssBytes);
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.child.kill('SIGTERM');
  await exited;
  const lines = proc.output().trim().split('\n');
  const final = lines[lines.length - 1]?.startsWith('{"mode"')
    ? (JSON.parse(lines[lines.length - 1]) as LoadResult)
    : undefined;
  await simPerf();
  // Let the target notice the closed client sockets and drop its upstream streams.
  await new Promise((r) => setTimeout(r, 2000));
  return {
    requested: settings.holdStreams,
    held,
    errors: final?.errors ?? settings.holdStreams - held,
    errorSamples: final?.errorSamples ?? [],
    rssBeforeBytes: rssBefore,
    rssBytes: rss,
  };
}

async function soakPhase(t: RunningTarget): Promise<TargetResult['soak']> {
  if (!t.proc) return undefined;
  const sampler = rssSampler(t.proc.pid, 1000);
  const load = await runLoadgen({
    mode: 'open',
    url: t.url,
    headers: t.headers,
    body: SMALL,
    rate: settings.soakRate,
    durationMs: settings.soakSeconds * 1000,
  });
  const points = sampler.stop();
  // Ignore the first 10 % (heap growing to its working size).
  const steady = points.filter(([s]) => s >= settings.soakSeconds * 0.1);
  const { slope } = linearRegression(steady.length >= 2 ? steady : points);
  return {
    seconds: settings.soakSeconds,
    rate: settings.soakRate,
    load,
    rssPoints: points,
    slopeBytesPerMin: slope * 60,
    startRssBytes: points[0]?.[1] ?? 0,
    endRssBytes: points[points.length - 1]?.[1] ?? 0,
  };
}

async function benchTarget(name: TargetName, tmpDir: string, resultsDir: string): Promise<TargetResult> {
  const result: TargetResult = { name, open: [] };
  const why = unavailable(name);
  if (why) {
    log(`${name}: skipped: ${why}`);
    return { ...result, skipped: why };
  }
  let t: RunningTarget | undefined;
  try {
    t = await startTarget(name, {
      simUrl,
      cpus: CPU_TARGET,
      tmpDir,
      resultsDir,
      gantryFrom: settings.gantryFrom,
    });
    result.version = t.version;
    result.idleRssBytes = t.proc ? sampleProc(t.proc.pid).rssBytes : undefined;
    const ph = new Set(settings.phases);
    const base = { url: t.url, headers: t.headers, body: SMALL, durationMs: settings.durationS * 1000 };
    if (ph.has('open')) {
      await simPerf();
      for (const rate of settings.rates) {
        log(`${name}: open loop ${rate} req/s for ${settings.durationS} s`);
        const r = await measured(t, { ...base, mode: 'open', rate });
        result.open.push({ rate, ...r });
        log(
          `${name}:   p50 ${fx(r.load.latency.p50)} ms p99 ${fx(r.load.latency.p99)} ms, ${r.load.errors} errors`,
        );
      }
    }
    if (ph.has('closed')) {
      await simPerf();
      log(`${name}: closed loop, ${settings.connections} connections for ${settings.durationS} s`);
      result.closed = await measured(t, { ...base, mode: 'closed', concurrency: settings.connections });
      log(`${name}:   ${fx(result.closed.load.throughput, 0)} req/s, ${result.closed.load.errors} errors`);
    }
    if (ph.has('stream')) {
      await simLatency(settings.firstByteMs, settings.chunkDelayMs);
      log(
        `${name}: streams, ${settings.streamConcurrency} concurrent, first byte ${settings.firstByteMs} ms, ${settings.chunkDelayMs} ms per chunk`,
      );
      result.stream = await measured(t, {
        ...base,
        body: streamBody(settings.streamDeltas),
        mode: 'stream',
        concurrency: settings.streamConcurrency,
      });
      await simPerf();
      const s = result.stream.load;
      log(
        `${name}:   ttft p50 ${fx(s.ttft?.p50, 2)} ms p99 ${fx(s.ttft?.p99, 2)} ms, gap p50 ${fx(s.gaps?.p50, 2)} ms, ${s.errors} errors`,
      );
    }
    if (ph.has('hold') && t.proc) {
      log(`${name}: holding ${settings.holdStreams} open streams`);
      result.hold = await holdPhase(t);
      log(
        `${name}:   held ${result.hold?.held}, RSS ${((result.hold?.rssBytes ?? 0) / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    if (ph.has('soak') && settings.soakTargets.includes(name) && t.proc) {
      await simPerf();
      log(`${name}: soak ${settings.soakSeconds} s at ${settings.soakRate} req/s`);
      result.soak = await soakPhase(t);
      log(`${name}:   RSS slope ${fx((result.soak?.slopeBytesPerMin ?? 0) / 2 ** 20)} MiB/min`);
    }
  } catch (err) {
    result.error = String((err as Error).message ?? err).slice(0, 2000);
    log(`${name}: FAILED: ${result.error}`);
  } finally {
    await t?.stop();
  }
  return result;
}

async function roundsPhase(tmpDir: string, resultsDir: string): Promise<RunResult['rounds']> {
  const running: RunningTarget[] = [];
  const throughput: Partial<Record<TargetName, number[]>> = {};
  try {
    for (const name of settings.targets) {
      if (unavailable(name)) continue;
      running.push(
        await startTarget(name, {
          simUrl,
          cpus: CPU_TARGET,
          tmpDir,
          resultsDir,
          gantryFrom: settings.gantryFrom,
        }),
      );
    }
    await simPerf();
    const spec = (t: RunningTarget, seconds: number): LoadSpec => ({
      mode: 'closed',
      url: t.url,
      headers: t.headers,
      body: SMALL,
      concurrency: settings.connections,
      durationMs: seconds * 1000,
    });
    for (const t of running) if (settings.warmupS > 0) await runLoadgen(spec(t, settings.warmupS));
    for (let r = 1; r <= settings.rounds; r++) {
      const line: string[] = [];
      for (const t of running) {
        const load = await runLoadgen(spec(t, settings.roundSeconds));
        const list = throughput[t.name] ?? [];
        list.push(load.throughput);
        throughput[t.name] = list;
        line.push(`${t.name} ${fx(load.throughput, 0)}`);
      }
      log(`round ${r}/${settings.rounds}: ${line.join(', ')} req/s`);
    }
  } finally {
    for (const t of running) await t.stop();
  }
  return { rounds: settings.rounds, seconds: settings.roundSeconds, throughput };
}

function ensurePortkey(): void {
  if (!settings.targets.includes('portkey') || existsSync(PORTKEY_ENTRY)) return;
  if (flags['no-install']) return;
  log('Portkey is not installed in bench/: running npm --prefix bench install (one time)');
  try {
    execFileSync('npm', ['--prefix', BENCH, 'install', '--no-audit', '--no-fund'], {
      stdio: 'inherit',
      cwd: ROOT,
    });
  } catch {
    log('npm --prefix bench install failed: the portkey target will be skipped');
  }
}

async function main(): Promise<void> {
  if (flags.render) {
    // Re-render BENCHMARKS.md from a results file (no measurement).
    const saved = JSON.parse(readFileSync(flags.render, 'utf8')) as RunResult;
    const mdPath = flags.out ?? join(ROOT, 'BENCHMARKS.md');
    writeFileSync(mdPath, renderMarkdown(saved, relative(ROOT, flags.render)));
    log(`wrote ${relative(ROOT, mdPath)} from ${flags.render}`);
    return;
  }
  ensurePortkey();
  if (settings.gantryFrom === 'dist') {
    log('building dist/ (npm run build) for --gantry dist');
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  }
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const tmpDir = mkdtempSync(join(tmpdir(), 'gantry-bench-'));
  const run: RunResult = {
    startedAt: new Date().toISOString(),
    settings,
    machine: machine(),
    placement: { target: CPU_TARGET, simulator: CPU_SIM, loadgen: CPU_LOAD },
    loadBefore: loadavg(),
    targets: [],
  };
  log(
    `machine: ${run.machine.nproc} CPUs (${run.machine.cpuModel}), Node ${run.machine.node}, load ${run.loadBefore}`,
  );
  log(
    canPin
      ? `pinning: target on CPU ${CPU_TARGET}, simulator on ${CPU_SIM}, load generator on ${CPU_LOAD}`
      : 'no CPU pinning',
  );

  const port = await freePort();
  sim = spawnProc({
    name: 'simulator',
    cmd: process.execPath,
    args: [join(ROOT, 'bin/gantry.js'), 'simulate', '--profile', 'perf', '--port', String(port)],
    cpus: CPU_SIM,
    cwd: ROOT,
  });
  simUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${simUrl}/_sim/state`, sim);
    for (const name of settings.targets) run.targets.push(await benchTarget(name, tmpDir, resultsDir));
    if (settings.phases.includes('rounds')) {
      log(
        `interleaved rounds: ${settings.rounds} x ${settings.roundSeconds} s closed loop per target, all targets running`,
      );
      run.rounds = await roundsPhase(tmpDir, resultsDir);
    }
  } finally {
    await sim.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  }
  run.finishedAt = new Date().toISOString();
  run.loadAfter = loadavg();

  const jsonPath = flags.json ?? join(resultsDir, 'latest.json');
  const mdPath = flags.out ?? join(ROOT, 'BENCHMARKS.md');
  writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(mdPath, renderMarkdown(run, relative(ROOT, jsonPath)));
  log(`wrote ${relative(ROOT, mdPath)} and ${relative(ROOT, jsonPath)}`);
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  sim?.stop();
  process.exit(1);
});
