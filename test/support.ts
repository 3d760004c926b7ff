/**
 * Shared set-up for integration suites: a simulator and a gateway on port 0,
 * a config object built like `loadConfig` builds it, and a log sink that keeps
 * every line the gateway writes.
 */
import { Writable } from 'node:stream';
import { parseConfig } from '../src/config/load.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';

export const UPSTREAM_KEY =
  'sk-ant-api03-test-upstream-key-0000000000000000000000000000000000000000000000000000000000AA';

export interface ConfigOverrides {
  upstream?: Partial<ResolvedConfig['upstream']>;
  server?: Partial<ResolvedConfig['server']>;
  clients?: ResolvedConfig['clients'];
  environments?: ResolvedConfig['environments'];
  admin?: ResolvedConfig['admin'];
  storage?: Partial<ResolvedConfig['storage']>;
  /** e.g. `{ maxAttempts: 1 }` for suites that need upstream errors passed through unretried. */
  resilience?: Partial<ResolvedConfig['resilience']>;
}

/** The config `loadConfig` would build for an empty file, with test-friendly overrides. */
export function testConfig(upstreamUrl: string, o: ConfigOverrides = {}): ResolvedConfig {
  const base = parseConfig('{}', { source: 'test', baseDir: process.cwd() });
  return {
    ...base,
    server: { ...base.server, port: 0, drainTimeoutMs: 5_000, ...o.server },
    upstream: { ...base.upstream, baseUrl: upstreamUrl, connectTimeoutMs: 2_000, ...o.upstream },
    environments: o.environments ?? {
      default: { name: 'default', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' },
    },
    clients: o.clients ?? [],
    admin: o.admin ?? {},
    // Tests keep the ledger in memory unless they name a store.
    storage: { ...base.storage, ledger: 'sqlite::memory:', ...o.storage },
    resilience: { ...base.resilience, ...o.resilience },
  };
}

/** A pino destination that keeps lines in memory. */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l));
  }
}

export async function startTestGateway(
  upstreamUrl: string,
  o: ConfigOverrides = {},
): Promise<{ gateway: Gateway; logs: LogSink }> {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const logs = new LogSink();
  const gateway = await startGateway({ config: testConfig(upstreamUrl, o), logDestination: logs });
  return { gateway, logs };
}

export interface ServeProcess {
  child: import('node:child_process').ChildProcess;
  /** The URL from the `listening on` line. */
  url: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
}

/**
 * Runs `node bin/gantry.js serve --config <path>` as a real process and waits
 * for its listening line (30 s, for loaded CI machines). The process is killed
 * when the test context `t` ends, whatever happened.
 */
export async function spawnServe(
  configPath: string,
  env: NodeJS.ProcessEnv,
  t: { after(fn: () => void): void },
  extraArgs: string[] = [],
): Promise<ServeProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['bin/gantry.js', 'serve', '--config', configPath, ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line from gantry serve: ${stderr}`)),
      30_000,
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gantry serve exited ${code}: ${stderr}`));
    });
  });
  return { child, url, stderr: () => stderr };
}

/**
 * Waits until `cond` holds (polled every 10 ms), for up to `ms`: a wait on the
 * thing a test needs, instead of a fixed sleep that is too short on a loaded
 * machine and too long on an idle one.
 */
export async function until<T>(
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The first log line matching `pred`, once the gateway's logger has written it. */
export async function logLine(
  gateway: Gateway,
  logs: LogSink,
  pred: (line: Record<string, unknown>) => boolean,
  what = 'the log line',
): Promise<Record<string, unknown>> {
  await new Promise<void>((resolve) => gateway.logger.flush(() => resolve()));
  return until(() => logs.records().find(pred), what);
}

/**
 * Records every exchange the gateway completes from now on; `of(id)` resolves
 * with an exchange's record once it completed (every stage's `complete` hook
 * and every observer ran), whether before or after the call.
 */
export function completions(gateway: Gateway): {
  of(id: string | null | undefined, ms?: number): Promise<import('../src/pipeline/record.ts').ExchangeRecord>;
  stop(): void;
} {
  type Rec = import('../src/pipeline/record.ts').ExchangeRecord;
  const seen = new Map<string, Rec>();
  const waiting = new Map<string, (r: Rec) => void>();
  const off = gateway.events.exchangeComplete.subscribe((r) => {
    seen.set(r.id, r);
    waiting.get(r.id)?.(r);
  });
  return {
    of: (id, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const have = id ? seen.get(id) : undefined;
        if (have) return resolve(have);
        const timer = setTimeout(
          () => reject(new Error(`exchange ${id} did not complete within ${ms} ms`)),
          ms,
        );
        waiting.set(String(id), (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      }),
    stop: off,
  };
}
