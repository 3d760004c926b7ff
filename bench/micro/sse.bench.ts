/**
 * Micro-benchmark: decoding recorded Messages API streams with `SseDecoder`, alone and
 * with a `StreamTap` on top, in one chunk and in small network-sized chunks.
 *
 *   node bench/micro/sse.bench.ts [fixture.sse] [seconds per case]
 *
 * Prints ops/s (one op = one whole stream) and MB/s per case. Not a test.
 */
import { readFileSync } from 'node:fs';
import { SseDecoder } from '../../src/anthropic/sse.ts';
import { StreamTap } from '../../src/anthropic/usage.ts';

const name = process.argv[2] ?? 'stream-b-fallback.sse';
const seconds = Number(process.argv[3] ?? process.env.MICRO_SECONDS ?? 1);
const buf = new Uint8Array(readFileSync(new URL(`../../test/fixtures/sse/${name}`, import.meta.url)));

function chunked(size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const cases: Array<[string, Uint8Array[], boolean]> = [
  ['decoder, 1 chunk', [buf], false],
  ['decoder, 64 B chunks', chunked(64), false],
  ['decoder, 1 KiB chunks', chunked(1024), false],
  ['decoder + tap, 1 chunk', [buf], true],
  ['decoder + tap, 64 B chunks', chunked(64), true],
];

let sink = 0;
function runOnce(chunks: Uint8Array[], tap: boolean): void {
  if (tap) {
    const t = new StreamTap();
    for (const c of chunks) t.write(c);
    t.end();
    sink += t.usage.outputTokens;
  } else {
    const d = new SseDecoder();
    for (const c of chunks) sink += d.push(c).length;
    d.end();
  }
}

console.log(`${name}: ${buf.length} bytes, ${seconds}s per case`);
for (const [label, chunks, tap] of cases) {
  for (let i = 0; i < 2000; i++) runOnce(chunks, tap); // warm-up
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) runOnce(chunks, tap);
    ops += 100;
    now = performance.now();
  }
  const perSec = ops / ((now - start) / 1000);
  const mbps = (perSec * buf.length) / 1e6;
  console.log(
    `${label.padEnd(28)} ${Math.round(perSec).toLocaleString('en').padStart(10)} ops/s ${mbps.toFixed(0).padStart(6)} MB/s`,
  );
}
if (sink === -1) console.log(sink);
