/**
 * policy: per-client model and request policy, after validate and before any
 * upstream spend (docs/cost.md).
 *
 * In order, for Messages (and count_tokens for the model checks):
 * 1. client aliases (`policy.aliases`) → a model id;
 * 2. the catalog: an unknown or retired id → 404 `model_not_found` naming the
 *    closest valid ids (unless `allow_unknown_models` for new ids);
 * 3. the allow-list (`policy.models`) → 403 `model_not_allowed`;
 * 4. opt-in routing rules (first match → cheaper model);
 * 5. `max_tokens`: default when missing, cap (reject with 400 or clamp);
 * 6. prompt caching `auto`: a breakpoint at the end of a long tools + system prefix.
 *
 * Every change is a decision on `ex.decisions` (→ log line and ledger). The
 * body is re-serialised once, only when something changed; otherwise the
 * request bytes are forwarded untouched.
 */
import { resolveModel } from '../anthropic/models.ts';
import { GantryError } from '../errors.ts';
import { type ClientPolicy, DEFAULT_POLICY } from '../policy/config.ts';
import { allowed, autoCache, catalogRefusal, matchRoute, maxTokensPolicy } from '../policy/rules.ts';
import { setBodyFields } from './body.ts';
import type { Decision } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

export function policy(ctx: StageContext): Stage {
  const byClient = new Map<string, ClientPolicy>();
  for (const c of ctx.config.clients) if (c.policy) byClient.set(c.name, c.policy);

  return {
    name: 'policy',
    request(ex) {
      const kind = ex.route.kind;
      if ((kind !== 'messages' && kind !== 'count_tokens') || !ex.body || typeof ex.model !== 'string')
        return;
      const p = byClient.get(ex.client?.name ?? '') ?? DEFAULT_POLICY;
      const body = ex.body;
      const changes: Record<string, unknown> = {};
      const decide = (d: Omit<Decision, 'stage'>) => ex.decisions.push({ stage: 'policy', ...d });
      const requested = ex.model;
      let model = requested;

      const aliased = p.aliases?.[model];
      if (aliased !== undefined) {
        model = aliased;
        decide({ action: 'rewritten', rule: 'policy.aliases', detail: model });
      }
      const refusal = catalogRefusal(model, p.allowUnknownModels);
      if (refusal) throw new GantryError('model_not_found', refusal);
      if (!allowed(model, p.models)) {
        throw new GantryError(
          'model_not_allowed',
          `model: ${model} is not allowed for client "${ex.client?.name}"; allowed: ${p.models!.join(', ')}`,
        );
      }
      if (kind === 'messages') {
        const route = matchRoute(p.routing, model, body);
        if (route) {
          decide({
            action: 'routed',
            rule: `policy.routing.${route.name}`,
            detail: `${model}->${route.model}`,
          });
          model = route.model;
        }
        const mt = maxTokensPolicy(body, p.maxTokens);
        if (mt.kind === 'reject') {
          throw new GantryError(
            'max_tokens_over_cap',
            `max_tokens: ${mt.was} is above this client's cap of ${mt.cap}; send at most ${mt.cap}.`,
          );
        }
        if (mt.kind === 'default' || mt.kind === 'clamp') {
          changes.max_tokens = mt.value;
          decide(
            mt.kind === 'default'
              ? { action: 'rewritten', rule: 'policy.max_tokens.default', detail: String(mt.value) }
              : { action: 'clamped', rule: 'policy.max_tokens.cap', detail: `${mt.was}->${mt.value}` },
          );
        }
      }
      if (model !== requested) {
        changes.model = model;
        ex.requestedModel = requested;
        ex.model = model;
      }
      if (kind === 'messages' && p.promptCaching === 'auto') {
        const cached = autoCache({ ...body, ...changes }, resolveModel(model), p.cacheTtl);
        if (cached) {
          changes[cached.where] = cached.body[cached.where];
          decide({ action: 'rewritten', rule: 'policy.prompt_caching.auto', detail: cached.where });
        }
      }
      if (Object.keys(changes).length > 0) setBodyFields(ex, changes);
    },
  };
}
