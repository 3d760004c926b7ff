/**
 * A retry budget: over a sliding window, retries may add at most `ratio` of
 * the requests (plus `minRetries`, so that a quiet gateway can still retry).
 * During an outage every request fails, and without a budget each would be
 * sent `max_attempts` times; with it the upstream sees at most
 * `requests * (1 + ratio) + minRetries` attempts per window.
 */

export interface RetryBudgetOptions {
  ratio: number;
  minRetries: number;
  windowMs: number;
  now?: () => number;
}

const BUCKETS = 10;

export class RetryBudget {
  readonly #ratio: number;
  readonly #min: number;
  readonly #bucketMs: number;
  readonly #now: () => number;
  readonly #requests = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  #bucket = 0;
  #bucketStart: number;

  constructor(o: RetryBudgetOptions) {
    this.#ratio = o.ratio;
    this.#min = o.minRetries;
    this.#bucketMs = Math.max(1, o.windowMs / BUCKETS);
    this.#now = o.now ?? (() => performance.now());
    this.#bucketStart = this.#now();
  }

  #advance(): void {
    const now = this.#now();
    let steps = Math.floor((now - this.#bucketStart) / this.#bucketMs);
    if (steps <= 0) return;
    this.#bucketStart += steps * this.#bucketMs;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.#bucket = (this.#bucket + 1) % BUCKETS;
      this.#requests[this.#bucket] = 0;
      this.#retries[this.#bucket] = 0;
    }
  }

  /** Counts a client request (its first attempt). */
  recordRequest(): void {
    this.#advance();
    this.#requests[this.#bucket] += 1;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(): boolean {
    this.#advance();
    const requests = this.#requests.reduce((a, b) => a + b, 0);
    const retries = this.#retries.reduce((a, b) => a + b, 0);
    if (retries >= this.#min + this.#ratio * requests) return false;
    this.#retries[this.#bucket] += 1;
    return true;
  }

  /** Requests and retries in the current window. */
  snapshot(): { requests: number; retries: number } {
    this.#advance();
    return {
      requests: this.#requests.reduce((a, b) => a + b, 0),
      retries: this.#retries.reduce((a, b) => a + b, 0),
    };
  }
}
