import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeEvent, type SseEvent } from '../../anthropic/sse.ts';
import type { Exchange } from '../exchange.ts';
import { forwardEvents, MAX_EVENT_BYTES, relaySse, type SseChain, type SseTransform } from './relay.ts';

const fixture = readFileSync(new URL('../../../test/fixtures/sse/stream-b-fallback.sse', import.meta.url));

function exchange(): Exchange {
  return {
    startedAt: performance.now(),
    signal: new AbortController().signal,
    timings: {},
    upstream: { attempts: 1 },
    decisions: [],
  } as unknown as Exchange;
}

function split(stream: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % stream.length))].filter((p) => p > 0).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    chunks.push(stream.subarray(prev, cut));
    prev = cut;
  }
  return chunks;
}

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const piece of gen) out.push(piece);
  return out;
}

describe('relaySse: one decoding chain', () => {
  test('forwards whole events only, byte-identical overall, whatever the chunking (incl. one large event)', async () => {
    const big = Buffer.from(`event: content_block_delta\ndata: {"text":"${'x'.repeat(70_000)}"}\n\n`);
    const stream = Buffer.concat([fixture, big]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (points) => {
        const ex = exchange();
        const out = await collect(relaySse(Readable.from(split(stream, points)), ex, {}, () => {}));
        for (const piece of out)
          assert.equal(piece.subarray(-2).toString(), '\n\n', 'a piece ends mid-event');
        assert.ok(Buffer.concat(out).equals(stream));
        assert.ok(ex.usage && ex.usage.outputTokens > 0, 'the tap read usage from the same events');
        assert.equal(ex.outcome, undefined);
      }),
      { numRuns: 60 },
    );
  });

  test('a transform sees every event once; what it passes keeps its bytes, what it emits replaces the event', async () => {
    // Replace every ping with a comment-free marker event, drop message_delta, pass the rest.
    const seen: string[] = [];
    const transform: SseTransform = {
      event(ev: SseEvent) {
        seen.push(ev.event ?? '');
        if (ev.event === 'ping') return { emit: encodeEvent('marker', { at: 'ping' }) };
        if (ev.event === 'message_delta') return { emit: '' };
        if (ev.event === 'message_stop') return { emit: encodeEvent('marker', { at: 'stop' }), pass: true };
        return undefined;
      },
      end: () => encodeEvent('marker', { at: 'end' }),
    };
    const whole = await collect(relaySse(Readable.from([fixture]), exchange(), { transform }, () => {}));
    const expected = Buffer.concat(whole).toString();
    const count = seen.length;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 30 }), async (points) => {
        seen.length = 0;
        const chain: SseChain = { transform };
        const out = await collect(
          relaySse(Readable.from(split(fixture, points)), exchange(), chain, () => {}),
        );
        assert.equal(Buffer.concat(out).toString(), expected);
        assert.equal(seen.length, count);
      }),
      { numRuns: 60 },
    );
    assert.doesNotMatch(expected, /event: ping/);
    assert.doesNotMatch(expected, /event: message_delta/);
    assert.match(expected, /event: marker\ndata: \{"at":"stop"\}\n\nevent: message_stop/);
    assert.ok(expected.endsWith('event: marker\ndata: {"at":"end"}\n\n'));
    // Passed events are the upstream's own bytes.
    const start = fixture.toString().split('\n\n')[0];
    assert.ok(expected.startsWith(start));
  });

  test('a stream that ends without message_stop ends with an SSE error event, recorded as upstream_cut', async () => {
    const text = fixture.toString();
    const cut = Buffer.from(text.slice(0, text.indexOf('event: message_stop')));
    const ex = exchange();
    const out = Buffer.concat(await collect(relaySse(Readable.from([cut]), ex, {}, () => {}))).toString();
    assert.ok(out.endsWith('\n\n'));
    assert.match(out, /event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
    assert.equal(ex.outcome, 'upstream_cut');
    assert.equal(ex.errorType, 'api_error');
  });

  test('an idle-timeout failure is a timeout_error for the client and the record', async () => {
    async function* failing() {
      yield fixture.subarray(0, 200);
      throw Object.assign(new Error('body timeout'), { code: 'UND_ERR_BODY_TIMEOUT' });
    }
    const ex = exchange();
    const body = Readable.from(failing());
    const out = Buffer.concat(await collect(relaySse(body, ex, {}, () => {}))).toString();
    assert.match(out, /event: error\ndata: \{"type":"error","error":\{"type":"timeout_error"/);
    assert.equal(ex.errorType, 'timeout_error');
    assert.equal(ex.outcome, 'stream_error');
  });

  test('the held bytes of one event are bounded (MAX_EVENT_BYTES), then the stream ends with an error', async () => {
    async function* endless() {
      yield Buffer.from('event: content_block_delta\ndata: {"text":"');
      for (let i = 0; i < MAX_EVENT_BYTES / (1024 * 1024) + 2; i++) yield Buffer.alloc(1024 * 1024, 0x61);
    }
    const chain: SseChain = {};
    await assert.rejects(collect(forwardEvents(endless(), chain, () => {})), RangeError);
    const ex = exchange();
    const out = Buffer.concat(
      await collect(relaySse(Readable.from(endless()), ex, chain, () => {})),
    ).toString();
    assert.match(out, /^event: error\n/);
    assert.equal(ex.outcome, 'stream_error');
  });
});
