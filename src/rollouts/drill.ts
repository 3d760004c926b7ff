/**
 * The rollback drill (`gantry drill rollback`): a game day that proves a bad
 * candidate is rolled back by the gateway on its own, and measures it. The
 * report is INFRA-2's evidence ("rollback procedure … tested"); `gantry
 * audit` reads it (src/audit/drill-evidence.ts).
 *
 * Offline (the default): a simulator and a gateway in this process, with one
 * rollout (`drill`: baseline and candidate models of the catalog, steps 10 →
 * 50 → 100 %). Traffic is driven as 400 customers; once the rollout has
 * been promoted, the simulator degrades the candidate's model only (the
 * scenario: raised 5xx, slow first byte, a 429 burst), or the candidate arm
 * truncates every answer from the start (`max_tokens: 4`). The drill then
 * waits for the rollback, sends more traffic and checks the baseline served
 * all of it.
 *
 * Staging: the same against a deployed gateway whose config has a rollout
 * with a degraded candidate (docs/rollouts.md), with a real key and at most
 * `maxRequests` small requests (16 output tokens each); a rollout not rolled
 * back when the budget is spent is aborted and the drill fails.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { resolveModel } from '../anthropic/models.ts';
import { RolloutAdmin, type RolloutView, type Sent, TrafficDriver } from './client.ts';

const DRILL_KIND = 'gantry.drill.rollback';
export const SCENARIOS = ['5xx', 'slow', '429', 'truncation'] as const;
export type Scenario = (typeof SCENARIOS)[number];

const BASELINE_MODEL = 'claude-haiku-4-5';
const CANDIDATE_MODEL = 'claude-haiku-5-5';
const ROLLOUT = 'drill';

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  kind: typeof DRILL_KIND;
  version: 1;
  mode: 'offline' | 'staging';
  scenario: Scenario | 'configured';
  passed: boolean;
  started_at: string;
  finished_at: string;
  target: string;
  rollout: {
    id: string;
    baseline_model: string | null;
    candidate_model: string | null;
    steps: number[];
    window_ms: unknown;
    evaluate_every_ms: unknown;
    min_samples: unknown;
  };
  fault: Record<string, unknown>;
  /** Promotions before the candidate was degraded (0 for truncation and staging: degraded from the start). */
  promotions_before_breach: number;
  breach_at: string;
  rolled_back_at: string | null;
  /** From the breach to the rollback decision. */
  time_to_detect_ms: number | null;
  /** From the breach until the last request the candidate served had started. */
  time_to_rollback_ms: number | null;
  candidate_requests_after_breach: number;
  candidate_errors_after_breach: number;
  requests_total: number;
  after_rollback: { requests: number; baseline: number; candidate: number; errors: number };
  decision: Record<string, unknown> | null;
  /** Rollout decisions in the alert history (sent to the configured channels). */
  alert_events: number | null;
  checks: DrillCheck[];
}

export interface DrillOptions {
  scenario?: Scenario;
  /** Staging: the gateway's URL (absent: offline). */
  gateway?: string;
  /** Staging: the rollout to drill (default `drill`). */
  rollout?: string;
  /** Staging: the client's virtual key and the admin key. */
  clientKey?: string;
  adminKey?: string;
  /** Staging: the most requests to send in all (default 60). */
  maxRequests?: number;
  /** Longest the drill waits for the rollback (default 30 s offline, 120 s staging). */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = (ms: number) => new Date(ms).toISOString();

/** Polls the rollout until `done` says so or `deadline`; returns the last view. */
async function waitFor(
  admin: RolloutAdmin,
  id: string,
  done: (r: RolloutView) => boolean,
  deadline: number,
  stopEarly: () => boolean = () => false,
): Promise<RolloutView> {
  for (;;) {
    const r = await admin.get(id);
    if (done(r) || Date.now() >= deadline || stopEarly()) return r;
    await sleep(100);
  }
}

/** Runs the drill and returns its report (never throws for a failed drill: `passed` says). */
export async function runDrill(o: DrillOptions = {}): Promise<DrillReport> {
  return o.gateway ? stagingDrill(o) : offlineDrill(o.scenario ?? '5xx', o.timeoutMs ?? 30_000);
}

async function offlineDrill(scenario: Scenario, timeoutMs: number): Promise<DrillReport> {
  const [{ startSimulator }, { startGateway }, { parseConfig }, { hashKey }] = await Promise.all([
    import('../simulator/index.ts'),
    import('../gateway/server.ts'),
    import('../config/load.ts'),
    import('../config/keys.ts'),
  ]);
  const clientKey = `gk_drill${randomBytes(16).toString('hex')}`;
  const adminKey = `gk_drilladmin${randomBytes(16).toString('hex')}`;
  const upstreamEnv = 'GANTRY_DRILL_UPSTREAM_KEY';
  process.env[upstreamEnv] = `sk-ant-api03-drill-${randomBytes(24).toString('hex')}`;
  const guards = scenario === 'slow' ? '    guards: { latency_p99: { max: 1000 } }\n' : '';
  const candidate =
    scenario === 'truncation'
      ? `{ model: ${CANDIDATE_MODEL}, max_tokens: 4 }`
      : `{ model: ${CANDIDATE_MODEL} }`;
  const config = parseConfig(
    [
      'server: { port: 0 }',
      'environments:',
      `  default: { upstream_key: env:${upstreamEnv} }`,
      'clients:',
      `  - { name: drill, key_sha256: ${hashKey(clientKey)} }`,
      `admin: { key_sha256: ${hashKey(adminKey)} }`,
      'storage: { state: memory, ledger: off }',
      'logging: { level: info }',
      'alerts: { evaluate_every_ms: 60000 }',
      'rollouts:',
      `  - id: ${ROLLOUT}`,
      '    clients: [drill]',
      `    baseline: { model: ${BASELINE_MODEL} }`,
      `    candidate: ${candidate}`,
      '    steps: [10, 50, 100]',
      '    hold_ms: 1000',
      '    min_requests: 20',
      '    window_ms: 3000',
      '    evaluate_every_ms: 200',
      '    min_samples: 20',
      guards,
    ].join('\n'),
    { source: 'gantry drill rollback', baseDir: process.cwd() },
  );
  const sim = await startSimulator({ profile: 'default', seed: 7 });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const gateway = await startGateway({
    config: { ...config, upstream: { ...config.upstream, baseUrl: sim.url } },
    logDestination: sink,
  });
  try {
    return await drive({
      mode: 'offline',
      scenario,
      target: `in-process gateway and simulator (${gateway.url}, ${sim.url})`,
      url: gateway.url,
      admin: new RolloutAdmin(gateway.url, adminKey),
      clientKey,
      rollout: ROLLOUT,
      timeoutMs,
      concurrency: 12,
      customers: 400,
      // The fault: injected once the rollout has been promoted (truncation: in the arm from the start).
      degrade:
        scenario === 'truncation'
          ? undefined
          : () => {
              const spec =
                scenario === '5xx'
                  ? { kind: 'status' as const, status: 500, model: CANDIDATE_MODEL, path: '/v1/messages' }
                  : scenario === '429'
                    ? { kind: 'status' as const, status: 429, model: CANDIDATE_MODEL, path: '/v1/messages' }
                    : { kind: 'slow' as const, delayMs: 1_500, model: CANDIDATE_MODEL, path: '/v1/messages' };
              sim.state.addFault(spec);
              return { ...spec, injected_by: 'simulator fault on the candidate model' };
            },
      fault:
        scenario === 'truncation'
          ? { kind: 'truncation', candidate_max_tokens: 4, injected_by: 'the candidate arm (max_tokens: 4)' }
          : {},
    });
  } finally {
    await gateway.close();
    await sim.close();
  }
}

async function stagingDrill(o: DrillOptions): Promise<DrillReport> {
  const admin = new RolloutAdmin(o.gateway!, o.adminKey ?? '');
  return drive({
    mode: 'staging',
    scenario: 'configured',
    target: o.gateway!,
    url: o.gateway!,
    admin,
    clientKey: o.clientKey ?? '',
    rollout: o.rollout ?? ROLLOUT,
    timeoutMs: o.timeoutMs ?? 120_000,
    concurrency: 2,
    customers: 50,
    maxRequests: o.maxRequests ?? 60,
    fault: { kind: 'configured', injected_by: 'the candidate arm as configured on the gateway' },
  });
}

interface DriveOptions {
  mode: 'offline' | 'staging';
  scenario: Scenario | 'configured';
  target: string;
  url: string;
  admin: RolloutAdmin;
  clientKey: string;
  rollout: string;
  timeoutMs: number;
  concurrency: number;
  customers: number;
  maxRequests?: number;
  degrade?: () => Record<string, unknown>;
  fault: Record<string, unknown>;
}

async function drive(o: DriveOptions): Promise<DrillReport> {
  const startedAt = Date.now();
  const deadline = startedAt + o.timeoutMs;
  let view = await o.admin.get(o.rollout);
  const baselineModel = view.arms.find((a) => a.name === 'baseline')?.model ?? null;
  const candidateModel = view.arms.find((a) => a.name === 'candidate')?.model ?? null;
  if (!baselineModel)
    throw new Error(
      `rollout "${o.rollout}" names no baseline model: the drill sends requests for the baseline model`,
    );
  if (view.status === 'running' || view.status === 'paused') await o.admin.act(o.rollout, 'abort');
  await o.admin.act(o.rollout, 'start');
  const driver = new TrafficDriver({
    url: o.url,
    key: o.clientKey,
    model: baselineModel,
    concurrency: o.concurrency,
    customers: o.customers,
    maxRequests: o.maxRequests === undefined ? undefined : Math.max(1, o.maxRequests - 10),
  }).start();
  let fault = o.fault;
  let breachAt = Date.now();
  let promotions = 0;
  try {
    if (o.degrade) {
      // Healthy until the first promotion: the drill shows promotion works before it breaks the candidate.
      view = await waitFor(o.admin, o.rollout, (r) => r.step >= 1 || r.status !== 'running', deadline);
      promotions = view.decisions.filter((d) => d.action === 'promoted').length;
      breachAt = Date.now();
      fault = { ...fault, ...o.degrade(), injected_at: iso(breachAt) };
    } else fault = { ...fault, injected_at: iso(breachAt) };
    view = await waitFor(
      o.admin,
      o.rollout,
      (r) => r.status !== 'running',
      deadline,
      () => driver.exhausted,
    );
  } finally {
    await driver.stop();
  }
  if (view.status === 'running') {
    // The request budget is spent: the window holds the traffic; a few more rounds decide.
    const grace = Date.now() + 3 * Number(view.evaluate_every_ms) + 2_000;
    view = await waitFor(o.admin, o.rollout, (r) => r.status !== 'running', Math.min(deadline, grace));
  }
  const rollback = view.decisions.find((d) => d.action === 'rolled_back' && Date.parse(d.at) >= startedAt);
  const rolledBackAt = rollback ? Date.parse(rollback.at) : undefined;
  if (!rollback && (view.status === 'running' || view.status === 'paused'))
    await o.admin.act(o.rollout, 'abort');

  const afterBreach = driver.sent.filter((s) => s.sentAt >= breachAt);
  const candidateAfter = afterBreach.filter((s) => s.arm === 'candidate');
  const lastCandidate = Math.max(...candidateAfter.map((s) => s.sentAt), breachAt);
  const budgetLeft = o.maxRequests === undefined ? 100 : Math.max(0, o.maxRequests - driver.issued);
  const after: Sent[] = rollback ? await driver.send(Math.min(100, budgetLeft)) : [];
  const afterView = { requests: after.length, baseline: 0, candidate: 0, errors: 0 };
  const canonical = (m: string) => resolveModel(m)?.id ?? m;
  const candidateByModel =
    candidateModel !== null && canonical(candidateModel) !== canonical(baselineModel)
      ? canonical(candidateModel)
      : undefined;
  for (const s of after) {
    if (s.arm === 'candidate' || (candidateByModel && s.model && canonical(s.model) === candidateByModel))
      afterView.candidate += 1;
    else afterView.baseline += 1;
    if (s.status !== 200) afterView.errors += 1;
  }
  const events = await o.admin.alerts();
  const alertEvents = events
    ? events.filter(
        (e) =>
          e.kind === 'event' &&
          e.scope_value === o.rollout &&
          e.rule === 'rollout.rolled_back' &&
          Date.parse(e.at) >= startedAt,
      ).length
    : null;
  const windowMs = Number(view.window_ms);
  const detect = rolledBackAt === undefined ? null : rolledBackAt - breachAt;
  const checks: DrillCheck[] = [
    ...(o.degrade
      ? [
          {
            name: 'promoted while healthy',
            ok: promotions >= 1,
            detail: `${promotions} promotion(s) before the fault`,
          },
        ]
      : []),
    {
      name: 'rolled back by the guards',
      ok: rollback !== undefined && rollback.by === 'guard',
      detail: rollback ? rollback.reason : `no rollback; the rollout is ${view.status}`,
    },
    {
      name: 'within one evaluation window',
      ok: detect !== null && detect <= windowMs + Number(view.evaluate_every_ms),
      detail: detect === null ? 'no rollback' : `${detect} ms from the breach (window ${windowMs} ms)`,
    },
    {
      name: 'the baseline served everything afterwards',
      ok:
        rollback !== undefined &&
        afterView.requests > 0 &&
        afterView.candidate === 0 &&
        afterView.errors === 0,
      detail: `${afterView.baseline} of ${afterView.requests} requests on the baseline, ${afterView.errors} errors`,
    },
    ...(alertEvents === null
      ? []
      : [
          {
            name: 'the decision is an alert event',
            ok: alertEvents > 0,
            detail: `${alertEvents} rollback event(s) in the alert history`,
          },
        ]),
  ];
  return {
    kind: DRILL_KIND,
    version: 1,
    mode: o.mode,
    scenario: o.scenario,
    passed: checks.every((c) => c.ok),
    started_at: iso(startedAt),
    finished_at: iso(Date.now()),
    target: o.target,
    rollout: {
      id: o.rollout,
      baseline_model: baselineModel,
      candidate_model: candidateModel,
      steps: view.steps.map((s) => s.percent),
      window_ms: view.window_ms,
      evaluate_every_ms: view.evaluate_every_ms,
      min_samples: view.min_samples,
    },
    fault,
    promotions_before_breach: promotions,
    breach_at: iso(breachAt),
    rolled_back_at: rolledBackAt === undefined ? null : iso(rolledBackAt),
    time_to_detect_ms: detect,
    time_to_rollback_ms: rollback ? lastCandidate - breachAt : null,
    candidate_requests_after_breach: candidateAfter.length,
    candidate_errors_after_breach: candidateAfter.filter(
      (s) => s.status !== 200 || s.stopReason === 'max_tokens',
    ).length,
    requests_total: driver.sent.length,
    after_rollback: afterView,
    decision: rollback ?? null,
    alert_events: alertEvents,
    checks,
  };
}
