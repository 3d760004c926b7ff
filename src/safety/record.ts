/**
 * Recording safety decisions: one `ex.decisions` entry per stage, action and
 * rule (the observe stage logs them, the ledger stores them), one event on the
 * gateway's `events.safety` (metrics by rule), and the `gantry-safety` response
 * header.
 */
import type { SafetyEvent, Topic } from '../observe/events.ts';
import type { Exchange } from '../pipeline/exchange.ts';
import type { Action } from './scanner.ts';

export type SafetyAction = SafetyEvent['action'];
export type SafetyStage = SafetyEvent['stage'];

export const ACTION_NAME: Record<Action, SafetyAction> = {
  flag: 'flagged',
  redact: 'redacted',
  block: 'blocked',
};

/** Records one decision (once per stage, action and rule) and publishes it on `events`. */
export function recordDecision(
  events: Topic<SafetyEvent>,
  ex: Exchange,
  stage: SafetyStage,
  action: SafetyAction,
  rule: string,
): void {
  if (ex.decisions.some((d) => d.stage === stage && d.action === action && d.rule === rule)) return;
  ex.decisions.push({ stage, action, rule });
  events.publish(
    (): SafetyEvent => ({ stage, rule, action, client: ex.client?.name, stream: ex.stream, at: Date.now() }),
  );
}

const RANK: Record<SafetyAction, number> = { flagged: 1, redacted: 2, blocked: 3 };

/**
 * The `gantry-safety` header value for the decisions recorded so far, e.g.
 * `redacted; rules=secret.aws_access_key,pii.email`: the strongest action,
 * then every rule id. Undefined when no safety decision was taken.
 */
export function safetyHeader(ex: Exchange): string | undefined {
  let top: SafetyAction | undefined;
  const rules: string[] = [];
  for (const d of ex.decisions) {
    if (!d.stage.startsWith('safety.')) continue;
    const action = d.action as SafetyAction;
    if (!(action in RANK)) continue;
    if (top === undefined || RANK[action] > RANK[top]) top = action;
    if (d.rule && !rules.includes(d.rule)) rules.push(d.rule);
  }
  return top === undefined ? undefined : `${top}; rules=${rules.join(',')}`;
}
