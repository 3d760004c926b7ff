/**
 * What the SQLite ledger costs the event loop: a LedgerWriter over a SQLite
 * file receives `rate` rows a second (as many requests would add them) for
 * `seconds`, and the script prints the event-loop delay and the GC pauses of
 * this thread meanwhile, next to the same row traffic with no writer
 * (`--baseline`). Runs against whatever `src/ledger` the checkout has, so the
 * same command compares revisions.
 *
 *   taskset -c 0 node bench/ledger/event-loop.ts [rate=2000] [seconds=15] [--baseline]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import type { LedgerRow } from '../../src/ledger/row.ts';
import { createLedgerStore } from '../../src/ledger/store.ts';
import { LedgerWriter } from '../../src/ledger/writer.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rate = Number(args[0] ?? 2000);
const seconds = Number(args[1] ?? 15);
const baseline = process.argv.includes('--baseline');
const dir = mkdtempSync(join(tmpdir(), 'gantry-ledger-loop-'));

let n = 0;
function row(): LedgerRow {
  n++;
  return {
    id: `gtw_bench_${process.pid}_${n}`,
    ts: Date.now(),
    upstreamRequestId: `req_${n}`,
    route: 'messages',
    client: 'bench',
    environment: 'default',
    customer: n % 3 === 0 ? `c-${n % 97}` : null,
    model: 'claude-sonnet-4-6',
    requestedModel: null,
    stream: n % 2 === 0,
    status: 200,
    outcome: 'ok',
    errorType: null,
    inputTokens: 120,
    outputTokens: 64,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 0,
    costMicros: 1_320,
    priced: true,
    batch: false,
    latencyMs: 12.5,
    ttftMs: 3.2,
    attempts: 1,
    decisions: '[{"stage":"safety.output","action":"flagged","rule":"pii.email"}]',
  };
}

const writer = baseline
  ? undefined
  : new LedgerWriter({
      store: createLedgerStore(`sqlite:${join(dir, 'ledger.db')}`),
      bufferRows: 1_000_000,
      flushMs: 1_000,
    });
if (writer) await writer.flush(); // opened before measuring

const gcs: number[] = [];
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push(e.duration);
});
obs.observe({ entryTypes: ['gc'] });
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const elu0 = performance.eventLoopUtilization();
const sink: LedgerRow[] = [];
const perTick = rate / 100;
let due = 0;
const timer = setInterval(() => {
  due += perTick;
  for (; due >= 1; due--) {
    const r = row();
    if (writer) writer.add(r);
    else {
      sink.push(r);
      if (sink.length > 500) sink.length = 0;
    }
  }
}, 10);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(timer);
const elu = performance.eventLoopUtilization(elu0);
delay.disable();
obs.disconnect();
const stats = writer ? await writer.close() : undefined;
const ms = (ns: number) => (ns / 1e6).toFixed(2);
console.log(
  `${baseline ? 'baseline (no writer)' : 'ledger writer, SQLite'}: ${n} rows at ${rate}/s, ${stats ? `${stats.written} written` : 'discarded'}\n` +
    `event-loop delay: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, p99.9 ${ms(delay.percentile(99.9))} ms, max ${ms(delay.max)} ms\n` +
    `event loop busy: ${(100 * elu.utilization).toFixed(2)} % (${elu.active.toFixed(0)} ms of ${elu.idle.toFixed(0) === '0' ? '?' : (elu.active + elu.idle).toFixed(0)} ms)\n` +
    `GC: ${gcs.length} pauses, ${gcs.filter((d) => d > 5).length} over 5 ms, longest ${Math.max(0, ...gcs).toFixed(1)} ms`,
);
rmSync(dir, { recursive: true, force: true });
