/**
 * Fault injection and named profiles.
 *
 * A fault matches requests by path (exact, or prefix when it ends with `*`;
 * default `/v1/*`, every API route) and optionally method; it is active for its
 * next `count` matches, for `durationMs` (or `seconds`) on the simulator clock,
 * or until removed; `probability` makes it fire on a seeded random fraction of
 * matches (a miss consumes nothing). Stream faults (`cut`, `stream_error`) only
 * match streaming Messages requests. A fault belongs to one API family
 * (`platform`: the Anthropic API by default, or Bedrock or Vertex), so one
 * platform can storm while another is healthy. First matching fault wins.
 */
import { type Latency, ZERO_LATENCY } from './random.ts';
import type { TierName } from './ratelimit.ts';

export type FaultKind = 'status' | 'reset' | 'slow' | 'cut' | 'stream_error';

export interface FaultSpec {
  /**
   * `status`: answer with an error status; `reset`: destroy the connection before
   * answering; `slow`: only delay the first byte by `delayMs`; `cut`: close a
   * stream after `afterEvents` events (no message_stop); `stream_error`: send an
   * SSE `error` event after `afterEvents` events, then end the stream.
   */
  kind: FaultKind;
  /** HTTP status for `status` (e.g. 429, 500, 503, 529, 401). */
  status?: number;
  /** `error.type` (default: the API's type for the status; for stream_error `overloaded_error`). */
  errorType?: string;
  /** `error.message` (default: a generic text for the type). */
  message?: string;
  /** `error.details` (e.g. `{ "error_code": "enforced_spend_limit_reached" }`). */
  details?: Record<string, unknown> | null;
  /** `retry-after` header, seconds. */
  retryAfter?: number;
  /** `retry-after-ms` header. */
  retryAfterMs?: number;
  /** `x-should-retry` header. */
  shouldRetry?: boolean;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Delay before acting (the whole point of `slow`; also usable with any kind). */
  delayMs?: number;
  /** Events written before a `cut` / `stream_error` (message_start and ping count). Default 3. */
  afterEvents?: number;
  /** `cut`: `destroy` the socket (default) or `end` the response cleanly without message_stop. */
  cutMode?: 'destroy' | 'end';
  /** Path scope: exact, or prefix with a trailing `*`. Default `/v1/*`. */
  path?: string;
  /** Method scope (e.g. `POST`). Default any. */
  method?: string;
  /** Model scope: only requests whose body names this model (as sent). Default any. */
  model?: string;
  /**
   * API family scope: `anthropic` (default), `bedrock` or `vertex`. Platform
   * requests match `path` by the Anthropic route they stand for
   * (`/v1/messages`, `/v1/messages/count_tokens`), and `model` by catalog id.
   */
  platform?: 'anthropic' | 'bedrock' | 'vertex';
  /** Fire on the next `count` matching requests, then disappear. */
  count?: number;
  /** Active for this long from creation (simulator clock). */
  durationMs?: number;
  /** Same as `durationMs`, in seconds. */
  seconds?: number;
  /** Fire on this fraction of matching requests (seeded). */
  probability?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  createdAt: number;
  /** Expiry (simulator clock ms) when time-bound. */
  until?: number;
  /** Matches left when count-bound. */
  remaining?: number;
  /** Times it fired. */
  hits: number;
  /** Installed by a profile (re-installed by reset). */
  fromProfile?: boolean;
}

function pathMatches(pattern: string, path: string): boolean {
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

export class FaultSet {
  #faults: Fault[] = [];
  #seq = 0;

  get list(): readonly Fault[] {
    return this.#faults;
  }

  add(spec: FaultSpec, now: number, fromProfile = false): Fault {
    const f: Fault = { ...spec, id: `fault_${++this.#seq}`, createdAt: now, hits: 0 };
    const dur = spec.durationMs ?? (spec.seconds !== undefined ? spec.seconds * 1000 : undefined);
    if (dur !== undefined) f.until = now + dur;
    if (spec.count !== undefined) f.remaining = spec.count;
    if (fromProfile) f.fromProfile = true;
    this.#faults.push(f);
    return f;
  }

  remove(id: string): boolean {
    const n = this.#faults.length;
    this.#faults = this.#faults.filter((f) => f.id !== id);
    return this.#faults.length !== n;
  }

  clear(): void {
    this.#faults = [];
  }

  get size(): number {
    return this.#faults.length;
  }

  /** The fault to apply to this request, if any (consumes one count). */
  match(
    method: string,
    path: string,
    streaming: boolean,
    now: number,
    random: () => number,
    model?: string,
    platform: 'anthropic' | 'bedrock' | 'vertex' = 'anthropic',
  ): Fault | undefined {
    if (this.#faults.length === 0) return undefined;
    let expired = false;
    let hit: Fault | undefined;
    for (const f of this.#faults) {
      if (f.until !== undefined && now >= f.until) {
        expired = true;
        continue;
      }
      if (f.remaining !== undefined && f.remaining <= 0) continue;
      if (!pathMatches(f.path ?? '/v1/*', path)) continue;
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (f.model !== undefined && f.model !== model) continue;
      if ((f.platform ?? 'anthropic') !== platform) continue;
      if ((f.kind === 'cut' || f.kind === 'stream_error') && !streaming) continue;
      if (f.probability !== undefined && random() >= f.probability) continue;
      hit = f;
      break;
    }
    if (hit) {
      hit.hits++;
      if (hit.remaining !== undefined) hit.remaining--;
    }
    if (expired || (hit?.remaining !== undefined && hit.remaining <= 0)) {
      this.#faults = this.#faults.filter(
        (f) => !(f.until !== undefined && now >= f.until) && !(f.remaining !== undefined && f.remaining <= 0),
      );
    }
    return hit;
  }
}

export interface LatencyConfig {
  /** Delay before the response headers. */
  firstByte: Latency;
  /** Delay before each content delta of a stream. */
  perChunk: Latency;
}

export interface Profile {
  description: string;
  latency: LatencyConfig;
  /** Tier the profile imposes (overrides the start option only when the option is absent). */
  tier?: TierName;
  faults: FaultSpec[];
  requestLogSize?: number;
}

const REALISTIC: LatencyConfig = {
  firstByte: { type: 'uniform', minMs: 20, maxMs: 50 },
  perChunk: { type: 'uniform', minMs: 1, maxMs: 4 },
};

export const PROFILES = {
  default: {
    description: 'Small realistic latency (20-50 ms to first byte, 1-4 ms per chunk), no faults.',
    latency: REALISTIC,
    faults: [],
  },
  perf: {
    description: 'No added latency, tier unlimited (no rate limits, no rate-limit headers), for benchmarks.',
    latency: { firstByte: ZERO_LATENCY, perChunk: ZERO_LATENCY },
    tier: 'unlimited',
    faults: [],
    requestLogSize: 100,
  },
  flaky: {
    description:
      'Realistic latency; on /v1/messages 5% 500 api_error, 5% 529 overloaded_error, 3% connection resets (seeded).',
    latency: REALISTIC,
    faults: [
      { kind: 'status', status: 500, probability: 0.05, path: '/v1/messages' },
      { kind: 'status', status: 529, probability: 0.05, path: '/v1/messages' },
      { kind: 'reset', probability: 0.03, path: '/v1/messages' },
    ],
  },
  overloaded: {
    description: 'Every /v1/messages request answers 529 overloaded_error (no retry-after).',
    latency: REALISTIC,
    faults: [{ kind: 'status', status: 529, path: '/v1/messages' }],
  },
  slow: {
    description: 'Slow first byte (1.5-3 s, normal-ish) and 20-60 ms per chunk.',
    latency: {
      firstByte: { type: 'normal', meanMs: 2250, stddevMs: 400 },
      perChunk: { type: 'uniform', minMs: 20, maxMs: 60 },
    },
    faults: [],
  },
  'rate-limited': {
    description: 'Tier `tiny`: 5 RPM, 10,000 input and 2,000 output tokens per minute.',
    latency: REALISTIC,
    tier: 'tiny',
    faults: [],
  },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export function isProfileName(s: string): s is ProfileName {
  return Object.hasOwn(PROFILES, s);
}
