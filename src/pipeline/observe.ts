/**
 * observe: the request's log line. Metadata only, built field by field (see
 * src/observe/log.ts for what is never logged). Errors and 4xx/5xx answers log
 * at `warn`/`error` and always carry the upstream `request-id` when there is one.
 */
import { openDebugContent } from '../observe/debug-content.ts';
import { describeError, lineWriter } from '../observe/log.ts';
import type { ExchangeRecord } from './record.ts';
import type { Stage, StageContext } from './stage.ts';

const round = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : Math.round(ms * 1000) / 1000;

const between = (from: number | undefined, to: number | undefined): number | undefined =>
  from !== undefined && to !== undefined ? round(to - from) : undefined;

/** The log line of a finished exchange: metadata fields of its record, nothing else. */
function logLine(r: ExchangeRecord): Record<string, unknown> {
  const t = r.timings;
  const line: Record<string, unknown> = {
    req_id: r.id,
    upstream_request_id: r.upstream.requestId,
    route: r.route,
    method: r.method,
    path: r.path,
    client: r.client?.name,
    environment: r.client?.environment,
    customer: r.customer,
    model: r.model,
    answered_model: r.answeredModel !== r.model ? r.answeredModel : undefined,
    stream: r.stream,
    status: r.status,
    outcome: r.outcome,
    error_type: r.errorType,
    gantry_code: r.error?.code,
    attempts: r.upstream.attempts,
    upstream_key: r.upstream.keyId,
    requested_model: r.requestedModel,
    decisions: r.decisions.length > 0 ? r.decisions : undefined,
    duration_ms: round(t.finished),
    upstream_ms: between(t.upstreamSent, t.upstreamEnded),
    ttfb_ms: between(t.upstreamSent, t.firstByte),
    ttft_ms: round(r.ttftMs),
  };
  // Which platform served, when it was not the Claude API (docs/platforms.md).
  if (r.upstream.platform !== undefined && r.upstream.platform !== 'anthropic') {
    line.platform = r.upstream.platform;
    line.region = r.upstream.region;
  }
  if (r.attribution?.sessionId) line.session_id = r.attribution.sessionId;
  if (r.attribution?.agentId) line.agent_id = r.attribution.agentId;
  if (r.cost) line.cost_usd_micros = r.cost.micros;
  if (r.usage) {
    const u = r.usage;
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
  // and pino's generic serialisation are skipped: they cost more than the rest
  // of the line together.
  const write = lineWriter(ctx.logger);
  const debug = ctx.config.logging.debugContent ? openDebugContent(ctx.logger) : undefined;
  return {
    name: 'observe',
    // Debug content mode (off by default, warned about at start) is the one reader of content.
    complete: debug,
    observe(r) {
      const line = logLine(r);
      if (r.error?.code === 'internal_error') {
        line.err = describeError(r.error.cause);
        write('error', line, 'request failed');
      } else if (r.error || r.outcome === 'stream_error' || r.outcome === 'upstream_cut') {
        write('warn', line, 'request failed');
      } else if ((r.status ?? 0) >= 400) {
        write('warn', line, 'request answered with an error');
      } else {
        write('info', line, 'request');
      }
    },
  };
}
