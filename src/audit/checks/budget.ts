/** A client of the Gantry config with a budget (`clients[].limits.budget`). */
import type { AuditContext } from '../context.ts';
import type { Evidence } from '../result.ts';
import { configEvidence } from './util.ts';

export function clientBudget(ctx: AuditContext): Evidence | undefined {
  const client = (ctx.config?.resolved?.clients ?? []).find((c) => c.limits.budget !== undefined);
  return client ? configEvidence(ctx, 'clients', `client ${client.name} has a budget`) : undefined;
}
