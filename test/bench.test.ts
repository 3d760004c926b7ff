/**
 * The benchmark harness's own logic (bench/): percentiles, the open-loop
 * schedule (latency from the scheduled send time: no coordinated omission),
 * stream gap measurement, RSS slope, cpuprofile summary and the verdicts
 * written to BENCHMARKS.md. The benchmark itself is `npm run bench`.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { summarize } from '../bench/lib/cpuprofile.ts';
import { type LoadResult, percentiles, runLoad } from '../bench/lib/loadgen.ts';
import { linearRegression, processTree, sampleProc } from '../bench/lib/procs.ts';
import { checks, renderMarkdown } from '../bench/lib/report.ts';
import type { RunResult, Settings } from '../bench/run.ts';
import { startSimulator } from '../src/simulator/index.ts';

describe('bench harness', () => {
  it('percentiles: nearest rank', () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => i + 1));
    assert.equal(p.n, 100);
    assert.equal(p.p50, 50);
    assert.equal(p.p99, 99);
    assert.equal(p.max, 100);
    assert.equal(p.min, 1);
    assert.ok(Number.isNaN(percentiles([]).p50));
  });

  it('open loop measures from the scheduled send time, so a slow target cannot hide (no coordinated omission)', async () => {
    // One connection, 20 ms per response, 100 req/s offered: the target can do 50 req/s, so
    // requests queue. A closed-loop generator would report ~20 ms per request; from the
    // schedule, request i (due at 10i ms) completes at ~20(i+1) ms: latency grows to ~600 ms.
    const srv = createServer((_req, res) => {
      setTimeout(() => res.end('{}'), 20);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    try {
      const r = await runLoad({
        mode: 'open',
        url: `http://127.0.0.1:${port}`,
        headers: { 'content-type': 'application/json' },
        body: '{}',
        rate: 100,
        durationMs: 600,
        connections: 1,
      });
      assert.equal(r.sent, 60);
      assert.equal(r.ok, 60);
      assert.ok(r.serviceLatency, 'service latency reported');
      // 60 requests x >= 20 ms on one connection take >= 1.2 s; the last was scheduled at 0.59 s.
      assert.ok(r.latency.max >= 500, `latency from schedule max ${r.latency.max}`);
      assert.ok(r.latency.p50 >= 150, `latency from schedule p50 ${r.latency.p50}`);
      assert.ok(r.elapsedMs >= 1100, `elapsed ${r.elapsedMs}`);
    } finally {
      srv.close();
    }
  });

  it('stream mode: time to first delta and gaps close to the simulator per-chunk delay', async () => {
    const sim = await startSimulator({ profile: 'perf' });
    try {
      sim.state.setLatency({ firstByte: { type: 'fixed', ms: 0 }, perChunk: { type: 'fixed', ms: 25 } });
      const r = await runLoad({
        mode: 'stream',
        url: sim.url,
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'k' },
        body: JSON.stringify({
          model: 'claude-sonnet-4-6',
          max_tokens: 1024,
          stream: true,
          messages: [{ role: 'user', content: 'abcdefghijklmno '.repeat(8).trim() }],
        }),
        concurrency: 1,
        durationMs: 300,
      });
      assert.ok(r.ok >= 1, `streams ok ${r.ok}, errors ${r.errorSamples}`);
      assert.equal(r.ttft?.n, r.ok);
      // 8 deltas per stream: 7 gaps each.
      assert.equal(r.gaps?.count, r.ok * 7);
      // Generous bounds: the machine is shared.
      assert.ok((r.gaps?.p50 ?? 0) >= 15 && (r.gaps?.p50 ?? 0) <= 250, `gap p50 ${r.gaps?.p50}`);
      assert.ok((r.ttft?.p50 ?? 0) >= 20, `ttft p50 ${r.ttft?.p50} includes the first 25 ms delay`);
    } finally {
      await sim.close();
    }
  });

  it('linear regression recovers a slope; /proc sampling sees this process', () => {
    const { slope, intercept } = linearRegression([
      [0, 10],
      [1, 12],
      [2, 14],
      [3, 16],
    ]);
    assert.equal(slope, 2);
    assert.equal(intercept, 10);
    const s = sampleProc(process.pid);
    assert.ok(s.rssBytes > 10 * 2 ** 20, `rss ${s.rssBytes}`);
    assert.ok(s.cpuSeconds > 0);
    assert.deepEqual(processTree(process.pid)[0], process.pid);
  });

  it('cpuprofile summary: self time by function, start-up samples left out', () => {
    const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
    const text = summarize(
      {
        nodes: [
          { id: 1, callFrame: frame('(root)') },
          { id: 2, callFrame: frame('hot', 'file:///x/hot.js') },
          { id: 3, callFrame: frame('startup', 'file:///x/boot.js') },
        ],
        startTime: 0,
        endTime: 10_000_000,
        // startup for the first 2 samples (before 1 s), then hot x3, root x1
        samples: [3, 3, 2, 2, 2, 1],
        timeDeltas: [0, 500_000, 600_000, 1000, 1000, 1000],
      },
      5,
      1000,
    );
    assert.match(text, /hot {2}\/x\/hot\.js:1/);
    assert.doesNotMatch(text, /startup/);
    assert.match(text, /2 start-up samples/);
  });

  it('verdicts: met, not met and not measured from a run', () => {
    const pct = (p50: number, p99: number) => ({ ...percentiles([p50]), p50, p95: p99, p99 });
    const load = (p50: number, p99: number, throughput = 0): LoadResult => ({
      mode: 'open',
      sent: 1,
      ok: 1,
      errors: 0,
      errorSamples: [],
      elapsedMs: 1,
      throughput,
      latency: pct(p50, p99),
    });
    const settings: Settings = {
      quick: true,
      targets: ['direct', 'nginx', 'portkey', 'gantry-min', 'gantry-full'],
      phases: ['open', 'closed', 'hold'],
      rates: [2000],
      durationS: 1,
      warmupS: 0,
      connections: 8,
      streamConcurrency: 1,
      firstByteMs: 0,
      chunkDelayMs: 10,
      streamDeltas: 20,
      holdStreams: 2000,
      holdChunkDelayMs: 2000,
      soakSeconds: 600,
      soakRate: 1000,
      soakTargets: ['gantry-full'],
      rounds: 3,
      roundSeconds: 1,
      pin: false,
      gantryFrom: 'source',
      command: 'node bench/run.ts --quick',
    };
    const run: RunResult = {
      startedAt: 'now',
      settings,
      machine: { nproc: 2 },
      placement: {},
      loadBefore: '0',
      targets: [
        { name: 'direct', open: [{ rate: 2000, load: load(1, 2, 2000) }] },
        { name: 'nginx', open: [{ rate: 2000, load: load(1.1, 2.2, 2000) }] },
        { name: 'portkey', open: [], closed: { load: load(5, 10, 1000) } },
        { name: 'gantry-min', open: [{ rate: 2000, load: load(1.1, 2.3, 1990) }] },
        {
          name: 'gantry-full',
          open: [{ rate: 2000, load: load(1.2, 3.5, 2000) }],
          closed: { load: load(1, 2, 2500) },
          hold: {
            requested: 2000,
            held: 2000,
            errors: 0,
            errorSamples: [],
            rssBeforeBytes: 1,
            rssBytes: 90e6,
          },
        },
      ],
    };
    const all = checks(run);
    assert.equal(all[0].verdict, 'NOT met'); // added p99 1.5 ms > 1 ms
    assert.equal(all[1].verdict, 'NOT met'); // 2.5x Portkey < 3x
    assert.equal(all[2].verdict, 'met'); // 0.1 vs 0.1 ms
    assert.equal(all[3].verdict, 'not measured'); // no stream phase
    assert.equal(all[5].verdict, 'met'); // 90 MB <= 150 MB
    assert.equal(all[6].verdict, 'not measured'); // no soak
    const md = renderMarkdown(run, 'bench/results/latest.json');
    assert.match(md, /\| target \| rate req\/s \| achieved req\/s \| p50 ms \|/);
    assert.match(md, /\| gantry-full \| 2000 \| 2000 \| 1\.200 /);
    // Every table row has as many cells as its header.
    const cells = (line: string) => line.split('|').length;
    const lines = md.split('\n');
    for (let i = 0; i < lines.length; i++)
      if (lines[i].startsWith('|---'))
        for (let j = i + 1; j < lines.length && lines[j].startsWith('|'); j++)
          assert.equal(cells(lines[j]), cells(lines[i - 1]), `row ${lines[j]}`);
    assert.match(md, /\*\*NOT met\*\*/);

    // An overloaded rate (direct completes only 900 of 2,000 req/s) is not a verdict.
    const direct = run.targets[0].open[0];
    direct.load = load(800, 900, 900);
    const again = checks(run);
    assert.equal(again[0].verdict, 'not measurable');
    assert.match(again[0].measured, /not measurable here: direct sustained 900 of 2000 req\/s/);
    assert.equal(again[2].verdict, 'not measurable');
    assert.equal(again[1].verdict, 'NOT met'); // closed loop: unaffected

    // With interleaved rounds, the throughput verdict uses their medians (here 3,100 vs 1,000).
    run.rounds = {
      rounds: 3,
      seconds: 1,
      throughput: { portkey: [900, 1000, 1100], 'gantry-full': [2900, 3100, 3300] },
    };
    const withRounds = checks(run);
    assert.equal(withRounds[1].verdict, 'met');
    assert.match(withRounds[1].measured, /median of 3 interleaved rounds: 3100 vs 1000 req\/s/);
    const md2 = renderMarkdown(run, 'bench/results/latest.json');
    assert.match(md2, /\| gantry-full \| 3100 \| 2900 \| 3300 \|/);
  });
});
