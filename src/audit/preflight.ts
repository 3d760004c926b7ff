/**
 * `gantry preflight <url>`: live go-live probes of a deployment, either a
 * Gantry gateway (default) or the Anthropic API itself. No probe generates
 * tokens: key validity, limits and latency use `count_tokens`; the error
 * envelope probe sends a request the API rejects before generation.
 *
 * Causes are told apart by who answered: an error carrying
 * `error.details.gantry_code` was raised by the gateway (e.g. the client key
 * is unknown); one without it was passed through from the upstream (e.g. the
 * gateway's upstream key was revoked, or the organisation is rate limited).
 */
import { listModels } from '../anthropic/models.ts';
import { VERSION } from './audit.ts';
import { platformFindings } from './preflight-platforms.ts';
import type { AuditReport, CheckResult, Evidence, Finding, Outcome, RuleMeta } from './result.ts';

const PROBES = [
  {
    id: 'PF-REACH',
    section: 'REL',
    checklist: 'REL-3',
    title: 'The deployment answers HTTP',
    severity: 'high',
    rationale: 'Nothing else can be verified if the URL does not answer.',
    remediation: 'Check the URL, DNS, TLS and that the gateway is running.',
  },
  {
    id: 'PF-READY',
    section: 'REL',
    checklist: 'REL-3',
    title: 'The readiness probe (/readyz) reports ready',
    severity: 'medium',
    rationale: 'Load balancers and orchestrators route by the readiness probe.',
    remediation: 'Expose /readyz (Gantry health stage) and wire it to the orchestrator.',
  },
  {
    id: 'PF-KEY',
    section: 'KEY',
    checklist: 'KEY-3',
    title: 'The key is accepted (count_tokens, no generation cost)',
    severity: 'high',
    rationale: 'An expired or revoked key fails every request at launch.',
    remediation: 'Rotate the key (docs/KEY-ROTATION.md) and re-run preflight.',
  },
  {
    id: 'PF-TIER',
    section: 'COST',
    checklist: 'COST-1',
    title: "The organisation's tier and limits (anthropic-ratelimit-* headers)",
    severity: 'low',
    rationale: 'Launch traffic must fit within the requests and tokens per minute of the tier.',
    remediation: 'Record the limits; request a higher tier before launch if expected traffic exceeds them.',
  },
  {
    id: 'PF-LATENCY',
    section: 'OBS',
    checklist: 'OBS-2',
    title: 'Latency baseline (count_tokens p50 / max)',
    severity: 'low',
    rationale: 'A baseline tells later latency alerts apart from the network path.',
    remediation: 'Investigate the network path or region when the baseline is slow.',
  },
  {
    id: 'PF-ENVELOPE',
    section: 'ERR',
    checklist: 'ERR-3',
    title: 'Errors use the Anthropic envelope with a request_id',
    severity: 'medium',
    rationale: 'SDK error classes and request-id logging rely on the envelope shape.',
    remediation: 'Make sure proxies in front of the API do not rewrite error bodies.',
  },
  {
    id: 'PF-CONTROLS',
    section: 'COST',
    checklist: 'COST-3',
    title: 'Budgets, alert channels and health probe configured on the gateway',
    severity: 'medium',
    rationale: 'Spend caps and alerts must exist before real traffic.',
    remediation: 'Configure Gantry budgets and alert channels, or confirm them in your own stack.',
  },
] as const;

export type ProbeId = (typeof PROBES)[number]['id'];

export interface PreflightOptions {
  mode: 'gateway' | 'api';
  key?: string;
  adminKey?: string;
  timeoutMs?: number;
  latencySamples?: number;
  /** Allow one max_tokens 1 generation to read rate-limit headers (default true). */
  generate?: boolean;
  now?: Date;
}

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  ms: number;
}

/** The cheapest current model of the catalog: the newest active Haiku. */
export function cheapModel(): string {
  const active = listModels({ lifecycle: ['active'] });
  return (active.find((m) => m.line === 'haiku') ?? active[0]).id;
}

async function call(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown },
  timeoutMs: number,
): Promise<Reply> {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body, ms };
}

interface ErrorBody {
  type?: string;
  error?: { type?: string; message?: string; details?: { gantry_code?: string } };
  request_id?: string;
}

/** Who raised an error and what it means, for the report. */
function explainError(r: Reply, mode: 'gateway' | 'api'): string {
  const b = (r.body ?? {}) as ErrorBody;
  const type = b.error?.type ?? 'unknown';
  const gantry = b.error?.details?.gantry_code;
  const rid = b.request_id ?? r.headers.get('request-id') ?? undefined;
  const by = gantry
    ? `the gateway (${gantry})`
    : mode === 'gateway'
      ? 'the upstream Anthropic API, relayed by the gateway'
      : 'the Anthropic API';
  let cause: string;
  if (r.status === 401) {
    cause = gantry
      ? 'the gateway does not know this client key'
      : mode === 'gateway'
        ? "the gateway's upstream key is invalid, expired or revoked"
        : 'the API key is invalid, expired or revoked';
  } else if (r.status === 403) cause = 'the key lacks permission (workspace or organisation)';
  else if (r.status === 429) {
    const ra = r.headers.get('retry-after');
    cause = gantry
      ? 'a gateway limit rejected the request'
      : `the organisation is rate limited upstream${ra ? ` (retry-after ${ra} s)` : ''}`;
  } else if (r.status === 529) cause = 'the API is overloaded';
  else if (r.status === 404) cause = 'not found (wrong URL or model id)';
  else if (r.status >= 500) cause = 'server error';
  else cause = 'request rejected';
  return `${r.status} ${type} from ${by}: ${cause}${rid ? ` [request_id ${rid}]` : ''}`;
}

function result(
  id: ProbeId,
  outcome: Outcome,
  summary: string,
  findings: Finding[] = [],
  evidence: Evidence[] = [],
): CheckResult {
  const p = PROBES.find((x) => x.id === id) as (typeof PROBES)[number];
  return {
    id,
    checklist: p.checklist,
    title: p.title,
    section: p.section,
    severity: p.severity,
    rationale: p.rationale,
    remediation: p.remediation,
    docs: 'docs/audit.md#gantry-preflight',
    outcome,
    summary,
    findings,
    evidence,
  };
}

const RATE_HEADERS = [
  'anthropic-ratelimit-requests-limit',
  'anthropic-ratelimit-input-tokens-limit',
  'anthropic-ratelimit-output-tokens-limit',
  'anthropic-ratelimit-tokens-limit',
];

/** The usage tier matching a requests-per-minute limit (Anthropic's published tiers). */
function tierOf(rpm: number): string {
  if (rpm <= 50) return 'Tier 1 (or start)';
  if (rpm <= 1000) return 'Tier 2';
  if (rpm <= 2000) return 'Tier 3';
  if (rpm <= 4000) return 'Tier 4';
  return 'custom / above Tier 4';
}

export async function runPreflight(url: string, opts: PreflightOptions): Promise<AuditReport> {
  const base = url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const samples = opts.latencySamples ?? 5;
  const model = cheapModel();
  const auth: Record<string, string> = { 'anthropic-version': '2023-06-01' };
  if (opts.key) auth['x-api-key'] = opts.key;
  const checks: CheckResult[] = [];
  const notes: string[] = [`probe model: ${model} (count_tokens: no generation cost)`];
  const ct = () =>
    call(
      base,
      '/v1/messages/count_tokens',
      { method: 'POST', headers: auth, body: { model, messages: [{ role: 'user', content: 'preflight' }] } },
      timeoutMs,
    );

  // Reachability
  try {
    const r = await call(base, '/', {}, timeoutMs);
    checks.push(result('PF-REACH', 'pass', `${base} answered HTTP ${r.status} in ${Math.round(r.ms)} ms`));
  } catch (err) {
    const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    checks.push(
      result('PF-REACH', 'fail', `${base} did not answer (${reason})`, [
        { level: 'fail', key: base, message: `no HTTP answer: ${reason}` },
      ]),
    );
    for (const p of PROBES.slice(1))
      checks.push(result(p.id, 'n/a', 'skipped: the deployment is unreachable'));
    return report(base, checks, notes, opts);
  }

  // Readiness
  if (opts.mode === 'api') checks.push(result('PF-READY', 'n/a', 'the Anthropic API has no readiness route'));
  else {
    try {
      const r = await call(base, '/readyz', {}, timeoutMs);
      if (r.status === 200) checks.push(result('PF-READY', 'pass', '/readyz answered 200'));
      else if (r.status === 404)
        checks.push(
          result('PF-READY', 'warn', '/readyz is not served (404)', [
            {
              level: 'warn',
              key: `${base}/readyz`,
              message: '404: this gateway has no readiness route; orchestrators cannot tell when it is ready',
            },
          ]),
        );
      else
        checks.push(
          result('PF-READY', 'fail', `/readyz answered ${r.status}`, [
            {
              level: 'fail',
              key: `${base}/readyz`,
              message: `not ready: HTTP ${r.status} ${typeof r.body === 'string' ? r.body.slice(0, 120) : JSON.stringify(r.body).slice(0, 200)}`,
            },
          ]),
        );
    } catch (err) {
      checks.push(
        result('PF-READY', 'fail', `/readyz failed: ${(err as Error).message}`, [
          { level: 'fail', key: `${base}/readyz`, message: (err as Error).message },
        ]),
      );
    }
    // Each cloud platform's own cause (Bedrock, Vertex AI), from /health: the gateway stays ready without them.
    const platforms = await platformFindings(base, timeoutMs);
    const ready = checks[checks.length - 1];
    if (platforms.length > 0) {
      ready.findings.push(...platforms);
      if (ready.outcome === 'pass') ready.outcome = 'warn';
      ready.summary += `; platforms: ${platforms.map((f) => f.message.split(':').slice(0, 2).join(':')).join(', ')}`;
    }
  }

  // Key validity, tier, latency: count_tokens only.
  let first: Reply | undefined;
  let firstError: string | undefined;
  try {
    first = await ct();
  } catch (err) {
    firstError = (err as Error).message;
  }
  if (!opts.key) {
    checks.push(
      result('PF-KEY', 'fail', 'no key given', [
        {
          level: 'fail',
          key: 'ANTHROPIC_API_KEY / GANTRY_KEY',
          message: 'set ANTHROPIC_API_KEY or GANTRY_KEY',
        },
      ]),
    );
  } else if (!first) {
    checks.push(
      result('PF-KEY', 'fail', `count_tokens failed: ${firstError}`, [
        { level: 'fail', key: '/v1/messages/count_tokens', message: firstError ?? 'error' },
      ]),
    );
  } else if (first.status === 200) {
    checks.push(
      result(
        'PF-KEY',
        'pass',
        `key accepted (count_tokens ${model} → 200)`,
        [],
        [
          {
            key: '/v1/messages/count_tokens',
            message: `request-id ${first.headers.get('request-id') ?? 'none'}`,
          },
        ],
      ),
    );
  } else {
    const why = explainError(first, opts.mode);
    checks.push(
      result('PF-KEY', 'fail', why, [{ level: 'fail', key: '/v1/messages/count_tokens', message: why }]),
    );
  }

  if (first?.status === 200) {
    const times: number[] = [first.ms];
    const failures: string[] = [];
    for (let i = 1; i < samples; i++) {
      try {
        const r = await ct();
        if (r.status === 200) times.push(r.ms);
        else failures.push(explainError(r, opts.mode));
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor((times.length - 1) / 2)];
    const max = times[times.length - 1];
    const summary = `count_tokens p50 ${Math.round(p50)} ms, max ${Math.round(max)} ms over ${times.length} calls`;
    const ev = [
      {
        key: 'count_tokens',
        message: `p50 ${Math.round(p50)} ms, max ${Math.round(max)} ms over ${times.length} calls`,
      },
    ];
    if (failures.length > 0)
      checks.push(
        result(
          'PF-LATENCY',
          'warn',
          `${summary}; ${failures.length} failed`,
          failures.map((m) => ({ level: 'warn' as const, key: 'count_tokens', message: m })),
          ev,
        ),
      );
    else if (p50 > 2000)
      checks.push(
        result(
          'PF-LATENCY',
          'warn',
          summary,
          [{ level: 'warn', key: 'count_tokens', message: `p50 above 2 s: ${summary}` }],
          ev,
        ),
      );
    else checks.push(result('PF-LATENCY', 'pass', summary, [], ev));
  } else checks.push(result('PF-LATENCY', 'n/a', 'skipped: count_tokens does not succeed'));

  // Tier and limits: count_tokens answers carry no anthropic-ratelimit-* headers, so one
  // minimal generation (max_tokens 1 on the cheapest model) reads them, unless disabled.
  if (first?.status !== 200) {
    if (first?.status === 429) {
      checks.push(
        result('PF-TIER', 'fail', 'rate limited while reading limits', [
          { level: 'fail', key: 'anthropic-ratelimit-*', message: explainError(first, opts.mode) },
        ]),
      );
    } else checks.push(result('PF-TIER', 'n/a', 'skipped: the key is not accepted'));
  } else {
    let source: Reply | undefined = RATE_HEADERS.some((h) => first.headers.get(h) !== null)
      ? first
      : undefined;
    if (!source && opts.generate !== false) {
      try {
        source = await call(
          base,
          '/v1/messages',
          {
            method: 'POST',
            headers: auth,
            body: { model, max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] },
          },
          timeoutMs,
        );
        notes.push(
          `one messages call with max_tokens 1 on ${model} read the rate-limit headers (--no-generate skips it)`,
        );
      } catch {
        source = undefined;
      }
    }
    const present = source ? RATE_HEADERS.filter((h) => source.headers.get(h) !== null) : [];
    if (source && present.length > 0) {
      const rpm = Number(source.headers.get('anthropic-ratelimit-requests-limit'));
      // Evidence is shown as `key: message`: the header name once, then its value.
      const ev = present.map((h) => ({ key: h, message: String(source.headers.get(h)) }));
      checks.push(
        result(
          'PF-TIER',
          'pass',
          `limits known${Number.isFinite(rpm) && rpm > 0 ? `: ${rpm} requests/min, ${tierOf(rpm)}` : ''}`,
          [],
          ev,
        ),
      );
    } else if (source?.status === 429) {
      checks.push(
        result('PF-TIER', 'fail', 'rate limited while reading limits', [
          { level: 'fail', key: 'anthropic-ratelimit-*', message: explainError(source, opts.mode) },
        ]),
      );
    } else {
      checks.push(
        result('PF-TIER', 'warn', 'no anthropic-ratelimit-* headers in the answers', [
          {
            level: 'warn',
            key: 'anthropic-ratelimit-*',
            message:
              opts.generate === false
                ? 'count_tokens answers carry no rate-limit headers; run without --no-generate to read them'
                : `absent (status ${source?.status ?? 'none'}): a proxy may strip anthropic-* headers`,
          },
        ]),
      );
    }
  }

  // Error envelope: a request the API rejects before generation (no max_tokens).
  try {
    const r = await call(
      base,
      '/v1/messages',
      { method: 'POST', headers: auth, body: { model, messages: [{ role: 'user', content: 'preflight' }] } },
      timeoutMs,
    );
    const b = r.body as ErrorBody;
    const problems: string[] = [];
    if (r.status !== 400)
      problems.push(
        `expected 400, got ${r.status}${r.status >= 400 ? ` (${explainError(r, opts.mode)})` : ''}`,
      );
    if (b?.type !== 'error') problems.push('body.type is not "error"');
    if (typeof b?.error?.type !== 'string' || typeof b?.error?.message !== 'string')
      problems.push('body.error lacks type/message');
    if (typeof b?.request_id !== 'string') problems.push('body.request_id missing');
    if (problems.length === 0)
      checks.push(
        result(
          'PF-ENVELOPE',
          'pass',
          `missing max_tokens → 400 ${b.error?.type} with request_id ${b.request_id}`,
        ),
      );
    else
      checks.push(
        result(
          'PF-ENVELOPE',
          'fail',
          problems.join('; '),
          problems.map((m) => ({ level: 'fail' as const, key: 'POST /v1/messages', message: m })),
        ),
      );
  } catch (err) {
    checks.push(
      result('PF-ENVELOPE', 'fail', (err as Error).message, [
        { level: 'fail', key: 'POST /v1/messages', message: (err as Error).message },
      ]),
    );
  }

  // Controls the gateway exposes: budgets, alert channels (admin key) and its health report.
  if (opts.mode === 'api') {
    checks.push(result('PF-CONTROLS', 'manual', 'confirm spend limits and alerts in the Anthropic Console'));
  } else {
    checks.push(await controls(base, opts.adminKey, timeoutMs));
  }
  return report(base, checks, notes, opts);
}

/**
 * PF-CONTROLS against a gateway, from routes it has: budgets (`GET /admin/limits`)
 * and alert channels (`GET /admin/alerts`), both with the admin key, and the health
 * report (`GET /health`). Without the admin key only the health report is read.
 */
async function controls(base: string, adminKey: string | undefined, timeoutMs: number): Promise<CheckResult> {
  const findings: Finding[] = [];
  const seen: Evidence[] = [];
  const admin = async (path: string): Promise<Reply | undefined> => {
    try {
      const r = await call(base, path, { headers: { 'x-api-key': adminKey! } }, timeoutMs);
      if (r.status === 200) return r;
      findings.push({
        level: 'warn',
        key: `GET ${path}`,
        message:
          r.status === 404
            ? 'not on this gateway (no admin key configured there, or the feature is off)'
            : `answered ${r.status}`,
      });
    } catch (err) {
      findings.push({ level: 'warn', key: `GET ${path}`, message: (err as Error).message });
    }
    return undefined;
  };
  if (adminKey) {
    const limits = await admin('/admin/limits');
    if (limits) {
      const scopes = ((limits.body as { scopes?: unknown[] } | undefined)?.scopes ?? []) as Array<{
        scope?: string;
        budgets?: unknown[];
      }>;
      const budgeted = scopes.filter((x) => Array.isArray(x.budgets) && x.budgets.length > 0);
      if (budgeted.length === 0)
        findings.push({ level: 'warn', key: 'limits', message: 'no budget configured on any scope' });
      else seen.push({ key: 'budgets', message: budgeted.map((x) => x.scope).join(', ') });
    }
    const alerts = await admin('/admin/alerts');
    if (alerts) {
      const channels = (alerts.body as { channels?: unknown[] } | undefined)?.channels;
      if (!Array.isArray(channels) || channels.length === 0)
        findings.push({ level: 'warn', key: 'alerts.channels', message: 'no alert channel configured' });
      else seen.push({ key: 'alerts.channels', message: `${channels.length} channel(s)` });
    }
  }
  try {
    const r = await call(base, '/health', {}, timeoutMs);
    const status = (r.body as { status?: unknown } | undefined)?.status;
    if (typeof status === 'string') seen.push({ key: 'GET /health', message: `${r.status} ${status}` });
    else findings.push({ level: 'warn', key: 'GET /health', message: `no health report (HTTP ${r.status})` });
  } catch (err) {
    findings.push({ level: 'warn', key: 'GET /health', message: (err as Error).message });
  }
  if (findings.length > 0)
    return result('PF-CONTROLS', 'warn', findings.map((f) => f.message).join('; '), findings, seen);
  if (!adminKey)
    return result(
      'PF-CONTROLS',
      'manual',
      'the health probe answers; budgets and alert channels are read with the admin key (set $GANTRY_ADMIN_KEY)',
      [],
      seen,
    );
  return result(
    'PF-CONTROLS',
    'pass',
    'budgets, alert channels and the health probe are configured',
    [],
    seen,
  );
}

function report(base: string, checks: CheckResult[], notes: string[], opts: PreflightOptions): AuditReport {
  const rules: RuleMeta[] = PROBES.map((p) => ({
    id: p.id,
    title: p.title,
    severity: p.severity,
    rationale: p.rationale,
    remediation: p.remediation,
    docs: 'docs/audit.md',
  }));
  return {
    tool: 'gantry preflight',
    version: VERSION,
    target: `${base} (${opts.mode})`,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    checks,
    rules,
    notes,
  };
}
