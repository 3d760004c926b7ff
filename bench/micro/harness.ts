/**
 * A tiny micro-benchmark loop shared by bench/micro/*.bench.ts: warm up, then
 * run `fn` in batches until `seconds` have passed, print ops/s. Seconds per
 * case: argv or $MICRO_SECONDS (default 1).
 */

/** Keeps results alive so the JIT cannot drop the work. */
export let sink = 0;
export function consume(v: unknown): void {
  if (v === undefined || v === null) sink++;
  else if (typeof v === 'number') sink += v;
  else sink ^= 1;
}

export const SECONDS = Number(process.env.MICRO_SECONDS ?? 1);

export function bench(label: string, fn: () => unknown, seconds: number = SECONDS): number {
  // Warm-up: 5,000 calls or a fifth of the measuring time, whichever ends first.
  const warmEnd = performance.now() + seconds * 200;
  for (let i = 0; i < 5000 && performance.now() < warmEnd; i++) consume(fn());
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    const batch = ops < 1000 ? 1 : 200; // slow cases stop on time
    for (let i = 0; i < batch; i++) consume(fn());
    ops += batch;
    now = performance.now();
  }
  const perSec = ops / ((now - start) / 1000);
  const nsPerOp = 1e9 / perSec;
  console.log(
    `${label.padEnd(52)} ${Math.round(perSec).toLocaleString('en').padStart(13)} ops/s ${nsPerOp.toFixed(0).padStart(8)} ns/op`,
  );
  return perSec;
}

/** `bench` for asynchronous work: each call is awaited before the next starts. */
export async function benchAsync(
  label: string,
  fn: () => Promise<unknown>,
  seconds: number = SECONDS,
): Promise<number> {
  const warmEnd = performance.now() + seconds * 200;
  for (let i = 0; i < 5000 && performance.now() < warmEnd; i++) consume(await fn());
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) consume(await fn());
    ops += 100;
    now = performance.now();
  }
  const perSec = ops / ((now - start) / 1000);
  console.log(
    `${label.padEnd(52)} ${Math.round(perSec).toLocaleString('en').padStart(13)} ops/s ${(1e9 / perSec).toFixed(0).padStart(8)} ns/op`,
  );
  return perSec;
}
