/**
 * Real processes for the chaos harness: `gantry serve`, `gantry simulate`, and
 * private `redis-server` instances (a scenario may kill its own Redis; the
 * shared one is never touched). Each spawn waits for its listening line and
 * keeps everything the process wrote, so the secret scan can read it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Proc {
  readonly child: ChildProcess;
  /** The URL from the listening line. */
  readonly url: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`); resolves with the ms it took. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number>;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Spawns `cmd args` and waits (up to 30 s) for `ready` to match its output; group 1 is the URL. */
export async function spawnListening(
  cmd: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
): Promise<Proc> {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${cmd} ${args[1] ?? ''}: no listening line in 30 s\n${out}`)),
      30_000,
    );
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) {
      const t0 = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) return 0;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      return Date.now() - t0;
    },
  };
}

/** `node bin/gantry.js serve --config <path>`. */
export function spawnGateway(configPath: string, env: NodeJS.ProcessEnv): Promise<Proc> {
  return spawnListening(
    process.execPath,
    ['bin/gantry.js', 'serve', '--config', configPath],
    /gantry serve listening on (http:\/\/\S+)/,
    env,
  );
}

/** `node bin/gantry.js simulate` on a free port, accepting only `key`. */
export async function spawnSimulator(key: string): Promise<Proc> {
  const port = await freePort();
  return spawnListening(
    process.execPath,
    ['bin/gantry.js', 'simulate', '--port', String(port), '--profile', 'perf', '--keys', key],
    /gantry simulate listening on (http:\/\/\S+?)\s/,
  );
}

/** A private Redis (no persistence) on `port`, owned by the scenario: it may be killed and restarted. */
export async function spawnRedis(port: number, dir: string): Promise<Proc> {
  const proc = await spawnListening(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    /(Ready to accept connections)/,
  );
  return { ...proc, url: `redis://127.0.0.1:${port}/0` };
}

/** Waits for a process to exit, at most `ms`; true when it did. */
export async function exitedWithin(proc: Proc, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  const done = await Promise.race([proc.exited.then(() => true as const), late]);
  clearTimeout(timer);
  return done;
}
