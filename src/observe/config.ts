/**
 * The `metrics:` and `tracing:` sections of gantry.yaml (and the resolved
 * shapes). Wired into src/config/schema.ts as two top-level sections.
 *
 * ```yaml
 * metrics:
 *   access: public          # or admin: /metrics then needs the admin key
 *   customer_label: off     # off (default), hashed (top N by spend, ids hashed), top (ids), list (only `customers`)
 *   top_customers: 10
 *   customers: []
 *   stats_interval_ms: 10000   # /admin/stats ring: slot width...
 *   stats_intervals: 30        # ...and number of slots (window = 5 min)
 * tracing:
 *   enabled: false
 *   endpoint: http://127.0.0.1:4318/v1/traces   # OTLP/HTTP
 *   service_name: gantry
 *   sample_ratio: 1
 * ```
 */
import { z } from 'zod';
import { expected } from '../config/fields.ts';

const positiveInt = (what: string, max: number) =>
  z
    .int(expected(what))
    .min(1, { error: `expected ${what} ≥ 1` })
    .max(max, { error: `expected ${what} ≤ ${max}` });

export const metricsSchema = z.strictObject(
  {
    enabled: z.boolean(expected('true or false')).default(true),
    access: z.enum(['public', 'admin'], expected('public or admin')).default('public'),
    customer_label: z
      .enum(['off', 'hashed', 'top', 'list'], expected('off, hashed, top or list'))
      .default('off'),
    top_customers: z
      .int(expected('a whole number'))
      .min(0, { error: 'expected 0-100' })
      .max(100, { error: 'expected 0-100 (the customer label must stay bounded)' })
      .default(10),
    customers: z
      .array(z.string(expected('a customer id')), expected('a list of customer ids'))
      .max(1000, { error: 'at most 1000 customers may have their own label' })
      .default([]),
    stats_interval_ms: positiveInt('a number of milliseconds', 3_600_000).default(10_000),
    stats_intervals: positiveInt('a number of intervals', 1_000).default(30),
  },
  expected('a mapping (key: value pairs)'),
);

export const tracingSchema = z.strictObject(
  {
    enabled: z.boolean(expected('true or false')).default(false),
    endpoint: z
      .url(expected('an http(s) URL of an OTLP/HTTP traces endpoint'))
      .default('http://127.0.0.1:4318/v1/traces'),
    service_name: z.string(expected('a service name')).min(1).default('gantry'),
    sample_ratio: z
      .number(expected('a number between 0 and 1'))
      .min(0, { error: 'expected a number between 0 and 1' })
      .max(1, { error: 'expected a number between 0 and 1' })
      .default(1),
    export_timeout_ms: positiveInt('a number of milliseconds', 600_000).default(10_000),
  },
  expected('a mapping (key: value pairs)'),
);

export interface MetricsConfig {
  enabled: boolean;
  access: 'public' | 'admin';
  customerLabel: 'off' | 'hashed' | 'top' | 'list';
  topCustomers: number;
  customers: readonly string[];
  statsIntervalMs: number;
  statsIntervals: number;
}

export interface TracingConfig {
  enabled: boolean;
  /** OTLP/HTTP traces endpoint (JSON encoding), e.g. `http://collector:4318/v1/traces`. */
  endpoint: string;
  serviceName: string;
  /** Share of requests without a sampled parent that are traced (0-1). */
  sampleRatio: number;
  exportTimeoutMs: number;
}

export function resolveMetrics(raw: z.output<typeof metricsSchema>): MetricsConfig {
  return {
    enabled: raw.enabled,
    access: raw.access,
    customerLabel: raw.customer_label,
    topCustomers: raw.top_customers,
    customers: raw.customers,
    statsIntervalMs: raw.stats_interval_ms,
    statsIntervals: raw.stats_intervals,
  };
}

export function resolveTracing(raw: z.output<typeof tracingSchema>): TracingConfig {
  return {
    enabled: raw.enabled,
    endpoint: raw.endpoint,
    serviceName: raw.service_name,
    sampleRatio: raw.sample_ratio,
    exportTimeoutMs: raw.export_timeout_ms,
  };
}
