/** `gantry preflight <url>`: live go-live probes (docs/audit.md#gantry-preflight). */
import { runPreflight } from '../audit/preflight.ts';
import { CliError } from './errors.ts';
import { emitReport, parseReportOptions, type ReportCliOptions, type ReportIO } from './report-io.ts';

export interface PreflightCliOptions extends ReportCliOptions {
  gateway?: boolean;
  api?: boolean;
  adminKeyEnv?: string;
  timeout?: string;
  generate?: boolean;
}

export async function run(
  url: string,
  opts: PreflightCliOptions,
  io: ReportIO & { env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const env = io.env ?? process.env;
  parseReportOptions(opts);
  if (opts.gateway && opts.api) throw new CliError('usage', '--gateway and --api are exclusive');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError('usage', `${url}: expected an http(s) URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError('usage', `${url}: expected an http(s) URL`);
  const mode = opts.api ? 'api' : 'gateway';
  const key = mode === 'api' ? env.ANTHROPIC_API_KEY : (env.GANTRY_KEY ?? env.ANTHROPIC_API_KEY);
  const timeoutMs = Number(opts.timeout ?? 10_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new CliError('usage', '--timeout: expected a positive number of milliseconds');
  let report: Awaited<ReturnType<typeof runPreflight>>;
  try {
    report = await runPreflight(parsed.href.replace(/\/+$/, ''), {
      mode,
      key,
      adminKey: env[opts.adminKeyEnv ?? 'GANTRY_ADMIN_KEY'],
      timeoutMs,
      generate: opts.generate !== false,
    });
  } catch (err) {
    throw new CliError('failure', `preflight failed: ${(err as Error).message}`, { cause: err });
  }
  process.exitCode = emitReport(report, opts, io);
}
