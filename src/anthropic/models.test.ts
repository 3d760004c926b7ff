import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apiLifecycle,
  CATALOG_SOURCE,
  closestModelIds,
  editDistance,
  listModels,
  MODELS,
  resolveModel,
  statusOf,
} from './models.ts';

describe('model catalog', () => {
  it('names its source and date', () => {
    assert.equal(CATALOG_SOURCE.asOf, '2026-11-24');
    assert.match(CATALOG_SOURCE.source, /§9/);
  });

  it('has unique ids and aliases, none shadowing another model', () => {
    const names = new Set<string>();
    for (const m of MODELS) {
      for (const n of [m.id, ...m.aliases]) {
        assert.ok(!names.has(n), `duplicate name ${n}`);
        names.add(n);
      }
    }
  });

  it('has well-formed entries', () => {
    for (const m of MODELS) {
      assert.match(m.created_at, /^\d{4}-\d{2}-\d{2}T00:00:00Z$/, m.id);
      assert.ok(['active', 'legacy', 'deprecated', 'retired'].includes(m.lifecycle), m.id);
      assert.equal(m.batch_discount, 0.5);
      if (m.lifecycle === 'deprecated' || m.lifecycle === 'retired')
        assert.ok(m.retires_at, `${m.id} retires_at`);
      if (m.lifecycle === 'legacy') assert.ok(m.retire_not_before, `${m.id} retire_not_before`);
      for (const v of Object.values(m.prices))
        assert.ok(v === null || (typeof v === 'number' && v > 0), m.id);
    }
  });

  it('keeps the reference prices exactly', () => {
    assert.deepEqual(resolveModel('claude-opus-5-5')?.prices, {
      input: 4,
      cache_write_5m: 5,
      cache_write_1h: 8,
      cache_read: 0.2,
      output: 20,
    });
    assert.deepEqual(resolveModel('claude-haiku-5-5')?.prices, {
      input: 0.1,
      cache_write_5m: 0.125,
      cache_write_1h: 0.2,
      cache_read: 0.01,
      output: 0.5,
    });
    assert.equal(resolveModel('claude-haiku-5-5')?.long_prompt?.above_prompt_tokens, 100_000);
    assert.equal(resolveModel('claude-sonnet-5-5')?.prices.cache_read, 0.1);
    assert.equal(resolveModel('claude-fable-5')?.prices.cache_read, 1);
    assert.equal(resolveModel('claude-opus-4-1')?.prices.output, 75);
    assert.equal(resolveModel('claude-3-5-haiku-20241022')?.prices.cache_write_5m, 1);
    assert.deepEqual(Object.values(resolveModel('claude-mythos-5-2')!.prices), [
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('cache write prices follow the documented multipliers (1.25x 5m, 2x 1h) wherever all are known', () => {
    for (const m of MODELS) {
      const p = m.prices;
      if (p.input === null || p.cache_write_5m === null || p.cache_write_1h === null) continue;
      assert.ok(Math.abs(p.cache_write_5m - p.input * 1.25) < 1e-9, `${m.id} 5m`);
      assert.ok(Math.abs(p.cache_write_1h - p.input * 2) < 1e-9, `${m.id} 1h`);
    }
  });
});

describe('resolveModel', () => {
  it('resolves aliases to the canonical entry', () => {
    assert.equal(resolveModel('claude-haiku-4-5')?.id, 'claude-haiku-4-5-20251001');
    assert.equal(resolveModel('claude-sonnet-4-5')?.id, 'claude-sonnet-4-5-20250929');
    assert.equal(resolveModel('claude-opus-4-5')?.id, 'claude-opus-4-5-20251101');
    assert.equal(resolveModel('claude-opus-5-5')?.id, 'claude-opus-5-5');
  });

  it('knows retired ids (they are in the catalog, lifecycle retired)', () => {
    for (const id of [
      'claude-opus-4-0',
      'claude-sonnet-4-20250514',
      'claude-3-opus-20240229',
      'claude-2.1',
    ]) {
      assert.equal(resolveModel(id)?.lifecycle, 'retired', id);
    }
    assert.equal(apiLifecycle(resolveModel('claude-opus-5')!), 'active', 'legacy shows as active in the API');
  });

  it('does not know claude-haiku-4-20250514 (it never existed)', () => {
    assert.equal(resolveModel('claude-haiku-4-20250514'), undefined);
  });
});

describe('listModels', () => {
  it('orders newest first and filters by lifecycle', () => {
    const all = listModels();
    assert.equal(all.length, MODELS.length);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].created_at >= all[i].created_at);
    assert.equal(all[0].id, 'claude-fable-5-2');
    const retired = listModels({ lifecycle: ['retired'] });
    assert.ok(retired.length > 5);
    assert.ok(retired.every((m) => m.lifecycle === 'retired'));
    const deprecated = listModels({ lifecycle: ['deprecated'] }).map((m) => m.id);
    assert.deepEqual(deprecated.sort(), [
      'claude-mythos-preview',
      'claude-opus-4-5-20251101',
      'claude-sonnet-4-5-20250929',
    ]);
  });
});

describe('closestModelIds', () => {
  it('suggests Haiku 4.5 for the non-existent claude-haiku-4-20250514', () => {
    const c = closestModelIds('claude-haiku-4-20250514');
    assert.equal(c.length, 3);
    assert.equal(c[0], 'claude-haiku-4-5-20251001');
  });

  it('leaves retired models out unless asked', () => {
    assert.ok(!closestModelIds('claude-opus-4-20250514').includes('claude-opus-4-20250514'));
    assert.equal(
      closestModelIds('claude-opus-4-20250514', 1, { includeRetired: true })[0],
      'claude-opus-4-20250514',
    );
  });

  it('matches typos through aliases', () => {
    assert.equal(closestModelIds('claude-sonet-4-5', 1)[0], 'claude-sonnet-4-5-20250929');
    assert.equal(closestModelIds('claude-opus-55', 1)[0], 'claude-opus-5-5');
  });

  it('uses a correct edit distance', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('same', 'same'), 0);
  });
});

describe('statusOf: the lifecycle on a date, from the catalog dates', () => {
  const sonnet45 = resolveModel('claude-sonnet-4-5')!;
  const opus45 = resolveModel('claude-opus-4-5')!;

  it('a deprecated model becomes retired on its retirement date (UTC midnight), not before', () => {
    assert.equal(sonnet45.retires_at?.slice(0, 10), '2026-11-30');
    assert.equal(statusOf(sonnet45, new Date('2026-11-29T23:59:59Z')), 'deprecated');
    assert.equal(statusOf(sonnet45, new Date('2026-11-30T00:00:00Z')), 'retired');
    assert.equal(statusOf(opus45, new Date('2026-12-04T00:00:00Z')), 'deprecated');
    assert.equal(statusOf(opus45, new Date('2027-01-22T00:00:00Z')), 'retired');
  });

  it('an active model with a future deprecation date is deprecated from that date', () => {
    const e = {
      ...resolveModel('claude-haiku-4-5')!,
      deprecated_at: '2027-03-01T00:00:00Z',
      retires_at: null,
    };
    assert.equal(statusOf(e, new Date('2027-02-28T00:00:00Z')), e.lifecycle);
    assert.equal(statusOf(e, new Date('2027-03-01T00:00:00Z')), 'deprecated');
  });

  it('a model recorded retired stays retired; active models without dates stay active', () => {
    assert.equal(
      statusOf(resolveModel('claude-3-opus-20240229')!, new Date('2020-01-01T00:00:00Z')),
      'retired',
    );
    assert.equal(statusOf(resolveModel('claude-sonnet-5-5')!, new Date('2030-01-01T00:00:00Z')), 'active');
    assert.equal(statusOf(resolveModel('claude-sonnet-4-6')!, new Date('2030-01-01T00:00:00Z')), 'legacy');
  });

  it('listModels, apiLifecycle and closestModelIds judge stages on the given date', () => {
    const before = new Date('2026-11-29T00:00:00Z');
    const after = new Date('2026-12-01T00:00:00Z');
    const dep = (now: Date) => listModels({ lifecycle: ['deprecated'], now }).map((m) => m.id);
    assert.ok(dep(before).includes('claude-sonnet-4-5-20250929'));
    assert.ok(!dep(after).includes('claude-sonnet-4-5-20250929'));
    assert.ok(
      listModels({ lifecycle: ['retired'], now: after }).some((m) => m.id === 'claude-sonnet-4-5-20250929'),
    );
    assert.equal(apiLifecycle(sonnet45, before), 'deprecated');
    assert.equal(apiLifecycle(sonnet45, after), 'retired');
    assert.ok(
      closestModelIds('claude-sonnet-4-5-x', 5, { now: before }).includes('claude-sonnet-4-5-20250929'),
    );
    assert.ok(
      !closestModelIds('claude-sonnet-4-5-x', 5, { now: after }).includes('claude-sonnet-4-5-20250929'),
    );
  });
});
