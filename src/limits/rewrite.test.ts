import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findTopLevelString, rewriteModel } from './rewrite.ts';

test('rewriteModel changes only the bytes of the top-level model value', () => {
  const raw =
    '{"messages":[{"role":"user","content":"\\"model\\": \\"a\\""}], "metadata": {"model":"m"},\n  "model" :  "claude-sonnet-4-5", "max_tokens": 5}';
  const body = JSON.parse(raw);
  const out = rewriteModel(Buffer.from(raw), body, 'claude-haiku-4-5').toString();
  assert.equal(out, raw.replace('"claude-sonnet-4-5"', '"claude-haiku-4-5"'));
  assert.deepEqual(JSON.parse(out), { ...body, model: 'claude-haiku-4-5' });
});

test('without a top-level model string it falls back to serialising the body', () => {
  assert.equal(findTopLevelString('{"a":{"model":"x"}}', 'model'), undefined);
  const out = rewriteModel(Buffer.from('{"a":{"model":"x"}}'), { a: { model: 'x' } }, 'm').toString();
  assert.deepEqual(JSON.parse(out), { a: { model: 'x' }, model: 'm' });
});
