/**
 * Rate limits and budgets (COST-1, COST-2, COST-3). The admit stage
 * (`src/pipeline/admit.ts`) is the only user on the request path; see
 * docs/limits.md for configuration and guarantees.
 */
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/types.ts';
import { MemoryStore } from './memory.ts';
import type { StateStore } from './store.ts';

export {} from './limiter.ts';
export {} from './memory.ts';
export type { StateStore } from './store.ts';

/** A redis URL without anything secret in it, for logs. */
function describeStore(url: string): string {
  if (url === 'memory') return 'memory';
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Opens the store `storage.state` names; a Redis store waits up to 2 s for its first connection. */
export async function openStateStore(config: ResolvedConfig, logger: Logger): Promise<StateStore> {
  const url = config.storage.state;
  if (url === 'memory') return new MemoryStore();
  let lastLog = 0;
  // Loaded only when used: ioredis stays off the start-up path of memory-store gateways.
  const { RedisStore } = await import('./redis.ts');
  const store = new RedisStore({
    url,
    keyPrefix: config.limits.keyPrefix,
    // A Redis that accepts and never answers fails each command within the limits' own timeout.
    commandTimeoutMs: config.limits.storeTimeoutMs,
    onError: (err) => {
      const now = Date.now();
      if (now - lastLog < 10_000) return;
      lastLog = now;
      logger.warn(
        { store: describeStore(url), err: (err as { code?: string }).code ?? err.name },
        'state store error',
      );
    },
  });
  if (!(await store.ready(2_000))) {
    logger.warn(
      { store: describeStore(url) },
      'state store not reachable at start-up; limits apply their on_store_error choice until it is',
    );
  }
  return store;
}
