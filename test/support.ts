/**
 * Shared set-up for integration suites: a simulator and a gateway on port 0,
 * a config object built like `loadConfig` builds it, and a log sink that keeps
 * every line the gateway writes.
 */
import { Writable } from 'node:stream';
import { parseConfig } from '../src/config/load.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';

export const UPSTREAM_KEY =
  'sk-ant-api03-test-upstream-key-0000000000000000000000000000000000000000000000000000000000AA';

export interface ConfigOverrides {
  upstream?: Partial<ResolvedConfig['upstream']>;
  server?: Partial<ResolvedConfig['server']>;
  clients?: ResolvedConfig['clients'];
  environments?: ResolvedConfig['environments'];
  admin?: ResolvedConfig['admin'];
  storage?: Partial<ResolvedConfig['storage']>;
  /** e.g. `{ maxAttempts: 1 }` for suites that need upstream errors passed through unretried. */
  resilience?: Partial<ResolvedConfig['resilience']>;
}

/** The config `loadConfig` would build for an empty file, with test-friendly overrides. */
export function testConfig(upstreamUrl: string, o: ConfigOverrides = {}): ResolvedConfig {
  const base = parseConfig('{}', { source: 'test', baseDir: process.cwd() });
  return {
    ...base,
    server: { ...base.server, port: 0, drainTimeoutMs: 5_000, ...o.server },
    upstream: { ...base.upstream, baseUrl: upstreamUrl, connectTimeoutMs: 2_000, ...o.upstream },
    environments: o.environments ?? {
      default: { name: 'default', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' },
    },
    clients: o.clients ?? [],
    admin: o.admin ?? {},
    // Tests keep the ledger in memory unless they name a store.
    storage: { ...base.storage, ledger: 'sqlite::memory:', ...o.storage },
    resilience: { ...base.resilience, ...o.resilience },
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
