/**
 * rollouts: the pipeline stage between `policy` and `safety.input`.
 *
 * For a client named by a rollout (`rollouts[].clients`), on Messages and
 * count_tokens requests whose model (after policy) is the rollout's baseline
 * model (any model when the baseline names none):
 * 1. the arm: the pinned one (`gantry-rollout-arm`), else the sticky hash
 *    of the customer (else the client) against the candidate's share now;
 * 2. a prompt sent by reference (`gantry-prompt`) is substituted, at the
 *    version the arm names (src/rollouts/prompts.ts);
 * 3. the arm's changes: model, `max_tokens`, `thinking`, prompt caching,
 *    environment (src/rollouts/arms.ts);
 * 4. while the rollout is running, paused or complete, the exchange carries
 *    `ex.rollout` (→ the record, the ledger row's `rollout`/`arm` columns and
 *    the guards) and the response the `gantry-rollout: <id>/<arm>` header.
 *
 * Compiled per client: a client in no rollout, on a gateway with no
 * `prompts:`, runs nothing here. The guards are fed by the `observe` hook
 * (the frozen record). The admin routes (`/admin/rollouts`) exist on every
 * gateway with an admin key, rollouts or not.
 */
import type { Logger } from 'pino';
import { resolveModel } from '../anthropic/models.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { ExchangeClient } from '../pipeline/exchange.ts';
import type { Stage, StageContext, StageHooks } from '../pipeline/stage.ts';
import { registerRolloutRoutes } from './admin.ts';
import { applyArm, armAt, pinnedArm, ROLLOUT_HEADER, subjectOf, toolErrorsOf } from './arms.ts';
import type { RolloutConfig } from './config.ts';
import { RolloutController } from './controller.ts';
import type { ArmName } from './counts.ts';
import { PromptLibrary } from './prompts.ts';
import { isActive, percentOf } from './state.ts';
import { MemoryRolloutStore, type RolloutStore } from './store.ts';

const canonical = (model: string): string => resolveModel(model)?.id ?? model;

/** Opens the store of `storage.state` for rollouts (Redis: waits up to 2 s for the first connection). */
async function openRolloutStore(config: ResolvedConfig, logger: Logger): Promise<RolloutStore> {
  const url = config.storage.state;
  if (url === 'memory') return new MemoryRolloutStore();
  const { RedisRolloutStore } = await import('./redis.ts');
  let lastLog = 0;
  const store = new RedisRolloutStore({
    url,
    keyPrefix: config.limits.keyPrefix,
    commandTimeoutMs: config.limits.storeTimeoutMs,
    onError: (err) => {
      const now = Date.now();
      if (now - lastLog < 10_000) return;
      lastLog = now;
      logger.warn({ err: (err as { code?: string }).code ?? err.name }, 'rollout store error');
    },
  });
  await store.ready(2_000);
  return store;
}

export async function rollouts(ctx: StageContext): Promise<Stage> {
  const { config, logger } = ctx;
  const library = new PromptLibrary(config.prompts);
  const controller =
    config.rollouts.length > 0
      ? new RolloutController({
          rollouts: config.rollouts,
          store: await openRolloutStore(config, logger),
          logger,
          events: ctx.events,
        })
      : undefined;
  await controller?.start();
  registerRolloutRoutes(ctx.routes, controller);

  const byClient = new Map<string, RolloutConfig[]>();
  for (const r of config.rollouts)
    for (const c of r.clients) byClient.set(c, [...(byClient.get(c) ?? []), r]);

  const hooksFor = (client: ExchangeClient): StageHooks | undefined => {
    const mine = (byClient.get(client.name) ?? []).map((r) => ({
      r,
      model: r.baseline.model === undefined ? undefined : canonical(r.baseline.model),
    }));
    if (mine.length === 0 && library.size === 0) return undefined;
    const hooks: StageHooks = {
      request(ex) {
        const kind = ex.route.kind;
        if ((kind !== 'messages' && kind !== 'count_tokens') || !ex.body) return;
        const ref = library.size > 0 ? PromptLibrary.reference(ex) : undefined;
        const model = typeof ex.model === 'string' ? canonical(ex.model) : undefined;
        const match = mine.find((m) => m.model === undefined || m.model === model)?.r;
        if (!match) {
          if (ref) library.apply(ex, ref, undefined);
          return;
        }
        const state = controller!.state(match.id);
        const active = isActive(state);
        let arm: ArmName = 'baseline';
        if (active) {
          const pin = match.allowPin && state.status !== 'complete' ? pinnedArm(ex) : undefined;
          arm = pin ?? armAt(match.id, subjectOf(ex), percentOf(match, state));
        }
        const spec = match[arm];
        if (ref) library.apply(ex, ref, spec.prompts?.[ref.name]);
        applyArm(ex, match.id, spec);
        if (!active) return;
        const toolErrors = kind === 'messages' ? toolErrorsOf(ex.body) : 0;
        ex.rollout = { id: match.id, arm, step: state.step, ...(toolErrors > 0 ? { toolErrors } : {}) };
        ex.responseHeaders = { ...ex.responseHeaders, [ROLLOUT_HEADER]: `${match.id}/${arm}` };
      },
    };
    if (mine.length > 0) hooks.observe = (record) => controller!.record(record);
    return hooks;
  };

  return {
    name: 'rollouts',
    forClient: (client) => (client === undefined ? undefined : hooksFor(client)),
    async close(options) {
      await controller?.close(options?.deadline);
    },
  };
}
