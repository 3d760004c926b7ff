/**
 * Shared by `gantry audit` and `gantry preflight`: parse --format / --output /
 * --fail-on, write the reports, set the exit code (0 pass, 1 gate failed;
 * usage errors throw a `CliError`, exit 2).
 */
import { writeFileSync } from 'node:fs';
import { type FailOn, gateFailures } from '../audit/audit.ts';
import { FORMATS, type Format, render } from '../audit/report.ts';
import type { AuditReport } from '../audit/result.ts';
import { CliError, EXIT } from './errors.ts';

export interface ReportCliOptions {
  format?: string;
  output?: string[];
  failOn?: string;
  color?: boolean;
}

export interface ReportIO {
  stdout?: { write(text: string): unknown; isTTY?: boolean };
  stderr?: { write(text: string): unknown; isTTY?: boolean };
}

export function parseReportOptions(opts: ReportCliOptions): {
  formats: Format[];
  outputs: [Format, string][];
  failOn: FailOn;
} {
  const failOn = (opts.failOn ?? 'fail') as FailOn;
  if (failOn !== 'warn' && failOn !== 'fail')
    throw new CliError('usage', `--fail-on: expected warn or fail, got ${opts.failOn}`);
  const formats = (opts.format ?? 'terminal').split(',').map((f) => f.trim()) as Format[];
  for (const f of formats)
    if (!FORMATS.includes(f))
      throw new CliError('usage', `--format: expected one of ${FORMATS.join(', ')}, got ${f}`);
  const outputs: [Format, string][] = [];
  for (const o of opts.output ?? []) {
    const i = o.indexOf('=');
    const f = o.slice(0, i) as Format;
    if (i <= 0 || !FORMATS.includes(f) || i === o.length - 1) {
      throw new CliError(
        'usage',
        `--output: expected FORMAT=FILE with FORMAT one of ${FORMATS.join(', ')}, got ${o}`,
      );
    }
    outputs.push([f, o.slice(i + 1)]);
  }
  return { formats, outputs, failOn };
}

export function emitReport(report: AuditReport, opts: ReportCliOptions, io: ReportIO = {}): number {
  const stdout = io.stdout ?? process.stdout;
  const { formats, outputs, failOn } = parseReportOptions(opts);
  const color = opts.color !== false && Boolean(stdout.isTTY) && !process.env.NO_COLOR;
  for (const f of formats) stdout.write(render(report, f, { failOn, color: f === 'terminal' && color }));
  for (const [f, file] of outputs) writeFileSync(file, render(report, f, { failOn, color: false }));
  return gateFailures(report.checks, failOn).length === 0 ? EXIT.ok : EXIT.gate;
}
