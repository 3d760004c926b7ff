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
 *   actual usage in the background (never blocking the response; retried,
 *   idempotent on the request id, which is the reservation's lease id).
 * - readiness: one round trip to the store (down when it fails or times out;
 *   transitions are logged and published as `gantry_limits_store_up`).
 * - start-up, and `POST /admin/budgets/reconcile`: budget counters raised to
 *   what the ledger holds (src/limits/reconcile.ts).
 */
import { costOf, worstCaseCostMicros } from '../anthropic/cost.ts';
import { estimateRequestTokens } from '../anthropic/tokens.ts';
import { createLedgerStore, LEDGER_OFF } from '../ledger/store.ts';
import { registerLimitsRoute } from '../limits/admin.ts';
import { openStateStore } from '../limits/index.ts';
import { LimitsEnforcer } from '../limits/limiter.ts';
import { reconcileBudgets } from '../limits/reconcile.ts';
import { UpstreamLimits } from '../limits/upstream-info.ts';
import type { LimitsStoreEvent } from '../observe/events.ts';
import { describeError } from '../observe/log.ts';
import { setBodyFields } from './body.ts';
import type { Exchange } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

export async function admit(ctx: StageContext): Promise<Stage> {
  const { config, logger } = ctx;
  const store = await openStateStore(config, logger);
  let lastStoreLog = 0;
  const limiter = new LimitsEnforcer(config, store, {
    onBudgetEvent: (e) => {
      ctx.events.budget.publish(() => e);
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
    onStoreState: (up, err) => {
      if (up) logger.warn({ store: store.kind }, 'limits store back');
      else logger.error({ store: store.kind, err: describeError(err) }, 'limits store unavailable');
      ctx.events.limitsStore.publish((): LimitsStoreEvent => ({ up, at: Date.now() }));
    },
    onSettleAbandoned: (err, ticket) => {
      logger.error(
        { req_id: ticket.leaseId, reserved_micros: ticket.reservedMicros, err: describeError(err) },
        'limits: budget settlement given up (the ledger keeps the spend; reconciled at the next start or POST /admin/budgets/reconcile)',
      );
    },
  });
  // Shared counters: one read round trip (bounded by limits.store_timeout_ms).
  ctx.readiness.add('limits', async () => {
    await limiter.ping();
    return { ok: true };
  });
  const reconcile = budgetReconciler(ctx, limiter);
  if (reconcile) {
    // Off the start-up path: the gateway listens while the ledger is read.
    void reconcile().catch((err) =>
      logger.warn({ err: describeError(err) }, 'budgets: reconciliation from the ledger failed'),
    );
    ctx.routes.add({
      method: 'POST',
      path: '/admin/budgets/reconcile',
      access: 'admin',
      handle: async () => ({ status: 200, body: { budgets: await reconcile() } }),
    });
  }
  const upstreamLimits = new UpstreamLimits();

  ctx.routes.add({
    method: 'GET',
    path: '/admin/upstream',
    access: 'admin',
    handle: () => ({ status: 200, body: { environments: upstreamLimits.all() } }),
  });
  registerLimitsRoute(ctx.routes, limiter, upstreamLimits);

  const request = async (ex: Exchange) => {
    const kind = ex.route.kind;
    if ((kind !== 'messages' && kind !== 'batches.create') || !ex.client) return;
    const body = ex.body ?? {};
    const who = {
      id: ex.id,
      client: ex.client.name,
      environment: ex.client.environment,
      customer: ex.customer,
    };
    const admission = await limiter.admit(
      kind === 'messages'
        ? {
            ...who,
            model: ex.model,
            estimatedInputTokens: estimateRequestTokens(body).total,
            maxTokens: maxTokensOf(body),
          }
        : // A batch is one request for the rate limits; its budget reservation is every
          // request's worst case at the batch price, held while the batch is created.
          { ...who, estimatedInputTokens: 0, maxTokens: 0, reserveMicros: batchWorstCaseMicros(body) },
      ex.decisions,
    );
    if (admission.ticket) ex.admission = admission.ticket;
    if (Object.keys(admission.headers).length > 0) {
      ex.responseHeaders = { ...ex.responseHeaders, ...admission.headers };
    }
    const to = admission.downgradeTo;
    if (to !== undefined && to !== ex.model && ex.body) {
      setBodyFields(ex, { model: to });
      ex.requestedModel ??= ex.model;
      ex.model = to;
    }
  };

  const complete = (ex: Exchange) => {
    if (ex.client && ex.route.kind === 'batches.results' && ex.batchResults && ex.params.id) {
      // Batch results are spend without a reservation: charged once per batch, whoever fetches them.
      const micros = ex.batchResults.reduce(
        (sum, line) => sum + costOf(line.usage, line.model, { batch: true }).micros,
        0,
      );
      limiter
        .chargeOnce({
          id: `batch:${ex.params.id}`,
          client: ex.client.name,
          environment: ex.client.environment,
          customer: ex.customer,
          micros,
        })
        .catch((err) => {
          logger.warn(
            { req_id: ex.id, err: describeError(err) },
            'limits: charging batch results failed (the ledger keeps them; reconciled later)',
          );
        });
    }
    if (ex.client && ex.response && ex.route.kind === 'messages') {
      upstreamLimits.observe(ex.client.environment, ex.response.headers, ex.model, ex.upstream.requestId);
    }
    const ticket = ex.admission;
    if (!ticket) return;
    ex.admission = undefined;
    limiter.settle(ticket, ex.usage, ex.model).catch((err) => {
      logger.warn({ req_id: ex.id, err: describeError(err) }, 'limits: settling a request failed');
    });
  };

  return {
    name: 'admit',
    // Compiled per client: a client no limit or budget applies to only has its answers observed.
    forClient(client) {
      if (client === undefined) return undefined;
      const limited = limiter
        .scopes(client.name, client.environment, '')
        .some((s) => s.limits.rpm || s.limits.inputTpm || s.limits.outputTpm || s.limits.budget);
      return limited ? { request, complete } : { complete };
    },
    async close(options) {
      // Settlements still retrying get until the shutdown deadline.
      await limiter.close({ deadline: options?.deadline });
      await store.close();
    },
  };
}

/**
 * Reconciles budget counters with the ledger (a store of its own, opened per
 * run and closed after); undefined when no budget is configured or the ledger
 * is off. Each run logs the budgets it raised.
 */
function budgetReconciler(ctx: StageContext, limiter: LimitsEnforcer) {
  const { config, logger } = ctx;
  const scopes = [
    config.limits.overall,
    ...Object.values(config.limits.environments),
    ...config.clients.flatMap((c) => [c.limits, c.limits.perCustomer]),
  ];
  if (config.storage.ledger === LEDGER_OFF || !scopes.some((s) => s?.budget)) return undefined;
  return async () => {
    const ledger = createLedgerStore(config.storage.ledger, { timeoutMs: config.storage.ledgerTimeoutMs });
    try {
      await ledger.init();
      const budgets = await reconcileBudgets(limiter, ledger);
      const raised = budgets.filter((b) => b.raised);
      if (raised.length > 0) {
        logger.warn(
          {
            budgets_raised: raised.map((b) => ({
              scope: b.scope,
              period: b.period,
              counter_micros: b.counterMicros,
              ledger_micros: b.ledgerMicros,
            })),
          },
          'budgets reconciled from the ledger: counters were behind',
        );
      }
      return budgets;
    } finally {
      await ledger.close();
    }
  };
}

const maxTokensOf = (params: Record<string, unknown>): number =>
  typeof params.max_tokens === 'number' && Number.isFinite(params.max_tokens)
    ? Math.max(0, Math.floor(params.max_tokens))
    : 0;

/** Every request of a batch at its worst case and the batch price, µ$ (unknown models count 0). */
function batchWorstCaseMicros(body: Record<string, unknown>): number {
  const requests = Array.isArray(body.requests) ? body.requests : [];
  let total = 0;
  for (const r of requests) {
    const params = (r as { params?: unknown })?.params as Record<string, unknown> | undefined;
    if (params === null || typeof params !== 'object') continue;
    const model = typeof params.model === 'string' ? params.model : undefined;
    total +=
      worstCaseCostMicros(model, estimateRequestTokens(params).total, maxTokensOf(params), { batch: true }) ??
      0;
  }
  return total;
}
