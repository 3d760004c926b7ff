/**
 * COST-3: cost alerts and spend caps: `pass` with Gantry budgets in
 * gantry.yaml; else `manual` (Console spend limits cannot be seen from
 * files).
 */
import { clientBudget } from './budget.ts';
import { type Evaluator, gatewayProvides, manual, NO_CLAUDE, na, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const gw =
    gatewayProvides(ctx, ['limits.overall.budget', 'limits.environments', 'budgets', 'budget']) ??
    clientBudget(ctx);
  if (gw) return ok('Gantry budgets are configured', [gw]);
  return manual(
    'confirm monthly and daily spend limits and cost alerts in the Anthropic Console (or configure Gantry budgets)',
  );
};
