/**
 * OBS-4: cost tracked per feature and per customer: `pass` when gantry.yaml
 * declares clients (one virtual key per feature); else `manual`.
 */
import { configEvidence, type Evaluator, manual, NO_CLAUDE, na, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const clients = ctx.config?.resolved?.clients ?? [];
  if (clients.length > 0)
    return ok(
      `Gantry attributes cost to ${clients.length} client(s)`,
      clients.map((c) => configEvidence(ctx, 'clients', `client ${c.name}`)),
    );
  return manual(
    'confirm cost is attributed per feature and per customer (Gantry clients, or metadata.user_id plus your own ledger)',
  );
};
