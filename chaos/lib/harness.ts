/**
 * The chaos harness: runs scenarios (chaos/scenarios/) against real processes
 * and judges each with the same yardstick.
 *
 * A scenario gets a `ChaosContext`: it writes gateway configs, starts
 * gateways, proxies and private Redis servers, drives load, breaks things and
 * records its own figures and checks. Everything it starts is registered, and
 * stopped by the harness when the scenario ends (a gateway still running gets
 * SIGTERM, so its ledger is flushed). Then the harness counts, over every
 * request the scenario's clients sent:
 *
 * - answered / hung (no answer within the hang timeout) / cut / refused;
 * - gateway 5xx (any 5xx except the documented 503 `shutting_down`);
 * - ledger rows lost (a request id a client saw with no row) and doubled
 *   (an id with more than one row);
 * - secrets found: the planted client, admin and upstream keys and the prompt
 *   marker, searched in every gateway's output and log file, the `/metrics`,
 *   `/readyz` and admin answers snapshotted before each stop, the ledger's
 *   rows and any spill file.
 *
 * The verdict: 0 hung, 0 gateway 5xx, 0 lost (or within the bound a scenario
 * declared with `allowLoss`), 0 doubled, 0 secrets, and every `check` true.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { hashKey } from '../../src/config/keys.ts';
import { openLedgerStore } from '../../src/ledger/store.ts';
import { type LoadOptions, type LoadRun, type RequestRecord, startLoad } from './load.ts';
import { freePort, type Proc, spawnGateway, spawnRedis } from './procs.ts';
import { FaultProxy } from './proxy.ts';

export const PG_URL = process.env.GANTRY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Scenario {
  /** Short kebab-case name (`redis-blackholed`). */
  name: string;
  /** Part of the quick subset that runs inside `npm test`: a few seconds. */
  quick: boolean;
  /** What the gateway promises in this scenario (docs/reliability.md). */
  promise: string;
  run(ctx: ChaosContext): Promise<void>;
}

export interface Secrets {
  clientKey: string;
  adminKey: string;
  upstreamKey: string;
  promptMarker: string;
}

/** What a scenario's gateway config says besides the common part (snake_case, as in gantry.yaml). */
export interface GatewaySetup {
  /** The ledger: SQLite in the scenario's directory (default), or PostgreSQL on `port` (a proxy's). */
  ledger?: { kind: 'sqlite' } | { kind: 'postgres'; port: number };
  /** `storage.state`: `memory` (default) or a Redis URL. */
  state?: string;
  storage?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  clientLimits?: Record<string, unknown>;
  server?: Record<string, unknown>;
  logging?: Record<string, unknown>;
  resilience?: Record<string, unknown>;
}

export interface ScenarioResult {
  name: string;
  quick: boolean;
  promise: string;
  ok: boolean;
  failures: string[];
  requests: number;
  answered: number;
  hung: number;
  cut: number;
  refused: number;
  gateway5xx: number;
  shuttingDown: number;
  rowsLost: number;
  rowsDoubled: number;
  secretsFound: number;
  figures: Record<string, string | number>;
  durationMs: number;
}

interface LedgerTarget {
  kind: 'sqlite' | 'postgres';
  /** SQLite file, or PostgreSQL table. */
  where: string;
}

export class ChaosContext {
  readonly name: string;
  readonly dir: string;
  readonly secrets: Secrets;
  readonly simUrl: string;
  readonly figures: Record<string, string | number> = {};
  readonly failures: string[] = [];
  readonly #gateways: Proc[] = [];
  readonly #loads: LoadRun[] = [];
  readonly #proxies: FaultProxy[] = [];
  readonly #redis: Proc[] = [];
  readonly #snapshots: string[] = [];
  #ledger: LedgerTarget | undefined;
  #lossBound: ((r: RequestRecord) => boolean) | undefined;
  #allowed5xx: ((r: RequestRecord) => boolean) | undefined;
  readonly #extra: RequestRecord[] = [];
  #configs = 0;

  constructor(name: string, simUrl: string, secrets: Secrets) {
    this.name = name;
    this.simUrl = simUrl;
    this.secrets = secrets;
    this.dir = mkdtempSync(join(tmpdir(), `gantry-chaos-${name}-`));
  }

  /** Writes a gateway config (one ledger per scenario: every config of a scenario shares it). */
  writeConfig(setup: GatewaySetup = {}): string {
    const ledgerUrl = this.#ledgerUrl(setup.ledger ?? { kind: 'sqlite' });
    const config = {
      server: { host: '127.0.0.1', port: 0, drain_timeout_ms: 3_000, ...setup.server },
      upstream: { base_url: this.simUrl },
      environments: { prod: { upstream_key: 'env:CHAOS_UPSTREAM_KEY' } },
      admin: { key_sha256: hashKey(this.secrets.adminKey) },
      clients: [
        {
          name: 'chaos',
          environment: 'prod',
          key_sha256: hashKey(this.secrets.clientKey),
          limits: setup.clientLimits ?? {},
        },
      ],
      storage: {
        state: setup.state ?? 'memory',
        ledger: ledgerUrl,
        ledger_flush_ms: 200,
        ledger_timeout_ms: 1_000,
        ledger_close_timeout_ms: 2_000,
        ledger_spill_dir: join(this.dir, 'spill'),
        ...setup.storage,
      },
      limits: { key_prefix: `gantry-chaos:${randomUUID()}:`, on_store_error: 'open', ...setup.limits },
      logging: {
        level: 'info',
        destination: join(this.dir, `gantry-${this.#configs}.log`),
        ...setup.logging,
      },
      ...(setup.resilience ? { resilience: setup.resilience } : {}),
    };
    const path = join(this.dir, `gantry-${this.#configs++}.yaml`);
    writeFileSync(path, stringify(config));
    return path;
  }

  #ledgerUrl(ledger: NonNullable<GatewaySetup['ledger']>): string {
    if (ledger.kind === 'sqlite') {
      this.#ledger ??= { kind: 'sqlite', where: join(this.dir, 'ledger.db') };
      return `sqlite:${this.#ledger.where}`;
    }
    this.#ledger ??= {
      kind: 'postgres',
      where: `chaos_${this.name.replaceAll('-', '_')}_${randomBytes(4).toString('hex')}`,
    };
    const u = new URL(PG_URL);
    return `postgres://${u.username}@127.0.0.1:${ledger.port}${u.pathname}?table=${this.#ledger.where}`;
  }

  async startGateway(configPath: string): Promise<Proc> {
    const gw = await spawnGateway(configPath, { CHAOS_UPSTREAM_KEY: this.secrets.upstreamKey });
    this.#gateways.push(gw);
    return gw;
  }

  load(url: string, options: Partial<LoadOptions> = {}): LoadRun {
    const run = startLoad({
      url,
      clientKey: this.secrets.clientKey,
      promptMarker: this.secrets.promptMarker,
      ...options,
    });
    this.#loads.push(run);
    return run;
  }

  /** A fault proxy to `port` on 127.0.0.1 (5432: the shared PostgreSQL). */
  async proxy(port: number): Promise<FaultProxy> {
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
    this.#proxies.push(proxy);
    return proxy;
  }

  /** A private Redis for this scenario; `restart` starts it again on the same port after a kill. */
  async redis(): Promise<{ port: number; url: string; kill(): Promise<void>; restart(): Promise<void> }> {
    const port = await freePort();
    const dir = join(this.dir, 'redis');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    let proc = await spawnRedis(port, dir);
    this.#redis.push(proc);
    return {
      port,
      url: proc.url,
      kill: async () => {
        await proc.stop('SIGKILL');
      },
      restart: async () => {
        proc = await spawnRedis(port, dir);
        this.#redis.push(proc);
      },
    };
  }

  /** Keeps `/metrics`, `/readyz` and the admin answers of a live gateway for the secret scan. */
  async snapshot(gw: Proc): Promise<void> {
    const admin = { 'x-api-key': this.secrets.adminKey };
    for (const [path, headers] of [
      ['/metrics', {}],
      ['/readyz', {}],
      ['/admin/ledger', admin],
      ['/admin/upstream', admin],
    ] as const) {
      try {
        const res = await fetch(`${gw.url}${path}`, { headers, signal: AbortSignal.timeout(3_000) });
        this.#snapshots.push(await res.text());
      } catch {
        // a gateway that does not answer has nothing to disclose
      }
    }
  }

  /** Snapshots, then stops a gateway with `signal`; resolves with the ms the exit took. */
  async stop(gw: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (gw.child.exitCode === null && gw.child.signalCode === null) await this.snapshot(gw);
    return gw.stop(signal);
  }

  async readyz(url: string): Promise<number> {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Polls `cond` every 25 ms for up to `ms`; returns the ms it took, or -1 (and a failure) when it never held. */
  async waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (await cond()) return Date.now() - t0;
      await sleep(25);
    }
    this.failures.push(`${what}: not within ${ms} ms`);
    return -1;
  }

  /** Everything the scenario's gateways logged so far (their log files). */
  logText(): string {
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.log'))
      .map((n) => readFileSync(join(this.dir, n), 'utf8'))
      .join('\n');
  }

  check(ok: boolean, message: string): void {
    if (!ok) this.failures.push(message);
  }

  figure(name: string, value: string | number): void {
    this.figures[name] = value;
  }

  /**
   * Records a request the scenario sent itself (hostile input, raw sockets) so
   * it is judged with the load's: answered or hung, its status. Give it an `id`
   * only when a ledger row must exist for it.
   */
  record(r: RequestRecord): void {
    this.#extra.push(r);
  }

  /**
   * 5xx answers for which `allowed` is true are not gateway faults: an upstream
   * storm's errors passed on as the API gave them, or Gantry's documented
   * upstream-failure codes after its retries (`upstream_connection_failed`, ...).
   */
  allow5xx(allowed: (r: RequestRecord) => boolean): void {
    this.#allowed5xx = allowed;
  }

  /** Rows of requests for which `allowed` is true may be missing (SIGKILL: the last flush interval). */
  allowLoss(allowed: (r: RequestRecord) => boolean): void {
    this.#lossBound = allowed;
  }

  /** Ledger ids with how many rows each has (read from the store itself, not through a proxy). */
  async ledgerIds(): Promise<{ ids: Map<string, number>; text: string }> {
    const ids = new Map<string, number>();
    const target = this.#ledger;
    if (!target) return { ids, text: '' };
    let rows: Array<Record<string, unknown>>;
    if (target.kind === 'sqlite') {
      const store = await openLedgerStore(`sqlite:${target.where}`);
      rows = (await store.rows()) as unknown as Array<Record<string, unknown>>;
      await store.close();
    } else {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        rows = (await client.query(`SELECT * FROM ${target.where}`)).rows;
      } catch {
        rows = [];
      } finally {
        await client.end();
      }
    }
    for (const r of rows) ids.set(String(r.id), (ids.get(String(r.id)) ?? 0) + 1);
    return { ids, text: JSON.stringify(rows) };
  }

  /** Stops what is still running, reads the ledger, scans for secrets, judges. */
  async finish(scenario: Scenario, startedAt: number): Promise<ScenarioResult> {
    await Promise.all(this.#loads.map((l) => l.stop()));
    for (const gw of this.#gateways) await this.stop(gw, 'SIGTERM');
    for (const p of this.#proxies) await p.close();
    for (const r of this.#redis) await r.stop('SIGKILL');
    const records = [...this.#loads.flatMap((l) => l.records), ...this.#extra];
    const { ids, text: ledgerText } = await this.ledgerIds();
    const seen = records.filter(
      (r) => r.id !== undefined && (r.outcome === 'answered' || r.outcome === 'cut'),
    );
    const lost = seen.filter((r) => !ids.has(r.id!));
    const lostOutside = lost.filter((r) => !this.#lossBound?.(r));
    const doubled = seen.filter((r) => (ids.get(r.id!) ?? 0) > 1).length;
    const secretsFound = this.#scanSecrets(ledgerText);
    const shuttingDown = records.filter((r) => r.code === 'shutting_down').length;
    const gateway5xx = records.filter(
      (r) => (r.status ?? 0) >= 500 && r.code !== 'shutting_down' && !this.#allowed5xx?.(r),
    ).length;
    const result: ScenarioResult = {
      name: scenario.name,
      quick: scenario.quick,
      promise: scenario.promise,
      ok: false,
      failures: [...this.failures],
      requests: records.length,
      answered: records.filter((r) => r.outcome === 'answered').length,
      hung: records.filter((r) => r.outcome === 'hung').length,
      cut: records.filter((r) => r.outcome === 'cut').length,
      refused: records.filter((r) => r.outcome === 'conn_error').length,
      gateway5xx,
      shuttingDown,
      rowsLost: lost.length,
      rowsDoubled: doubled,
      secretsFound,
      figures: this.figures,
      durationMs: Date.now() - startedAt,
    };
    if (result.hung > 0) result.failures.push(`${result.hung} requests hung`);
    if (gateway5xx > 0) result.failures.push(`${gateway5xx} gateway 5xx`);
    if (lostOutside.length > 0) result.failures.push(`${lostOutside.length} ledger rows lost`);
    if (doubled > 0) result.failures.push(`${doubled} ledger rows doubled`);
    if (secretsFound > 0) result.failures.push(`${secretsFound} secrets found in outputs`);
    if (records.length === 0) result.failures.push('no request was sent');
    result.ok = result.failures.length === 0;
    if (this.#ledger?.kind === 'postgres') await dropTable(this.#ledger.where);
    if (result.ok) rmSync(this.dir, { recursive: true, force: true });
    return result;
  }

  #scanSecrets(ledgerText: string): number {
    const texts = [ledgerText, ...this.#snapshots, ...this.#gateways.map((g) => g.output())];
    for (const name of readdirSync(this.dir, { recursive: true }) as string[]) {
      if (name.endsWith('.log') || name.endsWith('.jsonl'))
        texts.push(readFileSync(join(this.dir, name), 'utf8'));
    }
    const { clientKey, adminKey, upstreamKey, promptMarker } = this.secrets;
    let found = 0;
    for (const text of texts) {
      for (const secret of [clientKey, adminKey, upstreamKey, promptMarker])
        found += text.split(secret).length - 1;
    }
    return found;
  }
}

async function dropTable(table: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
  } finally {
    await client.end();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Planted secrets for one run: the keys and a marker the gateway must never write anywhere. */
export function plantSecrets(): Secrets {
  const tag = randomBytes(12).toString('hex');
  return {
    clientKey: `gk_chaos_client_${tag}`,
    adminKey: `gk_chaos_admin_${tag}`,
    upstreamKey: `sk-ant-api03-chaos-upstream-${tag}-AA`,
    promptMarker: `CHAOS-PROMPT-MARKER-${tag}`,
  };
}
