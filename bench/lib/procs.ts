/**
 * Process helpers for the harness: spawn a target in its own process (pinned
 * to a core with `taskset` when available), wait until it listens, read its
 * CPU time and RSS from /proc, stop it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export function hasCommand(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Spawned {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote (last 64 KB), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** CPU list for taskset (e.g. "0"); ignored when taskset is missing. */
  cpus?: string;
  cwd?: string;
}

const TASKSET = hasCommand('taskset');

export function spawnProc(o: SpawnOptions): Spawned {
  const [cmd, args] = o.cpus && TASKSET ? [TASKSET, ['-c', o.cpus, o.cmd, ...o.args]] : [o.cmd, o.args];
  const child = spawn(cmd, args, {
    env: o.env ?? process.env,
    cwd: o.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name: o.name,
    child,
    pid: child.pid ?? -1,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once `url` answers any HTTP response (polls every 50 ms). */
export async function waitForHttp(url: string, proc: Spawned, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${proc.output().slice(-2000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(
          `${proc.name} did not answer on ${url} within ${timeoutMs} ms:\n${proc.output().slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** pid and all its descendants (via /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const kids = readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) out.push(Number(k));
      }
    } catch {
      // process gone
    }
  }
  return out;
}

/** The process that does the work: for `taskset` wrappers taskset execs, so the pid stays. */
export interface ProcSample {
  /** CPU seconds (user + system) of the process tree. */
  cpuSeconds: number;
  /** Resident set size of the process tree, bytes. */
  rssBytes: number;
}

export function sampleProc(pid: number): ProcSample {
  let ticks = 0;
  let rssKb = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) in parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) rssKb += Number(m[1]);
    } catch {
      // process gone
    }
  }
  return { cpuSeconds: ticks / CLK_TCK, rssBytes: rssKb * 1024 };
}

/** Samples RSS every `everyMs` until stopped; returns [seconds since start, bytes]. */
export function rssSampler(pid: number, everyMs: number): { stop(): Array<[number, number]> } {
  const t0 = performance.now();
  const points: Array<[number, number]> = [];
  const take = () => points.push([(performance.now() - t0) / 1000, sampleProc(pid).rssBytes]);
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return points;
    },
  };
}

/** Least-squares slope and intercept of y over x. */
export function linearRegression(points: Array<[number, number]>): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, intercept: n ? points[0][1] : 0 };
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const d = n * sxx - sx * sx;
  const slope = d === 0 ? 0 : (n * sxy - sx * sy) / d;
  return { slope, intercept: (sy - slope * sx) / n };
}
