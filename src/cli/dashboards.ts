/**
 * `gantry dashboards export --format grafana [--output FILE]`: writes a
 * Grafana dashboard (JSON model) over the metrics `/metrics` exports: request
 * rate, errors by type, latency and time-to-first-token percentiles, tokens,
 * cost by client and customer, budget burn, breaker state, overhead.
 */
import { writeFileSync } from 'node:fs';
import { grafanaDashboard } from '../alerts/export.ts';
import { CliError } from './errors.ts';

export async function exportDashboard(
  opts: { format?: string; output?: string },
  io: { stdout?: { write(text: string): unknown } } = {},
): Promise<void> {
  const format = opts.format ?? 'grafana';
  if (format !== 'grafana') throw new CliError('usage', `--format: expected grafana (got "${format}")`);
  const text = `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
  if (opts.output) writeFileSync(opts.output, text);
  else (io.stdout ?? process.stdout).write(text);
}
