/** `gantry audit [path]`: the go-live checklist against a codebase (docs/audit.md). */
import { existsSync, statSync } from 'node:fs';
import { runAudit } from '../audit/audit.ts';
import { CliError } from './errors.ts';
import { emitReport, parseReportOptions, type ReportCliOptions, type ReportIO } from './report-io.ts';

export async function run(
  path: string | undefined,
  opts: ReportCliOptions,
  io: ReportIO = {},
): Promise<void> {
  const stderr = io.stderr ?? process.stderr;
  parseReportOptions(opts); // usage errors before any work
  const target = path ?? '.';
  if (!existsSync(target) || !statSync(target).isDirectory())
    throw new CliError('usage', `${target}: not a directory`);
  const progress = Boolean(stderr.isTTY);
  let shown = false;
  let report: ReturnType<typeof runAudit>;
  try {
    report = runAudit(target, {
      onProgress: (done, total) => {
        if (!progress || total < 2000) return;
        shown = true;
        stderr.write(`\rgantry audit: ${done}/${total} files`);
      },
    });
  } catch (err) {
    throw new CliError('failure', `audit failed: ${(err as Error).message}`, { cause: err });
  }
  if (shown) stderr.write('\n');
  process.exitCode = emitReport(report, opts, io);
}
