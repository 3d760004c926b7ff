/**
 * Runs chaos scenarios one after another against one simulator process, and
 * formats their results (the table `npm run chaos` prints and
 * docs/reliability.md quotes).
 */
import { SCENARIOS } from '../scenarios/index.ts';
import { ChaosContext, plantSecrets, type Scenario, type ScenarioResult } from './harness.ts';
import { spawnSimulator } from './procs.ts';

export interface RunOptions {
  /** Only the quick scenarios. */
  quick?: boolean;
  /** Only these scenarios (by name). */
  names?: readonly string[];
  /** Longest one scenario may run before it fails (default 120 s). */
  scenarioTimeoutMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export function selectScenarios(o: RunOptions): Scenario[] {
  const unknown = (o.names ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`,
    );
  }
  return SCENARIOS.filter((s) => (o.names?.length ? o.names.includes(s.name) : !o.quick || s.quick));
}

export async function runChaos(o: RunOptions = {}): Promise<ScenarioResult[]> {
  const scenarios = selectScenarios(o);
  const secrets = plantSecrets();
  const sim = await spawnSimulator(secrets.upstreamKey);
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of scenarios) {
      o.log?.(`chaos: ${scenario.name} …`);
      await fetch(`${sim.url}/_sim/reset`, { method: 'POST' }).then((r) => r.arrayBuffer());
      const ctx = new ChaosContext(scenario.name, sim.url, secrets);
      const startedAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timeoutMs = o.scenarioTimeoutMs ?? 120_000;
      try {
        await Promise.race([
          scenario.run(ctx),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (err) {
        ctx.failures.push(`threw: ${(err as Error)?.message ?? String(err)}`);
      } finally {
        clearTimeout(timer);
      }
      const result = await ctx.finish(scenario, startedAt);
      o.log?.(
        `chaos: ${scenario.name} ${result.ok ? 'ok' : `FAILED: ${result.failures.join('; ')} (kept ${ctx.dir})`}`,
      );
      results.push(result);
    }
  } finally {
    await sim.stop('SIGTERM');
  }
  return results;
}

const COLUMNS: Array<[string, (r: ScenarioResult) => string | number]> = [
  ['requests', (r) => r.requests],
  ['answered', (r) => r.answered],
  ['hung', (r) => r.hung],
  ['5xx', (r) => r.gateway5xx],
  ['lost', (r) => r.rowsLost],
  ['doubled', (r) => r.rowsDoubled],
  ['secrets', (r) => r.secretsFound],
  ['result', (r) => (r.ok ? 'ok' : 'FAILED')],
];

/** The results as a Markdown table with a total row, then each scenario's figures. */
export function formatResults(results: readonly ScenarioResult[]): string {
  const head = `| scenario | ${COLUMNS.map(([h]) => h).join(' | ')} |`;
  const rule = `|---|${COLUMNS.map(() => '---:').join('|')}|`;
  const rows = results.map((r) => `| ${r.name} | ${COLUMNS.map(([, f]) => f(r)).join(' | ')} |`);
  const sum = (f: (r: ScenarioResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const total = {
    requests: sum((r) => r.requests),
    answered: sum((r) => r.answered),
    hung: sum((r) => r.hung),
    gateway5xx: sum((r) => r.gateway5xx),
    rowsLost: sum((r) => r.rowsLost),
    rowsDoubled: sum((r) => r.rowsDoubled),
    secretsFound: sum((r) => r.secretsFound),
  };
  const failed = results.filter((r) => !r.ok).length;
  rows.push(
    `| **total** | ${total.requests} | ${total.answered} | ${total.hung} | ${total.gateway5xx} | ${total.rowsLost} | ${total.rowsDoubled} | ${total.secretsFound} | ${failed === 0 ? 'ok' : `${failed} FAILED`} |`,
  );
  const figures = results.map((r) => {
    const extra = [
      `${r.cut} cut`,
      `${r.refused} refused`,
      `${r.shuttingDown} shutting_down`,
      ...Object.entries(r.figures).map(([k, v]) => `${k}: ${v}`),
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ];
    const failures = r.failures.length > 0 ? `\n  - FAILED: ${r.failures.join('; ')}` : '';
    return `- **${r.name}**: ${extra.join(', ')}${failures}`;
  });
  return [head, rule, ...rows, '', ...figures].join('\n');
}
