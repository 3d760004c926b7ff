import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogRefusal } from './rules.ts';

test('catalogRefusal: a deprecated model is served until its retirement date, refused from it', () => {
  assert.equal(catalogRefusal('claude-sonnet-4-5', false, new Date('2026-11-29T12:00:00Z')), undefined);
  const refused = catalogRefusal('claude-sonnet-4-5', false, new Date('2026-11-30T00:00:00Z'));
  assert.match(refused ?? '', /^model: claude-sonnet-4-5 was retired on 2026-11-30; closest valid ids: /);
  assert.doesNotMatch(refused ?? '', /claude-sonnet-4-5-20250929/, 'the retired model is not suggested');
});

test('catalogRefusal: unknown ids are refused unless allowed; active ids always pass', () => {
  const now = new Date('2026-12-04T00:00:00Z');
  assert.match(
    catalogRefusal('claude-haiku-4-20250514', false, now) ?? '',
    /is not a known model; closest valid ids: claude-haiku-4-5-20251001/,
  );
  assert.equal(catalogRefusal('claude-haiku-4-20250514', true, now), undefined);
  assert.equal(catalogRefusal('claude-sonnet-4-6', false, now), undefined);
});
