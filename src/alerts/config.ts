/**
 * The `alerts:` section of gantry.yaml: rules (default: the checklist's
 * two-level thresholds), channels and delivery. Wired into
 * src/config/schema.ts as one top-level section.
 *
 * ```yaml
 * alerts:
 *   source: gantry-prod            # shown in notifications (default: host name)
 *   evaluate_every_ms: 15000
 *   channels:
 *     - { name: ops, type: webhook, url: env:ALERT_WEBHOOK_URL }
 *     - { name: team, type: slack, url: env:SLACK_WEBHOOK_URL }
 *     - { name: oncall, type: pagerduty, routing_key: env:PD_ROUTING_KEY, min_severity: critical }
 *   rules:                          # omitted: the five default rules
 *     - { metric: error_rate_5xx, scope: client, warning: 2, critical: 10, window_ms: 600000 }
 * ```
 */
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { expected } from '../config/fields.ts';
import { parseSecretRef, SecretRefError } from '../config/refs.ts';

const ALERT_METRICS = ['error_rate_5xx', 'latency_p99', 'rate_429', 'budget_daily', 'auth_failures'] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];
export type AlertScope = 'overall' | 'client' | 'model';
export type Severity = 'warning' | 'critical';

export interface AlertRule {
  /** Unique id (default `<metric>` for overall scope, `<metric>:<scope>` otherwise). */
  id: string;
  metric: AlertMetric;
  scope: AlertScope;
  /** Fires `warning` when the value is strictly above; `null` disables the level. */
  warning: number | null;
  critical: number | null;
  windowMs: number;
  /** The condition must hold this long before the alert fires (pending meanwhile). */
  forMs: number;
  /** Requests needed in the window before a ratio or percentile is judged. */
  minRequests: number;
}

/** Units: percent for ratios, milliseconds for latency, per minute for 429s, count for auth failures. */
export const METRIC_UNITS: Record<AlertMetric, string> = {
  error_rate_5xx: '%',
  latency_p99: 'ms',
  rate_429: '/min',
  budget_daily: '% of budget',
  auth_failures: 'failures',
};

/** The checklist's alert thresholds (reference/checklist.md, "Alert thresholds"). */
export const DEFAULT_RULES: readonly AlertRule[] = [
  {
    id: 'error_rate_5xx',
    metric: 'error_rate_5xx',
    scope: 'overall',
    warning: 1,
    critical: 5,
    windowMs: 300_000,
    forMs: 60_000,
    minRequests: 20,
  },
  {
    id: 'latency_p99',
    metric: 'latency_p99',
    scope: 'overall',
    warning: 10_000,
    critical: 30_000,
    windowMs: 300_000,
    forMs: 120_000,
    minRequests: 20,
  },
  {
    id: 'rate_429',
    metric: 'rate_429',
    scope: 'overall',
    warning: 5,
    critical: 20,
    windowMs: 60_000,
    forMs: 0,
    minRequests: 0,
  },
  {
    id: 'budget_daily',
    metric: 'budget_daily',
    scope: 'overall',
    warning: 80,
    critical: 100,
    windowMs: 86_400_000,
    forMs: 0,
    minRequests: 0,
  },
  {
    id: 'auth_failures',
    metric: 'auth_failures',
    scope: 'overall',
    warning: 0,
    critical: 0,
    windowMs: 300_000,
    forMs: 0,
    minRequests: 0,
  },
];

export type ChannelType = 'webhook' | 'slack' | 'pagerduty';

export interface AlertChannelConfig {
  name: string;
  type: ChannelType;
  /** Secret reference to the URL (webhook, Slack incoming webhook, PagerDuty endpoint override). */
  url?: string;
  /** PagerDuty: secret reference to the Events v2 routing key. */
  routingKey?: string;
  /** Least severity sent to this channel (`critical`: pages only). */
  minSeverity: Severity;
}

export interface AlertsConfig {
  enabled: boolean;
  source: string;
  evaluateEveryMs: number;
  /** Width of the counting buckets of the windows. */
  bucketMs: number;
  historySize: number;
  /** SQLite file for alert history (node:sqlite); absent: memory only. */
  historyDb?: string;
  deliveryAttempts: number;
  deliveryBackoffMs: number;
  deliveryTimeoutMs: number;
  channels: readonly AlertChannelConfig[];
  rules: readonly AlertRule[];
}

const ms = (max = 2_147_483_647) =>
  z
    .int(expected('a whole number of milliseconds'))
    .min(0, { error: 'expected 0 or more milliseconds' })
    .max(max, { error: `expected at most ${max} milliseconds` });

const secretRef = z
  .string(expected('a secret reference: env:NAME, file:/path or exec:command'))
  .superRefine((value, ctx) => {
    try {
      parseSecretRef(value);
    } catch (err) {
      if (!(err instanceof SecretRefError)) throw err;
      ctx.addIssue({
        code: 'custom',
        message:
          'expected a secret reference (env:NAME, file:/path or exec:command args); webhook URLs and routing keys are secrets',
      });
    }
  });

const severity = z.enum(['warning', 'critical'], expected('warning or critical'));

const channelSchema = z
  .strictObject(
    {
      name: z.string(expected('a channel name')).min(1).optional(),
      type: z.enum(['webhook', 'slack', 'pagerduty'], expected('webhook, slack or pagerduty')),
      url: secretRef.optional(),
      routing_key: secretRef.optional(),
      min_severity: severity.default('warning'),
    },
    expected('a mapping (key: value pairs)'),
  )
  .superRefine((c, ctx) => {
    if (c.type !== 'pagerduty' && c.url === undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: `required for a ${c.type} channel` });
    if (c.type === 'pagerduty' && c.routing_key === undefined)
      ctx.addIssue({ code: 'custom', path: ['routing_key'], message: 'required for a pagerduty channel' });
    if (c.type !== 'pagerduty' && c.routing_key !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['routing_key'],
        message: 'only pagerduty channels take a routing key',
      });
  });

const threshold = z.number(expected('a number, or null to disable this level')).min(0).nullable();

const ruleSchema = z.strictObject(
  {
    id: z.string(expected('a rule id')).min(1).optional(),
    metric: z.enum(ALERT_METRICS, expected(`one of ${ALERT_METRICS.join(', ')}`)),
    scope: z.enum(['overall', 'client', 'model'], expected('overall, client or model')).default('overall'),
    warning: threshold.optional(),
    critical: threshold.optional(),
    window_ms: ms().min(1, { error: 'expected a positive window' }).optional(),
    for_ms: ms().optional(),
    min_requests: z.int(expected('a whole number')).min(0).optional(),
  },
  expected('a mapping (key: value pairs)'),
);

export const alertsSchema = z
  .strictObject(
    {
      enabled: z.boolean(expected('true or false')).default(true),
      source: z.string(expected('a name for this gateway')).min(1).optional(),
      evaluate_every_ms: ms().min(100, { error: 'expected at least 100 ms' }).default(15_000),
      bucket_ms: ms().min(100, { error: 'expected at least 100 ms' }).default(10_000),
      history_size: z.int(expected('a whole number')).min(1).max(100_000).default(500),
      history_db: z.string(expected('a file path')).min(1).optional(),
      delivery_attempts: z.int(expected('a whole number')).min(1).max(20).default(5),
      delivery_backoff_ms: ms().min(1).default(1_000),
      delivery_timeout_ms: ms().min(1).default(10_000),
      channels: z.array(channelSchema, expected('a list of channels')).default([]),
      rules: z.array(ruleSchema, expected('a list of rules')).optional(),
    },
    expected('a mapping (key: value pairs)'),
  )
  .superRefine((a, ctx) => {
    const ids = new Set<string>();
    (a.rules ?? []).forEach((r, i) => {
      const scope = r.scope ?? 'overall';
      const id = r.id ?? (scope === 'overall' ? r.metric : `${r.metric}:${scope}`);
      if (ids.has(id))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i],
          message: `duplicate rule id "${id}"; give this rule an id`,
        });
      ids.add(id);
    });
    const names = new Set<string>();
    a.channels.forEach((c, i) => {
      const name = c.name ?? `${c.type}-${i + 1}`;
      if (names.has(name))
        ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: 'duplicate channel name' });
      names.add(name);
    });
  });

export type RawAlertsConfig = z.output<typeof alertsSchema>;

/** Resolves the section: defaults filled per rule from the built-in rule of the same metric. */
export function resolveAlerts(raw: RawAlertsConfig, baseDir: string): AlertsConfig {
  type RawRule = z.output<typeof ruleSchema>;
  const given: RawRule[] = raw.rules ?? DEFAULT_RULES.map((r) => ({ metric: r.metric, scope: r.scope }));
  const rules = given.map((r): AlertRule => {
    const base = DEFAULT_RULES.find((d) => d.metric === r.metric)!;
    const scope = r.scope ?? 'overall';
    return {
      id: r.id ?? (scope === 'overall' ? r.metric : `${r.metric}:${scope}`),
      metric: r.metric,
      scope,
      warning: r.warning !== undefined ? r.warning : base.warning,
      critical: r.critical !== undefined ? r.critical : base.critical,
      windowMs: r.window_ms ?? base.windowMs,
      forMs: r.for_ms ?? base.forMs,
      minRequests: r.min_requests ?? base.minRequests,
    };
  });
  const channels = raw.channels.map(
    (c, i): AlertChannelConfig => ({
      name: c.name ?? `${c.type}-${i + 1}`,
      type: c.type,
      ...(c.url !== undefined ? { url: absolute(c.url, baseDir) } : {}),
      ...(c.routing_key !== undefined ? { routingKey: absolute(c.routing_key, baseDir) } : {}),
      minSeverity: c.min_severity,
    }),
  );
  return {
    enabled: raw.enabled,
    source: raw.source ?? hostname(),
    evaluateEveryMs: raw.evaluate_every_ms,
    bucketMs: raw.bucket_ms,
    historySize: raw.history_size,
    ...(raw.history_db !== undefined ? { historyDb: resolvePath(baseDir, raw.history_db) } : {}),
    deliveryAttempts: raw.delivery_attempts,
    deliveryBackoffMs: raw.delivery_backoff_ms,
    deliveryTimeoutMs: raw.delivery_timeout_ms,
    channels,
    rules,
  };
}

function absolute(spec: string, baseDir: string): string {
  const ref = parseSecretRef(spec);
  return ref.kind === 'file' ? `file:${resolvePath(baseDir, ref.path)}` : spec;
}
