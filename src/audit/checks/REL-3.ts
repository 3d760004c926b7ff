/**
 * REL-3: a health check endpoint probes API connectivity cheaply. Health
 * routes are route registrations (Express / Fastify / Hono / Koa calls with
 * a handler, FastAPI / Flask / aiohttp / Django routes, Next.js route files)
 * for /health, /healthz, /readyz, /livez, /ready, /ping and the like; a
 * client-side `api.get('/health')` is not one. The route's handler is
 * followed through the repository's call graph: reaching `count_tokens`
 * `pass`; reaching a generation call `warn` (or `fail` when its model id is
 * unknown or retired: the probe reports the API as down); reaching neither
 * `warn`. A server without a health route `fail`; an app that is not an
 * HTTP server (CLI, bot, serverless handler, Streamlit) `n/a`.
 */
import type { SgNode } from '@ast-grep/napi';
import { resolveModel, statusOf } from '../../anthropic/models.ts';
import type { Site } from '../clients/site.ts';
import { named, startOf, stringLiteral } from '../code/lang.ts';
import type { FnInfo, ModuleInfo } from '../code/module.ts';
import { isTestFile } from '../code/project.ts';
import type { AuditContext } from '../context.ts';
import { normalizeModelId } from '../model-ids.ts';
import type { Evidence, Finding } from '../result.ts';
import { modelsOf } from './knobs.ts';
import {
  anchorEvidence,
  at,
  type Evaluator,
  fail,
  findings,
  gatewayProvides,
  NO_CLAUDE,
  na,
  ok,
  warn,
} from './util.ts';

const HEALTH_PATH =
  /^\/?(api\/)?(v\d+\/)?(health|healthz|healthcheck|health-check|health_check|readyz|livez|ready|readiness|liveness|_health|ping)\/?$/i;
const CLIENT_RECEIVER =
  /(^|\.)(axios|api|apiClient|client|http|https|fetcher|request|requests|session|instance|got|ky|supertest|agent|httpx|aiohttp|\$http|this\.http)$/i;
const HEALTH_FILE =
  /(^|\/)(app\/(.+\/)?(health|healthz|readyz|livez|ready|ping)\/route\.[jt]s|pages\/api\/(health|healthz|readyz|livez|ready|ping)(\/index)?\.[jt]sx?)$/;

interface Route {
  file: string;
  line: number;
  path: string;
  handlers: FnInfo[];
}

function healthRoutes(ctx: AuditContext): Route[] {
  const routes: Route[] = [];
  for (const file of ctx.project.codeFiles()) {
    if (isTestFile(file)) continue;
    if (HEALTH_FILE.test(file)) {
      const m = ctx.project.module(file);
      if (m) {
        const handlers = m.functions.filter(
          (f) => !f.parent && /^(GET|HEAD|handler|default)$/.test(f.name ?? ''),
        );
        const def = m.bindings.get('default');
        routes.push({
          file,
          line: handlers[0]?.line ?? 1,
          path: file,
          handlers: handlers.length > 0 ? handlers : def ? fnsOf(m, def[def.length - 1]) : [],
        });
      }
      continue;
    }
    const t = ctx.project.text(file);
    if (
      !t ||
      !/["'`]\/?(api\/)?(v\d+\/)?(health|healthz|healthcheck|health-check|health_check|readyz|livez|ready|readiness|liveness|_health|ping)\/?["'`]/i.test(
        t,
      )
    )
      continue;
    const m = ctx.project.module(file);
    if (!m) continue;
    if (m.family === 'py') {
      for (const f of m.functions) {
        for (const d of f.decorators) {
          const call = named(d)[0];
          const p = stringLiteral(named(call?.field('arguments'))[0]);
          if (
            p &&
            HEALTH_PATH.test(p) &&
            /\.(get|route|api_route|head|add_api_route)$/.test(call?.field('function')?.text() ?? '')
          )
            routes.push({ file, line: f.line, path: p, handlers: [f] });
        }
      }
      for (const c of m.calls) {
        const p = stringLiteral(c.args[0]);
        if (!p || !HEALTH_PATH.test(p)) continue;
        if (
          /^(path|re_path|url|web\.get|add_get|router\.add_get|app\.add_url_rule|add_url_rule|add_api_route|app\.add_route)$|\.(add_get|add_url_rule|add_api_route|add_route)$/.test(
            c.calleeText,
          )
        )
          routes.push({ file, line: c.line, path: p, handlers: c.args.slice(1).flatMap((a) => fnsOf(m, a)) });
      }
      continue;
    }
    for (const c of m.calls) {
      const first = c.args[0];
      if (!first) continue;
      if (/\.route$/.test(c.calleeText) && first.kind() === 'object') {
        const url = ctx.ev.prop(ctx.ev.eval(first, m), 'url');
        const handler = ctx.ev.prop(ctx.ev.eval(first, m), 'handler');
        if (url.kind === 'string' && HEALTH_PATH.test(url.value))
          routes.push({
            file,
            line: c.line,
            path: url.value,
            handlers: handler.kind === 'fn' ? [handler.fn] : [],
          });
        continue;
      }
      const p = stringLiteral(first);
      if (!p || !HEALTH_PATH.test(p)) continue;
      if (!/\.(get|all|head|route|use)$/.test(c.calleeText) || CLIENT_RECEIVER.test(c.receiver ?? ''))
        continue;
      const rest = c.args.slice(1);
      const handlers = rest.flatMap((a) => fnsOf(m, a));
      if (
        rest.length === 0 ||
        (handlers.length === 0 &&
          !rest.some((a) => a.kind() === 'identifier' || a.kind() === 'member_expression'))
      )
        continue;
      routes.push({ file, line: c.line, path: p, handlers });
    }
  }
  return routes;
}

/** Functions a handler expression stands for (inline function, named function, imported one). */
function fnsOf(m: ModuleInfo, node: SgNode): FnInfo[] {
  const k = node.kind();
  if (k === 'arrow_function' || k === 'function_expression' || k === 'function' || k === 'lambda')
    return m.functions.filter((f) => f.start === startOf(node));
  if (k === 'identifier' || k === 'attribute' || k === 'member_expression') {
    const name = node.text().split('.').pop() ?? '';
    return m.functions.filter((f) => f.name === name && !f.parent);
  }
  if (k === 'function_declaration' || k === 'function_definition')
    return m.functions.filter((f) => f.start === startOf(node));
  return [];
}

/** The Claude sites a handler reaches through the call graph (five levels). */
function reached(ctx: AuditContext, handlers: FnInfo[]): Site[] {
  const seen = new Set<FnInfo>(handlers);
  let frontier = [...handlers];
  for (let d = 0; d < 5 && frontier.length > 0; d++) {
    const next: FnInfo[] = [];
    for (const f of frontier) {
      for (const g of ctx.graph.callees(f)) {
        if (seen.has(g)) continue;
        seen.add(g);
        next.push(g);
      }
    }
    frontier = next;
  }
  return ctx.claude.sites.filter(
    (s) =>
      !s.test &&
      [...seen].some(
        (f) => f.module.file === s.file && s.call && s.call.start >= f.start && s.call.start < f.end,
      ),
  );
}

function badModel(ctx: AuditContext, s: Site): string | undefined {
  for (const id of modelsOf(ctx, s)) {
    const ref = normalizeModelId(id);
    const e = ref ? resolveModel(ref.id) : undefined;
    if (!e) return `an unknown model id (${id})`;
    if (statusOf(e, ctx.now) === 'retired') return `a retired model (${id})`;
  }
  return undefined;
}

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const routes = healthRoutes(ctx);
  if (routes.length === 0) {
    const gw = gatewayProvides(ctx, ['health']);
    if (gw) return ok('Gantry config sets a health probe', [gw]);
    if (!ctx.server.http)
      return na('the app defines no HTTP routes of its own (CLI, bot, serverless handler or UI framework)');
    return findings('no health endpoint', [
      fail(anchorEvidence(ctx, `no /health, /healthz or /readyz route in the ${ctx.server.http.message}`)),
    ]);
  }
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const r of routes) {
    const sites = reached(ctx, r.handlers);
    const probe = sites.find((s) => s.kind === 'probe');
    const gen = sites.find((s) => s.kind !== 'probe');
    const bad = [...sites].map((s) => badModel(ctx, s)).find((b) => b !== undefined);
    if (bad)
      list.push(
        fail(at(r, `health route ${r.path} probes with ${bad}: the probe will report the API as down`)),
      );
    else if (probe)
      ev.push(at(r, `health route ${r.path} probes with count_tokens (${probe.file}:${probe.line})`));
    else if (gen)
      list.push(
        warn(
          at(
            r,
            `health route ${r.path} generates messages (${gen.file}:${gen.line}): use count_tokens, no generation cost`,
          ),
        ),
      );
    else list.push(warn(at(r, `health route ${r.path} does not probe API connectivity (count_tokens)`)));
  }
  if (ev.length > 0) {
    const fails = list.filter((f) => f.level === 'fail');
    return findings(
      fails.length > 0
        ? `${fails.length} health route(s) name a bad model id`
        : 'a health route probes with count_tokens',
      fails,
      ev,
    );
  }
  return findings('no health route probes the API cheaply', list);
};
