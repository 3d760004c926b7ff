import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';

test('upstream headers: anthropic-*, x-stainless-*, content negotiation; never the client credential', () => {
  const out = upstreamRequestHeaders(
    {
      'x-api-key': 'gk_client',
      authorization: 'Bearer gk_client',
      cookie: 'a=b',
      host: 'evil.example',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': ['a', 'b'],
      'x-stainless-retry-count': '1',
      'content-type': 'application/json',
      'x-gantry-customer': 'c1',
      connection: 'keep-alive',
      'transfer-encoding': 'chunked',
      traceparent: '00-abc-def-01',
    },
    'sk-upstream',
  );
  assert.deepEqual(out, {
    'anthropic-version': '2023-06-01',
    'anthropic-beta': ['a', 'b'],
    'x-stainless-retry-count': '1',
    'content-type': 'application/json',
    traceparent: '00-abc-def-01',
    'x-api-key': 'sk-upstream',
    'accept-encoding': 'identity',
  });
});

test('downstream headers: API headers pass unchanged; hop-by-hop and edge headers dropped; gantry id added', () => {
  const out = downstreamResponseHeaders(
    {
      'request-id': 'req_1',
      'retry-after': '3',
      'x-should-retry': 'false',
      'anthropic-ratelimit-requests-remaining': '9',
      'content-type': 'application/json',
      'content-length': '10',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'set-cookie': ['x=1'],
      'cf-ray': 'abc',
      server: 'cloudflare',
    },
    'gtw_1',
  );
  assert.deepEqual(out, {
    'request-id': 'req_1',
    'retry-after': '3',
    'x-should-retry': 'false',
    'anthropic-ratelimit-requests-remaining': '9',
    'content-type': 'application/json',
    'content-length': '10',
    'gantry-request-id': 'gtw_1',
  });
});

test('anthropic-* is an open list; a client deny-list removes names from it', () => {
  const incoming = {
    'anthropic-version': '2023-06-01',
    'anthropic-workspace-id': 'wrkspc_1',
    'anthropic-beta': 'some-future-beta-2027-01-01',
  };
  assert.deepEqual(Object.keys(upstreamRequestHeaders(incoming, 'k')).sort(), [
    'accept-encoding',
    'anthropic-beta',
    'anthropic-version',
    'anthropic-workspace-id',
    'x-api-key',
  ]);
  const denied = upstreamRequestHeaders(incoming, 'k', new Set(['anthropic-beta']));
  assert.equal(denied['anthropic-beta'], undefined);
  assert.equal(denied['anthropic-workspace-id'], 'wrkspc_1');
});
