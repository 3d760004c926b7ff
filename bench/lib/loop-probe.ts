/**
 * Event-loop delay of a benchmark target, measured inside it: loaded with
 * `node --import bench/lib/loop-probe.ts …` into the Node targets
 * (node-floor, gantry-min, gantry-full) when `BENCH_LOOP_FILE` is set. On
 * SIGUSR2 it writes the delay percentiles since the previous SIGUSR2 to that
 * file, as JSON `{"seq","p50","p99","max"}` in milliseconds, and starts
 * over: bench/run.ts signals before and after a phase to get that phase's
 * figures.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_FILE;
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let seq = 0;
  process.on('SIGUSR2', () => {
    const ms = (ns: number) => ns / 1e6;
    seq++;
    writeFileSync(
      file,
      JSON.stringify({
        seq,
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max),
      }),
    );
    delay.reset();
  });
}
