/** Set-up shared by the resilience suites: a gateway with one client and resilience overrides. */
import { hashKey } from '../src/config/keys.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';
import { DEFAULT_RESILIENCE, type ResilienceConfig } from '../src/resilience/config.ts';
import { LogSink, testConfig, UPSTREAM_KEY } from './support.ts';

export const VIRTUAL_KEY = 'gk_resilienceKey00000000000000000000000000000';

type Client = ResolvedConfig['clients'][number];
interface Setup {
  resilience?: Partial<ResilienceConfig>;
  client?: Partial<Client>;
  environments?: ResolvedConfig['environments'];
  admin?: ResolvedConfig['admin'];
  upstreamUrl?: string;
}

export async function startResilientGateway(
  sim: { url: string },
  o: Setup = {},
): Promise<{ gateway: Gateway; logs: LogSink }> {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  const logs = new LogSink();
  const base = testConfig(o.upstreamUrl ?? sim.url, {
    environments: o.environments ?? {
      prod: { name: 'prod', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' },
    },
    clients: [{ name: 'app', environment: 'prod', keySha256: hashKey(VIRTUAL_KEY), limits: {}, ...o.client }],
    admin: o.admin ?? {},
  });
  const config = { ...base, resilience: { ...DEFAULT_RESILIENCE, ...o.resilience } };
  const gateway = await startGateway({ config, logDestination: logs });
  return { gateway, logs };
}
