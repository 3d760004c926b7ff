/**
 * Preflight's view of a gateway's cloud platforms (Bedrock, Vertex AI): the
 * causes `/health` reports for each platform of each environment
 * (docs/platforms.md), as findings, each naming its platform, so a wrong AWS
 * signature or an expired Google token is told apart from the Claude API key
 * and from the other platform. Kept apart from preflight.ts, which calls it
 * once after the readiness probe.
 */
import type { Finding } from './result.ts';

interface PlatformHealth {
  environments?: Record<
    string,
    {
      platforms?: Record<
        string,
        { region?: string; probe?: { cause?: string; status?: number; detail?: string } }
      >;
    }
  >;
}

/** What each cause means for a platform, and how bad it is. */
const CAUSES: Record<string, { level: 'warn' | 'fail'; means: string }> = {
  credentials_invalid: {
    level: 'fail',
    means: 'the platform refused the gateway’s credentials (signature or token)',
  },
  credentials_unavailable: {
    level: 'fail',
    means: 'the gateway could not obtain credentials for the platform',
  },
  model_unavailable: { level: 'warn', means: 'the probe model is not enabled on the platform' },
  capacity: { level: 'warn', means: 'the platform is throttling' },
  upstream_outage: { level: 'warn', means: 'the platform answers 5xx' },
  unreachable: { level: 'fail', means: 'the platform endpoint did not answer' },
};

/** Findings for every platform whose probe is not `ok` (none when the gateway has no platforms). */
export async function platformFindings(base: string, timeoutMs: number): Promise<Finding[]> {
  let body: PlatformHealth;
  try {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    body = (await res.json()) as PlatformHealth;
  } catch {
    return [];
  }
  const out: Finding[] = [];
  for (const [env, e] of Object.entries(body.environments ?? {})) {
    for (const [platform, p] of Object.entries(e.platforms ?? {})) {
      const cause = p.probe?.cause ?? 'unknown';
      if (cause === 'ok') continue;
      const c = CAUSES[cause] ?? { level: 'warn' as const, means: cause };
      out.push({
        level: c.level,
        key: `environments.${env}.${platform}`,
        message: `${platform} (${p.region ?? 'no region'}): ${cause}: ${c.means}${p.probe?.detail ? ` (${p.probe.detail.slice(0, 200)})` : ''}`,
      });
    }
  }
  return out;
}
