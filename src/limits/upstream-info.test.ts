import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inferTier, readUpstreamLimits, UpstreamLimits } from './upstream-info.ts';

const headers = (r: number, i: number, o: number) => ({
  'anthropic-ratelimit-requests-limit': String(r),
  'anthropic-ratelimit-requests-remaining': String(r - 1),
  'anthropic-ratelimit-requests-reset': '2026-11-28T01:00:00Z',
  'anthropic-ratelimit-input-tokens-limit': String(i),
  'anthropic-ratelimit-output-tokens-limit': String(o),
  'anthropic-ratelimit-tokens-limit': String(i + o),
  'anthropic-priority-input-tokens-limit': '1000',
  'content-type': 'application/json',
  'gantry-ratelimit-requests-limit': '5',
});

test('reads anthropic-ratelimit-* and anthropic-priority-* headers only', () => {
  assert.deepEqual(readUpstreamLimits(headers(1000, 2_000_000, 400_000)), {
    requests: { limit: 1000, remaining: 999, reset: '2026-11-28T01:00:00Z' },
    'input-tokens': { limit: 2_000_000 },
    'output-tokens': { limit: 400_000 },
    tokens: { limit: 2_400_000 },
    'priority-input-tokens': { limit: 1000 },
  });
  assert.equal(readUpstreamLimits({ 'content-type': 'x' }), undefined);
});

test('infers the tier from the limits (standard and Fable classes); anything else is unknown', () => {
  const tier = (r: number, i: number, o: number) => inferTier(readUpstreamLimits(headers(r, i, o))!);
  assert.equal(tier(1_000, 2_000_000, 400_000), 'start');
  assert.equal(tier(5_000, 5_000_000, 1_000_000), 'build');
  assert.equal(tier(10_000, 10_000_000, 2_000_000), 'scale');
  assert.equal(tier(2_000, 1_500_000, 300_000), 'build');
  assert.equal(tier(50, 100, 100), 'unknown');
  assert.equal(inferTier({ requests: { limit: 1000 } }), 'unknown');
});

test('keeps the last snapshot per environment', () => {
  const u = new UpstreamLimits();
  u.observe('prod', headers(1_000, 2_000_000, 400_000), 'claude-haiku-4-5', 'req_1');
  u.observe('prod', headers(5_000, 5_000_000, 1_000_000), 'claude-haiku-4-5', 'req_2');
  u.observe('dev', { 'content-type': 'x' });
  const all = u.all();
  assert.equal(all.length, 1);
  assert.equal(all[0].tier, 'build');
  assert.equal(all[0].requestId, 'req_2');
});
