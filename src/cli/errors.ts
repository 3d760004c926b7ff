/**
 * The one error class of the command line, and the exit codes it maps to.
 *
 * Every command in src/cli/ throws a `CliError` for an expected failure (a bad
 * option, an unreachable gateway, a failed gate); `main` prints its message as
 * `gantry: <message>` on stderr and exits with its code. Anything else thrown
 * is an unexpected error: exit 1. The table below is the contract; it is
 * printed in docs/cli.md and a test keeps both the same.
 *
 * @example
 *   throw new CliError('usage', '--by: expected one of client, customer, model, day');
 */

/**
 * Exit codes by kind of outcome (docs/cli.md "Exit codes"). `gate` shares 1
 * with `failure`, as `gantry audit` has always documented (exit 1: gate
 * failed), so CI scripts keep working.
 */
export const EXIT_CODES = {
  ok: { code: 0, meaning: 'success (for `serve` and `simulate`: stopped by SIGTERM/SIGINT after draining)' },
  failure: {
    code: 1,
    meaning:
      'runtime failure: the gateway could not start, a gateway or ledger could not be reached or found, this Node.js is too old, an unexpected error',
  },
  gate: {
    code: 1,
    meaning: 'a check failed: the `audit` / `preflight` gate (`--fail-on`), a channel in `alerts test`',
  },
  usage: {
    code: 2,
    meaning: 'usage or configuration error: unknown option, bad value, invalid `gantry.yaml`',
  },
} as const;

export type ExitKind = keyof typeof EXIT_CODES;
export type ExitCode = (typeof EXIT_CODES)[ExitKind]['code'];

/** The exit code of each kind, e.g. `EXIT.usage === 2`. */
export const EXIT = Object.freeze(
  Object.fromEntries(Object.entries(EXIT_CODES).map(([k, v]) => [k, v.code])),
) as { readonly [K in ExitKind]: (typeof EXIT_CODES)[K]['code'] };

/** An expected command-line failure: `main` prints `gantry: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  readonly kind: ExitKind;
  readonly exitCode: ExitCode;

  constructor(kind: Exclude<ExitKind, 'ok'>, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.kind = kind;
    this.exitCode = EXIT_CODES[kind].code;
  }
}

/** A usage error (exit 2). */
export const usageError = (message: string): CliError => new CliError('usage', message);

/**
 * `loadConfig` for commands: an invalid or missing config file becomes a
 * usage `CliError` listing every problem (exit 2).
 */
export async function readConfig(
  opts: import('../config/load.ts').LoadConfigOptions,
): Promise<import('../config/types.ts').ResolvedConfig> {
  const { ConfigError, loadConfig } = await import('../config/load.ts');
  try {
    return loadConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError('usage', err.message, { cause: err });
    throw err;
  }
}
