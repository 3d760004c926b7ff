/**
 * Prompt caching as the Messages API defines it (reference §6): one copy of
 * these facts for the gateway's policy (automatic caching) and the simulator
 * (which emulates the cache).
 */
import type { ModelEntry } from './models.ts';

/** Most `cache_control` breakpoints a request may carry. */
export const MAX_BREAKPOINTS = 4;
/** How many content blocks before a breakpoint the API looks back for an earlier cache entry. */
export const LOOKBACK_BLOCKS = 20;
/** Cache entry lifetimes by `ttl`. */
export const CACHE_TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
export type CacheTtl = keyof typeof CACHE_TTL_MS;
/** Minimum cacheable prompt assumed when the catalog has none for the model (unconfirmed in the reference). */
const DEFAULT_MIN_CACHEABLE_TOKENS = 1024;

/** The shortest prefix a model caches, in tokens. */
export function minCacheableTokens(model: Pick<ModelEntry, 'min_cacheable_tokens'> | undefined): number {
  return model?.min_cacheable_tokens ?? DEFAULT_MIN_CACHEABLE_TOKENS;
}
