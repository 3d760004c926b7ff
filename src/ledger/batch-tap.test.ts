import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchResultsTap } from './batch-tap.ts';

const line = (id: string, type: string, usage?: Record<string, unknown>) =>
  JSON.stringify({
    custom_id: id,
    result: type === 'succeeded' ? { type, message: { model: 'claude-haiku-4-5', usage } } : { type },
  });

test('lines split across chunks at any byte are read once each; only succeeded lines count', () => {
  const text = `${[
    line('a', 'succeeded', { input_tokens: 10, output_tokens: 3 }),
    line('b', 'errored'),
    line('c', 'succeeded', {
      input_tokens: 7,
      output_tokens: 2,
      cache_creation_input_tokens: 5,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 5 },
    }),
    line('d', 'expired'),
  ].join('\n')}\n${line('e', 'succeeded', { input_tokens: 1, output_tokens: 1 })}`; // no final newline
  const bytes = Buffer.from(text);
  for (const size of [1, 3, 17, bytes.length]) {
    const tap = new BatchResultsTap();
    for (let i = 0; i < bytes.length; i += size) tap.write(bytes.subarray(i, i + size));
    tap.end();
    assert.deepEqual(
      tap.lines.map((l) => [
        l.customId,
        l.model,
        l.usage.inputTokens,
        l.usage.outputTokens,
        l.usage.cacheCreation1hInputTokens,
      ]),
      [
        ['a', 'claude-haiku-4-5', 10, 3, 0],
        ['c', 'claude-haiku-4-5', 7, 2, 5],
        ['e', 'claude-haiku-4-5', 1, 1, 0],
      ],
      `chunk size ${size}`,
    );
    assert.equal(tap.malformed, 0);
  }
});

test('a line that is not a result is counted as malformed, not priced', () => {
  const tap = new BatchResultsTap();
  tap.write(Buffer.from('not json\n{"x":1}\n'));
  tap.end();
  assert.deepEqual([tap.lines.length, tap.malformed], [0, 2]);
});
