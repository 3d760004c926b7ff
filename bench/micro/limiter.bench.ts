/**
 * Micro-benchmark: the limiter on the memory store, as the admit stage uses
 * it per request (rate limits in three dimensions, a daily and a monthly
 * budget, per client and per customer), and its header helpers.
 *
 *   node bench/micro/limiter.bench.ts
 */
import { randomUUID } from 'node:crypto';
import { emptyUsage } from '../../src/anthropic/usage.ts';
import { parseConfig } from '../../src/config/load.ts';
import { LimitsEnforcer } from '../../src/limits/limiter.ts';
import { MemoryStore } from '../../src/limits/memory.ts';
import { periodOf } from '../../src/limits/periods.ts';
import { bench, benchAsync } from './harness.ts';

const config = parseConfig(
  `clients:
  - name: app
    key_sha256: ${'ab'.repeat(32)}
    limits:
      rpm: 10000000
      input_tpm: 10000000000
      output_tpm: 10000000000
      per_customer: { rpm: 10000000 }
      budget: { daily_usd: 1000000, monthly_usd: 10000000, action: block }
limits:
  key_prefix: "bench:${randomUUID()}:"
`,
  { source: 'bench', baseDir: process.cwd() },
);
const limiter = new LimitsEnforcer(config, new MemoryStore({ sweepMs: 0 }));
const usage = { ...emptyUsage(), inputTokens: 20, outputTokens: 40 };
const request = {
  client: 'app',
  environment: 'default',
  customer: 'customer-42',
  model: 'claude-sonnet-4-6',
  estimatedInputTokens: 20,
  maxTokens: 64,
};

console.log('limiter (memory store)');
await benchAsync('admit + settle (rpm, tpm, per customer, 2 budgets)', async () => {
  const a = await limiter.admit(request, []);
  if (a.ticket) await limiter.settle(a.ticket, usage, 'claude-sonnet-4-6');
  return a.headers;
});
await benchAsync('admit only', async () => (await limiter.admit(request, [])).headers);
bench('periodOf("daily", now)', () => periodOf('daily', Date.now()).resetsAt);
