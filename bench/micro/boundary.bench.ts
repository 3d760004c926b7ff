/**
 * Micro-benchmark: `lastEventBoundary`, which the relay uses to forward only
 * whole SSE events, on chunks of recorded streams cut at network-like sizes.
 *
 *   node bench/micro/boundary.bench.ts
 */
import { readFileSync } from 'node:fs';
import { lastEventBoundary } from '../../src/pipeline/upstream.ts';
import { bench } from './harness.ts';

const stream = readFileSync(new URL('../../test/fixtures/sse/stream-b-fallback.sse', import.meta.url));
const cut = (size: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += size) out.push(stream.subarray(i, i + size));
  return out;
};

console.log(`lastEventBoundary (${stream.length} byte stream)`);
for (const size of [64, 512, 4096]) {
  const chunks = cut(size);
  let k = 0;
  bench(`one ${size} B chunk`, () => lastEventBoundary(chunks[k++ % chunks.length]));
}
// Worst case: a long chunk with no event boundary (a big JSON delta mid-way).
const noBoundary = Buffer.alloc(16_384, 0x61);
bench('16 KiB chunk without a boundary', () => lastEventBoundary(noBoundary));

// The relay's loop (src/pipeline/upstream.ts): held + chunk are concatenated and scanned
// from the end on every chunk. One long event split into many chunks costs O(n²).
function relay(chunks: Buffer[]): number {
  let held: Buffer | undefined;
  let out = 0;
  for (const chunk of chunks) {
    const buf = held === undefined ? chunk : Buffer.concat([held, chunk]);
    const cut = lastEventBoundary(buf);
    if (cut === buf.length) {
      held = undefined;
      out += buf.length;
    } else if (cut > 0) {
      held = buf.subarray(cut);
      out += cut;
    } else held = buf;
  }
  return out + (held?.length ?? 0);
}
const oneEvent = (bytes: number, chunk: number): Buffer[] => {
  const ev = Buffer.from(`event: content_block_delta\ndata: ${'x'.repeat(bytes)}\n\n`);
  const out: Buffer[] = [];
  for (let i = 0; i < ev.length; i += chunk) out.push(ev.subarray(i, i + chunk));
  return out;
};
const streamChunks = cut(1024);
bench(`relay loop: recorded stream, 1 KiB chunks`, () => relay(streamChunks));
for (const kib of [4, 16, 64]) {
  const chunks = oneEvent(kib * 1024, 1024);
  bench(`relay loop: one ${kib} KiB event in 1 KiB chunks`, () => relay(chunks));
}
