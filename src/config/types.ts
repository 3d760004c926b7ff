/**
 * The resolved configuration: what `loadConfig()` returns after validating
 * `gantry.yaml` (snake_case on disk, camelCase here). It is deeply frozen and
 * holds no secret values: secrets stay references (`SecretRefSpec`) until
 * `openSecret()` turns them into live handles at start-up.
 */

import type { ClientResilience, ResilienceConfig, UpstreamKeyConfig } from '../resilience/config.ts';

/** A secret reference as written in config: `env:NAME`, `file:/path` or `exec:command args`. */
export type SecretRefSpec = string;

export interface ServerConfig {
  host: string;
  port: number;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Largest accepted request header block, bytes (Node's maxHeaderSize). */
  headerLimit: number;
  /** A client must send its whole request (headers and body) within this time. */
  requestTimeoutMs: number;
  /** Idle keep-alive sockets from clients are closed after this time. */
  keepAliveTimeoutMs: number;
  /** On SIGTERM, in-flight requests and streams may finish for this long. */
  drainTimeoutMs: number;
}

export interface UpstreamConfig {
  /** Where requests go. Only ever from config: a client can never choose the host. */
  baseUrl: string;
  /** Keep-alive connections per upstream origin. */
  connections: number;
  connectTimeoutMs: number;
  /** Time allowed until the upstream's response headers arrive. */
  headersTimeoutMs: number;
  /** Longest silence allowed between two body chunks (stream idle timeout). */
  bodyTimeoutMs: number;
}

export interface EnvironmentConfig {
  name: string;
  /** Reference to the upstream Anthropic API key this environment uses. */
  upstreamKey: SecretRefSpec;
  /** The multi-key form (`upstream_keys`); `upstreamKey` is then the first key's reference. */
  upstreamKeys?: readonly UpstreamKeyConfig[];
}

export interface ClientConfig {
  /** The app feature this virtual key belongs to; used in logs, metrics and the ledger. */
  name: string;
  environment: string;
  /** Hex SHA-256 of the client's virtual key (from `gantry keys create`). */
  keySha256?: string;
  /** Or a reference to the virtual key itself. */
  key?: SecretRefSpec;
  /** Limits and policy for later stages; kept as validated data. */
  limits: Readonly<Record<string, unknown>>;
  /** Per-client retry, timeout, fallback and concurrency overrides (see docs/resilience.md). */
  resilience?: ClientResilience;
}

/**
 * The operator's key for `/admin/*` routes (and `/metrics` when protected).
 * With neither set, admin routes answer 404: they do not exist.
 */
export interface AdminConfig {
  keySha256?: string;
  key?: SecretRefSpec;
}

export interface LoggingConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `stdout`, `stderr`, or a file path. */
  destination: string;
}

export interface SecretsConfig {
  /** How often `exec:` references are re-run, ms. */
  execRefreshMs: number;
  /** Longest an `exec:` command may run, ms. */
  execTimeoutMs: number;
}

export interface ResolvedConfig {
  /** Where the config came from: a file path, or `defaults`. */
  source: string;
  server: ServerConfig;
  upstream: UpstreamConfig;
  environments: Readonly<Record<string, EnvironmentConfig>>;
  /**
   * Declared clients. When empty, the gateway runs in local mode: one implicit
   * client `default` whose key is the upstream key of environment `default`
   * (see docs/gateway.md).
   */
  clients: readonly ClientConfig[];
  admin: AdminConfig;
  logging: LoggingConfig;
  secrets: SecretsConfig;
  /** Retries, breaker, timeouts, shedding and health probes (see docs/resilience.md). */
  resilience: ResilienceConfig;
}
