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
