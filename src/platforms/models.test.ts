/** The platform model-id table is held to the catalog, and its lookups and prices are exact. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costOf } from '../anthropic/cost.ts';
import { resolveModel } from '../anthropic/models.ts';
import { emptyUsage } from '../anthropic/usage.ts';
import { bedrockModelId, catalogModelOf, PLATFORM_MODELS, vertexModelId } from './models.ts';
import { hasRegionalPremium, platformMultiplier } from './prices.ts';

describe('PLATFORM_MODELS', () => {
  it('every row names a catalog model by its canonical id, once, with unique platform ids', () => {
    const seen = new Set<string>();
    for (const r of PLATFORM_MODELS) {
      assert.equal(resolveModel(r.model)?.id, r.model, `${r.model} is a canonical catalog id`);
      assert.ok(!seen.has(r.model), `${r.model} listed once`);
      seen.add(r.model);
    }
    const bedrock = PLATFORM_MODELS.map((r) => r.bedrock).filter(Boolean);
    const vertex = PLATFORM_MODELS.map((r) => r.vertex).filter(Boolean);
    assert.equal(new Set(bedrock).size, bedrock.length);
    assert.equal(new Set(vertex).size, vertex.length);
  });

  it('the reverse lookup gives back each row, for every inference profile too', () => {
    for (const r of PLATFORM_MODELS) {
      if (r.bedrock) assert.equal(catalogModelOf('bedrock', r.bedrock), r.model);
      for (const p of r.bedrockProfiles ?? [])
        assert.equal(catalogModelOf('bedrock', `${p}.${r.bedrock}`), r.model);
      if (r.vertex) assert.equal(catalogModelOf('vertex', r.vertex), r.model);
    }
  });

  it('aliases resolve; the profile applies only where the model offers it; mappings win', () => {
    const global = { inferenceProfile: 'global' as const };
    assert.equal(
      bedrockModelId('claude-sonnet-4-5', global),
      'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
    assert.equal(bedrockModelId('claude-opus-4-1', global), 'anthropic.claude-opus-4-1-20250805-v1:0');
    assert.equal(
      bedrockModelId('claude-opus-4-1', { inferenceProfile: 'us' }),
      'us.anthropic.claude-opus-4-1-20250805-v1:0',
    );
    assert.equal(
      bedrockModelId('claude-sonnet-4-5', { inferenceProfile: 'none' }),
      'anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
    assert.equal(bedrockModelId('claude-opus-4-7', global), undefined, 'not in the table: not offered');
    assert.equal(
      bedrockModelId('claude-opus-4-7', {
        ...global,
        models: { 'claude-opus-4-7': 'global.anthropic.claude-opus-4-7' },
      }),
      'global.anthropic.claude-opus-4-7',
    );
    assert.equal(vertexModelId('claude-haiku-4-5'), 'claude-haiku-4-5@20251001');
    assert.equal(vertexModelId('claude-opus-4-7'), undefined);
  });
});

describe('platform prices', () => {
  const usage = { ...emptyUsage(), inputTokens: 1000, outputTokens: 500 };
  it('a global endpoint is the list price; a regional one 10 % more from Sonnet 4.5 on; older models one price', () => {
    const list = costOf(usage, 'claude-sonnet-4-5').micros;
    assert.equal(list, 1000 * 3 + 500 * 15);
    assert.equal(
      costOf(usage, 'claude-sonnet-4-5', { servedBy: { platform: 'bedrock', global: true } }).micros,
      list,
    );
    assert.equal(
      costOf(usage, 'claude-sonnet-4-5', { servedBy: { platform: 'vertex', region: 'us-east5' } }).micros,
      (list * 11) / 10,
    );
    assert.equal(
      costOf(usage, 'claude-sonnet-4-20250514', { servedBy: { platform: 'bedrock', region: 'us-east-1' } })
        .micros,
      1000 * 3 + 500 * 15,
    );
    assert.deepEqual(platformMultiplier('claude-sonnet-4-5-20250929', { platform: 'anthropic' }), [1, 1]);
  });
  it('models after the table carry the premium by release date', () => {
    assert.equal(hasRegionalPremium('claude-opus-4-8'), true);
    assert.equal(hasRegionalPremium('claude-3-haiku-20240307'), false);
  });
});
