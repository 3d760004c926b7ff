/**
 * A client that goes away releases everything its request held: the upstream
 * request is aborted (the upstream sees its response closed), the key's
 * in-flight count and slots return to zero, and rounds of aborted streams do
 * not grow the heap.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { startTestGateway } from './support.ts';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const KEY = 'gk_abortReleasesKey00000000000000000000000';
const ADMIN = 'gk_abortReleasesAdmin000000000000000000000';
let gateway: Gateway;
let upstream: ReturnType<typeof createServer>;
/** Upstream responses still open (streams the gateway has not released). */
const open = new Set<ServerResponse>();
let started = 0;

before(async () => {
  // An upstream that starts a stream and then sends a ping every 50 ms, forever.
  upstream = createServer((req, res) => {
    req.resume();
    started += 1;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': `req_${started}` });
    res.write(
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
    );
    open.add(res);
    const timer = setInterval(() => res.write('event: ping\ndata: {"type":"ping"}\n\n'), 50);
    res.on('close', () => {
      clearInterval(timer);
      open.delete(res);
    });
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const port = (upstream.address() as AddressInfo).port;
  ({ gateway } = await startTestGateway(`http://127.0.0.1:${port}`, {
    clients: [{ name: 'app', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
    admin: { keySha256: hashKey(ADMIN) },
  }));
});
after(async () => {
  await gateway.close();
  upstream.closeAllConnections();
  upstream.close();
});

/** Starts `n` streams, reads their first bytes, then aborts them all. */
async function abortRound(n: number): Promise<void> {
  const controllers = Array.from({ length: n }, () => new AbortController());
  await Promise.all(
    controllers.map(async (c) => {
      const res = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        signal: c.signal,
        headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          stream: true,
          messages: [{ role: 'user', content: 'never ending' }],
        }),
      });
      const reader = res.body!.getReader();
      await reader.read();
    }),
  );
  assert.equal(open.size, n, 'every stream is open upstream');
  for (const c of controllers) c.abort();
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function inflight(): Promise<number> {
  const res = await fetch(`${gateway.url}/admin/upstream-keys`, { headers: { 'x-api-key': ADMIN } });
  const body = (await res.json()) as { environments: Record<string, Array<{ inflight: number }>> };
  return Object.values(body.environments)
    .flat()
    .reduce((a, k) => a + k.inflight, 0);
}

test('a client disconnect aborts the upstream request and releases the key', async () => {
  await abortRound(20);
  await until(() => open.size === 0, 'every upstream response closed after the clients went away');
  await until(async () => (await inflight()) === 0, "the key's in-flight count back to 0");
});

test('rounds of aborted streams do not grow the heap', async () => {
  await abortRound(50);
  await until(() => open.size === 0, 'released');
  gc();
  const base = process.memoryUsage().heapUsed;
  for (let round = 0; round < 6; round++) {
    await abortRound(50);
    await until(() => open.size === 0, `round ${round} released`);
  }
  await new Promise((r) => setTimeout(r, 100));
  gc();
  gc();
  const grown = process.memoryUsage().heapUsed - base;
  // 300 aborted streams: a leak of one exchange each (its buffers, listeners) would be megabytes.
  assert.ok(grown < 2 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB over 300 aborted streams`);
});
