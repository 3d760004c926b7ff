import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { costOf, formatUsd, worstCaseCostMicros } from './cost.ts';
import { MODELS, resolveModel } from './models.ts';
import { emptyUsage, type Usage } from './usage.ts';

const usage = (u: Partial<Usage>): Usage => ({ ...emptyUsage(), ...u });

test('every category at its own price: Sonnet 4.6 ($3 in, $3.75 5m, $6 1h, $0.30 read, $15 out)', () => {
  const cost = costOf(
    usage({
      inputTokens: 1000,
      cacheCreation5mInputTokens: 2000,
      cacheCreation1hInputTokens: 3000,
      cacheCreationInputTokens: 5000,
      cacheReadInputTokens: 10_000,
      outputTokens: 500,
    }),
    'claude-sonnet-4-6',
  );
  // 1000*3 + 2000*3.75 + 3000*6 + 10000*0.3 + 500*15 = 3000 + 7500 + 18000 + 3000 + 7500 µ$
  assert.deepEqual(cost, { micros: 39_000, priced: true, model: 'claude-sonnet-4-6' });
});

test('1 h writes are not priced as 5 m writes, and reads are not counted as input', () => {
  const h1 = costOf(
    usage({ cacheCreation1hInputTokens: 1000, cacheCreationInputTokens: 1000 }),
    'claude-haiku-4-5',
  );
  const m5 = costOf(
    usage({ cacheCreation5mInputTokens: 1000, cacheCreationInputTokens: 1000 }),
    'claude-haiku-4-5',
  );
  const read = costOf(usage({ cacheReadInputTokens: 1000 }), 'claude-haiku-4-5');
  assert.equal(h1.micros, 2000);
  assert.equal(m5.micros, 1250);
  assert.equal(read.micros, 100);
});

test('fractional prices are exact: Haiku 5.5 5m writes at $0.125/MTok', () => {
  assert.equal(costOf(usage({ cacheCreation5mInputTokens: 8 }), 'claude-haiku-5-5').micros, 1);
  assert.equal(costOf(usage({ cacheCreation5mInputTokens: 4 }), 'claude-haiku-5-5').micros, 1); // 0.5 rounds up
  assert.equal(costOf(usage({ cacheCreation5mInputTokens: 3 }), 'claude-haiku-5-5').micros, 0); // 0.375 rounds down
});

test('batch halves, US residency adds 10 % on 4.6+', () => {
  const u = usage({ inputTokens: 1000, outputTokens: 1000 });
  assert.equal(costOf(u, 'claude-opus-4-6').micros, 30_000);
  assert.equal(costOf(u, 'claude-opus-4-6', { batch: true }).micros, 15_000);
  assert.equal(costOf({ ...u, serviceTier: 'batch' }, 'claude-opus-4-6').micros, 15_000);
  assert.equal(costOf({ ...u, inferenceGeo: 'us' }, 'claude-opus-4-6').micros, 33_000);
});

test('unknown model or missing price is reported as unpriced, never silently zero', () => {
  assert.deepEqual(costOf(usage({ inputTokens: 5 }), 'claude-nope'), { micros: 0, priced: false });
  const unpriced = MODELS.find((m) => m.prices.input === null);
  if (unpriced) assert.equal(costOf(usage({ inputTokens: 5 }), unpriced).priced, false);
});

test('aliases price like their model; the sum is linear (property)', () => {
  assert.equal(
    costOf(usage({ inputTokens: 7, outputTokens: 9 }), 'claude-sonnet-4-5').micros,
    costOf(usage({ inputTokens: 7, outputTokens: 9 }), resolveModel('claude-sonnet-4-5-20250929')).micros,
  );
  fc.assert(
    fc.property(fc.nat(1e7), fc.nat(1e7), (input, output) => {
      const c = costOf(usage({ inputTokens: input, outputTokens: output }), 'claude-sonnet-4-6').micros;
      assert.equal(c, input * 3 + output * 15);
    }),
  );
});

test('worst case covers any actual cost of the same request', () => {
  fc.assert(
    fc.property(fc.nat(200_000), fc.nat(64_000), fc.nat(100), fc.nat(100), (input, maxTokens, w1h, read) => {
      const worst = worstCaseCostMicros('claude-sonnet-4-6', input, maxTokens)!;
      const oneHour = Math.floor((input * w1h) / 100);
      const reads = Math.floor(((input - oneHour) * read) / 100);
      const actual = costOf(
        usage({
          cacheCreation1hInputTokens: oneHour,
          cacheReadInputTokens: reads,
          inputTokens: input - oneHour - reads,
          outputTokens: maxTokens,
        }),
        'claude-sonnet-4-6',
      ).micros;
      assert.ok(actual <= worst, `${actual} > ${worst}`);
    }),
  );
});

test('formatUsd', () => {
  assert.equal(formatUsd(1_234_567), '1.234567');
  assert.equal(formatUsd(5), '0.000005');
});
