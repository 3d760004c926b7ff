/**
 * Micro-benchmark: cost computation (`costOf` by model id and by catalog
 * entry, `worstCaseCostMicros` for budget reservations).
 *
 *   node bench/micro/cost.bench.ts
 */
import { costOf, worstCaseCostMicros } from '../../src/anthropic/cost.ts';
import { resolveModel } from '../../src/anthropic/models.ts';
import { usageFromMessage } from '../../src/anthropic/usage.ts';
import { bench } from './harness.ts';

const usage = usageFromMessage({
  usage: {
    input_tokens: 2095,
    cache_creation_input_tokens: 2051,
    cache_read_input_tokens: 1200,
    cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 1051 },
    output_tokens: 503,
    service_tier: 'standard',
    inference_geo: 'us',
  },
});
const entry = resolveModel('claude-sonnet-4-6');
if (!entry) throw new Error('claude-sonnet-4-6 is not in the catalog');

console.log('cost computation');
bench('costOf(usage, "claude-sonnet-4-6")', () => costOf(usage, 'claude-sonnet-4-6').micros);
bench('costOf(usage, catalog entry)', () => costOf(usage, entry).micros);
bench('costOf(usage, alias, { batch })', () => costOf(usage, 'claude-sonnet-4-6', { batch: true }).micros);
bench('worstCaseCostMicros(model, 2000, 1024)', () => worstCaseCostMicros('claude-sonnet-4-6', 2000, 1024));
