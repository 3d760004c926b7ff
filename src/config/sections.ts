/**
 * The gantry.yaml schema, section by section (snake_case, as written on disk).
 * Capability sections live beside their capability (src/<capability>/config.ts)
 * and are assembled here into `configSchema`.
 */
import { z } from 'zod';
import { alertsSchema } from '../alerts/config.ts';
import { auditConfigSchema } from '../audit/config.ts';
import { ledgerUrlProblem } from '../ledger/store.ts';
import { clientLimitsSchema, limitsSectionSchema, stateStoreSchema } from '../limits/config.ts';
import { metricsSchema, tracingSchema } from '../observe/config.ts';
import { customerSchema } from '../pipeline/customer.ts';
import { policySchema } from '../policy/config.ts';
import { clientResilienceSchema, resilienceSchema, upstreamKeyEntrySchema } from '../resilience/config.ts';
import { safetySchema } from '../safety/config.ts';
import {
  baseUrl,
  CLIENT_KEY_EXAMPLES,
  DEFAULT_ENVIRONMENT,
  expected,
  LOG_LEVELS,
  mapping,
  milliseconds,
  SHA256_HEX,
  secretRef,
  size,
  UPSTREAM_KEY_EXAMPLES,
} from './fields.ts';

export const serverSchema = mapping({
  host: z
    .string(expected('a host name or IP address'))
    .min(1, { error: 'expected a host name or IP address' })
    .default('127.0.0.1'),
  port: z
    .int(expected('a port number 0-65535'))
    .min(0, { error: 'expected a port number 0-65535' })
    .max(65535, { error: 'expected a port number 0-65535' })
    .default(8787),
  body_limit: size(32 * 1024 ** 2),
  header_limit: size(16 * 1024),
  request_timeout_ms: milliseconds(60_000),
  keep_alive_timeout_ms: milliseconds(65_000),
  drain_timeout_ms: milliseconds(30_000),
  shutdown_timeout_ms: milliseconds(45_000),
  max_json_depth: z
    .int(expected('a whole number of levels'))
    .min(8, { error: 'expected at least 8 levels' })
    // Every walker over request JSON may recurse this deep: keep it far from the stack's limit.
    .max(1_000, { error: 'expected at most 1000 levels' })
    .default(128),
  admin_body_limit: size(64 * 1024),
  public_url: baseUrl().optional(),
});

export const upstreamSchema = mapping({
  base_url: baseUrl().default('https://api.anthropic.com'),
  connections: z
    .int(expected('a whole number of connections'))
    .min(1, { error: 'expected at least 1 connection' })
    .max(65_536, { error: 'expected at most 65536 connections' })
    .default(128),
  connect_timeout_ms: milliseconds(10_000),
  headers_timeout_ms: milliseconds(600_000),
  body_timeout_ms: milliseconds(300_000),
});

export const environmentSchema = mapping({
  upstream_key: secretRef(UPSTREAM_KEY_EXAMPLES).optional(),
  upstream_keys: z
    .array(upstreamKeyEntrySchema(secretRef(UPSTREAM_KEY_EXAMPLES)), expected('a list of upstream keys'))
    .min(1, { error: 'expected at least one upstream key' })
    .optional(),
});

export const clientSchema = mapping({
  name: z.string(expected('a client name')),
  environment: z.string(expected('an environment name')).default(DEFAULT_ENVIRONMENT),
  key_sha256: z
    .string(expected('64 hex characters'))
    .superRefine((value, ctx) => {
      if (SHA256_HEX.test(value)) return;
      const message = /^(gk_|sk-ant-)/.test(value)
        ? 'this is a key, not its hash; a literal key is not allowed here: write its SHA-256 (64 hex characters, printed by "gantry keys create")'
        : 'expected 64 hex characters (the SHA-256 of the key, printed by "gantry keys create")';
      ctx.addIssue({ code: 'custom', message });
    })
    .transform((value) => value.toLowerCase())
    .optional(),
  key: secretRef(CLIENT_KEY_EXAMPLES).optional(),
  safety: safetySchema.optional(),
  policy: policySchema.optional(),
  limits: clientLimitsSchema,
  resilience: clientResilienceSchema.optional(),
  deny_headers: z
    .array(
      z
        .string(expected('a header name'))
        .regex(/^[A-Za-z0-9-]+$/, { error: 'expected a header name (letters, digits and "-")' }),
      expected('a list of header names'),
    )
    .max(64, { error: 'at most 64 header names' })
    .optional(),
  customer: customerSchema.optional(),
});

export const adminSchema = mapping({
  key_sha256: clientSchema.shape.key_sha256,
  key: secretRef(CLIENT_KEY_EXAMPLES).optional(),
});

export const loggingSchema = mapping({
  level: z.enum(LOG_LEVELS, expected(`one of ${LOG_LEVELS.join(', ')}`)).default('info'),
  destination: z
    .string(expected('stdout, stderr or a file path'))
    .min(1, { error: 'expected stdout, stderr or a file path' })
    .default('stdout'),
  debug_content: z.boolean(expected('true or false')).default(false),
});

/** `storage`: where the ledger (src/ledger, docs/storage.md) and shared counters (src/limits) live. */
export const storageSchema = mapping({
  state: stateStoreSchema,
  ledger: z
    .string(expected('sqlite:<path> or a postgres:// URL'))
    .superRefine((value, ctx) => {
      const problem = ledgerUrlProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('sqlite:./data/ledger.db'),
  ledger_buffer_rows: z
    .int(expected('a whole number of rows'))
    .min(1, { error: 'expected at least 1 row' })
    .max(10_000_000, { error: 'expected at most 10000000 rows' })
    .default(100_000),
  ledger_flush_ms: milliseconds(1_000),
  ledger_timeout_ms: milliseconds(5_000),
  ledger_close_timeout_ms: milliseconds(5_000),
  ledger_spill_dir: z
    .string(expected('a directory path'))
    .min(1, { error: 'expected a directory path' })
    .optional(),
});

export const secretsSchema = mapping({
  exec_refresh_ms: milliseconds(300_000),
  exec_timeout_ms: milliseconds(10_000),
});

/** The whole of gantry.yaml, as written on disk (snake_case). */
export const configSchema = mapping({
  server: serverSchema.prefault({}),
  upstream: upstreamSchema.prefault({}),
  environments: z
    .record(z.string(), environmentSchema, expected('a mapping of environment names'))
    .optional(),
  clients: z.array(clientSchema, expected('a list of clients')).default([]),
  admin: adminSchema.prefault({}),
  logging: loggingSchema.prefault({}),
  secrets: secretsSchema.prefault({}),
  storage: storageSchema.prefault({}),
  audit: auditConfigSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  tracing: tracingSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  limits: limitsSectionSchema,
  resilience: resilienceSchema.prefault({}),
});

export type RawConfig = z.output<typeof configSchema>;
