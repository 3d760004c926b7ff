import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { uncachedUsage } from '../simulator/cache.ts';
import { blockOutputTokens, type Reply, type ReplyBlock } from '../simulator/generate.ts';
import { buildUsage, streamFrames } from '../simulator/message.ts';
import { OutputEstimate, scanString } from './estimate.ts';
import { SseDecoder, type SseEvent } from './sse.ts';
import { estimateTextTokens } from './tokens.ts';
import { StreamTap } from './usage.ts';

/** The simulator's SSE events for a reply whose blocks are `content`. */
function simulatorEvents(content: ReplyBlock[], chunkSize: number): { events: SseEvent[]; reported: number } {
  const tokens = content.reduce((n, b) => n + simulatorBlockTokens(b), 0);
  const reply: Reply = {
    content,
    stopReason: 'end_turn',
    stopSequence: null,
    stopDetails: null,
    outputTokens: Math.max(1, tokens),
    thinkingTokens: 0,
  };
  const usage = buildUsage(uncachedUsage(10), reply, {}, 'standard');
  const text = streamFrames('msg_1', 'claude-haiku-4-5-20251001', reply, usage, chunkSize)
    .map((f) => f.text)
    .join('');
  const events = new SseDecoder().push(new TextEncoder().encode(text));
  return { events, reported: usage.output_tokens };
}

/** What the simulator bills for a block (generate.ts): omitted thinking counts up to 16. */
function simulatorBlockTokens(b: ReplyBlock): number {
  return b.type === 'thinking' && b.thinking === '' ? 16 : blockOutputTokens(b);
}

/**
 * An independent oracle for a prefix of the events: rebuild each block from its
 * parsed deltas, then count it with the simulator's own functions.
 */
function oracle(events: readonly SseEvent[]): number {
  let n = 0;
  let text = '';
  let json = '';
  const flush = () => {
    n += estimateTextTokens(text) + Math.ceil(json.length / 4);
    text = '';
    json = '';
  };
  for (const ev of events) {
    const data = JSON.parse(ev.data);
    if (ev.event === 'content_block_start') {
      flush();
      const b = data.content_block;
      if (b.type === 'tool_use') n += estimateTextTokens(b.name);
      if (b.type === 'redacted_thinking') n += Math.ceil(b.data.length / 8);
    } else if (ev.event === 'content_block_delta') {
      const d = data.delta;
      if (d.type === 'text_delta') text += d.text;
      else if (d.type === 'thinking_delta') text += d.thinking;
      else if (d.type === 'input_json_delta') json += d.partial_json;
    } else if (ev.event === 'content_block_stop') flush();
  }
  flush();
  return n;
}

const words = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.constantFrom(
        ' ',
        '\n',
        '\t',
        '  ',
        '"',
        '\\',
        '\u00a0',
        '\u3000',
        'naïve',
        '日本語',
        '👍🏽',
        '\u0001',
      ),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

const jsonValue = fc.jsonValue({ maxDepth: 3 });

const block: fc.Arbitrary<ReplyBlock> = fc.oneof(
  { weight: 4, arbitrary: words.map((text): ReplyBlock => ({ type: 'text', text })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ name: fc.stringMatching(/^[a-z_]{1,20}$/), input: fc.dictionary(fc.string(), jsonValue) })
      .map((t): ReplyBlock => ({ type: 'tool_use', id: 'toolu_1', ...t })),
  },
  {
    weight: 2,
    // Non-empty: an empty thinking block is thinking sent with display "omitted" (tested apart).
    arbitrary: words
      .filter((thinking) => thinking !== '')
      .map((thinking): ReplyBlock => ({ type: 'thinking', thinking, signature: 'c2ln' })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'binary-ascii', minLength: 1, maxLength: 60 })
      .map((data): ReplyBlock => ({ type: 'redacted_thinking', data })),
  },
);

const omittedThinking: ReplyBlock = { type: 'thinking', thinking: '', signature: 'c2ln' };

describe('OutputEstimate against the simulator’s own count', () => {
  it('a whole stream without its final message_delta: the estimate is the simulator’s count (property)', () => {
    fc.assert(
      fc.property(
        fc.array(block, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 24 }),
        (content, size) => {
          const { events, reported } = simulatorEvents(content, size);
          const tap = new StreamTap();
          for (const ev of events)
            if (ev.event !== 'message_delta' && ev.event !== 'message_stop') tap.observe(ev);
          assert.equal(tap.usage.source, 'estimated');
          assert.equal(tap.usage.outputTokens, reported);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a stream cut after any event: the estimate is the simulator’s count of what was relayed (property)', () => {
    fc.assert(
      fc.property(
        fc.array(block, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 24 }),
        fc.nat(),
        (content, size, at) => {
          const { events } = simulatorEvents(content, size);
          const cut = events.slice(0, at % events.length);
          const est = new OutputEstimate();
          for (const ev of cut) est.event(ev.event ?? '', ev.data);
          assert.equal(est.tokens, oracle(cut.filter((e) => e.event?.startsWith('content_block'))));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('thinking sent with display "omitted" is a known lower bound: error ≤ 16 tokens per such block (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(block, fc.constant(omittedThinking)), { minLength: 1, maxLength: 5 }),
        (content) => {
          const { events, reported } = simulatorEvents(content, 16);
          const tap = new StreamTap();
          for (const ev of events) if (ev.event !== 'message_delta') tap.observe(ev);
          const omitted = content.filter((b) => b.type === 'thinking' && b.thinking === '').length;
          const error = reported - tap.usage.outputTokens;
          assert.ok(error >= 0 && error <= 16 * omitted, `error ${error} with ${omitted} omitted blocks`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the issue’s case: 100 relayed deltas are counted, not billed as 1 token', () => {
    const text = Array.from({ length: 100 }, (_, i) => `word${i} and more`).join(' ');
    const { events, reported } = simulatorEvents([{ type: 'text', text }], 16);
    const deltas = events.filter((e) => e.event === 'content_block_delta').slice(0, 100);
    const tap = new StreamTap();
    for (const ev of events.slice(0, events.indexOf(deltas[deltas.length - 1]) + 1)) tap.observe(ev);
    assert.ok(tap.usage.outputTokens > 100, String(tap.usage.outputTokens));
    assert.ok(tap.usage.outputTokens <= reported);
  });
});

describe('OutputEstimate details', () => {
  it('a word split across deltas counts once', () => {
    const est = new OutputEstimate();
    for (const text of ['Hel', 'lo wor', 'ld']) {
      est.event(
        'content_block_delta',
        JSON.stringify({ type: 'content_block_delta', delta: { type: 'text_delta', text } }),
      );
    }
    assert.equal(est.tokens, estimateTextTokens('Hello world'));
  });

  it('thinking tokens are reported apart (and included in the total)', () => {
    const tap = new StreamTap();
    tap.observe({
      event: 'content_block_start',
      data: '{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}',
    });
    tap.observe({
      event: 'content_block_delta',
      data: '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think about it"}}',
    });
    tap.observe({ event: 'content_block_stop', data: '{"type":"content_block_stop","index":0}' });
    tap.observe({
      event: 'content_block_start',
      data: '{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}',
    });
    tap.observe({
      event: 'content_block_delta',
      data: '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Yes."}}',
    });
    assert.equal(tap.usage.thinkingTokens, estimateTextTokens('Let me think about it'));
    assert.equal(tap.usage.outputTokens, estimateTextTokens('Let me think about it') + 1);
  });

  it('once a message_delta reports usage, the API’s count stands and content is no longer scanned', () => {
    const tap = new StreamTap();
    tap.observe({
      event: 'content_block_delta',
      data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a b c d e f"}}',
    });
    tap.observe({
      event: 'message_delta',
      data: '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}',
    });
    assert.equal(tap.usage.outputTokens, 2);
    assert.equal(tap.usage.source, undefined);
    assert.equal(tap.usageSource, 'reported');
  });

  it('signature and unknown deltas add nothing; malformed payloads never throw', () => {
    const est = new OutputEstimate();
    est.event(
      'content_block_delta',
      '{"type":"content_block_delta","delta":{"type":"signature_delta","signature":"abc def"}}',
    );
    est.event(
      'content_block_delta',
      '{"delta":{"type":"citations_delta","citation":{"cited_text":"x y z"}}}',
    );
    est.event('content_block_start', '{not json');
    est.event('content_block_delta', '{"delta":{"type":"text_delta","text":');
    est.event('content_block_delta', '{"delta":{"type":"text_delta","text":"unterminated');
    assert.equal(est.tokens, estimateTextTokens('unterminated'));
  });

  it('scanString decodes every JSON escape like JSON.parse and counts words like estimateTextTokens (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' }), (s, t) => {
        const encoded = JSON.stringify(s + t);
        const count = { tokens: 0, units: 0 };
        assert.equal(scanString(encoded, 1, count), s.length + t.length);
        assert.equal(count.tokens + ((count.units + 3) >> 2), estimateTextTokens(s + t));
        assert.equal(scanString(encoded, 1, undefined), (s + t).length);
      }),
      { numRuns: 500 },
    );
  });
});
