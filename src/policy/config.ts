/**
 * `clients[].policy`: what the policy stage may do to a client's requests
 * (docs/cost.md). Everything is opt-in except the catalog check: unknown and
 * retired model ids are refused before any upstream spend unless
 * `allow_unknown_models` is set.
 *
 * ```yaml
 * clients:
 *   - name: checkout
 *     policy:
 *       allow_unknown_models: false
 *       models: [claude-haiku-4-5, claude-sonnet-5-5]   # allow-list (ids or aliases)
 *       aliases: { fast: claude-haiku-4-5 }               # client-side names
 *       max_tokens: { default: 1024, cap: 4096, over_cap: clamp }
 *       routing:
 *         - { name: small-to-haiku, model: claude-haiku-4-5, when: { no_tools: true, max_input_tokens: 2000 } }
 *       prompt_caching: auto                              # or off (default)
 *       cache_ttl: 5m
 * ```
 */
import { z } from 'zod';

const modelId = z.string().min(1).max(200);

const routingRuleSchema = z.strictObject({
  /** Rule id recorded in decisions (default `routing[<i>]`). */
  name: z.string().min(1).max(100).optional(),
  /** The cheaper model to use. */
  model: modelId,
  when: z
    .strictObject({
      /** Only requests without `tools`. */
      no_tools: z.boolean().optional(),
      /** Only requests whose estimated input is at most this many tokens. */
      max_input_tokens: z.int().min(1).optional(),
      /** Only requests for these models (ids or aliases); default any. */
      models: z.array(modelId).optional(),
      /** Only requests whose max_tokens is at most this. */
      max_output_tokens: z.int().min(1).optional(),
    })
    .prefault({}),
});

export const policySchema = z.strictObject({
  allow_unknown_models: z.boolean().default(false),
  models: z.array(modelId).optional(),
  aliases: z.record(z.string().min(1).max(100), modelId).optional(),
  max_tokens: z
    .strictObject({
      default: z.int().min(1).optional(),
      cap: z.int().min(1).optional(),
      over_cap: z.enum(['reject', 'clamp']).default('reject'),
    })
    .optional(),
  routing: z.array(routingRuleSchema).optional(),
  prompt_caching: z.enum(['off', 'auto']).default('off'),
  cache_ttl: z.enum(['5m', '1h']).default('5m'),
});

export type RawPolicy = z.output<typeof policySchema>;

export interface RoutingRule {
  name: string;
  model: string;
  when: {
    noTools?: boolean;
    maxInputTokens?: number;
    models?: readonly string[];
    maxOutputTokens?: number;
  };
}

/** A client's policy, resolved (camelCase). */
export interface ClientPolicy {
  allowUnknownModels: boolean;
  /** Allow-list of model ids or aliases; absent: every catalog model. */
  models?: readonly string[];
  /** Client-side alias → model id. */
  aliases?: Readonly<Record<string, string>>;
  maxTokens?: { default?: number; cap?: number; overCap: 'reject' | 'clamp' };
  routing?: readonly RoutingRule[];
  promptCaching: 'off' | 'auto';
  cacheTtl: '5m' | '1h';
}

export const DEFAULT_POLICY: ClientPolicy = Object.freeze({
  allowUnknownModels: false,
  promptCaching: 'off',
  cacheTtl: '5m',
});

export function resolvePolicy(raw: RawPolicy | undefined): ClientPolicy {
  if (!raw) return DEFAULT_POLICY;
  const p: ClientPolicy = {
    allowUnknownModels: raw.allow_unknown_models,
    promptCaching: raw.prompt_caching,
    cacheTtl: raw.cache_ttl,
  };
  if (raw.models) p.models = raw.models;
  if (raw.aliases) p.aliases = raw.aliases;
  if (raw.max_tokens) {
    p.maxTokens = { overCap: raw.max_tokens.over_cap };
    if (raw.max_tokens.default !== undefined) p.maxTokens.default = raw.max_tokens.default;
    if (raw.max_tokens.cap !== undefined) p.maxTokens.cap = raw.max_tokens.cap;
  }
  if (raw.routing) {
    p.routing = raw.routing.map((r, i) => {
      const when: RoutingRule['when'] = {};
      if (r.when.no_tools !== undefined) when.noTools = r.when.no_tools;
      if (r.when.max_input_tokens !== undefined) when.maxInputTokens = r.when.max_input_tokens;
      if (r.when.models !== undefined) when.models = r.when.models;
      if (r.when.max_output_tokens !== undefined) when.maxOutputTokens = r.when.max_output_tokens;
      return { name: r.name ?? `routing[${i}]`, model: r.model, when };
    });
  }
  return p;
}
