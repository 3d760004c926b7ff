/**
 * Rate limits of a simulated usage tier (reference §7): requests, input tokens
 * and output tokens per minute as continuously refilling token buckets, one set
 * per organization and model class; separate request buckets for token counting
 * and Message Batches.
 *
 * Admission checks RPM (needs 1), ITPM (needs the request's uncached input: input
 * + cache writes, never cache reads) and OTPM (must not be exhausted; output
 * is charged after generation, so a bucket can go negative and later requests
 * wait for it). A refused request consumes nothing.
 */
import type { ModelEntry } from '../anthropic/models.ts';

export interface Limits {
  /** Requests per minute. */
  requests: number;
  /** Input tokens per minute (cache-aware: cache reads excluded). */
  inputTokens: number;
  /** Output tokens per minute. */
  outputTokens: number;
}

export interface TierLimits {
  /** Standard model classes (Opus, Sonnet, Haiku). */
  standard: Limits;
  /** Fable / Mythos classes. */
  fable: Limits;
  /** count_tokens requests per minute. */
  countTokensRpm: number;
  /** Message Batches API requests per minute. */
  batchesRpm: number;
}

export type TierName = 'start' | 'build' | 'scale' | 'unlimited' | 'tiny';

/** §7.2 (Aug 2026 docs). `tiny` is the simulator's own tier for rate-limit tests; `unlimited` for benchmarks. */
export const TIERS: Readonly<Record<Exclude<TierName, 'unlimited'>, TierLimits>> = {
  start: {
    standard: { requests: 1_000, inputTokens: 2_000_000, outputTokens: 400_000 },
    fable: { requests: 1_000, inputTokens: 500_000, outputTokens: 100_000 },
    countTokensRpm: 2_000,
    batchesRpm: 1_000,
  },
  build: {
    standard: { requests: 5_000, inputTokens: 5_000_000, outputTokens: 1_000_000 },
    fable: { requests: 2_000, inputTokens: 1_500_000, outputTokens: 300_000 },
    countTokensRpm: 4_000,
    batchesRpm: 2_000,
  },
  scale: {
    standard: { requests: 10_000, inputTokens: 10_000_000, outputTokens: 2_000_000 },
    fable: { requests: 4_000, inputTokens: 4_000_000, outputTokens: 800_000 },
    countTokensRpm: 8_000,
    batchesRpm: 4_000,
  },
  tiny: {
    standard: { requests: 5, inputTokens: 10_000, outputTokens: 2_000 },
    fable: { requests: 5, inputTokens: 10_000, outputTokens: 2_000 },
    countTokensRpm: 10,
    batchesRpm: 5,
  },
};

export const TIER_NAMES: readonly TierName[] = ['start', 'build', 'scale', 'unlimited', 'tiny'];

/** A continuously refilling bucket: `capacity` per minute, refilled linearly. */
export class TokenBucket {
  readonly capacity: number;
  level: number;
  updatedAt: number;
  readonly #perMs: number;

  constructor(capacityPerMinute: number, now: number) {
    this.capacity = capacityPerMinute;
    this.level = capacityPerMinute;
    this.updatedAt = now;
    this.#perMs = capacityPerMinute / 60_000;
  }

  refill(now: number): void {
    if (now > this.updatedAt) {
      this.level = Math.min(this.capacity, this.level + (now - this.updatedAt) * this.#perMs);
      this.updatedAt = now;
    }
  }

  /** Milliseconds until the level reaches `need` (0 when it already has); Infinity if it never can. */
  msUntil(need: number): number {
    if (this.level >= need) return 0;
    if (need > this.capacity) return Number.POSITIVE_INFINITY;
    return (need - this.level) / this.#perMs;
  }

  /** Milliseconds until the bucket is full again. */
  msUntilFull(): number {
    return this.level >= this.capacity ? 0 : (this.capacity - this.level) / this.#perMs;
  }
}

interface MessageBuckets {
  requests: TokenBucket;
  input: TokenBucket;
  output: TokenBucket;
}

export type LimitKind = 'requests' | 'input_tokens' | 'output_tokens';

export type Admission =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; kind: LimitKind; limit: number; retryAfterSeconds: number; headers: Record<string, string> };

/** RFC 3339 with second precision, rounded up (`2026-11-24T12:00:01Z`). */
export function rfc3339(ms: number): string {
  return `${new Date(Math.ceil(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** The model class whose limits a request draws from: line plus major version (`opus-4`, `fable-5`). */
export function modelClass(model: ModelEntry): string {
  const m = /^claude-(?:[a-z]+-)?(\d+)/.exec(model.id);
  return `${model.line ?? 'other'}-${m ? m[1] : '0'}`;
}

export class RateLimiter {
  #now: () => number;
  #tier: TierLimits | null;
  #name: string;
  #buckets = new Map<string, MessageBuckets>();
  #simple = new Map<string, TokenBucket>();

  constructor(now: () => number, tier: TierName | Limits = 'build') {
    this.#now = now;
    this.#tier = null;
    this.#name = 'build';
    this.setTier(tier);
  }

  /** Changes the tier (a name or custom limits for every model class); empties every bucket state. */
  setTier(tier: TierName | Limits): void {
    if (typeof tier === 'string') {
      if (!TIER_NAMES.includes(tier)) throw new Error(`unknown tier ${tier}`);
      this.#tier = tier === 'unlimited' ? null : TIERS[tier];
      this.#name = tier;
    } else {
      const l = { ...tier };
      this.#tier = {
        standard: l,
        fable: l,
        countTokensRpm: Math.max(l.requests, 1),
        batchesRpm: Math.max(l.requests, 1),
      };
      this.#name = 'custom';
    }
    this.reset();
  }

  get tierName(): string {
    return this.#name;
  }

  get limits(): TierLimits | null {
    return this.#tier;
  }

  get unlimited(): boolean {
    return this.#tier === null;
  }

  reset(): void {
    this.#buckets.clear();
    this.#simple.clear();
  }

  #messageBuckets(org: string, model: ModelEntry, now: number): MessageBuckets {
    const key = `${org}\u0000${modelClass(model)}`;
    let b = this.#buckets.get(key);
    if (!b) {
      const l = model.line === 'fable' || model.line === 'mythos' ? this.#tier!.fable : this.#tier!.standard;
      b = {
        requests: new TokenBucket(l.requests, now),
        input: new TokenBucket(l.inputTokens, now),
        output: new TokenBucket(l.outputTokens, now),
      };
      this.#buckets.set(key, b);
    } else {
      b.requests.refill(now);
      b.input.refill(now);
      b.output.refill(now);
    }
    return b;
  }

  /**
   * Admits (and charges 1 request + `inputTokens`) or refuses a Messages request.
   * `inputTokens` must exclude cache reads. Unlimited tier: always ok, no headers.
   */
  admitMessage(org: string, model: ModelEntry, inputTokens: number): Admission {
    if (!this.#tier) return { ok: true, headers: {} };
    const now = this.#now();
    const b = this.#messageBuckets(org, model, now);
    const waits: [LimitKind, TokenBucket, number][] = [
      ['requests', b.requests, b.requests.msUntil(1)],
      ['input_tokens', b.input, b.input.msUntil(inputTokens)],
      ['output_tokens', b.output, b.output.msUntil(Math.min(1, b.output.capacity))],
    ];
    let worst: [LimitKind, TokenBucket, number] | undefined;
    for (const w of waits) if (w[2] > 0 && (!worst || w[2] > worst[2])) worst = w;
    if (worst) {
      const ms = Number.isFinite(worst[2]) ? worst[2] : 60_000;
      return {
        ok: false,
        kind: worst[0],
        limit: worst[1].capacity,
        retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)),
        headers: messageHeaders(b, now),
      };
    }
    b.requests.level -= 1;
    b.input.level -= inputTokens;
    return { ok: true, headers: messageHeaders(b, now) };
  }

  /** Charges generated output tokens (after the fact; may drive the bucket negative). */
  chargeOutput(org: string, model: ModelEntry, outputTokens: number): void {
    if (!this.#tier) return;
    const b = this.#messageBuckets(org, model, this.#now());
    b.output.level -= outputTokens;
  }

  /** Admits one request of a request-only limiter (`count_tokens`, `batches`). */
  admitSimple(
    org: string,
    kind: 'count_tokens' | 'batches',
  ): { ok: true } | { ok: false; limit: number; retryAfterSeconds: number } {
    if (!this.#tier) return { ok: true };
    const now = this.#now();
    const key = `${org}\u0000${kind}`;
    let b = this.#simple.get(key);
    if (!b) {
      b = new TokenBucket(kind === 'count_tokens' ? this.#tier.countTokensRpm : this.#tier.batchesRpm, now);
      this.#simple.set(key, b);
    } else b.refill(now);
    const wait = b.msUntil(1);
    if (wait > 0)
      return { ok: false, limit: b.capacity, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
    b.level -= 1;
    return { ok: true };
  }
}

function messageHeaders(b: MessageBuckets, now: number): Record<string, string> {
  const r = (x: number) => String(Math.max(0, Math.floor(x)));
  const inReset = now + b.input.msUntilFull();
  const outReset = now + b.output.msUntilFull();
  const tokensRemaining = Math.max(
    0,
    Math.round((Math.max(0, b.input.level) + Math.max(0, b.output.level)) / 1000) * 1000,
  );
  return {
    'anthropic-ratelimit-requests-limit': String(b.requests.capacity),
    'anthropic-ratelimit-requests-remaining': r(b.requests.level),
    'anthropic-ratelimit-requests-reset': rfc3339(now + b.requests.msUntilFull()),
    'anthropic-ratelimit-input-tokens-limit': String(b.input.capacity),
    'anthropic-ratelimit-input-tokens-remaining': r(b.input.level),
    'anthropic-ratelimit-input-tokens-reset': rfc3339(inReset),
    'anthropic-ratelimit-output-tokens-limit': String(b.output.capacity),
    'anthropic-ratelimit-output-tokens-remaining': r(b.output.level),
    'anthropic-ratelimit-output-tokens-reset': rfc3339(outReset),
    'anthropic-ratelimit-tokens-limit': String(b.input.capacity + b.output.capacity),
    'anthropic-ratelimit-tokens-remaining': String(tokensRemaining),
    'anthropic-ratelimit-tokens-reset': rfc3339(Math.max(inReset, outReset)),
  };
}
