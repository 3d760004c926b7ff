import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { ResolvedConfig } from '../config/types.ts';
import { safetyConfig } from './config.ts';
import { Moderator, parseModelVerdict } from './moderation.ts';

let calls = 0;
let delayMs = 0;
let status = 200;
const server = createServer((req, res) => {
  calls++;
  req.resume();
  req.on('end', () => {
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ flagged: true, categories: ['Self Harm'] }));
    }, delayMs).unref();
  });
});
let url = '';
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => new Promise((r) => server.close(r)));

const ctx = {
  config: { environments: {}, upstream: { baseUrl: 'http://127.0.0.1:9' } } as unknown as ResolvedConfig,
  secrets: { value: () => undefined, onChange: () => {} },
};
const moderator = (o: Record<string, unknown>) =>
  new Moderator(
    safetyConfig({ moderation: { mode: 'block', url, timeout_ms: 100, ...o } }).moderation,
    ctx,
    'x',
  );

test('webhook verdict becomes moderation.<category> rules; cached by content for the TTL', async () => {
  delayMs = 0;
  status = 200;
  const m = moderator({ cache_ttl_ms: 60_000, timeout_ms: 5000 });
  const before = calls;
  const v = await m.check('some text', 'input');
  assert.deepEqual(v, { flagged: true, rules: ['moderation.self_harm'] });
  assert.equal((await m.check('some text', 'input')).cached, true);
  await m.check('some text', 'output'); // direction is part of the key
  assert.equal(calls - before, 2);
  const noCache = moderator({ cache_ttl_ms: 0, timeout_ms: 5000 });
  await noCache.check('t', 'input');
  await noCache.check('t', 'input');
  assert.equal(calls - before, 4);
});

test('timeouts and errors follow on_error; they are never cached', async () => {
  delayMs = 1500;
  const open = await moderator({ on_error: 'open', timeout_ms: 500 }).check('slow', 'input');
  assert.deepEqual({ flagged: open.flagged, error: open.error }, { flagged: false, error: 'timeout' });
  const closed = moderator({ on_error: 'closed', timeout_ms: 500 });
  const c = await closed.check('slow', 'input');
  assert.deepEqual(
    { flagged: c.flagged, rules: c.rules, error: c.error },
    {
      flagged: true,
      rules: ['moderation.unavailable'],
      error: 'timeout',
    },
  );
  delayMs = 0;
  status = 500;
  const e = await moderator({ on_error: 'closed', timeout_ms: 5000 }).check('err', 'input');
  assert.deepEqual(e.rules, ['moderation.unavailable']);
  status = 200;
  // The failed verdict was not cached: the next call asks again and gets the real verdict.
  assert.deepEqual((await closed.check('slow', 'input')).rules, ['moderation.self_harm']);
});

test('model provider without an upstream key fails per on_error', async () => {
  const m = new Moderator(
    safetyConfig({ moderation: { mode: 'block', provider: 'model', on_error: 'closed' } }).moderation,
    ctx,
    'missing',
  );
  assert.deepEqual((await m.check('x', 'input')).rules, ['moderation.unavailable']);
});

test('parseModelVerdict reads JSON or a leading word', () => {
  assert.deepEqual(parseModelVerdict('{"flagged": false}'), { flagged: false, categories: [] });
  assert.deepEqual(parseModelVerdict('Verdict: {"flagged": true, "categories": ["violence"]}'), {
    flagged: true,
    categories: ['violence'],
  });
  assert.deepEqual(parseModelVerdict('SAFE'), { flagged: false, categories: [] });
  assert.deepEqual(parseModelVerdict('Flagged - hateful'), { flagged: true, categories: [] });
  assert.throws(() => parseModelVerdict('I cannot say'));
});
