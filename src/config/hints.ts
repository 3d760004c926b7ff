/**
 * Turning schema problems into messages: paths (`clients[1].key_sha256`) and a
 * "did you mean" hint for unknown keys (well-known renames first, then the
 * closest spelling).
 */
import type { z } from 'zod';
import { auditConfigSchema } from '../audit/config.ts';
import { resilienceSchema } from '../resilience/config.ts';
import { looksLikeAnthropicKey, redactAnthropicKeys } from './mask.ts';
import {
  adminSchema,
  clientSchema,
  configSchema,
  environmentSchema,
  loggingSchema,
  secretsSchema,
  serverSchema,
  storageSchema,
  upstreamSchema,
} from './sections.ts';

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

export function fromZod(issues: z.core.$ZodIssue[]): RawIssue[] {
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
