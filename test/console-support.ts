/**
 * A gateway with the console on, in front of a simulator, with a workload:
 * two clients (one with rate limits and budgets), customers, streams, a few
 * upstream errors, an environment with two upstream keys, a file ledger and
 * alerts. Shared by the console's route and browser suites.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink } from './support.ts';

export const ADMIN_KEY = 'gk_consoleAdmin00000000000000000000000000000000';
export const CHECKOUT_KEY = 'gk_consoleCheckout000000000000000000000000000000';
export const SEARCH_KEY = 'gk_consoleSearch00000000000000000000000000000000';
export const UPSTREAM_A =
  'sk-ant-api03-console-primary-0000000000000000000000000000000000000000000000000000AA';
export const UPSTREAM_B =
  'sk-ant-api03-console-secondary-00000000000000000000000000000000000000000000000000AA';
/** Planted in prompts: it must never appear on any console page. */
export const PROMPT_MARKER = 'PLANTED-PROMPT-MARKER-7f3a9c';

export interface ConsoleStack {
  sim: Simulator;
  gateway: Gateway;
  config: ResolvedConfig;
  logs: LogSink;
  dir: string;
  ledgerUrl: string;
  /** Bodies the alert webhook received. */
  webhook: unknown[];
  close(): Promise<void>;
}

/** A webhook receiver on port 0 that answers 200 and keeps what it got. */
async function startReceiver(): Promise<{ server: Server; url: string; got: unknown[] }> {
  const got: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push(JSON.parse(body || 'null'));
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

export async function startConsoleStack(o: { admin?: boolean } = {}): Promise<ConsoleStack> {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-console-'));
  const sim = await startSimulator();
  const receiver = await startReceiver();
  process.env.GANTRY_CONSOLE_KEY_A = UPSTREAM_A;
  process.env.GANTRY_CONSOLE_KEY_B = UPSTREAM_B;
  process.env.GANTRY_CONSOLE_WEBHOOK = receiver.url;
  const ledgerUrl = `sqlite:${join(dir, 'ledger.db')}`;
  const yaml = `
server: { host: 127.0.0.1, port: 0 }
upstream: { base_url: "${sim.url}" }
environments:
  prod:
    upstream_keys:
      - { id: primary, key: env:GANTRY_CONSOLE_KEY_A }
      - { id: secondary, key: env:GANTRY_CONSOLE_KEY_B }
clients:
  - name: checkout
    environment: prod
    key_sha256: ${hashKey(CHECKOUT_KEY)}
    limits: { rpm: 300, output_tpm: 20000, budget: { daily_usd: 0.05, monthly_usd: 1 } }
  - name: search
    environment: prod
    key_sha256: ${hashKey(SEARCH_KEY)}
${o.admin === false ? '' : `admin: { key_sha256: ${hashKey(ADMIN_KEY)} }`}
storage: { ledger: "${ledgerUrl}", ledger_flush_ms: 50 }
resilience: { max_attempts: 1 }
logging: { level: info }
metrics: { stats_interval_ms: 2000, stats_intervals: 60 }
alerts:
  source: console-test
  evaluate_every_ms: 500
  delivery_attempts: 1
  channels:
    - { name: ops-webhook, type: webhook, url: env:GANTRY_CONSOLE_WEBHOOK }
  rules:
    - { metric: error_rate_5xx, for_ms: 0, min_requests: 5, window_ms: 60000 }
    - { metric: latency_p99 }
    - { metric: rate_429 }
    - { metric: budget_daily }
    - { metric: auth_failures }
rollouts:
  # On a model the workload never asks for: pending until a test starts it.
  - id: sonnet-next
    clients: [search]
    baseline: { model: claude-sonnet-4-6 }
    candidate: { model: claude-sonnet-5-5, max_tokens: 2048 }
    steps: [5, 25, 50, 100]
`;
  const config = parseConfig(yaml, { source: 'console-test.yaml', baseDir: dir });
  const logs = new LogSink();
  const gateway = await startGateway({ config, logDestination: logs });
  return {
    sim,
    gateway,
    config,
    logs,
    dir,
    ledgerUrl,
    webhook: receiver.got,
    async close() {
      await gateway.close();
      await sim.close();
      receiver.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Sent {
  status: number;
  gatewayId: string;
  upstreamId: string | null;
}

/** One `POST /v1/messages` through the gateway. */
export async function send(
  stack: ConsoleStack,
  o: {
    key?: string;
    customer?: string;
    stream?: boolean;
    model?: string;
    text?: string;
    maxTokens?: number;
  } = {},
): Promise<Sent> {
  const res = await fetch(`${stack.gateway.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': o.key ?? CHECKOUT_KEY,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      ...(o.customer ? { 'x-gantry-customer': o.customer } : {}),
    },
    body: JSON.stringify({
      model: o.model ?? 'claude-haiku-4-5',
      max_tokens: o.maxTokens ?? 64,
      stream: o.stream ?? false,
      messages: [{ role: 'user', content: o.text ?? `Hello there. ${PROMPT_MARKER}` }],
    }),
  });
  await res.arrayBuffer();
  return {
    status: res.status,
    gatewayId: res.headers.get('gantry-request-id') ?? '',
    upstreamId: res.headers.get('request-id')?.startsWith('req_') ? res.headers.get('request-id') : null,
  };
}

/**
 * The workload: `n` requests over both clients and a few customers, a third
 * streamed, with one upstream 529 and one 500 (not retried: max_attempts 1),
 * spread evenly over `spreadMs`.
 */
export async function runWorkload(stack: ConsoleStack, n = 40, spreadMs = 0): Promise<Sent[]> {
  const out: Sent[] = [];
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const due = started + (spreadMs * i) / n;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    if (i === 7) stack.sim.state.addFault({ kind: 'status', status: 529, count: 1 });
    if (i === 13) stack.sim.state.addFault({ kind: 'status', status: 500, count: 1 });
    out.push(
      await send(stack, {
        key: i % 4 === 3 ? SEARCH_KEY : CHECKOUT_KEY,
        customer: i % 4 === 3 ? undefined : `cust-${(i % 3) + 1}`,
        stream: i % 3 === 0,
        model: i % 5 === 4 ? 'claude-sonnet-4-6' : 'claude-haiku-4-5',
      }),
    );
  }
  return out;
}

/** Waits until the ledger writer has flushed every row (`GET /admin/ledger`: nothing queued). */
export async function ledgerSettled(stack: ConsoleStack, rows: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${stack.gateway.url}/admin/ledger`, { headers: { 'x-api-key': ADMIN_KEY } });
    const s = (await res.json()) as { queued: number; written: number };
    if (s.queued === 0 && s.written >= rows) return;
    if (Date.now() > deadline) throw new Error(`ledger not flushed: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `GET` an admin route as JSON. */
export async function admin<T = Record<string, unknown>>(stack: ConsoleStack, path: string): Promise<T> {
  const res = await fetch(`${stack.gateway.url}${path}`, { headers: { 'x-api-key': ADMIN_KEY } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
