/**
 * Micro-benchmark: what output scanning costs a stream.
 *
 *   node bench/micro/safety-stream.bench.ts [chars-per-second]
 *
 * 1. Added time to first token: a paced upstream emits 4-character text deltas
 *    at `chars-per-second` (default 300, about 75 tokens/s); we measure the
 *    time until the first text delta leaves `scanSseStream`, for several
 *    hold-back windows, against no scanning.
 * 2. CPU: a 20,000-character answer in 4-character deltas, all secret and PII
 *    rules in redact mode, streams per second and microseconds per delta.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeEvent } from '../../src/anthropic/sse.ts';
import { PII_DETECTORS, SECRET_DETECTORS } from '../../src/safety/detectors.ts';
import type { ScanRule } from '../../src/safety/scanner.ts';
import { scanSseStream } from '../../src/safety/stream.ts';

const cps = Number(process.argv[2] ?? 300);
const RULES: ScanRule[] = [...SECRET_DETECTORS, ...PII_DETECTORS].map((detector) => ({
  detector,
  action: 'redact',
}));
const WORDS = 'the quick brown fox jumps over a lazy dog while the gateway relays every delta '.split(' ');

function textOf(chars: number): string {
  let s = '';
  for (let i = 0; s.length < chars; i++) s += `${WORDS[i % WORDS.length]} `;
  return s.slice(0, chars);
}

function framesOf(text: string, delta: number): Buffer[] {
  const out = [
    encodeEvent('message_start', { type: 'message_start', message: { id: 'm', content: [], usage: {} } }),
    encodeEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
  ];
  for (let i = 0; i < text.length; i += delta) {
    out.push(
      encodeEvent('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: text.slice(i, i + delta) },
      }),
    );
  }
  out.push(encodeEvent('content_block_stop', { type: 'content_block_stop', index: 0 }));
  out.push(encodeEvent('message_stop', { type: 'message_stop' }));
  return out.map((s) => Buffer.from(s));
}

async function* paced(frames: Buffer[], msPerFrame: number): AsyncGenerator<Buffer> {
  yield Buffer.concat(frames.slice(0, 2));
  for (const f of frames.slice(2)) {
    await sleep(msPerFrame);
    yield f;
  }
}

async function ttft(holdBack: number | undefined): Promise<number> {
  const frames = framesOf(textOf(400), 4);
  const msPerFrame = (4 / cps) * 1000;
  const started = performance.now();
  const source = paced(frames, msPerFrame);
  const body = holdBack === undefined ? source : scanSseStream(source, RULES, { holdBack });
  for await (const chunk of body) {
    if (chunk.includes('text_delta')) {
      const t = performance.now() - started;
      if (typeof (body as AsyncGenerator).return === 'function')
        await (body as AsyncGenerator).return(undefined);
      return t;
    }
  }
  return Number.NaN;
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`Time to first text delta, upstream at ${cps} chars/s in 4-char deltas (median of 5):`);
const base = median(await Promise.all([0, 1, 2, 3, 4].map(() => ttft(undefined))));
console.log(`  no scanning          ${base.toFixed(1).padStart(7)} ms`);
for (const hb of [0, 16, 32, 64, 128]) {
  const t = median(await Promise.all([0, 1, 2, 3, 4].map(() => ttft(hb))));
  console.log(
    `  hold-back ${String(hb).padStart(3)} chars ${t.toFixed(1).padStart(7)} ms  (+${(t - base).toFixed(1)} ms)`,
  );
}

const big = framesOf(textOf(20_000), 4);
async function* all(): AsyncGenerator<Buffer> {
  for (const f of big) yield f;
}
async function drain(scan: boolean): Promise<void> {
  const body = scan ? scanSseStream(all(), RULES, { holdBack: 64 }) : all();
  for await (const _ of body) {
    // consume
  }
}
for (const scan of [false, true]) {
  for (let i = 0; i < 5; i++) await drain(scan);
  const n = 30;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await drain(scan);
  const ms = (performance.now() - t0) / n;
  console.log(
    `${scan ? 'scanned' : 'relayed'} 20,000 chars in ${big.length - 4} deltas: ${ms.toFixed(2)} ms per stream, ${((ms * 1000) / (big.length - 4)).toFixed(2)} µs per delta`,
  );
}
