/**
 * observe: the request's log line. Metadata only, built field by field (see
 * src/observe/log.ts for what is never logged). Errors and 4xx/5xx answers log
 * at `warn`/`error` and always carry the upstream `request-id` when there is one.
 */
import { openDebugContent } from '../observe/debug-content.ts';
import { channels } from '../observe/events.ts';
import { describeError } from '../observe/log.ts';
import { attributionOf } from './customer.ts';
import type { Exchange } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

const round = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : Math.round(ms * 1000) / 1000;

export function logLine(ex: Exchange): Record<string, unknown> {
  const status = ex.response?.status ?? ex.error?.status;
  const line: Record<string, unknown> = {
    req_id: ex.id,
    upstream_request_id: ex.upstream.requestId,
    route: ex.route.kind,
    method: ex.method,
    client: ex.client?.name,
    environment: ex.client?.environment,
    customer: ex.customer,
    model: ex.model,
    stream: ex.stream,
    status,
    outcome: ex.outcome,
    error_type: ex.error?.type ?? ex.errorType,
    gantry_code: ex.error?.code,
    attempts: ex.upstream.attempts,
    upstream_key: ex.upstream.keyId,
    requested_model: ex.requestedModel,
    decisions: ex.decisions.length > 0 ? ex.decisions : undefined,
    duration_ms: round(ex.finishedAt),
    upstream_ms:
      ex.upstream.sentAt !== undefined && ex.upstream.endedAt !== undefined
        ? round(ex.upstream.endedAt - ex.upstream.sentAt)
        : undefined,
    ttfb_ms:
      ex.upstream.sentAt !== undefined && ex.upstream.firstByteAt !== undefined
        ? round(ex.upstream.firstByteAt - ex.upstream.sentAt)
        : undefined,
  };
  const { sessionId, agentId } = attributionOf(ex.headers);
  if (sessionId !== null) line.session_id = sessionId;
  if (agentId !== null) line.agent_id = agentId;
  if (ex.cost) line.cost_usd_micros = ex.cost.micros;
  if (ex.usage) {
    const u = ex.usage;
    line.usage = {
      input_tokens: u.inputTokens,
      output_tokens: u.outputTokens,
      cache_creation_5m_input_tokens: u.cacheCreation5mInputTokens,
      cache_creation_1h_input_tokens: u.cacheCreation1hInputTokens,
      cache_read_input_tokens: u.cacheReadInputTokens,
      ...(u.source === 'estimated' ? { source: 'estimated' } : {}),
    };
  }
  return line;
}

export function observe(ctx: StageContext): Stage {
  // The line is built field by field from metadata (logLine above), so the
  // path-based redaction of the general logger (a defence for ad-hoc log calls)
  // is skipped here: it would cost more than the rest of the line together.
  const log = ctx.logger.child({}, { redact: { paths: [], censor: '[redacted]' } });
  const completed = channels.exchangeComplete;
  const debug = ctx.config.logging.debugContent ? openDebugContent(ctx.logger) : undefined;
  return {
    name: 'observe',
    complete(ex) {
      if (completed.hasSubscribers) completed.publish(ex);
      debug?.(ex);
      const line = logLine(ex);
      if (ex.error?.code === 'internal_error') {
        line.err = describeError(ex.error.cause);
        log.error(line, 'request failed');
      } else if (ex.error || ex.outcome === 'stream_error' || ex.outcome === 'upstream_cut') {
        log.warn(line, 'request failed');
      } else if ((line.status as number) >= 400) {
        log.warn(line, 'request answered with an error');
      } else {
        log.info(line, 'request');
      }
    },
  };
}
