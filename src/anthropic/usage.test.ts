import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeEvent, SseDecoder, type SseEvent } from './sse.ts';
import { emptyUsage, StreamTap, type Usage, usageFromMessage } from './usage.ts';

const FIXTURES = new URL('../../test/fixtures/sse/', import.meta.url);
const fixtureText = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function tapText(text: string, chunkSize = 0): StreamTap {
  const tap = new StreamTap();
  const buf = bytes(text);
  if (chunkSize <= 0) tap.write(buf);
  else for (let i = 0; i < buf.length; i += chunkSize) tap.write(buf.subarray(i, i + chunkSize));
  tap.end();
  return tap;
}

const usage = (over: Partial<Usage>): Usage => ({ ...emptyUsage(), ...over });

/** The text of a fixture up to (not including) its `message_stop` event. */
function withoutStop(text: string): string {
  return text.slice(0, text.lastIndexOf('event: message_stop'));
}

describe('StreamTap on the recorded fixtures', () => {
  it('basic_response.sse: usage is the message_delta total (6), not start + delta (7)', () => {
    const tap = tapText(fixtureText('basic_response.sse'));
    assert.deepEqual(tap.usage, usage({ inputTokens: 11, outputTokens: 6 }));
    assert.equal(tap.messageId, 'msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK');
    assert.equal(tap.model, 'claude-opus-4-8');
    assert.equal(tap.stopReason, 'end_turn');
    assert.equal(tap.stopSequence, undefined);
    assert.equal(tap.sawMessageStart, true);
    assert.equal(tap.sawMessageStop, true);
    assert.equal(tap.eventCount, 9);
    assert.equal(tap.malformedEvents, 0);
    assert.equal(tap.error, undefined);
    assert.equal(tap.endedMidEvent, false);
    assert.equal(tap.outcome(), 'complete');
  });

  it('tool_use_response.sse', () => {
    const tap = tapText(fixtureText('tool_use_response.sse'), 7);
    assert.deepEqual(tap.usage, usage({ inputTokens: 377, outputTokens: 65, serviceTier: 'standard' }));
    assert.equal(tap.stopReason, 'tool_use');
    assert.equal(tap.outcome(), 'complete');
  });

  it('incomplete_partial_json_response.sse: max_tokens, still a complete stream', () => {
    const tap = tapText(fixtureText('incomplete_partial_json_response.sse'), 100);
    assert.deepEqual(tap.usage, usage({ inputTokens: 450, outputTokens: 124, serviceTier: 'standard' }));
    assert.equal(tap.stopReason, 'max_tokens');
    assert.equal(tap.outcome(), 'complete');
  });

  it('stream-a-refusal.sse: cache fields, thinking tokens, tier and geo', () => {
    const tap = tapText(fixtureText('stream-a-refusal.sse'), 1);
    assert.deepEqual(
      tap.usage,
      usage({
        inputTokens: 28,
        outputTokens: 106,
        thinkingTokens: 67,
        serviceTier: 'standard',
        inferenceGeo: 'global',
      }),
    );
    assert.equal(tap.model, 'claude-fable-5');
    assert.equal(tap.messageId, 'msg_fixture_a_0001');
    assert.equal(tap.stopReason, 'refusal');
    assert.equal(tap.outcome(), 'complete');
  });

  it('stream-a-toolrefusal.sse: input counters repeated in message_delta overwrite the start', () => {
    const tap = tapText(fixtureText('stream-a-toolrefusal.sse'));
    // message_start says 612 input / 63 output; the final message_delta carries 28 / 106.
    assert.equal(tap.usage.inputTokens, 28);
    assert.equal(tap.usage.outputTokens, 106);
    assert.equal(tap.stopReason, 'refusal');
    assert.equal(tap.outcome(), 'complete');
  });

  it('stream-b-fallback.sse', () => {
    const tap = tapText(fixtureText('stream-b-fallback.sse'), 64);
    assert.deepEqual(
      tap.usage,
      usage({
        inputTokens: 31,
        outputTokens: 547,
        thinkingTokens: 0,
        serviceTier: 'standard',
        inferenceGeo: 'global',
      }),
    );
    assert.equal(tap.outcome(), 'complete');
  });

  it('observe() with an external decoder gives the same result as write()', () => {
    const text = fixtureText('stream-a-refusal.sse');
    const tap = new StreamTap();
    for (const ev of new SseDecoder().push(bytes(text))) tap.observe(ev);
    const viaBytes = tapText(text);
    assert.deepEqual(tap.usage, viaBytes.usage);
    assert.equal(tap.eventCount, viaBytes.eventCount);
    assert.equal(tap.outcome(), 'complete');
  });

  it('records when the first event arrived and counts every event', () => {
    let t = 100;
    const tap = new StreamTap({ now: () => t++ });
    assert.equal(tap.firstEventAt, undefined);
    tap.write(bytes(fixtureText('basic_response.sse')));
    assert.equal(tap.firstEventAt, 100);
    assert.equal(tap.eventCount, 9);
  });

  it('default clock is performance.now()', () => {
    const before = performance.now();
    const tap = tapText(fixtureText('basic_response.sse'));
    assert.ok(
      tap.firstEventAt !== undefined && tap.firstEventAt >= before && tap.firstEventAt <= performance.now(),
    );
  });
});

describe('StreamTap outcomes', () => {
  it('an error event mid-stream: error_event, with type and message', () => {
    const text =
      withoutStop(fixtureText('basic_response.sse')).split('event: content_block_delta')[0] +
      encodeEvent('error', {
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded', details: null },
      });
    const tap = tapText(text, 5);
    assert.deepEqual(tap.error, { type: 'overloaded_error', message: 'Overloaded' });
    assert.equal(tap.outcome(), 'error_event');
    assert.equal(tap.sawMessageStop, false);
    assert.equal(tap.endedMidEvent, false);
    // usage so far: message_start's (no content relayed before the error: the estimate is 0)
    assert.deepEqual(tap.usage, usage({ inputTokens: 11, outputTokens: 1, source: 'estimated' }));
    assert.equal(tap.usageSource, 'estimated');
  });

  it('an error event with an unparseable payload still counts as an error event', () => {
    const tap = tapText('event: error\ndata: upstream exploded\n\n');
    assert.deepEqual(tap.error, { type: 'api_error', message: 'upstream exploded' });
    assert.equal(tap.outcome(), 'error_event');
    assert.equal(tap.malformedEvents, 1);
  });

  it('a stream without message_stop (cut at an event boundary) is cut', () => {
    const tap = tapText(withoutStop(fixtureText('tool_use_response.sse')), 13);
    assert.equal(tap.outcome(), 'cut');
    assert.equal(tap.sawMessageStop, false);
    assert.equal(tap.endedMidEvent, false);
    // the usage seen so far is kept (the message_delta did arrive)
    assert.equal(tap.usage.outputTokens, 65);
  });

  it('a stream cut mid-event is cut, and endedMidEvent says so', () => {
    const text = fixtureText('stream-b-fallback.sse');
    const tap = tapText(text.slice(0, text.indexOf('event: message_delta') + 40), 50);
    assert.equal(tap.outcome(), 'cut');
    assert.equal(tap.endedMidEvent, true);
    assert.equal(tap.stopReason, undefined);
    // message_start's input side; output: the larger of message_start's 7 and the estimate of the
    // text relayed (src/anthropic/estimate.test.ts checks the estimate itself)
    assert.equal(tap.usage.inputTokens, 31);
    assert.equal(tap.usage.source, 'estimated');
    assert.equal(tap.usage.outputTokens, Math.max(7, tap.estimatedOutputTokens));
    assert.ok(tap.estimatedOutputTokens > 7, String(tap.estimatedOutputTokens));
  });

  it('an empty stream is cut', () => {
    const tap = new StreamTap();
    tap.end();
    assert.equal(tap.outcome(), 'cut');
    assert.equal(tap.eventCount, 0);
  });

  it('never throws on malformed JSON in the parsed events', () => {
    const tap = new StreamTap();
    const evs: SseEvent[] = [
      { event: 'message_start', data: '{not json' },
      { event: 'message_start', data: '42' },
      { event: 'message_start', data: '{"type":"message_start"}' },
      { event: 'message_delta', data: '{"usage":' },
      { event: 'content_block_delta', data: '{also not json, never parsed' },
      { event: 'message_stop', data: '' },
    ];
    for (const ev of evs) tap.observe(ev);
    assert.equal(tap.malformedEvents, 4);
    assert.equal(tap.eventCount, 6);
    assert.equal(tap.sawMessageStart, false);
    // message_stop without a message_delta: no final usage, so it is an estimate (of nothing)
    assert.deepEqual(tap.usage, { ...emptyUsage(), source: 'estimated' });
    assert.equal(tap.outcome(), 'complete');
  });
});

describe('usage reduction rules', () => {
  const start = (u: object) =>
    encodeEvent('message_start', {
      type: 'message_start',
      message: { id: 'msg_1', model: 'm', content: [], stop_reason: null, usage: u },
    });
  const delta = (u: object, stop: string | null = null) =>
    encodeEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stop, stop_sequence: null },
      usage: u,
    });
  const stop = encodeEvent('message_stop', { type: 'message_stop' });

  it('k cumulative message_delta events: output is the last value, never the sum (property)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 5 }),
        fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 10 }),
        fc.nat({ max: 10_000 }),
        fc.integer({ min: 1, max: 64 }),
        (initial, increments, input, chunk) => {
          let out = initial;
          const totals = increments.map((d) => {
            out += d;
            return out;
          });
          let text = start({ input_tokens: input, output_tokens: initial });
          for (const t of totals) {
            text += encodeEvent('ping', { type: 'ping' });
            text += delta({ output_tokens: t });
          }
          text += stop;
          const tap = tapText(text, chunk);
          assert.equal(tap.usage.outputTokens, totals.at(-1));
          assert.equal(tap.usage.inputTokens, input);
          assert.equal(tap.outcome(), 'complete');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('message_delta overwrites only the counters it carries (null keeps the value)', () => {
    const tap = tapText(
      start({
        input_tokens: 10,
        cache_read_input_tokens: 500,
        cache_creation_input_tokens: 200,
        cache_creation: { ephemeral_5m_input_tokens: 150, ephemeral_1h_input_tokens: 50 },
        output_tokens: 1,
        service_tier: 'priority',
      }) +
        delta({ output_tokens: 40, input_tokens: null, cache_read_input_tokens: null }) +
        delta(
          {
            output_tokens: 90,
            input_tokens: 10682,
            cache_creation_input_tokens: 200,
            server_tool_use: { web_search_requests: 2 },
          },
          'end_turn',
        ) +
        stop,
    );
    assert.deepEqual(
      tap.usage,
      usage({
        inputTokens: 10682,
        outputTokens: 90,
        cacheReadInputTokens: 500,
        cacheCreationInputTokens: 200,
        // the split from message_start survives a later total without breakdown
        cacheCreation5mInputTokens: 150,
        cacheCreation1hInputTokens: 50,
        webSearchRequests: 2,
        serviceTier: 'priority',
      }),
    );
    assert.equal(tap.stopReason, 'end_turn');
  });

  it('cache writes without a breakdown are attributed to the 5-minute TTL', () => {
    const tap = tapText(
      start({ input_tokens: 3, cache_creation_input_tokens: 1200, output_tokens: 1 }) + stop,
    );
    assert.equal(tap.usage.cacheCreationInputTokens, 1200);
    assert.equal(tap.usage.cacheCreation5mInputTokens, 1200);
    assert.equal(tap.usage.cacheCreation1hInputTokens, 0);
  });

  it('a later, larger total than the breakdown: the remainder goes to 5m', () => {
    const tap = tapText(
      start({
        cache_creation_input_tokens: 100,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 100 },
        output_tokens: 1,
      }) +
        delta({ output_tokens: 5, cache_creation_input_tokens: 130 }) +
        stop,
    );
    assert.equal(tap.usage.cacheCreationInputTokens, 130);
    assert.equal(tap.usage.cacheCreation5mInputTokens, 30);
    assert.equal(tap.usage.cacheCreation1hInputTokens, 100);
  });
});

describe('usageFromMessage', () => {
  it('a non-streaming Message with the cache_creation breakdown (reference 5.3)', () => {
    const message = {
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-5-5',
      content: [{ type: 'text', text: 'Hi!', citations: null }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 50,
        cache_creation_input_tokens: 248,
        cache_read_input_tokens: 1800,
        cache_creation: { ephemeral_5m_input_tokens: 148, ephemeral_1h_input_tokens: 100 },
        output_tokens: 503,
        output_tokens_details: { thinking_tokens: 120 },
        server_tool_use: { web_search_requests: 0, web_fetch_requests: 1 },
        service_tier: 'standard',
        inference_geo: 'global',
        speed: 'standard',
      },
    };
    assert.deepEqual(usageFromMessage(message), {
      inputTokens: 50,
      outputTokens: 503,
      cacheCreationInputTokens: 248,
      cacheCreation5mInputTokens: 148,
      cacheCreation1hInputTokens: 100,
      cacheReadInputTokens: 1800,
      webSearchRequests: 0,
      webFetchRequests: 1,
      thinkingTokens: 120,
      serviceTier: 'standard',
      inferenceGeo: 'global',
      speed: 'standard',
    });
  });

  it('nullable fields (SDK types) read as absent', () => {
    const u = usageFromMessage({
      usage: {
        input_tokens: 9,
        output_tokens: 3,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        cache_creation: null,
        server_tool_use: null,
        service_tier: null,
      },
    });
    assert.deepEqual(u, usage({ inputTokens: 9, outputTokens: 3 }));
  });

  it('only a breakdown: the total is its sum', () => {
    const u = usageFromMessage({
      usage: {
        output_tokens: 1,
        cache_creation: { ephemeral_5m_input_tokens: 7, ephemeral_1h_input_tokens: 5 },
      },
    });
    assert.equal(u.cacheCreationInputTokens, 12);
    assert.equal(u.cacheCreation5mInputTokens, 7);
    assert.equal(u.cacheCreation1hInputTokens, 5);
  });

  it('a batch result line and its result object', () => {
    const line = {
      custom_id: 'req-1',
      result: {
        type: 'succeeded',
        message: {
          id: 'msg_01',
          type: 'message',
          content: [{ type: 'text', text: 'hi' }],
          usage: { input_tokens: 9, output_tokens: 3, service_tier: 'batch' },
        },
      },
    };
    const expected = usage({ inputTokens: 9, outputTokens: 3, serviceTier: 'batch' });
    assert.deepEqual(usageFromMessage(line), expected);
    assert.deepEqual(usageFromMessage(line.result), expected);
  });

  it('anything without usage gives zeros', () => {
    assert.deepEqual(usageFromMessage(null), emptyUsage());
    assert.deepEqual(usageFromMessage('x'), emptyUsage());
    assert.deepEqual(
      usageFromMessage({ type: 'error', error: { type: 'overloaded_error', message: 'x' } }),
      emptyUsage(),
    );
    assert.deepEqual(
      usageFromMessage({ custom_id: 'a', result: { type: 'errored', error: { type: 'error' } } }),
      emptyUsage(),
    );
  });

  it('returns a fresh object each call', () => {
    const a = usageFromMessage({ usage: { output_tokens: 1 } });
    a.outputTokens = 99;
    assert.equal(usageFromMessage({ usage: { output_tokens: 1 } }).outputTokens, 1);
    assert.notEqual(emptyUsage(), emptyUsage());
  });
});
