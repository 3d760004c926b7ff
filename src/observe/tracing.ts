/**
 * Optional OpenTelemetry tracing: one span per request with the GenAI
 * semantic-convention attributes, a child span per upstream attempt, the
 * client's W3C `traceparent` continued, export over OTLP/HTTP (JSON).
 *
 * Off by default. This module and the OpenTelemetry packages are imported
 * only when `tracing.enabled: true` (the `metrics` stage does a dynamic
 * `import()`), so tracing costs nothing when it is off. No global provider is
 * registered: Gantry's spans never mix with an embedding app's.
 *
 * Spans are built when the exchange completes, from its recorded timings
 * (`receivedAt`, `upstream.sentAt` … `endedAt`, `finishedAt`), so nothing
 * runs on the request path while the request is in flight. The Exchange
 * records the timings of the last upstream attempt only: earlier attempts
 * (retries) get spans that share the time before it, marked
 * `gantry.timing = "approximate"`.
 *
 * Versions: @opentelemetry/api 1.10 with sdk-trace 3.1.0, core/resources
 * 3.1.0 and exporter-trace-otlp-http 0.301.0 — the set whose peer ranges agree
 * (sdk-trace-base 2.x wants api < 1.10).
 */
import type { Logger } from 'pino';
import type { TracingConfig } from '../observe/config.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';

export interface Tracer {
  /** Builds and queues the spans of a finished exchange (batched export). */
  record(record: ExchangeRecord): void;
  /** Exports what is queued now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

type Attrs = Record<string, string | number | boolean | string[] | undefined>;

const clean = (a: Attrs): Record<string, string | number | boolean | string[]> => {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v;
  return out;
};

export async function openTracer(config: TracingConfig, logger: Logger): Promise<Tracer> {
  const [api, sdk, core, resources, otlp] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const exporter = new otlp.OTLPTraceExporter({
    url: config.endpoint,
    timeoutMillis: config.exportTimeoutMs,
  });
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: 2_000 })],
  });
  const tracer = provider.getTracer('gantry');
  const propagator = new core.W3CTraceContextPropagator();

  return {
    record(ex) {
      if (ex.route === 'unmatched') return;
      try {
        const parent = propagator.extract(api.ROOT_CONTEXT, ex.traceContext ?? {}, api.defaultTextMapGetter);
        const at = (ms: number | undefined) => ex.receivedAt + (ms ?? 0);
        const chat = ex.route === 'messages';
        const operation = chat ? 'chat' : ex.route;
        const requestModel = ex.requestedModel ?? ex.model;
        const status = ex.status;
        const errorType = ex.errorType;
        const u = ex.usage;
        const span = tracer.startSpan(
          requestModel ? `${operation} ${requestModel}` : operation,
          {
            kind: api.SpanKind.SERVER,
            startTime: ex.receivedAt,
            attributes: clean({
              'gen_ai.system': 'anthropic',
              'gen_ai.provider.name': 'anthropic',
              'gen_ai.operation.name': operation,
              'gen_ai.request.model': requestModel,
              'gen_ai.request.max_tokens': ex.maxTokens,
              'gen_ai.request.temperature': ex.temperature,
              'gen_ai.response.model': ex.answeredModel ?? ex.model,
              'gen_ai.response.id': ex.messageId,
              'gen_ai.response.finish_reasons': ex.stopReason ? [ex.stopReason] : undefined,
              'gen_ai.usage.input_tokens': u?.inputTokens,
              'gen_ai.usage.output_tokens': u?.outputTokens,
              'gen_ai.usage.cache_read.input_tokens': u?.cacheReadInputTokens,
              'gen_ai.usage.cache_creation.input_tokens': u?.cacheCreationInputTokens,
              'http.request.method': ex.method,
              'http.route': ex.routePath,
              'http.response.status_code': status,
              'error.type': errorType,
              'gantry.request_id': ex.id,
              'gantry.upstream.request_id': ex.upstream.requestId,
              'gantry.client': ex.client?.name,
              'gantry.environment': ex.client?.environment,
              'gantry.stream': ex.stream,
              'gantry.outcome': ex.outcome,
              'gantry.attempts': ex.upstream.attempts,
              'gantry.cost_usd': ex.cost ? ex.cost.micros / 1e6 : undefined,
              'gantry.decisions': ex.decisions.length
                ? ex.decisions.map((d) => `${d.stage}:${d.action}${d.rule ? `:${d.rule}` : ''}`)
                : undefined,
            }),
          },
          parent,
        );
        const failed =
          (status !== undefined && status >= 500) ||
          ex.outcome === 'stream_error' ||
          ex.outcome === 'upstream_cut';
        if (failed || ex.error) span.setStatus({ code: api.SpanStatusCode.ERROR, message: errorType });
        const inside = api.trace.setSpan(api.ROOT_CONTEXT, span);
        const up = ex.upstream;
        const t = ex.timings;
        const attempts = up.attempts;
        for (let i = 1; i <= attempts; i++) {
          const last = i === attempts;
          // Earlier attempts: the time before the last one, shared evenly (the record keeps only the last).
          const before = t.upstreamSent ?? 0;
          const start = last ? t.upstreamSent : (before * (i - 1)) / attempts;
          const end = last ? (t.upstreamEnded ?? t.upstreamHeaders ?? t.finished) : (before * i) / attempts;
          const child = tracer.startSpan(
            `upstream ${ex.method} ${ex.routePath}`,
            {
              kind: api.SpanKind.CLIENT,
              startTime: at(start),
              attributes: clean({
                'gen_ai.system': 'anthropic',
                'gen_ai.operation.name': operation,
                'gen_ai.request.model': ex.model,
                'http.request.method': ex.method,
                'gantry.attempt': i,
                'gantry.timing': last ? 'measured' : 'approximate',
                'http.response.status_code': last ? up.status : undefined,
                'gantry.upstream.request_id': last ? up.requestId : undefined,
                'gantry.upstream.key_id': last ? up.keyId : undefined,
                'gantry.time_to_first_byte_ms':
                  last && t.firstByte !== undefined && t.upstreamSent !== undefined
                    ? t.firstByte - t.upstreamSent
                    : undefined,
              }),
            },
            inside,
          );
          if (last && up.status !== undefined && up.status >= 500)
            child.setStatus({ code: api.SpanStatusCode.ERROR });
          child.end(at(end));
        }
        span.end(at(t.finished));
      } catch (err) {
        logger.debug({ err: { name: (err as Error).name } }, 'trace span not recorded');
      }
    },
    flush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  };
}
