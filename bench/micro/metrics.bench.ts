/**
 * Micro-benchmark: the metrics stage's work per finished exchange
 * (`GantryMetrics.record`: request counter, overhead histogram, decisions,
 * cost, and the OpenTelemetry GenAI histograms).
 *
 *   node bench/micro/metrics.bench.ts
 */
import { emptyUsage } from '../../src/anthropic/usage.ts';
import { GantryMetrics } from '../../src/observe/metrics.ts';
import type { Exchange } from '../../src/pipeline/exchange.ts';
import { recordOf } from '../../src/pipeline/record.ts';
import { bench } from './harness.ts';

const metrics = new GantryMetrics({ customerLabel: 'top', topCustomers: 10, customers: [] });
const usage = { ...emptyUsage(), inputTokens: 20, outputTokens: 40 };
const ex = recordOf({
  id: 'gtw_bench',
  startedAt: 0,
  receivedAt: Date.now(),
  route: { kind: 'messages', path: '/v1/messages' },
  method: 'POST',
  path: '/v1/messages',
  params: {},
  headers: {},
  body: undefined,
  signal: new AbortController().signal,
  stream: false,
  decisions: [{ stage: 'safety.output', action: 'flagged', rule: 'pii.email' }],
  timings: { upstreamSent: 0.2, upstreamHeaders: 0.5, firstByte: 0.6, upstreamEnded: 0.7, finished: 0.9 },
  upstream: { attempts: 1 },
  client: { name: 'bench', environment: 'default' },
  customer: 'customer-42',
  model: 'claude-sonnet-4-6',
  usage,
  response: { status: 200, headers: {}, body: Buffer.alloc(0) },
  outcome: 'ok',
} as unknown as Exchange);

console.log('metrics');
bench('GantryMetrics.record(record)', () => metrics.record(ex));
