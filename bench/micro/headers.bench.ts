/**
 * Micro-benchmark: header filtering in both directions
 * (`upstreamRequestHeaders`, `downstreamResponseHeaders`) on the headers the
 * official SDK sends and the API answers with.
 *
 *   node bench/micro/headers.bench.ts
 */
import type { IncomingHttpHeaders } from 'node:http';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../src/pipeline/headers.ts';
import { bench } from './harness.ts';

const sdkRequest: IncomingHttpHeaders = {
  host: '127.0.0.1:8787',
  connection: 'keep-alive',
  accept: 'application/json',
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'prompt-caching-2024-07-31',
  'content-type': 'application/json',
  'user-agent': 'Anthropic/JS 0.60.0',
  'x-api-key': 'gk-bench-client-0001',
  'x-stainless-arch': 'x64',
  'x-stainless-lang': 'js',
  'x-stainless-os': 'Linux',
  'x-stainless-package-version': '0.60.0',
  'x-stainless-retry-count': '0',
  'x-stainless-runtime': 'node',
  'x-stainless-runtime-version': 'v24.0.0',
  'x-stainless-timeout': '600',
  'accept-encoding': 'gzip, deflate',
  'content-length': '123',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};
const apiResponse: Record<string, string | string[] | undefined> = {
  date: 'Sat, 28 Nov 2026 00:00:00 GMT',
  'content-type': 'application/json',
  'content-length': '611',
  connection: 'keep-alive',
  'anthropic-ratelimit-requests-limit': '4000',
  'anthropic-ratelimit-requests-remaining': '3999',
  'anthropic-ratelimit-requests-reset': '2026-11-28T00:00:01Z',
  'anthropic-ratelimit-input-tokens-limit': '400000',
  'anthropic-ratelimit-input-tokens-remaining': '399000',
  'anthropic-ratelimit-input-tokens-reset': '2026-11-28T00:00:01Z',
  'anthropic-ratelimit-output-tokens-limit': '80000',
  'anthropic-ratelimit-output-tokens-remaining': '79000',
  'anthropic-ratelimit-output-tokens-reset': '2026-11-28T00:00:01Z',
  'request-id': 'req_011CTxyz',
  'anthropic-organization-id': 'dd1ac050-b462-4dc6-a6bc-890d5a23735e',
  via: '1.1 google',
  'cf-cache-status': 'DYNAMIC',
  'cf-ray': '8f0000000000000-SJC',
  server: 'cloudflare',
  'x-envoy-upstream-service-time': '523',
  'set-cookie': ['a=b; Path=/'],
};

console.log('header filtering');
bench('upstreamRequestHeaders (SDK request, 19 headers)', () => upstreamRequestHeaders(sdkRequest, 'sk-up'));
bench('downstreamResponseHeaders (API reply, 21 headers)', () =>
  downstreamResponseHeaders(apiResponse, 'gr_1'),
);
