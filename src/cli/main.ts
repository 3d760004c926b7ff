/**
 * The `gantry` command line. Each command lives in its own module and is
 * imported only when it runs, so `gantry simulate` never loads the gateway.
 *
 * Errors: a command throws `CliError` (src/cli/errors.ts) for an expected
 * failure; its exit code is in the table there and in docs/cli.md.
 */
import { Command, InvalidArgumentError } from 'commander';
import { CliError, EXIT } from './errors.ts';

/**
 * The simulator's profiles and tiers as `simulate --help` lists them, kept here so
 * the help does not load the simulator; test/cli.docs.test.ts ties them to
 * PROFILE_NAMES, TIER_NAMES and docs/simulator.md.
 */
export const SIMULATOR_PROFILES = ['default', 'perf', 'flaky', 'overloaded', 'slow', 'rate-limited'] as const;
export const SIMULATOR_TIERS = ['start', 'build', 'scale', 'unlimited', 'tiny'] as const;

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
    .option(
      '--simulate',
      'use the built-in simulator as the upstream (no Anthropic key needed; labelled simulated everywhere)',
    )
    .action(async (opts) => (await import('./serve.ts')).run(opts));

  program
    .command('simulate')
    .description('Run the Anthropic API simulator.')
    .option('-p, --port <port>', 'listen port', port, 4010)
    .option('--host <host>', 'listen host', '127.0.0.1')
    .option('--profile <name>', `fault/latency profile: ${SIMULATOR_PROFILES.join(', ')}`)
    .option('--tier <tier>', `rate-limit tier: ${SIMULATOR_TIERS.join(', ')}`, 'build')
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

  program
    .command('models')
    .description(
      'Print the model catalog: ids, aliases, limits, lifecycle and prices, with its source and date.',
    )
    .option('--json', 'print JSON')
    .option('--all', 'include retired models')
    .action(async (opts) => (await import('./models.ts')).run(opts));

  program
    .command('report')
    .description('Tokens, cost, cache hit rate and savings from the ledger.')
    .option('-c, --config <file>', 'config file whose storage.ledger to read')
    .option('--ledger <url>', 'ledger store (sqlite:<path> or postgres://…), overrides the config')
    .option('--by <group>', 'client, customer, model or day', 'client')
    .option('--since <when>', 'rows since 24h, 7d, 30m or a date (2026-11-01)')
    .option('--format <format>', 'table, csv or json', 'table')
    .option('--recommend', 'suggest max_tokens per client and cheaper models for small requests')
    .action(async (opts) => (await import('./report.ts')).run(opts));
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  program
    .command('audit')
    .description('Check a codebase against the go-live checklist (docs/audit.md).')
    .argument('[path]', 'project directory', '.')
    .option(
      '-f, --format <formats>',
      'terminal, json, sarif, junit, markdown, github (comma-separated)',
      'terminal',
    )
    .option('-o, --output <FORMAT=FILE>', 'also write a format to a file (repeatable)', collect, [])
    .option('--fail-on <level>', 'gate threshold: warn or fail', 'fail')
    .option('--no-color', 'no colours in the terminal report')
    .action(async (path, opts) => (await import('./audit.ts')).run(path, opts));

  program
    .command('preflight')
    .description('Probe a live deployment (Gantry gateway or the Anthropic API) before go-live.')
    .argument('<url>', 'base URL of the gateway or the API')
    .option('--gateway', 'the URL is a Gantry gateway (default)')
    .option('--api', 'the URL is the Anthropic API itself')
    .option(
      '--admin-key-env <name>',
      'environment variable holding the gateway admin key',
      'GANTRY_ADMIN_KEY',
    )
    .option(
      '-f, --format <formats>',
      'terminal, json, sarif, junit, markdown, github (comma-separated)',
      'terminal',
    )
    .option('-o, --output <FORMAT=FILE>', 'also write a format to a file (repeatable)', collect, [])
    .option('--fail-on <level>', 'gate threshold: warn or fail', 'fail')
    .option('--timeout <ms>', 'per-probe timeout in milliseconds', '10000')
    .option('--no-generate', 'never generate (skips reading the tier from rate-limit headers)')
    .option('--no-color', 'no colours in the terminal report')
    .action(async (url, opts) => (await import('./preflight.ts')).run(url, opts));

  program
    .command('init')
    .description('Write a commented gantry.yaml and runbook, rollback, on-call and key-rotation templates.')
    .argument('[dir]', 'project directory', '.')
    .option('--force', 'overwrite existing files')
    .action(async (dir, opts) => (await import('./init.ts')).run(dir, opts));
  const alerts = program.command('alerts').description('Alert channels and rule exports.');
  alerts
    .command('test')
    .description('Send a test alert through every configured channel.')
    .option('-c, --config <file>', 'config file (default: $GANTRY_CONFIG, ./gantry.yaml)')
    .action(async (opts) => (await import('./alerts.ts')).test(opts));
  alerts
    .command('export')
    .description('Write alerting rules equivalent to the built-in ones (Prometheus rule file).')
    .option('-c, --config <file>', 'config file (default: $GANTRY_CONFIG, ./gantry.yaml)')
    .option('--format <format>', 'prometheus', 'prometheus')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (opts) => (await import('./alerts.ts')).exportRules(opts));

  const dashboards = program.command('dashboards').description('Dashboards over the exported metrics.');
  dashboards
    .command('export')
    .description('Write a Grafana dashboard (JSON) over the /metrics names.')
    .option('--format <format>', 'grafana', 'grafana')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (opts) => (await import('./dashboards.ts')).exportDashboard(opts));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`gantry: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    const e = err as { code?: string; exitCode?: number; message?: string } | undefined;
    if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
      // commander printed the problem (and the help) already.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.stderr.write(`gantry: unexpected error: ${e?.message ?? String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}
