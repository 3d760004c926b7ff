/**
 * Upstream keys of one environment: their states, selection and rotation.
 *
 * - States from config: `active` (takes traffic), `draining` (no new requests
 *   while an active key is left; in-flight ones finish), `disabled` (never
 *   used). An operator changes a state at run time with `gantry keys rotate`
 *   (admin route `POST /admin/upstream-keys`), no restart.
 * - A key the upstream answers with 401/403 is marked `failed`, reported (log
 *   line and `channels.upstreamKey`) and skipped; it comes back when its
 *   secret's value changes (rotation) or a health probe succeeds with it.
 *   When nothing else is left, a failed key is still tried (a transient 401
 *   must not take a single-key environment down for good).
 * - Selection is weighted random over the usable keys of the best tier
 *   (active, then draining, then failed), skipping keys the caller excludes
 *   (already tried) or whose breaker refuses the call.
 * - A key whose reference has no value (a file not yet written) is skipped;
 *   writing the file adds the key to rotation (the secret handle re-reads it).
 */
import type { EnvironmentConfig } from '../config/types.ts';
import type { Topic, UpstreamKeyEvent } from '../observe/events.ts';
import type { SecretLookup } from '../pipeline/stage.ts';
import { ConcurrencyLimiter } from './concurrency.ts';
import type { KeyState } from './config.ts';

export type RuntimeKeyState = KeyState | 'failed';

/** The id of the key in the single-key form (`upstream_key:`). */
const SINGLE_KEY_ID = 'default';

export class UpstreamKey {
  readonly id: string;
  readonly environment: string;
  readonly spec: string;
  readonly weight: number;
  state: RuntimeKeyState;
  /** Why the state last changed. */
  reason = 'config';
  /** Requests currently using this key (from send until the response is complete). */
  inflight = 0;
  readonly limiter: ConcurrencyLimiter | undefined;
  readonly #secrets: SecretLookup;

  constructor(
    environment: string,
    id: string,
    spec: string,
    state: KeyState,
    weight: number,
    secrets: SecretLookup,
    limiter: ConcurrencyLimiter | undefined,
  ) {
    this.environment = environment;
    this.id = id;
    this.spec = spec;
    this.state = state;
    this.weight = weight;
    this.#secrets = secrets;
    this.limiter = limiter;
  }

  /** The key's current value (never logged). */
  value(): string | undefined {
    return this.#secrets.value(this.spec);
  }
}

export interface KeyRingLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const TIER: Record<RuntimeKeyState, number> = { active: 0, draining: 1, failed: 2, disabled: 99 };

export class KeyRing {
  readonly environment: string;
  readonly keys: readonly UpstreamKey[];
  readonly #logger: KeyRingLogger;
  readonly #random: () => number;
  readonly #events: Topic<UpstreamKeyEvent> | undefined;

  constructor(
    env: EnvironmentConfig,
    secrets: SecretLookup,
    logger: KeyRingLogger,
    perKeyLimit?: { limit: number; queue: number; queueTimeoutMs: number },
    random: () => number = Math.random,
    events?: Topic<UpstreamKeyEvent>,
  ) {
    this.environment = env.name;
    this.#events = events;
    this.#logger = logger;
    this.#random = random;
    const entries = env.upstreamKeys ?? [
      { id: SINGLE_KEY_ID, key: env.upstreamKey, state: 'active' as const, weight: 1 },
    ];
    this.keys = entries.map(
      (k) =>
        new UpstreamKey(
          env.name,
          k.id,
          k.key,
          k.state,
          k.weight,
          secrets,
          perKeyLimit
            ? new ConcurrencyLimiter(perKeyLimit.limit, perKeyLimit.queue, perKeyLimit.queueTimeoutMs)
            : undefined,
        ),
    );
    for (const key of this.keys) {
      secrets.onChange(key.spec, () => {
        // A new value is a rotated key: a failed key gets another chance.
        if (key.state === 'failed') this.setState(key.id, 'active', 'secret value changed');
        else this.#logger.info({ environment: env.name, upstream_key: key.id }, 'upstream key value changed');
      });
    }
  }

  get(id: string): UpstreamKey | undefined {
    return this.keys.find((k) => k.id === id);
  }

  /**
   * A key for the next attempt: weighted random over the best tier of usable
   * keys, or undefined when none is left.
   */
  pick(usable: (key: UpstreamKey) => boolean = () => true): UpstreamKey | undefined {
    let best = Number.POSITIVE_INFINITY;
    let candidates: UpstreamKey[] = [];
    for (const key of this.keys) {
      const tier = TIER[key.state];
      if (tier > best || tier === 99 || key.value() === undefined || !usable(key)) continue;
      if (tier < best) {
        best = tier;
        candidates = [];
      }
      candidates.push(key);
    }
    if (candidates.length <= 1) return candidates[0];
    const total = candidates.reduce((sum, k) => sum + k.weight, 0);
    let r = this.#random() * total;
    for (const key of candidates) {
      r -= key.weight;
      if (r < 0) return key;
    }
    return candidates[candidates.length - 1];
  }

  /** Sets a key's state (operator action, 401/403, recovery) and reports the change. */
  setState(id: string, state: RuntimeKeyState, reason: string): boolean {
    const key = this.get(id);
    if (!key) return false;
    if (key.state === state) return true;
    key.state = state;
    key.reason = reason;
    const line = { environment: this.environment, upstream_key: id, state, reason };
    if (state === 'failed' || state === 'disabled')
      this.#logger.warn(line, 'upstream key taken out of rotation');
    else this.#logger.info(line, 'upstream key state changed');
    this.#events?.publish(
      (): UpstreamKeyEvent => ({ environment: this.environment, keyId: id, state, reason, at: Date.now() }),
    );
    return true;
  }

  /** Key ids and states for admin views and health (never values). */
  describe(): Array<{
    id: string;
    state: RuntimeKeyState;
    reason: string;
    weight: number;
    inflight: number;
    has_value: boolean;
  }> {
    return this.keys.map((k) => ({
      id: k.id,
      state: k.state,
      reason: k.reason,
      weight: k.weight,
      inflight: k.inflight,
      has_value: k.value() !== undefined,
    }));
  }
}
