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

export type ProbeCause = 'ok' | 'key_invalid' | 'capacity' | 'upstream_outage' | 'unreachable' | 'no_value';

export interface ProbeResult {
  cause: ProbeCause;
  /** HTTP status of the probe, when the upstream answered. */
  status?: number;
  /** When the probe finished (ms since epoch). */
  at: number;
  latency_ms?: number;
}

/** What a probe's answer means. */
export function classifyProbe(status: number | undefined): ProbeCause {
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
}

export class UpstreamHealth {
  readonly #o: UpstreamHealthOptions;
  readonly #model: string;
  readonly #cache = new WeakMap<UpstreamKey, { result: ProbeResult; value: string }>();
  readonly #inflight = new WeakMap<UpstreamKey, Promise<ProbeResult>>();
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
        const causes = [...new Set(keys.map((k) => k.probe?.cause).filter((c) => c && c !== 'ok'))];
        environments[ring.environment] = { status, causes: causes as ProbeCause[], keys };
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
      causes: ProbeCause[];
      keys: Array<{ id: string; state: string; probe: ProbeResult | undefined }>;
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
  },
): void {
  const { health, rings, breakers, budget, readiness } = deps;
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
      if (typeof b.id !== 'string' || !ring.get(b.id))
        return bad('`id`: expected the id of a key of this environment.');
      if (typeof b.state !== 'string' || !KEY_STATES.includes(b.state as KeyState)) {
        return bad(`\`state\`: expected one of ${KEY_STATES.join(', ')}.`);
      }
      ring.setState(b.id, b.state as KeyState, 'operator');
      return { status: 200, body: { environment: ring.environment, keys: ring.describe() } };
    },
  });
}
