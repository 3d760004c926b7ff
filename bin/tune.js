// V8 settings for `gantry serve`, applied before anything else is loaded.
//
// A gateway allocates mostly short-lived objects (one request's worth). On a
// machine with plenty of memory V8 grows the young generation to 64 MiB
// semi-spaces for throughput and keeps that memory resident after the first
// burst. `gantry serve` runs with 16 MiB semi-spaces instead: the same
// throughput in bench/ (node bench/run.ts --phases closed) and about 70 MB
// less RSS after load (node --expose-gc bench/memory.ts). The process
// re-executes itself once with the flag (process.execve: same PID, so
// supervisors and signals see no difference).
//
// Opt out with GANTRY_V8_DEFAULTS=1, or by passing your own
// --max-semi-space-size (on the command line or in NODE_OPTIONS).
const FLAG = '--max-semi-space-size';
const SEMI_SPACE_MIB = 16;

export function tuneV8(argv = process.argv) {
  if (argv[2] !== 'serve') return;
  if (process.env.GANTRY_V8_DEFAULTS === '1') return;
  if (typeof process.execve !== 'function' || process.platform === 'win32') return;
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => a.startsWith(FLAG))) return;
  try {
    process.execve(
      process.execPath,
      [process.execPath, `${FLAG}=${SEMI_SPACE_MIB}`, ...process.execArgv, ...argv.slice(1)],
      process.env,
    );
  } catch {
    // Not possible here (a sandbox, an old kernel): run with V8's defaults.
  }
}
