/**
 * One evaluator per checklist id. Each reads rule matches (src/audit/rules.yaml)
 * and the context, and returns findings (fail/warn, with evidence) or a base
 * outcome (pass, n/a, manual) with supporting evidence. A value that cannot be
 * resolved statically is a `warn` naming the expression, never a guess.
 */
import { closestModelIds, resolveModel } from '../anthropic/models.ts';
import { CHECKS, type CheckId, docsLink, sectionOf } from './checks-table.ts';
import { type AuditContext, configLine, configValue } from './context.ts';
import { DOC_SPECS, findDoc } from './docs-spec.ts';
import { withDrillEvidence } from './drill-evidence.ts';
import type { CheckResult, Evidence, Finding, Outcome } from './result.ts';
import type { Hit, Value } from './scan.ts';

export interface Evaluation {
  /** Outcome when there are no (unsuppressed) findings. */
  base: Exclude<Outcome, 'warn' | 'fail'>;
  summary: string;
  findings: Finding[];
  evidence: Evidence[];
}

type Evaluator = (ctx: AuditContext) => Evaluation;

/** SDK defaults (TypeScript and Python SDKs). */
export const SDK_DEFAULT_MAX_RETRIES = 2;
export const SDK_DEFAULT_TIMEOUT_S = 600;
export const RETRIES_RANGE = [3, 5] as const;
export const TIMEOUT_RANGE_S = [60, 120] as const;
/** max_tokens above this is "not realistic" for an interactive request. */
export const MAX_TOKENS_REALISTIC = 16_384;
/** A constant system prompt this long (characters, ~1024 tokens) is worth caching. */
export const LONG_SYSTEM_PROMPT_CHARS = 4_000;

const at = (h: { file: string; line: number }, message: string): Evidence => ({
  file: h.file,
  line: h.line,
  message,
});
const fail = (e: Evidence): Finding => ({ ...e, level: 'fail' });
const warn = (e: Evidence): Finding => ({ ...e, level: 'warn' });

function ok(summary: string, evidence: Evidence[] = []): Evaluation {
  return { base: 'pass', summary, findings: [], evidence };
}
function manual(summary: string, evidence: Evidence[] = []): Evaluation {
  return { base: 'manual', summary, findings: [], evidence };
}
function na(summary: string): Evaluation {
  return { base: 'n/a', summary, findings: [], evidence: [] };
}
function findings(summary: string, list: Finding[], evidence: Evidence[] = []): Evaluation {
  return { base: 'pass', summary, findings: list, evidence };
}

function anchorEvidence(ctx: AuditContext, message: string, key?: string): Evidence {
  if (key && ctx.config) return { file: ctx.config.file, line: configLine(ctx.config, key), key, message };
  return ctx.anchor ? { file: ctx.anchor, line: 1, message } : { message };
}

function configEvidence(ctx: AuditContext, key: string, message: string): Evidence {
  return ctx.config
    ? { file: ctx.config.file, line: configLine(ctx.config, key), key, message }
    : { key, message };
}

/** The gateway-config section providing a control, if the app goes through a gateway. */
function gatewayProvides(ctx: AuditContext, keys: string[]): Evidence | undefined {
  if (!ctx.config) return undefined;
  for (const key of keys) {
    const v = configValue(ctx.config, key);
    if (v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v as object).length === 0)) {
      return configEvidence(ctx, key, `Gantry config sets ${key}`);
    }
  }
  return undefined;
}

/** A client of the Gantry config with a budget (`clients[].limits.budget`). */
function clientBudget(ctx: AuditContext): Evidence | undefined {
  const client = (ctx.config?.resolved?.clients ?? []).find((c) => c.limits.budget !== undefined);
  return client ? configEvidence(ctx, 'clients', `client ${client.name} has a budget`) : undefined;
}

function libs(ctx: AuditContext, cap: string): Evidence[] {
  return (ctx.libraries.get(cap) ?? []).map(({ lib, hit }) => at(hit, `uses ${lib}`));
}

function describe(v: Value): string {
  return v.kind === 'unresolved' ? `\`${v.text}\` (not resolvable statically)` : v.text;
}

function docCheck(ctx: AuditContext, docKey: keyof typeof DOC_SPECS): Evaluation {
  const spec = DOC_SPECS[docKey];
  const doc = findDoc(ctx.scan, spec);
  if (!doc) {
    return findings(`no ${spec.title} document found`, [
      fail(anchorEvidence(ctx, `no ${spec.file} (or a document titled "${spec.title}"); run gantry init`)),
    ]);
  }
  const missing = spec.sections.filter((s) => !doc.headings.some((h) => s.match.test(h.text)));
  if (missing.length > 0) {
    return findings(`${doc.file} lacks ${missing.length} section(s)`, [
      warn({
        file: doc.file,
        line: 1,
        message: `missing section(s): ${missing.map((s) => s.name).join(', ')}`,
      }),
    ]);
  }
  return ok(`${doc.file} has every section`, [
    { file: doc.file, line: 1, message: `sections: ${spec.sections.map((s) => s.name).join(', ')}` },
  ]);
}

const ERROR_KINDS: { type: string; classes: RegExp; statuses: number[] }[] = [
  {
    type: 'authentication_error',
    classes: /^(AuthenticationError|PermissionDeniedError)$|authentication_error/,
    statuses: [401, 403],
  },
  {
    type: 'invalid_request_error',
    classes: /^(BadRequestError|UnprocessableEntityError|NotFoundError)$|invalid_request_error/,
    statuses: [400, 404, 413],
  },
  { type: 'rate_limit_error', classes: /^RateLimitError$|rate_limit_error/, statuses: [429] },
  { type: 'api_error', classes: /^InternalServerError$|(^|[^_])api_error/, statuses: [500, 502, 503] },
  { type: 'overloaded_error', classes: /^OverloadedError$|overloaded_error/, statuses: [529] },
];

function numericRange(v: Value | undefined, scale: number): number | undefined {
  return v?.kind === 'number' ? v.value / scale : undefined;
}

export const EVALUATORS: Record<CheckId, Evaluator> = {
  'KEY-1': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const envs = ctx.config?.resolved ? Object.keys(ctx.config.resolved.environments) : [];
    const ev: Evidence[] = envs
      .filter((e) => /prod/i.test(e))
      .map((e) =>
        configEvidence(
          ctx,
          `environments.${e}`,
          `environment ${e} uses ${ctx.config?.resolved?.environments[e].upstreamKey}`,
        ),
      );
    return manual(
      'confirm in the Anthropic Console that the production key belongs to a dedicated production Workspace',
      ev,
    );
  },

  'KEY-2': (ctx) => {
    const list: Finding[] = [];
    for (const h of ctx.scan.byRule('api-key'))
      list.push(fail(at(h, 'an Anthropic API key in a tracked file')));
    const seen = new Set(list.map((f) => `${f.file}:${f.line}`));
    for (const h of ctx.scan.byRule('env-file-key')) {
      if (seen.has(`${h.file}:${h.line}`)) continue;
      list.push(fail(at(h, `${h.groups?.[1]} has a value in a committed env file`)));
    }
    for (const h of ctx.scan.byRule('sdk-client')) {
      const k = h.options?.apiKey;
      if (k?.kind === 'string' && !seen.has(`${h.file}:${k.line}`))
        list.push(fail({ file: h.file, line: k.line, message: 'API key passed to the client as a literal' }));
    }
    if (list.length > 0) return findings(`${list.length} key(s) in files`, list);
    return ok('no API keys in tracked files or client literals');
  },

  'KEY-3': (ctx) => docCheck(ctx, 'keyRotation'),

  'KEY-4': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const envs = ctx.config?.resolved ? Object.values(ctx.config.resolved.environments) : [];
    if (envs.length >= 2) {
      return ok(
        `Gantry declares ${envs.length} environments, each with its own upstream key`,
        envs.map((e) => configEvidence(ctx, `environments.${e.name}`, `${e.name}: ${e.upstreamKey}`)),
      );
    }
    // Same key value in several env files is a shared key.
    const values = new Map<string, Hit[]>();
    for (const h of ctx.scan.byRule('env-file-key')) {
      const v = h.groups?.[2] ?? '';
      values.set(v, [...(values.get(v) ?? []), h]);
    }
    const shared = [...values.values()].filter((hs) => new Set(hs.map((h) => h.file)).size > 1);
    if (shared.length > 0) {
      return findings(
        'one key value is used by several environments',
        shared.flat().map((h) => fail(at(h, 'same key value as another environment file'))),
      );
    }
    const vars = new Map<string, Hit[]>();
    for (const h of ctx.scan.byRule('key-variable')) {
      const name = h.groups?.[0] ?? '';
      vars.set(name, [...(vars.get(name) ?? []), h]);
    }
    const perEnv = [...vars.keys()].filter((n) =>
      /_(PROD|PRODUCTION|STAGING|STAGE|DEV|DEVELOPMENT|TEST)$/.test(n),
    );
    if (perEnv.length >= 2)
      return ok(
        `per-environment key variables: ${perEnv.join(', ')}`,
        perEnv.map((n) => at((vars.get(n) as Hit[])[0], n)),
      );
    if (vars.size === 1) {
      const [[name, hits]] = [...vars.entries()];
      return findings(`one key variable (${name}) for every environment`, [
        warn(
          at(
            hits[0],
            `${name} is the only key variable: confirm each environment sets a different key, or name them per environment`,
          ),
        ),
      ]);
    }
    return manual(
      'confirm dev, staging and production each use their own key',
      [...vars.values()].map((hs) => at(hs[0], hs[0].groups?.[0] ?? '')),
    );
  },

  'ERR-1': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const hits = ctx.scan.byRule('error-class');
    const covered = new Map<string, Hit>();
    for (const h of hits) {
      const codes = (h.text.match(/\b\d{3}\b/g) ?? []).map(Number);
      for (const kind of ERROR_KINDS) {
        const byName = /^[A-Za-z]+$/.test(h.text)
          ? kind.classes.test(h.text)
          : kind.classes.test(h.text.replace(/^["'`]|["'`]$/g, ''));
        const byStatus = /status/i.test(h.text) && codes.some((c) => kind.statuses.includes(c));
        if ((byName || byStatus) && !covered.has(kind.type)) covered.set(kind.type, h);
      }
    }
    const generic = hits.find((h) => /^(APIError|APIStatusError)$/.test(h.text));
    const missing = ERROR_KINDS.filter((k) => !covered.has(k.type)).map((k) => k.type);
    const ev = [...covered.entries()].map(([t, h]) => at(h, `handles ${t}`));
    if (missing.length === 0) return ok('all five error types are handled', ev);
    if (covered.size === 0 && !generic) {
      return findings('no handling of API errors found', [
        fail(anchorEvidence(ctx, 'no catch of SDK error classes or status codes found')),
      ]);
    }
    const where = generic ?? [...covered.values()][0];
    return findings(
      `not handled: ${missing.join(', ')}`,
      [
        warn(
          at(
            where,
            `error handling does not distinguish ${missing.join(', ')}${generic ? ' (only a generic APIError catch)' : ''}`,
          ),
        ),
      ],
      ev,
    );
  },

  'ERR-2': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const clients = ctx.scan.byRule('sdk-client');
    if (clients.length === 0) {
      if (ctx.gateway.length > 0)
        return manual(
          'no SDK client found; confirm the HTTP client through the gateway retries 3-5 times with backoff',
          ctx.gateway,
        );
      return na('no SDK client found');
    }
    const list: Finding[] = [];
    const ev: Evidence[] = libs(ctx, 'retry');
    for (const c of clients) {
      const v = c.options?.maxRetries;
      if (!v) {
        const msg = `maxRetries not set: the SDK default is ${SDK_DEFAULT_MAX_RETRIES}`;
        list.push(c.openOptions ? warn(at(c, `${msg} unless the spread options set it`)) : fail(at(c, msg)));
      } else if (v.kind !== 'number') {
        list.push(warn({ file: c.file, line: v.line, message: `maxRetries is ${describe(v)}` }));
      } else if (v.value < RETRIES_RANGE[0] || v.value > RETRIES_RANGE[1]) {
        list.push(
          fail({
            file: c.file,
            line: v.line,
            message: `maxRetries is ${v.value}; expected ${RETRIES_RANGE[0]}-${RETRIES_RANGE[1]}`,
          }),
        );
      } else ev.push({ file: c.file, line: v.line, message: `maxRetries ${v.value}` });
    }
    return findings(
      list.length
        ? `${list.length} of ${clients.length} client(s) with unsuitable retries`
        : `every client retries ${RETRIES_RANGE[0]}-${RETRIES_RANGE[1]} times`,
      list,
      ev,
    );
  },

  'ERR-3': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const hits = ctx.scan.byRule('request-id');
    if (hits.length > 0)
      return ok(
        'request ids are read',
        hits.slice(0, 5).map((h) => at(h, `reads ${h.text}`)),
      );
    const gw = ctx.gateway.length > 0 && ctx.config;
    if (gw) return ok('the Gantry gateway logs the upstream request-id of every error', ctx.gateway);
    return findings('request ids are never logged', [
      fail(anchorEvidence(ctx, 'no request_id / _request_id / requestID access found in error handling')),
    ]);
  },

  'ERR-4': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const ev = libs(ctx, 'breaker');
    if (ev.length > 0) return ok('a circuit breaker library is used', ev);
    const gw =
      ctx.gateway.length > 0
        ? gatewayProvides(ctx, ['breaker', 'upstream.breaker', 'resilience.breaker'])
        : undefined;
    if (gw) return ok('the Gantry gateway provides the circuit breaker', [gw, ...ctx.gateway]);
    return findings('no circuit breaker', [
      fail(
        anchorEvidence(
          ctx,
          'no circuit breaker library (opossum, cockatiel, pybreaker) and no gateway breaker config',
        ),
      ),
    ]);
  },

  'COST-1': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const hits = ctx.scan.byRule('ratelimit-headers');
    if (hits.length > 0)
      return ok(
        'the app reads anthropic-ratelimit-* headers',
        hits.slice(0, 3).map((h) => at(h, h.text)),
      );
    return manual(
      'run `gantry preflight --api` to read the tier and limits from anthropic-ratelimit-* headers, and record them',
    );
  },

  'COST-2': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const ev = libs(ctx, 'rate_limit');
    if (ev.length > 0) return ok('an application rate limiter is used', ev);
    const withLimits = (ctx.config?.resolved?.clients ?? []).filter((c) => Object.keys(c.limits).length > 0);
    if (withLimits.length > 0)
      return ok(
        'Gantry clients have limits',
        withLimits.map((c) => configEvidence(ctx, 'limits', `client ${c.name} has limits`)),
      );
    const gw = gatewayProvides(ctx, ['limits', 'rate_limits']);
    if (gw) return ok('Gantry config sets limits', [gw]);
    return findings('no application rate limiting', [
      fail(
        anchorEvidence(
          ctx,
          'no rate limiter (bottleneck, rate-limiter-flexible, slowapi) and no Gantry client limits',
        ),
      ),
    ]);
  },

  'COST-3': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const gw =
      gatewayProvides(ctx, ['limits.overall.budget', 'limits.environments', 'budgets', 'budget']) ??
      clientBudget(ctx);
    if (gw) return ok('Gantry budgets are configured', [gw]);
    return manual(
      'confirm monthly and daily spend limits and cost alerts in the Anthropic Console (or configure Gantry budgets)',
    );
  },

  'COST-4': (ctx) => {
    const ids = ctx.scan.byRule('model-id');
    if (ids.length === 0)
      return ctx.usesClaude
        ? manual('no model id literal found; confirm each task uses a fitting model')
        : na('no model ids found');
    const list: Finding[] = [];
    const used = new Map<string, Hit>();
    for (const h of ids) {
      const id = h.text.slice(1, -1);
      const entry = resolveModel(id);
      if (!entry) {
        const near = closestModelIds(id, 2);
        list.push(
          fail(at(h, `unknown model id ${id}${near.length ? `; did you mean ${near.join(' or ')}?` : ''}`)),
        );
      } else if (entry.lifecycle === 'retired') {
        list.push(
          fail(
            at(
              h,
              `model ${id} is retired${entry.retires_at ? ` since ${entry.retires_at.slice(0, 10)}` : ''}`,
            ),
          ),
        );
      } else if (entry.lifecycle === 'deprecated') {
        list.push(
          warn(
            at(
              h,
              `model ${id} is deprecated${entry.retires_at ? `; retires ${entry.retires_at.slice(0, 10)}` : ''}`,
            ),
          ),
        );
      } else if (!used.has(entry.id)) used.set(entry.id, h);
    }
    const ev = [...used.entries()].map(([id, h]) => at(h, `uses ${id}`));
    if (list.length > 0) return findings(`${list.length} model id problem(s)`, list, ev);
    return manual(
      `model ids are valid (${[...used.keys()].join(', ')}); confirm each task uses the cheapest adequate model`,
      ev,
    );
  },

  'COST-5': (ctx) => {
    const calls = ctx.scan.byRule('messages-call');
    if (calls.length === 0) return na('no messages calls found');
    const list: Finding[] = [];
    const ev: Evidence[] = [];
    for (const c of calls) {
      const v = c.options?.maxTokens;
      if (!v) {
        if (!c.openOptions) list.push(warn(at(c, 'max_tokens not visible in this call')));
        continue;
      }
      if (v.kind !== 'number') {
        list.push(warn({ file: c.file, line: v.line, message: `max_tokens is ${describe(v)}` }));
        continue;
      }
      const model = c.options?.model;
      const entry = model?.kind === 'string' ? resolveModel(model.value) : undefined;
      if (entry?.max_output && v.value > entry.max_output) {
        list.push(
          fail({
            file: c.file,
            line: v.line,
            message: `max_tokens ${v.value} exceeds ${entry.id}'s maximum of ${entry.max_output}`,
          }),
        );
      } else if (v.value > MAX_TOKENS_REALISTIC) {
        list.push(
          warn({
            file: c.file,
            line: v.line,
            message: `max_tokens ${v.value} is above ${MAX_TOKENS_REALISTIC}: is it realistic?`,
          }),
        );
      } else ev.push({ file: c.file, line: v.line, message: `max_tokens ${v.value}` });
    }
    return findings(
      list.length ? `${list.length} max_tokens value(s) to review` : 'max_tokens values are realistic',
      list,
      ev,
    );
  },

  'COST-6': (ctx) => {
    const calls = ctx.scan.byRule('messages-call');
    const cached = new Set(ctx.scan.byRule('cache-control').map((h) => h.file));
    const list: Finding[] = [];
    const ev: Evidence[] = [];
    for (const c of calls) {
      const s = c.options?.system;
      if (s?.kind !== 'string' || s.value.length < LONG_SYSTEM_PROMPT_CHARS) continue;
      if (cached.has(c.file))
        ev.push({
          file: c.file,
          line: s.line,
          message: `long system prompt (${s.value.length} chars) with cache_control in the file`,
        });
      else
        list.push(
          fail({
            file: c.file,
            line: s.line,
            message: `constant system prompt of ${s.value.length} characters sent without cache_control`,
          }),
        );
    }
    if (list.length === 0 && ev.length === 0) return na('no long constant system prompts found');
    return findings(
      list.length ? 'long system prompts are not cached' : 'long system prompts are cached',
      list,
      ev,
    );
  },

  'REL-1': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const clients = ctx.scan.byRule('sdk-client');
    const list: Finding[] = [];
    const ev: Evidence[] = [];
    for (const c of clients) {
      const v = c.options?.timeout;
      const scale = c.lang === 'py' ? 1 : 1000;
      if (!v) {
        const msg = `timeout not set: the SDK default is ${SDK_DEFAULT_TIMEOUT_S / 60} minutes`;
        list.push(c.openOptions ? warn(at(c, `${msg} unless the spread options set it`)) : fail(at(c, msg)));
        continue;
      }
      const s = numericRange(v, scale);
      if (s === undefined)
        list.push(warn({ file: c.file, line: v.line, message: `timeout is ${describe(v)}` }));
      else if (s < TIMEOUT_RANGE_S[0] || s > TIMEOUT_RANGE_S[1]) {
        list.push(
          fail({
            file: c.file,
            line: v.line,
            message: `timeout is ${s} s; expected ${TIMEOUT_RANGE_S[0]}-${TIMEOUT_RANGE_S[1]} s`,
          }),
        );
      } else ev.push({ file: c.file, line: v.line, message: `timeout ${s} s` });
    }
    if (clients.length === 0 && ctx.config?.resolved && ctx.gateway.length > 0) {
      const ms = ctx.config.resolved.upstream.headersTimeoutMs;
      const e = configEvidence(
        ctx,
        'upstream.headers_timeout_ms',
        `gateway upstream headers timeout ${ms / 1000} s`,
      );
      if (ms / 1000 < TIMEOUT_RANGE_S[0] || ms / 1000 > TIMEOUT_RANGE_S[1])
        list.push(
          fail({ ...e, message: `${e.message}; expected ${TIMEOUT_RANGE_S[0]}-${TIMEOUT_RANGE_S[1]} s` }),
        );
      else ev.push(e);
    }
    if (clients.length === 0 && list.length === 0 && ev.length === 0)
      return manual('no SDK client found; confirm the HTTP client times out after 60-120 s');
    return findings(
      list.length
        ? `${list.length} timeout problem(s)`
        : `every client times out within ${TIMEOUT_RANGE_S[0]}-${TIMEOUT_RANGE_S[1]} s`,
      list,
      ev,
    );
  },

  'REL-2': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const gw = gatewayProvides(ctx, ['fallback', 'upstream.fallback', 'routing.fallback']);
    if (gw) return ok('Gantry config sets a fallback', [gw]);
    const hits = ctx.scan.byRule('fallback');
    if (hits.length > 0)
      return ok(
        'fallback handling found',
        hits.slice(0, 5).map((h) => at(h, h.text)),
      );
    return manual(
      'no fallback found: confirm users get a fallback model/key or a clear degraded answer when the API is down',
    );
  },

  'REL-3': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const routes = ctx.scan.byRule('health-route');
    const probes = new Set(ctx.scan.byRule('count-tokens').map((h) => h.file));
    const generating = new Set(ctx.scan.byRule('messages-call').map((h) => h.file));
    const badModels = new Set(
      ctx.scan
        .byRule('model-id')
        .filter((h) => {
          const e = resolveModel(h.text.slice(1, -1));
          return !e || e.lifecycle === 'retired';
        })
        .map((h) => h.file),
    );
    const gw = gatewayProvides(ctx, ['health']);
    if (routes.length === 0) {
      if (gw) return ok('Gantry config sets a health probe', [gw]);
      return findings('no health endpoint', [
        fail(anchorEvidence(ctx, 'no /health, /healthz or /readyz route found')),
      ]);
    }
    const list: Finding[] = [];
    const ev: Evidence[] = [];
    for (const r of routes) {
      if (badModels.has(r.file))
        list.push(
          fail(
            at(
              r,
              'the health route file names an unknown or retired model id: the probe will report the API as down',
            ),
          ),
        );
      else if (probes.has(r.file)) ev.push(at(r, 'health route probes with count_tokens'));
      else if (generating.has(r.file))
        list.push(
          warn(at(r, 'the health route file generates messages: use count_tokens (no generation cost)')),
        );
      else list.push(warn(at(r, 'health route does not probe API connectivity with count_tokens')));
    }
    if (ev.length > 0) {
      const fails = list.filter((f) => f.level === 'fail');
      return findings(
        fails.length > 0
          ? `${fails.length} health route(s) name a bad model id`
          : 'health route probes with count_tokens',
        fails,
        ev,
      );
    }
    return findings('health route does not probe the API cheaply', list);
  },

  'OBS-1': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const hits = ctx.scan.byRule('log-content');
    if (hits.length > 0)
      return findings(
        `${hits.length} logging call(s) log message content`,
        hits.map((h) => fail(at(h, `logs content: ${h.text}`))),
      );
    return ok('no logging call logs message content');
  },

  'OBS-2': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const ev = libs(ctx, 'metrics');
    const hist = ctx.scan.byRule('latency-metric');
    if (ev.length > 0 && hist.length > 0)
      return ok('latency histogram recorded', [...ev, ...hist.slice(0, 3).map((h) => at(h, h.text))]);
    const gw = ctx.gateway.length > 0 ? gatewayProvides(ctx, ['metrics', 'observability']) : undefined;
    if (gw) return ok('the Gantry gateway records latency percentiles', [gw]);
    if (ev.length > 0) return findings('a metrics library but no latency histogram', [warn(ev[0])]);
    return findings('latency percentiles are not tracked', [
      fail(anchorEvidence(ctx, 'no latency histogram (prom-client, prometheus_client, OpenTelemetry)')),
    ]);
  },

  'OBS-3': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    if (ctx.gateway.length > 0 && ctx.config)
      return ok('the Gantry gateway logs usage of every request', ctx.gateway);
    const fields = new Map<string, Hit>();
    for (const h of ctx.scan.byRule('usage-field')) {
      for (const f of [
        'input_tokens',
        'output_tokens',
        'cache_creation_input_tokens',
        'cache_read_input_tokens',
      ]) {
        if (new RegExp(`(^|[^_a-z])${f}`).test(h.text) && !fields.has(f)) fields.set(f, h);
      }
    }
    if (fields.size === 0)
      return findings('token usage is not recorded', [
        fail(anchorEvidence(ctx, 'no access to usage.input_tokens / output_tokens')),
      ]);
    const missing = [
      'input_tokens',
      'output_tokens',
      'cache_creation_input_tokens',
      'cache_read_input_tokens',
    ].filter((f) => !fields.has(f));
    const ev = [...fields.entries()].map(([f, h]) => at(h, `reads ${f}`));
    if (missing.length > 0)
      return findings(
        `usage recorded without ${missing.join(', ')}`,
        [warn({ ...ev[0], message: `not recorded: ${missing.join(', ')}` })],
        ev,
      );
    return ok('input, output, cache write and cache read tokens are recorded', ev);
  },

  'OBS-4': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const clients = ctx.config?.resolved?.clients ?? [];
    if (clients.length > 0)
      return ok(
        `Gantry attributes cost to ${clients.length} client(s)`,
        clients.map((c) => configEvidence(ctx, 'clients', `client ${c.name}`)),
      );
    return manual(
      'confirm cost is attributed per feature and per customer (Gantry clients, or metadata.user_id plus your own ledger)',
    );
  },

  'OBS-5': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const gw = gatewayProvides(ctx, ['alerts', 'alerting']);
    if (gw) return ok('Gantry alerts are configured', [gw]);
    const rules = ctx.scan.byRule('alert-rule');
    if (rules.length > 0)
      return ok(
        `${rules.length} alert rule(s) found`,
        rules.slice(0, 8).map((h) => at(h, `alert ${h.groups?.[0]}`)),
      );
    return findings('no alerting on error rates', [
      fail(anchorEvidence(ctx, 'no alert rules (Prometheus alert:, Gantry alerts) found')),
    ]);
  },

  'SAFE-1': (ctx) => {
    const prompts = ctx.scan.byRule('messages-call').filter((c) => c.options?.system);
    if (prompts.length === 0)
      return ctx.usesClaude
        ? manual('no system prompt found in calls; confirm prompts are reviewed')
        : na('no Anthropic API usage found');
    return manual(
      'review each system prompt for injection resistance',
      prompts.map((c) => ({
        file: c.file,
        line: c.options?.system?.line ?? c.line,
        message: 'system prompt',
      })),
    );
  },

  'SAFE-2': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const hits = ctx.scan.byRule('input-length');
    if (hits.length > 0)
      return ok(
        'input length checks found',
        hits.slice(0, 5).map((h) => at(h, h.text)),
      );
    return findings('no input length limits', [
      fail(
        anchorEvidence(
          ctx,
          'no length check on user input (len() / .length comparison, zod .max, max_length)',
        ),
      ),
    ]);
  },

  'SAFE-3': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const hits = ctx.scan.byRule('output-scan');
    const ev = [...libs(ctx, 'pii'), ...hits.slice(0, 5).map((h) => at(h, h.text))];
    if (ev.length > 0) return ok('output scanning found', ev);
    return findings('output is not scanned', [
      fail(anchorEvidence(ctx, 'no scan/redact/PII detection call on model output')),
    ]);
  },

  'SAFE-4': (ctx) => {
    if (!ctx.usesClaude) return na('no Anthropic API usage found');
    const hits = ctx.scan.byRule('moderation');
    if (hits.length > 0)
      return ok(
        'moderation calls found',
        hits.slice(0, 5).map((h) => at(h, h.text)),
      );
    return findings('no content moderation', [
      fail(anchorEvidence(ctx, 'no moderation call on user-facing responses')),
    ]);
  },

  'INFRA-1': (ctx) => {
    const gw = gatewayProvides(ctx, ['canary']);
    if (gw) return ok('Gantry canary config', [gw]);
    const kinds = ctx.scan.byRule('k8s-kind');
    const progressive = kinds.filter((h) => /Rollout|Canary/.test(h.groups?.[0] ?? ''));
    if (progressive.length > 0)
      return ok(
        'progressive delivery manifests found',
        progressive.map((h) => at(h, `kind: ${h.groups?.[0]}`)),
      );
    const strategies = ctx.scan.byRule('k8s-strategy');
    const recreate = strategies.filter((h) => h.groups?.[0] === 'Recreate');
    if (recreate.length > 0)
      return findings(
        'a deployment replaces every pod at once',
        recreate.map((h) => fail(at(h, 'strategy type Recreate: use RollingUpdate or a canary'))),
      );
    const rolling = strategies.filter((h) => h.groups?.[0] === 'RollingUpdate');
    if (rolling.length > 0)
      return ok(
        'rolling update strategy',
        rolling.map((h) => at(h, 'strategy type RollingUpdate')),
      );
    const deployments = kinds.filter((h) => /Deployment|StatefulSet/.test(h.groups?.[0] ?? ''));
    if (deployments.length > 0)
      return ok(
        'Kubernetes Deployment (RollingUpdate by default)',
        deployments.map((h) =>
          at(h, `kind: ${h.groups?.[0]} without strategy: RollingUpdate is the default`),
        ),
      );
    return manual(
      'no deployment manifests found: confirm the platform deploys with a canary or rolling strategy',
    );
  },

  'INFRA-2': (ctx) => withDrillEvidence(ctx, docCheck(ctx, 'rollback')),
  'INFRA-3': (ctx) => docCheck(ctx, 'runbook'),
  'INFRA-4': (ctx) => docCheck(ctx, 'oncall'),
};

/** Runs every check; an evaluator that throws yields `error`, never a crash. */
export function evaluateAll(ctx: AuditContext): { result: CheckResult; evaluation: Evaluation }[] {
  return CHECKS.map((def) => {
    let evaluation: Evaluation;
    try {
      evaluation = EVALUATORS[def.id](ctx);
    } catch (err) {
      evaluation = {
        base: 'error',
        summary: `check failed: ${(err as Error).message}`,
        findings: [],
        evidence: [],
      };
    }
    const result: CheckResult = {
      id: def.id,
      title: def.title,
      section: sectionOf(def.id),
      severity: def.severity,
      rationale: def.rationale,
      remediation: def.remediation,
      docs: docsLink(def.id),
      outcome: evaluation.base,
      summary: evaluation.summary,
      findings: evaluation.findings,
      evidence: evaluation.evidence,
    };
    return { result, evaluation };
  });
}

/** The outcome from findings that still apply (not suppressed), else the base. */
export function outcomeOf(base: Outcome, list: Finding[]): Outcome {
  const live = list.filter((f) => !f.suppressed);
  if (live.some((f) => f.level === 'fail')) return 'fail';
  if (live.some((f) => f.level === 'warn')) return 'warn';
  return base;
}
