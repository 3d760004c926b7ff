import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { lastEventBoundary, rewriteResultsUrls } from './upstream.ts';

const b = (s: string) => Buffer.from(s, 'utf8');

test('lastEventBoundary: index after the last blank line, for LF, CRLF and CR endings', () => {
  assert.equal(lastEventBoundary(b('event: a\ndata: 1\n\n')), 18);
  assert.equal(lastEventBoundary(b('event: a\ndata: 1\n\nevent: b\nda')), 18);
  assert.equal(lastEventBoundary(b('event: a\r\ndata: 1\r\n\r\n')), 21);
  assert.equal(lastEventBoundary(b('data: 1\r\rdata: 2')), 9);
  assert.equal(lastEventBoundary(b('data: 1\n')), 0);
  assert.equal(lastEventBoundary(b('data: 1\r\n')), 0);
  assert.equal(lastEventBoundary(b('')), 0);
});

test('lastEventBoundary: forwarding up to the boundary never splits an event, whatever the chunking', () => {
  const events = [
    'event: message_start\ndata: {"a":1}\n\n',
    'event: ping\ndata: {}\n\n',
    ': comment\ndata: x\ndata: y\n\n',
  ];
  const stream = events.join('');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 8 }), (points) => {
      const cuts = [...new Set(points)].sort((x, y) => x - y);
      let held = Buffer.alloc(0);
      const forwarded: string[] = [];
      let prev = 0;
      for (const cut of [...cuts, stream.length]) {
        const buf = Buffer.concat([held, b(stream.slice(prev, cut))]);
        prev = cut;
        const at = lastEventBoundary(buf);
        if (at > 0) forwarded.push(buf.subarray(0, at).toString());
        held = buf.subarray(at);
      }
      assert.equal(held.length, 0);
      // Every forwarded piece is a whole number of events.
      for (const piece of forwarded) assert.ok(piece.endsWith('\n\n'), JSON.stringify(piece));
      assert.equal(forwarded.join(''), stream);
    }),
  );
});

test('rewriteResultsUrls points results_url at the gateway, in one batch and in a list', () => {
  const up = 'https://api.anthropic.com';
  const one = b(
    JSON.stringify({ id: 'msgbatch_1', results_url: `${up}/v1/messages/batches/msgbatch_1/results` }),
  );
  const out = JSON.parse(rewriteResultsUrls(one, up, 'http://127.0.0.1:8787').toString());
  assert.equal(out.results_url, 'http://127.0.0.1:8787/v1/messages/batches/msgbatch_1/results');
  const list = b(
    JSON.stringify({ data: [{ results_url: null }, { results_url: `${up}/v1/messages/batches/b/results` }] }),
  );
  const outList = JSON.parse(rewriteResultsUrls(list, up, 'http://gw').toString());
  assert.equal(outList.data[0].results_url, null);
  assert.equal(outList.data[1].results_url, 'http://gw/v1/messages/batches/b/results');
  const untouched = b('{"id":"msgbatch_2","results_url":null}');
  assert.equal(rewriteResultsUrls(untouched, up, 'http://gw'), untouched);
  const foreign = b('{"results_url":"https://elsewhere.example/x"}');
  assert.equal(rewriteResultsUrls(foreign, up, 'http://gw'), foreign);
});

test('relaySse forwards whole events only, byte-identical overall, whatever the chunking (incl. one large event)', async () => {
  const { readFileSync } = await import('node:fs');
  const { Readable } = await import('node:stream');
  const { relaySse } = await import('./upstream.ts');
  const fixture = readFileSync(new URL('../../test/fixtures/sse/stream-b-fallback.sse', import.meta.url));
  const big = Buffer.from(`event: content_block_delta\ndata: {"text":"${'x'.repeat(70_000)}"}\n\n`);
  const stream = Buffer.concat([
    fixture,
    big,
    Buffer.from('event: message_stop\ndata: {"type":"message_stop"}\n\n'),
  ]);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }),
      async (points) => {
        const cuts = [...new Set(points)].sort((x, y) => x - y);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const cut of [...cuts, stream.length]) {
          chunks.push(stream.subarray(prev, cut));
          prev = cut;
        }
        const ex = {
          startedAt: performance.now(),
          signal: new AbortController().signal,
          upstream: { attempts: 1 },
          decisions: [],
        } as unknown as Parameters<typeof relaySse>[1];
        const out: Buffer[] = [];
        for await (const piece of relaySse(Readable.from(chunks), ex, () => {})) out.push(piece);
        for (const piece of out)
          assert.ok(piece.subarray(-2).toString() === '\n\n', 'a piece ends mid-event');
        assert.ok(Buffer.concat(out).equals(stream));
      },
    ),
    { numRuns: 60 },
  );
});
