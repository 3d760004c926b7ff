/**
 * OBS-5: alerting on error rates: Prometheus-style `alert:` rules in YAML,
 * or an `alerts` section in gantry.yaml, `pass`; none `fail`.
 */
import {
  anchorEvidence,
  at,
  type Evaluator,
  fail,
  findings,
  gatewayProvides,
  NO_CLAUDE,
  na,
  ok,
} from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const gw = gatewayProvides(ctx, ['alerts', 'alerting']);
  if (gw) return ok('Gantry alerts are configured', [gw]);
  const rules = ctx.scan.byRule('alert-rule');
  if (rules.length > 0)
    return ok(
      `${rules.length} alert rule(s) found`,
      rules.slice(0, 8).map((h) => at(h, `alert ${h.groups?.[0]}`)),
    );
  return findings('no alerting on error rates', [
    fail(anchorEvidence(ctx, 'no alert rules (Prometheus alert:, Gantry alerts) found')),
  ]);
};
