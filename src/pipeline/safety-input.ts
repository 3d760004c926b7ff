/**
 * safety.input: checks a Messages request against the client's `safety`
 * config before any upstream spend. It never changes the request: the body is
 * read (parsed once by the transport), never rewritten, and fields Gantry does
 * not know pass through.
 *
 * 1. Input limits (characters and estimated tokens of user content, messages,
 *    images, documents, body bytes): exceeding one answers 400
 *    `input_limit_exceeded`, naming the limit.
 * 2. Prompt-injection heuristics on user text and tool results: a detector
 *    whose score reaches `injection.threshold` is recorded (`flag`) or
 *    answers 400 `input_blocked` (`block`).
 * 3. Input moderation (webhook or model) on the user's text.
 *
 * Decisions go to `ex.decisions`; safety.output turns them into the
 * `gantry-safety` response header.
 */
import { GantryError } from '../errors.ts';
import { type SafetyConfig, safetyEnabled } from '../safety/config.ts';
import { detectInjection } from '../safety/injection.ts';
import { checkInputLimits, summarizeInput } from '../safety/input.ts';
import { Moderator } from '../safety/moderation.ts';
import { recordDecision, safetyHeader } from '../safety/record.ts';
import type { Exchange } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

interface Plan {
  cfg: SafetyConfig;
  moderator: Moderator | undefined;
}

export function safetyInput(ctx: StageContext): Stage {
  const plans = new Map<string, Plan>();
  for (const client of ctx.config.clients) {
    if (!safetyEnabled(client.safety)) continue;
    const cfg = client.safety;
    const moderates = cfg.moderation.mode !== 'off' && cfg.moderation.applyTo !== 'output';
    plans.set(client.name, {
      cfg,
      moderator: moderates ? new Moderator(cfg.moderation, ctx, client.environment) : undefined,
    });
  }

  const run = async (plan: Plan, ex: Exchange) => {
    if (ex.route.kind !== 'messages' && ex.route.kind !== 'count_tokens') return;
    const { cfg } = plan;
    const input = summarizeInput(ex.body);
    try {
      checkInputLimits(cfg.inputLimits, input, ex.rawBody?.length ?? 0);
    } catch (err) {
      const e = err as GantryError;
      recordDecision(ctx.events.safety, ex, 'safety.input', 'blocked', `limit.${String(e.details?.limit)}`);
      throw new GantryError(e.code, e.message, { details: e.details, headers: decisionHeader(ex) });
    }
    if (ex.route.kind !== 'messages') return;

    if (cfg.injection.mode !== 'off') {
      const hits = new Map<string, number>();
      for (const t of input.texts) {
        if (t.source === 'tool_result' && !cfg.injection.scanToolResults) continue;
        for (const hit of detectInjection(t.text)) {
          if (hit.score >= cfg.injection.threshold)
            hits.set(hit.rule, Math.max(hit.score, hits.get(hit.rule) ?? 0));
        }
      }
      if (hits.size > 0) {
        const action = cfg.injection.mode === 'block' ? 'blocked' : 'flagged';
        for (const rule of hits.keys()) recordDecision(ctx.events.safety, ex, 'safety.input', action, rule);
        if (action === 'blocked') {
          throw new GantryError(
            'input_blocked',
            'The request was blocked by the gateway’s prompt-injection policy.',
            {
              details: { rules: [...hits.keys()] },
              headers: decisionHeader(ex),
            },
          );
        }
      }
    }

    if (plan.moderator) {
      const text = input.texts.map((t) => t.text).join('\n');
      if (text.length === 0) return;
      const verdict = await plan.moderator.check(text, 'input');
      if (verdict.flagged) {
        const action = cfg.moderation.mode === 'block' ? 'blocked' : 'flagged';
        for (const rule of verdict.rules) recordDecision(ctx.events.safety, ex, 'safety.input', action, rule);
        if (action === 'blocked') {
          throw new GantryError(
            'input_blocked',
            'The request was blocked by the gateway’s moderation policy.',
            {
              details: { rules: verdict.rules },
              headers: decisionHeader(ex),
            },
          );
        }
      }
    }
  };

  return {
    name: 'safety.input',
    // Compiled per client: clients without input safety run nothing here.
    forClient(client) {
      const plan = client ? plans.get(client.name) : undefined;
      return plan ? { request: (ex) => run(plan, ex) } : undefined;
    },
  };
}

/** The `gantry-safety` header for an error this stage answers with. */
function decisionHeader(ex: Exchange): Record<string, string> {
  const value = safetyHeader(ex);
  return value ? { 'gantry-safety': value } : {};
}
