import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GantryError } from '../errors.ts';
import { checkInputLimits, summarizeInput } from './input.ts';

const body = {
  model: 'm',
  system: 'not user content',
  unknown_future_field: { x: 1 },
  messages: [
    { role: 'user', content: 'hello there' },
    { role: 'assistant', content: 'hi! how can I help?' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'see' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc text' } },
        {
          type: 'tool_result',
          tool_use_id: 't',
          content: [
            { type: 'text', text: 'tool says' },
            { type: 'image', source: {} },
          ],
        },
      ],
    },
  ],
};

test('summarizeInput counts user text, tool results, messages, images and documents', () => {
  const s = summarizeInput(body);
  assert.equal(s.messages, 3);
  assert.equal(s.images, 2);
  assert.equal(s.documents, 1);
  assert.deepEqual(
    s.texts.map((t) => [t.source, t.text]),
    [
      ['user', 'hello there'],
      ['user', 'see'],
      ['tool_result', 'doc text'],
      ['tool_result', 'tool says'],
    ],
  );
  assert.equal(s.userChars, 'hello there'.length + 'see'.length + 'doc text'.length + 'tool says'.length);
  assert.ok(s.userTokens > 1600, 'images count in estimated tokens');
});

test('checkInputLimits names the limit; within limits passes', () => {
  const s = summarizeInput(body);
  checkInputLimits(
    { maxChars: 1000, maxMessages: 3, maxImages: 2, maxDocuments: 1, maxBodyBytes: 10_000 },
    s,
    500,
  );
  for (const [limits, name] of [
    [{ maxChars: 10 }, 'max_chars'],
    [{ maxTokens: 100 }, 'max_tokens'],
    [{ maxMessages: 2 }, 'max_messages'],
    [{ maxImages: 1 }, 'max_images'],
    [{ maxDocuments: 0 }, 'max_documents'],
    [{ maxBodyBytes: 100 }, 'max_body_bytes'],
  ] as const) {
    assert.throws(
      () => checkInputLimits(limits, s, 500),
      (err: unknown) =>
        err instanceof GantryError &&
        err.code === 'input_limit_exceeded' &&
        err.status === 400 &&
        err.message.includes(name) &&
        err.details?.limit === name,
    );
  }
});
