/**
 * metrics: the telemetry stage, right before `observe` in STAGES. Its
 * `complete` hook records each finished exchange into
 *
 * - the Prometheus registry (`GET /metrics`, public or behind the admin key),
 * - the sliding-window latency percentiles (`GET /admin/stats`) and the
 *   per-slot traffic series of the console's Overview (`GET /admin/traffic`),
 * - the alert engine's windows (`GET /admin/alerts`), when alerts are enabled,
 * - a trace span, when tracing is enabled (OpenTelemetry is imported only then).
 *
 * With `admin:` configured it also mounts the console (src/console/routes.ts),
 * the browser view of these windows, the alerts, the limits and the ledger.
 *
 * All of it is in memory and synchronous; alert delivery and span export run
 * off the request path.
 */
import type { AlertEngine } from '../alerts/engine.ts';
import { mountConsole } from '../console/routes.ts';
import type { Stage, StageContext } from '../pipeline/stage.ts';
import { GantryMetrics, modelLabel } from './metrics.ts';
import { LatencyWindows } from './stats.ts';
import type { Tracer } from './tracing.ts';
import { TrafficWindows } from './traffic.ts';

export interface Telemetry {
  metrics?: GantryMetrics;
  stats: LatencyWindows;
  traffic: TrafficWindows;
  alerts?: AlertEngine;
  tracer?: Tracer;
}

export interface TelemetryOptions {
  /** Clock for windows and alert states (tests inject one). */
  now?: () => number;
  /** Told once the telemetry objects exist (tests drive the alert engine through it). */
  onOpen?(t: Telemetry): void;
}

/** Builds the telemetry objects from config (exported for tests and the in-process adapter). */
async function openTelemetry(ctx: StageContext, o: TelemetryOptions = {}): Promise<Telemetry> {
  const { config } = ctx;
  const m = config.metrics;
  const metrics = m.enabled
    ? new GantryMetrics({
        customerLabel: m.customerLabel,
        topCustomers: m.topCustomers,
        customers: m.customers,
      })
    : undefined;
  metrics?.subscribe(ctx.events);
  const stats = new LatencyWindows({
    intervalMs: m.statsIntervalMs,
    intervals: m.statsIntervals,
    now: o.now,
  });
  let alerts: AlertEngine | undefined;
  if (config.alerts.enabled) {
    const { AlertEngine } = await import('../alerts/engine.ts');
    alerts = new AlertEngine({
      config: config.alerts,
      events: ctx.events,
      secrets: ctx.secrets,
      logger: ctx.logger,
      stats,
      metrics,
      now: o.now,
    });
    await alerts.start();
  }
  let tracer: Tracer | undefined;
  if (config.tracing.enabled) {
    const { openTracer } = await import('./tracing.ts');
    tracer = await openTracer(config.tracing, ctx.logger);
    ctx.logger.info({ endpoint: config.tracing.endpoint }, 'tracing on (OTLP/HTTP)');
  }
  return { metrics, stats, traffic: new TrafficWindows(stats, o.now), alerts, tracer };
}

export function telemetryStage(o: TelemetryOptions = {}) {
  return async function metrics(ctx: StageContext): Promise<Stage> {
    const t = await openTelemetry(ctx, o);
    o.onOpen?.(t);
    const { config, routes } = ctx;
    if (t.metrics) {
      const registry = t.metrics;
      routes.add({
        method: 'GET',
        path: '/metrics',
        access: config.metrics.access,
        handle: async () => ({
          status: 200,
          headers: { 'content-type': registry.contentType },
          body: await registry.text(),
        }),
      });
    }
    routes.add({
      method: 'GET',
      path: '/admin/stats',
      access: 'admin',
      handle: ({ query }) => {
        const w = Number(query.window_ms);
        return { status: 200, body: t.stats.snapshot(Number.isFinite(w) && w > 0 ? w : undefined) };
      },
    });
    routes.add({
      method: 'GET',
      path: '/admin/traffic',
      access: 'admin',
      handle: ({ query }) => {
        const w = Number(query.window_ms);
        return {
          status: 200,
          body: {
            ...t.traffic.snapshot(Number.isFinite(w) && w > 0 ? w : undefined),
            thresholds: overallThresholds(config.alerts),
          },
        };
      },
    });
    if (t.alerts) {
      const engine = t.alerts;
      routes.add({
        method: 'GET',
        path: '/admin/alerts',
        access: 'admin',
        handle: () => ({ status: 200, body: engine.view() }),
      });
    }
    const consoleMount = mountConsole(ctx);
    return {
      name: 'metrics',
      observe(r) {
        t.metrics?.record(r);
        if (r.route === 'messages' && r.timings.finished !== undefined) {
          const ok = (r.status ?? 0) < 400;
          t.stats.record(
            r.client?.name ?? '',
            modelLabel(r.model),
            r.timings.finished,
            ok ? r.ttftMs : undefined,
          );
          t.traffic.record(r);
        }
        t.alerts?.record(r);
        t.tracer?.record(r);
      },
      async close() {
        t.metrics?.close();
        await t.alerts?.close();
        await t.tracer?.close();
        await consoleMount?.close();
      },
    };
  };
}

/**
 * The overall-scope thresholds of the 5xx and p99 rules (the checklist's
 * unless `alerts.rules` says otherwise), for the Overview charts; `enabled`
 * says whether the alert engine judges them.
 */
function overallThresholds(alerts: import('../alerts/config.ts').AlertsConfig) {
  const pick = (metric: string) => {
    const r = alerts.rules.find((x) => x.metric === metric && x.scope === 'overall');
    return r ? { warning: r.warning, critical: r.critical, window_ms: r.windowMs } : null;
  };
  return {
    enabled: alerts.enabled,
    error_rate_5xx: pick('error_rate_5xx'),
    latency_p99: pick('latency_p99'),
  };
}

/** The stage factory used in STAGES. */
export const metrics = telemetryStage();
