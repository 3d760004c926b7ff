/**
 * The Anthropic API simulator: a faithful local stand-in for the Messages API
 * (messages, streaming, count_tokens, models, batches), with auth, validation,
 * rate limits, prompt-caching emulation, deterministic replies and fault
 * injection, controlled over `/_sim/` or through `Simulator.state`.
 *
 * @example
 *   const sim = await startSimulator({ profile: 'perf' });
 *   const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
 *   sim.state.addFault({ kind: 'status', status: 529, count: 1 });
 *   ...
 *   await sim.close();
 */
import { setMaxListeners } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { LatencyConfig, ProfileName } from './faults.ts';
import { isProfileName, PROFILE_NAMES } from './faults.ts';
import type { PlatformCredentials } from './platforms/credentials.ts';
import { SimClock, seededUuid, toSeed } from './random.ts';
import { TIER_NAMES, type TierName } from './ratelimit.ts';
import { buildServer } from './server.ts';
import { type PlatformProfiles, SimulatorState } from './state.ts';

export type { BatchResult, MessageBatch } from './batches.ts';
export type { CacheUsage } from './cache.ts';
export type { Fault, FaultKind, FaultSpec, LatencyConfig, Profile, ProfileName } from './faults.ts';
export { PROFILE_NAMES, PROFILES } from './faults.ts';
export type { ScriptedResponse } from './generate.ts';
export type { AwsKey, PlatformCredentials } from './platforms/credentials.ts';
export { SIMULATOR_AWS_KEY } from './platforms/credentials.ts';
export type { Latency } from './random.ts';
export {} from './random.ts';
export type { Limits, TierName } from './ratelimit.ts';
export { TIER_NAMES } from './ratelimit.ts';
export type { KeyState, KeyUpdate, PlatformProfiles, RequestLogEntry } from './state.ts';
export { SimulatorState } from './state.ts';

export interface SimulatorOptions {
  /** Listen host (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 0: a free port). */
  port?: number;
  /** Named profile (default `default`). */
  profile?: ProfileName;
  /** Rate-limit tier (default: the profile's tier, else `build`). */
  tier?: TierName;
  /**
   * Accepted API keys; undefined = accept any non-empty key. A record maps each
   * key to an organization id (separate caches and rate-limit buckets).
   */
  acceptedKeys?: readonly string[] | Record<string, string>;
  /** Seed for replies, latency samples and probabilistic faults (default 1). */
  seed?: number | string;
  /** Fastify logging (default off: nothing is logged per request). */
  logger?: boolean;
  /** Time source for cache TTLs, rate limits and batches (default Date.now). */
  clock?: () => number;
  /** Simulated batch processing time (default 200 ms). */
  batchProcessingMs?: number;
  /** Organization id reported in `anthropic-organization-id` (default: derived from the seed). */
  organizationId?: string;
  /** Size of the request log ring (default 1000; `perf` profile 100). */
  requestLogSize?: number;
  /** Latency overrides on top of the profile's. */
  latency?: Partial<LatencyConfig>;
  /** Fault profiles of the Bedrock and Vertex routes (default: healthy), e.g. `{ bedrock: 'flaky' }`. */
  platformProfiles?: PlatformProfiles;
  /** What the Bedrock and Vertex routes accept (default: the simulator's AWS key, any bearer token). */
  platformCredentials?: Partial<PlatformCredentials>;
}

export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` (use as the SDK's `baseURL`). */
  url: string;
  port: number;
  host: string;
  /** Live state: scripts, faults, keys, clock, cache, limiter, batches, request log. */
  state: SimulatorState;
  /** The fastify instance (for `inject` in unit tests). */
  app: FastifyInstance;
  /** Stops listening, cancels pending delays and closes every connection. */
  close(): Promise<void>;
}

/** Builds a simulator without listening (use `app.inject` or `startSimulator`). */
export function createSimulator(options: SimulatorOptions = {}): {
  app: FastifyInstance;
  state: SimulatorState;
  abort: AbortController;
} {
  const profile = options.profile ?? 'default';
  if (!isProfileName(profile)) {
    throw new Error(`unknown simulator profile "${profile}" (expected one of ${PROFILE_NAMES.join(', ')})`);
  }
  if (options.tier !== undefined && !TIER_NAMES.includes(options.tier)) {
    throw new Error(`unknown rate-limit tier "${options.tier}" (expected one of ${TIER_NAMES.join(', ')})`);
  }
  const seed = toSeed(options.seed);
  const state = new SimulatorState({
    profile,
    tier: options.tier,
    acceptedKeys: options.acceptedKeys,
    seed,
    organizationId: options.organizationId ?? seededUuid(seed),
    clock: new SimClock(options.clock),
    batchProcessingMs: options.batchProcessingMs ?? 200,
    requestLogSize: options.requestLogSize,
    latency: options.latency,
    platformProfiles: options.platformProfiles,
    platformCredentials: options.platformCredentials,
  });
  for (const [platform, name] of Object.entries(options.platformProfiles ?? {})) {
    if (!isProfileName(name)) {
      throw new Error(`unknown ${platform} profile "${name}" (expected one of ${PROFILE_NAMES.join(', ')})`);
    }
  }
  const abort = new AbortController();
  // Every pending delay listens on this signal; hundreds can be pending under load.
  setMaxListeners(0, abort.signal);
  const app = buildServer({
    state,
    signal: abort.signal,
    logger: options.logger ?? false,
    batchProcessingMs: options.batchProcessingMs ?? 200,
  });
  return { app, state, abort };
}

/** Starts a simulator listening on `host:port` (default 127.0.0.1:0). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const { app, state, abort } = createSimulator(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    state,
    app,
    close() {
      closed ??= (async () => {
        abort.abort();
        await app.close();
      })();
      return closed;
    },
  };
}
