/**
 * Which headers cross the gateway, in each direction.
 *
 * Upstream (client -> API): an allow-list. `anthropic-*` (version, beta, ...),
 * the SDK's `x-stainless-*` telemetry, content negotiation, user agent and W3C
 * trace context. `anthropic-*` is an open list on purpose: Anthropic's gateway
 * protocol for Claude Code requires every `anthropic-*` header to reach the API
 * (Claude Platform on AWS needs `anthropic-workspace-id`, new betas arrive as
 * headers). A client's `deny_headers` removes names from it for that client. Never the client's credential, cookies, `host` or Gantry's own
 * `x-gantry-*` headers. The upstream key is added by the upstream stage.
 * `accept-encoding: identity` is sent so the gateway can read usage from the
 * bytes it forwards.
 *
 * Downstream (API -> client): everything except hop-by-hop headers and the
 * edge's own (cookies, server, CDN ids), so `request-id`, `anthropic-*`,
 * `retry-after`, `retry-after-ms` and `x-should-retry` reach the SDK unchanged.
 */
import type { IncomingHttpHeaders } from 'node:http';

const FORWARD_EXACT = new Set(['content-type', 'accept', 'user-agent', 'traceparent', 'tracestate']);

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  upstreamKey: string,
  deny?: ReadonlySet<string>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    if (FORWARD_EXACT.has(name) || name.startsWith('anthropic-') || name.startsWith('x-stainless-')) {
      if (deny?.has(name)) continue;
      out[name] = value;
    }
  }
  out['x-api-key'] = upstreamKey;
  out['accept-encoding'] = 'identity';
  return out;
}

const DROP_DOWNSTREAM = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'server',
  'date',
  'via',
  'alt-svc',
  'nel',
  'report-to',
  'x-envoy-upstream-service-time',
]);

export function downstreamResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  gantryRequestId: string,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || DROP_DOWNSTREAM.has(name) || name.startsWith('cf-')) continue;
    out[name] = value;
  }
  out['gantry-request-id'] = gantryRequestId;
  return out;
}
