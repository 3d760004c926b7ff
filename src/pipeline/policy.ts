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
 *
 * A Message Batch (`POST /v1/messages/batches`) gets the same model policy on
 * every request it carries (aliases, catalog, allow-list, routing, `max_tokens`,
 * prompt caching).
 */
import { resolveModel } from '../anthropic/models.ts';
import { GantryError } from '../errors.ts';
import { type ClientPolicy, DEFAULT_POLICY } from '../policy/config.ts';
import { allowed, autoCache, catalogRefusal, matchRoute, maxTokensPolicy } from '../policy/rules.ts';
import { setBodyFields } from './body.ts';
import type { Decision, Exchange } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

/** What the policy made of one request's parameters (a Message, or one request of a batch). */
interface Applied {
  /** The model after aliases and routing. */
  model: string;
  /** Top-level fields to change (empty when the request passes untouched). */
  changes: Record<string, unknown>;
}

/**
 * The policy rules on one request's parameters, in order (see above). Throws
 * the GantryError of the first refusal; `where` prefixes messages for a batch
 * request (`requests[3] (custom_id "x"): `).
 */
function applyPolicy(
  p: ClientPolicy,
  client: string,
  params: Record<string, unknown>,
  requested: string,
  kind: 'messages' | 'count_tokens',
  decide: (d: Omit<Decision, 'stage'>) => void,
  where = '',
): Applied {
  const changes: Record<string, unknown> = {};
  let model = requested;
  const aliased = p.aliases?.[model];
  if (aliased !== undefined) {
    model = aliased;
    decide({ action: 'rewritten', rule: 'policy.aliases', detail: model });
  }
  const refusal = catalogRefusal(model, p.allowUnknownModels);
  if (refusal) throw new GantryError('model_not_found', where + refusal);
  if (!allowed(model, p.models)) {
    throw new GantryError(
      'model_not_allowed',
      `${where}model: ${model} is not allowed for client "${client}"; allowed: ${p.models!.join(', ')}`,
    );
  }
  if (kind === 'messages') {
    const route = matchRoute(p.routing, model, params);
    if (route) {
      decide({ action: 'routed', rule: `policy.routing.${route.name}`, detail: `${model}->${route.model}` });
      model = route.model;
    }
    const mt = maxTokensPolicy(params, p.maxTokens);
    if (mt.kind === 'reject') {
      throw new GantryError(
        'max_tokens_over_cap',
        `${where}max_tokens: ${mt.was} is above this client's cap of ${mt.cap}; send at most ${mt.cap}.`,
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
  if (model !== requested) changes.model = model;
  if (kind === 'messages' && p.promptCaching === 'auto') {
    const cached = autoCache({ ...params, ...changes }, resolveModel(model), p.cacheTtl);
    if (cached) {
      changes[cached.where] = cached.body[cached.where];
      decide({ action: 'rewritten', rule: 'policy.prompt_caching.auto', detail: cached.where });
    }
  }
  return { model, changes };
}

export function policy(ctx: StageContext): Stage {
  const byClient = new Map<string, ClientPolicy>();
  for (const c of ctx.config.clients) if (c.policy) byClient.set(c.name, c.policy);

  return {
    name: 'policy',
    // Compiled per client: the client's policy is looked up once, not per request.
    forClient(client) {
      if (client === undefined) return undefined;
      const p = byClient.get(client.name) ?? DEFAULT_POLICY;
      return {
        request(ex) {
          const decide = (d: Omit<Decision, 'stage'>) => ex.decisions.push({ stage: 'policy', ...d });
          const kind = ex.route.kind;
          if (kind === 'batches.create') return batchPolicy(ex, p, client.name, decide);
          if ((kind !== 'messages' && kind !== 'count_tokens') || !ex.body || typeof ex.model !== 'string')
            return;
          const requested = ex.model;
          const { model, changes } = applyPolicy(p, client.name, ex.body, requested, kind, decide);
          if (model !== requested) {
            ex.requestedModel = requested;
            ex.model = model;
          }
          if (Object.keys(changes).length > 0) setBodyFields(ex, changes);
        },
      };
    },
  };
}

/**
 * A Message Batch gets the client's model policy on every request it carries:
 * the first refusal refuses the whole batch (naming the request), changes are
 * written into each request's `params`.
 */
function batchPolicy(
  ex: Exchange,
  p: ClientPolicy,
  client: string,
  decide: (d: Omit<Decision, 'stage'>) => void,
): void {
  const requests = ex.body?.requests;
  if (!Array.isArray(requests)) return;
  let changed = false;
  const seen = new Set<string>();
  const once = (d: Omit<Decision, 'stage'>) => {
    const key = `${d.action}/${d.rule}/${d.detail}`;
    if (seen.has(key)) return;
    seen.add(key);
    decide(d);
  };
  const out = requests.map((r: unknown, i) => {
    const req = r as { custom_id?: unknown; params?: unknown };
    const params = req?.params;
    if (params === null || typeof params !== 'object' || Array.isArray(params)) return r;
    const model = (params as { model?: unknown }).model;
    if (typeof model !== 'string') return r;
    const where = `requests[${i}]${typeof req.custom_id === 'string' ? ` (custom_id "${req.custom_id.slice(0, 64)}")` : ''}: `;
    const applied = applyPolicy(p, client, params as Record<string, unknown>, model, 'messages', once, where);
    if (Object.keys(applied.changes).length === 0) return r;
    changed = true;
    return { ...req, params: { ...(params as Record<string, unknown>), ...applied.changes } };
  });
  if (changed) setBodyFields(ex, { requests: out });
}
