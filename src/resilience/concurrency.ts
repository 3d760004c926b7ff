/**
 * The outermost upstream layer: a concurrency limit with a bounded queue (load
 * shedding), per client and per upstream key. `acquire` resolves with a release
 * function once a slot is free; it rejects with `LoadShedError` when the queue
 * is full or the wait exceeds the queue timeout, and with the signal's reason
 * when the caller goes away. `release` is idempotent.
 */
import { InternalError } from '../errors.ts';

export class LoadShedError extends InternalError {
  readonly reason: 'queue_full' | 'queue_timeout';
  constructor(reason: 'queue_full' | 'queue_timeout') {
    super(
      'concurrency_full',
      reason === 'queue_full' ? 'concurrency limit and queue are full' : 'waited too long for a slot',
    );
    this.reason = reason;
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  fail: (err: unknown) => void;
}

export class ConcurrencyLimiter {
  readonly limit: number;
  readonly queueLimit: number;
  readonly queueTimeoutMs: number;
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(limit: number, queueLimit: number, queueTimeoutMs: number) {
    this.limit = limit;
    this.queueLimit = queueLimit;
    this.queueTimeoutMs = queueTimeoutMs;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  #release(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) next.grant(this.#release());
      else this.#active -= 1;
    };
  }

  /** A slot now, or undefined when none is free (no queueing). */
  tryAcquire(): (() => void) | undefined {
    if (this.#active >= this.limit) return undefined;
    this.#active += 1;
    return this.#release();
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (this.#queue.length >= this.queueLimit) return Promise.reject(new LoadShedError('queue_full'));
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
      };
      const waiter: Waiter = {
        grant: (release) => {
          cleanup();
          resolve(release);
        },
        fail: (err) => {
          cleanup();
          reject(err);
        },
      };
      const onAbort = () => waiter.fail(signal?.reason);
      const timer = setTimeout(() => waiter.fail(new LoadShedError('queue_timeout')), this.queueTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }
}
