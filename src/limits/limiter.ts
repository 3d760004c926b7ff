/**
 * The limiter: rate limits and budgets of one request, over a state store.
 *
 * Admission (`admit`) for a request of client C (environment E, customer K):
 *
 * 1. Rate limits. Every configured bucket of the scopes C, K (per customer of
 *    C), E and overall is taken from in ONE atomic store call: 1 request,
 *    the estimated input tokens, `max_tokens` output tokens (each at most the
 *    bucket's capacity, so a request larger than a limit waits for a full
 *    bucket instead of never passing). Any bucket short → 429 `rate_limited`
 *    with `retry-after` (the longest wait) and nothing is taken.
 * 2. Budgets. The worst-case cost (`worstCaseCostMicros`) is reserved in every
 *    budget (scope × daily/monthly) in ONE atomic call, admitted while each
 *    blocking budget's committed amount (spent + in-flight reservations) is
 *    below its limit. So concurrent requests overshoot a budget by at most one
 *    reservation, on one replica or many. A refused reservation answers 402
 *    `budget_exceeded` when the budget is really spent, or 429
 *    `budget_reserved` (retry shortly) when in-flight reservations hold the
 *    rest. Budgets with `downgrade` or `alert-only` never refuse: once spent,
 *    `downgrade` switches the request to the cheaper model.
 *
 * Completion (`settle`) reconciles with the actual usage: input tokens charged
 * or refunded to the estimate, unused output tokens refunded, actual cost
 * settled against the reservation (or the reservation released when nothing
 * was used), and 80 % / 100 % threshold crossings published once per period.
 *
 * Budget reservations are leases (`limits.reservation_lease_ms`), held under
 * the request id and renewed every third of a lease while the request runs
 * (one store call for all requests in flight). A process that dies stops
 * renewing: its reservations expire and are swept by the next admission, so
 * the budget is usable again within one lease. Settlement is retried with
 * backoff for up to one lease (or until the shutdown deadline); the store
 * settles idempotently on the reservation id, so a retry after a lost answer
 * never counts twice. A settlement that never lands leaves the spend to the
 * ledger: `reconcile.ts` raises the counters to what the ledger holds.
 */

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { costOf, formatUsd, worstCaseCostMicros } from '../anthropic/cost.ts';
import type { Usage } from '../anthropic/usage.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { GantryError } from '../errors.ts';
import type { BudgetEvent } from '../observe/events.ts';
import type { Decision } from '../pipeline/exchange.ts';
import { msUntilFull } from './bucket.ts';
import type { ScopeLimits, StoreErrorMode } from './config.ts';
import { rateHeaders } from './headers.ts';
import { periodOf } from './periods.ts';
import { type LeaseRef, type SettleResult, type StateStore, withTimeout } from './store.ts';
import type {
  Admission,
  AdmitRequest,
  BudgetEntry,
  BudgetStatus,
  Dimension,
  LimitsEnforcerOptions,
  Scope,
  ScopeStatus,
  TakenBucket,
  Ticket,
} from './types.ts';

const DIM_FIELD = { rpm: 'rpm', input_tpm: 'inputTpm', output_tpm: 'outputTpm' } as const;
const DIM_WORDS: Record<Dimension, string> = {
  rpm: 'requests',
  input_tpm: 'input tokens',
  output_tpm: 'output tokens',
};
const THRESHOLDS = [80, 100] as const;
/** Suggested wait when in-flight reservations hold the rest of a budget. */
const RESERVED_RETRY_SECONDS = 2;

const hasLimits = (l: ScopeLimits): boolean =>
  l.rpm !== undefined || l.inputTpm !== undefined || l.outputTpm !== undefined || l.budget !== undefined;

/** A reservation is renewed for at most this long (far beyond any request's life). */
const MAX_HOLD_MS = 6 * 3_600_000;
/** Settlement attempts back off from `settleRetryMs` up to this. */
const SETTLE_RETRY_MAX_MS = 2_000;

export class LimitsEnforcer {
  readonly store: StateStore;
  readonly #config: ResolvedConfig;
  readonly #clients: Map<string, ResolvedConfig['clients'][number]>;
  /** Scopes by client and environment, made once. */
  readonly #scopeCache = new Map<string, { scopes: Scope[]; perCustomer?: ScopeLimits }>();
  /** Customer scopes, made once per customer seen (bounded: cleared beyond 10,000). */
  readonly #customerScopes = new Map<string, Scope>();
  /** The rate buckets of each scope, keys and rules made once. */
  readonly #bucketTemplates = new WeakMap<Scope, ReadonlyArray<Omit<TakenBucket, 'cost'>>>();
  /** The budgets of each scope in the current periods, remade when a period changes. */
  readonly #budgetCache = new WeakMap<Scope, { daily: string; monthly: string; entries: BudgetEntry[] }>();
  readonly #options: LimitsEnforcerOptions;
  readonly #prefix: string;
  readonly #leaseMs: number;
  /** Tickets holding a budget reservation, by lease id: renewed until settled. */
  readonly #held = new Map<string, { ticket: Ticket; since: number }>();
  #renewTimer: NodeJS.Timeout | undefined;
  /** Settlements running (retrying): awaited by `close`. */
  readonly #settling = new Set<Promise<unknown>>();
  /** Set by `close`: settlements stop retrying at this time (ms since epoch). */
  #stopAt = Number.POSITIVE_INFINITY;
  #storeUp = true;

  constructor(config: ResolvedConfig, store: StateStore, options: LimitsEnforcerOptions = {}) {
    this.#config = config;
    this.store = store;
    this.#options = options;
    this.#prefix = config.limits.keyPrefix;
    this.#leaseMs = config.limits.reservationLeaseMs;
    this.#clients = new Map(config.clients.map((c) => [c.name, c]));
  }

  /** Whether the last store call succeeded. */
  get storeUp(): boolean {
    return this.#storeUp;
  }

  /**
   * The scopes that apply to a request, narrowest first. Scope objects (and
   * the bucket and budget keys derived from them) are made once per client and
   * environment, and once per customer seen, not per request.
   */
  scopes(client: string, environment: string, customer?: string): Scope[] {
    const fixed = this.#fixedScopes(client, environment);
    const perCustomer = fixed.perCustomer;
    if (!perCustomer || customer === undefined) return fixed.scopes;
    const id = `${client}/${customer}`;
    let scope = this.#customerScopes.get(id);
    if (!scope) {
      if (this.#customerScopes.size >= 10_000) this.#customerScopes.clear();
      scope = { kind: 'customer', id, label: `customer:${id}`, limits: perCustomer };
      this.#customerScopes.set(id, scope);
    }
    const [first, ...rest] = fixed.scopes;
    return first?.kind === 'client' ? [first, scope, ...rest] : [scope, ...fixed.scopes];
  }

  #fixedScopes(client: string, environment: string): { scopes: Scope[]; perCustomer?: ScopeLimits } {
    const key = `${client}\u0000${environment}`;
    let fixed = this.#scopeCache.get(key);
    if (fixed) return fixed;
    const scopes: Scope[] = [];
    const limits = this.#clients.get(client)?.limits;
    if (limits) scopes.push({ kind: 'client', id: client, label: `client:${client}`, limits });
    const env = this.#config.limits.environments[environment];
    if (env)
      scopes.push({ kind: 'environment', id: environment, label: `environment:${environment}`, limits: env });
    const overall = this.#config.limits.overall;
    if (overall) scopes.push({ kind: 'overall', id: 'all', label: 'overall', limits: overall });
    fixed = limits?.perCustomer ? { scopes, perCustomer: limits.perCustomer } : { scopes };
    this.#scopeCache.set(key, fixed);
    return fixed;
  }

  #mode(scopes: readonly Scope[]): StoreErrorMode {
    const fallback = this.#config.limits.onStoreError;
    return scopes.some((s) => (s.limits.onStoreError ?? fallback) === 'closed') ? 'closed' : 'open';
  }

  #call<T>(promise: Promise<T>, what: string): Promise<T> {
    // The memory store answers in the same turn: a timer per call would only cost time.
    if (this.store.kind === 'memory') return promise;
    return withTimeout(promise, this.#config.limits.storeTimeoutMs, what).then(
      (value) => {
        if (!this.#storeUp) this.#setStoreUp(true);
        return value;
      },
      (err) => {
        if (this.#storeUp) this.#setStoreUp(false, err);
        throw err;
      },
    );
  }

  #setStoreUp(up: boolean, err?: unknown): void {
    this.#storeUp = up;
    this.#options.onStoreState?.(up, err);
  }

  /** One read round trip to the store (the readiness check); rejects when it fails or times out. */
  async ping(): Promise<void> {
    await this.#call(this.store.readBudgets([`${this.#prefix}readyz`]), 'readiness');
  }

  /**
   * Admits a request or throws a GantryError (429 `rate_limited`, 429
   * `budget_reserved`, 402 `budget_exceeded`, 503 `limits_unavailable`).
   * Decisions are pushed on `decisions`.
   */
  async admit(req: AdmitRequest, decisions: Decision[]): Promise<Admission> {
    const scopes = this.scopes(req.client, req.environment, req.customer);
    const buckets = this.#buckets(scopes, req);
    const budgets = this.#budgets(scopes, Date.now());
    if (buckets.length === 0 && budgets.length === 0) return { headers: {} };
    const headers: Record<string, string> = {};
    let taken = false;
    try {
      if (buckets.length > 0) {
        const result = await this.#call(this.store.take(buckets), 'rate limits');
        Object.assign(headers, rateHeaders(buckets, result.levels, result.now));
        if (!result.ok) {
          let worst = 0;
          for (let i = 1; i < buckets.length; i++) if (result.waitMs[i] > result.waitMs[worst]) worst = i;
          const b = buckets[worst];
          const retryAfter = Math.max(1, Math.ceil(result.waitMs[worst] / 1000));
          decisions.push({ stage: 'admit', action: 'rate_limited', rule: b.rule });
          throw new GantryError(
            'rate_limited',
            `Rate limit ${b.rule} reached: ${b.scope.label} may use ${b.capacity} ${DIM_WORDS[b.dim]} per minute. Retry after ${retryAfter} s.`,
            {
              headers: { ...headers, 'retry-after': String(retryAfter) },
              details: { rule: b.rule, scope: b.scope.label },
            },
          );
        }
        taken = true;
      }
      const ticket: Ticket = { buckets, budgets, reservedMicros: 0, leaseId: req.id ?? randomUUID() };
      if (budgets.length === 0) return { ticket, headers };

      let reserved =
        req.reserveMicros ?? worstCaseCostMicros(req.model, req.estimatedInputTokens, req.maxTokens) ?? 0;
      const result = await this.#call(
        this.store.reserve(budgets, reserved, { id: ticket.leaseId, ttlMs: this.#leaseMs }),
        'budgets',
      );
      if (!result.ok) {
        await this.#refund(buckets);
        taken = false;
        const failing = budgets
          .map((b, i) => ({ b, i }))
          .filter(({ b, i }) => !b.force && result.committed[i] >= b.limit);
        const spentOut = failing.find(({ b, i }) => result.spent[i] >= b.limit) ?? failing[0];
        const { b, i } = spentOut;
        if (result.spent[i] >= b.limit) {
          decisions.push({ stage: 'admit', action: 'budget_exceeded', rule: b.rule });
          const resets = new Date(b.resetsAt).toISOString();
          throw new GantryError(
            'budget_exceeded',
            `Budget ${b.rule} of ${b.scope.label} is spent: $${formatUsd(result.spent[i])} of $${formatUsd(b.limit)} this ${b.period === 'daily' ? 'day' : 'month'} (UTC). It resets at ${resets}; do not retry before.`,
            {
              headers: { ...headers, 'x-should-retry': 'false' },
              details: {
                rule: b.rule,
                scope: b.scope.label,
                period: b.period,
                limit_usd: formatUsd(b.limit),
                spent_usd: formatUsd(result.spent[i]),
                resets_at: resets,
              },
            },
          );
        }
        decisions.push({ stage: 'admit', action: 'rate_limited', rule: b.rule, detail: 'reserved' });
        throw new GantryError(
          'budget_reserved',
          `Budget ${b.rule} of ${b.scope.label} is held by requests in flight ($${formatUsd(result.committed[i])} committed of $${formatUsd(b.limit)}, $${formatUsd(result.spent[i])} spent). Retry after ${RESERVED_RETRY_SECONDS} s.`,
          {
            headers: { ...headers, 'retry-after': String(RESERVED_RETRY_SECONDS) },
            details: { rule: b.rule, scope: b.scope.label },
          },
        );
      }
      const admission: Admission = { ticket, headers };
      budgets.forEach((b, i) => {
        if (result.spent[i] < b.limit) return;
        if (b.action === 'downgrade' && b.downgradeTo && admission.downgradeTo === undefined) {
          admission.downgradeTo = b.downgradeTo;
          decisions.push({ stage: 'admit', action: 'downgraded', rule: b.rule, detail: b.downgradeTo });
        } else if (b.action === 'alert-only') {
          decisions.push({
            stage: 'admit',
            action: 'flagged',
            rule: b.rule,
            detail: 'budget spent (alert-only)',
          });
        }
      });
      if (admission.downgradeTo !== undefined && admission.downgradeTo !== req.model) {
        const cheaper =
          worstCaseCostMicros(admission.downgradeTo, req.estimatedInputTokens, req.maxTokens) ?? 0;
        if (cheaper !== reserved) {
          await this.#call(this.store.reprice(budgets, ticket.leaseId, cheaper), 'budgets');
          reserved = cheaper;
        }
      }
      ticket.reservedMicros = reserved;
      this.#hold(ticket);
      return admission;
    } catch (err) {
      if (err instanceof GantryError) throw err;
      const mode = this.#mode(scopes);
      this.#options.onStoreError?.(err, mode);
      if (mode === 'closed') {
        throw new GantryError(
          'limits_unavailable',
          'The rate-limit and budget store is unreachable and these limits are set to fail closed; retry shortly.',
          { cause: err, headers: { 'retry-after': '1' } },
        );
      }
      decisions.push({ stage: 'admit', action: 'degraded', rule: 'limits.store', detail: 'fail_open' });
      return {
        headers,
        ...(taken ? { ticket: { buckets, budgets: [], reservedMicros: 0, leaseId: req.id ?? '' } } : {}),
      };
    }
  }

  async #refund(buckets: TakenBucket[]): Promise<void> {
    if (buckets.length === 0) return;
    await this.#call(
      this.store.adjust(
        buckets.map((b) => ({ key: b.key, capacity: b.capacity, ratePerMs: b.ratePerMs, delta: b.cost })),
      ),
      'rate limits',
    );
  }

  /** Keeps a ticket's reservation leased while its request runs. */
  #hold(ticket: Ticket): void {
    this.#held.set(ticket.leaseId, { ticket, since: Date.now() });
    if (this.#renewTimer || this.#stopAt !== Number.POSITIVE_INFINITY) return;
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(this.#leaseMs / 3)));
    this.#renewTimer.unref();
  }

  /** One store call extends every held lease; stops the timer when nothing is held. */
  async #renew(): Promise<void> {
    if (this.#held.size === 0) {
      clearInterval(this.#renewTimer);
      this.#renewTimer = undefined;
      return;
    }
    const leases: LeaseRef[] = [];
    const oldest = Date.now() - MAX_HOLD_MS;
    for (const [id, { ticket, since }] of this.#held) {
      // A request never settled (a bug elsewhere) must not hold its budget forever.
      if (since < oldest) this.#held.delete(id);
      else for (const b of ticket.budgets) leases.push({ key: b.key, id });
    }
    if (leases.length === 0) return;
    try {
      await this.#call(this.store.renew(leases, this.#leaseMs), 'budgets');
    } catch {
      // The store is down: the leases run out unless a later renewal lands first.
    }
  }

  /**
   * Reconciles a finished request. `usage` undefined: nothing was used (an
   * error before the upstream answered, an upstream error), so the input and
   * output reservations are refunded and the budget reservation released.
   * The budget settlement is retried (idempotent on the lease id) for up to
   * one lease, or until `close`'s deadline; it rejects when given up.
   */
  settle(ticket: Ticket, usage: Usage | undefined, model: string | undefined): Promise<void> {
    const run = this.#settle(ticket, usage, model);
    this.#settling.add(run);
    return run.finally(() => this.#settling.delete(run));
  }

  async #settle(ticket: Ticket, usage: Usage | undefined, model: string | undefined): Promise<void> {
    const adjust = [];
    for (const b of ticket.buckets) {
      let used: number;
      if (b.dim === 'rpm') continue;
      if (b.dim === 'input_tpm') {
        used = usage
          ? usage.inputTokens + usage.cacheCreation5mInputTokens + usage.cacheCreation1hInputTokens
          : 0;
      } else {
        used = usage ? usage.outputTokens : 0;
      }
      if (used !== b.cost)
        adjust.push({ key: b.key, capacity: b.capacity, ratePerMs: b.ratePerMs, delta: b.cost - used });
    }
    // Token buckets refill on their own: one attempt (an adjustment is not idempotent).
    let bucketError: unknown;
    if (adjust.length > 0) {
      await this.#call(this.store.adjust(adjust), 'rate limits').catch((err) => {
        bucketError = err;
      });
    }
    if (ticket.budgets.length > 0) {
      const actual = usage ? costOf(usage, model).micros : 0;
      let result: SettleResult;
      try {
        result = await this.#settleBudgets(ticket, actual);
      } catch (err) {
        this.#held.delete(ticket.leaseId);
        this.#options.onSettleAbandoned?.(err, ticket);
        throw err;
      }
      this.#held.delete(ticket.leaseId);
      if (!result.duplicate) this.#thresholds(ticket.budgets, result);
    }
    if (bucketError !== undefined) throw bucketError;
  }

  async #settleBudgets(ticket: Ticket, actual: number): Promise<SettleResult> {
    const giveUpAt = Date.now() + this.#leaseMs;
    // Settled ids are remembered past any retry of this settlement.
    const doneTtlMs = 2 * this.#leaseMs + 60_000;
    let delay = this.#options.settleRetryMs ?? 50;
    for (;;) {
      try {
        return await this.#call(
          this.store.settle(ticket.budgets, ticket.leaseId, actual, doneTtlMs),
          'budgets',
        );
      } catch (err) {
        const stopAt = Math.min(giveUpAt, this.#stopAt);
        if (Date.now() + delay >= stopAt) throw err;
        await sleep(delay);
        delay = Math.min(2 * delay, SETTLE_RETRY_MAX_MS);
      }
    }
  }

  /**
   * Charges spend that had no reservation (a Message Batch's results, priced
   * when they are fetched through the gateway) to every budget of the scopes,
   * once per `id` for the rest of the budgets' periods: fetching the same
   * results again never counts them twice.
   */
  async chargeOnce(
    charge: { id: string; client: string; environment: string; customer?: string; micros: number },
    now = Date.now(),
  ): Promise<void> {
    const budgets = this.#budgets(this.scopes(charge.client, charge.environment, charge.customer), now);
    if (budgets.length === 0 || charge.micros <= 0) return;
    const doneTtlMs = Math.max(...budgets.map((b) => b.resetsAt - now)) + 86_400_000;
    const result = await this.#call(
      this.store.settle(budgets, charge.id, charge.micros, doneTtlMs),
      'budgets',
    );
    if (!result.duplicate) this.#thresholds(budgets, result);
  }

  #thresholds(budgets: readonly BudgetEntry[], result: SettleResult): void {
    budgets.forEach((b, i) => {
      for (const t of THRESHOLDS) {
        const mark = (b.limit * t) / 100;
        if (result.spentBefore[i] < mark && result.spentAfter[i] >= mark) {
          const event: BudgetEvent = {
            scope: b.scope.label,
            period: b.period,
            threshold: t,
            spentMicros: result.spentAfter[i],
            limitMicros: b.limit,
            action: b.action,
            at: Date.now(),
          };
          this.#options.onBudgetEvent?.(event);
        }
      }
    });
  }

  /**
   * Stops renewing leases and waits for running settlements, which stop
   * retrying at `deadline` (default: 5 s from now). Does not close the store.
   */
  async close(options: { deadline?: number } = {}): Promise<void> {
    this.#stopAt = options.deadline ?? Date.now() + 5_000;
    clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
    if (this.#settling.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#settling]),
      new Promise<void>((r) => {
        timer = setTimeout(r, Math.max(0, this.#stopAt - Date.now()) + 50);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Budgets of every scope with their spend, for admin views and tests. */
  async budgetStatus(client: string, environment: string, customer?: string): Promise<BudgetStatus[]> {
    const entries = this.#budgets(this.scopes(client, environment, customer), Date.now());
    if (entries.length === 0) return [];
    const { committed, spent } = await this.#call(
      this.store.readBudgets(entries.map((e) => e.key)),
      'budgets',
    );
    return entries.map((e, i) => ({
      scope: e.scope.label,
      period: e.period,
      limitMicros: e.limit,
      spentMicros: spent[i],
      committedMicros: committed[i],
      resetsAt: new Date(e.resetsAt).toISOString(),
    }));
  }

  /**
   * Every configured scope (each client with limits, each environment,
   * overall; per-customer scopes are too many to list) with the level of
   * each rate bucket and each budget's spent and committed amounts now, read
   * from the store without changing anything. For `GET /admin/limits`.
   */
  async status(now = Date.now()): Promise<ScopeStatus[]> {
    const scopes: Scope[] = [];
    for (const c of this.#config.clients) {
      if (hasLimits(c.limits))
        scopes.push({ kind: 'client', id: c.name, label: `client:${c.name}`, limits: c.limits });
    }
    for (const [name, limits] of Object.entries(this.#config.limits.environments)) {
      if (hasLimits(limits))
        scopes.push({ kind: 'environment', id: name, label: `environment:${name}`, limits });
    }
    const overall = this.#config.limits.overall;
    if (overall && hasLimits(overall))
      scopes.push({ kind: 'overall', id: 'all', label: 'overall', limits: overall });
    if (scopes.length === 0) return [];
    const noRequest: AdmitRequest = { client: '', environment: '', estimatedInputTokens: 0, maxTokens: 0 };
    const buckets = this.#buckets(scopes, noRequest);
    const budgets = this.#budgets(scopes, now);
    const [levels, money] = await Promise.all([
      buckets.length > 0 ? this.#call(this.store.peek(buckets, now), 'rate limits') : Promise.resolve([]),
      budgets.length > 0
        ? this.#call(this.store.readBudgets(budgets.map((b) => b.key)), 'budgets')
        : Promise.resolve({ committed: [], spent: [] }),
    ]);
    return scopes.map((scope) => ({
      scope: scope.label,
      kind: scope.kind,
      rates: buckets
        .map((b, i) => ({ b, level: levels[i] }))
        .filter(({ b }) => b.scope === scope)
        .map(({ b, level }) => {
          const remaining = Math.max(0, Math.floor(level));
          return {
            dimension: b.dim,
            limitPerMinute: b.capacity,
            remaining,
            headroomPercent: Math.round((remaining / b.capacity) * 1000) / 10,
            fullAt: new Date(now + Math.ceil(msUntilFull(level, b.capacity, b.ratePerMs))).toISOString(),
          };
        }),
      budgets: budgets
        .map((b, i) => ({ b, committed: money.committed[i], spent: money.spent[i] }))
        .filter(({ b }) => b.scope === scope)
        .map(({ b, committed, spent }) => ({
          period: b.period,
          action: b.action,
          limitMicros: b.limit,
          spentMicros: spent,
          committedMicros: committed,
          reservedMicros: Math.max(0, committed - spent),
          percent: b.limit > 0 ? Math.round((spent / b.limit) * 1000) / 10 : 100,
          resetsAt: new Date(b.resetsAt).toISOString(),
        })),
    }));
  }

  #buckets(scopes: readonly Scope[], req: AdmitRequest): TakenBucket[] {
    const out: TakenBucket[] = [];
    for (const scope of scopes) {
      let templates = this.#bucketTemplates.get(scope);
      if (!templates) {
        const made: Array<Omit<TakenBucket, 'cost'>> = [];
        for (const dim of ['rpm', 'input_tpm', 'output_tpm'] as const) {
          const capacity = scope.limits[DIM_FIELD[dim]];
          if (capacity === undefined) continue;
          made.push({
            key: `${this.#prefix}rl:${scope.kind}:${scope.id}:${dim}`,
            capacity,
            ratePerMs: capacity / 60_000,
            dim,
            rule: `ratelimit.${scope.kind}.${dim}`,
            scope,
          });
        }
        templates = made;
        this.#bucketTemplates.set(scope, templates);
      }
      for (const t of templates) {
        const want = t.dim === 'rpm' ? 1 : t.dim === 'input_tpm' ? req.estimatedInputTokens : req.maxTokens;
        out.push({ ...t, cost: Math.min(Math.max(0, want), t.capacity) });
      }
    }
    return out;
  }

  /** The budgets of `scopes` in the periods containing `now` (keys, limits, resets). */
  budgetsOf(scopes: readonly Scope[], now: number): BudgetEntry[] {
    return this.#budgets(scopes, now);
  }

  #budgets(scopes: readonly Scope[], now: number): BudgetEntry[] {
    const out: BudgetEntry[] = [];
    const daily = periodOf('daily', now).id;
    const monthly = periodOf('monthly', now).id;
    for (const scope of scopes) {
      if (!scope.limits.budget) continue;
      let cached = this.#budgetCache.get(scope);
      if (!cached || cached.daily !== daily || cached.monthly !== monthly) {
        cached = { daily, monthly, entries: this.#budgetsOfScope(scope, now) };
        this.#budgetCache.set(scope, cached);
      }
      for (const e of cached.entries) out.push(e);
    }
    return out;
  }

  /** A scope's budgets in the periods containing `now` (their keys name the period). */
  #budgetsOfScope(scope: Scope, now: number): BudgetEntry[] {
    const out: BudgetEntry[] = [];
    const budget = scope.limits.budget;
    if (!budget) return out;
    for (const period of ['daily', 'monthly'] as const) {
      const limit = period === 'daily' ? budget.dailyMicros : budget.monthlyMicros;
      if (limit === undefined) continue;
      const { id, resetsAt } = periodOf(period, now);
      const entry: BudgetEntry = {
        key: `${this.#prefix}b:${scope.kind}:${scope.id}:${period}:${id}`,
        limit,
        force: budget.action !== 'block',
        // The key's time to live (clean-up only): to the end of the period and a day beyond.
        ttlSec: Math.ceil((resetsAt - now) / 1000) + 86_400,
        scope,
        period,
        rule: `budget.${scope.kind}.${period}`,
        action: budget.action,
        resetsAt,
      };
      if (budget.downgradeTo !== undefined) entry.downgradeTo = budget.downgradeTo;
      out.push(entry);
    }
    return out;
  }
}
