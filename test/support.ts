/**
 * Shared set-up for integration suites: a simulator and a gateway on port 0,
 * a config object built like `loadConfig` builds it, and a log sink that keeps
 * every line the gateway writes.
 */
import { Writable } from 'node:stream';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';

export const UPSTREAM_KEY =
  'sk-ant-api03-test-upstream-key-0000000000000000000000000000000000000000000000000000000000AA';

export interface ConfigOverrides {
  upstream?: Partial<ResolvedConfig['upstream']>;
  server?: Partial<ResolvedConfig['server']>;
  clients?: ResolvedConfig['clients'];
  environments?: ResolvedConfig['environments'];
}

export function testConfig(upstreamUrl: string, o: ConfigOverrides = {}): ResolvedConfig {
  return {
    source: 'test',
    server: {
      host: '127.0.0.1',
      port: 0,
      bodyLimit: 32 * 1024 * 1024,
      headerLimit: 16 * 1024,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 65_000,
      drainTimeoutMs: 5_000,
      ...o.server,
    },
    upstream: {
      baseUrl: upstreamUrl,
      connections: 16,
      connectTimeoutMs: 2_000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
      ...o.upstream,
    },
    environments: o.environments ?? {
      default: { name: 'default', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' },
    },
    clients: o.clients ?? [],
    logging: { level: 'info', destination: 'stdout' },
    secrets: { execRefreshMs: 300_000, execTimeoutMs: 10_000 },
  };
}

/** A pino destination that keeps lines in memory. */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l));
  }
}

export async function startTestGateway(
  upstreamUrl: string,
  o: ConfigOverrides = {},
): Promise<{ gateway: Gateway; logs: LogSink }> {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const logs = new LogSink();
  const gateway = await startGateway({ config: testConfig(upstreamUrl, o), logDestination: logs });
  return { gateway, logs };
}
