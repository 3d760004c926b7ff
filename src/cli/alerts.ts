/**
 * `gantry alerts test`: sends a test alert through every configured channel
 * and prints the outcome of each (exit 1 when one failed, 2 when none is
 * configured).
 *
 * `gantry alerts export --format prometheus [--output FILE]`: writes
 * Prometheus alerting rules equivalent to the built-in engine's rules (the
 * configured ones, else the defaults). Check them with `promtool check rules`.
 */
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { AlertEngine } from '../alerts/engine.ts';
import { prometheusRules } from '../alerts/export.ts';
import { LatencyWindows } from '../observe/stats.ts';
import { CliError, readConfig } from './errors.ts';

interface IO {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
}

export async function test(opts: { config?: string }, io: IO = {}): Promise<void> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const config = await readConfig({ path: opts.config, env, cwd: io.cwd });
  if (config.alerts.channels.length === 0) {
    throw new CliError('usage', 'no alert channels are configured (alerts.channels in gantry.yaml)');
  }
  const logger = pino({ level: 'silent' });
  const engine = new AlertEngine({
    config: { ...config.alerts, historyDb: undefined },
    logger,
    stats: new LatencyWindows(),
    env,
  });
  await engine.start({ timer: false });
  try {
    const results = await engine.sendTest();
    for (const r of results) {
      const c = engine.channels.find((x) => x.name === r.channel)!;
      const how = r.status !== undefined ? `HTTP ${r.status}` : (r.error ?? 'no answer');
      stdout.write(
        r.ok
          ? `${r.channel} (${c.config.type}): sent (${how})\n`
          : `${r.channel} (${c.config.type}): FAILED after ${r.attempts} attempt(s) (${how})\n`,
      );
    }
    const failed = results.filter((r) => !r.ok).length;
    if (failed > 0) throw new CliError('gate', `${failed} of ${results.length} channel(s) failed`);
  } finally {
    await engine.close();
  }
}

export async function exportRules(
  opts: { config?: string; format?: string; output?: string },
  io: IO = {},
): Promise<void> {
  const format = opts.format ?? 'prometheus';
  if (format !== 'prometheus') throw new CliError('usage', `--format: expected prometheus (got "${format}")`);
  const config = await readConfig({ path: opts.config, env: io.env ?? process.env, cwd: io.cwd });
  const text = prometheusRules(config.alerts.rules);
  if (opts.output) writeFileSync(opts.output, text);
  else (io.stdout ?? process.stdout).write(text);
}
