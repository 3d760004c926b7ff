/**
 * Ledger reports: tokens, cost, cache hit rate and savings grouped by client,
 * customer, model, day or rollout arm (with the arms' latency, `armLatency`); and recommendations (a `max_tokens` per client from
 * the observed p99 of output tokens; a cheaper model where requests are small).
 * Pure functions over rows, so `gantry report`, the console's SQL reads
 * (src/ledger/query.ts, held equal by a test) and tests share them.
 *
 * How rows are read:
 * - One model is one line: rows group by the catalog's canonical id
 *   (`claude-haiku-4-5` and `claude-haiku-4-5-20251001` are one model); the
 *   names clients asked for are kept in `requested`.
 * - A request failed when its status is an error or its stream broke
 *   (`failed` in row.ts); a stream the client closed is not an error and is
 *   counted in `clientClosed`; a success after retried attempts is a success.
 * - Rows whose output tokens were estimated (`usage_source: estimated`) are
 *   counted in `estimated`.
 */
import { costOf } from '../anthropic/cost.ts';
import { listModels, resolveModel } from '../anthropic/models.ts';
import { emptyUsage, type Usage } from '../anthropic/usage.ts';
import { failed, type LedgerRow } from './row.ts';

export type GroupBy = 'client' | 'customer' | 'model' | 'day' | 'arm';

export interface ReportLine {
  key: string;
  requests: number;
  /** Requests that failed (error status or a broken stream); never a stream the client closed. */
  errors: number;
  /** Streams the client closed before their end. */
  clientClosed: number;
  /** Rows whose output tokens were estimated from what was relayed (no final usage). */
  estimated: number;
  /** The model names clients asked for, sorted (`--by model`; aliases and dated ids of the one model). */
  requested: string[];
  inputTokens: number;
  outputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  cacheReadTokens: number;
  costMicros: number;
  /** Cache reads over all prompt tokens (input + writes + reads); 0 when no prompt tokens. */
  cacheHitRate: number;
  /** What the cache reads would have cost as plain input, minus what they cost. */
  savingsMicros: number;
  /** Rows whose cost is a lower bound (model or price unknown). */
  unpriced: number;
}

function usageOf(r: LedgerRow): Usage {
  return {
    ...emptyUsage(),
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    cacheCreationInputTokens: r.cacheWrite5mTokens + r.cacheWrite1hTokens,
    cacheCreation5mInputTokens: r.cacheWrite5mTokens,
    cacheCreation1hInputTokens: r.cacheWrite1hTokens,
    cacheReadInputTokens: r.cacheReadTokens,
  };
}

/** Savings of a row's cache reads: the reads priced as input minus priced as reads. */
function cacheSavingsMicros(r: Pick<LedgerRow, 'cacheReadTokens' | 'model' | 'batch'>): number {
  if (r.cacheReadTokens === 0 || !r.model) return 0;
  const asInput = costOf({ ...emptyUsage(), inputTokens: r.cacheReadTokens }, r.model, { batch: r.batch });
  const asRead = costOf({ ...emptyUsage(), cacheReadInputTokens: r.cacheReadTokens }, r.model, {
    batch: r.batch,
  });
  return Math.max(0, asInput.micros - asRead.micros);
}

/** The catalog's canonical id of a model name (an alias or a dated id), else the name itself. */
export function canonicalModel(name: string): string {
  return resolveModel(name)?.id ?? name;
}

function keyOf(r: LedgerRow, by: GroupBy): string {
  switch (by) {
    case 'client':
      return r.client ?? '(none)';
    case 'customer':
      return r.customer ?? '(none)';
    case 'model':
      return r.model ? canonicalModel(r.model) : '(none)';
    case 'day':
      return new Date(r.ts).toISOString().slice(0, 10);
    case 'arm':
      return armKey(r);
  }
}

/** `<rollout>/<arm>` of a row served by a rollout arm, else `(none)`. */
function armKey(r: Pick<LedgerRow, 'rollout' | 'arm'>): string {
  return r.rollout && r.arm ? `${r.rollout}/${r.arm}` : '(none)';
}

/** Latency of one report line (ms, nearest rank), for comparing rollout arms. */
export interface LineLatency {
  p50: number;
  p95: number;
  p99: number;
  /** Time to first token of its streams; null when it has none. */
  ttftP50: number | null;
  ttftP99: number | null;
}

/** Per `--by arm` key: the latency of the arm's requests (the rows `buildReport` counts). */
export function armLatency(rows: readonly LedgerRow[]): Map<string, LineLatency> {
  const lat = new Map<string, { latency: number[]; ttft: number[] }>();
  for (const r of rows) {
    if (!countsInReport(r)) continue;
    const k = armKey(r);
    const l = lat.get(k) ?? { latency: [], ttft: [] };
    if (r.latencyMs !== null) l.latency.push(r.latencyMs);
    if (r.ttftMs !== null) l.ttft.push(r.ttftMs);
    lat.set(k, l);
  }
  const out = new Map<string, LineLatency>();
  for (const [k, l] of lat) {
    out.set(k, {
      p50: percentile(l.latency, 50),
      p95: percentile(l.latency, 95),
      p99: percentile(l.latency, 99),
      ttftP50: l.ttft.length === 0 ? null : percentile(l.ttft, 50),
      ttftP99: l.ttft.length === 0 ? null : percentile(l.ttft, 99),
    });
  }
  return out;
}

/**
 * Whether a row is one request of a report. A batch results fetch carries no
 * usage itself (its lines do): it is left out of request counts. (The ledger's
 * SQL reads, src/ledger/query.ts, say the same in SQL; a test holds them equal.)
 */
function countsInReport(r: Pick<LedgerRow, 'route'>): boolean {
  return r.route === 'messages' || r.route === 'batches.result';
}

/** Whether a row counts as an error in reports: failed, and not closed by its client. */
export function isErrorRow(r: Pick<LedgerRow, 'status' | 'outcome'>): boolean {
  return r.outcome !== 'client_closed' && failed(r.status, r.outcome);
}

/** A report line with nothing counted yet. */
export function emptyLine(key: string): ReportLine {
  return {
    key,
    requests: 0,
    errors: 0,
    clientClosed: 0,
    estimated: 0,
    requested: [],
    inputTokens: 0,
    outputTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 0,
    costMicros: 0,
    cacheHitRate: 0,
    savingsMicros: 0,
    unpriced: 0,
  };
}

/** Sets each line's cache hit rate and sorts the lines (by cost, descending; days in date order). */
export function finishReport(lines: ReportLine[], total: ReportLine, by: GroupBy): void {
  for (const line of lines) line.requested.sort();
  for (const line of [...lines, total]) {
    const prompt =
      line.inputTokens + line.cacheWrite5mTokens + line.cacheWrite1hTokens + line.cacheReadTokens;
    line.cacheHitRate = prompt === 0 ? 0 : line.cacheReadTokens / prompt;
  }
  if (by === 'day') lines.sort((a, b) => (a.key < b.key ? -1 : 1));
  else lines.sort((a, b) => b.costMicros - a.costMicros || (a.key < b.key ? -1 : 1));
}

/** One line per group (sorted by cost, descending; days in date order), plus a total line. */
export function buildReport(
  rows: readonly LedgerRow[],
  by: GroupBy,
): { lines: ReportLine[]; total: ReportLine } {
  const groups = new Map<string, ReportLine>();
  const total = emptyLine('total');
  for (const r of rows) {
    if (!countsInReport(r)) continue;
    const k = keyOf(r, by);
    let g = groups.get(k);
    if (!g) {
      g = emptyLine(k);
      groups.set(k, g);
    }
    const savings = cacheSavingsMicros(r);
    const asked = r.requestedModel ?? r.model;
    if (by === 'model' && asked && !g.requested.includes(asked)) g.requested.push(asked);
    for (const line of [g, total]) {
      line.requests += 1;
      if (isErrorRow(r)) line.errors += 1;
      if (r.outcome === 'client_closed') line.clientClosed += 1;
      if (r.usageSource === 'estimated') line.estimated += 1;
      line.inputTokens += r.inputTokens;
      line.outputTokens += r.outputTokens;
      line.cacheWrite5mTokens += r.cacheWrite5mTokens;
      line.cacheWrite1hTokens += r.cacheWrite1hTokens;
      line.cacheReadTokens += r.cacheReadTokens;
      line.costMicros += r.costMicros;
      line.savingsMicros += savings;
      if (!r.priced) line.unpriced += 1;
    }
  }
  const lines = [...groups.values()];
  finishReport(lines, total, by);
  return { lines, total };
}

/** The p-th percentile (nearest rank) of `values`; 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export interface Recommendation {
  client: string;
  kind: 'max_tokens' | 'cheaper_model';
  /** e.g. `max_tokens: 512` or `claude-haiku-5-5 for claude-opus-5`. */
  suggestion: string;
  reason: string;
  /** Estimated saving over the report period (cheaper model only). */
  savingsMicros?: number;
}

/** Requests whose prompt and output stay under these are "small". */
const SMALL_PROMPT_TOKENS = 2_000;
const SMALL_OUTPUT_TOKENS = 500;

/** The newest active Haiku with prices: the default "cheaper model". */
function cheapestModel(): string | undefined {
  return listModels({ lifecycle: ['active'] }).find((m) => m.line === 'haiku' && m.prices.input !== null)?.id;
}

/**
 * Per client: a `max_tokens` at the observed p99 of output tokens (rounded up
 * to a multiple of 64, with 20 % headroom); and for each expensive model whose
 * requests are small at p90 (prompt ≤ 2,000, output ≤ 500 tokens), the cheaper
 * model with the estimated saving (the same usage repriced).
 */
export function recommend(rows: readonly LedgerRow[], minRequests = 20): Recommendation[] {
  const out: Recommendation[] = [];
  const byClient = new Map<string, LedgerRow[]>();
  for (const r of rows) {
    if (r.route !== 'messages' || r.status !== 200 || r.outcome !== 'ok') continue;
    const k = r.client ?? '(none)';
    const list = byClient.get(k) ?? [];
    list.push(r);
    byClient.set(k, list);
  }
  const cheap = cheapestModel();
  for (const [client, list] of [...byClient].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (list.length < minRequests) continue;
    const p99 = percentile(
      list.map((r) => r.outputTokens),
      99,
    );
    const suggested = Math.max(64, Math.ceil((p99 * 1.2) / 64) * 64);
    out.push({
      client,
      kind: 'max_tokens',
      suggestion: `max_tokens: ${suggested}`,
      reason: `p99 of output tokens is ${p99} over ${list.length} requests`,
    });
    if (!cheap) continue;
    const byModel = new Map<string, LedgerRow[]>();
    for (const r of list) {
      if (!r.model) continue;
      const m = canonicalModel(r.model);
      byModel.set(m, [...(byModel.get(m) ?? []), r]);
    }
    for (const [model, mrows] of byModel) {
      const entry = resolveModel(model);
      if (!entry || entry.id === cheap || entry.line === 'haiku' || mrows.length < minRequests) continue;
      const prompt = percentile(
        mrows.map((r) => r.inputTokens + r.cacheWrite5mTokens + r.cacheWrite1hTokens + r.cacheReadTokens),
        90,
      );
      const output = percentile(
        mrows.map((r) => r.outputTokens),
        90,
      );
      if (prompt > SMALL_PROMPT_TOKENS || output > SMALL_OUTPUT_TOKENS) continue;
      let now = 0;
      let then = 0;
      for (const r of mrows) {
        now += r.costMicros;
        then += costOf(usageOf(r), cheap, { batch: r.batch }).micros;
      }
      if (then >= now) continue;
      out.push({
        client,
        kind: 'cheaper_model',
        suggestion: `${cheap} for ${model}`,
        reason: `p90 prompt ${prompt} tokens, p90 output ${output} tokens over ${mrows.length} requests`,
        savingsMicros: now - then,
      });
    }
  }
  return out;
}

/** `24h`, `7d`, `30m` (before now) or an ISO date/time → ms since epoch. */
export function parseSince(value: string, now = Date.now()): number {
  const rel = /^(\d+)\s*([mhdw])$/.exec(value.trim());
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2] as 'm' | 'h' | 'd' | 'w'];
    return now - Number(rel[1]) * unit;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new Error(`--since: expected 24h, 7d, 30m or a date like 2026-11-01, got "${value}"`);
  return t;
}

/** One configured budget and what the ledger says was spent in its current period. */
export interface BudgetStatus {
  /** `client:<name>`, `environment:<name>` or `overall`. */
  scope: string;
  period: 'daily' | 'monthly';
  limitMicros: number;
  spentMicros: number;
  /** Spent as a percentage of the limit, one decimal. */
  percent: number;
  action: string;
  /** When the period ends (00:00 UTC next day, or the 1st of next month). */
  resetsAt: string;
}

interface BudgetScope {
  scope: string;
  budget?: { dailyMicros?: number; monthlyMicros?: number; action: string };
  /** The rows of the scope: every row, or those of one client or one environment. */
  where: { client?: string; environment?: string };
}

/** The budget config `budgetPlan` reads (a `ResolvedConfig` is one). */
export interface BudgetConfig {
  clients: ReadonlyArray<{ name: string; limits: { budget?: BudgetScope['budget'] } }>;
  limits: {
    overall?: { budget?: BudgetScope['budget'] };
    environments: Readonly<Record<string, { budget?: BudgetScope['budget'] }>>;
  };
}

/** One configured budget in its current UTC period, before looking at spend. */
export interface BudgetPeriod {
  scope: string;
  period: 'daily' | 'monthly';
  limitMicros: number;
  action: string;
  /** The period: `start <= ts < end`, ms since epoch (UTC day or month). */
  start: number;
  end: number;
  /** Which rows count: all of them, or one client's, or one environment's. */
  where: { client?: string; environment?: string };
}

/** Every budget of the config with its current UTC period (clients, then environments, then overall). */
export function budgetPlan(config: BudgetConfig, now = Date.now()): BudgetPeriod[] {
  const d = new Date(now);
  const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const dayEnd = dayStart + 86_400_000;
  const monthEnd = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  const scopes: BudgetScope[] = [
    ...config.clients.map((c) => ({
      scope: `client:${c.name}`,
      budget: c.limits.budget,
      where: { client: c.name },
    })),
    ...Object.entries(config.limits.environments).map(([name, l]) => ({
      scope: `environment:${name}`,
      budget: l.budget,
      where: { environment: name },
    })),
    { scope: 'overall', budget: config.limits.overall?.budget, where: {} },
  ];
  const out: BudgetPeriod[] = [];
  for (const { scope, budget, where } of scopes) {
    if (!budget) continue;
    const periods = [
      ['daily', budget.dailyMicros, dayStart, dayEnd],
      ['monthly', budget.monthlyMicros, monthStart, monthEnd],
    ] as const;
    for (const [period, limit, start, end] of periods) {
      if (limit === undefined) continue;
      out.push({ scope, period, limitMicros: limit, action: budget.action, start, end, where });
    }
  }
  return out;
}

/** Whether a row falls in a budget's period and scope. */
function inBudget(b: BudgetPeriod, r: Pick<LedgerRow, 'ts' | 'client' | 'environment'>): boolean {
  if (r.ts < b.start || r.ts >= b.end) return false;
  if (b.where.client !== undefined && r.client !== b.where.client) return false;
  if (b.where.environment !== undefined && r.environment !== b.where.environment) return false;
  return true;
}

/** A budget's status from what was spent in its period. */
export function budgetLine(b: BudgetPeriod, spent: number): BudgetStatus {
  return {
    scope: b.scope,
    period: b.period,
    limitMicros: b.limitMicros,
    spentMicros: spent,
    percent: b.limitMicros > 0 ? Math.round((spent / b.limitMicros) * 1000) / 10 : 100,
    action: b.action,
    resetsAt: new Date(b.end).toISOString(),
  };
}

/**
 * What a budget's period will have spent at its end if spending goes on at
 * the rate so far (spent ÷ elapsed × length), in integer micro-dollars. At
 * least an hour of the period counts as elapsed, so the first minutes of a
 * day do not project a burst to the whole day.
 */
export function projectedMicros(b: Pick<BudgetPeriod, 'start' | 'end'>, spent: number, now: number): number {
  const elapsed = Math.max(3_600_000, Math.min(now, b.end) - b.start);
  return Math.round((spent * (b.end - b.start)) / elapsed);
}

/**
 * Budget status from the ledger: for every budget in the config, the cost of
 * the rows of its scope in the current UTC day or month. This is what was
 * actually spent (the gateway's live counters also hold in-flight
 * reservations); rows still buffered in a gateway's memory are not counted.
 */
export function budgetStatus(
  rows: readonly LedgerRow[],
  config: BudgetConfig,
  now = Date.now(),
): BudgetStatus[] {
  return budgetPlan(config, now).map((b) => {
    let spent = 0;
    for (const r of rows) if (inBudget(b, r)) spent += r.costMicros;
    return budgetLine(b, spent);
  });
}
