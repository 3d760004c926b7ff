/**
 * admit: rate limits and budgets before the upstream call (src/limits/,
 * docs/limits.md). Applies to `POST /v1/messages`.
 *
 * - request: estimates input tokens (`estimateRequestTokens`) and reads
 *   `max_tokens`, then asks the limiter: 429 `rate_limited` / `budget_reserved`,
 *   402 `budget_exceeded` or 503 `limits_unavailable` are thrown as
 *   GantryErrors; an admitted request carries `gantry-ratelimit-*` headers
 *   (`ex.responseHeaders`) and, when a spent budget says `downgrade`, a body
 *   whose `model` is rewritten to the cheaper model.
 * - complete: records the upstream's `anthropic-ratelimit-*` headers for
 *   `GET /admin/upstream`, and settles the request's reservations against its
 *   actual usage in the background (never blocking the response).
 */
import { estimateRequestTokens } from '../anthropic/tokens.ts';
import { registerLimitsRoute } from '../limits/admin.ts';
import { openStateStore } from '../limits/index.ts';
import { Limiter, type Ticket } from '../limits/limiter.ts';
import { rewriteModel } from '../limits/rewrite.ts';
import { UpstreamLimits } from '../limits/upstream-info.ts';
import { describeError } from '../observe/log.ts';
import type { Exchange } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

export async function admit(ctx: StageContext): Promise<Stage> {
  const { config, logger } = ctx;
  const store = await openStateStore(config, logger);
  // Shared counters: a read of one (absent) budget round-trips to Redis when it is the store.
  ctx.readiness.add('limits', async () => {
    await store.readBudgets(['readyz']);
    return { ok: true };
  });
  let lastStoreLog = 0;
  const limiter = new Limiter(config, store, {
    onBudgetEvent: (e) => {
      const line = {
        budget_scope: e.scope,
        period: e.period,
        threshold: e.threshold,
        spent_micros: e.spentMicros,
        limit_micros: e.limitMicros,
        action: e.action,
      };
      if (e.threshold >= 100) logger.warn(line, 'budget spent');
      else logger.info(line, 'budget threshold crossed');
    },
    onStoreError: (err, mode) => {
      const now = Date.now();
      if (now - lastStoreLog < 5_000) return;
      lastStoreLog = now;
      logger.warn({ err: describeError(err), on_store_error: mode }, 'limits store failed');
    },
  });
  const upstreamLimits = new UpstreamLimits();
  const tickets = new WeakMap<Exchange, Ticket>();

  ctx.routes.add({
    method: 'GET',
    path: '/admin/upstream',
    access: 'admin',
    handle: () => ({ status: 200, body: { environments: upstreamLimits.all() } }),
  });
  registerLimitsRoute(ctx.routes, limiter, upstreamLimits);

  return {
    name: 'admit',
    async request(ex) {
      if (ex.route.kind !== 'messages' || !ex.client) return;
      const body = ex.body ?? {};
      const maxTokens =
        typeof body.max_tokens === 'number' && Number.isFinite(body.max_tokens)
          ? Math.max(0, Math.floor(body.max_tokens))
          : 0;
      const admission = await limiter.admit(
        {
          client: ex.client.name,
          environment: ex.client.environment,
          customer: ex.customer,
          model: ex.model,
          estimatedInputTokens: estimateRequestTokens(body).total,
          maxTokens,
        },
        ex.decisions,
      );
      if (admission.ticket) tickets.set(ex, admission.ticket);
      if (Object.keys(admission.headers).length > 0) {
        ex.responseHeaders = { ...ex.responseHeaders, ...admission.headers };
      }
      const to = admission.downgradeTo;
      if (to !== undefined && to !== ex.model && ex.rawBody && ex.body) {
        (ex as { rawBody: Buffer }).rawBody = rewriteModel(ex.rawBody, ex.body, to);
        ex.body.model = to;
        ex.requestedModel ??= ex.model;
        ex.model = to;
      }
    },
    complete(ex) {
      if (ex.client && ex.response && ex.route.kind === 'messages') {
        upstreamLimits.observe(ex.client.environment, ex.response.headers, ex.model, ex.upstream.requestId);
      }
      const ticket = tickets.get(ex);
      if (!ticket) return;
      tickets.delete(ex);
      limiter.settle(ticket, ex.usage, ex.model).catch((err) => {
        logger.warn({ req_id: ex.id, err: describeError(err) }, 'limits: settling a request failed');
      });
    },
    close: () => store.close(),
  };
}
