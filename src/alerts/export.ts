/**
 * Exports for teams that alert and graph in their own Prometheus / Grafana:
 *
 * - `prometheusRules(rules)`: a Prometheus alerting-rules file equivalent to
 *   the built-in engine's rules (same thresholds, windows, `for` and minimum
 *   volume, same scopes), two alerts per rule (`severity: warning` and
 *   `severity: critical`; inhibit warning by critical in Alertmanager).
 *   Passes `promtool check rules`.
 * - `grafanaDashboard()`: a dashboard over the exported metrics only (a test
 *   checks every series it references is in the metric table).
 */
import { stringify } from 'yaml';
import type { MetricName } from '../observe/metric-names.ts';
import { type AlertRule, METRIC_UNITS, type Severity } from './config.ts';

/** Milliseconds as a Prometheus duration (`90s`, `5m`, `1d`). */
export function promDuration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3_600 === 0) return `${s / 3_600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

const m = (name: MetricName): string => name;

/** `sum(` / `sum by (client) (` for a scope, with the label the metric uses for it. */
function by(scope: AlertRule['scope'], modelLabel = 'model', extra: string[] = []): string {
  const labels = [...extra, ...(scope === 'client' ? ['client'] : scope === 'model' ? [modelLabel] : [])];
  return labels.length ? `sum by (${labels.join(', ')})` : 'sum';
}

/** The PromQL value of a rule (in the rule's unit), and its minimum-volume guard. */
function valueExpr(rule: AlertRule): { value: string; guard?: string } {
  const w = promDuration(rule.windowMs);
  const requests = m('gantry_requests_total');
  switch (rule.metric) {
    case 'error_rate_5xx': {
      const s = by(rule.scope);
      const total = `${s} (increase(${requests}{route!="unmatched"}[${w}]))`;
      return {
        value: `100 * ${s} (increase(${requests}{route!="unmatched",status_class=~"5xx|stream_error"}[${w}])) / ${total}`,
        guard: rule.minRequests > 0 ? `${total} >= ${rule.minRequests}` : undefined,
      };
    }
    case 'latency_p99': {
      const hist = m('gen_ai_client_operation_duration_seconds');
      const s = by(rule.scope, 'gen_ai_request_model', ['le']);
      const c = by(rule.scope, 'gen_ai_request_model');
      return {
        value: `1000 * histogram_quantile(0.99, ${s} (rate(${hist}_bucket[${w}])))`,
        guard:
          rule.minRequests > 0 ? `${c} (increase(${hist}_count[${w}])) >= ${rule.minRequests}` : undefined,
      };
    }
    case 'rate_429':
      return {
        value: `${by(rule.scope)} (increase(${requests}{status="429"}[${w}])) * 60 / ${rule.windowMs / 1000}`,
      };
    case 'budget_daily':
      return { value: `100 * max by (scope) (${m('gantry_budget_used_ratio')}{period="daily"})` };
    case 'auth_failures':
      // Auth failures carry no client or model label (a bad key has no client): always overall.
      return { value: `sum(increase(${m('gantry_auth_failures_total')}[${w}]))` };
  }
}

const pascal = (id: string): string =>
  id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');

const DESCRIBE: Record<AlertRule['metric'], string> = {
  error_rate_5xx: '5xx error rate',
  latency_p99: 'p99 latency',
  rate_429: '429 rate',
  budget_daily: 'daily spend',
  auth_failures: 'auth failures (401/403)',
};

/** The Prometheus rule-file document for `rules`. */
function prometheusRulesDocument(rules: readonly AlertRule[]): {
  groups: Array<{ name: string; rules: Array<Record<string, unknown>> }>;
} {
  const out: Array<Record<string, unknown>> = [];
  for (const rule of rules) {
    const { value, guard } = valueExpr(rule);
    for (const severity of ['warning', 'critical'] as Severity[]) {
      const threshold = severity === 'warning' ? rule.warning : rule.critical;
      if (threshold === null) continue;
      const unit = METRIC_UNITS[rule.metric];
      const expr = guard ? `(${value} > ${threshold}) and (${guard})` : `${value} > ${threshold}`;
      const where =
        rule.scope === 'client' ? ' for {{ $labels.client }}' : rule.scope === 'model' ? ' for a model' : '';
      out.push({
        alert: `Gantry${pascal(rule.id)}${severity === 'warning' ? 'Warning' : 'Critical'}`,
        expr,
        ...(rule.forMs > 0 ? { for: promDuration(rule.forMs) } : {}),
        labels: { severity, gantry_rule: rule.id, gantry_scope: rule.scope },
        annotations: {
          summary: `${DESCRIBE[rule.metric]}${where} above ${threshold} ${unit}`,
          description: `Gantry ${DESCRIBE[rule.metric]} is {{ $value | printf "%.2f" }} ${unit} (${severity} threshold ${threshold} ${unit}, window ${promDuration(rule.windowMs)}).`,
        },
      });
    }
  }
  return { groups: [{ name: 'gantry', rules: out }] };
}

/** The rule file as YAML text. */
export function prometheusRules(rules: readonly AlertRule[]): string {
  return `# Gantry alerting rules, equivalent to the built-in engine (gantry alerts export --format prometheus).\n${stringify(prometheusRulesDocument(rules), { lineWidth: 0 })}`;
}

interface Panel {
  title: string;
  unit: string;
  targets: Array<{ expr: string; legend: string }>;
  type?: 'timeseries' | 'stat';
}

const RATE = '$__rate_interval';
const quantiles = (metric: string, by = '') =>
  [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket[${RATE}])))`,
    legend: `p${q * 100}${by ? ` {{${by}}}` : ''}`,
  }));

const PANELS: Panel[] = [
  {
    title: 'Request rate by client',
    unit: 'reqps',
    targets: [
      { expr: `sum by (client) (rate(${m('gantry_requests_total')}[${RATE}]))`, legend: '{{client}}' },
    ],
  },
  {
    title: 'Errors by type',
    unit: 'reqps',
    targets: [
      {
        expr: `sum by (error_type) (rate(${m('gantry_requests_total')}{error_type!=""}[${RATE}]))`,
        legend: '{{error_type}}',
      },
    ],
  },
  {
    title: '5xx error rate',
    unit: 'percentunit',
    targets: [
      {
        expr: `sum(rate(${m('gantry_requests_total')}{status_class=~"5xx|stream_error"}[${RATE}])) / sum(rate(${m('gantry_requests_total')}[${RATE}]))`,
        legend: '5xx',
      },
    ],
  },
  {
    title: 'Latency p50 / p95 / p99',
    unit: 's',
    targets: quantiles(m('gen_ai_client_operation_duration_seconds')),
  },
  {
    title: 'Time to first token p50 / p95 / p99',
    unit: 's',
    targets: quantiles(m('gen_ai_server_time_to_first_token_seconds')),
  },
  {
    title: 'Tokens by type',
    unit: 'short',
    targets: [
      {
        expr: `sum by (gen_ai_token_type) (rate(${m('gen_ai_client_token_usage')}_sum[${RATE}]))`,
        legend: '{{gen_ai_token_type}}',
      },
    ],
  },
  {
    title: 'Cost by client (USD / hour)',
    unit: 'currencyUSD',
    targets: [
      { expr: `sum by (client) (rate(${m('gantry_cost_usd_total')}[${RATE}])) * 3600`, legend: '{{client}}' },
    ],
  },
  {
    title: 'Cost by customer (USD, range)',
    unit: 'currencyUSD',
    type: 'stat',
    targets: [
      {
        expr: `sum by (customer) (increase(${m('gantry_cost_usd_total')}[$__range]))`,
        legend: '{{customer}}',
      },
    ],
  },
  {
    title: 'Budget burn (share of daily and monthly budgets)',
    unit: 'percentunit',
    targets: [{ expr: m('gantry_budget_used_ratio'), legend: '{{scope}} {{period}}' }],
  },
  {
    title: 'Breaker state (0 closed, 1 half open, 2 open)',
    unit: 'short',
    targets: [{ expr: m('gantry_breaker_state'), legend: '{{key}} {{model}}' }],
  },
  {
    title: 'Retries, failovers, degraded, shed',
    unit: 'ops',
    targets: [
      { expr: `sum(rate(${m('gantry_retries_total')}[${RATE}]))`, legend: 'retries' },
      { expr: `sum(rate(${m('gantry_failovers_total')}[${RATE}]))`, legend: 'failovers' },
      { expr: `sum(rate(${m('gantry_degraded_responses_total')}[${RATE}]))`, legend: 'degraded' },
      { expr: `sum(rate(${m('gantry_shed_total')}[${RATE}]))`, legend: 'shed' },
    ],
  },
  {
    title: 'Rate-limit and budget rejections',
    unit: 'ops',
    targets: [
      {
        expr: `sum by (client) (rate(${m('gantry_rate_limited_total')}[${RATE}]))`,
        legend: 'rate limited {{client}}',
      },
      {
        expr: `sum by (client) (rate(${m('gantry_budget_rejections_total')}[${RATE}]))`,
        legend: 'budget {{client}}',
      },
    ],
  },
  {
    title: 'Gantry overhead p50 / p95 / p99 (upstream time excluded)',
    unit: 's',
    targets: quantiles(m('gantry_overhead_seconds')),
  },
  {
    title: 'Ledger queue depth and dropped rows',
    unit: 'short',
    targets: [
      { expr: m('gantry_ledger_queue_depth'), legend: 'queued' },
      { expr: `increase(${m('gantry_ledger_rows_dropped_total')}[${RATE}])`, legend: 'dropped' },
    ],
  },
  {
    title: 'Alerts firing',
    unit: 'short',
    targets: [
      { expr: `sum by (rule, severity) (${m('gantry_alerts_firing')})`, legend: '{{rule}} {{severity}}' },
    ],
  },
];

/** A Grafana dashboard (JSON model, importable with a Prometheus data source input). */
export function grafanaDashboard(): Record<string, unknown> {
  // Grafana substitutes the data source chosen at import for this placeholder.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana placeholder, not a template
  const ds = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
  return {
    __inputs: [
      {
        name: 'DS_PROMETHEUS',
        label: 'Prometheus',
        type: 'datasource',
        pluginId: 'prometheus',
        pluginName: 'Prometheus',
      },
    ],
    title: 'Gantry',
    uid: 'gantry-overview',
    tags: ['gantry', 'anthropic', 'genai'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [] },
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      type: p.type ?? 'timeseries',
      title: p.title,
      datasource: ds,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: {},
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: ds,
        expr: t.expr,
        legendFormat: t.legend,
      })),
    })),
  };
}
