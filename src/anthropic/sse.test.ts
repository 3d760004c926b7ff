import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeEvent, SseDecoder, type SseEvent } from './sse.ts';

/** The repository's copy of the recorded streams (tests never depend on `shared/`). */
const FIXTURES = new URL('../../test/fixtures/sse/', import.meta.url);
/** The originals, beside the repository; only used to check the copy is faithful. */
const SHARED = new URL('../../../shared/fixtures/sse/', import.meta.url);

const fixtureNames = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.sse'))
  .sort();
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The events without their chunk offsets (`end`), which depend on the chunking. */
const strip = (events: SseEvent[]): SseEvent[] => events.map(({ end: _end, ...rest }) => rest);

function decodeChunks(chunks: Uint8Array[]): { events: SseEvent[]; pending: boolean } {
  const d = new SseDecoder();
  const events: SseEvent[] = [];
  for (const c of chunks) events.push(...strip(d.push(c)));
  events.push(...d.end());
  return { events, pending: d.pending };
}

/**
 * What a relay forwards when it sends each chunk up to the `end` of its last
 * event and holds the rest: the bytes of every complete event, in order.
 */
function relayed(chunks: Uint8Array[]): { out: Buffer; ends: number } {
  const d = new SseDecoder();
  const parts: Buffer[] = [];
  let held: Buffer[] = [];
  let ends = 0;
  for (const c of chunks) {
    const buf = Buffer.from(c);
    const events = d.push(buf);
    if (events.length === 0) {
      held.push(buf);
      continue;
    }
    for (const ev of events) assert.ok(ev.end !== undefined && ev.end > 0 && ev.end <= buf.length);
    const cut = events[events.length - 1].end!;
    parts.push(...held, buf.subarray(0, cut));
    held = [buf.subarray(cut)];
    ends += events.length;
  }
  return { out: Buffer.concat(parts), ends };
}
const decodeAll = (buf: Uint8Array) => decodeChunks([buf]);

function splitAt(buf: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

const byteByByte = (buf: Uint8Array): Uint8Array[] => Array.from(buf, (_, i) => buf.subarray(i, i + 1));

/**
 * Oracle for the fixtures: they are regular (`event:` line, one `data:` line, blank
 * line), so the expected sequence can be read off the text with a plain line split.
 */
function expectedFromText(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  let event: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) out.push({ event, data: line.slice(6) });
  }
  return out;
}

describe('encodeEvent', () => {
  it('writes one frame in the API shape', () => {
    assert.equal(encodeEvent('ping', { type: 'ping' }), 'event: ping\ndata: {"type":"ping"}\n\n');
    assert.equal(encodeEvent('x', 'raw'), 'event: x\ndata: raw\n\n');
  });

  it('round-trips through the decoder', () => {
    const payload = { type: 'content_block_delta', delta: { text: 'héllo\nworld 😀' } };
    const { events } = decodeAll(bytes(encodeEvent('content_block_delta', payload)));
    assert.equal(events.length, 1);
    assert.equal(events[0].event, 'content_block_delta');
    assert.deepEqual(JSON.parse(events[0].data), payload);
  });
});

describe('SseDecoder on the recorded fixtures', () => {
  it('has the six fixtures', () => {
    assert.deepEqual(fixtureNames, [
      'basic_response.sse',
      'incomplete_partial_json_response.sse',
      'stream-a-refusal.sse',
      'stream-a-toolrefusal.sse',
      'stream-b-fallback.sse',
      'tool_use_response.sse',
    ]);
  });

  it('the copy in test/fixtures matches shared/ when shared/ is present', (t) => {
    if (!existsSync(SHARED)) {
      t.skip('shared/fixtures/sse not beside the repository');
      return;
    }
    for (const name of fixtureNames) {
      assert.deepEqual(fixture(name), new Uint8Array(readFileSync(new URL(name, SHARED))), name);
    }
  });

  for (const name of fixtureNames) {
    it(`${name}: forwarding each chunk up to its last event's end relays every event's bytes, whatever the chunking (property)`, () => {
      const buf = fixture(name);
      const whole = relayed([buf]);
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 40 }), (points) => {
          const r = relayed(splitAt(buf, points));
          assert.equal(r.ends, whole.ends);
          assert.deepEqual(r.out, whole.out);
        }),
        { numRuns: 200 },
      );
      // The bytes forwarded are the stream up to the end of its last complete event.
      assert.deepEqual(whole.out, Buffer.from(buf).subarray(0, whole.out.length));
      assert.deepEqual(relayed(byteByByte(buf)).out, whole.out);
    });

    it(`${name}: decodes to the expected events with parseable JSON`, () => {
      const buf = fixture(name);
      const { events, pending } = decodeAll(buf);
      const expected = expectedFromText(new TextDecoder().decode(buf));
      assert.ok(expected.length > 3);
      assert.deepEqual(events, expected);
      assert.equal(pending, false);
      assert.equal(events[0].event, 'message_start');
      assert.equal(events.at(-1)?.event, 'message_stop');
      for (const ev of events) {
        const parsed = JSON.parse(ev.data); // padded JSON (trailing spaces) still parses
        assert.equal(parsed.type, ev.event);
      }
    });
  }

  it('basic_response.sse: exact event sequence, ping included', () => {
    const { events } = decodeAll(fixture('basic_response.sse'));
    assert.deepEqual(
      events.map((e) => e.event),
      [
        'message_start',
        'content_block_start',
        'ping',
        'content_block_delta',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    assert.deepEqual(JSON.parse(events[2].data), { type: 'ping' });
    assert.equal(events[2].data, '{"type": "ping"}');
  });

  it('stream-a-refusal.sse: padded data keeps its padding and multi-byte text', () => {
    const { events } = decodeAll(fixture('stream-a-refusal.sse'));
    assert.match(events[0].data, /\} {5,}\}$/);
    assert.ok(events.some((e) => e.data.includes('—')));
  });

  for (const name of fixtureNames) {
    it(`${name}: same events for every chunking (property)`, () => {
      const buf = fixture(name);
      const whole = decodeAll(buf).events;
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 40 }), (points) => {
          assert.deepEqual(decodeChunks(splitAt(buf, points)).events, whole);
        }),
        { numRuns: 150 },
      );
    });

    it(`${name}: same events fed byte by byte`, () => {
      const buf = fixture(name);
      assert.deepEqual(decodeChunks(byteByByte(buf)).events, decodeAll(buf).events);
    });
  }

  it('same events with CRLF and lone-CR line endings, any chunking (property)', () => {
    const text = new TextDecoder().decode(fixture('stream-a-refusal.sse'));
    const whole = decodeAll(bytes(text)).events;
    for (const eol of ['\r\n', '\r']) {
      const buf = bytes(text.replaceAll('\n', eol));
      assert.deepEqual(decodeChunks(byteByByte(buf)).events, whole);
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 60 }), (points) => {
          assert.deepEqual(decodeChunks(splitAt(buf, points)).events, whole);
        }),
        { numRuns: 150 },
      );
    }
  });

  it('a stream cut mid-event is reported as pending; no partial event is dispatched', () => {
    const buf = fixture('basic_response.sse');
    const text = new TextDecoder().decode(buf);
    const cut = text.lastIndexOf('event: message_stop');
    // cut inside the final event's data line
    const mid = decodeAll(bytes(text.slice(0, cut + 30)));
    assert.equal(mid.pending, true);
    assert.equal(mid.events.at(-1)?.event, 'message_delta');
    assert.equal(
      mid.events.some((e) => e.event === 'message_stop'),
      false,
    );
    // cut after a field line (complete line, no blank line yet)
    const afterLine = decodeAll(bytes(text.slice(0, cut + 'event: message_stop\n'.length)));
    assert.equal(afterLine.pending, true);
    // cut exactly at an event boundary: nothing pending, but no message_stop either
    const atBoundary = decodeAll(bytes(text.slice(0, cut)));
    assert.equal(atBoundary.pending, false);
    assert.equal(atBoundary.events.at(-1)?.event, 'message_delta');
  });
});

describe('SseDecoder line handling', () => {
  it('CRLF split across chunks (CR ends one chunk, LF starts the next)', () => {
    const { events } = decodeChunks([bytes('event: a\r'), bytes('\ndata: x\r'), bytes('\n\r'), bytes('\n')]);
    assert.deepEqual(events, [{ event: 'a', data: 'x' }]);
  });

  it('lone CR line endings', () => {
    const { events } = decodeAll(bytes('event: a\rdata: 1\r\revent: b\rdata: 2\r\r'));
    assert.deepEqual(events, [
      { event: 'a', data: '1' },
      { event: 'b', data: '2' },
    ]);
  });

  it('CR then CR is two line endings, also across chunks', () => {
    const { events } = decodeChunks([bytes('data: x\r'), bytes('\r'), bytes('data: y\n\n')]);
    assert.deepEqual(events, [
      { event: undefined, data: 'x' },
      { event: undefined, data: 'y' },
    ]);
  });

  it('mixed line endings in one stream', () => {
    const { events } = decodeAll(bytes('data: a\r\ndata: b\rdata: c\n\r\n'));
    assert.deepEqual(events, [{ event: undefined, data: 'a\nb\nc' }]);
  });

  it('multi-line data is joined with \\n', () => {
    const { events } = decodeAll(bytes('event: m\ndata: one\ndata:two\ndata\ndata:  four\n\n'));
    assert.deepEqual(events, [{ event: 'm', data: 'one\ntwo\n\n four' }]);
  });

  it('strips exactly one space after the colon', () => {
    const { events } = decodeAll(bytes('data:  two spaces\n\ndata:none\n\n'));
    assert.deepEqual(
      events.map((e) => e.data),
      [' two spaces', 'none'],
    );
  });

  it('ignores comments, also between the fields of an event', () => {
    const { events, pending } = decodeAll(
      bytes(': keep-alive\n\nevent: ping\n:comment\ndata: {"type":"ping"}\n\n: trailing\n'),
    );
    assert.deepEqual(events, [{ event: 'ping', data: '{"type":"ping"}' }]);
    assert.equal(pending, false);
  });

  it('a field with no colon has an empty value', () => {
    assert.deepEqual(decodeAll(bytes('data\n\n')).events, [{ event: undefined, data: '' }]);
    assert.deepEqual(decodeAll(bytes('event\ndata: x\n\n')).events, [{ event: undefined, data: 'x' }]);
  });

  it('does not dispatch an event without data lines', () => {
    const { events } = decodeAll(bytes('event: lonely\n\nevent: b\ndata: 1\n\n'));
    assert.deepEqual(events, [{ event: 'b', data: '1' }]);
  });

  it('ignores unknown fields and names that only start like a known one', () => {
    const { events } = decodeAll(bytes('foo: bar\ndatum: no\neventual: no\ndata: yes\n\n'));
    assert.deepEqual(events, [{ event: undefined, data: 'yes' }]);
  });

  it('an empty event name counts as none', () => {
    assert.deepEqual(decodeAll(bytes('event:\ndata: x\n\n')).events, [{ event: undefined, data: 'x' }]);
  });

  it('id persists across events; retry belongs to its block', () => {
    const { events } = decodeAll(
      bytes('id: 7\nretry: 1500\ndata: a\n\ndata: b\n\nid\ndata: c\n\nretry: 12x\nid: a\0b\ndata: d\n\n'),
    );
    assert.deepEqual(events, [
      { event: undefined, data: 'a', id: '7', retry: 1500 },
      { event: undefined, data: 'b', id: '7' },
      { event: undefined, data: 'c' },
      { event: undefined, data: 'd' },
    ]);
  });

  it('dispatches an error event', () => {
    const body = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    const { events } = decodeAll(bytes(`event: error\ndata: ${body}\n\n`));
    assert.deepEqual(events, [{ event: 'error', data: body }]);
    assert.equal(JSON.parse(events[0].data).error.type, 'overloaded_error');
  });

  it('a UTF-8 character split across chunks decodes intact', () => {
    const buf = bytes('data: é€😀\n\n');
    const whole = decodeAll(buf).events;
    assert.deepEqual(whole, [{ event: undefined, data: 'é€😀' }]);
    for (let i = 1; i < buf.length; i++) {
      assert.deepEqual(decodeChunks([buf.subarray(0, i), buf.subarray(i)]).events, whole, `split at ${i}`);
    }
    assert.deepEqual(decodeChunks(byteByByte(buf)).events, whole);
  });

  it('drops a BOM at the start of the stream only, even split across chunks', () => {
    const buf = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('data: x\n\ndata: \uFEFFy\n\n')]);
    const expected = [
      { event: undefined, data: 'x' },
      { event: undefined, data: '\uFEFFy' },
    ];
    assert.deepEqual(decodeAll(buf).events, expected);
    assert.deepEqual(decodeChunks(byteByByte(buf)).events, expected);
  });

  it('accepts plain Uint8Array views at an offset (not only Buffers)', () => {
    const backing = bytes('XXXXdata: view\n\nYYYY');
    const view = new Uint8Array(backing.buffer, 4, backing.length - 8);
    assert.deepEqual(decodeAll(view).events, [{ event: undefined, data: 'view' }]);
  });

  it('an event is dispatched as soon as its blank line arrives', () => {
    const d = new SseDecoder();
    assert.deepEqual(d.push(bytes('data: a\n')), []);
    assert.equal(d.pending, true);
    assert.deepEqual(d.push(bytes('\n')), [{ event: undefined, data: 'a', end: 1 }]);
    assert.equal(d.pending, false);
    assert.deepEqual(d.push(new Uint8Array(0)), []);
  });

  it('end() dispatches nothing incomplete and reports it; push() after end() throws', () => {
    const d = new SseDecoder();
    assert.deepEqual(d.push(bytes('event: message_delta\ndata: {"type":"message_delta"}')), []);
    assert.deepEqual(d.end(), []);
    assert.equal(d.pending, true);
    assert.throws(() => d.push(bytes('\n\n')), /after end/);
  });

  it('maxLineBytes bounds a runaway line', () => {
    const d = new SseDecoder({ maxLineBytes: 16 });
    d.push(bytes('data: 0123456789'));
    assert.throws(() => d.push(bytes('abcdef')), RangeError);
    // complete lines in one chunk are never buffered, so they are not limited
    const ok = new SseDecoder({ maxLineBytes: 4 });
    assert.deepEqual(strip(ok.push(bytes('data: long enough\n\n'))), [
      { event: undefined, data: 'long enough' },
    ]);
  });

  it('random streams: any events, line endings, comments and chunking decode to the model (property)', () => {
    const value = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));
    const eventArb = fc.record({
      event: fc.option(fc.stringMatching(/^[a-z_]{1,12}$/), { nil: undefined }),
      lines: fc.array(value, { minLength: 1, maxLength: 3 }),
      comment: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 8 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.nat(), { maxLength: 20 }),
        (evs, eol, points) => {
          let text = '';
          for (const e of evs) {
            if (e.comment) text += `: note${eol}`;
            if (e.event !== undefined) text += `event: ${e.event}${eol}`;
            for (const l of e.lines) text += `data: ${l}${eol}`;
            text += eol;
          }
          const expected = evs.map((e) => ({ event: e.event, data: e.lines.join('\n') }));
          const got = decodeChunks(splitAt(bytes(text), points));
          assert.deepEqual(got.events, expected);
          assert.equal(got.pending, false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
