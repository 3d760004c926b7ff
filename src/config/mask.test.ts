import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSecret, looksLikeAnthropicKey, MASK, mask, redactAnthropicKeys } from './mask.ts';

test('mask shows nothing of the value, not even its length', () => {
  assert.equal(mask(`sk-ant-api03-${'x'.repeat(95)}`), MASK);
  assert.equal(mask('a'), MASK);
  assert.equal(mask(undefined), '(missing)');
  assert.equal(mask(''), '(missing)');
});

test('describeSecret shows the reference and whether it resolves', () => {
  assert.equal(describeSecret('env:ANTHROPIC_API_KEY', 'sk-ant-x'), 'env:ANTHROPIC_API_KEY (set)');
  assert.equal(describeSecret('env:ANTHROPIC_API_KEY', undefined), 'env:ANTHROPIC_API_KEY (missing)');
  assert.equal(describeSecret('file:/k', undefined, 'file not found'), 'file:/k (missing: file not found)');
});

test('Anthropic-shaped keys are spotted and redacted', () => {
  assert.ok(looksLikeAnthropicKey('name: sk-ant-api03-abc'));
  assert.ok(!looksLikeAnthropicKey('env:ANTHROPIC_API_KEY'));
  assert.equal(redactAnthropicKeys('a sk-ant-api03-abc_DEF-1 b'), `a sk-ant-${MASK} b`);
});
