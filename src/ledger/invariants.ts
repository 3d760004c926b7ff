/**
 * Accounting invariants, checked on every accounted usage. A broken one is a
 * bug somewhere (ours, or a new API shape): it is published on
 * the gateway's `events.invariant` and logged, never silently priced.
 *
 * - `model_not_in_catalog`: tokens were used on a model the catalog does not
 *   price (a passed-through new id): the cost is unknown, not zero.
 * - `tokens_without_cost`: tokens were used but a price needed for them is
 *   missing, or the cost is 0 µ$ although input + output alone must cost at
 *   least 1 µ$ (10 tokens at the cheapest catalog price, $0.10 / MTok).
 * - `cache_counted_twice`: the cache-write total differs from its 5 m + 1 h
 *   split, or a cache category is negative — one token counted in two places.
 * - `model_mismatch`: the upstream says it ran another model than the one sent
 *   (aliases and dated ids of one model are the same model). The row is priced
 *   at the model that ran.
 */
import type { Cost } from '../anthropic/cost.ts';
import { resolveModel } from '../anthropic/models.ts';
import type { Usage } from '../anthropic/usage.ts';
import type { InvariantEvent } from '../observe/events.ts';

export type InvariantRule = InvariantEvent['rule'];

function totalTokens(u: Usage): number {
  return (
    u.inputTokens +
    u.outputTokens +
    u.cacheCreation5mInputTokens +
    u.cacheCreation1hInputTokens +
    u.cacheReadInputTokens
  );
}

/** Whether two model ids name different models (an alias and its dated id are one model). */
function differentModels(sent: string | undefined, answered: string | undefined): boolean {
  if (sent === undefined || answered === undefined || sent === answered) return false;
  const a = resolveModel(sent);
  const b = resolveModel(answered);
  return a === undefined || b === undefined ? true : a.id !== b.id;
}

/**
 * The invariants `usage` priced as `cost` on `model` breaks (empty when all
 * hold); `sentModel` is the model the request named, when it differs.
 */
export function brokenInvariants(
  usage: Usage,
  cost: Cost,
  model: string | undefined,
  sentModel?: string,
): InvariantRule[] {
  const out: InvariantRule[] = [];
  if (differentModels(sentModel, model)) out.push('model_mismatch');
  const tokens = totalTokens(usage);
  const known = model !== undefined && resolveModel(model) !== undefined;
  if (tokens > 0 && !known) out.push('model_not_in_catalog');
  else if (
    tokens > 0 &&
    (!cost.priced || (cost.micros === 0 && usage.inputTokens + usage.outputTokens >= 10))
  ) {
    out.push('tokens_without_cost');
  }
  if (
    usage.cacheCreationInputTokens !== usage.cacheCreation5mInputTokens + usage.cacheCreation1hInputTokens ||
    usage.cacheCreation5mInputTokens < 0 ||
    usage.cacheCreation1hInputTokens < 0 ||
    usage.cacheReadInputTokens < 0
  ) {
    out.push('cache_counted_twice');
  }
  return out;
}
