/**
 * account: price every exchange and write its ledger row (docs/cost.md,
 * docs/storage.md).
 *
 * An observer: it receives the record of each finished exchange, priced once by
 * `recordOf` (src/pipeline/record.ts) at the model the upstream says it ran —
 * one usage reducer (src/anthropic/usage.ts), one cost function
 * (src/anthropic/cost.ts), integer micro-dollars. Exchanges that were never
 * authenticated (401s, parse errors before authentication, unknown routes)
 * get no row: they are counted in metrics. Batch results fetched through the gateway are
 * accounted line by line at batch price, one row per result (id
 * `batch:<batch id>:<custom_id>`, so fetching the results twice never counts
 * them twice). Broken invariants are published on `events.invariant` and
 * logged.
 *
 * Rows are queued in memory and written off the request path by the
 * LedgerWriter; `close({ deadline })` writes what is left and spills to a
 * local file what the store cannot take by the deadline (replayed at the
 * next start).
 */
import { type Cost, costOf } from '../anthropic/cost.ts';
import type { Usage } from '../anthropic/usage.ts';
import { brokenInvariants } from '../ledger/invariants.ts';
import { type LedgerRow, ledgerRowOf, usageColumns } from '../ledger/row.ts';
import { createLedgerStore, LEDGER_OFF, type LedgerStore } from '../ledger/store.ts';
import { LedgerWriter } from '../ledger/writer.ts';
import type { InvariantEvent } from '../observe/events.ts';
import type { ExchangeRecord } from './record.ts';
import type { Stage, StageContext } from './stage.ts';

export function account(ctx: StageContext): Stage {
  const { config, logger } = ctx;
  const ledger = config.storage.ledger === LEDGER_OFF ? undefined : openWriter(ctx);
  if (!ledger) {
    logger.warn('storage.ledger is off: exchanges are priced but no ledger row is kept');
    ctx.routes.add({
      method: 'GET',
      path: '/admin/ledger',
      access: 'admin',
      handle: () => ({ status: 200, body: { store: LEDGER_OFF } }),
    });
  }
  // Undefined when the ledger is off: `writer?.add(...)` then builds no row at all.
  const writer = ledger?.writer;

  const check = (
    exchangeId: string,
    rowId: string,
    usage: Usage,
    cost: Cost,
    model: string | undefined,
    sentModel?: string,
  ) => {
    for (const rule of brokenInvariants(usage, cost, model, sentModel)) {
      logger.warn(
        { req_id: exchangeId, invariant: rule, model, sent_model: sentModel, ledger_row: rowId },
        'accounting invariant broken',
      );
      ctx.events.invariant.publish((): InvariantEvent => {
        const e: InvariantEvent = { rule, requestId: rowId, at: Date.now() };
        if (model !== undefined) e.model = model;
        return e;
      });
    }
  };

  const observe = (r: ExchangeRecord) => {
    if (r.usage && r.cost) check(r.id, r.id, r.usage, r.cost, r.cost.model ?? r.model, r.model);
    writer?.add(ledgerRowOf(r));

    const lines = r.batchResults;
    if (!lines) return;
    const batchId = r.resourceId ?? 'unknown';
    const base = ledgerRowOf(r);
    for (const line of lines) {
      const cost = costOf(line.usage, line.model, { batch: true });
      const id = `batch:${batchId}:${line.customId}`;
      check(r.id, id, line.usage, cost, line.model);
      const row: LedgerRow = {
        ...base,
        id,
        route: 'batches.result',
        model: line.model ?? null,
        requestedModel: null,
        stream: false,
        status: 200,
        outcome: 'ok',
        errorType: null,
        ...usageColumns(line.usage),
        costMicros: cost.micros,
        priced: cost.priced,
        batch: true,
        decisions: '[]',
      };
      writer?.add(row);
    }
  };

  return {
    name: 'account',
    // The ledger keeps authenticated clients' exchanges; the rest is counted in metrics only.
    forClient: (client) => (client === undefined ? undefined : { observe }),
    async close(options) {
      if (!ledger) return;
      const stats = await ledger.writer.close({ deadline: options?.deadline });
      logger.info({ ledger_store: ledger.store.where, ...stats }, 'ledger closed');
    },
  };
}

/** The ledger store and its writer, with the readiness check and the admin view. */
function openWriter(ctx: StageContext): { store: LedgerStore; writer: LedgerWriter } {
  const { config, logger } = ctx;
  const store = createLedgerStore(config.storage.ledger, {
    timeoutMs: config.storage.ledgerTimeoutMs,
    spillDir: config.storage.ledgerSpillDir,
  });
  const writer = new LedgerWriter({
    store,
    bufferRows: config.storage.ledgerBufferRows,
    flushMs: config.storage.ledgerFlushMs,
    closeTimeoutMs: config.storage.ledgerCloseTimeoutMs,
    logger,
    events: ctx.events.ledger,
  });
  // Open the store (and replay spill files of an earlier shutdown) off the start-up path: a store
  // that is down at start is retried like an outage.
  void writer.flush();

  // Down when the last store call failed or timed out; a stale store is pinged (bounded by its timeout).
  ctx.readiness.add('ledger', () => writer.check());

  ctx.routes.add({
    method: 'GET',
    path: '/admin/ledger',
    access: 'admin',
    handle: () => ({ status: 200, body: { store: store.where, ...writer.stats() } }),
  });
  return { store, writer };
}
