/**
 * The simulator's mutable state, shared by the API routes and the control API
 * (`/_sim/...`). Tests holding a `Simulator` can use it directly
 * (`sim.state.enqueue(...)`, `sim.state.clock.advance(...)`) instead of HTTP.
 */
import type { BatchStore } from './batches.ts';
import { PromptCache } from './cache.ts';
import {
  type Fault,
  FaultSet,
  type FaultSpec,
  type LatencyConfig,
  PROFILES,
  type ProfileName,
} from './faults.ts';
import type { ScriptedResponse } from './generate.ts';
import type { Family } from './http.ts';
import { PlatformAuth, type PlatformCredentials } from './platforms/credentials.ts';
import { rng, type SimClock } from './random.ts';
import { type Limits, RateLimiter, type TierName } from './ratelimit.ts';

export interface RequestLogEntry {
  /** The `request-id` the simulator answered with. */
  requestId: string;
  method: string;
  /** Path and query as received (`/v1/messages?beta=true`). */
  url: string;
  /** Path without query. */
  path: string;
  /** Request headers as received (credentials included: this is a test tool). */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (null when none or not JSON). */
  body: unknown;
  /** ISO time on the simulator clock. */
  receivedAt: string;
  /** Response status; null until answered; 0 when the connection was reset. */
  status: number | null;
  /** Fault id applied to this request, if any. */
  fault?: string;
}

/** A bounded ring of recent API requests (control routes are not logged). */
export class RequestLog {
  #items: RequestLogEntry[] = [];
  #start = 0;
  #capacity: number;

  constructor(capacity: number) {
    this.#capacity = Math.max(0, capacity);
  }

  get capacity(): number {
    return this.#capacity;
  }

  set capacity(n: number) {
    const all = this.all();
    this.#capacity = Math.max(0, n);
    this.#items = all.slice(Math.max(0, all.length - this.#capacity));
    this.#start = 0;
  }

  add(e: RequestLogEntry): void {
    if (this.#capacity === 0) return;
    if (this.#items.length < this.#capacity) this.#items.push(e);
    else {
      this.#items[this.#start] = e;
      this.#start = (this.#start + 1) % this.#capacity;
    }
  }

  /** Oldest first. */
  all(): RequestLogEntry[] {
    return this.#items.slice(this.#start).concat(this.#items.slice(0, this.#start));
  }

  clear(): void {
    this.#items = [];
    this.#start = 0;
  }
}

/** A fault profile per platform API. */
export type PlatformProfiles = Partial<Record<'bedrock' | 'vertex', ProfileName>>;

export interface KeyState {
  /** Accept any non-empty key (unless revoked). */
  acceptAny: boolean;
  accepted: string[];
  revoked: string[];
  /** Key → organization id (keys not listed belong to the default organization). */
  orgs: Record<string, string>;
}

export interface KeyUpdate {
  /** Replace the accepted set; `null` = accept any non-empty key. */
  accept?: string[] | null;
  /** Add keys to the accepted set (and un-revoke them); in accept-any mode only the un-revoking matters. */
  add?: string[];
  /** Revoke keys (401 from now on, even in accept-any mode). */
  revoke?: string | string[];
  /** Undo a revocation. */
  restore?: string | string[];
  /** Map keys to organizations (separate caches and rate-limit buckets per organization). */
  orgs?: Record<string, string>;
}

export interface StateOptions {
  profile: ProfileName;
  tier: TierName | undefined;
  acceptedKeys: readonly string[] | Record<string, string> | undefined;
  seed: number;
  organizationId: string;
  clock: SimClock;
  batchProcessingMs: number;
  requestLogSize: number | undefined;
  latency: Partial<LatencyConfig> | undefined;
  /** Fault profiles of the platform APIs (Bedrock, Vertex); absent: healthy. */
  platformProfiles?: PlatformProfiles;
  /** Platform credentials the Bedrock and Vertex routes accept (defaults in platforms/credentials.ts). */
  platformCredentials?: Partial<PlatformCredentials>;
}

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

export class SimulatorState {
  readonly clock: SimClock;
  readonly seed: number;
  readonly organizationId: string;
  readonly cache: PromptCache;
  readonly limiter: RateLimiter;
  readonly faults = new FaultSet();
  readonly requests: RequestLog;
  /** Seeded generator for latency samples and probabilistic faults. */
  random: () => number;
  profile: ProfileName;
  /** The fault profiles installed for the Bedrock and Vertex routes (faults only; latency is shared). */
  platformProfiles: PlatformProfiles;
  /** What the Bedrock and Vertex routes accept (SigV4 keys, OAuth tokens). */
  readonly platformAuth: PlatformAuth;
  latency: LatencyConfig;
  /** How replies are made when no script applies: echo the last user text, or seeded lorem. */
  replyMode: { mode: 'echo' | 'lorem'; loremWords: number } = { mode: 'echo', loremWords: 40 };
  /** Characters per streamed delta (scripts can override). */
  chunkSize = 16;
  /** Message Batches (set up by the server, which owns request processing). */
  batches!: BatchStore;
  #scripts: ScriptedResponse[] = [];
  #accepted: Set<string> | null;
  #revoked = new Set<string>();
  #orgs = new Map<string, string>();
  readonly #initial: StateOptions;

  constructor(o: StateOptions) {
    this.#initial = o;
    this.clock = o.clock;
    this.seed = o.seed;
    this.organizationId = o.organizationId;
    this.random = rng(o.seed);
    this.cache = new PromptCache(() => this.clock.now());
    this.profile = o.profile;
    this.platformProfiles = { ...o.platformProfiles };
    this.platformAuth = new PlatformAuth(o.platformCredentials, () => this.clock.now());
    const p = PROFILES[o.profile];
    this.latency = { ...p.latency, ...o.latency };
    this.limiter = new RateLimiter(() => this.clock.now(), o.tier ?? ('tier' in p ? p.tier : 'build'));
    this.requests = new RequestLog(o.requestLogSize ?? ('requestLogSize' in p ? p.requestLogSize : 1000));
    this.#accepted = null;
    this.#applyInitialKeys();
    this.#installProfileFaults();
  }

  #applyInitialKeys(): void {
    const k = this.#initial.acceptedKeys;
    this.#orgs.clear();
    this.#revoked.clear();
    if (k === undefined) this.#accepted = null;
    else if (Array.isArray(k)) this.#accepted = new Set(k as string[]);
    else {
      this.#accepted = new Set(Object.keys(k));
      for (const [key, org] of Object.entries(k)) this.#orgs.set(key, org);
    }
  }

  #installProfileFaults(): void {
    const now = this.clock.now();
    for (const spec of PROFILES[this.profile].faults as readonly FaultSpec[])
      this.faults.add(spec, now, true);
    for (const [platform, name] of Object.entries(this.platformProfiles)) {
      for (const spec of PROFILES[name].faults as readonly FaultSpec[])
        this.faults.add({ ...spec, platform: platform as Family }, now, true);
    }
  }

  // ---- auth ----

  /** The organization of an accepted key, or null (missing, unknown or revoked). */
  authenticate(key: string): string | null {
    if (!key || this.#revoked.has(key)) return null;
    if (this.#accepted !== null && !this.#accepted.has(key)) return null;
    return this.#orgs.get(key) ?? this.organizationId;
  }

  updateKeys(u: KeyUpdate): KeyState {
    if (u.accept !== undefined) this.#accepted = u.accept === null ? null : new Set(u.accept);
    if (u.add) {
      if (this.#accepted) for (const k of u.add) this.#accepted.add(k);
      for (const k of u.add) this.#revoked.delete(k);
    }
    for (const k of asList(u.revoke)) this.#revoked.add(k);
    for (const k of asList(u.restore)) this.#revoked.delete(k);
    if (u.orgs) for (const [k, org] of Object.entries(u.orgs)) this.#orgs.set(k, org);
    return this.keys;
  }

  /** Revokes one key (shorthand for `updateKeys({ revoke: key })`). */
  revokeKey(key: string): void {
    this.#revoked.add(key);
  }

  get keys(): KeyState {
    return {
      acceptAny: this.#accepted === null,
      accepted: this.#accepted ? [...this.#accepted] : [],
      revoked: [...this.#revoked],
      orgs: Object.fromEntries(this.#orgs),
    };
  }

  // ---- scripts ----

  /** Queues scripted responses for `/v1/messages` (FIFO; each answers `times` requests, default 1). */
  enqueue(...scripts: ScriptedResponse[]): number {
    for (const s of scripts) this.#scripts.push({ ...s });
    return this.#scripts.length;
  }

  /** The next script without taking it. */
  peekScript(): ScriptedResponse | undefined {
    return this.#scripts[0];
  }

  /** Takes the next script for a Messages request, if any. */
  takeScript(): ScriptedResponse | undefined {
    const s = this.#scripts[0];
    if (!s) return undefined;
    const times = s.times ?? 1;
    if (times <= 1) this.#scripts.shift();
    else s.times = times - 1;
    return s;
  }

  get scripts(): readonly ScriptedResponse[] {
    return this.#scripts;
  }

  clearScripts(): void {
    this.#scripts = [];
  }

  // ---- faults, latency, tier, profile ----

  addFault(spec: FaultSpec): Fault {
    return this.faults.add(spec, this.clock.now());
  }

  matchFault(
    method: string,
    path: string,
    streaming: boolean,
    model?: string,
    platform: Family = 'anthropic',
  ): Fault | undefined {
    return this.faults.match(method, path, streaming, this.clock.now(), this.random, model, platform);
  }

  setLatency(l: Partial<LatencyConfig>): void {
    this.latency = { ...this.latency, ...l };
  }

  setTier(tier: TierName | Limits): void {
    this.limiter.setTier(tier);
  }

  /**
   * Switches profile: its latency, its faults (replacing every fault) and its
   * tier when it has one. `platform` switches only that platform's faults.
   */
  setProfile(name: ProfileName, platform?: 'bedrock' | 'vertex'): void {
    if (platform) {
      this.platformProfiles[platform] = name;
      this.faults.clear();
      this.#installProfileFaults();
      return;
    }
    this.profile = name;
    const p = PROFILES[name];
    this.latency = { ...p.latency };
    if ('tier' in p) this.limiter.setTier(p.tier);
    this.faults.clear();
    this.#installProfileFaults();
  }

  /**
   * Back to the start state: scripts, faults (profile faults re-installed),
   * request log, cache, buckets, batches, keys, reply mode,
   * latency, tier, clock offset.
   */
  reset(): void {
    const o = this.#initial;
    this.clock.reset();
    this.random = rng(o.seed);
    this.profile = o.profile;
    this.platformProfiles = { ...o.platformProfiles };
    this.platformAuth.reset();
    const p = PROFILES[o.profile];
    this.latency = { ...p.latency, ...o.latency };
    this.limiter.setTier(o.tier ?? ('tier' in p ? p.tier : 'build'));
    this.cache.clear();
    this.requests.clear();
    this.#scripts = [];
    this.faults.clear();
    this.#installProfileFaults();
    this.#applyInitialKeys();
    this.replyMode = { mode: 'echo', loremWords: 40 };
    this.chunkSize = 16;
    if (this.batches) {
      this.batches.clear();
      this.batches.processingMs = o.batchProcessingMs;
    }
  }
}
