/**
 * `gantry drill rollback`: the rollback game day (src/rollouts/drill.ts).
 * Prints its JSON report on stdout and writes it to `--output` (default
 * `drills/rollback-drill.json`, where `gantry audit` finds it as INFRA-2's
 * evidence; `--output -` writes no file). Exit 0 when the drill passed, 1
 * when a check failed (the report says which).
 *
 * Offline by default (an in-process simulator and gateway; no key, no
 * network). With `--gateway <url>`: against a deployed gateway, with the
 * client key and the admin key from environment variables, sending at most
 * `--max-requests` small requests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GatewayCallError } from '../rollouts/client.ts';
import { type DrillOptions, runDrill, SCENARIOS, type Scenario } from '../rollouts/drill.ts';
import { CliError, usageError } from './errors.ts';

export const DEFAULT_DRILL_OUTPUT = 'drills/rollback-drill.json';

export interface DrillCliOptions {
  scenario?: string;
  gateway?: string;
  rollout?: string;
  keyEnv?: string;
  adminKeyEnv?: string;
  maxRequests?: string;
  output?: string;
  timeout?: string;
}

interface Io {
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
}

const whole = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw usageError(`${name}: expected a whole number from ${min} to ${max}`);
  return n;
};

export async function rollback(opts: DrillCliOptions, io: Io = {}): Promise<void> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const o: DrillOptions = {
    timeoutMs: whole('--timeout', opts.timeout, 1_000, 3_600_000),
  };
  if (opts.gateway === undefined) {
    const scenario = (opts.scenario ?? '5xx') as Scenario;
    if (!SCENARIOS.includes(scenario))
      throw usageError(`--scenario: expected one of ${SCENARIOS.join(', ')}`);
    if (opts.rollout !== undefined || opts.maxRequests !== undefined)
      throw usageError('--rollout and --max-requests apply to a staging drill (--gateway <url>)');
    o.scenario = scenario;
  } else {
    if (opts.scenario !== undefined)
      throw usageError(
        '--scenario applies offline; a staging drill degrades the candidate its gateway configures',
      );
    const keyEnv = opts.keyEnv ?? 'GANTRY_DRILL_KEY';
    const adminEnv = opts.adminKeyEnv ?? 'GANTRY_ADMIN_KEY';
    if (!env[keyEnv]) throw usageError(`set the virtual key of the drill's client in $${keyEnv}`);
    if (!env[adminEnv]) throw usageError(`set the admin key in $${adminEnv} (see admin: in gantry.yaml)`);
    Object.assign(o, {
      gateway: opts.gateway,
      rollout: opts.rollout,
      clientKey: env[keyEnv],
      adminKey: env[adminEnv],
      maxRequests: whole('--max-requests', opts.maxRequests, 20, 10_000) ?? 60,
    });
  }
  let report: Awaited<ReturnType<typeof runDrill>>;
  try {
    report = await runDrill(o);
  } catch (err) {
    if (err instanceof GatewayCallError) throw new CliError('failure', err.message, { cause: err });
    throw new CliError('failure', `the drill could not run: ${(err as Error).message}`, { cause: err });
  }
  const json = `${JSON.stringify(report, null, 2)}\n`;
  stdout.write(json);
  const output = opts.output ?? DEFAULT_DRILL_OUTPUT;
  if (output !== '-') {
    const path = resolve(output);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, json);
    stderr.write(`gantry: drill report written to ${path}\n`);
  }
  if (!report.passed) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`);
    throw new CliError('gate', `the rollback drill failed: ${failed.join('; ')}`);
  }
}
