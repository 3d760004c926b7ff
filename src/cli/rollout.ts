/**
 * `gantry rollout start|status|pause|promote|abort`: drives the rollouts of a
 * running gateway through its admin routes (`/admin/rollouts`), with the
 * admin key read from an environment variable (never a command-line value).
 * Rollouts themselves are declared in gantry.yaml (`rollouts:`,
 * docs/rollouts.md); these commands move them.
 */
import { GatewayCallError, RolloutAdmin, type RolloutView } from '../rollouts/client.ts';
import { CliError, usageError } from './errors.ts';
import { renderTable } from './table.ts';

export interface RolloutOptions {
  gateway: string;
  adminKeyEnv?: string;
  json?: boolean;
}

interface Io {
  stdout?: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
}

function adminOf(opts: RolloutOptions, io: Io): RolloutAdmin {
  const name = opts.adminKeyEnv ?? 'GANTRY_ADMIN_KEY';
  const key = (io.env ?? process.env)[name];
  if (!key) throw usageError(`set the admin key in $${name} (see admin: in gantry.yaml)`);
  return new RolloutAdmin(opts.gateway, key);
}

function cliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof GatewayCallError) {
    // A rollout id the gateway does not have is a usage error (exit 2).
    if (err.status === 404 && /no rollout/i.test(err.message)) return usageError(err.message);
    if (err.status === 409) return new CliError('failure', err.message);
    return new CliError('failure', err.message, { cause: err });
  }
  throw err;
}

const fmt = (v: number | null, unit: string) => (v === null ? '–' : `${Math.round(v * 1000) / 1000} ${unit}`);

/** A rollout in a few lines: status, share, steps, guards, the last decisions. */
export function describeRollout(r: RolloutView): string {
  const steps = r.steps.map((s) => (s.current ? `[${s.percent}]` : String(s.percent))).join(' → ');
  const arms = r.arms
    .map((a) => {
      const { name, model, ...rest } = a;
      const extra = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(' ');
      return `  ${name}: ${model ?? '(as requested)'}${extra ? ` ${extra}` : ''}`;
    })
    .join('\n');
  const lines = [
    `${r.id}: ${r.status}, candidate ${r.percent} % (steps ${steps} %), clients ${r.clients.join(', ')}`,
    arms,
  ];
  if (r.evaluation) lines.push(`last evaluation: ${r.evaluation.verdict} (${r.evaluation.reason})`);
  lines.push(
    renderTable(
      ['guard', 'candidate', 'baseline', 'bound', 'state'],
      r.guards.map((g) => [
        g.metric,
        fmt(g.candidate, g.unit),
        fmt(g.baseline, g.unit),
        fmt(g.threshold, g.unit),
        g.breached ? 'BREACHED' : g.judged ? 'ok' : 'too few samples',
      ]),
      [false, true, true, true, false],
    ),
  );
  if (r.decisions.length > 0) {
    lines.push('decisions (newest first):');
    for (const d of r.decisions.slice(0, 10))
      lines.push(`  ${d.at} ${d.action} by ${d.by}: ${d.from_percent} % → ${d.to_percent} %; ${d.reason}`);
  }
  return lines.join('\n');
}

export async function status(id: string | undefined, opts: RolloutOptions, io: Io = {}): Promise<void> {
  const out = io.stdout ?? process.stdout;
  const admin = adminOf(opts, io);
  let list: RolloutView[];
  try {
    list = id === undefined ? await admin.list() : [await admin.get(id)];
  } catch (err) {
    throw cliError(err);
  }
  if (opts.json) {
    out.write(`${JSON.stringify({ rollouts: list }, null, 2)}\n`);
    return;
  }
  if (list.length === 0) {
    out.write(
      'No rollouts on this gateway (declare them under rollouts: in gantry.yaml; docs/rollouts.md).\n',
    );
    return;
  }
  out.write(`${list.map(describeRollout).join('\n\n')}\n`);
}

export async function act(
  action: 'start' | 'pause' | 'promote' | 'abort',
  id: string,
  opts: RolloutOptions,
  io: Io = {},
): Promise<void> {
  const out = io.stdout ?? process.stdout;
  const admin = adminOf(opts, io);
  let answer: Awaited<ReturnType<RolloutAdmin['act']>>;
  try {
    answer = await admin.act(id, action);
  } catch (err) {
    throw cliError(err);
  }
  if (opts.json) {
    out.write(`${JSON.stringify(answer, null, 2)}\n`);
    return;
  }
  const d = answer.decision as { action: string; from_percent: number; to_percent: number; reason: string };
  out.write(`${id}: ${d.action} (${d.from_percent} % → ${d.to_percent} % candidate); ${d.reason}\n`);
  out.write(`${describeRollout(answer.rollout)}\n`);
}
