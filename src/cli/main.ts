/**
 * The `gantry` command line. Each command lives in its own module and is
 * imported only when it runs, so `gantry simulate` never loads the gateway.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error
 * (see docs/cli.md).
 */
import { Command, InvalidArgumentError } from 'commander';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('gantry')
    .description('The production layer for applications that call Claude.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('Run the gateway (speaks the Anthropic Messages API).')
    .option(
      '-c, --config <file>',
      'config file (default: $GANTRY_CONFIG, ./gantry.yaml, else embedded defaults)',
    )
    .option('-p, --port <port>', 'listen port (overrides server.port)', port)
    .option('--host <host>', 'listen host (overrides server.host)')
    .action(async (opts) => (await import('./serve.ts')).run(opts));

  program
    .command('simulate')
    .description('Run the Anthropic API simulator.')
    .option('-p, --port <port>', 'listen port', port, 4010)
    .option('--host <host>', 'listen host', '127.0.0.1')
    .option('--profile <name>', 'fault/latency profile: default, perf, flaky, overloaded, slow, rate-limited')
    .option('--tier <tier>', 'rate-limit tier: start, build, scale, unlimited', 'build')
    .option('--keys <keys>', 'comma-separated accepted API keys (default: accept any key)')
    .option('--seed <n>', 'seed for deterministic replies', '1')
    .action(async (opts) => (await import('./simulate.ts')).run(opts));

  const config = program.command('config').description('Work with gantry.yaml.');
  config
    .command('check')
    .description('Validate the config and print it resolved, with every secret masked.')
    .option(
      '-c, --config <file>',
      'config file (default: $GANTRY_CONFIG, ./gantry.yaml, else embedded defaults)',
    )
    .action(async (opts) => (await import('./config.ts')).check(opts));

  const keys = program.command('keys').description('Virtual keys for clients.');
  keys
    .command('create')
    .description('Create a virtual key: prints the key once and the config snippet holding its hash.')
    .requiredOption('--client <name>', 'client (app feature) name')
    .option('--environment <env>', 'environment the client belongs to', 'default')
    .action(async (opts) => (await import('./keys.ts')).create(opts));
  keys
    .command('rotate')
    .description(
      'Rotate an upstream key on a running gateway without a failed request (docs/key-rotation.md).',
    )
    .option('--gateway <url>', 'gateway base URL', 'http://127.0.0.1:8787')
    .option('--environment <env>', 'environment whose key rotates', 'default')
    .option('--from <id>', 'id of the old key (upstream_keys)')
    .option('--to <id>', 'id of the new key (upstream_keys)')
    .option('--admin-key-env <name>', 'environment variable holding the admin key', 'GANTRY_ADMIN_KEY')
    .option('--disable', 'disable the old key once drained')
    .action(async (opts) => (await import('./keys-rotate.ts')).rotate(opts));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (e && (e as { exitCode?: number }).exitCode !== undefined) {
      process.exitCode = e.exitCode;
      if (e.message) process.stderr.write(`gantry: ${e.message}\n`);
      return;
    }
    process.stderr.write(`gantry: ${e?.message ?? String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}
