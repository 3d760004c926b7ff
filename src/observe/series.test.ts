import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './series.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];

function pair() {
  const plain = new Registry();
  const fast = new Registry();
  const make = (registry: Registry) => ({
    h: new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['a', 'b'],
      buckets: BUCKETS,
      registers: [registry],
    }),
    c: new Counter({ name: 'c_total', help: 'c', labelNames: ['a', 'b'], registers: [registry] }),
  });
  return { plain, fast, p: make(plain), f: make(fast) };
}

const updateArb = fc.record({
  a: fc.constantFrom('x', 'y', ''),
  b: fc.constantFrom('1', '2'),
  v: fc.oneof(fc.double({ min: 0, max: 50, noNaN: true }), fc.constantFrom(0, 0.001, 0.01, 1, 10, 11)),
});

test('FastHistogram and FastCounter give the same /metrics text as plain prom-client updates', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(updateArb, { minLength: 1, maxLength: 60 }), async (updates) => {
      const { plain, fast, p, f } = pair();
      const fh = new FastHistogram(f.h, BUCKETS);
      const fcn = new FastCounter(f.c);
      for (const { a, b, v } of updates) {
        p.h.observe({ a, b }, v);
        p.c.inc({ a, b }, v);
        fh.observe([a, b], () => ({ a, b }), v);
        fcn.inc([a, b], () => ({ a, b }), v);
      }
      assert.equal(await fast.metrics(), await plain.metrics());
    }),
    { numRuns: 200 },
  );
});

test('after prom-client resets its series, the cache starts over', async () => {
  const { fast, f } = pair();
  const fh = new FastHistogram(f.h, BUCKETS);
  fh.observe(['x', '1'], () => ({ a: 'x', b: '1' }), 0.5);
  f.h.reset();
  fh.observe(['x', '1'], () => ({ a: 'x', b: '1' }), 0.5);
  const text = await fast.metrics();
  assert.match(text, /h_seconds_count\{a="x",b="1"\} 1\n/);
});
