/**
 * Prometheus metrics from the record of each finished exchange and the gateway's lifecycle events.
 *
 * `GantryMetrics.record(ex)` runs in the `metrics` stage's `complete` hook
 * (before `observe`); `subscribe()` listens on the breaker, upstream-key,
 * budget, ledger and invariant channels. Every metric is declared from the
 * one table in `metric-names.ts` (a metric missing there cannot be created).
 *
 * Label values are bounded: models outside the catalog are `other`, error
 * types outside the API's list are `other`, clients come from config, and the
 * customer label is off, an opt-in list, or the top N customers by spend
 * (everyone else is `other`).
 */
import { hash } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ANTHROPIC_ERROR_STATUS } from '../anthropic/errors.ts';
import { resolveModel } from '../anthropic/models.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';
import type {
  BreakerEvent,
  BudgetEvent,
  GatewayEvents,
  InvariantEvent,
  LedgerEvent,
  LimitsStoreEvent,
  UpstreamKeyEvent,
} from './events.ts';
import { METRICS, type MetricDef, type MetricName } from './metric-names.ts';
import { FastCounter, FastHistogram } from './series.ts';

export interface MetricsLabelOptions {
  /** `top`: the top `topCustomers` by spend; `list`: only `customers`; `off`: no customer label value. */
  customerLabel: 'off' | 'hashed' | 'top' | 'list';
  topCustomers: number;
  customers: readonly string[];
}

const BUCKETS: Partial<Record<MetricName, number[]>> = {
  // OTel advisory buckets for gen_ai.client.operation.duration, plus the alert thresholds 10 s and 30 s.
  gen_ai_client_operation_duration_seconds: [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10, 20.48, 30, 40.96, 81.92, 163.84,
  ],
  gen_ai_client_token_usage: [
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
  ],
  gen_ai_server_time_to_first_token_seconds: [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30,
  ],
  gen_ai_server_time_per_output_token_seconds: [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5,
  ],
  gantry_overhead_seconds: [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
  ],
};

const KNOWN_ERROR_TYPES = new Set<string>([
  ...Object.keys(ANTHROPIC_ERROR_STATUS),
  'client_closed',
  'upstream_cut',
]);

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
const KEY_STATES = ['active', 'draining', 'disabled', 'failed'] as const;

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** The catalog id of a model (aliases resolve), or `other`; empty when there is none. */
export function modelLabel(model: string | undefined): string {
  if (!model) return '';
  return resolveModel(model)?.id ?? 'other';
}

/** `2xx`, `4xx`, `5xx`, or `stream_error` for streams that failed after a 200, `client_closed`. */
function statusClass(r: ExchangeRecord): string {
  if (r.outcome === 'stream_error' || r.outcome === 'upstream_cut') return 'stream_error';
  if (r.outcome === 'client_closed') return 'client_closed';
  return r.status === undefined ? 'none' : `${Math.floor(r.status / 100)}xx`;
}

/** The error type of an exchange, from a bounded set (`other` beyond it); empty for success. */
export function errorTypeLabel(r: ExchangeRecord): string {
  const type = r.errorType ?? (r.outcome === 'upstream_cut' ? r.outcome : undefined);
  if (!type) return '';
  return KNOWN_ERROR_TYPES.has(type) ? type : 'other';
}

/** True when the exchange counts as a server error for the 5xx alert (5xx status or a failed stream). */
export function isServerError(r: ExchangeRecord): boolean {
  return (r.status !== undefined && r.status >= 500) || statusClass(r) === 'stream_error';
}

/**
 * The label value of a customer in `hashed` mode: `c_` and the first 12 hex
 * digits of its SHA-256, stable across replicas and restarts, so a dashboard
 * can follow one customer without the customer id leaving the gateway.
 */
export function hashedCustomer(customer: string): string {
  return `c_${hash('sha256', customer, 'hex').slice(0, 12)}`;
}

/**
 * Decides the customer label value. In `top` mode the spend of every customer
 * seen is tracked (bounded to 10 000 customers; the lowest half is forgotten
 * beyond that) and the top N by spend keep their own label.
 */
export class CustomerLabels {
  readonly #o: MetricsLabelOptions;
  readonly #spend = new Map<string, number>();
  #top = new Set<string>();
  readonly #list: Set<string>;

  constructor(o: MetricsLabelOptions) {
    this.#o = o;
    this.#list = new Set(o.customers);
  }

  /** Adds spend (micro-dollars) and returns the label value to use for `customer`. */
  label(customer: string | undefined, micros = 0): string {
    if (!customer) return '';
    const { customerLabel, topCustomers } = this.#o;
    if (customerLabel === 'off') return 'other';
    if (customerLabel === 'list') return this.#list.has(customer) ? customer : 'other';
    if (customerLabel === 'hashed') {
      const top = this.#topLabel(customer, micros, topCustomers);
      return top === 'other' ? top : hashedCustomer(customer);
    }
    return this.#topLabel(customer, micros, topCustomers);
  }

  #topLabel(customer: string, micros: number, topCustomers: number): string {
    const spent = (this.#spend.get(customer) ?? 0) + micros;
    this.#spend.set(customer, spent);
    if (this.#spend.size > 10_000) this.#forget();
    if (!this.#top.has(customer)) {
      if (this.#top.size < topCustomers) this.#top.add(customer);
      else if (topCustomers > 0 && spent > this.#minTop()) this.#recompute();
    }
    return this.#top.has(customer) ? customer : 'other';
  }

  /** Whether `customer` currently has its own label value. */
  has(customer: string): boolean {
    if (this.#o.customerLabel === 'list') return this.#list.has(customer);
    return (this.#o.customerLabel === 'top' || this.#o.customerLabel === 'hashed') && this.#top.has(customer);
  }

  #minTop(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const c of this.#top) min = Math.min(min, this.#spend.get(c) ?? 0);
    return min;
  }

  #recompute(): void {
    const sorted = [...this.#spend.entries()].sort((a, b) => b[1] - a[1]);
    this.#top = new Set(sorted.slice(0, this.#o.topCustomers).map(([c]) => c));
  }

  #forget(): void {
    const sorted = [...this.#spend.entries()].sort((a, b) => b[1] - a[1]);
    for (const [c] of sorted.slice(5_000)) if (!this.#top.has(c)) this.#spend.delete(c);
  }
}

export class GantryMetrics {
  readonly registry = new Registry();
  readonly customers: CustomerLabels;
  readonly #m = new Map<string, AnyMetric>();
  #lastLedger?: LedgerEvent;
  #unsubscribe: Array<() => void> = [];

  constructor(o: MetricsLabelOptions) {
    this.customers = new CustomerLabels(o);
    for (const def of METRICS as readonly MetricDef[]) {
      const common = {
        name: def.name,
        help: `${def.help} (${def.unit})`,
        labelNames: [...def.labels],
        registers: [this.registry],
      };
      const metric =
        def.type === 'counter'
          ? new Counter(common)
          : def.type === 'gauge'
            ? new Gauge(common)
            : new Histogram({ ...common, buckets: BUCKETS[def.name as MetricName] ?? [] });
      this.#m.set(def.name, metric);
    }
    const h = (name: MetricName) => new FastHistogram(this.histogram(name), BUCKETS[name] ?? []);
    this.#fast = {
      requests: new FastCounter(this.counter('gantry_requests_total')),
      decisions: new FastCounter(this.counter('gantry_decisions_total')),
      cost: new FastCounter(this.counter('gantry_cost_usd_total')),
      overhead: h('gantry_overhead_seconds'),
      duration: h('gen_ai_client_operation_duration_seconds'),
      ttft: h('gen_ai_server_time_to_first_token_seconds'),
      tokens: h('gen_ai_client_token_usage'),
      tpot: h('gen_ai_server_time_per_output_token_seconds'),
    };
  }

  /** The per-request series, updated without prom-client's label hashing (series.ts). */
  readonly #fast: {
    requests: FastCounter;
    decisions: FastCounter;
    cost: FastCounter;
    overhead: FastHistogram;
    duration: FastHistogram;
    ttft: FastHistogram;
    tokens: FastHistogram;
    tpot: FastHistogram;
  };

  counter(name: MetricName): Counter<string> {
    return this.#m.get(name) as Counter<string>;
  }
  gauge(name: MetricName): Gauge<string> {
    return this.#m.get(name) as Gauge<string>;
  }
  histogram(name: MetricName): Histogram<string> {
    return this.#m.get(name) as Histogram<string>;
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Records one finished exchange. Never throws on odd data; bounded labels only. */
  record(r: ExchangeRecord): void {
    if (r.route === 'unmatched' && r.error?.code === 'route_not_found') return;
    const client = r.client?.name ?? '';
    const model = modelLabel(r.model);
    const status = r.status;
    const statusLabel = status !== undefined && status >= 100 && status <= 599 ? String(status) : '';
    const errorType = errorTypeLabel(r);
    const route = r.route;
    const sc = statusClass(r);
    const fast = this.#fast;
    fast.requests.inc([client, model, route, statusLabel, sc, errorType], () => ({
      client,
      model,
      route,
      status: statusLabel,
      status_class: sc,
      error_type: errorType,
    }));
    // Which platform served (docs/platforms.md): a bounded set (configured environments, three platforms).
    if (r.upstream.platform !== undefined) {
      this.counter('gantry_platform_requests_total').inc({
        environment: r.client?.environment ?? '',
        platform: r.upstream.platform,
        region: r.upstream.region ?? '',
        status_class: sc,
      });
    }
    if (status === 401 || status === 403) {
      const source = r.error ? 'gateway' : 'upstream';
      this.counter('gantry_auth_failures_total').inc({ source, status: String(status) });
    }

    const t = r.timings;
    const finished = t.finished;
    if (finished !== undefined) {
      const upstreamMs =
        t.upstreamSent !== undefined && t.upstreamEnded !== undefined ? t.upstreamEnded - t.upstreamSent : 0;
      const overhead = Math.max(0, finished - upstreamMs) / 1000;
      fast.overhead.observe([route], () => ({ route }), overhead);
    }

    for (const d of r.decisions) {
      fast.decisions.inc([d.stage, d.action], () => ({ stage: d.stage, action: d.action }));
      switch (d.action) {
        case 'retried':
          this.counter('gantry_retries_total').inc({ client, model });
          break;
        case 'failed_over':
          this.counter('gantry_failovers_total').inc({ client, model });
          break;
        case 'degraded':
          this.counter('gantry_degraded_responses_total').inc({ client, model });
          break;
        case 'shed':
          this.counter('gantry_shed_total').inc({ client });
          break;
        case 'rate_limited':
          this.counter('gantry_rate_limited_total').inc({ client, rule: d.rule ?? '' });
          break;
        case 'budget_exceeded':
          this.counter('gantry_budget_rejections_total').inc({ client, rule: d.rule ?? '' });
          break;
      }
    }

    const micros = r.cost?.micros ?? 0;
    const customer = this.customers.label(r.customer, micros);
    if (r.cost && micros > 0) {
      fast.cost.inc([client, customer, model], () => ({ client, customer, model }), micros / 1e6);
    }

    if (route !== 'messages') return;
    if (r.usage?.source === 'estimated') {
      this.counter('gantry_usage_estimated_total').inc({ client, model, outcome: r.outcome });
    }
    const genai = () => ({
      gen_ai_system: 'anthropic',
      gen_ai_operation_name: 'chat',
      gen_ai_request_model: model,
      client,
    });
    const series = [client, model];
    if (finished !== undefined) {
      const responseModel = r.cost?.model ?? model;
      fast.duration.observe(
        [client, model, responseModel, errorType],
        () => ({ ...genai(), gen_ai_response_model: responseModel, error_type: errorType }),
        finished / 1000,
      );
    }
    if (r.ttftMs !== undefined && status !== undefined && status < 400) {
      fast.ttft.observe(series, genai, r.ttftMs / 1000);
    }
    if (r.usage) {
      const usage = r.usage;
      const tokens = (type: string, n: number) =>
        fast.tokens.observe([client, model, type], () => ({ ...genai(), gen_ai_token_type: type }), n);
      tokens('input', usage.inputTokens);
      tokens('output', usage.outputTokens);
      tokens('cache_read', usage.cacheReadInputTokens);
      tokens('cache_creation', usage.cacheCreationInputTokens);
      const first = t.firstByte;
      const ended = t.upstreamEnded;
      if (usage.outputTokens > 1 && first !== undefined && ended !== undefined && ended > first) {
        fast.tpot.observe(series, genai, (ended - first) / 1000 / (usage.outputTokens - 1));
      }
    }
  }

  onBreaker(e: BreakerEvent): void {
    this.gauge('gantry_breaker_state').set(
      { key: e.key, model: modelLabel(e.model) || e.model },
      BREAKER_VALUE[e.to],
    );
    this.counter('gantry_breaker_transitions_total').inc({ to: e.to });
  }

  onUpstreamKey(e: UpstreamKeyEvent): void {
    const g = this.gauge('gantry_upstream_key_state');
    for (const state of KEY_STATES) {
      g.set({ environment: e.environment, key: e.keyId, state }, state === e.state ? 1 : 0);
    }
  }

  onBudget(e: BudgetEvent): void {
    // Customer scopes only for customers that have their own label (bounded).
    if (e.scope.startsWith('customer:') && !this.customers.has(e.scope.slice('customer:'.length))) return;
    const labels = { scope: e.scope, period: e.period };
    this.gauge('gantry_budget_used_ratio').set(labels, e.limitMicros > 0 ? e.spentMicros / e.limitMicros : 0);
    this.gauge('gantry_budget_remaining_usd').set(labels, Math.max(0, e.limitMicros - e.spentMicros) / 1e6);
  }

  /** Ledger events carry cumulative `written` / `dropped` counts since start; counters add the increase. */
  onLedger(e: LedgerEvent): void {
    const last = this.#lastLedger;
    const delta = (now: number, before: number | undefined) =>
      before === undefined || now < before ? now : now - before;
    this.gauge('gantry_ledger_queue_depth').set(e.queued);
    this.gauge('gantry_ledger_store_up').set(e.storeUp ? 1 : 0);
    const written = delta(e.written, last?.written);
    const dropped = delta(e.dropped, last?.dropped);
    if (written > 0) this.counter('gantry_ledger_rows_written_total').inc(written);
    if (dropped > 0) this.counter('gantry_ledger_rows_dropped_total').inc(dropped);
    const spilled = delta(e.spilled ?? 0, last?.spilled ?? 0);
    if (spilled > 0) this.counter('gantry_ledger_rows_spilled_total').inc(spilled);
    this.#lastLedger = e;
  }

  onLimitsStore(e: LimitsStoreEvent): void {
    this.gauge('gantry_limits_store_up').set(e.up ? 1 : 0);
  }

  onInvariant(e: InvariantEvent): void {
    this.counter('gantry_invariant_violations_total').inc({ rule: e.rule });
  }

  /** Subscribes to a gateway's lifecycle events; `close()` unsubscribes. */
  subscribe(events: GatewayEvents): void {
    this.#unsubscribe.push(
      events.breaker.subscribe((e) => this.onBreaker(e)),
      events.upstreamKey.subscribe((e) => this.onUpstreamKey(e)),
      events.budget.subscribe((e) => this.onBudget(e)),
      events.ledger.subscribe((e) => this.onLedger(e)),
      events.limitsStore.subscribe((e) => this.onLimitsStore(e)),
      events.invariant.subscribe((e) => this.onInvariant(e)),
      events.rollout.subscribe((e) =>
        this.counter('gantry_rollout_decisions_total').inc({ rollout: e.rollout, action: e.action }),
      ),
    );
  }

  close(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
  }
}
