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
import { resolveAlerts } from '../alerts/config.ts';
import { resolveMetrics, resolveTracing } from '../observe/config.ts';
import { resolveCustomerSource } from '../pipeline/customer.ts';
import { resolvePlatforms } from '../platforms/config.ts';
import { resolvePolicy } from '../policy/config.ts';
import { resolveClientResilience, resolveResilience } from '../resilience/config.ts';
import { crossCheckRollouts, resolvePrompts, resolveRollouts } from '../rollouts/config.ts';
import { crossCheck, isRecord, scanForKeys } from './cross-check.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_UPSTREAM_KEY } from './fields.ts';
import { formatPath, fromZod, type RawIssue } from './hints.ts';
import { parseSecretRef } from './refs.ts';
import { configSchema, type RawConfig } from './sections.ts';
import type { ClientConfig, EnvironmentConfig, ResolvedConfig } from './types.ts';

// ---------------------------------------------------------------------------
// Resolution

/** Deeply freezes an object graph and returns it. */
function deepFreeze<T>(value: T): T {
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
    const platforms = resolvePlatforms(env, (spec) => absoluteRef(spec, baseDir));
    if (platforms) environments[name].platforms = platforms;
  }
  const clients = raw.clients.map((c): ClientConfig => {
    const client: ClientConfig = { name: c.name, environment: c.environment, limits: c.limits };
    if (c.policy !== undefined) client.policy = resolvePolicy(c.policy);
    if (c.key_sha256 !== undefined) client.keySha256 = c.key_sha256;
    if (c.key !== undefined) client.key = absoluteRef(c.key, baseDir);
    if (c.safety !== undefined) client.safety = c.safety;
    if (c.resilience !== undefined) client.resilience = resolveClientResilience(c.resilience);
    if (c.deny_headers !== undefined) client.denyHeaders = c.deny_headers.map((h) => h.toLowerCase());
    if (c.customer !== undefined) client.customer = resolveCustomerSource(c.customer);
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
      shutdownTimeoutMs: Math.max(server.shutdown_timeout_ms, server.drain_timeout_ms),
      maxJsonDepth: server.max_json_depth,
      adminBodyLimit: server.admin_body_limit,
      ...(server.public_url !== undefined ? { publicUrl: server.public_url } : {}),
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
      ledgerTimeoutMs: storage.ledger_timeout_ms,
      ledgerCloseTimeoutMs: storage.ledger_close_timeout_ms,
      ...(storage.ledger_spill_dir !== undefined ? { ledgerSpillDir: storage.ledger_spill_dir } : {}),
    },
    audit: { waivers: audit.waivers },
    metrics: resolveMetrics(raw.metrics),
    tracing: resolveTracing(raw.tracing),
    alerts: resolveAlerts(raw.alerts, baseDir),
    limits: raw.limits,
    resilience: resolveResilience(raw.resilience),
    prompts: resolvePrompts(raw.prompts, baseDir),
    rollouts: resolveRollouts(raw.rollouts),
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
  issues.push(...crossCheck(input, baseDir), ...crossCheckRollouts(input));

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
