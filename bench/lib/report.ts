/**
 * BENCHMARKS.md from a run's results: machine, commands, added latency over
 * direct, throughput, CPU, RSS, event-loop delay, ratios to nginx and Portkey,
 * the targets of issues 8 and 13 (met / not met / not measured), and raw numbers.
 */

import type { RunResult, TargetResult } from '../run.ts';
import type { Percentiles } from './loadgen.ts';
import type { TargetName } from './targets.ts';

const MiB = 2 ** 20;
// JSON turns NaN into null: accept both.
const f = (n: number | null | undefined, digits = 3) =>
  typeof n !== 'number' || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
const mib = (b: number | undefined) => (b === undefined || !b ? 'n/a' : `${(b / MiB).toFixed(1)}`);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? 'n/a'
    : `${(a / b).toFixed(2)}×`;

export interface Added {
  p50: number;
  p95: number;
  p99: number;
}
function added(p: Percentiles | undefined, base: Percentiles | undefined): Added | undefined {
  if (!p || !base || !p.n || !base.n) return undefined;
  return { p50: p.p50 - base.p50, p95: p.p95 - base.p95, p99: p.p99 - base.p99 };
}

export function addedAt(run: RunResult, name: string, rate: number): Added | undefined {
  const t = run.targets.find((x) => x.name === name);
  const d = run.targets.find((x) => x.name === 'direct');
  return added(
    t?.open.find((o) => o.rate === rate)?.load.latency,
    d?.open.find((o) => o.rate === rate)?.load.latency,
  );
}
export function addedTtft(run: RunResult, name: string): Added | undefined {
  const t = run.targets.find((x) => x.name === name);
  const d = run.targets.find((x) => x.name === 'direct');
  return added(t?.stream?.load.ttft, d?.stream?.load.ttft);
}

type Verdict = 'met' | 'NOT met' | 'not measured' | 'not measurable';

/**
 * Targets (of `names`) that did not sustain the open-loop `rate`: fewer than 90 % of the
 * offered requests per second completed. Their latencies are queueing, not the hop.
 */
export function unsustained(run: RunResult, names: string[], rate: number): string[] {
  const out: string[] = [];
  for (const n of names) {
    const o = run.targets.find((t) => t.name === n)?.open.find((x) => x.rate === rate);
    if (o && o.load.throughput < 0.9 * rate)
      out.push(`${n} sustained ${o.load.throughput.toFixed(0)} of ${rate} req/s`);
  }
  return out;
}
interface Check {
  target: string;
  measured: string;
  verdict: Verdict;
  /** The same measure for `node-floor` (node:http + undici, no policy) in this run: what Node itself costs. */
  floor?: string;
}

/** The targets of issue 8, evaluated on this run. */
export function checks(run: RunResult): Check[] {
  const get = (n: string) => run.targets.find((t) => t.name === n && !t.skipped && !t.error);
  const full = get('gantry-full');
  const pk = get('portkey');
  const nf = get('node-floor');
  const out: Check[] = [];
  const v = (ok: boolean | undefined, overloaded: string[] = []): Verdict =>
    ok === undefined ? 'not measured' : overloaded.length ? 'not measurable' : ok ? 'met' : 'NOT met';
  const why = (overloaded: string[]) =>
    overloaded.length ? ` — not measurable here: ${overloaded.join('; ')}` : '';

  const topRate = 2000;
  const a = addedAt(run, 'gantry-full', topRate);
  const ovA = unsustained(run, ['direct', 'gantry-full'], topRate);
  out.push({
    target: `gantry-full added latency at ${topRate} req/s: p50 ≤ 0.3 ms, p99 ≤ 1 ms`,
    measured: a ? `p50 ${f(a.p50)} ms, p99 ${f(a.p99)} ms${why(ovA)}` : 'n/a',
    verdict: v(a ? a.p50 <= 0.3 && a.p99 <= 1 : undefined, ovA),
    floor: floorOf(addedAt(run, 'node-floor', topRate), (x) => `p50 ${f(x.p50)} ms, p99 ${f(x.p99)} ms`),
  });

  // Interleaved rounds (all targets running, taking turns) are the better comparison when
  // present: a drift of the machine's speed hits every target alike. Else the closed phase.
  const rm = (n: TargetName) => median(run.rounds?.throughput[n]);
  const useRounds = rm('gantry-full') !== undefined && rm('portkey') !== undefined;
  const ft = useRounds ? rm('gantry-full') : full?.closed?.load.throughput;
  const pt = useRounds ? rm('portkey') : pk?.closed?.load.throughput;
  const nft = useRounds ? rm('node-floor') : nf?.closed?.load.throughput;
  const how = useRounds ? `median of ${run.rounds?.rounds} interleaved rounds: ` : '';
  out.push({
    target: 'gantry-full max throughput ≥ 3× Portkey (same run)',
    measured:
      ft !== undefined && pt !== undefined
        ? `${how}${ft.toFixed(0)} vs ${pt.toFixed(0)} req/s (${ratio(ft, pt)})`
        : 'n/a',
    verdict: v(ft !== undefined && pt !== undefined && pt > 0 ? ft >= 3 * pt : undefined),
    floor: floorOf(nft, (x) =>
      pt !== undefined ? `${x.toFixed(0)} req/s (${ratio(x, pt)} Portkey)` : `${x.toFixed(0)} req/s`,
    ),
  });

  const am = addedAt(run, 'gantry-min', topRate);
  const an = addedAt(run, 'nginx', topRate);
  const ovM = unsustained(run, ['direct', 'nginx', 'gantry-min'], topRate);
  out.push({
    target: `gantry-min overhead ≤ 1.5× nginx's (added p50 at ${topRate} req/s)`,
    measured: am && an ? `${f(am.p50)} vs ${f(an.p50)} ms (${ratio(am.p50, an.p50)})${why(ovM)}` : 'n/a',
    // A negative or zero nginx overhead (noise) makes the ratio meaningless: compare with a 0.05 ms floor.
    verdict: v(am && an ? am.p50 <= 1.5 * Math.max(an.p50, 0.05) : undefined, ovM),
    floor: floorOf(addedAt(run, 'node-floor', topRate), (x) =>
      an ? `${f(x.p50)} ms (${ratio(x.p50, an.p50)})` : `${f(x.p50)} ms`,
    ),
  });

  const tt = addedTtft(run, 'gantry-full');
  // The direct TTFT should be first byte + one chunk delay; at twice that the machine is too busy.
  const directTtft = run.targets.find((t) => t.name === 'direct')?.stream?.load.ttft?.p50;
  const expectTtft = run.settings.firstByteMs + run.settings.chunkDelayMs;
  const ovT =
    typeof directTtft === 'number' && directTtft > 2 * expectTtft + 5
      ? [`direct TTFT p50 ${f(directTtft, 1)} ms, expected ~${expectTtft} ms`]
      : [];
  out.push({
    target: 'streaming: added time to first token ≤ 1 ms p99 (gantry-full)',
    measured: tt ? `p50 ${f(tt.p50)} ms, p99 ${f(tt.p99)} ms${why(ovT)}` : 'n/a',
    verdict: v(tt ? tt.p99 <= 1 : undefined, ovT),
    floor: floorOf(addedTtft(run, 'node-floor'), (x) => `p50 ${f(x.p50)} ms, p99 ${f(x.p99)} ms`),
  });

  const g = full?.stream?.load.gaps;
  const want = run.settings.chunkDelayMs;
  const zeroShare = g?.count ? g.zeroGaps / g.count : undefined;
  // Merged deltas also happen between the simulator and the client without any proxy (a busy
  // load generator reads two events at once): direct's share is the floor.
  const dg = run.targets.find((t) => t.name === 'direct')?.stream?.load.gaps;
  const floor = dg?.count ? dg.zeroGaps / dg.count : 0;
  out.push({
    target: `streaming: chunk timing preserved (gap p50 within 0.8-1.25× of ${want} ms, merged deltas ≤ direct's + 1 point)`,
    measured: g?.n
      ? `gap p50 ${f(g.p50, 2)} ms, p99 ${f(g.p99, 2)} ms, merged ${f((zeroShare ?? 0) * 100, 2)} % (direct ${f(floor * 100, 2)} %)`
      : 'n/a',
    verdict: v(
      g?.n ? g.p50 >= 0.8 * want && g.p50 <= 1.25 * want && (zeroShare ?? 0) <= floor + 0.01 : undefined,
    ),
  });

  const h = full?.hold;
  out.push({
    target: `RSS ≤ 150 MB with ${run.settings.holdStreams} open streams (gantry-full)`,
    measured: h ? `${mib(h.rssBytes)} MiB with ${h.held} of ${h.requested} streams open` : 'n/a',
    verdict: v(h ? h.held === h.requested && h.rssBytes <= 150 * 1e6 : undefined),
    floor: floorOf(nf?.hold, (x) => `${mib(x.rssBytes)} MiB with ${x.held} open`),
  });

  const s = full?.soak;
  const growth = s ? (s.slopeBytesPerMin * s.seconds) / 60 : undefined;
  const ovS =
    s && s.load.throughput < 0.9 * s.rate
      ? [`gantry-full ${s.load.throughput.toFixed(0)} of ${s.rate} req/s: requests queued in memory`]
      : [];
  out.push({
    target: 'no upward memory slope over the soak (projected growth over the soak ≤ 2 MiB)',
    measured: s
      ? `${f(s.slopeBytesPerMin / MiB, 3)} MiB/min over ${s.seconds} s (${mib(growth)} MiB projected)${why(ovS)}`
      : 'n/a',
    verdict: v(
      s && growth !== undefined ? growth <= 2 * MiB : undefined,
      s && s.seconds < 120 ? [...ovS, 'soak shorter than 2 minutes'] : ovS,
    ),
  });
  return out;
}

/**
 * The targets of issue 13 (the full stack nearly free): gantry-full against
 * gantry-min, the same proxy without the controls, in the same run.
 */
export function stackChecks(run: RunResult): Check[] {
  const get = (n: string) => run.targets.find((t) => t.name === n && !t.skipped && !t.error);
  const full = get('gantry-full');
  const min = get('gantry-min');
  const nf = get('node-floor');
  const v = (ok: boolean | undefined): Verdict =>
    ok === undefined ? 'not measured' : ok ? 'met' : 'NOT met';
  const out: Check[] = [];

  const rm = (n: TargetName) => median(run.rounds?.throughput[n]);
  const ft = rm('gantry-full');
  const mt = rm('gantry-min');
  out.push({
    target: 'gantry-full throughput ≥ 0.8× gantry-min (median of the interleaved rounds)',
    measured:
      ft !== undefined && mt !== undefined
        ? `${ft.toFixed(0)} vs ${mt.toFixed(0)} req/s (${ratio(ft, mt)})`
        : 'n/a',
    verdict: v(ft !== undefined && mt !== undefined ? ft >= 0.8 * mt : undefined),
    floor: floorOf(rm('node-floor'), (x) => `${x.toFixed(0)} req/s`),
  });

  const fc = full?.closed?.cpu?.msPer1k;
  const mc = min?.closed?.cpu?.msPer1k;
  const ok = (n: number | undefined): n is number => typeof n === 'number' && Number.isFinite(n);
  out.push({
    target: 'gantry-full CPU per request ≤ 1.5× gantry-min (closed loop)',
    measured: ok(fc) && ok(mc) ? `${f(fc / 1000)} vs ${f(mc / 1000)} ms (${ratio(fc, mc)})` : 'n/a',
    verdict: v(ok(fc) && ok(mc) ? fc <= 1.5 * mc : undefined),
    floor: floorOf(nf?.closed?.cpu?.msPer1k, (x) => `${f(x / 1000)} ms`),
  });

  const tt = addedTtft(run, 'gantry-full');
  const g = full?.stream?.load.gaps;
  const dg = get('direct')?.stream?.load.gaps;
  const merged = g?.count ? g.zeroGaps / g.count : undefined;
  const directMerged = dg?.count ? dg.zeroGaps / dg.count : undefined;
  out.push({
    target:
      "streaming with output scanning on (gantry-full): added TTFT p50 ≤ 0.3 ms, merged deltas ≤ direct's + 0.5 point",
    measured:
      tt && merged !== undefined && directMerged !== undefined
        ? `added TTFT p50 ${f(tt.p50)} ms; merged ${f(merged * 100, 2)} % (direct ${f(directMerged * 100, 2)} %)`
        : 'n/a',
    verdict: v(
      tt && merged !== undefined && directMerged !== undefined
        ? tt.p50 <= 0.3 && merged <= directMerged + 0.005
        : undefined,
    ),
    floor: floorOf(addedTtft(run, 'node-floor'), (x) => `added TTFT p50 ${f(x.p50)} ms`),
  });

  // Memory an open stream adds: RSS with the streams held minus RSS just before, per stream.
  const perStream = (t: TargetResult | undefined) =>
    t?.hold && t.hold.held > 0 ? (t.hold.rssBytes - t.hold.rssBeforeBytes) / t.hold.held : undefined;
  const fs = perStream(full);
  const ns = perStream(nf);
  out.push({
    target: "RSS per open stream (hold phase) ≤ node-floor's + 5 KiB (gantry-full)",
    measured: fs !== undefined ? `${f(fs / 1024, 1)} KiB per stream` : 'n/a',
    verdict: v(fs !== undefined && ns !== undefined ? fs <= ns + 5 * 1024 : undefined),
    floor: floorOf(ns, (x) => `${f(x / 1024, 1)} KiB per stream`),
  });

  const topRate = 2000;
  const loopAt = (t: TargetResult | undefined) => t?.open.find((o) => o.rate === topRate)?.loop;
  const fl = loopAt(full);
  const ml = loopAt(min);
  out.push({
    target: `event-loop delay p99 at ${topRate} req/s open loop within 1 ms of gantry-min's (gantry-full)`,
    measured:
      fl && ml ? `${f(fl.p99, 2)} vs ${f(ml.p99, 2)} ms (max ${f(fl.max, 1)} vs ${f(ml.max, 1)} ms)` : 'n/a',
    verdict: v(fl && ml ? fl.p99 <= ml.p99 + 1 : undefined),
    floor: floorOf(loopAt(nf), (x) => `p99 ${f(x.p99, 2)} ms`),
  });
  return out;
}

/** The median of a list of numbers (undefined when empty). */
export function median(xs: readonly number[] | undefined): number | undefined {
  if (!xs || xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function floorOf<T>(x: T | undefined, show: (x: T) => string): string {
  return x === undefined ? 'n/a' : show(x);
}

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

function errorsOf(t: TargetResult): number {
  return (
    t.open.reduce((n, o) => n + o.load.errors, 0) +
    (t.closed?.load.errors ?? 0) +
    (t.stream?.load.errors ?? 0) +
    (t.soak?.load.errors ?? 0)
  );
}

export function renderMarkdown(run: RunResult, jsonPath: string): string {
  const s = run.settings;
  const L: string[] = [];
  const ok = run.targets.filter((t) => !t.skipped && !t.error);
  L.push('# Benchmarks');
  L.push('');
  L.push(
    'Generated by `npm run bench` (bench/run.ts). How to reproduce and read these numbers: [docs/performance.md](docs/performance.md).',
  );
  L.push('');
  if (s.quick || s.note) {
    L.push(
      `> **${s.quick ? 'Quick run' : 'Note'}.** ${s.note ?? 'A short `--quick` run: a few seconds per phase; indicative only.'}`,
    );
    L.push('');
  }
  L.push('## Machine and run');
  L.push('');
  L.push('| | |');
  L.push('|---|---|');
  for (const [k, v] of Object.entries(run.machine)) L.push(row([k, String(v)]));
  L.push(
    row([
      'CPU placement (taskset)',
      run.placement.target
        ? `target ${run.placement.target}, simulator ${run.placement.simulator}, load generator ${run.placement.loadgen}`
        : 'none',
    ]),
  );
  L.push(row(['load average before / after', `${run.loadBefore} / ${run.loadAfter ?? 'n/a'}`]));
  L.push(row(['started / finished', `${run.startedAt} / ${run.finishedAt ?? 'n/a'}`]));
  L.push(row(['command', `\`${s.command}\``]));
  L.push(
    row([
      'settings',
      `rates ${s.rates.join(', ')} req/s; ${s.durationS} s per phase after ${s.warmupS} s warm-up; closed loop ${s.connections} connections; streams ${s.streamConcurrency} concurrent, first byte ${s.firstByteMs} ms, ${s.chunkDelayMs} ms per chunk, ${s.streamDeltas} deltas; hold ${s.holdStreams} streams; soak ${s.soakSeconds} s at ${s.soakRate} req/s on ${s.soakTargets.join(', ')}`,
    ]),
  );
  L.push('');
  for (const t of run.targets) {
    if (t.skipped) L.push(`- **${t.name}** skipped: ${t.skipped}`);
    if (t.error) L.push(`- **${t.name}** failed: ${t.error.split('\n')[0]}`);
  }
  if (run.targets.some((t) => t.skipped || t.error)) L.push('');

  L.push('## Targets (issue 8)');
  L.push('');
  const load1 = Number(run.loadBefore.split(' ')[0]);
  const cpusN = Number(run.machine.nproc) || 1;
  if (Number.isFinite(load1) && load1 > cpusN * 0.5) {
    L.push(
      `> The machine was busy when this run started (load average ${load1} on ${cpusN} CPUs): targets are measured one after another, so other work moved each of them differently. These verdicts are not evidence either way.`,
    );
    L.push('');
  }
  L.push(
    '`node-floor` is a 40-line proxy (node:http in front of an undici Pool, [bench/lib/node-proxy.ts](bench/lib/node-proxy.ts)): no authentication, no parsing, no policy. Its column shows what Node itself costs on this machine for the same measure; where it misses a target too, no gateway built on node:http and undici meets it on this machine.',
  );
  L.push('');
  L.push('| target | measured | verdict | Node floor (node-floor, same run) |');
  L.push('|---|---|---|---|');
  for (const c of checks(run))
    L.push(row([c.target, c.measured, c.verdict === 'met' ? 'met' : `**${c.verdict}**`, c.floor ?? 'n/a']));
  L.push('');

  L.push('## Targets (issue 13: the full stack nearly free)');
  L.push('');
  L.push(
    '`gantry-full` (every control on) against `gantry-min` (the same gateway, authentication only) in the same run: what the controls cost. docs/performance.md names the profile behind each miss.',
  );
  L.push('');
  L.push('| target | measured | verdict | Node floor (node-floor, same run) |');
  L.push('|---|---|---|---|');
  for (const c of stackChecks(run))
    L.push(row([c.target, c.measured, c.verdict === 'met' ? 'met' : `**${c.verdict}**`, c.floor ?? 'n/a']));
  L.push('');

  L.push('## Added latency over direct (open loop, non-streaming)');
  L.push('');
  L.push(
    'Latency is measured from the scheduled send time (no coordinated omission); "added" = target percentile − direct percentile at the same rate. Ratios compare the added p50 (and p99).',
  );
  L.push('');
  L.push(
    '"achieved" below 90 % of the offered rate means the rate was not sustained (by the target, or by the simulator and load generator when direct falls short too): those latencies are queueing, not the hop.',
  );
  L.push('');
  L.push(
    '| target | rate req/s | achieved req/s | p50 ms | p95 ms | p99 ms | added p50 | added p95 | added p99 | vs nginx p50 / p99 | vs Portkey p50 / p99 | CPU % | CPU ms / 1k req | RSS MiB | event loop p99 / max ms | errors |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const rate of s.rates) {
    const n = addedAt(run, 'nginx', rate);
    const p = addedAt(run, 'portkey', rate);
    for (const t of ok) {
      const o = t.open.find((x) => x.rate === rate);
      if (!o) continue;
      const a = t.name === 'direct' ? undefined : addedAt(run, t.name, rate);
      L.push(
        row([
          t.name,
          rate,
          o.load.throughput.toFixed(0),
          f(o.load.latency.p50),
          f(o.load.latency.p95),
          f(o.load.latency.p99),
          f(a?.p50),
          f(a?.p95),
          f(a?.p99),
          a ? `${ratio(a.p50, n?.p50)} / ${ratio(a.p99, n?.p99)}` : 'n/a',
          a ? `${ratio(a.p50, p?.p50)} / ${ratio(a.p99, p?.p99)}` : 'n/a',
          f(o.cpu?.percent, 1),
          f(o.cpu?.msPer1k, 1),
          mib(o.cpu?.rssBytes),
          o.loop ? `${f(o.loop.p99, 2)} / ${f(o.loop.max, 1)}` : 'n/a',
          o.load.errors,
        ]),
      );
    }
  }
  L.push('');

  L.push('## Maximum throughput (closed loop)');
  L.push('');
  const nT = ok.find((t) => t.name === 'nginx')?.closed?.load.throughput;
  const pT = ok.find((t) => t.name === 'portkey')?.closed?.load.throughput;
  L.push(`${s.connections} concurrent connections, ${s.durationS} s, small non-streaming requests.`);
  L.push('');
  L.push(
    '| target | req/s | vs nginx | vs Portkey | p50 ms | p99 ms | CPU % | CPU ms / 1k req | CPU/req vs nginx / Portkey | RSS MiB | RSS vs nginx / Portkey | errors |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const nC = ok.find((t) => t.name === 'nginx')?.closed?.cpu;
  const pC = ok.find((t) => t.name === 'portkey')?.closed?.cpu;
  for (const t of ok) {
    const c = t.closed;
    if (!c) continue;
    L.push(
      row([
        t.name,
        c.load.throughput.toFixed(0),
        ratio(c.load.throughput, nT),
        ratio(c.load.throughput, pT),
        f(c.load.latency.p50),
        f(c.load.latency.p99),
        f(c.cpu?.percent, 1),
        f(c.cpu?.msPer1k, 1),
        c.cpu ? `${ratio(c.cpu.msPer1k, nC?.msPer1k)} / ${ratio(c.cpu.msPer1k, pC?.msPer1k)}` : 'n/a',
        mib(c.cpu?.rssBytes),
        c.cpu ? `${ratio(c.cpu.rssBytes, nC?.rssBytes)} / ${ratio(c.cpu.rssBytes, pC?.rssBytes)}` : 'n/a',
        c.load.errors,
      ]),
    );
  }
  L.push('');

  const rounds = run.rounds;
  if (rounds && Object.keys(rounds.throughput).length > 0) {
    L.push('### Interleaved rounds');
    L.push('');
    L.push(
      `Every target running at once, pinned alike, taking turns: ${rounds.rounds} rounds of ${rounds.seconds} s closed loop (${s.connections} connections) per target. A drift of the machine's speed during the run hits all targets alike, so these ratios are steadier than the single closed phase above; the throughput verdict uses the medians.`,
    );
    L.push('');
    L.push('| target | median req/s | min | max | vs nginx | vs Portkey | each round |');
    L.push('|---|---|---|---|---|---|---|');
    const rmed = (n: string) => median(rounds.throughput[n as TargetName]);
    for (const [name, xs] of Object.entries(rounds.throughput) as Array<[TargetName, number[]]>) {
      const m = median(xs) ?? 0;
      L.push(
        row([
          name,
          m.toFixed(0),
          Math.min(...xs).toFixed(0),
          Math.max(...xs).toFixed(0),
          ratio(m, rmed('nginx')),
          ratio(m, rmed('portkey')),
          xs.map((x) => x.toFixed(0)).join(', '),
        ]),
      );
    }
    L.push('');
  }

  L.push('## Streaming');
  L.push('');
  L.push(
    `Simulator: first byte ${s.firstByteMs} ms, ${s.chunkDelayMs} ms before each of ${s.streamDeltas} deltas; ${s.streamConcurrency} concurrent streams. TTFT = send → first \`content_block_delta\` at the client. Gaps = time between consecutive deltas at the client; "merged" = deltas that arrived in the same read as the previous one.`,
  );
  L.push('');
  L.push(
    '| target | streams ok | TTFT p50 ms | TTFT p99 ms | added TTFT p50 | added TTFT p99 | gap p50 ms | gap p99 ms | merged % | CPU % | errors |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const t of ok) {
    const st = t.stream;
    if (!st) continue;
    const a = t.name === 'direct' ? undefined : addedTtft(run, t.name);
    const g = st.load.gaps;
    L.push(
      row([
        t.name,
        st.load.ok,
        f(st.load.ttft?.p50, 2),
        f(st.load.ttft?.p99, 2),
        f(a?.p50),
        f(a?.p99),
        f(g?.p50, 2),
        f(g?.p99, 2),
        g?.count ? f((g.zeroGaps / g.count) * 100, 2) : 'n/a',
        f(st.cpu?.percent, 1),
        st.load.errors,
      ]),
    );
  }
  L.push('');

  L.push('## Memory');
  L.push('');
  L.push(
    `RSS (VmRSS of the target's process tree, /proc) idle and while holding ${s.holdStreams} slow streams open.`,
  );
  L.push('');
  L.push(
    '| target | idle RSS MiB | RSS before hold MiB | RSS with streams open MiB | streams open | vs nginx | vs Portkey |',
  );
  L.push('|---|---|---|---|---|---|---|');
  const nH = ok.find((t) => t.name === 'nginx')?.hold?.rssBytes;
  const pH = ok.find((t) => t.name === 'portkey')?.hold?.rssBytes;
  for (const t of ok) {
    if (t.name === 'direct') continue;
    L.push(
      row([
        t.name,
        mib(t.idleRssBytes),
        mib(t.hold?.rssBeforeBytes),
        mib(t.hold?.rssBytes),
        t.hold ? `${t.hold.held} / ${t.hold.requested}` : 'n/a',
        ratio(t.hold?.rssBytes, nH),
        ratio(t.hold?.rssBytes, pH),
      ]),
    );
  }
  L.push('');
  const soaks = ok.filter((t) => t.soak);
  if (soaks.length) {
    L.push('### Soak');
    L.push('');
    L.push('RSS sampled every second; slope = least-squares regression after the first 10 % of the soak.');
    L.push('');
    L.push(
      '| target | seconds | rate req/s | p50 ms | p99 ms | errors | RSS start MiB | RSS end MiB | slope MiB/min |',
    );
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const t of soaks) {
      const k = t.soak;
      if (!k) continue;
      L.push(
        row([
          t.name,
          k.seconds,
          k.rate,
          f(k.load.latency.p50),
          f(k.load.latency.p99),
          k.load.errors,
          mib(k.startRssBytes),
          mib(k.endRssBytes),
          f(k.slopeBytesPerMin / MiB, 3),
        ]),
      );
    }
    L.push('');
  }

  const errs = ok.filter((t) => errorsOf(t) > 0 || (t.hold && t.hold.errors > 0));
  if (errs.length) {
    L.push('## Errors seen');
    L.push('');
    for (const t of errs) {
      const samples = new Set<string>([
        ...t.open.flatMap((o) => o.load.errorSamples),
        ...(t.closed?.load.errorSamples ?? []),
        ...(t.stream?.load.errorSamples ?? []),
        ...(t.hold?.errorSamples ?? []),
        ...(t.soak?.load.errorSamples ?? []),
      ]);
      L.push(
        `- **${t.name}** (${errorsOf(t) + (t.hold?.errors ?? 0)}): ${[...samples]
          .slice(0, 4)
          .map((x) => `\`${x.replace(/`/g, "'").replace(/\n/g, ' ')}\``)
          .join('; ')}`,
      );
    }
    L.push('');
  }

  L.push('## Raw numbers');
  L.push('');
  L.push(`Every percentile, count and sample is in [\`${jsonPath}\`](${jsonPath}).`);
  L.push('');
  return `${L.join('\n')}\n`;
}
