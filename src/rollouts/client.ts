/**
 * Talking to a running gateway about its rollouts: the admin API
 * (`/admin/rollouts`, with the admin key) and a traffic driver that sends
 * small Messages requests as many customers and notes which arm served each.
 * Used by `gantry rollout …`, `gantry drill rollback` and the tests.
 */

/** A gateway answered something else than expected, or could not be reached. */
export class GatewayCallError extends Error {
  readonly status?: number;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayCallError';
    this.status = status;
  }
}

export interface RolloutView {
  id: string;
  status: string;
  step: number;
  percent: number;
  clients: string[];
  steps: Array<{ percent: number; hold_ms: number; min_requests: number; current: boolean }>;
  arms: Array<{ name: string; model: string | null; [k: string]: unknown }>;
  guards: Array<{
    metric: string;
    unit: string;
    candidate: number | null;
    baseline: number | null;
    threshold: number | null;
    judged: boolean;
    breached: boolean;
  }>;
  evaluation: { at: string; verdict: string; reason: string } | null;
  decisions: Array<{
    at: string;
    action: string;
    by: string;
    from_percent: number;
    to_percent: number;
    reason: string;
    [k: string]: unknown;
  }>;
  [k: string]: unknown;
}

/** The admin API of one gateway. */
export class RolloutAdmin {
  readonly base: string;
  readonly #key: string;

  constructor(base: string, adminKey: string) {
    this.base = base.replace(/\/+$/, '');
    this.#key = adminKey;
  }

  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          'x-api-key': this.#key,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new GatewayCallError(
        `cannot reach the gateway at ${this.base}: ${(err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
    const text = await res.text();
    if (res.status === 404 && !text.includes('rollout_not_found'))
      throw new GatewayCallError(
        'the gateway has no admin key configured (admin: in gantry.yaml), or no rollouts route',
        404,
      );
    if (res.status === 401) throw new GatewayCallError('the gateway refused the admin key', 401);
    if (res.status !== 200) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {}
      throw new GatewayCallError(`the gateway answered ${res.status}: ${message}`, res.status);
    }
    return JSON.parse(text);
  }

  async list(): Promise<RolloutView[]> {
    return ((await this.#call('GET', '/admin/rollouts')) as { rollouts: RolloutView[] }).rollouts;
  }

  async get(id: string): Promise<RolloutView> {
    const r = (await this.list()).find((x) => x.id === id);
    if (!r) throw new GatewayCallError(`no rollout "${id}" on the gateway at ${this.base}`, 404);
    return r;
  }

  async act(
    id: string,
    action: 'start' | 'pause' | 'promote' | 'abort',
  ): Promise<{ rollout: RolloutView; decision: Record<string, unknown> }> {
    return (await this.#call('POST', '/admin/rollouts', { id, action })) as {
      rollout: RolloutView;
      decision: Record<string, unknown>;
    };
  }

  /** The recent alert history (`GET /admin/alerts`), or undefined when alerts are off. */
  async alerts(): Promise<
    Array<{ at: string; kind: string; rule: string; scope_value: string }> | undefined
  > {
    try {
      return (
        (await this.#call('GET', '/admin/alerts')) as {
          recent: Array<{ at: string; kind: string; rule: string; scope_value: string }>;
        }
      ).recent;
    } catch {
      return undefined;
    }
  }
}

/** One request the driver sent. */
export interface Sent {
  /** ms since epoch. */
  sentAt: number;
  doneAt: number;
  status: number;
  /** The arm from `gantry-rollout` (absent: no rollout active for the request). */
  arm?: string;
  /** The model that answered (`model` of the Message). */
  model?: string;
  customer: string;
  /** Gantry's request id (`gantry-request-id`). */
  requestId?: string;
  /** The stop reason of the answer. */
  stopReason?: string;
}

export interface DriverOptions {
  url: string;
  /** The client's virtual key. */
  key: string;
  model: string;
  concurrency: number;
  /** Customers are drawn from this many ids (`x-gantry-customer`); 0: a new id per request. */
  customers: number;
  /** Stop after this many requests in all (the staging budget). */
  maxRequests?: number;
  maxTokens?: number;
  stream?: boolean;
  /** Send this prompt by reference (`gantry-prompt`). */
  prompt?: string;
}

/**
 * Sends small Messages requests with `concurrency` workers until `stop()` or
 * `maxRequests`, keeping what each answer said about its arm. Never throws:
 * a request that fails to connect is noted with status 0.
 */
export class TrafficDriver {
  readonly sent: Sent[] = [];
  readonly #o: DriverOptions;
  #stopped = false;
  #issued = 0;
  #workers: Promise<void>[] = [];
  #seq = 0;

  constructor(o: DriverOptions) {
    this.#o = o;
  }

  get issued(): number {
    return this.#issued;
  }

  get exhausted(): boolean {
    return this.#o.maxRequests !== undefined && this.#issued >= this.#o.maxRequests;
  }

  start(): this {
    for (let i = 0; i < this.#o.concurrency; i++) this.#workers.push(this.#worker());
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers);
  }

  /** Sends exactly `n` more requests (after the driver stopped), returning what they got. */
  async send(n: number): Promise<Sent[]> {
    const out: Sent[] = [];
    let left = n;
    await Promise.all(
      Array.from({ length: Math.min(n, this.#o.concurrency) }, async () => {
        while (left > 0) {
          left -= 1;
          out.push(await this.#one());
        }
      }),
    );
    return out;
  }

  async #worker(): Promise<void> {
    while (!this.#stopped && !this.exhausted) await this.#one();
  }

  async #one(): Promise<Sent> {
    this.#issued += 1;
    const o = this.#o;
    const customer = `drill-${o.customers > 0 ? this.#seq++ % o.customers : this.#seq++}`;
    const sentAt = Date.now();
    const record: Sent = { sentAt, doneAt: sentAt, status: 0, customer };
    try {
      const res = await fetch(`${o.url.replace(/\/+$/, '')}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': o.key,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
          'x-gantry-customer': customer,
          ...(o.prompt ? { 'gantry-prompt': o.prompt } : {}),
        },
        body: JSON.stringify({
          model: o.model,
          max_tokens: o.maxTokens ?? 16,
          ...(o.stream ? { stream: true } : {}),
          messages: [{ role: 'user', content: 'Reply with the single word OK.' }],
        }),
        signal: AbortSignal.timeout(60_000),
      });
      record.status = res.status;
      record.requestId = res.headers.get('gantry-request-id') ?? undefined;
      const arm = res.headers.get('gantry-rollout');
      if (arm) record.arm = arm.slice(arm.lastIndexOf('/') + 1);
      const text = await res.text();
      if (o.stream) {
        record.model = /"model":"([^"]+)"/.exec(text)?.[1];
        record.stopReason = /"stop_reason":"([^"]+)"/.exec(text)?.[1];
      } else if (res.status === 200) {
        const m = JSON.parse(text) as { model?: string; stop_reason?: string };
        record.model = m.model;
        record.stopReason = m.stop_reason;
      }
    } catch {
      record.status = 0;
    }
    record.doneAt = Date.now();
    this.sent.push(record);
    return record;
  }
}
