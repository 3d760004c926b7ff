/**
 * INFRA-1: deployment uses a canary or rolling strategy: Gantry canary,
 * Argo Rollouts / Flagger canaries, RollingUpdate or a Deployment (rolling
 * by default) `pass`; `Recreate` `fail`; no manifests `manual`.
 */
import { at, type Evaluator, fail, findings, gatewayProvides, manual, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  const gw = gatewayProvides(ctx, ['canary']);
  if (gw) return ok('Gantry canary config', [gw]);
  const kinds = ctx.scan.byRule('k8s-kind');
  const progressive = kinds.filter((h) => /Rollout|Canary/.test(h.groups?.[0] ?? ''));
  if (progressive.length > 0)
    return ok(
      'progressive delivery manifests found',
      progressive.map((h) => at(h, `kind: ${h.groups?.[0]}`)),
    );
  const strategies = ctx.scan.byRule('k8s-strategy');
  const recreate = strategies.filter((h) => h.groups?.[0] === 'Recreate');
  if (recreate.length > 0)
    return findings(
      'a deployment replaces every pod at once',
      recreate.map((h) => fail(at(h, 'strategy type Recreate: use RollingUpdate or a canary'))),
    );
  const rolling = strategies.filter((h) => h.groups?.[0] === 'RollingUpdate');
  if (rolling.length > 0)
    return ok(
      'rolling update strategy',
      rolling.map((h) => at(h, 'strategy type RollingUpdate')),
    );
  const deployments = kinds.filter((h) => /Deployment|StatefulSet/.test(h.groups?.[0] ?? ''));
  if (deployments.length > 0)
    return ok(
      'Kubernetes Deployment (RollingUpdate by default)',
      deployments.map((h) => at(h, `kind: ${h.groups?.[0]} without strategy: RollingUpdate is the default`)),
    );
  return manual(
    'no deployment manifests found: confirm the platform deploys with a canary or rolling strategy',
  );
};
