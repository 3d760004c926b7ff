/**
 * Health: `/livez`, `/readyz`, `/health` (public), and the admin view and
 * control of upstream keys (`GET` / `POST /admin/upstream-keys`).
 *
 * The upstream probe is a `count_tokens` call (no generation, no cost) with a
 * cheap catalog model, once per upstream key, cached for
 * `resilience.health.probe_interval_ms`: concurrent health checks share one
 * probe in flight, so traffic on the health routes never multiplies probes.
 * A probe's cause is classified: 401/403 -> `key_invalid` (revoked or
 * rotated), 429 -> `capacity`, 5xx/529 -> `upstream_outage`, no answer ->
 * `unreachable`.
 *
 * Each cloud platform of an environment (Bedrock, Vertex AI) is probed the
 * same way with its own cheap request (its count-tokens API) and reported
 * apart, under `environments.<name>.platforms.<platform>`, with platform
 * causes: `credentials_invalid` (the platform refused the signature or token),
 * `credentials_unavailable` (no credentials could be had), `model_unavailable`
 * (the probe model is not enabled there), and the causes above.
 */
import type { Pool } from 'undici';
import { resolveModel } from '../anthropic/models.ts';
import { GantryError } from '../errors.ts';
import type { ReadinessRegistry, ReadinessResult, RouteRegistry } from '../pipeline/stage.ts';
import type { Breakers } from './breaker.ts';
import type { RetryBudget } from './budget.ts';
import type { ResilienceConfig } from './config.ts';
import { KEY_STATES, type KeyState } from './config.ts';
import type { KeyRing, KeyRingLogger, UpstreamKey } from './keys.ts';

export type ProbeCause =
  | 'ok'
  | 'key_invalid'
  | 'capacity'
  | 'upstream_outage'
  | 'unreachable'
  | 'no_value'
  | 'credentials_invalid'
  | 'credentials_unavailable'
  | 'model_unavailable';

export interface ProbeResult {
  cause: ProbeCause;
  /** HTTP status of the probe, when the upstream answered. */
  status?: number;
  /** When the probe finished (ms since epoch). */
  at: number;
  latency_ms?: number;
  /** What the platform said (its error message, or why there were no credentials); never a secret. */
  detail?: string;
}

/** One cloud platform of an environment, as the health report probes it. */
export interface PlatformProbeTarget {
  environment: string;
  platform: string;
  region: string;
  /** Its key ring (one key: the platform's credentials), taken out on credentials_invalid. */
  ring: KeyRing;
  /** Sends the platform's probe: the translated status and message, or why it could not be sent. */
  probe(): Promise<{ status?: number; detail?: string; noCredentials?: boolean; noModel?: boolean }>;
}

/** What a platform probe's answer means. */
function classifyPlatformProbe(r: Awaited<ReturnType<PlatformProbeTarget['probe']>>): ProbeCause {
  if (r.noCredentials) return 'credentials_unavailable';
  if (r.noModel || r.status === 404) return 'model_unavailable';
  if (r.status === 401 || r.status === 403) return 'credentials_invalid';
  return classifyProbe(r.status);
}

/** What a probe's answer means. */
function classifyProbe(status: number | undefined): ProbeCause {
  if (status === undefined) return 'unreachable';
  if (status >= 200 && status < 300) return 'ok';
  if (status === 401 || status === 403) return 'key_invalid';
  if (status === 429) return 'capacity';
  if (status >= 500) return 'upstream_outage';
  // Another 4xx: the upstream answered and the key was accepted.
  return 'ok';
}

export interface UpstreamHealthOptions {
  pool: Pool;
  prefix: string;
  rings: ReadonlyMap<string, KeyRing>;
  config: ResilienceConfig['health'];
  logger: KeyRingLogger;
  /** The environments' cloud platforms (src/pipeline/upstream/platforms.ts). */
  platforms?: readonly PlatformProbeTarget[];
}

export class UpstreamHealth {
  readonly #o: UpstreamHealthOptions;
  readonly #model: string;
  readonly #cache = new WeakMap<UpstreamKey, { result: ProbeResult; value: string }>();
  readonly #inflight = new WeakMap<UpstreamKey, Promise<ProbeResult>>();
  readonly #platformCache = new WeakMap<PlatformProbeTarget, ProbeResult>();
  readonly #platformInflight = new WeakMap<PlatformProbeTarget, Promise<ProbeResult>>();
  /** Number of probes sent (for tests and `/health`). */
  probes = 0;
  #closed = false;

  constructor(o: UpstreamHealthOptions) {
    this.#o = o;
    this.#model = resolveModel(o.config.probeModel)?.id ?? o.config.probeModel;
  }

  /** The cached probe of a key, refreshed when older than the interval or when the key's value changed. */
  probe(key: UpstreamKey): Promise<ProbeResult> {
    const value = key.value();
    if (value === undefined) return Promise.resolve({ cause: 'no_value', at: Date.now() });
    const cached = this.#cache.get(key);
    if (cached && cached.value === value && Date.now() - cached.result.at < this.#o.config.probeIntervalMs) {
      return Promise.resolve(cached.result);
    }
    let running = this.#inflight.get(key);
    if (!running) {
      running = this.#run(key, value).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, running);
    }
    return running;
  }

  async #run(key: UpstreamKey, value: string): Promise<ProbeResult> {
    this.probes += 1;
    const started = performance.now();
    let status: number | undefined;
    try {
      const res = await this.#o.pool.request({
        path: `${this.#o.prefix}/v1/messages/count_tokens`,
        method: 'POST',
        headers: {
          'x-api-key': value,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
          'accept-encoding': 'identity',
        },
        body: JSON.stringify({ model: this.#model, messages: [{ role: 'user', content: 'ping' }] }),
        headersTimeout: this.#o.config.probeTimeoutMs,
        bodyTimeout: this.#o.config.probeTimeoutMs,
        signal: AbortSignal.timeout(this.#o.config.probeTimeoutMs),
      });
      status = res.statusCode;
      await res.body.dump();
    } catch {
      status = undefined;
    }
    const result: ProbeResult = {
      cause: classifyProbe(status),
      ...(status !== undefined ? { status } : {}),
      at: Date.now(),
      latency_ms: Math.round(performance.now() - started),
    };
    if (this.#closed) return result;
    this.#cache.set(key, { result, value });
    const ring = this.#o.rings.get(key.environment);
    if (result.cause === 'key_invalid' && key.state !== 'failed' && key.state !== 'disabled') {
      ring?.setState(key.id, 'failed', `health probe answered ${status}`);
    } else if (result.cause === 'ok' && key.state === 'failed') {
      ring?.setState(key.id, 'active', 'health probe succeeded');
    }
    return result;
  }

  /** The cached probe of a platform, refreshed when older than the interval (one in flight at a time). */
  probePlatform(t: PlatformProbeTarget): Promise<ProbeResult> {
    const cached = this.#platformCache.get(t);
    if (cached && Date.now() - cached.at < this.#o.config.probeIntervalMs) return Promise.resolve(cached);
    let running = this.#platformInflight.get(t);
    if (!running) {
      running = this.#runPlatform(t).finally(() => this.#platformInflight.delete(t));
      this.#platformInflight.set(t, running);
    }
    return running;
  }

  async #runPlatform(t: PlatformProbeTarget): Promise<ProbeResult> {
    this.probes += 1;
    const started = performance.now();
    let r: Awaited<ReturnType<PlatformProbeTarget['probe']>>;
    try {
      r = await t.probe();
    } catch (err) {
      r = { detail: (err as Error).message };
    }
    const cause = classifyPlatformProbe(r);
    const result: ProbeResult = {
      cause,
      ...(r.status !== undefined ? { status: r.status } : {}),
      at: Date.now(),
      latency_ms: Math.round(performance.now() - started),
      ...(r.detail ? { detail: r.detail.slice(0, 300) } : {}),
    };
    if (this.#closed) return result;
    this.#platformCache.set(t, result);
    const [key] = t.ring.keys;
    if (cause === 'credentials_invalid' && key && key.state !== 'failed' && key.state !== 'disabled') {
      t.ring.setState(key.id, 'failed', `health probe answered ${r.status}`);
    } else if (cause === 'ok' && key?.state === 'failed') {
      t.ring.setState(key.id, 'active', 'health probe succeeded');
    }
    return result;
  }

  /** Probes every key that may take traffic and summarises, per environment and overall. */
  async report(): Promise<HealthReport> {
    const environments: HealthReport['environments'] = {};
    let worst: HealthStatus = 'healthy';
    await Promise.all(
      [...this.#o.rings.values()].map(async (ring) => {
        const keys = await Promise.all(
          ring.keys.map(async (k) => {
            const probe = k.state === 'disabled' ? undefined : await this.probe(k);
            // The state after the probe: a probe can take a key out or bring it back.
            return { id: k.id, state: k.state, probe };
          }),
        );
        const serving = keys.filter((k) => k.probe && (k.state === 'active' || k.state === 'draining'));
        const good = serving.filter((k) => k.probe?.cause === 'ok');
        const capacity = serving.filter((k) => k.probe?.cause === 'capacity');
        let status: HealthStatus;
        if (good.length > 0 && good.length === serving.length) status = 'healthy';
        else if (good.length > 0 || capacity.length > 0) status = 'degraded';
        else status = 'unhealthy';
        const causes: string[] = [
          ...new Set(keys.map((k) => k.probe?.cause).filter((c) => c && c !== 'ok')),
        ] as string[];
        const targets = (this.#o.platforms ?? []).filter((t) => t.environment === ring.environment);
        let platforms: HealthReport['environments'][string]['platforms'];
        if (targets.length > 0) {
          platforms = {};
          let platformOk = false;
          for (const t of targets) {
            const probe = await this.probePlatform(t);
            platforms[t.platform] = { region: t.region, state: t.ring.keys[0]?.state ?? 'active', probe };
            if (probe.cause === 'ok') platformOk = true;
            else causes.push(`${t.platform}:${probe.cause}`);
          }
          // Another platform serving the same models keeps the environment up; a failing one degrades it.
          if (status === 'unhealthy' && platformOk) status = 'degraded';
          else if (
            status === 'healthy' &&
            !targets.every((t) => platforms?.[t.platform]?.probe.cause === 'ok')
          )
            status = 'degraded';
        }
        environments[ring.environment] = {
          status,
          causes: causes as ProbeCause[],
          keys,
          ...(platforms ? { platforms } : {}),
        };
        if (RANK[status] > RANK[worst]) worst = status;
      }),
    );
    return { status: worst, environments };
  }

  close(): void {
    this.#closed = true;
  }
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';
const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

export interface HealthReport {
  status: HealthStatus;
  environments: Record<
    string,
    {
      status: HealthStatus;
      /** Key causes, and platform causes as `<platform>:<cause>` (e.g. `bedrock:credentials_invalid`). */
      causes: Array<ProbeCause | `${string}:${ProbeCause}`>;
      keys: Array<{ id: string; state: string; probe: ProbeResult | undefined }>;
      /** The environment's cloud platforms, each probed on its own. */
      platforms?: Record<string, { region: string; state: string; probe: ProbeResult }>;
    }
  >;
}

export function registerHealthRoutes(
  routes: RouteRegistry,
  deps: {
    health: UpstreamHealth;
    rings: ReadonlyMap<string, KeyRing>;
    breakers: Breakers;
    budget: RetryBudget;
    /** Store checks registered by other stages (ledger, limits state). */
    readiness?: ReadinessRegistry;
    /** The environments' cloud platforms: their credentials' state is shown and set like a key's. */
    platforms?: readonly PlatformProbeTarget[];
  },
): void {
  const { health, rings, breakers, budget, readiness } = deps;
  const platforms = deps.platforms ?? [];
  const platformRing = (environment: string, id: string) =>
    platforms.find((t) => t.environment === environment && t.platform === id)?.ring;
  routes.add({
    method: 'GET',
    path: '/livez',
    access: 'public',
    handle: () => ({ status: 200, body: { status: 'ok' } }),
  });
  routes.add({
    method: 'GET',
    path: '/readyz',
    access: 'public',
    async handle() {
      const [report, stores] = await Promise.all([
        health.report(),
        readiness ? readiness.run(2_000) : Promise.resolve({} as Record<string, ReadinessResult>),
      ]);
      const storesOk = Object.values(stores).every((r) => r.ok);
      const ready = report.status !== 'unhealthy' && storesOk;
      return {
        status: ready ? 200 : 503,
        body: {
          ready,
          checks: {
            config: 'ok',
            upstream: Object.fromEntries(Object.entries(report.environments).map(([n, e]) => [n, e.status])),
            stores: Object.fromEntries(
              Object.entries(stores).map(([n, r]) => [
                n,
                r.ok ? 'ok' : `unreachable: ${r.detail ?? ''}`.trim(),
              ]),
            ),
          },
        },
      };
    },
  });
  routes.add({
    method: 'GET',
    path: '/health',
    access: 'public',
    async handle() {
      const report = await health.report();
      return {
        status: report.status === 'unhealthy' ? 503 : 200,
        body: {
          ...report,
          breakers: breakers.list().filter((b) => b.state !== 'closed'),
        },
      };
    },
  });
  routes.add({
    method: 'GET',
    path: '/admin/upstream-keys',
    access: 'admin',
    handle: () => ({
      status: 200,
      body: {
        environments: Object.fromEntries([...rings].map(([name, ring]) => [name, ring.describe()])),
        ...(platforms.length > 0
          ? {
              platforms: Object.fromEntries(
                [...new Set(platforms.map((t) => t.environment))].map((env) => [
                  env,
                  Object.fromEntries(
                    platforms
                      .filter((t) => t.environment === env)
                      .map((t) => [t.platform, { region: t.region, ...t.ring.describe()[0] }]),
                  ),
                ]),
              ),
            }
          : {}),
        breakers: breakers.list(),
        retry_budget: budget.snapshot(),
      },
    }),
  });
  routes.add({
    method: 'POST',
    path: '/admin/upstream-keys',
    access: 'admin',
    handle(request) {
      const b = (request.body ?? {}) as { environment?: unknown; id?: unknown; state?: unknown };
      const ring = typeof b.environment === 'string' ? rings.get(b.environment) : undefined;
      const bad = (message: string): never => {
        throw new GantryError('invalid_body', message);
      };
      if (!ring) return bad('`environment`: expected the name of a configured environment.');
      // A platform's name (`bedrock`, `vertex`) sets the state of its credentials.
      const target =
        typeof b.id === 'string' && !ring.get(b.id) ? platformRing(ring.environment, b.id) : undefined;
      if (typeof b.id !== 'string' || !(ring.get(b.id) || target))
        return bad(
          '`id`: expected the id of a key of this environment (or the name of one of its platforms).',
        );
      if (typeof b.state !== 'string' || !KEY_STATES.includes(b.state as KeyState)) {
        return bad(`\`state\`: expected one of ${KEY_STATES.join(', ')}.`);
      }
      (target ?? ring).setState(b.id, b.state as KeyState, 'operator');
      return { status: 200, body: { environment: ring.environment, keys: (target ?? ring).describe() } };
    },
  });
}
