import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeEvent, SseDecoder } from '../anthropic/sse.ts';
import { PII_DETECTORS, SECRET_DETECTORS } from './detectors.ts';
import { type ScanRule, scanText } from './scanner.ts';
import { scanSseStream } from './stream.ts';

const AWS = `AKIA${'IOSFODNN7EXAMPLE'}`;
const rules = (action: 'redact' | 'block'): ScanRule[] =>
  [...SECRET_DETECTORS, ...PII_DETECTORS].map((detector) => ({ detector, action }));

/** A Messages stream: a thinking block, a text block split into `parts`, a tool_use block. */
function frames(parts: string[]): string[] {
  const f: string[] = [];
  const ev = (name: string, data: Record<string, unknown>) =>
    f.push(encodeEvent(name, { type: name, ...data }));
  ev('message_start', {
    message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: {} },
  });
  ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } });
  ev('ping', {});
  ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: `think ${AWS}` } });
  ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig' } });
  ev('content_block_stop', { index: 0 });
  ev('content_block_start', { index: 1, content_block: { type: 'text', text: '' } });
  for (const text of parts) ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text } });
  ev('content_block_stop', { index: 1 });
  ev('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 't', name: 'x', input: {} } });
  ev('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } });
  ev('content_block_stop', { index: 2 });
  ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } });
  ev('message_stop', {});
  return f;
}

async function* chunks(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const n = sizes.length ? sizes[i++ % sizes.length] : bytes.length;
    yield bytes.subarray(pos, pos + n);
    pos += n;
  }
}

async function run(parts: string[], sizes: number[], ruleSet: ScanRule[], holdBack = 64) {
  const input = Buffer.from(frames(parts).join(''));
  const out: Buffer[] = [];
  for await (const c of scanSseStream(chunks(input, sizes), ruleSet, { holdBack })) out.push(c);
  const events = new SseDecoder().push(Buffer.concat(out));
  const text = events
    .map((e) => JSON.parse(e.data))
    .filter((d) => d.type === 'content_block_delta' && d.delta.type === 'text_delta')
    .map((d) => d.delta.text)
    .join('');
  const nonText = events.filter((e) => !e.data.includes('"text_delta"')).map((e) => `${e.event} ${e.data}`);
  const inputNonText = new SseDecoder()
    .push(input)
    .filter((e) => !e.data.includes('"text_delta"'))
    .map((e) => `${e.event} ${e.data}`);
  return { events, text, nonText, inputNonText };
}

describe('scanSseStream', () => {
  test('redacts a key split across three deltas; everything else is unchanged and in order', async () => {
    const r = await run(
      [`key ${AWS.slice(0, 7)}`, AWS.slice(7, 15), `${AWS.slice(15)} done`],
      [17],
      rules('redact'),
    );
    assert.equal(r.text, 'key [REDACTED:aws_access_key] done');
    assert.deepEqual(r.nonText, r.inputNonText); // thinking text is not scanned, tool JSON untouched
  });

  test('text with nothing to hold or redact leaves as the upstream sent it, byte for byte', async () => {
    // Spacing the gateway would not write itself: a re-encoded delta would differ from it.
    const input = Buffer.from(
      frames(['Hello there. ', 'How are you today? ', 'Fine. '])
        .join('')
        .replaceAll('"delta":{"type":"text_delta"', '"delta": {"type": "text_delta"'),
    );
    const out: Buffer[] = [];
    for await (const c of scanSseStream(chunks(input, [23]), rules('redact'), { holdBack: 64 })) out.push(c);
    assert.equal(Buffer.concat(out).toString(), input.toString());
  });

  test('block ends with an error event after the text before the match, and stops reading', async () => {
    let pulled = 0;
    const input = Buffer.from(frames(['hello ', AWS, ' tail']).join(''));
    async function* counted() {
      for await (const c of chunks(input, [40])) {
        pulled++;
        yield c;
      }
    }
    const out: Buffer[] = [];
    for await (const c of scanSseStream(counted(), rules('block'), { holdBack: 64 })) out.push(c);
    const events = new SseDecoder().push(Buffer.concat(out));
    const last = events.at(-1)!;
    assert.equal(last.event, 'error');
    assert.equal(JSON.parse(last.data).error.details.gantry_code, 'output_blocked');
    const text = events
      .map((e) => JSON.parse(e.data))
      .filter((d) => d.delta?.type === 'text_delta')
      .map((d) => d.delta.text)
      .join('');
    assert.equal(text, 'hello ');
    assert.ok(!events.some((e) => e.event === 'message_stop'));
    assert.ok(pulled < Math.ceil(input.length / 40), 'the upstream was not read to the end');
  });

  test('property: any delta split and any byte chunking give the whole-text redaction, events in order', async () => {
    const pieces = [
      'word ',
      AWS,
      'jane.doe@example.com',
      ' 415-555-0132 ',
      '4111 1111 1111 1111',
      '. ',
      '\n',
      'x',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 20 }).map((a) => a.join('')),
        fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 15 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 5 }),
        async (text, cuts, sizes) => {
          const parts: string[] = [];
          let pos = 0;
          for (const c of cuts) {
            if (pos >= text.length) break;
            parts.push(text.slice(pos, pos + c));
            pos += c;
          }
          if (pos < text.length) parts.push(text.slice(pos));
          const r = await run(parts, sizes, rules('redact'));
          assert.equal(r.text, scanText(text, rules('redact')).text);
          assert.deepEqual(r.nonText, r.inputNonText);
          // Text deltas stay inside their block: between its start and its stop.
          const kinds = r.events.map((e) => JSON.parse(e.data)).map((d) => `${d.type}:${d.index ?? ''}`);
          const start = kinds.indexOf('content_block_start:1');
          const stop = kinds.indexOf('content_block_stop:1');
          kinds.forEach((k, i) => {
            if (k === 'content_block_delta:1') assert.ok(i > start && i < stop);
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});
