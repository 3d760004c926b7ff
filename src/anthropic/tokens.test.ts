import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  estimateRequestTokens,
  estimateTextTokens,
  IMAGE_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  requestTokenBlocks,
  SYSTEM_OVERHEAD_TOKENS,
  truncateToTokens,
} from './tokens.ts';

describe('estimateTextTokens', () => {
  it('follows the word rule', () => {
    assert.equal(estimateTextTokens(''), 0);
    assert.equal(estimateTextTokens('   \n\t'), 0);
    assert.equal(estimateTextTokens('a'), 1);
    assert.equal(estimateTextTokens('abcd'), 1);
    assert.equal(estimateTextTokens('abcde'), 2);
    assert.equal(estimateTextTokens('Hello, world!'), 4);
    assert.equal(estimateTextTokens('你好'), 2, 'non-ASCII: about a token per character');
  });

  it('is deterministic and additive over whitespace-separated parts', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        assert.equal(estimateTextTokens(a), estimateTextTokens(a));
        assert.equal(estimateTextTokens(`${a} ${b}`), estimateTextTokens(a) + estimateTextTokens(b));
      }),
    );
  });
});

describe('truncateToTokens', () => {
  it('keeps whole words while they fit, without trailing whitespace', () => {
    assert.deepEqual(truncateToTokens('one two three', 2), { text: 'one two', tokens: 2, truncated: true });
    assert.deepEqual(truncateToTokens('one two', 5), { text: 'one two', tokens: 2, truncated: false });
    assert.deepEqual(truncateToTokens('abcdefgh', 1), { text: 'abcd', tokens: 1, truncated: true });
    assert.deepEqual(truncateToTokens('abc', 0), { text: '', tokens: 0, truncated: true });
  });

  it('returns a prefix that costs at most the budget', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.nat(50), (s, n) => {
        const r = truncateToTokens(s, n);
        assert.ok(s.startsWith(r.text));
        assert.ok(r.tokens <= n);
        assert.equal(r.tokens, estimateTextTokens(r.text));
        if (!r.truncated) assert.equal(r.text, s);
        if (estimateTextTokens(s) <= n) assert.equal(r.truncated, false);
      }),
    );
  });
});

const body = {
  model: 'claude-sonnet-4-6',
  max_tokens: 10,
  tools: [
    {
      name: 'get_weather',
      description: 'Weather for a city',
      input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  ],
  system: [{ type: 'text', text: 'You are a helpful assistant.', cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'user', content: 'What is the weather in Paris?' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny, 21 C' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
      ],
    },
  ],
};

describe('estimateRequestTokens', () => {
  it('splits tools, system and messages and sums them', () => {
    const e = estimateRequestTokens(body);
    assert.ok(e.tools > 0);
    assert.equal(e.system, SYSTEM_OVERHEAD_TOKENS + estimateTextTokens('You are a helpful assistant.'));
    assert.ok(e.messages > IMAGE_TOKENS);
    assert.equal(e.total, e.tools + e.system + e.messages);
    assert.equal(e.cacheControlBlocks, 1);
  });

  it('is the same for the same input (and a deep copy of it), and ignores cache_control', () => {
    const a = estimateRequestTokens(body);
    assert.deepEqual(estimateRequestTokens(structuredClone(body)), a);
    const noCache = structuredClone(body) as typeof body;
    delete (noCache.system[0] as { cache_control?: unknown }).cache_control;
    assert.equal(estimateRequestTokens(noCache).total, a.total);
  });

  it('counts a single short message with its overhead', () => {
    const e = estimateRequestTokens({ messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(e.total, MESSAGE_OVERHEAD_TOKENS + 2);
  });
});

describe('requestTokenBlocks', () => {
  it('lists positions tools → system → messages with cumulative counts', () => {
    const blocks = requestTokenBlocks(body);
    assert.deepEqual(
      blocks.map((b) => `${b.section}:${b.index}.${b.block}`),
      [
        'tools:0.0',
        'system:0.0',
        'messages:0.0',
        'messages:1.0',
        'messages:1.1',
        'messages:2.0',
        'messages:2.1',
      ],
    );
    let sum = 0;
    for (const b of blocks) {
      sum += b.tokens;
      assert.equal(b.cumulative, sum);
    }
    assert.equal(blocks.at(-1)?.cumulative, estimateRequestTokens(body).total);
    assert.deepEqual(blocks[1].cacheControl, { type: 'ephemeral' });
    assert.equal(blocks[2].role, 'user');
  });
});
