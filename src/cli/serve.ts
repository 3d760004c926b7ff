/**
 * `gantry serve`: load and validate the config, start the gateway, and drain
 * gracefully on SIGTERM / SIGINT (exit 0 once in-flight requests have finished
 * or the drain timeout has passed).
 */
import { loadConfig } from '../config/load.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { startGateway } from '../gateway/server.ts';

export interface ServeOptions {
  config?: string;
  port?: number;
  host?: string;
}

export async function run(opts: ServeOptions): Promise<void> {
  let config: ResolvedConfig = loadConfig({ path: opts.config });
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
  const gateway = await startGateway({ config });
  const mode =
    config.clients.length === 0
      ? 'local mode: clients send the upstream key'
      : `${config.clients.length} clients`;
  gateway.logger.info(
    { url: gateway.url, upstream: config.upstream.baseUrl, config: config.source },
    `gantry gateway listening on ${gateway.url} (${mode})`,
  );
  process.stderr.write(`gantry serve listening on ${gateway.url} -> ${config.upstream.baseUrl} (${mode})\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`gantry serve: ${signal}, draining (up to ${config.server.drainTimeoutMs} ms)\n`);
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
