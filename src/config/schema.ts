/**
 * The gantry.yaml schema and its validation into a `ResolvedConfig`.
 *
 * Validation collects every problem, each with its path
 * (`clients[1].key_sha256: expected 64 hex characters`), in three passes over
 * the parsed YAML: the zod schema (types, ranges, unknown keys with a
 * "did you mean" hint), cross-field rules (environments exist, names and keys
 * unique, keys of environments never shared), and a scan of every key and
 * string for something shaped like an Anthropic API key. No message ever
 * repeats a value that could be a secret.
 */
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { alertsSchema, resolveAlerts } from '../alerts/config.ts';
import { auditConfigSchema } from '../audit/config.ts';
import { ledgerUrlProblem } from '../ledger/store.ts';
import { clientLimitsSchema, limitsSectionSchema, stateStoreSchema } from '../limits/config.ts';
import { metricsSchema, resolveMetrics, resolveTracing, tracingSchema } from '../observe/config.ts';
import { policySchema, resolvePolicy } from '../policy/config.ts';
import {
  clientResilienceSchema,
  resilienceSchema,
  resolveClientResilience,
  resolveResilience,
  upstreamKeyEntrySchema,
} from '../resilience/config.ts';
import { safetySchema } from '../safety/config.ts';
import { looksLikeAnthropicKey, redactAnthropicKeys } from './mask.ts';
import { parseSecretRef, SecretRefError } from './secrets.ts';
import type { ClientConfig, EnvironmentConfig, LoggingConfig, ResolvedConfig } from './types.ts';

/** One validation problem: where (`server.port`) and what. */
export interface ConfigIssue {
  /** Dotted path into the YAML document, e.g. `clients[1].key_sha256`; empty for the document itself. */
  path: string;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

/** An issue before its path is formatted (used between passes). */
export interface RawIssue {
  path: PropertyKey[];
  message: string;
}

export const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const satisfies readonly LoggingConfig['level'][];

/** The environment used when the config declares none, and by local mode. */
export const DEFAULT_ENVIRONMENT = 'default';
export const DEFAULT_UPSTREAM_KEY = 'env:ANTHROPIC_API_KEY';

/** Names of clients and environments: they appear in logs, metrics and the ledger. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** True when `name` is acceptable as a client or environment name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}
export const NAME_RULE = 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit';
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** Node timers overflow past 2^31-1 ms and fire at once; refuse such values. */
const MAX_TIMER_MS = 2_147_483_647;

const UPSTREAM_KEY_EXAMPLES =
  'put it in a secret manager or an environment variable and write "env:ANTHROPIC_API_KEY", ' +
  '"file:/run/secrets/anthropic" or "exec:vault kv get -field=key secret/anthropic"';
const CLIENT_KEY_EXAMPLES =
  'write only its hash as key_sha256 (printed by "gantry keys create"), or keep the key in a secret manager ' +
  'or an environment variable and write "env:GANTRY_KEY_CHECKOUT", "file:/run/secrets/gantry-checkout" ' +
  'or "exec:vault kv get -field=key secret/gantry/checkout"';

type ErrorFn = (issue: { input?: unknown }) => string;

/** `required` when the key is absent, else `expected <what>`. */
function expected(what: string): { error: ErrorFn } {
  return { error: (issue) => (issue.input === undefined ? 'required' : `expected ${what}`) };
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;

/**
 * Bytes from a size: an integer (bytes) or a string like `32mb`, `16kb`,
 * `1.5mb` (units are powers of 1024: b, kb/kib/k, mb/mib/m, gb/gib/g).
 * Returns `undefined` for anything else.
 */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const m = SIZE.exec(value.trim().toLowerCase());
  const unit = m ? SIZE_UNITS[m[2]] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** A size for display: `32mb` when it is a whole number of mb, else `16kb`, else bytes. */
export function formatSize(bytes: number): string | number {
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}gb`;
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}mb`;
  if (bytes % 1024 === 0) return `${bytes / 1024}kb`;
  return bytes;
}

function size(defaultBytes: number) {
  return z
    .union([z.number(), z.string()], expected('a size: bytes, or a string like "32mb" or "16kb"'))
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      if (bytes === undefined) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: 'expected a positive size: bytes, or a string like "32mb" or "16kb" (units b, kb, mb, gb)',
        });
        return z.NEVER;
      }
      return bytes;
    })
    .default(defaultBytes);
}

function milliseconds(defaultMs: number) {
  return z
    .int(expected('a whole number of milliseconds'))
    .min(1, { error: 'expected a positive number of milliseconds' })
    .max(MAX_TIMER_MS, { error: `expected at most ${MAX_TIMER_MS} milliseconds (about 24.8 days)` })
    .default(defaultMs);
}

/**
 * Why `value` is not an acceptable secret reference, or `undefined` when it is.
 * Never quotes the value: a mistake here is usually a pasted key.
 */
export function secretRefProblem(
  value: string,
  examples: string = UPSTREAM_KEY_EXAMPLES,
): string | undefined {
  const literal = `a literal key is not allowed here; ${examples}`;
  if (looksLikeAnthropicKey(value)) return literal;
  const scheme = /^([A-Za-z]+):/.exec(value)?.[1];
  if (scheme === undefined) return literal;
  if (['env', 'file', 'exec'].includes(scheme.toLowerCase()) && scheme !== scheme.toLowerCase()) {
    return `secret reference kinds are lowercase: env:, file: or exec:`;
  }
  if (!['env', 'file', 'exec'].includes(scheme)) {
    return `expected a secret reference (env:NAME, file:/path or exec:command args); ${literal}`;
  }
  try {
    parseSecretRef(value);
    return undefined;
  } catch (err) {
    if (err instanceof SecretRefError) return err.message;
    throw err;
  }
}

function secretRef(examples: string) {
  return z
    .string(expected('a secret reference: env:NAME, file:/path or exec:command args'))
    .superRefine((value, ctx) => {
      const problem = secretRefProblem(value, examples);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

function mapping<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, expected('a mapping (key: value pairs)'));
}

function baseUrl() {
  return z.string(expected('an http(s) URL')).transform((value, ctx) => {
    const fail = (message: string) => {
      ctx.issues.push({ code: 'custom', input: value, message });
      return z.NEVER;
    };
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('expected an absolute http(s) URL, e.g. https://api.anthropic.com');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail('expected an http: or https: URL');
    if (url.username || url.password) {
      return fail(
        'must not contain credentials (user:password@); upstream keys belong in environments.<name>.upstream_key',
      );
    }
    if (url.search || value.includes('?')) return fail('must not contain a query string');
    if (url.hash || value.includes('#')) return fail('must not contain a fragment (#…)');
    return url.origin + url.pathname.replace(/\/+$/, '');
  });
}

const serverSchema = mapping({
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
});

const upstreamSchema = mapping({
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

const environmentSchema = mapping({
  upstream_key: secretRef(UPSTREAM_KEY_EXAMPLES).optional(),
  upstream_keys: z
    .array(upstreamKeyEntrySchema(secretRef(UPSTREAM_KEY_EXAMPLES)), expected('a list of upstream keys'))
    .min(1, { error: 'expected at least one upstream key' })
    .optional(),
});

const clientSchema = mapping({
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
});

const adminSchema = mapping({
  key_sha256: clientSchema.shape.key_sha256,
  key: secretRef(CLIENT_KEY_EXAMPLES).optional(),
});

const loggingSchema = mapping({
  level: z.enum(LOG_LEVELS, expected(`one of ${LOG_LEVELS.join(', ')}`)).default('info'),
  destination: z
    .string(expected('stdout, stderr or a file path'))
    .min(1, { error: 'expected stdout, stderr or a file path' })
    .default('stdout'),
  debug_content: z.boolean(expected('true or false')).default(false),
});

/** `storage`: where the ledger (src/ledger, docs/storage.md) and shared counters (src/limits) live. */
const storageSchema = mapping({
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
});

const secretsSchema = mapping({
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

// ---------------------------------------------------------------------------
// Unknown keys and "did you mean"

/**
 * Well-known names people write for a key, by section (`*` is any
 * environment, `[]` any client). Checked before the generic spelling match.
 */
const RENAMES: Record<string, Record<string, string>> = {
  '': {
    listen: 'server',
    http: 'server',
    anthropic: 'upstream',
    upstreams: 'upstream',
    environment: 'environments',
    envs: 'environments',
    client: 'clients',
    keys: 'clients',
    virtual_keys: 'clients',
    log: 'logging',
    logger: 'logging',
    secret: 'secrets',
  },
  server: {
    address: 'host',
    listen: 'host',
    bind: 'host',
    max_body_size: 'body_limit',
    max_body: 'body_limit',
    body_size_limit: 'body_limit',
    max_header_size: 'header_limit',
    timeout: 'request_timeout_ms',
    keep_alive_timeout: 'keep_alive_timeout_ms',
    keepalive_timeout_ms: 'keep_alive_timeout_ms',
    shutdown_timeout_ms: 'drain_timeout_ms',
    grace_period_ms: 'drain_timeout_ms',
  },
  upstream: {
    url: 'base_url',
    base: 'base_url',
    baseurl: 'base_url',
    endpoint: 'base_url',
    host: 'base_url',
    api_key: 'environments.<name>.upstream_key',
    key: 'environments.<name>.upstream_key',
    upstream_key: 'environments.<name>.upstream_key',
    max_connections: 'connections',
    pool_size: 'connections',
    timeout_ms: 'headers_timeout_ms',
    idle_timeout_ms: 'body_timeout_ms',
  },
  'environments.*': {
    api_key: 'upstream_key',
    key: 'upstream_key',
    anthropic_api_key: 'upstream_key',
    upstream_api_key: 'upstream_key',
  },
  'clients[]': {
    hash: 'key_sha256',
    key_hash: 'key_sha256',
    sha256: 'key_sha256',
    api_key_sha256: 'key_sha256',
    key_sha: 'key_sha256',
    env: 'environment',
    api_key: 'key',
    virtual_key: 'key',
    limit: 'limits',
  },
  logging: {
    log_level: 'level',
    output: 'destination',
    file: 'destination',
    dest: 'destination',
  },
  secrets: {
    refresh_ms: 'exec_refresh_ms',
    exec_refresh: 'exec_refresh_ms',
    refresh_interval_ms: 'exec_refresh_ms',
    timeout_ms: 'exec_timeout_ms',
    exec_timeout: 'exec_timeout_ms',
  },
};

/** Where each section's schema sits, for hints that point to another section. */
const SECTIONS: [string, z.ZodType][] = [
  ['server', serverSchema],
  ['upstream', upstreamSchema],
  ['environments.<name>', environmentSchema],
  ['clients[]', clientSchema],
  ['admin', adminSchema],
  ['logging', loggingSchema],
  ['secrets', secretsSchema],
  ['storage', storageSchema],
  ['audit', auditConfigSchema],
  ['resilience', resilienceSchema],
];

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
};

function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const d = def(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** The keys an object schema at `path` accepts (empty when there is none). */
function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    const d = def(s);
    if (d.type === 'object' && d.shape) s = d.shape[String(segment)];
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'array') s = d.element;
    else return [];
    if (!s) return [];
    s = unwrap(s);
  }
  const d = def(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

/** `environments.prod` -> `environments.*`, `clients.3` -> `clients[]`. */
function sectionOf(path: PropertyKey[]): string {
  if (path.length === 0) return '';
  if (path[0] === 'environments' && path.length === 2) return 'environments.*';
  if (path[0] === 'clients' && path.length === 2) return 'clients[]';
  return path.map(String).join('.');
}

function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-\s]+/g, '_')
    .toLowerCase();
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest allowed key by spelling, if any is close enough to be a typo. */
function closest(key: string, allowed: string[]): string | undefined {
  const wanted = snakeCase(key);
  if (allowed.includes(wanted)) return wanted;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const d = distance(wanted, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = wanted.length >= 10 ? 3 : wanted.length >= 5 ? 2 : 1;
  if (best !== undefined && bestDistance <= tolerance) return best;
  // `request_timeout` for `request_timeout_ms`: a missing unit suffix.
  return allowed.find((candidate) => candidate.startsWith(`${wanted}_`) || candidate === `${wanted}_ms`);
}

/** The message for an unknown key: a "did you mean" hint when one fits, else the allowed keys. */
function unknownKeyMessage(parent: PropertyKey[], key: string): string {
  if (looksLikeAnthropicKey(key)) return 'unknown key (and it looks like an Anthropic API key: remove it)';
  const allowed = keysAt(configSchema, parent);
  const section = sectionOf(parent);
  const renamed = RENAMES[section]?.[snakeCase(key)] ?? RENAMES[section]?.[key.toLowerCase()];
  const hint = renamed ?? closest(key, allowed);
  if (hint) return `unknown key; did you mean "${hint}"?`;
  // A key that belongs in another section (e.g. `port` at the top level).
  for (const [name, schema] of SECTIONS) {
    if (name === section.replace('*', '<name>')) continue;
    const match = closest(key, keysAt(schema, []));
    if (match && match === snakeCase(key)) return `unknown key; did you mean "${name}.${match}"?`;
  }
  return `unknown key (expected one of: ${allowed.join(', ')})`;
}

// ---------------------------------------------------------------------------
// Issue conversion and path formatting

/** `['clients', 1, 'key_sha256']` -> `clients[1].key_sha256`. Segments shaped like a key are redacted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
      continue;
    }
    const text = redactAnthropicKeys(String(segment));
    out += /^[A-Za-z0-9_-]+$/.test(text) ? (out ? `.${text}` : text) : `[${JSON.stringify(text)}]`;
  }
  return out;
}

function fromZod(issues: z.core.$ZodIssue[]): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: [...issue.path, key], message: unknownKeyMessage(issue.path, key) });
    } else if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
      out.push({ path: issue.path, message: issue.issues[0]?.message ?? issue.message });
    } else {
      out.push({ path: issue.path, message: issue.message });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Cross-field rules, run on the raw document so they report even when the
// schema pass found problems elsewhere.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A secret reference in a canonical form, so two spellings of the same secret compare equal. */
function canonicalRef(spec: unknown, baseDir: string): string | undefined {
  if (typeof spec !== 'string' || secretRefProblem(spec) !== undefined) return undefined;
  const ref = parseSecretRef(spec);
  if (ref.kind === 'env') return `env:${ref.name}`;
  if (ref.kind === 'file') return `file:${resolvePath(baseDir, ref.path)}`;
  return `exec:${JSON.stringify(ref.argv)}`;
}

function crossCheck(raw: Record<string, unknown>, baseDir: string): RawIssue[] {
  const issues: RawIssue[] = [];

  const declared = raw.environments;
  const envNames = isRecord(declared)
    ? Object.keys(declared)
    : declared === undefined
      ? [DEFAULT_ENVIRONMENT]
      : undefined;
  const upstreamRefs = new Map<string, string>();
  if (isRecord(declared)) {
    if (envNames?.length === 0)
      issues.push({ path: ['environments'], message: 'declare at least one environment' });
    for (const [name, env] of Object.entries(declared)) {
      if (!NAME.test(name))
        issues.push({ path: ['environments', name], message: `invalid environment name: ${NAME_RULE}` });
      if (!isRecord(env)) continue;
      if ((env.upstream_key === undefined) === (env.upstream_keys === undefined)) {
        // Neither: `upstream_key` is the usual form, so say it is required there.
        issues.push(
          env.upstream_key === undefined
            ? { path: ['environments', name, 'upstream_key'], message: 'required' }
            : {
                path: ['environments', name],
                message: 'set exactly one of upstream_key or upstream_keys (both are set)',
              },
        );
      }
      // Every key reference of the environment, single or multi-key form.
      const refs: Array<{ spec: unknown; path: PropertyKey[]; label: string }> = [
        {
          spec: env.upstream_key,
          path: ['environments', name, 'upstream_key'],
          label: `environments.${name}.upstream_key`,
        },
      ];
      const ids = new Set<string>();
      if (Array.isArray(env.upstream_keys)) {
        env.upstream_keys.forEach((entry, i) => {
          if (!isRecord(entry)) return;
          if (typeof entry.id === 'string') {
            if (ids.has(entry.id))
              issues.push({
                path: ['environments', name, 'upstream_keys', i, 'id'],
                message: 'duplicate key id',
              });
            ids.add(entry.id);
          }
          refs.push({
            spec: entry.key,
            path: ['environments', name, 'upstream_keys', i, 'key'],
            label: `environments.${name}.upstream_keys[${i}].key`,
          });
        });
      }
      for (const { spec, path, label } of refs) {
        const ref = canonicalRef(spec, baseDir);
        if (ref === undefined) continue;
        const first = upstreamRefs.get(ref);
        if (first !== undefined) {
          issues.push({
            path,
            message: `same key reference as ${first}; keys of environments never mix, give each environment (and each key) its own reference`,
          });
        } else {
          upstreamRefs.set(ref, label);
        }
      }
    }
  }

  const clients = raw.clients;
  if (Array.isArray(clients)) {
    const names = new Map<string, number>();
    const hashes = new Map<string, number>();
    const keyRefs = new Map<string, number>();
    clients.forEach((client, i) => {
      if (!isRecord(client)) return;
      const { name, environment, key_sha256: keySha256, key } = client;
      if (typeof name === 'string') {
        if (!NAME.test(name))
          issues.push({ path: ['clients', i, 'name'], message: `invalid client name: ${NAME_RULE}` });
        const first = names.get(name);
        if (first !== undefined) {
          issues.push({
            path: ['clients', i, 'name'],
            message: `duplicate client name (also clients[${first}].name)`,
          });
        } else {
          names.set(name, i);
        }
      }
      const envName = environment === undefined ? DEFAULT_ENVIRONMENT : environment;
      if (typeof envName === 'string' && envNames !== undefined && !envNames.includes(envName)) {
        const known = envNames.length ? envNames.join(', ') : 'none';
        issues.push({
          path: environment === undefined ? ['clients', i] : ['clients', i, 'environment'],
          message:
            environment === undefined
              ? `no environment given and there is no environment "${DEFAULT_ENVIRONMENT}"; set environment (declared: ${known})`
              : `unknown environment "${envName}" (declared: ${known})`,
        });
      }
      if ((keySha256 === undefined) === (key === undefined)) {
        issues.push({
          path: ['clients', i],
          message:
            key === undefined
              ? 'set exactly one of key_sha256 or key (neither is set; create a key with "gantry keys create")'
              : 'set exactly one of key_sha256 or key (both are set)',
        });
      }
      if (typeof keySha256 === 'string' && SHA256_HEX.test(keySha256)) {
        const hash = keySha256.toLowerCase();
        const first = hashes.get(hash);
        if (first !== undefined) {
          issues.push({
            path: ['clients', i, 'key_sha256'],
            message: `same key hash as clients[${first}].key_sha256; each client needs its own key`,
          });
        } else {
          hashes.set(hash, i);
        }
      }
      const ref = canonicalRef(key, baseDir);
      if (ref !== undefined) {
        const first = keyRefs.get(ref);
        const env = upstreamRefs.get(ref);
        if (env !== undefined) {
          issues.push({
            path: ['clients', i, 'key'],
            message: `same reference as ${env}; a client key must never be an upstream key`,
          });
        } else if (first !== undefined) {
          issues.push({
            path: ['clients', i, 'key'],
            message: `same key reference as clients[${first}].key; each client needs its own key`,
          });
        } else {
          keyRefs.set(ref, i);
        }
      }
    });
  }

  const limitEnvs = isRecord(raw.limits) ? raw.limits.environments : undefined;
  if (isRecord(limitEnvs) && envNames !== undefined) {
    for (const name of Object.keys(limitEnvs)) {
      if (!envNames.includes(name))
        issues.push({
          path: ['limits', 'environments', name],
          message: `unknown environment "${name}" (declared: ${envNames.join(', ') || 'none'})`,
        });
    }
  }

  const noClients = clients === undefined || (Array.isArray(clients) && clients.length === 0);
  if (noClients && envNames !== undefined && envNames.length > 0 && !envNames.includes(DEFAULT_ENVIRONMENT)) {
    issues.push({
      path: ['clients'],
      message:
        `no clients are declared, so the gateway runs in local mode with the upstream key of environment "${DEFAULT_ENVIRONMENT}", ` +
        `which is not declared; add clients, or declare environments.${DEFAULT_ENVIRONMENT}`,
    });
  }
  return issues;
}

/** Every key and string in the document that looks like an Anthropic API key. */
function scanForKeys(value: unknown, path: PropertyKey[], out: RawIssue[]): void {
  if (typeof value === 'string') {
    if (looksLikeAnthropicKey(value)) {
      out.push({
        path,
        message:
          'looks like an Anthropic API key; keys never belong in gantry.yaml: reference them from environments.<name>.upstream_key ' +
          '(env:NAME, file:/path or exec:command)',
      });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      scanForKeys(item, [...path, i], out);
    });
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (looksLikeAnthropicKey(key)) {
        out.push({
          path: [...path, key],
          message: 'this key name looks like an Anthropic API key; remove it from the file',
        });
      }
      scanForKeys(item, [...path, key], out);
    }
  }
}

// ---------------------------------------------------------------------------
// Resolution

/** Deeply freezes an object graph and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

/** Relative `file:` paths resolve against the config file's directory. */
function absoluteRef(spec: string, baseDir: string): string {
  const ref = parseSecretRef(spec);
  return ref.kind === 'file' ? `file:${resolvePath(baseDir, ref.path)}` : spec;
}

function toResolved(raw: RawConfig, source: string, baseDir: string): ResolvedConfig {
  const environments: Record<string, EnvironmentConfig> = {};
  const declared = raw.environments ?? { [DEFAULT_ENVIRONMENT]: { upstream_key: DEFAULT_UPSTREAM_KEY } };
  for (const [name, env] of Object.entries(declared)) {
    const keys = env.upstream_keys?.map((k) => ({ ...k, key: absoluteRef(k.key, baseDir) }));
    environments[name] = keys
      ? { name, upstreamKey: keys[0].key, upstreamKeys: keys }
      : { name, upstreamKey: absoluteRef(env.upstream_key!, baseDir) };
  }
  const clients = raw.clients.map((c): ClientConfig => {
    const client: ClientConfig = { name: c.name, environment: c.environment, limits: c.limits };
    if (c.policy !== undefined) client.policy = resolvePolicy(c.policy);
    if (c.key_sha256 !== undefined) client.keySha256 = c.key_sha256;
    if (c.key !== undefined) client.key = absoluteRef(c.key, baseDir);
    if (c.safety !== undefined) client.safety = c.safety;
    if (c.resilience !== undefined) client.resilience = resolveClientResilience(c.resilience);
    return client;
  });
  const { server, upstream, logging, secrets, admin, storage, audit } = raw;
  return deepFreeze({
    source,
    server: {
      host: server.host,
      port: server.port,
      bodyLimit: server.body_limit,
      headerLimit: server.header_limit,
      requestTimeoutMs: server.request_timeout_ms,
      keepAliveTimeoutMs: server.keep_alive_timeout_ms,
      drainTimeoutMs: server.drain_timeout_ms,
    },
    upstream: {
      baseUrl: upstream.base_url,
      connections: upstream.connections,
      connectTimeoutMs: upstream.connect_timeout_ms,
      headersTimeoutMs: upstream.headers_timeout_ms,
      bodyTimeoutMs: upstream.body_timeout_ms,
    },
    environments,
    clients,
    admin: {
      ...(admin.key_sha256 !== undefined ? { keySha256: admin.key_sha256 } : {}),
      ...(admin.key !== undefined ? { key: absoluteRef(admin.key, baseDir) } : {}),
    },
    logging: {
      level: logging.level,
      destination: logging.destination,
      ...(logging.debug_content ? { debugContent: true } : {}),
    },
    secrets: { execRefreshMs: secrets.exec_refresh_ms, execTimeoutMs: secrets.exec_timeout_ms },
    storage: {
      state: storage.state,
      ledger: storage.ledger,
      ledgerBufferRows: storage.ledger_buffer_rows,
      ledgerFlushMs: storage.ledger_flush_ms,
    },
    audit: { waivers: audit.waivers },
    metrics: resolveMetrics(raw.metrics),
    tracing: resolveTracing(raw.tracing),
    alerts: resolveAlerts(raw.alerts, baseDir),
    limits: raw.limits,
    resilience: resolveResilience(raw.resilience),
  });
}

export type ValidationResult = { ok: true; config: ResolvedConfig } | { ok: false; issues: RawIssue[] };

/**
 * Validates a parsed YAML document (plain data) into a deeply frozen
 * `ResolvedConfig`, or returns every problem found.
 *
 * @param source  recorded as `ResolvedConfig.source` (a path, or `defaults`)
 * @param baseDir relative `file:` references resolve against it
 */
export function validateConfig(document: unknown, source: string, baseDir: string): ValidationResult {
  const raw: unknown = document ?? {};
  if (!isRecord(raw)) {
    return {
      ok: false,
      issues: [{ path: [], message: 'expected a mapping (key: value pairs) at the top level' }],
    };
  }
  // An empty section (`server:` with nothing under it) means "all defaults".
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) if (value !== null) input[key] = value;

  const parsed = configSchema.safeParse(input);
  const issues: RawIssue[] = parsed.success ? [] : fromZod(parsed.error.issues);
  issues.push(...crossCheck(input, baseDir));

  // Fields that take a secret already said "a literal key is not allowed here".
  const reported = new Set(
    issues.filter((i) => /literal key|Anthropic API key/.test(i.message)).map((i) => formatPath(i.path)),
  );
  const keyIssues: RawIssue[] = [];
  scanForKeys(raw, [], keyIssues);
  for (const issue of keyIssues) if (!reported.has(formatPath(issue.path))) issues.push(issue);

  if (issues.length > 0 || !parsed.success) return { ok: false, issues };
  return { ok: true, config: toResolved(parsed.data, source, baseDir) };
}
