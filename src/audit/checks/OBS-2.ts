/**
 * OBS-2: latency tracked as percentiles. An LLM tracing integration
 * (Langfuse, LangSmith tracing, Helicone, OpenTelemetry / OpenLLMetry, …) or
 * a call tracer (AWS X-Ray) anywhere, or the gateway, `pass`. Otherwise per
 * Claude call: a latency histogram / summary recorded in its scope `pass`;
 * only a timer (Date.now, time.perf_counter) whose result is logged `warn`;
 * nothing `fail`.
 */
import type { Evidence, Finding } from '../result.ts';
import { hitsFor, requestSites } from './sites.ts';
import {
  at,
  dedupe,
  type Evaluator,
  fail,
  findings,
  gatewayProvides,
  libs,
  NO_CLAUDE,
  na,
  ok,
  warn,
} from './util.ts';

export function tracingEvidence(ctx: Parameters<Evaluator>[0], withUsage: boolean): Evidence[] {
  const ev = [...libs(ctx, 'llm_tracing'), ...(withUsage ? [] : libs(ctx, 'tracing'))];
  for (const h of ctx.scan.byRule('tracing-env')) {
    const value = (h.groups?.[1] ?? '').toLowerCase();
    if (/TRACING/.test(h.groups?.[0] ?? '') ? value === 'true' : value !== '')
      ev.push(at(h, `${h.groups?.[0]} set`));
  }
  return ev;
}

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const tracing = tracingEvidence(ctx, false);
  if (tracing.length > 0)
    return ok('calls are traced (latency per call, percentiles in the tracing tool)', tracing);
  const gw =
    ctx.gateway.length > 0 ? gatewayProvides(ctx, ['metrics', 'observability', 'observe']) : undefined;
  if (gw) return ok('the Gantry gateway records latency percentiles', [gw, ...ctx.gateway]);
  const sites = requestSites(ctx);
  if (sites.length === 0) return na('no Claude requests found in code');
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const s of sites) {
    const metric = hitsFor(ctx, s, ['latency-metric']);
    if (metric.length > 0) {
      ev.push(at(metric[0], `latency recorded: ${metric[0].text}`));
      continue;
    }
    const timer = hitsFor(ctx, s, ['latency-timer']);
    if (timer.length > 0)
      list.push(warn(at(timer[0], 'latency is measured but not recorded as a histogram (no p50/p95/p99)')));
    else list.push(fail(at(s, 'no latency metric around this call (histogram, summary or tracing)')));
  }
  const found = dedupe(list);
  if (found.length === 0) return ok('latency of Claude calls is recorded as a histogram', dedupe(ev));
  return findings(`${found.length} call(s) without latency percentiles`, found, dedupe(ev));
};
