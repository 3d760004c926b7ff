/**
 * safety.output: scans answers for secrets, PII and leaks of the system
 * prompt, per the client's `safety` config (src/safety/config.ts). Runs as a
 * `respond` hook right after the upstream stage set `ex.response`.
 *
 * - Non-streaming Messages answers (2xx JSON): the body is read whole, each
 *   text block is scanned; `redact` replaces matches with
 *   `[REDACTED:<type>]` and re-serialises the message (content-length fixed),
 *   `block` replaces the answer with a 403 `output_blocked` error, `flag` only
 *   records. Output moderation applies here too. The body is untouched
 *   (byte for byte) when nothing is redacted or blocked.
 * - Streams: the body is wrapped by the hold-back scanner
 *   (src/safety/stream.ts). The headers are already on their way when the
 *   stream starts, so `gantry-safety` there reflects input decisions only;
 *   output decisions go to `ex.decisions` (log line, ledger) and events.
 * - Clients without safety config, errors (4xx/5xx) and other routes pass
 *   through untouched.
 */
import { GantryError } from '../errors.ts';
import { type SafetyConfig, safetyEnabled } from '../safety/config.ts';
import { Moderator } from '../safety/moderation.ts';
import { ACTION_NAME, recordDecision, safetyHeader } from '../safety/record.ts';
import { outputRules, requestRules } from '../safety/rules.ts';
import { type Finding, type ScanRule, scanText } from '../safety/scanner.ts';
import { StreamScanner } from '../safety/stream.ts';
import type { Exchange } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

interface Plan {
  cfg: SafetyConfig;
  rules: ScanRule[];
  moderator: Moderator | undefined;
}

export function safetyOutput(ctx: StageContext): Stage {
  const plans = new Map<string, Plan>();
  for (const client of ctx.config.clients) {
    if (!safetyEnabled(client.safety)) continue;
    const cfg = client.safety;
    const moderates = cfg.moderation.mode !== 'off' && cfg.moderation.applyTo !== 'input';
    plans.set(client.name, {
      cfg,
      rules: outputRules(cfg),
      moderator: moderates ? new Moderator(cfg.moderation, ctx, client.environment) : undefined,
    });
  }

  const run = async (plan: Plan, ex: Exchange) => {
    const res = ex.response;
    if (!res) return;
    const rules = requestRules(plan.cfg, plan.rules, ex.body);
    const contentType = String(res.headers['content-type'] ?? '');
    const scans = ex.route.kind === 'messages' && res.status < 300 && (rules.length > 0 || plan.moderator);
    if (!scans) return setHeader(ex);

    if (contentType.startsWith('text/event-stream')) {
      setHeader(ex); // input decisions only: the stream's headers leave before its text is known
      // Relayed streams only: a degraded answer is the operator's own text.
      if (rules.length === 0 || !res.events) return;
      res.events.transform = new StreamScanner(
        rules,
        { holdBack: plan.cfg.stream.holdBackChars, maxHold: plan.cfg.stream.maxHoldChars },
        {
          onFinding: (f) =>
            recordDecision(ctx.events.safety, ex, 'safety.output', ACTION_NAME[f.action], f.rule),
          onBlocked: () => {
            ex.errorType = 'permission_error';
            ex.outcome = 'stream_error';
          },
        },
      );
      return;
    }
    if (!contentType.includes('json')) return setHeader(ex);

    const buf = Buffer.isBuffer(res.body) ? res.body : await readAll(res.body);
    let message: { type?: unknown; content?: unknown };
    if (res.body === buf && res.json !== undefined) {
      message = res.json as typeof message; // parsed once by the upstream stage
    } else {
      res.body = buf;
      delete res.json;
      try {
        message = JSON.parse(buf.toString('utf8'));
      } catch {
        return setHeader(ex);
      }
    }
    if (message === null || typeof message !== 'object') return setHeader(ex);
    if (message.type !== 'message' || !Array.isArray(message.content)) return setHeader(ex);

    let changed = false;
    let blocked: Finding | undefined;
    const texts: string[] = [];
    for (const block of message.content as Array<{ type?: unknown; text?: unknown }>) {
      if (block?.type !== 'text' || typeof block.text !== 'string') continue;
      texts.push(block.text);
      if (rules.length === 0) continue;
      const r = scanText(block.text, rules);
      for (const f of r.findings)
        recordDecision(ctx.events.safety, ex, 'safety.output', ACTION_NAME[f.action], f.rule);
      if (r.blocked) {
        blocked = r.blocked;
        break;
      }
      if (r.text !== block.text) {
        block.text = r.text;
        changed = true;
      }
    }
    if (!blocked && plan.moderator && texts.length > 0) {
      const verdict = await plan.moderator.check(texts.join('\n'), 'output');
      if (verdict.flagged) {
        const action = plan.cfg.moderation.mode === 'block' ? 'blocked' : 'flagged';
        for (const rule of verdict.rules)
          recordDecision(ctx.events.safety, ex, 'safety.output', action, rule);
        if (action === 'blocked') blocked = { rule: verdict.rules[0], action: 'block' };
      }
    }
    if (blocked) {
      const error = new GantryError(
        'output_blocked',
        'The response was withheld by the gateway’s output safety policy.',
        { details: { rules: [blocked.rule] } },
      );
      const body = Buffer.from(JSON.stringify(error.toEnvelope(ex.id)));
      ex.errorType = error.type;
      ex.response = {
        status: error.status,
        headers: {
          ...res.headers,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'x-should-retry': 'false',
        },
        body,
      };
    } else if (changed) {
      res.body = Buffer.from(JSON.stringify(message));
      res.headers['content-length'] = String(res.body.length);
      delete res.json;
    }
    setHeader(ex);
  };

  return {
    name: 'safety.output',
    // Compiled per client: clients without output safety run nothing here.
    forClient(client) {
      const plan = client ? plans.get(client.name) : undefined;
      return plan ? { respond: (ex) => run(plan, ex) } : undefined;
    },
  };
}

function setHeader(ex: Exchange): void {
  const value = safetyHeader(ex);
  if (value && ex.response) ex.response.headers['gantry-safety'] = value;
}

async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk);
  } catch (err) {
    // Nothing was sent yet: the client gets a clean error instead of a cut body.
    throw new GantryError('upstream_connection_failed', 'The upstream answer was interrupted.', {
      cause: err,
    });
  }
  return Buffer.concat(chunks);
}
