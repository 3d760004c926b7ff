/**
 * The console (docs/console.md): a browser view of the gateway at
 * `/console/`, served only when `admin:` is configured (without an admin key
 * there is nothing it could sign in to, and no route of it exists).
 *
 * Registered through the route registry by the metrics stage:
 * - `GET /console` (redirect), `GET /console/` and every file of `assets.ts`,
 *   public (they hold no data: the page asks for the admin key and sends it
 *   in a header from JS to the admin routes below, same origin);
 * - `GET /admin/console`: what is configured, so each page can say what to
 *   configure when it has nothing to show;
 * - `GET /admin/requests`, `/admin/cost`, `/admin/cost/recommendations`: the
 *   ledger, read through `LedgerReader` (its own read connection, aggregation
 *   in SQL, `gantry report`'s rules), paginated and bounded in size.
 *
 * The other pages read routes their capability serves: `/admin/stats`,
 * `/admin/traffic`, `/admin/alerts`, `/admin/limits`, `/admin/upstream-keys`,
 * and `/admin/rollouts` (src/rollouts/admin.ts).
 */
import { GantryError } from '../errors.ts';
import { LedgerReader, LedgerUnavailable, type RequestFilter, type TimeRange } from '../ledger/query.ts';
import { type GroupBy, parseSince, recommend } from '../ledger/report.ts';
import { LEDGER_OFF } from '../ledger/store.ts';
import type { GatewayRouteRequest, StageContext } from '../pipeline/stage.ts';
import { type Asset, loadAssets, SECURITY_HEADERS, serveAsset } from './assets.ts';

const DAY = 86_400_000;
/** Customers listed by name on the Cost page; the rest are one "other customers" line. */
const TOP_CUSTOMERS = 20;
/** How far back an upstream request id (`req_…`) is looked for (the table has no index on it). */
const FIND_WINDOW_MS = 31 * DAY;

export interface ConsoleMount {
  close(): Promise<void>;
}

/** Whether the console is served: an admin key is configured. */
function consoleEnabled(config: StageContext['config']): boolean {
  return Boolean(config.admin.key || config.admin.keySha256);
}

/** Registers the console's files and routes; undefined (nothing registered) without an admin key. */
export function mountConsole(
  ctx: Pick<StageContext, 'config' | 'routes'>,
  options: { uiDir?: string; now?: () => number } = {},
): ConsoleMount | undefined {
  const { config, routes } = ctx;
  if (!consoleEnabled(config)) return undefined;
  const now = options.now ?? Date.now;
  const assets = loadAssets(options.uiDir);
  const index = assets.get('index.html');
  if (!index) throw new Error('console: index.html is missing from the UI folder');

  routes.add({
    method: 'GET',
    path: '/console',
    access: 'public',
    handle: () => ({ status: 308, headers: { ...SECURITY_HEADERS, location: 'console/' }, body: '' }),
  });
  const file = (path: string, a: Asset) =>
    routes.add({ method: 'GET', path, access: 'public', handle: (req) => serveAsset(a, req.headers) });
  file('/console/', index);
  for (const [path, a] of assets) if (path !== 'index.html') file(`/console/${path}`, a);

  let reader: LedgerReader | undefined;
  const ledger = (): LedgerReader => {
    try {
      reader ??= LedgerReader.open(config.storage.ledger);
      return reader;
    } catch (err) {
      throw unavailable(err);
    }
  };
  const read = async <T>(fn: (r: LedgerReader) => Promise<T>): Promise<T> => {
    try {
      return await fn(ledger());
    } catch (err) {
      if (err instanceof RangeError) throw new GantryError('invalid_query', err.message);
      throw unavailable(err);
    }
  };

  routes.add({
    method: 'GET',
    path: '/admin/console',
    access: 'admin',
    handle: () => ({ status: 200, body: describeSetup(config) }),
  });

  routes.add({
    method: 'GET',
    path: '/admin/requests',
    access: 'admin',
    async handle({ query }) {
      const id = query.id?.trim();
      if (id) {
        if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(id))
          throw new GantryError('invalid_query', 'id: expected a request id such as req_… or gtw_….');
        const rows = await read((r) => r.find(id, now() - FIND_WINDOW_MS));
        return { status: 200, body: { ledger: reader?.where, id, rows, next: null } };
      }
      const range = rangeOf(query, now(), DAY);
      const filter: RequestFilter = { ...range };
      for (const [param, field] of [
        ['client', 'client'],
        ['customer', 'customer'],
        ['model', 'model'],
        ['route', 'route'],
        ['status', 'status'],
        ['error_type', 'errorType'],
      ] as const) {
        const v = query[param]?.trim();
        if (v) filter[field] = v;
      }
      const limit = query.limit === undefined ? 50 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        throw new GantryError('invalid_query', 'limit: expected a whole number from 1 to 200.');
      const page = await read((r) => r.requests(filter, { cursor: query.cursor, limit }));
      return { status: 200, body: { ledger: reader?.where, ...isoRange(range), ...page } };
    },
  });

  routes.add({
    method: 'GET',
    path: '/admin/cost',
    access: 'admin',
    async handle({ query }) {
      const at = now();
      const range = rangeOf(query, at, 7 * DAY);
      const [reports, budgets] = await read((r) =>
        Promise.all([
          r.reports(['day', 'client', 'customer', 'model'] as GroupBy[], range),
          r.budgets(config, at),
        ]),
      );
      const customers = reports.customer!.lines;
      const shown = customers.slice(0, TOP_CUSTOMERS);
      const rest = customers.slice(TOP_CUSTOMERS);
      return {
        status: 200,
        body: {
          ledger: reader?.where,
          ...isoRange(range),
          total: reports.day!.total,
          by_day: reports.day!.lines,
          by_client: reports.client!.lines,
          by_customer: shown,
          other_customers:
            rest.length === 0
              ? null
              : {
                  customers: rest.length,
                  requests: sum(rest, 'requests'),
                  costMicros: sum(rest, 'costMicros'),
                  savingsMicros: sum(rest, 'savingsMicros'),
                },
          by_model: reports.model!.lines,
          budgets,
        },
      };
    },
  });

  routes.add({
    method: 'GET',
    path: '/admin/cost/recommendations',
    access: 'admin',
    async handle({ query }) {
      const range = rangeOf(query, now(), 7 * DAY);
      const rows = await read((r) => r.recommendationRows(range));
      return {
        status: 200,
        body: { ...isoRange(range), requests: rows.length, recommendations: recommend(rows) },
      };
    },
  });

  return {
    async close() {
      await reader?.close();
    },
  };
}

function unavailable(err: unknown): GantryError {
  if (err instanceof GantryError) return err;
  const message =
    err instanceof LedgerUnavailable ? err.message : `reading the ledger failed: ${String(err)}`;
  return new GantryError('ledger_unavailable', message, { cause: err });
}

const sum = <K extends 'requests' | 'costMicros' | 'savingsMicros'>(
  lines: ReadonlyArray<Record<K, number>>,
  k: K,
): number => lines.reduce((n, l) => n + l[k], 0);

/** `since` / `until` of a query: `24h`, `7d`, an ISO date or time, or ms since epoch. */
function rangeOf(query: GatewayRouteRequest['query'], now: number, defaultSpan: number): TimeRange {
  const time = (name: 'since' | 'until', value: string | undefined, fallback: number): number => {
    if (value === undefined || value.trim() === '') return fallback;
    if (/^\d{10,}$/.test(value.trim())) return Number(value);
    try {
      return name === 'since' ? parseSince(value, now) : parseUntil(value);
    } catch {
      throw new GantryError(
        'invalid_query',
        `${name}: expected 24h, 7d, 30m, a date like 2026-11-01, an ISO time or ms since epoch, got "${value.slice(0, 40)}".`,
      );
    }
  };
  const until = time('until', query.until, now + 1);
  const since = time('since', query.since, until - defaultSpan);
  if (since >= until) throw new GantryError('invalid_query', 'since: must be before until.');
  return { since, until };
}

function parseUntil(value: string): number {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error('not a time');
  return t;
}

const isoRange = (r: TimeRange) => ({
  since: new Date(r.since).toISOString(),
  until: new Date(r.until).toISOString(),
});

/** `GET /admin/console`: names and switches only — never a key, a secret reference or a URL's password. */
function describeSetup(config: StageContext['config']) {
  const ledger = config.storage.ledger;
  let ledgerProblem: string | null = null;
  if (ledger === LEDGER_OFF) ledgerProblem = 'storage.ledger is off';
  else if (ledger === 'sqlite::memory:')
    ledgerProblem = 'storage.ledger is sqlite::memory: (only the writer can read it)';
  const budgets =
    config.clients.filter((c) => c.limits.budget).length +
    Object.values(config.limits.environments).filter((l) => l.budget).length +
    (config.limits.overall?.budget ? 1 : 0);
  const rateLimited =
    config.clients.some((c) => c.limits.rpm || c.limits.inputTpm || c.limits.outputTpm) ||
    Object.values(config.limits.environments).some((l) => l.rpm || l.inputTpm || l.outputTpm) ||
    Boolean(
      config.limits.overall?.rpm || config.limits.overall?.inputTpm || config.limits.overall?.outputTpm,
    );
  return {
    config_source: config.source,
    local_mode: config.clients.length === 0,
    clients: config.clients.map((c) => ({ name: c.name, environment: c.environment })),
    environments: Object.keys(config.environments),
    ledger: {
      kind: ledger === LEDGER_OFF ? 'off' : ledger.startsWith('sqlite:') ? 'sqlite' : 'postgres',
      problem: ledgerProblem,
    },
    limits: {
      store: config.storage.state === 'memory' ? 'memory' : 'redis',
      rate_limits: rateLimited,
      budgets,
    },
    alerts: {
      enabled: config.alerts.enabled,
      rules: config.alerts.enabled ? config.alerts.rules.length : 0,
      channels: config.alerts.enabled ? config.alerts.channels.length : 0,
    },
    stats: {
      interval_ms: config.metrics.statsIntervalMs,
      span_ms: config.metrics.statsIntervalMs * config.metrics.statsIntervals,
    },
    rollouts: { route: '/admin/rollouts' },
  };
}
