/**
 * The load generator, run in its own process by bench/run.ts:
 *
 *   node bench/lib/loadgen.ts '<LoadSpec JSON>'
 *
 * Prints one JSON line (`LoadResult`) on stdout when done. Modes:
 *
 * - `open`: open loop at a fixed rate. Sends follow a fixed timetable
 *   (request i is due at start + i / rate), independent of responses, and
 *   latency is measured from the SCHEDULED send time, so a stalled target
 *   shows up as latency instead of silently lowering the offered load
 *   (no coordinated omission). The latency from the moment the generator
 *   issued the request (after any lateness of its own event loop, before
 *   waiting for a free pooled connection) is reported too.
 * - `closed`: N concurrent workers, each sends its next request when the
 *   previous one has answered, for T seconds: maximum throughput.
 * - `stream`: N concurrent workers doing streaming requests; records the
 *   time to the first `content_block_delta` and the gaps between deltas as
 *   they arrive at the client.
 * - `hold`: opens N streams that the (slow) upstream keeps open, waits until
 *   every one has delivered its first byte, then reports on stderr-free
 *   stdout `{"held": n}` and keeps them open until SIGTERM / `holdMs`.
 *
 * HTTP: an undici Pool with keep-alive per run (pipelining 1).
 */
import { Pool } from 'undici';

export interface LoadSpec {
  mode: 'open' | 'closed' | 'stream' | 'hold';
  url: string; // origin, e.g. http://127.0.0.1:8787
  path?: string; // default /v1/messages
  headers: Record<string, string>;
  body: string;
  /** open: requests per second. */
  rate?: number;
  /** closed / stream / hold: concurrent requests. */
  concurrency?: number;
  durationMs?: number;
  /** Pool connections (open: default 256; others: concurrency). */
  connections?: number;
  /** hold: keep the streams open this long after all are established. */
  holdMs?: number;
  /** Warm-up before measuring: this many ms of closed-loop traffic (default 0). */
  warmupMs?: number;
}

export interface LoadResult {
  mode: LoadSpec['mode'];
  sent: number;
  ok: number;
  errors: number;
  /** First few distinct error descriptions. */
  errorSamples: string[];
  elapsedMs: number;
  /** Completed successful requests per second. */
  throughput: number;
  /** ms, from the scheduled send time (open) or the actual send time (others). */
  latency: Percentiles;
  /** open loop only: ms from when the generator issued the request (its own lateness excluded). */
  serviceLatency?: Percentiles;
  /** stream: ms from send to the first content_block_delta. */
  ttft?: Percentiles;
  /** stream: ms between consecutive content_block_delta events at the client. */
  gaps?: Percentiles & { count: number; zeroGaps: number };
  /** hold: streams established. */
  held?: number;
}

export interface Percentiles {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function percentiles(values: number[] | Float64Array): Percentiles {
  const a = Float64Array.from(values).sort();
  const n = a.length;
  const at = (q: number) => (n === 0 ? Number.NaN : a[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]);
  let sum = 0;
  for (const v of a) sum += v;
  return {
    n,
    min: n ? a[0] : Number.NaN,
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    p999: at(0.999),
    max: n ? a[n - 1] : Number.NaN,
    mean: n ? sum / n : Number.NaN,
  };
}

/** A growable list of doubles (latencies), cheaper than number[] at 100k entries. */
class Samples {
  private buf = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

class Errors {
  count = 0;
  readonly samples = new Set<string>();
  add(what: string): void {
    this.count++;
    if (this.samples.size < 5) this.samples.add(what.slice(0, 300));
  }
}

/** Each delta event has one `event:` line (its data repeats the type: count the event line only). */
const DELTA = 'event: content_block_delta';

function countOccurrences(s: string, needle: string): number {
  let n = 0;
  let i = s.indexOf(needle);
  while (i !== -1) {
    n++;
    i = s.indexOf(needle, i + needle.length);
  }
  return n;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const path = spec.path ?? '/v1/messages';
  const conc = spec.concurrency ?? 32;
  const pool = new Pool(spec.url, {
    connections: spec.connections ?? (spec.mode === 'open' ? 256 : conc),
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connectTimeout: 60_000,
  });
  const errors = new Errors();

  /** One non-streaming request; resolves true when a 2xx body was read completely. */
  async function once(): Promise<boolean> {
    try {
      const res = await pool.request({ method: 'POST', path, headers: spec.headers, body: spec.body });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return true;
      errors.add(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      return false;
    } catch (err) {
      errors.add(String((err as Error).message ?? err));
      return false;
    }
  }

  if (spec.warmupMs) {
    const end = performance.now() + spec.warmupMs;
    const warm = async () => {
      while (performance.now() < end) await once();
    };
    await Promise.all(Array.from({ length: Math.min(conc, 16) }, warm));
    errors.count = 0;
    errors.samples.clear();
  }

  const latency = new Samples();
  let sent = 0;
  let ok = 0;
  const durationMs = spec.durationMs ?? 5_000;
  const t0 = performance.now();

  if (spec.mode === 'open') {
    const rate = spec.rate ?? 1000;
    const total = Math.max(1, Math.round((rate * durationMs) / 1000));
    const service = new Samples();
    const interval = 1000 / rate;
    const inflight = new Set<Promise<void>>();
    await new Promise<void>((resolveAll) => {
      let i = 0;
      const tick = () => {
        const now = performance.now();
        while (i < total && t0 + i * interval <= now) {
          const scheduled = t0 + i * interval;
          i++;
          sent++;
          const actual = performance.now();
          const p = once().then((good) => {
            const end = performance.now();
            if (good) {
              ok++;
              latency.push(end - scheduled);
              service.push(end - actual);
            }
            inflight.delete(p);
          });
          inflight.add(p);
        }
        if (i >= total) {
          Promise.all(inflight).then(() => resolveAll());
          return;
        }
        const wait = t0 + i * interval - performance.now();
        // setTimeout has ~1 ms granularity: sleep only when the next send is far off.
        if (wait > 2) setTimeout(tick, wait - 1.5);
        else setImmediate(tick);
      };
      tick();
    });
    const elapsedMs = performance.now() - t0;
    await pool.close();
    return {
      mode: 'open',
      sent,
      ok,
      errors: errors.count,
      errorSamples: [...errors.samples],
      elapsedMs,
      throughput: ok / (elapsedMs / 1000),
      latency: percentiles(latency.values()),
      serviceLatency: percentiles(service.values()),
    };
  }

  if (spec.mode === 'closed') {
    const end = t0 + durationMs;
    const worker = async () => {
      while (performance.now() < end) {
        const start = performance.now();
        sent++;
        if (await once()) {
          ok++;
          latency.push(performance.now() - start);
        }
      }
    };
    await Promise.all(Array.from({ length: conc }, worker));
    const elapsedMs = performance.now() - t0;
    await pool.close();
    return {
      mode: 'closed',
      sent,
      ok,
      errors: errors.count,
      errorSamples: [...errors.samples],
      elapsedMs,
      throughput: ok / (elapsedMs / 1000),
      latency: percentiles(latency.values()),
    };
  }

  if (spec.mode === 'stream') {
    const ttft = new Samples();
    const gaps = new Samples();
    let zeroGaps = 0;
    const end = t0 + durationMs;
    const one = async (): Promise<void> => {
      const start = performance.now();
      sent++;
      try {
        const res = await pool.request({ method: 'POST', path, headers: spec.headers, body: spec.body });
        if (res.statusCode !== 200) {
          errors.add(`HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
          return;
        }
        res.body.setEncoding('utf8');
        let last = -1;
        let carry = '';
        let sawStop = false;
        for await (const chunk of res.body as AsyncIterable<string>) {
          const now = performance.now();
          // Count whole occurrences across chunk borders: keep the tail.
          const text = carry + chunk;
          const n = countOccurrences(text, DELTA);
          carry = text.slice(-DELTA.length + 1);
          if (n > 0) {
            if (last < 0) {
              ttft.push(now - start);
              for (let k = 1; k < n; k++) {
                gaps.push(0);
                zeroGaps++;
              }
            } else {
              gaps.push(now - last);
              for (let k = 1; k < n; k++) {
                gaps.push(0);
                zeroGaps++;
              }
            }
            last = now;
          }
          if (text.includes('message_stop')) sawStop = true;
        }
        if (!sawStop) {
          errors.add('stream ended without message_stop');
          return;
        }
        ok++;
        latency.push(performance.now() - start);
      } catch (err) {
        errors.add(String((err as Error).message ?? err));
      }
    };
    const worker = async () => {
      while (performance.now() < end) await one();
    };
    await Promise.all(Array.from({ length: conc }, worker));
    const elapsedMs = performance.now() - t0;
    await pool.close();
    return {
      mode: 'stream',
      sent,
      ok,
      errors: errors.count,
      errorSamples: [...errors.samples],
      elapsedMs,
      throughput: ok / (elapsedMs / 1000),
      latency: percentiles(latency.values()),
      ttft: percentiles(ttft.values()),
      gaps: { ...percentiles(gaps.values()), count: gaps.length, zeroGaps },
    };
  }

  // hold: open `conc` streams, at most HOLD_OPENING at a time (a burst of 2,000 connects
  // overflows listen backlogs), wait for each one's first byte, keep them all open.
  const HOLD_OPENING = 100;
  const firstBytes: Array<Promise<boolean>> = [];
  const bodies: Array<{ destroy(): void }> = [];
  const openOne = (): Promise<boolean> =>
    pool
      .request({ method: 'POST', path, headers: spec.headers, body: spec.body })
      .then(
        (res) =>
          new Promise<boolean>((resolveFirst) => {
            bodies.push(res.body);
            if (res.statusCode !== 200) {
              errors.add(`HTTP ${res.statusCode}`);
              res.body.resume();
              resolveFirst(false);
              return;
            }
            res.body.once('data', () => resolveFirst(true));
            res.body.on('data', () => {});
            res.body.on('error', () => {});
            res.body.once('end', () => {
              errors.add('stream ended while held');
              resolveFirst(false);
            });
          }),
      )
      .catch((err: Error) => {
        errors.add(String(err.message ?? err));
        return false;
      });
  let next = 0;
  const opener = async () => {
    while (next < conc) {
      next++;
      sent++;
      const p = openOne();
      firstBytes.push(p);
      await p;
    }
  };
  await Promise.all(Array.from({ length: Math.min(HOLD_OPENING, conc) }, opener));
  const established = (await Promise.all(firstBytes)).filter(Boolean).length;
  const elapsedMs = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ held: established, elapsedMs })}\n`);
  await new Promise<void>((resolveHold) => {
    const timer = setTimeout(resolveHold, spec.holdMs ?? 600_000);
    process.once('SIGTERM', () => {
      clearTimeout(timer);
      resolveHold();
    });
  });
  for (const b of bodies) b.destroy();
  await pool.destroy();
  return {
    mode: 'hold',
    sent,
    ok: established,
    errors: errors.count,
    errorSamples: [...errors.samples],
    elapsedMs,
    throughput: 0,
    latency: percentiles([]),
    held: established,
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  runLoad(spec).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`loadgen: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
