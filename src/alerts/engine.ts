/**
 * The alert engine (OBS-5, COST-3): windows fed by finished exchanges and the
 * lifecycle channels, rules evaluated on a timer, states pending → firing →
 * resolved, one notification per transition, channels delivered in the
 * background, history kept.
 *
 * Windows are rings of counting buckets (`alerts.bucket_ms` wide) per scope
 * value (`overall`, each client, each model): requests, server errors (5xx
 * and failed streams), 429s and auth failures (401/403 answers, plus upstream
 * keys taken out). Latency p99 comes from the shared sliding-window HDR
 * histograms (`LatencyWindows`); daily cost from the last `channels.budget`
 * event of each budget scope (reset at UTC midnight).
 *
 * Transitions: a rule instance whose value is above a threshold goes pending;
 * once it has held for `for_ms` it fires with that severity (a `for_ms` of 0
 * fires at once). A change of severity while firing is notified (with the
 * previous severity); dropping below both thresholds resolves it (notified,
 * to the channels that took the peak severity). Pending that clears is
 * forgotten silently. Nothing is sent twice for the same state.
 */
import type { Logger } from 'pino';
import { openSecret, type SecretHandle } from '../config/secrets.ts';
import type { BudgetEvent, GatewayEvents, UpstreamKeyEvent } from '../observe/events.ts';
import { type GantryMetrics, isServerError, modelLabel } from '../observe/metrics.ts';
import type { LatencyWindows } from '../observe/stats.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';
import type { SecretLookup } from '../pipeline/stage.ts';
import { type AlertRecord, Channel, type DeliveryResult, type Notification } from './channels.ts';
import { type AlertRule, type AlertsConfig, METRIC_UNITS, type Severity } from './config.ts';
import { AlertHistory, type HistoryEntry } from './history.ts';

interface Counts {
  total: number;
  server: number;
  r429: number;
  auth: number;
}

interface Bucket extends Counts {
  start: number;
}

const zero = (): Counts => ({ total: 0, server: 0, r429: 0, auth: 0 });

/** A ring of counting buckets for one scope value. */
class Window {
  readonly #buckets: Bucket[] = [];
  readonly #width: number;
  readonly #size: number;

  constructor(width: number, size: number) {
    this.#width = width;
    this.#size = size;
  }

  add(now: number, c: Partial<Counts>): void {
    const start = now - (now % this.#width);
    const i = Math.floor(start / this.#width) % this.#size;
    let b = this.#buckets[i];
    if (!b || b.start !== start) {
      b = { start, ...zero() };
      this.#buckets[i] = b;
    }
    b.total += c.total ?? 0;
    b.server += c.server ?? 0;
    b.r429 += c.r429 ?? 0;
    b.auth += c.auth ?? 0;
  }

  sum(now: number, windowMs: number): Counts {
    const current = now - (now % this.#width);
    const slots = Math.min(this.#size, Math.max(1, Math.ceil(windowMs / this.#width)));
    const from = current - (slots - 1) * this.#width;
    const out = zero();
    for (const b of this.#buckets) {
      if (!b || b.start < from || b.start > now) continue;
      out.total += b.total;
      out.server += b.server;
      out.r429 += b.r429;
      out.auth += b.auth;
    }
    return out;
  }
}

interface Instance {
  record: AlertRecord;
  /** ms on the engine clock when the condition started holding. */
  pendingSinceMs?: number;
}

export interface AlertEngineOptions {
  config: AlertsConfig;
  /** The gateway's lifecycle events: budgets and upstream keys feed rules (omitted in unit tests). */
  events?: GatewayEvents;
  /** Gateway secrets (unused for channel refs: the engine opens those itself with openSecret). */
  secrets?: SecretLookup;
  logger: Logger;
  stats: LatencyWindows;
  metrics?: GantryMetrics;
  now?: () => number;
  /** Waits between delivery attempts (tests shorten it). */
  sleep?(ms: number): Promise<void>;
  /** Environment for `env:` channel references (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface AlertsView {
  source: string;
  evaluated_at: string | null;
  active: AlertRecord[];
  recent: HistoryEntry[];
  rules: readonly AlertRule[];
  /** The unit of each metric's values and thresholds. */
  units: typeof METRIC_UNITS;
  channels: Array<{ name: string; type: string; min_severity: Severity }>;
}

const MAX_SCOPES = 1_000;

export class AlertEngine {
  readonly config: AlertsConfig;
  readonly history: AlertHistory;
  readonly channels: Channel[];
  readonly #o: AlertEngineOptions;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();
  readonly #budgets = new Map<string, BudgetEvent>();
  readonly #instances = new Map<string, Instance>();
  readonly #handles = new Map<string, SecretHandle>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #chains = new Map<string, Promise<unknown>>();
  /** The history entry of each notification, to add its deliveries to. */
  readonly #entries = new WeakMap<Notification, HistoryEntry>();
  readonly #needClient: boolean;
  readonly #needModel: boolean;
  readonly #bucketCount: number;
  #timer?: NodeJS.Timeout;
  #evaluatedAt?: number;
  #unsubscribe: Array<() => void> = [];

  constructor(o: AlertEngineOptions) {
    this.#o = o;
    this.config = o.config;
    this.#now = o.now ?? Date.now;
    this.history = new AlertHistory(o.config.historySize);
    const counted = o.config.rules.filter((r) => r.metric !== 'budget_daily' && r.metric !== 'latency_p99');
    this.#needClient = counted.some((r) => r.scope === 'client');
    this.#needModel = counted.some((r) => r.scope === 'model');
    const longest = Math.max(o.config.bucketMs, ...counted.map((r) => r.windowMs));
    this.#bucketCount = Math.ceil(longest / o.config.bucketMs) + 1;
    this.channels = o.config.channels.map(
      (c) =>
        new Channel(c, {
          attempts: o.config.deliveryAttempts,
          backoffMs: o.config.deliveryBackoffMs,
          timeoutMs: o.config.deliveryTimeoutMs,
          secret: (spec) => this.#handles.get(spec)?.value(),
          logger: o.logger,
          sleep: o.sleep,
          onOutcome: (channel, outcome) =>
            o.metrics?.counter('gantry_alert_notifications_total').inc({ channel, outcome }),
        }),
    );
  }

  /** Opens channel secrets and the history store, subscribes to channels, starts the evaluation timer. */
  async start(options: { timer?: boolean } = {}): Promise<void> {
    const specs = new Set<string>();
    for (const c of this.config.channels) {
      if (c.url) specs.add(c.url);
      if (c.routingKey) specs.add(c.routingKey);
    }
    for (const spec of specs) {
      const handle = openSecret(spec, { env: this.#o.env, logger: this.#o.logger });
      this.#handles.set(spec, handle);
    }
    await Promise.all([...this.#handles.values()].map((h) => h.ready));
    for (const [spec, h] of this.#handles) {
      if (h.value() === undefined)
        this.#o.logger.warn({ secret: spec, problem: h.problem() }, 'alert channel secret does not resolve');
    }
    if (this.config.historyDb) await this.history.openDb(this.config.historyDb);
    const events = this.#o.events;
    if (events) {
      this.#unsubscribe.push(
        events.budget.subscribe((e) => this.onBudget(e)),
        events.upstreamKey.subscribe((e) => this.onUpstreamKey(e)),
      );
    }
    if (options.timer !== false) {
      this.#timer = setInterval(() => this.evaluate(), this.config.evaluateEveryMs);
      this.#timer.unref();
    }
  }

  /** Counts one finished exchange into the windows (request path: in memory, no I/O). */
  record(ex: ExchangeRecord): void {
    if (ex.route === 'unmatched') return;
    const status = ex.status;
    const c: Counts = {
      total: 1,
      server: isServerError(ex) ? 1 : 0,
      r429: status === 429 ? 1 : 0,
      auth: status === 401 || status === 403 ? 1 : 0,
    };
    const now = this.#now();
    this.#window('overall').add(now, c);
    if (this.#needClient && ex.client) this.#window(`client:${ex.client.name}`).add(now, c);
    const model = modelLabel(ex.model);
    if (this.#needModel && model) this.#window(`model:${model}`).add(now, c);
  }

  onBudget(e: BudgetEvent): void {
    if (e.period !== 'daily' || typeof e.scope !== 'string') return;
    if (!this.#budgets.has(e.scope) && this.#budgets.size >= MAX_SCOPES) return;
    this.#budgets.set(e.scope, e);
  }

  /** An upstream key taken out (failed / disabled) counts as an auth failure. */
  onUpstreamKey(e: UpstreamKeyEvent): void {
    if (e.state === 'failed' || e.state === 'disabled') this.#window('overall').add(this.#now(), { auth: 1 });
  }

  /** Evaluates every rule now; returns the notifications produced (already queued for delivery). */
  evaluate(): Notification[] {
    const now = this.#now();
    this.#evaluatedAt = now;
    const out: Notification[] = [];
    for (const rule of this.config.rules) {
      const seen = new Set<string>();
      for (const [scopeValue, value, threshold] of this.#values(rule, now)) {
        const key = `${rule.id}/${scopeValue}`;
        seen.add(key);
        const n = this.#step(rule, key, scopeValue, value, threshold, now);
        if (n) out.push(n);
      }
      // Instances whose scope has no data any more resolve as "no longer above".
      for (const [key, inst] of this.#instances) {
        if (inst.record.rule !== rule.id || seen.has(key)) continue;
        const n = this.#step(rule, key, inst.record.scopeValue, undefined, inst.record.threshold, now);
        if (n) out.push(n);
      }
    }
    this.#updateGauge();
    for (const n of out) this.#deliver(n);
    return out;
  }

  /** Active alerts (pending and firing), recent transitions, rules and channels. */
  view(): AlertsView {
    return {
      source: this.config.source,
      evaluated_at: this.#evaluatedAt !== undefined ? new Date(this.#evaluatedAt).toISOString() : null,
      active: [...this.#instances.values()].map((i) => i.record),
      recent: this.history.recent(100),
      rules: this.config.rules,
      units: METRIC_UNITS,
      channels: this.config.channels.map((c) => ({
        name: c.name,
        type: c.type,
        min_severity: c.minSeverity,
      })),
    };
  }

  /** Sends a test alert through every channel and waits for the outcome of each. */
  async sendTest(): Promise<DeliveryResult[]> {
    const at = new Date(this.#now()).toISOString();
    const n: Notification = {
      kind: 'test',
      source: this.config.source,
      at,
      alert: {
        key: 'gantry-test/overall',
        rule: 'gantry-test',
        metric: 'error_rate_5xx',
        scope: 'overall',
        scopeValue: 'overall',
        status: 'firing',
        severity: 'warning',
        peakSeverity: 'warning',
        value: 0,
        threshold: 0,
        unit: '',
        summary: `Test alert from Gantry (${this.config.source}): channels are wired correctly.`,
        firedAt: at,
        updatedAt: at,
      },
    };
    return Promise.all(this.channels.map((c) => c.send(n)));
  }

  /** Resolves once every delivery started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    // Give in-flight deliveries a moment; they never hold the shutdown for long.
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 2_000).unref())]);
    for (const h of this.#handles.values()) h.close();
    this.history.close();
  }

  #window(scope: string): Window {
    let w = this.#windows.get(scope);
    if (!w) {
      if (this.#windows.size >= MAX_SCOPES) scope = 'overall';
      w = this.#windows.get(scope) ?? new Window(this.config.bucketMs, this.#bucketCount);
      this.#windows.set(scope, w);
    }
    return w;
  }

  /** [scope value, current value or undefined (no data), threshold used for display]. */
  *#values(rule: AlertRule, now: number): Generator<[string, number | undefined, number]> {
    const display = rule.warning ?? rule.critical ?? 0;
    if (rule.metric === 'budget_daily') {
      const today = new Date(now).toISOString().slice(0, 10);
      for (const [scope, e] of this.#budgets) {
        const day = new Date(e.at).toISOString().slice(0, 10);
        const pct = e.limitMicros > 0 ? (e.spentMicros / e.limitMicros) * 100 : 0;
        yield [scope, day === today ? pct : undefined, display];
      }
      return;
    }
    const prefix = rule.scope === 'overall' ? undefined : `${rule.scope}:`;
    const scopes = prefix ? [...this.#windowsOrStats(rule, prefix)] : ['overall'];
    for (const scopeKey of scopes) {
      const scopeValue = prefix ? scopeKey.slice(prefix.length) : 'overall';
      if (rule.metric === 'latency_p99') {
        const filter =
          rule.scope === 'client'
            ? { client: scopeValue }
            : rule.scope === 'model'
              ? { model: scopeValue }
              : {};
        const q = this.#o.stats.query(filter, rule.windowMs).latency;
        const ok = q.count > 0 && q.count >= rule.minRequests && q.p99_ms !== null;
        yield [scopeValue, ok ? q.p99_ms! : undefined, display];
        continue;
      }
      const c = this.#windows.get(scopeKey)?.sum(now, rule.windowMs) ?? zero();
      if (rule.metric === 'error_rate_5xx') {
        const ok = c.total > 0 && c.total >= rule.minRequests;
        yield [scopeValue, ok ? (c.server / c.total) * 100 : undefined, display];
      } else if (rule.metric === 'rate_429') {
        yield [scopeValue, (c.r429 / rule.windowMs) * 60_000, display];
      } else if (rule.metric === 'auth_failures') {
        yield [scopeValue, c.auth, display];
      }
    }
  }

  *#windowsOrStats(rule: AlertRule, prefix: string): Generator<string> {
    if (rule.metric !== 'latency_p99') {
      for (const k of this.#windows.keys()) if (k.startsWith(prefix)) yield k;
      return;
    }
    const snap = this.#o.stats.snapshot(rule.windowMs);
    const names = Object.keys(rule.scope === 'client' ? snap.by_client : snap.by_model);
    for (const n of names) yield prefix + n;
  }

  #level(rule: AlertRule, value: number | undefined): Severity | undefined {
    if (value === undefined) return undefined;
    if (rule.critical !== null && value > rule.critical) return 'critical';
    if (rule.warning !== null && value > rule.warning) return 'warning';
    return undefined;
  }

  #step(
    rule: AlertRule,
    key: string,
    scopeValue: string,
    value: number | undefined,
    _display: number,
    now: number,
  ): Notification | undefined {
    const level = this.#level(rule, value);
    const inst = this.#instances.get(key);
    const iso = new Date(now).toISOString();
    if (!inst) {
      if (!level) return undefined;
      const record: AlertRecord = {
        key,
        rule: rule.id,
        metric: rule.metric,
        scope: rule.scope,
        scopeValue,
        status: 'pending',
        severity: level,
        peakSeverity: level,
        value: value!,
        threshold: (level === 'critical' ? rule.critical : rule.warning) ?? 0,
        unit: METRIC_UNITS[rule.metric],
        summary: '',
        pendingSince: iso,
        updatedAt: iso,
      };
      record.summary = summary(record);
      const created: Instance = { record, pendingSinceMs: now };
      this.#instances.set(key, created);
      return rule.forMs <= 0 ? this.#fire(created, rule, level, now) : undefined;
    }
    const r = inst.record;
    r.updatedAt = iso;
    if (value !== undefined) r.value = value;
    if (r.status === 'pending') {
      if (!level) {
        this.#instances.delete(key);
        return undefined;
      }
      r.severity = level;
      if (now - (inst.pendingSinceMs ?? now) >= rule.forMs) return this.#fire(inst, rule, level, now);
      return undefined;
    }
    // firing
    if (!level) {
      this.#instances.delete(key);
      r.status = 'resolved';
      r.resolvedAt = iso;
      r.summary = summary(r);
      return this.#notify({ kind: 'resolved', alert: { ...r }, source: this.config.source, at: iso });
    }
    if (level !== r.severity) {
      const previous = r.severity;
      r.severity = level;
      if (level === 'critical') r.peakSeverity = 'critical';
      r.threshold = (level === 'critical' ? rule.critical : rule.warning) ?? 0;
      r.summary = summary(r);
      return this.#notify({
        kind: 'firing',
        alert: { ...r },
        previousSeverity: previous,
        source: this.config.source,
        at: iso,
      });
    }
    return undefined;
  }

  #fire(inst: Instance, rule: AlertRule, level: Severity, now: number): Notification {
    const r = inst.record;
    const iso = new Date(now).toISOString();
    r.status = 'firing';
    r.severity = level;
    r.peakSeverity = level;
    r.firedAt = iso;
    r.threshold = (level === 'critical' ? rule.critical : rule.warning) ?? 0;
    r.summary = summary(r);
    return this.#notify({ kind: 'firing', alert: { ...r }, source: this.config.source, at: iso });
  }

  #notify(n: Notification): Notification {
    this.#entries.set(n, this.history.add(n.kind, n.alert, n.at, n.previousSeverity));
    return n;
  }

  /** Queues `n` on each channel that takes it; a channel sends in order (a resolve never overtakes its firing). */
  #deliver(n: Notification): void {
    for (const c of this.channels) {
      if (!c.accepts(n)) continue;
      const before = this.#chains.get(c.name) ?? Promise.resolve();
      const entry = this.#entries.get(n);
      const p: Promise<unknown> = before
        .then(() => c.send(n))
        .then((result) => {
          if (entry) this.history.delivered(entry, result, new Date(this.#now()).toISOString());
        });
      this.#chains.set(c.name, p);
      this.#inflight.add(p);
      void p.finally(() => {
        this.#inflight.delete(p);
        if (this.#chains.get(c.name) === p) this.#chains.delete(c.name);
      });
    }
  }

  #updateGauge(): void {
    const g = this.#o.metrics?.gauge('gantry_alerts_firing');
    if (!g) return;
    g.reset();
    for (const { record } of this.#instances.values()) {
      if (record.status === 'firing') g.inc({ rule: record.rule, severity: record.severity });
    }
  }
}

const LABEL: Record<string, string> = {
  error_rate_5xx: '5xx error rate',
  latency_p99: 'p99 latency',
  rate_429: '429 rate',
  budget_daily: 'daily spend',
  auth_failures: 'auth failures (401/403)',
};

function summary(r: AlertRecord): string {
  const where = r.scope === 'overall' && r.metric !== 'budget_daily' ? '' : ` for ${r.scopeValue}`;
  const value = Math.round(r.value * 100) / 100;
  if (r.status === 'resolved') return `${LABEL[r.metric]}${where} back to normal (${value} ${r.unit})`;
  return `${LABEL[r.metric]}${where} is ${value} ${r.unit} (${r.severity} above ${r.threshold} ${r.unit})`;
}
