/**
 * KEY-1: production traffic uses a key from a dedicated production
 * Workspace: not knowable from files, so `manual` (the evidence lists Gantry
 * environments whose name contains `prod` and their key reference); `n/a`
 * when the project does not call Claude.
 */
import type { Evidence } from '../result.ts';
import { configEvidence, type Evaluator, manual, NO_CLAUDE, na } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const envs = ctx.config?.resolved ? Object.keys(ctx.config.resolved.environments) : [];
  const ev: Evidence[] = envs
    .filter((e) => /prod/i.test(e))
    .map((e) =>
      configEvidence(
        ctx,
        `environments.${e}`,
        `environment ${e} uses ${ctx.config?.resolved?.environments[e].upstreamKey}`,
      ),
    );
  return manual(
    'confirm in the Anthropic Console that the production key belongs to a dedicated production Workspace',
    ev,
  );
};
