/**
 * `gantry config check`: validates the config and prints all of it resolved,
 * as YAML in the on-disk shape: every section, every default filled in. Secret references
 * are printed with whether they resolve right now (`env:ANTHROPIC_API_KEY
 * (set)`); secret values never are. Exit 0 when valid (missing secrets are
 * warned about on stderr), 2 when invalid, with every problem and its path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { DEFAULT_ENVIRONMENT, formatSize } from '../config/fields.ts';
import { describeSecret } from '../config/mask.ts';
import { parseSecretRef } from '../config/refs.ts';
import { SecretRegistry } from '../config/registry.ts';
import type { SecretHandle } from '../config/secrets.ts';
import { configSchema, type RawConfig } from '../config/sections.ts';
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
    stdout.write(
      `${header.join('\n')}\n${stringify(toDisplay(config, show, secrets, env), { lineWidth: 0 })}`,
    );

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

/**
 * The whole config in the on-disk (snake_case) shape: the file parsed by the
 * schema, so every section and every default is there (new keys included, with
 * no code here to update), with the three kinds of values the schema turns into
 * something else put back: sizes (`32mb`), `limits` (USD budgets) and `safety`
 * (camelCase), and environments as resolved (the default one when the file
 * declares none, relative `file:` paths made absolute). Every secret reference
 * is shown with whether it resolves now.
 */
function toDisplay(
  config: ResolvedConfig,
  show: (handle: SecretHandle | undefined, spec: string) => string,
  secrets: SecretRegistry,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  // `source` is the file the config was read from (already validated), or `defaults`.
  const document = config.source === 'defaults' ? {} : parse(readFileSync(config.source, 'utf8'));
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((document ?? {}) as Record<string, unknown>))
    if (value !== null) input[key] = value;
  const raw = configSchema.parse(input) as Record<string, unknown> & RawConfig;

  const bySpec = new Map(secrets.entries().map((e) => [e.spec, e.handle]));
  const ref = (spec: string | undefined): string | undefined =>
    spec === undefined ? undefined : describeRef(spec, bySpec.get(spec), show, env);

  const out: Record<string, unknown> = { ...raw };
  out.server = {
    ...raw.server,
    body_limit: formatSize(raw.server.body_limit),
    header_limit: formatSize(raw.server.header_limit),
  };
  out.environments = Object.fromEntries(
    Object.values(config.environments).map((e) => [
      e.name,
      e.upstreamKeys
        ? {
            upstream_keys: e.upstreamKeys.map((k) => ({
              id: k.id,
              key: ref(k.key),
              state: k.state,
              weight: k.weight,
            })),
          }
        : { upstream_key: ref(e.upstreamKey) },
    ]),
  );
  out.clients = raw.clients.map((c, i) => {
    const resolved = config.clients[i];
    const client: Record<string, unknown> = { ...c, limits: displayScopeLimits(resolved.limits) };
    if (resolved.key !== undefined) client.key = ref(resolved.key);
    if (c.safety !== undefined) client.safety = displaySafety(c.safety as unknown as Record<string, unknown>);
    return client;
  });
  out.admin = {
    ...raw.admin,
    ...(config.admin.key !== undefined ? { key: ref(config.admin.key) } : {}),
  };
  out.limits = displayLimits(config.limits);
  out.alerts = {
    ...raw.alerts,
    channels: raw.alerts.channels.map((c) => ({
      ...c,
      ...(c.url !== undefined ? { url: ref(c.url) } : {}),
      ...(c.routing_key !== undefined ? { routing_key: ref(c.routing_key) } : {}),
    })),
  };
  return out;
}

/** `safety` as written: the schema gives camelCase; sizes back to `1mb`. */
function displaySafety(safety: Record<string, unknown>): Record<string, unknown> {
  const snake = snakeKeys(safety) as Record<string, Record<string, unknown> | undefined>;
  const limits = snake.input_limits;
  if (limits && typeof limits.max_body_bytes === 'number')
    snake.input_limits = { ...limits, max_body_bytes: formatSize(limits.max_body_bytes) };
  return snake;
}

function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(v)]),
  );
}

/**
 * A secret reference with whether it resolves now: from the registry when the
 * gateway would open it there; else `env:` and `file:` are looked at, `exec:`
 * is not run.
 */
function describeRef(
  spec: string,
  handle: SecretHandle | undefined,
  show: (handle: SecretHandle | undefined, spec: string) => string,
  env: NodeJS.ProcessEnv,
): string {
  if (handle) return show(handle, spec);
  try {
    const r = parseSecretRef(spec);
    if (r.kind === 'env')
      return describeSecret(spec, env[r.name] ? 'x' : undefined, env[r.name] ? undefined : 'not set');
    if (r.kind === 'file')
      return describeSecret(
        spec,
        existsSync(r.path) ? 'x' : undefined,
        existsSync(r.path) ? undefined : 'file not found',
      );
  } catch {
    // shown as written
  }
  return `${spec} (not checked)`;
}
