/**
 * Admin routes of rollouts (behind the admin key; docs/gateway.md):
 *
 * - `GET /admin/rollouts`: every configured rollout with its state (status,
 *   step, share), steps, arms, the guards as this replica last read them
 *   (candidate, baseline, limit) and the decisions kept with their figures.
 * - `POST /admin/rollouts` `{"id", "action"}`: `start` (or resume),
 *   `pause`, `promote`, `abort`; answers the new state and the decision.
 *   404 `rollout_not_found`, 409 `rollout_conflict` when the action does not
 *   apply to the status, 503 `rollout_store_unavailable` when the store does
 *   not answer.
 */
import { GantryError } from '../errors.ts';
import type { RouteRegistry } from '../pipeline/stage.ts';
import type { Arm, RolloutConfig } from './config.ts';
import type { RolloutController } from './controller.ts';
import { GUARDS } from './guards.ts';
import {
  OPERATOR_ACTIONS,
  type OperatorAction,
  percentOf,
  type RolloutDecision,
  type RolloutState,
} from './state.ts';

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

function armView(a: Arm): Record<string, unknown> {
  return {
    name: a.name,
    model: a.model ?? null,
    ...(a.maxTokens !== undefined ? { max_tokens: a.maxTokens } : {}),
    ...(a.thinking
      ? {
          thinking: a.thinking.type,
          ...(a.thinking.budgetTokens ? { thinking_budget_tokens: a.thinking.budgetTokens } : {}),
        }
      : {}),
    ...(a.promptCaching ? { prompt_caching: a.promptCaching, cache_ttl: a.cacheTtl } : {}),
    ...(a.environment ? { environment: a.environment } : {}),
    ...(a.prompts ? { prompts: a.prompts } : {}),
  };
}

/** A decision as the admin API and the console show it. */
function decisionView(d: RolloutDecision): Record<string, unknown> {
  return {
    at: iso(d.at),
    action: d.action,
    by: d.by,
    from_percent: d.fromPercent,
    to_percent: d.toPercent,
    reason: d.reason,
    ...(d.breaches ? { breaches: d.breaches } : {}),
    ...(d.window ? { window: { ...d.window, from: iso(d.window.from), to: iso(d.window.to) } } : {}),
  };
}

/** One rollout as `GET /admin/rollouts` shows it. */
function rolloutView(
  config: RolloutConfig,
  state: RolloutState,
  controller: RolloutController,
): Record<string, unknown> {
  const last = controller.last(config.id);
  const readings = last?.evaluation.window.guards ?? [];
  return {
    id: config.id,
    status: state.status,
    clients: config.clients,
    step: state.step,
    percent: percentOf(config, state),
    started_at: iso(state.runStartedAt),
    step_started_at: iso(state.stepStartedAt),
    updated_at: iso(state.updatedAt),
    steps: config.steps.map((s, i) => ({
      name: `step ${i + 1}`,
      percent: s.percent,
      hold_ms: s.holdMs,
      min_requests: s.minRequests,
      current: (state.status === 'running' || state.status === 'paused') && i === state.step,
    })),
    arms: [armView(config.baseline), armView(config.candidate)],
    window_ms: config.windowMs,
    evaluate_every_ms: config.evaluateEveryMs,
    min_samples: config.minSamples,
    guards: Object.entries(config.guards).map(([name, limits]) => {
      const r = readings.find((x) => x.guard === name);
      return {
        metric: name,
        unit: GUARDS[name as keyof typeof GUARDS].unit,
        max: limits!.max,
        ratio: limits!.ratio,
        margin: limits!.margin,
        candidate: r?.candidate ?? null,
        baseline: r?.baseline ?? null,
        threshold: r?.limit ?? null,
        judged: r?.judged ?? false,
        breached: r?.breached ?? false,
      };
    }),
    evaluation: last
      ? {
          at: iso(last.at),
          verdict: last.evaluation.verdict,
          reason: last.evaluation.reason,
          baseline: last.evaluation.window.baseline,
          candidate: last.evaluation.window.candidate,
        }
      : null,
    decisions: [...state.decisions].reverse().map(decisionView),
  };
}

export function registerRolloutRoutes(
  routes: RouteRegistry,
  controller: RolloutController | undefined,
): void {
  routes.add({
    method: 'GET',
    path: '/admin/rollouts',
    access: 'admin',
    async handle() {
      if (!controller) return { status: 200, body: { store: null, rollouts: [] } };
      await controller.refresh().catch(() => {});
      return {
        status: 200,
        body: {
          store: controller.store.kind,
          rollouts: controller.configs.map((c) => rolloutView(c, controller.state(c.id), controller)),
        },
      };
    },
  });
  routes.add({
    method: 'POST',
    path: '/admin/rollouts',
    access: 'admin',
    async handle(request) {
      const b = (request.body ?? {}) as { id?: unknown; action?: unknown };
      if (typeof b.action !== 'string' || !(OPERATOR_ACTIONS as readonly string[]).includes(b.action))
        throw new GantryError('invalid_body', `action: expected one of ${OPERATOR_ACTIONS.join(', ')}.`);
      if (typeof b.id !== 'string')
        throw new GantryError('invalid_body', 'id: expected the id of a rollout.');
      const config = controller?.config(b.id);
      if (!controller || !config) {
        const known = controller?.configs.map((c) => c.id) ?? [];
        throw new GantryError(
          'rollout_not_found',
          `No rollout "${b.id.slice(0, 64)}" on this gateway${known.length > 0 ? `; rollouts: ${known.join(', ')}` : ' (none in rollouts: of gantry.yaml)'}.`,
        );
      }
      let out: Awaited<ReturnType<RolloutController['act']>>;
      try {
        out = await controller.act(b.id, b.action as OperatorAction);
      } catch (err) {
        throw new GantryError(
          'rollout_store_unavailable',
          'The rollout state store did not answer; read the rollout (GET /admin/rollouts) before trying again.',
          {
            cause: err,
          },
        );
      }
      if ('refused' in out) throw new GantryError('rollout_conflict', `${b.action}: ${out.refused}.`);
      return {
        status: 200,
        body: { rollout: rolloutView(config, out.state, controller), decision: decisionView(out.decision) },
      };
    },
  });
}
