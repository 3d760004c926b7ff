/**
 * `GET /admin/limits` (admin key): what the console's Limits page shows —
 * every configured scope's rate-limit headroom and budget spend with the
 * reservations of requests in flight (`LimitsEnforcer.status`, read from the state
 * store shared by every replica), and the upstream's own limits and tier from
 * the last `anthropic-ratelimit-*` headers this replica saw.
 */
import { GantryError } from '../errors.ts';
import type { RouteRegistry } from '../pipeline/stage.ts';
import type { LimitsEnforcer } from './limiter.ts';
import type { UpstreamLimits } from './upstream-info.ts';

export function registerLimitsRoute(
  routes: RouteRegistry,
  limiter: LimitsEnforcer,
  upstream: UpstreamLimits,
): void {
  routes.add({
    method: 'GET',
    path: '/admin/limits',
    access: 'admin',
    async handle() {
      let scopes: Awaited<ReturnType<LimitsEnforcer['status']>>;
      try {
        scopes = await limiter.status();
      } catch (err) {
        throw new GantryError(
          'limits_unavailable',
          `The ${limiter.store.kind} limits store did not answer: ${(err as Error).message}`,
          { cause: err, headers: { 'retry-after': '1' } },
        );
      }
      return {
        status: 200,
        body: {
          generated_at: new Date().toISOString(),
          store: limiter.store.kind,
          scopes,
          upstream: upstream.all(),
        },
      };
    },
  });
}
