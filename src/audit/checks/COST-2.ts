/**
 * COST-2: application-level rate limiting: a rate-limit library imported by
 * production code (bottleneck, rate-limiter-flexible, express-rate-limit,
 * @fastify/rate-limit, hono-rate-limiter, @nestjs/throttler, slowapi,
 * limits, aiolimiter, flask_limiter, fastapi_limiter, @upstash/ratelimit, …
 * the `rate_limit` list of src/audit/rules.yaml), a hand-written limiter
 * that is applied (defined and used), or Gantry clients with `limits`:
 * `pass`; none `fail`.
 */
import { isTestFile } from '../code/project.ts';
import {
  anchorEvidence,
  configEvidence,
  type Evaluator,
  fail,
  findings,
  gatewayProvides,
  libs,
  NO_CLAUDE,
  na,
  ok,
} from './util.ts';

const DEFINITION =
  /\b(?:function|def|class|const|let|var)\s+([A-Za-z_$]*(?:[Rr]ate_?[Ll]imit|RATE_LIMIT|[Tt]hrottl)[A-Za-z_$]*)/g;

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const ev = libs(ctx, 'rate_limit');
  if (ev.length > 0) return ok('an application rate limiter is used', ev);
  const withLimits = (ctx.config?.resolved?.clients ?? []).filter((c) => Object.keys(c.limits).length > 0);
  if (withLimits.length > 0)
    return ok(
      'Gantry clients have limits',
      withLimits.map((c) => configEvidence(ctx, 'limits', `client ${c.name} has limits`)),
    );
  const gw = gatewayProvides(ctx, ['limits', 'rate_limits']);
  if (gw) return ok('Gantry config sets limits', [gw]);
  const prod = ctx.project.codeFiles().filter((f) => !isTestFile(f));
  for (const f of prod) {
    const t = ctx.project.text(f);
    if (!t) continue;
    for (const m of t.matchAll(DEFINITION)) {
      const name = m[1];
      const re = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`, 'g');
      const uses = prod.reduce((n, g) => n + ((ctx.project.text(g) ?? '').match(re)?.length ?? 0), 0);
      if (uses >= 2) {
        const line = t.slice(0, m.index).split('\n').length;
        return ok('a hand-written rate limiter is applied', [
          { file: f, line, message: `${name} is defined and used` },
        ]);
      }
    }
  }
  return findings('no application rate limiting', [
    fail(
      anchorEvidence(
        ctx,
        'no rate limiter (express-rate-limit, bottleneck, slowapi, …), no limiter in code and no Gantry client limits',
      ),
    ),
  ]);
};
