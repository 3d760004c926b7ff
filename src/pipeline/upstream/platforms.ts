/**
 * The platform layer's state: each environment's cloud platforms (Bedrock,
 * Vertex AI) as adapters (src/platforms/), one keep-alive pool per platform
 * endpoint, and one key ring per platform whose single "key" is the
 * platform's credentials, so the key ring and breaker layers treat a platform
 * like another key (a 401/403 takes it out until a probe succeeds; its breaker
 * is `<environment>/<platform>` per model).
 *
 * `targets` builds a request's fallback chain: for each model of the chain
 * (the requested one, then `fallback_models`), each platform of the
 * environment's order that offers it. Routes no platform serves (models,
 * batches) go to the Claude API only.
 */
import { Pool } from 'undici';
import type { ResolvedConfig } from '../../config/types.ts';
import type { Topic, UpstreamKeyEvent } from '../../observe/events.ts';
import type { PlatformAdapter } from '../../platforms/adapter.ts';
import type { PlatformName } from '../../platforms/prices.ts';
import { KeyRing, type KeyRingLogger } from '../../resilience/keys.ts';
import type { RouteKind } from '../routes.ts';
import type { SecretLookup } from '../stage.ts';

/** One target of the fallback chain: a model on a platform. */
export interface Target {
  platform: PlatformName;
  /** The catalog model (undefined for routes that name none). */
  model: string | undefined;
  /** The platform's id of the model (Bedrock, Vertex). */
  platformModel?: string;
}

export interface PlatformState {
  adapter: PlatformAdapter;
  pool: Pool;
  ring: KeyRing;
}

/** Secrets of a platform "key": its credentials live in the adapter, so the ring's value is a marker. */
const CREDENTIALS_HELD: SecretLookup = { value: () => 'platform-credentials', onChange: () => {} };

export class UpstreamPlatforms {
  readonly #byEnv = new Map<string, Map<PlatformName, PlatformState>>();
  readonly #order = new Map<string, readonly PlatformName[]>();

  /** Builds the adapters of every environment with platforms (loads the platforms' packages). */
  static async build(
    config: ResolvedConfig,
    secrets: SecretLookup,
    logger: KeyRingLogger,
    perKey: { limit: number; queue: number; queueTimeoutMs: number } | undefined,
    events: Topic<UpstreamKeyEvent>,
  ): Promise<UpstreamPlatforms> {
    const out = new UpstreamPlatforms();
    const pools = new Map<string, Pool>();
    const poolFor = (origin: string) => {
      let pool = pools.get(origin);
      if (!pool) {
        pool = new Pool(origin, {
          connections: config.upstream.connections,
          connectTimeout: config.upstream.connectTimeoutMs,
          headersTimeout: config.upstream.headersTimeoutMs,
          bodyTimeout: config.upstream.bodyTimeoutMs,
          keepAliveTimeout: 30_000,
        });
        pools.set(origin, pool);
      }
      return pool;
    };
    for (const env of Object.values(config.environments)) {
      const p = env.platforms;
      if (!p) continue;
      out.#order.set(env.name, p.order);
      const states = new Map<PlatformName, PlatformState>();
      const adapters: PlatformAdapter[] = [];
      if (p.bedrock)
        adapters.push(
          await (await import('../../platforms/bedrock.ts')).createBedrock(env.name, p.bedrock, secrets),
        );
      if (p.vertex)
        adapters.push((await import('../../platforms/vertex.ts')).createVertex(env.name, p.vertex, secrets));
      for (const adapter of adapters) {
        const ring = new KeyRing(
          {
            name: env.name,
            upstreamKey: adapter.name,
            upstreamKeys: [{ id: adapter.name, key: adapter.name, state: 'active', weight: 1 }],
          },
          CREDENTIALS_HELD,
          logger,
          perKey,
          Math.random,
          events,
        );
        states.set(adapter.name, { adapter, pool: poolFor(adapter.origin), ring });
      }
      out.#byEnv.set(env.name, states);
    }
    return out;
  }

  get size(): number {
    return this.#byEnv.size;
  }

  /** Whether an environment has platforms besides the Claude API. */
  has(environment: string): boolean {
    return this.#order.has(environment);
  }

  get(environment: string, platform: PlatformName): PlatformState | undefined {
    return this.#byEnv.get(environment)?.get(platform);
  }

  /** Every platform of every environment (health, admin views). */
  all(): PlatformState[] {
    return [...this.#byEnv.values()].flatMap((m) => [...m.values()]);
  }

  /** The fallback chain of a request: every (platform, model) that can serve it, in order. */
  targets(environment: string, route: RouteKind, models: ReadonlyArray<string | undefined>): Target[] {
    const order = this.#order.get(environment);
    if (!order) return models.map((model) => ({ platform: 'anthropic', model }));
    const out: Target[] = [];
    for (const model of models) {
      for (const platform of order) {
        if (platform === 'anthropic') {
          out.push({ platform, model });
          continue;
        }
        const state = this.get(environment, platform);
        const platformModel = state?.adapter.modelId(route, model);
        if (platformModel !== undefined) out.push({ platform, model, platformModel });
      }
    }
    // A route or model no listed platform serves goes to the Claude API.
    return out.length > 0 ? out : models.map((model) => ({ platform: 'anthropic', model }));
  }

  async close(): Promise<void> {
    const pools = new Set<Pool>();
    for (const s of this.all()) {
      s.adapter.close();
      pools.add(s.pool);
    }
    await Promise.all(
      [...pools].map(async (pool) => {
        await Promise.race([pool.close(), new Promise((r) => setTimeout(r, 1_000).unref())]);
        await pool.destroy().catch(() => undefined);
      }),
    );
  }
}
