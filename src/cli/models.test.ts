import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelsText } from './models.ts';

test('gantry models: the lifecycle column is computed on the given date', () => {
  const row = (text: string) => text.split('\n').find((l) => l.startsWith('claude-sonnet-4-5-20250929'));
  const before = modelsText({ now: new Date('2026-11-29T00:00:00Z') });
  assert.match(row(before) ?? '', /deprecated \(retires 2026-11-30\)/);
  // retired models are listed only with --all
  assert.equal(row(modelsText({ now: new Date('2026-12-01T00:00:00Z') })), undefined);
  assert.match(
    row(modelsText({ now: new Date('2026-12-01T00:00:00Z'), all: true })) ?? '',
    /retired \(on 2026-11-30\)/,
  );
  const json = JSON.parse(modelsText({ json: true, all: true, now: new Date('2026-12-01T00:00:00Z') })) as {
    models: { id: string; lifecycle: string }[];
  };
  assert.equal(json.models.find((m) => m.id === 'claude-sonnet-4-5-20250929')?.lifecycle, 'retired');
});
