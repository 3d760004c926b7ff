/**
 * Every metric Gantry exports, in one table: name, type, unit, labels, help.
 *
 * Names follow the OpenTelemetry GenAI semantic conventions in Prometheus form
 * where one exists (`gen_ai.client.operation.duration` →
 * `gen_ai_client_operation_duration_seconds`); the rest are `gantry_*`.
 * `docs/metrics.md` holds the same table; `src/observe/metric-names.test.ts`
 * keeps them identical. Label sets are bounded: `client` comes from config,
 * `model` from the model catalog (else `other`), `customer` only for opted-in
 * or top-N customers (else `other`), error types from a fixed list.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  /** UCUM-ish unit, as in the OTel conventions (`s`, `{token}`, `USD`, `1`). */
  readonly unit: string;
  readonly labels: readonly string[];
  readonly help: string;
}

const GENAI = ['gen_ai_system', 'gen_ai_operation_name', 'gen_ai_request_model', 'client'] as const;

export const METRICS = [
  {
    name: 'gen_ai_client_operation_duration_seconds',
    type: 'histogram',
    unit: 's',
    labels: [...GENAI, 'gen_ai_response_model', 'error_type'],
    help: 'GenAI operation duration as the client sees it (request arrival to last byte)',
  },
  {
    name: 'gen_ai_client_token_usage',
    type: 'histogram',
    unit: '{token}',
    labels: [...GENAI, 'gen_ai_token_type'],
    help: 'Tokens per request by type: input, output, cache_read, cache_creation',
  },
  {
    name: 'gen_ai_server_time_to_first_token_seconds',
    type: 'histogram',
    unit: 's',
    labels: [...GENAI],
    help: 'Time from sending the request upstream to the first body byte (streams: first event)',
  },
  {
    name: 'gen_ai_server_time_per_output_token_seconds',
    type: 'histogram',
    unit: 's',
    labels: [...GENAI],
    help: 'Time per output token after the first (decode phase)',
  },
  {
    name: 'gantry_requests_total',
    type: 'counter',
    unit: '{request}',
    labels: ['client', 'model', 'route', 'status', 'status_class', 'error_type'],
    help: 'Requests by status, status class (2xx, 4xx, 5xx, stream_error) and error type',
  },
  {
    name: 'gantry_overhead_seconds',
    type: 'histogram',
    unit: 's',
    labels: ['route'],
    help: 'Time spent in Gantry itself: request duration minus upstream time',
  },
  {
    name: 'gantry_retries_total',
    type: 'counter',
    unit: '{retry}',
    labels: ['client', 'model'],
    help: 'Upstream retries (decision `retried`)',
  },
  {
    name: 'gantry_failovers_total',
    type: 'counter',
    unit: '{failover}',
    labels: ['client', 'model'],
    help: 'Failovers to another key or model (decision `failed_over`)',
  },
  {
    name: 'gantry_degraded_responses_total',
    type: 'counter',
    unit: '{response}',
    labels: ['client', 'model'],
    help: 'Responses served degraded (decision `degraded`)',
  },
  {
    name: 'gantry_shed_total',
    type: 'counter',
    unit: '{request}',
    labels: ['client'],
    help: 'Requests shed under load (decision `shed`)',
  },
  {
    name: 'gantry_rate_limited_total',
    type: 'counter',
    unit: '{request}',
    labels: ['client', 'rule'],
    help: 'Requests rejected by a Gantry rate limit (decision `rate_limited`)',
  },
  {
    name: 'gantry_budget_rejections_total',
    type: 'counter',
    unit: '{request}',
    labels: ['client', 'rule'],
    help: 'Requests rejected by a budget (decision `budget_exceeded`)',
  },
  {
    name: 'gantry_decisions_total',
    type: 'counter',
    unit: '{decision}',
    labels: ['stage', 'action'],
    help: 'Every stage decision (retried, failed_over, degraded, shed, blocked, flagged, redacted, ...)',
  },
  {
    name: 'gantry_auth_failures_total',
    type: 'counter',
    unit: '{request}',
    labels: ['source', 'status'],
    help: 'Authentication failures (401/403): source `gateway` (virtual key) or `upstream` (API key)',
  },
  {
    name: 'gantry_breaker_state',
    type: 'gauge',
    unit: '1',
    labels: ['key', 'model'],
    help: 'Circuit breaker state per upstream key and model: 0 closed, 1 half open, 2 open',
  },
  {
    name: 'gantry_breaker_transitions_total',
    type: 'counter',
    unit: '{transition}',
    labels: ['to'],
    help: 'Circuit breaker state changes by new state',
  },
  {
    name: 'gantry_upstream_key_state',
    type: 'gauge',
    unit: '1',
    labels: ['environment', 'key', 'state'],
    help: 'Upstream key state: 1 for the current state of each key',
  },
  {
    name: 'gantry_cost_usd_total',
    type: 'counter',
    unit: 'USD',
    labels: ['client', 'customer', 'model'],
    help: 'Cost in USD by client, customer (opt-in or top N by spend, else `other`) and model',
  },
  {
    name: 'gantry_usage_estimated_total',
    type: 'counter',
    unit: '{request}',
    labels: ['client', 'model', 'outcome'],
    help: 'Streams whose output tokens were estimated from the content relayed (no final message_delta), by outcome: client_closed, upstream_cut, stream_error',
  },
  {
    name: 'gantry_budget_used_ratio',
    type: 'gauge',
    unit: '1',
    labels: ['scope', 'period'],
    help: 'Share of a budget spent (1 = 100 %), from the last budget event of each scope',
  },
  {
    name: 'gantry_budget_remaining_usd',
    type: 'gauge',
    unit: 'USD',
    labels: ['scope', 'period'],
    help: 'Budget left in USD (never below 0), from the last budget event of each scope',
  },
  {
    name: 'gantry_ledger_queue_depth',
    type: 'gauge',
    unit: '{row}',
    labels: [],
    help: 'Ledger rows waiting to be written',
  },
  {
    name: 'gantry_ledger_rows_written_total',
    type: 'counter',
    unit: '{row}',
    labels: [],
    help: 'Ledger rows written to the store',
  },
  {
    name: 'gantry_ledger_rows_dropped_total',
    type: 'counter',
    unit: '{row}',
    labels: [],
    help: 'Ledger rows dropped beyond the buffer bound',
  },
  {
    name: 'gantry_ledger_store_up',
    type: 'gauge',
    unit: '1',
    labels: [],
    help: '1 when the ledger store is reachable, else 0',
  },
  {
    name: 'gantry_ledger_rows_spilled_total',
    type: 'counter',
    unit: '{row}',
    labels: [],
    help: 'Ledger rows written to a spill file at shutdown (replayed into the store at the next start)',
  },
  {
    name: 'gantry_limits_store_up',
    type: 'gauge',
    unit: '1',
    labels: [],
    help: '1 when the rate-limit and budget store answers in time, else 0',
  },
  {
    name: 'gantry_invariant_violations_total',
    type: 'counter',
    unit: '{violation}',
    labels: ['rule'],
    help: 'Broken accounting invariants (tokens without cost, cache counted twice, unknown model)',
  },
  {
    name: 'gantry_alerts_firing',
    type: 'gauge',
    unit: '{alert}',
    labels: ['rule', 'severity'],
    help: 'Alerts of the built-in engine currently firing',
  },
  {
    name: 'gantry_alert_notifications_total',
    type: 'counter',
    unit: '{notification}',
    labels: ['channel', 'outcome'],
    help: 'Alert notifications by channel and outcome (sent, failed)',
  },
] as const satisfies readonly MetricDef[];

export type MetricName = (typeof METRICS)[number]['name'];

/** Every name as scraped, including histogram series (`_bucket`, `_sum`, `_count`). */
export function seriesNames(): Set<string> {
  const out = new Set<string>();
  for (const m of METRICS) {
    out.add(m.name);
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
  }
  return out;
}

/** The markdown table of docs/metrics.md, generated from METRICS. */
export function metricsMarkdownTable(): string {
  const rows = METRICS.map(
    (m: MetricDef) =>
      `| \`${m.name}\` | ${m.type} | ${m.unit} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '—'} | ${m.help} |`,
  );
  return ['| name | type | unit | labels | help |', '|---|---|---|---|---|', ...rows].join('\n');
}
