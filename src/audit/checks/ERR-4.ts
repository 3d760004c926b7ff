/**
 * ERR-4: a circuit breaker stops hammering the API during sustained failure:
 * a breaker library imported by production code (opossum, cockatiel,
 * pybreaker, circuitbreaker, aiobreaker, … the `breaker` list of
 * src/audit/rules.yaml), a hand-written breaker (a class or function named
 * for a circuit breaker) in production code, or, through a gateway, a `breaker`
 * section in gantry.yaml: `pass`; none `fail`.
 */
import { isTestFile } from '../code/project.ts';
import type { Evidence } from '../result.ts';
import {
  anchorEvidence,
  type Evaluator,
  fail,
  findings,
  gatewayProvides,
  libs,
  NO_CLAUDE,
  na,
  ok,
} from './util.ts';

const HAND_WRITTEN =
  /\bclass\s+\w*CircuitBreaker\b|\bdef\s+\w*circuit_breaker\w*|\bfunction\s+\w*[cC]ircuitBreaker\w*|\bclass\s+\w*Breaker\b/;

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const ev: Evidence[] = libs(ctx, 'breaker');
  if (ev.length > 0) return ok('a circuit breaker library is used', ev);
  for (const f of ctx.project.codeFiles()) {
    if (isTestFile(f)) continue;
    const t = ctx.project.text(f);
    const i = t?.search(HAND_WRITTEN) ?? -1;
    if (t && i >= 0)
      return ok('a circuit breaker is implemented', [
        { file: f, line: t.slice(0, i).split('\n').length, message: 'circuit breaker' },
      ]);
  }
  const gw =
    ctx.gateway.length > 0
      ? gatewayProvides(ctx, ['breaker', 'upstream.breaker', 'resilience.breaker'])
      : undefined;
  if (gw) return ok('the Gantry gateway provides the circuit breaker', [gw, ...ctx.gateway]);
  return findings('no circuit breaker', [
    fail(
      anchorEvidence(
        ctx,
        'no circuit breaker library (opossum, cockatiel, pybreaker), no breaker in code and no gateway breaker config',
      ),
    ),
  ]);
};
