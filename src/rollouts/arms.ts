/**
 * Which arm serves a request, and what an arm changes in it.
 *
 * Assignment is sticky: a request goes to the candidate when the hash of
 * (rollout id, subject) falls under the candidate's share, the subject being
 * the customer (`ex.customer`), else the client (one virtual key per client).
 * Raising the share only adds subjects to the candidate, so a customer on the
 * candidate stays there as the rollout is promoted, and every replica
 * computes the same arm from the same share. A request may pin its arm with
 * the `gantry-rollout-arm` header (unless the rollout sets `allow_pin: false`).
 */
import { hash } from 'node:crypto';
import { resolveModel } from '../anthropic/models.ts';
import { GantryError } from '../errors.ts';
import { setBodyFields } from '../pipeline/body.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import { autoCache } from '../policy/rules.ts';
import type { Arm } from './config.ts';
import type { ArmName } from './counts.ts';

/** The header a request pins its arm with. */
const PIN_HEADER = 'gantry-rollout-arm';
/** The response header naming the rollout and arm that served a request. */
export const ROLLOUT_HEADER = 'gantry-rollout';

const canonical = (m: string | undefined): string | undefined =>
  m === undefined ? undefined : (resolveModel(m)?.id ?? m);

/** The subject's position in [0, 10000) for a rollout: below `percent × 100` is the candidate. */
function slotOf(rolloutId: string, subject: string): number {
  return hash('sha256', `${rolloutId}\0${subject}`, 'buffer').readUInt32BE(0) % 10_000;
}

/** The subject a request is assigned by: its customer, else its client. */
export function subjectOf(ex: Pick<Exchange, 'customer' | 'client'>): string {
  return ex.customer !== undefined ? `customer:${ex.customer}` : `client:${ex.client?.name ?? ''}`;
}

/** The arm of a subject at a candidate share of `percent`. */
export function armAt(rolloutId: string, subject: string, percent: number): ArmName {
  if (percent >= 100) return 'candidate';
  if (percent <= 0) return 'baseline';
  return slotOf(rolloutId, subject) < Math.round(percent * 100) ? 'candidate' : 'baseline';
}

/** The arm a request pins, or undefined; a value naming no arm is refused. */
export function pinnedArm(ex: Pick<Exchange, 'headers'>): ArmName | undefined {
  const v = ex.headers[PIN_HEADER];
  if (v === undefined) return undefined;
  const arm = (Array.isArray(v) ? v[0] : v).trim().toLowerCase();
  if (arm === 'baseline' || arm === 'candidate') return arm;
  throw new GantryError('invalid_rollout_arm', `${PIN_HEADER}: expected baseline or candidate.`);
}

/**
 * Applies an arm's changes to a Messages (or count_tokens) request: model,
 * then `max_tokens`, `thinking` and prompt caching (Messages only), then the
 * environment. Each change is a decision of stage `rollouts`; the body is
 * changed only through `setBodyFields`.
 */
export function applyArm(ex: Exchange, rolloutId: string, arm: Arm): void {
  const body = ex.body;
  if (!body) return;
  const rule = `rollout.${rolloutId}.${arm.name}`;
  const changes: Record<string, unknown> = {};
  const messages = ex.route.kind === 'messages';
  // The same model under another name (an alias, a dated id) is no change: the bytes stay as sent.
  const sameModel =
    arm.model === ex.model || (ex.model !== undefined && canonical(arm.model) === canonical(ex.model));
  if (arm.model !== undefined && !sameModel) {
    ex.decisions.push({ stage: 'rollouts', action: 'routed', rule, detail: `${ex.model}->${arm.model}` });
    if (ex.requestedModel === undefined) ex.requestedModel = ex.model;
    ex.model = arm.model;
    changes.model = arm.model;
  }
  if (messages && arm.maxTokens !== undefined && body.max_tokens !== arm.maxTokens) {
    changes.max_tokens = arm.maxTokens;
    ex.decisions.push({
      stage: 'rollouts',
      action: 'rewritten',
      rule: `${rule}.max_tokens`,
      detail: String(arm.maxTokens),
    });
  }
  if (messages && arm.thinking !== undefined) {
    changes.thinking =
      arm.thinking.type === 'enabled'
        ? { type: 'enabled', budget_tokens: arm.thinking.budgetTokens }
        : { type: arm.thinking.type };
    ex.decisions.push({
      stage: 'rollouts',
      action: 'rewritten',
      rule: `${rule}.thinking`,
      detail: arm.thinking.type,
    });
  }
  if (messages && arm.promptCaching === 'auto') {
    const cached = autoCache({ ...body, ...changes }, resolveModel(ex.model ?? ''), arm.cacheTtl);
    if (cached) {
      changes[cached.where] = cached.body[cached.where];
      ex.decisions.push({
        stage: 'rollouts',
        action: 'rewritten',
        rule: `${rule}.prompt_caching`,
        detail: cached.where,
      });
    }
  }
  if (Object.keys(changes).length > 0) setBodyFields(ex, changes);
  if (arm.environment !== undefined && ex.client && ex.client.environment !== arm.environment) {
    ex.decisions.push({
      stage: 'rollouts',
      action: 'routed',
      rule: `${rule}.environment`,
      detail: arm.environment,
    });
    ex.client = { ...ex.client, environment: arm.environment };
  }
}

/**
 * Requests that report a failed tool call: `tool_result` blocks with
 * `is_error: true` in the last user turn (the answer to the tool use the
 * arm's model produced one turn before).
 */
export function toolErrorsOf(body: Record<string, unknown> | undefined): number {
  const messages = body?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 0;
  const last = messages[messages.length - 1] as { role?: unknown; content?: unknown } | null;
  if (last?.role !== 'user' || !Array.isArray(last.content)) return 0;
  let n = 0;
  for (const block of last.content as unknown[]) {
    const b = block as { type?: unknown; is_error?: unknown } | null;
    if (b && b.type === 'tool_result' && b.is_error === true) n += 1;
  }
  return n;
}
