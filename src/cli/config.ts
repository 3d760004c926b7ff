/**
 * `gantry config check`: validates the config and prints it resolved, as
 * YAML in the on-disk shape with every default filled in. Secret references
 * are printed with whether they resolve right now (`env:ANTHROPIC_API_KEY
 * (set)`); secret values never are. Exit 0 when valid (missing secrets are
 * warned about on stderr), 2 when invalid, with every problem and its path.
 */
import { stringify } from 'yaml';
import { DEFAULT_ENVIRONMENT, formatSize } from '../config/fields.ts';
import { describeSecret } from '../config/mask.ts';
import { type SecretHandle, SecretRegistry } from '../config/secrets.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { displayLimits, displayScopeLimits } from '../limits/config.ts';
import { readConfig } from './errors.ts';

export interface CheckOptions {
  config?: string;
}

export interface CheckIO {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
}

export async function check(opts: CheckOptions, io: CheckIO = {}): Promise<void> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // Throws a usage CliError (exit code 2) listing every problem.
  const config = await readConfig({ path: opts.config, env, cwd: io.cwd });

  const secrets = new SecretRegistry(config, { env, cwd: io.cwd });
  try {
    await secrets.ready;
    const show = (handle: SecretHandle | undefined, spec: string) =>
      handle ? describeSecret(spec, handle.value(), handle.problem()) : spec;

    const origin =
      config.source === 'defaults'
        ? 'embedded defaults (no --config, $GANTRY_CONFIG or ./gantry.yaml)'
        : config.source;
    const header = [
      `# ${origin}: valid`,
      '# Secrets are shown as references with whether they resolve now; values are never printed.',
    ];
    if (config.clients.length === 0) {
      header.push(
        `# No clients: local mode. The gateway accepts the upstream key of environment "${DEFAULT_ENVIRONMENT}"`,
        '# itself as the client credential (see docs/gateway.md).',
      );
    }
    stdout.write(`${header.join('\n')}\n${stringify(toDisplay(config, show, secrets), { lineWidth: 0 })}`);

    for (const entry of secrets.entries()) {
      if (entry.handle.value() === undefined) {
        stderr.write(
          `gantry: warning: ${entry.usedBy.join(', ')}: ${describeSecret(entry.spec, undefined, entry.handle.problem())}\n`,
        );
      }
    }
  } finally {
    secrets.close();
  }
}

/** The resolved config in the on-disk (snake_case) shape, secrets described. */
function toDisplay(
  config: ResolvedConfig,
  show: (handle: SecretHandle | undefined, spec: string) => string,
  secrets: SecretRegistry,
): Record<string, unknown> {
  const { server, upstream, logging } = config;
  return {
    server: {
      host: server.host,
      port: server.port,
      body_limit: formatSize(server.bodyLimit),
      header_limit: formatSize(server.headerLimit),
      request_timeout_ms: server.requestTimeoutMs,
      keep_alive_timeout_ms: server.keepAliveTimeoutMs,
      drain_timeout_ms: server.drainTimeoutMs,
    },
    upstream: {
      base_url: upstream.baseUrl,
      connections: upstream.connections,
      connect_timeout_ms: upstream.connectTimeoutMs,
      headers_timeout_ms: upstream.headersTimeoutMs,
      body_timeout_ms: upstream.bodyTimeoutMs,
    },
    environments: Object.fromEntries(
      Object.values(config.environments).map((e) => [
        e.name,
        e.upstreamKeys
          ? {
              upstream_keys: e.upstreamKeys.map((k) => ({
                id: k.id,
                key: show(secrets.entries().find((s) => s.spec === k.key)?.handle, k.key),
                state: k.state,
                weight: k.weight,
              })),
            }
          : { upstream_key: show(secrets.upstreamKey(e.name), e.upstreamKey) },
      ]),
    ),
    clients: config.clients.map((c) => ({
      name: c.name,
      environment: c.environment,
      ...(c.keySha256 !== undefined ? { key_sha256: c.keySha256 } : {}),
      ...(c.key !== undefined ? { key: show(secrets.clientKey(c.name), c.key) } : {}),
      limits: displayScopeLimits(c.limits),
    })),
    logging: { level: logging.level, destination: logging.destination },
    secrets: { exec_refresh_ms: config.secrets.execRefreshMs, exec_timeout_ms: config.secrets.execTimeoutMs },
    audit: { waivers: config.audit.waivers },
    limits: displayLimits(config.limits),
    storage: { state: config.storage.state },
  };
}
