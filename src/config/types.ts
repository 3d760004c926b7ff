/**
 * The resolved configuration: what `loadConfig()` returns after validating
 * `gantry.yaml` (snake_case on disk, camelCase here). It is deeply frozen and
 * holds no secret values: secrets stay references (`SecretRefSpec`) until
 * `openSecret()` turns them into live handles at start-up.
 */

import type { AuditConfig } from '../audit/config.ts';
import type { ClientLimits, LimitsConfig, StorageStateConfig } from '../limits/config.ts';
import type { ClientResilience, ResilienceConfig, UpstreamKeyConfig } from '../resilience/config.ts';
import type { SafetyConfig } from '../safety/config.ts';

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
  /**
   * One deadline for the whole shutdown (drain, then flushing stores and logs):
   * after it the process exits whatever is left; ledger rows that could not be
   * written are spilled to disk first.
   */
  shutdownTimeoutMs: number;
  /** Deepest nesting accepted in a JSON request body (400 `json_too_deep` beyond). */
  maxJsonDepth: number;
  /** Largest body an admin route accepts, bytes. */
  adminBodyLimit: number;
  /**
   * The gateway's URL as clients reach it (scheme, host, optional path), used
   * to rewrite a batch's `results_url`. Unset: `results_url` becomes a path,
   * which the SDKs join to their base URL. Never taken from the `Host` header.
   */
  publicUrl?: string;
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
  /** Content-safety controls (src/safety/config.ts); absent: all off. */
  safety?: SafetyConfig;
  /** Model catalog, routing, max_tokens and prompt-caching policy (src/policy/config.ts). */
  policy?: import('../policy/config.ts').ClientPolicy;
  /** Rate limits and budgets of this client (src/limits/config.ts, docs/limits.md). */
  limits: ClientLimits;
  /** Per-client retry, timeout, fallback and concurrency overrides (see docs/resilience.md). */
  resilience?: ClientResilience;
  /**
   * Client headers never forwarded upstream for this client (lowercase), on
   * top of the gateway's allow-list: `anthropic-*` headers are otherwise an
   * open list (docs/gateway.md).
   */
  denyHeaders?: readonly string[];
  /** Where the customer of a request comes from (src/pipeline/customer.ts); absent: `auto`. */
  customer?: import('../pipeline/customer.ts').CustomerSource;
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
  /** Opt-in: log request content with secrets masked (a warning is logged at start-up). */
  debugContent?: boolean;
}

export interface SecretsConfig {
  /** How often `exec:` references are re-run, ms. */
  execRefreshMs: number;
  /** Longest an `exec:` command may run, ms. */
  execTimeoutMs: number;
}

/** `storage`: where state lives. `ledger*`: the cost ledger (docs/storage.md). */
export interface StorageConfig extends StorageStateConfig {
  /** `sqlite:<path>` or a `postgres://` URL. */
  ledger: string;
  /** Most ledger rows held in memory while the store is slow or down. */
  ledgerBufferRows: number;
  /** Ledger flush interval, ms. */
  ledgerFlushMs: number;
  /** A ledger store call (insert, ping) not answered within this is failed: the store is down. */
  ledgerTimeoutMs: number;
  /** Longest the ledger keeps trying the store at shutdown before it spills what is left. */
  ledgerCloseTimeoutMs: number;
  /** Where rows are spilled at shutdown (default: next to the SQLite file; `./data` for PostgreSQL). */
  ledgerSpillDir?: string;
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
  storage: StorageConfig;
  /** `gantry audit` settings (waivers); see src/audit/config.ts. */
  audit: AuditConfig;
  metrics: import('../observe/config.ts').MetricsConfig;
  tracing: import('../observe/config.ts').TracingConfig;
  alerts: import('../alerts/config.ts').AlertsConfig;
  /** Rate limits and budgets of environments and overall (docs/limits.md). */
  limits: LimitsConfig;
  /** Retries, breaker, timeouts, shedding and health probes (see docs/resilience.md). */
  resilience: ResilienceConfig;
}
