/**
 * The targets under test. Each starts in its own process (pinned to the
 * "target" CPU when taskset is available) in front of the same simulator, and
 * says how a client reaches it (origin + headers).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, hasCommand, type Spawned, spawnProc, waitForHttp } from './procs.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BENCH = join(ROOT, 'bench');
export const PORTKEY_ENTRY = join(BENCH, 'node_modules/@portkey-ai/gateway/build/start-server.js');

/** The bench client's virtual key; its SHA-256 is in bench/configs/*.yaml. */
export const BENCH_CLIENT_KEY = 'gk-bench-client-0001';
/** Sent upstream by the proxies; the simulator accepts any non-empty key. */
export const BENCH_UPSTREAM_KEY = 'sk-ant-api03-bench-upstream-key-not-a-real-key';

export const TARGETS = ['direct', 'nginx', 'node-floor', 'portkey', 'gantry-min', 'gantry-full'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface RunningTarget {
  name: TargetName;
  /** Origin the load generator talks to. */
  url: string;
  headers: Record<string, string>;
  /** The process whose CPU and RSS are measured (undefined for direct). */
  proc?: Spawned;
  version?: string;
  /** Where the target's event-loop probe writes on SIGUSR2 (bench/lib/loop-probe.ts), for Node targets. */
  loopFile?: string;
  stop(): Promise<void>;
}

const LOOP_PROBE = join(BENCH, 'lib/loop-probe.ts');

export interface TargetContext {
  simUrl: string;
  /** CPU list for the target process (taskset), or undefined. */
  cpus?: string;
  tmpDir: string;
  resultsDir: string;
  /** Extra Node flags for gantry targets (bench/profile.ts passes --cpu-prof ...). */
  nodeArgs?: string[];
  /** Run gantry from its TypeScript sources (bin/gantry.js, default) or the compiled dist/. */
  gantryFrom?: 'source' | 'dist';
}

const API_HEADERS = {
  'content-type': 'application/json',
  'anthropic-version': '2023-06-01',
};

export function nginxVersion(): string | undefined {
  const bin = hasCommand('nginx');
  if (!bin) return undefined;
  // `nginx -v` prints "nginx version: nginx/1.22.1" on stderr.
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().replace(/^nginx version:\s*/, '') || 'unknown';
}

export function portkeyVersion(): string | undefined {
  const pkg = join(BENCH, 'node_modules/@portkey-ai/gateway/package.json');
  if (!existsSync(pkg)) return undefined;
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Why a target cannot run here, or undefined when it can. */
export function unavailable(name: TargetName): string | undefined {
  if (name === 'nginx' && !hasCommand('nginx'))
    return 'nginx is not installed (Debian: apt-get update && apt-get install -y nginx)';
  if (name === 'portkey' && !existsSync(PORTKEY_ENTRY))
    return 'Portkey is not installed in bench/ (npm --prefix bench install)';
  return undefined;
}

export async function startTarget(name: TargetName, ctx: TargetContext): Promise<RunningTarget> {
  const node = process.execPath;
  if (name === 'direct') {
    return {
      name,
      url: ctx.simUrl,
      headers: { ...API_HEADERS, 'x-api-key': BENCH_UPSTREAM_KEY },
      stop: async () => {},
    };
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  if (name === 'nginx') {
    const dir = join(ctx.tmpDir, 'nginx');
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const sim = new URL(ctx.simUrl);
    const conf = `# written by bench/run.ts
worker_processes 1;
worker_rlimit_nofile 20000;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream simulator {
    server ${sim.hostname}:${sim.port};
    keepalive 512;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://simulator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 600s;
    }
  }
}
`;
    const confPath = join(dir, 'nginx.conf');
    writeFileSync(confPath, conf);
    const proc = spawnProc({
      name,
      cmd: hasCommand('nginx') as string,
      args: ['-p', dir, '-c', confPath, '-g', 'daemon off;'],
      cpus: ctx.cpus,
    });
    await waitForHttp(`${url}/_sim/state`, proc);
    return {
      name,
      url,
      headers: { ...API_HEADERS, 'x-api-key': BENCH_UPSTREAM_KEY },
      proc,
      version: nginxVersion(),
      stop: () => proc.stop(),
    };
  }

  if (name === 'node-floor') {
    const proc = spawnProc({
      name,
      cmd: node,
      args: ['--import', LOOP_PROBE, join(BENCH, 'lib/node-proxy.ts'), String(port), ctx.simUrl],
      cpus: ctx.cpus,
      env: { ...process.env, BENCH_LOOP_FILE: join(ctx.tmpDir, `${name}.loop.json`) },
    });
    await waitForHttp(`${url}/v1/models`, proc);
    return {
      name,
      url,
      headers: { ...API_HEADERS, 'x-api-key': BENCH_UPSTREAM_KEY },
      proc,
      version: `node ${process.version} node:http + undici`,
      loopFile: join(ctx.tmpDir, `${name}.loop.json`),
      stop: () => proc.stop(),
    };
  }

  if (name === 'portkey') {
    const proc = spawnProc({
      name,
      cmd: node,
      args: [PORTKEY_ENTRY, `--port=${port}`, '--headless'],
      cpus: ctx.cpus,
      cwd: BENCH,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    await waitForHttp(url, proc);
    return {
      name,
      url,
      headers: {
        ...API_HEADERS,
        'x-api-key': BENCH_UPSTREAM_KEY,
        'x-portkey-provider': 'anthropic',
        // Portkey's anthropic provider appends /messages to the custom host.
        'x-portkey-custom-host': `${ctx.simUrl}/v1`,
      },
      proc,
      version: portkeyVersion(),
      stop: () => proc.stop(),
    };
  }

  // gantry-min / gantry-full: render bench/configs/<name>.yaml
  const confPath = renderGantryConfig(name, { simUrl: ctx.simUrl, port, dir: ctx.tmpDir });
  const proc = spawnProc({
    name,
    cmd: node,
    args: [
      '--import',
      LOOP_PROBE,
      ...(ctx.nodeArgs ?? []),
      ctx.gantryFrom === 'dist' ? join(BENCH, 'lib/gantry-dist.js') : join(ROOT, 'bin/gantry.js'),
      'serve',
      '--config',
      confPath,
    ],
    cpus: ctx.cpus,
    cwd: ROOT,
    env: {
      ...process.env,
      BENCH_UPSTREAM_KEY,
      NODE_ENV: 'production',
      BENCH_LOOP_FILE: join(ctx.tmpDir, `${name}.loop.json`),
    },
  });
  await waitForHttp(`${url}/v1/models`, proc);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    name,
    url,
    headers: { ...API_HEADERS, 'x-api-key': BENCH_CLIENT_KEY },
    proc,
    version: `gantry ${pkg.version} (${gitRev()})`,
    loopFile: join(ctx.tmpDir, `${name}.loop.json`),
    stop: () => proc.stop(),
  };
}

/**
 * Writes bench/configs/<name>.yaml into `dir` with `${UPSTREAM_URL}`, `${PORT}` and
 * `${RESULTS_DIR}` filled in; returns its path.
 */
export function renderGantryConfig(name: string, o: { simUrl: string; port: number; dir: string }): string {
  const vars: Record<string, string> = { UPSTREAM_URL: o.simUrl, PORT: String(o.port), RESULTS_DIR: o.dir };
  const template = readFileSync(join(BENCH, 'configs', `${name}.yaml`), 'utf8');
  const path = join(o.dir, `${name}.yaml`);
  writeFileSync(
    path,
    template.replace(/\$\{(\w+)\}/g, (m, k: string) => vars[k] ?? m),
  );
  return path;
}

/** `gantry simulate --profile perf` on a free port, ready to answer. */
export async function startSimulatorProcess(cpus?: string): Promise<{ url: string; proc: Spawned }> {
  const port = await freePort();
  const proc = spawnProc({
    name: 'simulator',
    cmd: process.execPath,
    args: [join(ROOT, 'bin/gantry.js'), 'simulate', '--profile', 'perf', '--port', String(port)],
    cwd: ROOT,
    cpus,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/_sim/state`, proc);
  return { url, proc };
}

export function gitRev(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
