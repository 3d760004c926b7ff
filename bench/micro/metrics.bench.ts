/**
 * Micro-benchmark: the metrics stage's work per finished exchange
 * (`GantryMetrics.record`: request counter, overhead histogram, decisions,
 * cost, and the OpenTelemetry GenAI histograms).
 *
 *   node bench/micro/metrics.bench.ts
 */
import { costOf } from '../../src/anthropic/cost.ts';
import { emptyUsage } from '../../src/anthropic/usage.ts';
import { GantryMetrics } from '../../src/observe/metrics.ts';
import type { Exchange } from '../../src/pipeline/exchange.ts';
import { bench } from './harness.ts';

const metrics = new GantryMetrics({ customerLabel: 'top', topCustomers: 10, customers: [] });
const usage = { ...emptyUsage(), inputTokens: 20, outputTokens: 40 };
const ex = {
  id: 'gtw_bench',
  startedAt: 0,
  receivedAt: Date.now(),
  route: { kind: 'messages' },
  method: 'POST',
  url: '/v1/messages',
  params: {},
  headers: {},
  body: undefined,
  signal: new AbortController().signal,
  stream: false,
  decisions: [{ stage: 'safety.output', action: 'flagged', rule: 'pii.email' }],
  upstream: { attempts: 1, sentAt: 0.2, headersAt: 0.5, firstByteAt: 0.6, endedAt: 0.7 },
  client: { name: 'bench', environment: 'default' },
  customer: 'customer-42',
  model: 'claude-sonnet-4-6',
  usage,
  cost: costOf(usage, 'claude-sonnet-4-6'),
  response: { status: 200, headers: {}, body: Buffer.alloc(0) },
  outcome: 'ok',
  finishedAt: 0.9,
} as unknown as Exchange;

console.log('metrics');
bench('GantryMetrics.record(exchange)', () => metrics.record(ex));
