/**
 * One ledger row: what one request (or one batch result line) cost and how the
 * gateway handled it. Metadata only — never prompt or completion content.
 *
 * The row id is the primary key of every store, so writing the same row twice
 * (a retried flush, a re-downloaded batch result) never counts it twice.
 */
import type { Usage, UsageSource } from '../anthropic/usage.ts';
import type { ExchangeRecord } from '../pipeline/record.ts';

export interface LedgerRow {
  /** Gantry request id (`gtw_…`), or `batch:<batch id>:<custom_id>` for a batch result line. */
  id: string;
  /** Wall-clock time the request arrived, ms since epoch. */
  ts: number;
  /** Upstream `request-id`. */
  upstreamRequestId: string | null;
  /** Route kind (`messages`, `count_tokens`, `batches.result`, ...). */
  route: string;
  client: string | null;
  environment: string | null;
  customer: string | null;
  /** The model that ran: the one the upstream answered with, else the one sent (after routing and fallbacks). */
  model: string | null;
  /** The model the client asked for, when the gateway changed it. */
  requestedModel: string | null;
  stream: boolean;
  status: number | null;
  outcome: string | null;
  errorType: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  cacheReadTokens: number;
  /** Integer micro-dollars. */
  costMicros: number;
  /** False when the model or one of its prices is unknown (cost is then a lower bound). */
  priced: boolean;
  /** Priced at the Message Batches discount. */
  batch: boolean;
  /** ms from arrival until the response was complete. */
  latencyMs: number | null;
  /** Time to first token of a stream, ms from arrival (`timeToFirstToken`); null for non-streaming requests. */
  ttftMs: number | null;
  attempts: number;
  /** `ex.decisions` as JSON (`[]` when none). */
  decisions: string;

  // Columns added after the first release (src/ledger/migrate.ts adds them to existing tables);
  // optional here because rows read from an older table, or built by older code, lack them.

  /** `reported` by the API, or `estimated` from a stream without its final usage; null: no usage. */
  usageSource?: UsageSource | null;
  /** Claude Code's `x-claude-code-session-id` header (one Claude Code session). */
  sessionId?: string | null;
  /** Claude Code's `x-claude-code-agent-id` header (the main agent or a subagent). */
  agentId?: string | null;
}

/** Columns added after the first release, in the order they were added (src/ledger/migrate.ts). */
export const ADDED_COLUMNS: ReadonlyArray<
  readonly [keyof LedgerRow, string, string, 'text' | 'int' | 'real' | 'bool']
> = [
  ['usageSource', 'usage_source', 'TEXT', 'text'],
  ['sessionId', 'session_id', 'TEXT', 'text'],
  ['agentId', 'agent_id', 'TEXT', 'text'],
];

/** Column names in store order, with their SQL types (SQLite / PostgreSQL); added columns last. */
export const COLUMNS: ReadonlyArray<
  readonly [keyof LedgerRow, string, string, 'text' | 'int' | 'real' | 'bool']
> = [
  ['id', 'id', 'TEXT PRIMARY KEY', 'text'],
  ['ts', 'ts', 'BIGINT NOT NULL', 'int'],
  ['upstreamRequestId', 'upstream_request_id', 'TEXT', 'text'],
  ['route', 'route', 'TEXT NOT NULL', 'text'],
  ['client', 'client', 'TEXT', 'text'],
  ['environment', 'environment', 'TEXT', 'text'],
  ['customer', 'customer', 'TEXT', 'text'],
  ['model', 'model', 'TEXT', 'text'],
  ['requestedModel', 'requested_model', 'TEXT', 'text'],
  ['stream', 'stream', 'BOOLEAN NOT NULL', 'bool'],
  ['status', 'status', 'INTEGER', 'int'],
  ['outcome', 'outcome', 'TEXT', 'text'],
  ['errorType', 'error_type', 'TEXT', 'text'],
  ['inputTokens', 'input_tokens', 'BIGINT NOT NULL', 'int'],
  ['outputTokens', 'output_tokens', 'BIGINT NOT NULL', 'int'],
  ['cacheWrite5mTokens', 'cache_write_5m_tokens', 'BIGINT NOT NULL', 'int'],
  ['cacheWrite1hTokens', 'cache_write_1h_tokens', 'BIGINT NOT NULL', 'int'],
  ['cacheReadTokens', 'cache_read_tokens', 'BIGINT NOT NULL', 'int'],
  ['costMicros', 'cost_micros', 'BIGINT NOT NULL', 'int'],
  ['priced', 'priced', 'BOOLEAN NOT NULL', 'bool'],
  ['batch', 'batch', 'BOOLEAN NOT NULL', 'bool'],
  ['latencyMs', 'latency_ms', 'DOUBLE PRECISION', 'real'],
  ['ttftMs', 'ttft_ms', 'DOUBLE PRECISION', 'real'],
  ['attempts', 'attempts', 'INTEGER NOT NULL', 'int'],
  ['decisions', 'decisions', 'TEXT NOT NULL', 'text'],
  ...ADDED_COLUMNS,
];

const ms = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v * 1000) / 1000);

/** The row of a finished exchange, from its record (priced by `recordOf`). */
export function ledgerRowOf(r: ExchangeRecord): LedgerRow {
  return {
    id: r.id,
    ts: r.receivedAt,
    upstreamRequestId: r.upstream.requestId ?? null,
    route: r.route,
    client: r.client?.name ?? null,
    environment: r.client?.environment ?? null,
    customer: r.customer ?? null,
    model: r.answeredModel ?? r.model ?? null,
    requestedModel: r.requestedModel ?? null,
    stream: r.stream,
    status: r.status ?? null,
    outcome: r.outcome,
    errorType: r.errorType ?? null,
    ...usageColumns(r.usage),
    costMicros: r.cost?.micros ?? 0,
    priced: r.cost?.priced ?? true,
    batch: false,
    latencyMs: ms(r.timings.finished),
    ttftMs: ms(r.ttftMs),
    attempts: r.upstream.attempts,
    decisions: JSON.stringify(r.decisions),
    sessionId: r.attribution?.sessionId ?? null,
    agentId: r.attribution?.agentId ?? null,
  };
}

/**
 * Whether a request failed, from the client's point of view: an error status, or a
 * stream that broke. A success after retried attempts did not (its `attempts` says
 * what happened), nor did a stream the client closed itself.
 */
export function failed(status: number | null, outcome: string | null | undefined): boolean {
  if (status === null || status >= 400) return true;
  return outcome === 'gantry_error' || outcome === 'stream_error' || outcome === 'upstream_cut';
}

/** The usage columns of a row, with where the output count comes from (null: no usage). */
export function usageColumns(
  u: Usage | undefined,
): Pick<
  LedgerRow,
  | 'inputTokens'
  | 'outputTokens'
  | 'cacheWrite5mTokens'
  | 'cacheWrite1hTokens'
  | 'cacheReadTokens'
  | 'usageSource'
> {
  return {
    inputTokens: u?.inputTokens ?? 0,
    outputTokens: u?.outputTokens ?? 0,
    cacheWrite5mTokens: u?.cacheCreation5mInputTokens ?? 0,
    cacheWrite1hTokens: u?.cacheCreation1hInputTokens ?? 0,
    cacheReadTokens: u?.cacheReadInputTokens ?? 0,
    usageSource: u === undefined ? null : (u.source ?? 'reported'),
  };
}

const ADDED = new Set(ADDED_COLUMNS.map((c) => c[1]));

/**
 * A row from a store's raw record (column names; numbers may come back as strings or
 * bigints). Added columns that hold null are left out (see `ADDED_COLUMNS`).
 */
export function rowFromRecord(rec: Record<string, unknown>): LedgerRow {
  const out: Record<string, unknown> = {};
  for (const [key, column, , kind] of COLUMNS) {
    const v = rec[column];
    // An added column without a value (an older row or table) is left out: it is optional.
    if ((v === null || v === undefined) && ADDED.has(column)) continue;
    if (v === null || v === undefined) out[key] = null;
    else if (kind === 'int' || kind === 'real') out[key] = Number(v);
    else if (kind === 'bool') out[key] = v === true || v === 1 || v === 1n || v === 't';
    else out[key] = String(v);
  }
  return out as unknown as LedgerRow;
}
