import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveModel } from '../anthropic/models.ts';
import { modelClass, RateLimiter, rfc3339, TIERS, TokenBucket } from './ratelimit.ts';

const SONNET = resolveModel('claude-sonnet-4-6')!;
const OPUS = resolveModel('claude-opus-4-8')!;
const FABLE = resolveModel('claude-fable-5-2')!;

describe('TokenBucket', () => {
  it('refills continuously up to capacity', () => {
    const b = new TokenBucket(60, 0); // 1 per second
    b.level = 0;
    b.refill(500);
    assert.equal(b.level, 0.5);
    b.refill(30_000);
    assert.equal(b.level, 30);
    b.refill(10 * 60_000);
    assert.equal(b.level, 60);
    assert.equal(b.msUntil(61), Number.POSITIVE_INFINITY);
    b.level = 10;
    assert.equal(b.msUntil(12), 2000);
    assert.equal(b.msUntilFull(), 50_000);
  });
});

describe('RateLimiter', () => {
  it('admits up to RPM, then refuses with a retry-after that refill honours', () => {
    let now = 0;
    const rl = new RateLimiter(() => now, { requests: 6, inputTokens: 1_000_000, outputTokens: 1_000_000 });
    for (let i = 0; i < 6; i++) assert.equal(rl.admitMessage('o', SONNET, 10).ok, true);
    const r = rl.admitMessage('o', SONNET, 10);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.kind, 'requests');
    assert.equal(r.retryAfterSeconds, 10); // 6 per minute: one every 10 s
    assert.equal(r.headers['anthropic-ratelimit-requests-remaining'], '0');
    now += 9_000;
    assert.equal(rl.admitMessage('o', SONNET, 10).ok, false, 'still empty after 9 s');
    now += 1_000;
    assert.equal(rl.admitMessage('o', SONNET, 10).ok, true, 'one request back after 10 s');
  });

  it('limits input tokens and charges output after the fact', () => {
    let now = 0;
    const rl = new RateLimiter(() => now, { requests: 1000, inputTokens: 6000, outputTokens: 600 });
    assert.equal(rl.admitMessage('o', SONNET, 5000).ok, true);
    const r = rl.admitMessage('o', SONNET, 2000);
    assert.ok(!r.ok && r.kind === 'input_tokens' && r.retryAfterSeconds === 10);
    assert.equal(rl.admitMessage('o', SONNET, 1000).ok, true, 'a smaller request still fits');
    rl.chargeOutput('o', SONNET, 700); // bucket goes to -100
    const o = rl.admitMessage('o', SONNET, 1);
    assert.ok(!o.ok && o.kind === 'output_tokens');
    now += 11_000; // +110 output tokens → level 10
    assert.equal(rl.admitMessage('o', SONNET, 1).ok, true);
  });

  it('separates organizations and model classes; Fable uses its own row', () => {
    const rl = new RateLimiter(() => 0, 'build');
    const a = rl.admitMessage('o', SONNET, 1);
    assert.ok(a.ok);
    assert.equal(a.headers['anthropic-ratelimit-requests-limit'], String(TIERS.build.standard.requests));
    assert.equal(
      a.headers['anthropic-ratelimit-requests-remaining'],
      String(TIERS.build.standard.requests - 1),
    );
    const b = rl.admitMessage('o', OPUS, 1);
    assert.equal(
      b.headers['anthropic-ratelimit-requests-remaining'],
      String(TIERS.build.standard.requests - 1),
    );
    const f = rl.admitMessage('other', FABLE, 1);
    assert.equal(f.headers['anthropic-ratelimit-input-tokens-limit'], String(TIERS.build.fable.inputTokens));
    assert.equal(modelClass(SONNET), 'sonnet-4');
    assert.equal(modelClass(resolveModel('claude-haiku-4-5')!), 'haiku-4');
  });

  it('reports every header family in RFC 3339, tokens-remaining rounded to thousands', () => {
    const rl = new RateLimiter(() => Date.parse('2026-11-24T12:00:00Z'), 'start');
    const r = rl.admitMessage('o', SONNET, 1234);
    for (const fam of ['requests', 'input-tokens', 'output-tokens', 'tokens']) {
      for (const k of ['limit', 'remaining', 'reset'])
        assert.ok(r.headers[`anthropic-ratelimit-${fam}-${k}`], `${fam}-${k}`);
    }
    assert.equal(r.headers['anthropic-ratelimit-input-tokens-remaining'], String(2_000_000 - 1234));
    assert.equal(r.headers['anthropic-ratelimit-tokens-remaining'], '2399000');
    assert.match(r.headers['anthropic-ratelimit-input-tokens-reset'], /^2026-11-24T12:00:\d\dZ$/);
    assert.equal(rfc3339(Date.parse('2026-11-24T12:00:00.200Z')), '2026-11-24T12:00:01Z');
  });

  it('unlimited admits everything without headers; request-only limiters work', () => {
    const rl = new RateLimiter(() => 0, 'unlimited');
    for (let i = 0; i < 100; i++)
      assert.deepEqual(rl.admitMessage('o', SONNET, 1e9), { ok: true, headers: {} });
    const tiny = new RateLimiter(() => 0, 'tiny');
    for (let i = 0; i < TIERS.tiny.countTokensRpm; i++)
      assert.equal(tiny.admitSimple('o', 'count_tokens').ok, true);
    assert.equal(tiny.admitSimple('o', 'count_tokens').ok, false);
    assert.equal(tiny.admitSimple('o', 'batches').ok, true, 'separate bucket');
  });
});
