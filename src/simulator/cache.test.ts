import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { resolveModel } from '../anthropic/models.ts';
import { estimateRequestTokens, requestTokenBlocks } from '../anthropic/tokens.ts';
import { type CachePlan, type CacheUsage, findBreakpoints, PromptCache } from './cache.ts';

// Sonnet 4.6: minimum cacheable prompt 1,024 tokens.
const MODEL = resolveModel('claude-sonnet-4-6')!;
const words = (n: number, w = 'word') => Array.from({ length: n }, (_, i) => `${w}${i % 10}`).join(' ');
// 'word0' is 5 characters: 2 tokens a word.
const LONG = words(1000); // ~2,000 tokens
const SHORT = words(100); // ~200 tokens

type Body = Record<string, unknown>;

let now = 1_000_000;
let cache: PromptCache;
beforeEach(() => {
  now = 1_000_000;
  cache = new PromptCache(() => now);
});

function run(body: Body, ns = 'org-1'): CacheUsage {
  const blocks = requestTokenBlocks(body);
  const plan = cache.plan(ns, MODEL, body, blocks, estimateRequestTokens(body).total);
  assert.ok(!('error' in plan), 'error' in plan ? plan.error : '');
  (plan as CachePlan).commit();
  return (plan as CachePlan).usage;
}

const sys = (ttl?: '5m' | '1h', text = LONG) => [
  { type: 'text', text, cache_control: ttl ? { type: 'ephemeral', ttl } : { type: 'ephemeral' } },
];
const req = (extra: Body = {}): Body => ({
  model: MODEL.id,
  max_tokens: 10,
  system: sys(),
  messages: [{ role: 'user', content: 'What is up?' }],
  ...extra,
});

const total = (b: Body) => estimateRequestTokens(b).total;
const prefix = (b: Body, pos: number) => requestTokenBlocks(b)[pos].cumulative;

describe('prompt cache accounting', () => {
  it('writes on first use (5m), reads within the TTL, input_tokens counts only what follows the breakpoint', () => {
    const body = req();
    const p = prefix(body, 0);
    const first = run(body);
    assert.deepEqual(first, {
      input_tokens: total(body) - p,
      cache_creation_input_tokens: p,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: p, ephemeral_1h_input_tokens: 0 },
    });
    now += 4 * 60_000;
    const second = run(body);
    assert.equal(second.cache_read_input_tokens, p);
    assert.equal(second.cache_creation_input_tokens, 0);
    assert.equal(second.input_tokens, total(body) - p);
    assert.equal(
      second.input_tokens + second.cache_creation_input_tokens + second.cache_read_input_tokens,
      total(body),
    );
  });

  it('expires a 5m entry after its TTL (fake clock) and refreshes it on a hit', () => {
    const body = req();
    run(body);
    now += 4 * 60_000; // hit at 4 min: TTL refreshed to 9 min
    assert.ok(run(body).cache_read_input_tokens > 0);
    now += 4 * 60_000; // 8 min: still alive thanks to the refresh
    assert.ok(run(body).cache_read_input_tokens > 0);
    now += 5 * 60_000 + 1; // no hit for over 5 min: gone
    const after = run(body);
    assert.equal(after.cache_read_input_tokens, 0);
    assert.ok(after.cache_creation_input_tokens > 0);
  });

  it('keeps 1h entries for an hour', () => {
    const body = req({ system: sys('1h') });
    const first = run(body);
    assert.equal(first.cache_creation.ephemeral_1h_input_tokens, prefix(body, 0));
    assert.equal(first.cache_creation.ephemeral_5m_input_tokens, 0);
    now += 59 * 60_000;
    assert.equal(run(body).cache_read_input_tokens, prefix(body, 0));
    now += 61 * 60_000;
    assert.equal(run(body).cache_read_input_tokens, 0);
  });

  it('splits 1h then 5m writes and reads the 1h part after the 5m part expired', () => {
    const body = req({
      system: [...sys('1h'), { type: 'text', text: SHORT, cache_control: { type: 'ephemeral', ttl: '5m' } }],
    });
    const a = prefix(body, 0);
    const b = prefix(body, 1);
    const first = run(body);
    assert.deepEqual(first.cache_creation, {
      ephemeral_1h_input_tokens: a,
      ephemeral_5m_input_tokens: b - a,
    });
    assert.equal(first.cache_creation_input_tokens, b);
    now += 10 * 60_000;
    const later = run(body);
    assert.equal(later.cache_read_input_tokens, a, '1h prefix still cached');
    assert.deepEqual(later.cache_creation, {
      ephemeral_1h_input_tokens: 0,
      ephemeral_5m_input_tokens: b - a,
    });
  });

  it('does not cache below the model minimum (both counters 0)', () => {
    const body = req({ system: sys('5m', SHORT) });
    for (let i = 0; i < 2; i++) {
      const u = run(body);
      assert.equal(u.cache_creation_input_tokens, 0);
      assert.equal(u.cache_read_input_tokens, 0);
      assert.equal(u.input_tokens, total(body));
    }
  });

  it('looks back from a later breakpoint to an earlier entry (growing conversation)', () => {
    const turn1 = {
      model: MODEL.id,
      max_tokens: 10,
      messages: [
        { role: 'user', content: [{ type: 'text', text: LONG, cache_control: { type: 'ephemeral' } }] },
      ],
    };
    const w1 = run(turn1).cache_creation_input_tokens;
    assert.ok(w1 > 0);
    const turn2 = {
      ...turn1,
      messages: [
        { role: 'user', content: [{ type: 'text', text: LONG }] },
        { role: 'assistant', content: 'Sure.' },
        {
          role: 'user',
          content: [{ type: 'text', text: 'And then?', cache_control: { type: 'ephemeral' } }],
        },
      ],
    };
    const u = run(turn2);
    assert.equal(u.cache_read_input_tokens, w1);
    assert.equal(u.cache_creation_input_tokens, total(turn2) - w1);
    assert.equal(u.input_tokens, 0);
  });

  it('automatic (top-level) caching breaks on the last block', () => {
    const body = {
      model: MODEL.id,
      max_tokens: 10,
      cache_control: { type: 'ephemeral' },
      system: LONG,
      messages: [{ role: 'user', content: 'hi' }],
    };
    const first = run(body);
    assert.equal(first.cache_creation_input_tokens, total(body));
    assert.equal(first.input_tokens, 0);
    assert.equal(run(body).cache_read_input_tokens, total(body));
  });

  it('is scoped per organization and invalidated by a tools change', () => {
    const body = req();
    run(body, 'org-1');
    assert.equal(run(body, 'org-2').cache_read_input_tokens, 0);
    assert.ok(run(body, 'org-1').cache_read_input_tokens > 0);
    const withTool = req({
      tools: [{ name: 't', input_schema: { type: 'object' } }],
    });
    assert.equal(run(withTool, 'org-1').cache_read_input_tokens, 0);
  });

  it('tool_choice change keeps the system level cached', () => {
    const tools = [{ name: 't', input_schema: { type: 'object' } }];
    const body = req({
      tools,
      messages: [
        { role: 'user', content: [{ type: 'text', text: LONG, cache_control: { type: 'ephemeral' } }] },
      ],
    });
    run(body);
    const other = { ...body, tool_choice: { type: 'any' } };
    const u = run(other);
    assert.equal(u.cache_read_input_tokens, prefix(body, 1), 'tools + system read, messages rewritten');
  });
});

describe('breakpoint validation', () => {
  const check = (body: Body) => findBreakpoints(requestTokenBlocks(body), body.cache_control);
  const cc = { type: 'ephemeral' };

  it('rejects more than 4 breakpoints', () => {
    const body = {
      messages: [
        {
          role: 'user',
          content: [1, 2, 3, 4, 5].map((i) => ({ type: 'text', text: `t${i}`, cache_control: cc })),
        },
      ],
    };
    const r = check(body);
    assert.ok('error' in r && /maximum of 4/.test(r.error));
  });

  it('rejects automatic caching on top of 4 explicit breakpoints', () => {
    const body = {
      cache_control: cc,
      messages: [
        {
          role: 'user',
          content: [1, 2, 3, 4].map((i) => ({ type: 'text', text: `t${i}`, cache_control: cc })),
        },
        { role: 'assistant', content: 'x' },
        { role: 'user', content: 'y' },
      ],
    };
    assert.ok('error' in check(body));
  });

  it('rejects a 1h breakpoint after a 5m one, accepts 1h before 5m', () => {
    const mk = (a: string, b: string) => ({
      system: [
        { type: 'text', text: 'a', cache_control: { type: 'ephemeral', ttl: a } },
        { type: 'text', text: 'b', cache_control: { type: 'ephemeral', ttl: b } },
      ],
      messages: [{ role: 'user', content: 'x' }],
    });
    const bad = check(mk('5m', '1h'));
    assert.ok('error' in bad && /1h/.test(bad.error));
    assert.ok(Array.isArray(check(mk('1h', '5m'))));
  });

  it('rejects cache_control on empty text and on thinking blocks', () => {
    assert.ok(
      'error' in
        check({ messages: [{ role: 'user', content: [{ type: 'text', text: '', cache_control: cc }] }] }),
    );
    assert.ok(
      'error' in
        check({
          messages: [
            { role: 'user', content: 'q' },
            {
              role: 'assistant',
              content: [{ type: 'thinking', thinking: 'x', signature: 's', cache_control: cc }],
            },
          ],
        }),
    );
  });
});
