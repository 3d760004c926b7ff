/**
 * Alert channels: payload formats (generic webhook JSON, Slack incoming
 * webhook, PagerDuty Events v2) and delivery with retries and backoff.
 *
 * Delivery never blocks the request path: notifications are produced by the
 * engine's evaluation timer and sent in the background; `Channel.send`
 * resolves when the notification was delivered or given up on, and never
 * rejects. URLs and routing keys come from secret references (they are
 * credentials) and never appear in a log line.
 */
import type { Logger } from 'pino';
import type { AlertChannelConfig, AlertMetric, AlertScope, Severity } from './config.ts';

export type AlertStatus = 'pending' | 'firing' | 'resolved';

/** One alert instance: a rule applied to one scope value (`overall`, a client, a model, a budget). */
export interface AlertRecord {
  /** De-duplication key: `<rule id>/<scope value>`; stable across transitions. */
  key: string;
  rule: string;
  /** A rule's metric, or `rollout` for a rollout decision (an `event` notification). */
  metric: AlertMetric | 'rollout';
  scope: AlertScope | 'rollout';
  /** `overall`, a client name, a model id, a budget scope (`client:checkout`), or a rollout id. */
  scopeValue: string;
  status: AlertStatus;
  severity: Severity;
  /** Highest severity reached while firing (resolve notices go where the alert went). */
  peakSeverity: Severity;
  /** The value last evaluated, in the rule's unit. */
  value: number;
  threshold: number;
  unit: string;
  summary: string;
  /** ISO times. */
  pendingSince?: string;
  firedAt?: string;
  resolvedAt?: string;
  updatedAt: string;
}

/**
 * `firing` / `resolved`: a rule's transitions; `test`: `gantry alerts test`;
 * `event`: something that happened once and has no resolution (a rollout
 * decision: critical for a rollback, warning otherwise).
 */
export type NotificationKind = 'firing' | 'resolved' | 'test' | 'event';

export interface Notification {
  kind: NotificationKind;
  alert: AlertRecord;
  /** Set when a firing alert changed severity. */
  previousSeverity?: Severity;
  source: string;
  at: string;
}

/** The generic webhook body (JSON). */
function webhookPayload(n: Notification): Record<string, unknown> {
  const a = n.alert;
  return {
    version: 1,
    kind: n.kind,
    status:
      n.kind === 'resolved'
        ? 'resolved'
        : n.kind === 'test'
          ? 'test'
          : n.kind === 'event'
            ? 'event'
            : 'firing',
    dedup_key: a.key,
    rule: a.rule,
    metric: a.metric,
    scope: a.scope,
    scope_value: a.scopeValue,
    severity: a.severity,
    ...(n.previousSeverity ? { previous_severity: n.previousSeverity } : {}),
    value: a.value,
    threshold: a.threshold,
    unit: a.unit,
    summary: a.summary,
    fired_at: a.firedAt ?? null,
    resolved_at: a.resolvedAt ?? null,
    source: n.source,
    sent_at: n.at,
  };
}

const EMOJI = {
  firing: { warning: ':warning:', critical: ':rotating_light:' },
  resolved: ':white_check_mark:',
};
const COLOR = { warning: '#daa038', critical: '#d00000', resolved: '#2eb67d', test: '#439fe0' };

/** A Slack incoming-webhook message: `text` (fallback and notification) plus a colored attachment. */
function slackPayload(n: Notification): Record<string, unknown> {
  const a = n.alert;
  const head =
    n.kind === 'resolved'
      ? `${EMOJI.resolved} RESOLVED`
      : n.kind === 'test'
        ? ':test_tube: TEST'
        : n.kind === 'event'
          ? `${EMOJI.firing[a.severity]} ${a.metric.toUpperCase()}`
          : `${EMOJI.firing[a.severity]} ${a.severity.toUpperCase()}`;
  const change = n.previousSeverity ? ` (was ${n.previousSeverity})` : '';
  return {
    text: `${head}${change} [${n.source}] ${a.summary}`,
    attachments: [
      {
        color: n.kind === 'resolved' ? COLOR.resolved : n.kind === 'test' ? COLOR.test : COLOR[a.severity],
        title: `${a.rule} — ${a.scopeValue}`,
        fields: [
          { title: 'value', value: `${round(a.value)} ${a.unit}`, short: true },
          { title: 'threshold', value: `> ${a.threshold} ${a.unit}`, short: true },
          { title: 'severity', value: a.severity, short: true },
          { title: 'source', value: n.source, short: true },
        ],
        footer: `gantry alert ${a.key}`,
        ts: Math.floor(Date.parse(n.at) / 1000),
      },
    ],
  };
}

const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

/** A PagerDuty Events API v2 event: `trigger` (also for severity changes and tests) or `resolve`. */
function pagerDutyPayload(n: Notification, routingKey: string): Record<string, unknown> {
  const a = n.alert;
  if (n.kind === 'resolved') {
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: a.key };
  }
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: a.key,
    client: 'Gantry',
    payload: {
      summary: `${n.kind === 'test' ? '[TEST] ' : ''}${a.summary}`.slice(0, 1024),
      source: n.source,
      severity: a.severity,
      timestamp: n.at,
      component: 'gantry',
      group: a.scope,
      class: a.metric,
      custom_details: {
        rule: a.rule,
        scope_value: a.scopeValue,
        value: a.value,
        threshold: a.threshold,
        unit: a.unit,
        ...(n.previousSeverity ? { previous_severity: n.previousSeverity } : {}),
      },
    },
  };
}

const round = (v: number): number => Math.round(v * 100) / 100;

const SEVERITY_RANK: Record<Severity, number> = { warning: 1, critical: 2 };

export interface DeliveryOptions {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  /** Secret value by reference (URL, routing key). */
  secret(spec: string): string | undefined;
  logger: Logger;
  /** Counts outcomes (`sent`, `failed`). */
  onOutcome?(channel: string, outcome: 'sent' | 'failed'): void;
  /** Waits between attempts (tests shorten it). */
  sleep?(ms: number): Promise<void>;
}

export interface DeliveryResult {
  channel: string;
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** One configured channel. */
export class Channel {
  readonly config: AlertChannelConfig;
  readonly #o: DeliveryOptions;

  constructor(config: AlertChannelConfig, o: DeliveryOptions) {
    this.config = config;
    this.#o = o;
  }

  get name(): string {
    return this.config.name;
  }

  /** Whether this channel takes the notification (by its least severity; resolves follow the peak). */
  accepts(n: Notification): boolean {
    if (n.kind === 'test') return true;
    const sev = n.kind === 'resolved' ? n.alert.peakSeverity : n.alert.severity;
    return SEVERITY_RANK[sev] >= SEVERITY_RANK[this.config.minSeverity];
  }

  /** The request to send: URL and JSON body. Throws when a secret does not resolve. */
  request(n: Notification): { url: string; body: Record<string, unknown> } {
    const c = this.config;
    const url = c.url ? this.#o.secret(c.url) : c.type === 'pagerduty' ? PAGERDUTY_URL : undefined;
    if (!url) throw new Error(`the url reference ${c.url} does not resolve`);
    if (c.type === 'webhook') return { url, body: webhookPayload(n) };
    if (c.type === 'slack') return { url, body: slackPayload(n) };
    const key = c.routingKey ? this.#o.secret(c.routingKey) : undefined;
    if (!key) throw new Error(`the routing_key reference ${c.routingKey} does not resolve`);
    return { url, body: pagerDutyPayload(n, key) };
  }

  /** Delivers with retries (network errors, 429 and 5xx), exponential backoff. Never rejects. */
  async send(n: Notification): Promise<DeliveryResult> {
    const { attempts, backoffMs, timeoutMs, logger } = this.#o;
    const sleep = this.#o.sleep ?? defaultSleep;
    let req: { url: string; body: Record<string, unknown> };
    try {
      req = this.request(n);
    } catch (err) {
      logger.warn({ channel: this.name, problem: (err as Error).message }, 'alert channel not usable');
      this.#o.onOutcome?.(this.name, 'failed');
      return { channel: this.name, ok: false, attempts: 0, error: (err as Error).message };
    }
    const payload = JSON.stringify(req.body);
    let last: DeliveryResult = { channel: this.name, ok: false, attempts: 0 };
    for (let i = 1; i <= attempts; i++) {
      try {
        const res = await fetch(req.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'gantry-alerts' },
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        last = { channel: this.name, ok: res.ok, attempts: i, status: res.status };
        if (res.ok) {
          this.#o.onOutcome?.(this.name, 'sent');
          return last;
        }
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        const e = err as { name?: string; code?: string; cause?: { code?: string } };
        last = { channel: this.name, ok: false, attempts: i, error: e.cause?.code ?? e.code ?? e.name };
      }
      if (i < attempts) await sleep(Math.min(backoffMs * 2 ** (i - 1), 60_000));
    }
    logger.warn(
      {
        channel: this.name,
        attempts: last.attempts,
        status: last.status,
        error: last.error,
        alert: n.alert.key,
      },
      'alert delivery failed',
    );
    this.#o.onOutcome?.(this.name, 'failed');
    return last;
  }
}
