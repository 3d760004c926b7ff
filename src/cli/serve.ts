/**
 * `gantry serve`: load and validate the config, start the gateway, and drain
 * gracefully on SIGTERM / SIGINT (exit 0 once in-flight requests have finished
 * or the drain timeout has passed).
 *
 * `gantry serve --simulate`: the same gateway with the built-in simulator as
 * its upstream (started in this process), for a first try without an
 * Anthropic key. It is never the default: only this flag turns it on, the
 * banner says SIMULATED, every response carries `gantry-upstream: simulated`
 * and `/health` says `"simulated": true`.
 *
 * At start, a local-mode gateway whose upstream key does not resolve says so
 * in plain words on stderr (every request would be refused with 401).
 */
import { existsSync } from 'node:fs';
import { DEFAULT_ENVIRONMENT } from '../config/fields.ts';
import { parseSecretRef } from '../config/refs.ts';
import type { EnvironmentConfig, ResolvedConfig } from '../config/types.ts';
import { startGateway } from '../gateway/server.ts';
import { EXIT, readConfig } from './errors.ts';

export interface ServeOptions {
  config?: string;
  port?: number;
  host?: string;
  simulate?: boolean;
}

/** The key clients send to a `--simulate` gateway in local mode (and the one it sends the simulator). */
export const SIMULATED_KEY = 'gantry-simulated-key';
const SIMULATED_KEY_ENV = 'GANTRY_SIMULATED_UPSTREAM_KEY';

export async function run(opts: ServeOptions): Promise<void> {
  let config: ResolvedConfig = await readConfig({ path: opts.config });
  if (opts.port !== undefined || opts.host !== undefined) {
    config = Object.freeze({
      ...config,
      server: Object.freeze({
        ...config.server,
        port: opts.port ?? config.server.port,
        host: opts.host ?? config.server.host,
      }),
    });
  }
  const sim = opts.simulate ? await startBuiltInSimulator() : undefined;
  if (sim) config = simulatedConfig(config, sim.url);
  else warnMissingLocalKey(config);

  const gateway = await startGateway({ config, simulated: sim !== undefined });
  const mode =
    config.clients.length === 0
      ? 'local mode: clients send the upstream key'
      : `${config.clients.length} clients`;
  gateway.logger.info(
    { url: gateway.url, upstream: config.upstream.baseUrl, config: config.source, simulated: Boolean(sim) },
    `gantry gateway listening on ${gateway.url} (${mode})`,
  );
  if (sim) process.stderr.write(simulatedBanner(gateway.url, sim.url, config));
  else
    process.stderr.write(
      `gantry serve listening on ${gateway.url} -> ${config.upstream.baseUrl} (${mode})\n`,
    );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`gantry serve: ${signal}, draining (up to ${config.server.drainTimeoutMs} ms)\n`);
    gateway
      .close()
      .then(() => sim?.close())
      .then(
        () => process.exit(EXIT.ok),
        () => process.exit(EXIT.failure),
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function startBuiltInSimulator() {
  const { startSimulator } = await import('../simulator/index.ts');
  return startSimulator({ host: '127.0.0.1', port: 0, profile: 'default' });
}

/**
 * The config with the simulator as upstream: its base URL, one simulated key
 * for every environment (so no real key is read or sent anywhere), and the
 * ledger in memory (simulated spend never reaches the real ledger).
 */
export function simulatedConfig(config: ResolvedConfig, simulatorUrl: string): ResolvedConfig {
  process.env[SIMULATED_KEY_ENV] = SIMULATED_KEY;
  const ref = `env:${SIMULATED_KEY_ENV}`;
  const environments: Record<string, EnvironmentConfig> = {};
  for (const [name, env] of Object.entries(config.environments)) {
    environments[name] = env.upstreamKeys
      ? {
          name,
          upstreamKey: ref,
          upstreamKeys: env.upstreamKeys.map((k) => ({ ...k, key: ref })),
        }
      : { name, upstreamKey: ref };
  }
  return Object.freeze({
    ...config,
    upstream: Object.freeze({ ...config.upstream, baseUrl: simulatorUrl }),
    environments: Object.freeze(environments),
    // Simulated spend never mixes with the real ledger.
    storage: Object.freeze({ ...config.storage, ledger: 'sqlite::memory:' }),
  });
}

function simulatedBanner(url: string, simulatorUrl: string, config: ResolvedConfig): string {
  const local = config.clients.length === 0;
  const key = local ? SIMULATED_KEY : '<a virtual key from `gantry keys create`>';
  return [
    '',
    '  *** SIMULATED UPSTREAM: answers come from Gantry’s built-in simulator, not from Claude ***',
    '',
    `  gantry serve listening on ${url} -> simulator ${simulatorUrl}`,
    '  Every response carries `gantry-upstream: simulated`; /health says "simulated": true.',
    '  Replies echo your last message (docs/simulator.md); nothing is billed, no Anthropic key is used,',
    '  and the ledger is kept in memory.',
    '',
    '  Try it:',
    `    curl -s ${url}/v1/messages -H 'x-api-key: ${key}' \\`,
    `      -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \\`,
    `      -d '{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    '  From the TypeScript SDK:',
    `    const client = new Anthropic({ baseURL: '${url}', apiKey: '${key}' });`,
    `    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] });`,
    '',
    '  For real answers: stop this, set ANTHROPIC_API_KEY and run `npx gantry serve` (or `npm start`).',
    '',
  ].join('\n');
}

/**
 * In local mode the gateway accepts only its own upstream key: with none, it
 * can only refuse. Says so plainly (the gateway also logs a JSON warning).
 */
function warnMissingLocalKey(config: ResolvedConfig): void {
  if (config.clients.length > 0) return;
  const spec = config.environments[DEFAULT_ENVIRONMENT]?.upstreamKey;
  if (spec === undefined) return;
  const missing = missingReason(spec);
  if (missing === undefined) return;
  process.stderr.write(
    [
      `gantry serve: no Anthropic API key: ${missing}.`,
      '  In local mode (no clients in gantry.yaml) the gateway forwards with that key and accepts only',
      '  requests that carry the same key, so every request will be refused with 401 until it is set.',
      `  Set it (export ANTHROPIC_API_KEY=sk-ant-…) and start again, or try Gantry offline with the`,
      '  built-in simulator: npx gantry serve --simulate',
      '',
    ].join('\n'),
  );
}

/** Why a secret reference has no value now (env and file only; exec is left to the gateway's log). */
function missingReason(spec: string): string | undefined {
  try {
    const ref = parseSecretRef(spec);
    if (ref.kind === 'env' && !process.env[ref.name]) return `${ref.name} is not set (upstream_key: ${spec})`;
    if (ref.kind === 'file' && !existsSync(ref.path))
      return `${ref.path} does not exist (upstream_key: ${spec})`;
  } catch {
    // an invalid reference was already refused by the config check
  }
  return undefined;
}
