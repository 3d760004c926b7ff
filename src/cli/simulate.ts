/**
 * `gantry simulate`: runs the Anthropic API simulator until SIGINT/SIGTERM.
 *
 * @example
 *   gantry simulate --port 4010 --profile flaky --keys sk-test-1,sk-test-2 --seed 7
 */
import {
  PROFILE_NAMES,
  PROFILES,
  type ProfileName,
  startSimulator,
  TIER_NAMES,
  type TierName,
} from '../simulator/index.ts';
export interface SimulateOptions {
  port: number;
  host: string;
  profile?: string;
  tier: string;
  keys?: string;
  seed: string;
}

import { usageError as usage } from './errors.ts';

export async function run(opts: SimulateOptions): Promise<void> {
  const profile = (opts.profile ?? 'default') as ProfileName;
  if (!PROFILE_NAMES.includes(profile)) {
    throw usage(`unknown profile "${opts.profile}" (expected one of: ${PROFILE_NAMES.join(', ')})`);
  }
  if (!TIER_NAMES.includes(opts.tier as TierName)) {
    throw usage(`unknown tier "${opts.tier}" (expected one of: ${TIER_NAMES.join(', ')})`);
  }
  // A profile with its own tier (perf: unlimited, rate-limited: tiny) wins over the
  // CLI's default tier; an explicitly different --tier still overrides it.
  const p = PROFILES[profile];
  const tier = 'tier' in p && opts.tier === 'build' ? undefined : (opts.tier as TierName);
  const keys = opts.keys
    ?.split(',')
    .map((k) => k.trim())
    .filter(Boolean);

  const sim = await startSimulator({
    host: opts.host,
    port: opts.port,
    profile,
    tier,
    acceptedKeys: keys?.length ? keys : undefined,
    seed: opts.seed,
  });
  process.stdout.write(
    `gantry simulate listening on ${sim.url} (profile ${profile}, tier ${sim.state.limiter.tierName})\n`,
  );

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      sim.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
