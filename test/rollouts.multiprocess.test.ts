/**
 * Two real `gantry serve` processes sharing one Redis (their own key prefix)
 * run one rollout: a rollout started through one is in force on the other;
 * every customer gets the same arm from both, before and after a promotion
 * made with `gantry rollout promote` through the other; a customer on the
 * candidate stays there when the share grows; a gateway restarted resumes
 * the rollout at its step, with its decisions, and assigns as before.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { hashKey } from '../src/config/keys.ts';
import { RolloutAdmin } from '../src/rollouts/client.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { spawnServe, UPSTREAM_KEY } from './support.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const PREFIX = `gantry-test:${randomUUID()}:`;
const KEY = `gk_rolloutmp${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `gk_rolloutmpadmin${randomBytes(12).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'gantry-rollouts-mp-'));
const run = promisify(execFile);

const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
const redisUp = await redis.connect().then(
  () => true,
  () => false,
);

after(async () => {
  if (redisUp) {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** The arm each customer gets from a gateway (one request per customer). */
async function arms(url: string, customers: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    customers.map(async (c) => {
      const res = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': KEY,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
          'x-gantry-customer': c,
        },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      assert.equal(res.status, 200, await res.text());
      out.set(c, res.headers.get('gantry-rollout') ?? '-');
    }),
  );
  return out;
}

async function eventually(fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two gateways sharing Redis assign every customer alike; a restarted gateway resumes the rollout at its step', {
  skip: !redisUp && 'Redis is not reachable',
}, async (t) => {
  const sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  t.after(() => sim.close());
  const config = join(dir, 'gantry.yaml');
  writeFileSync(
    config,
    [
      'server: { port: 0 }',
      `upstream: { base_url: "${sim.url}" }`,
      'environments: { prod: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY } }',
      `clients: [ { name: app, environment: prod, key_sha256: ${hashKey(KEY)} } ]`,
      `admin: { key_sha256: ${hashKey(ADMIN_KEY)} }`,
      `storage: { state: "${REDIS_URL}", ledger: off }`,
      `limits: { key_prefix: "${PREFIX}" }`,
      'logging: { level: warn }',
      'rollouts:',
      '  - id: migrate',
      '    clients: [app]',
      '    baseline: { model: claude-haiku-4-5 }',
      '    candidate: { model: claude-haiku-5-5 }',
      '    steps: [10, 30, 100]',
      '    hold_ms: 3600000',
      '    window_ms: 5000',
      '    evaluate_every_ms: 100',
      '    min_samples: 100000',
      '',
    ].join('\n'),
  );
  const env = { GANTRY_TEST_UPSTREAM_KEY: UPSTREAM_KEY };
  const [a, b] = await Promise.all([spawnServe(config, env, t), spawnServe(config, env, t)]);
  const adminA = new RolloutAdmin(a.url, ADMIN_KEY);
  const adminB = new RolloutAdmin(b.url, ADMIN_KEY);
  const customers = Array.from({ length: 300 }, (_, i) => `customer-${i}`);

  assert.equal((await adminB.get('migrate')).status, 'pending');
  assert.ok(
    [...(await arms(b.url, customers.slice(0, 20))).values()].every((v) => v === '-'),
    'pending: no arm',
  );
  await adminA.act('migrate', 'start');
  // B follows within its sync interval.
  await eventually(async () =>
    [...(await arms(b.url, customers.slice(0, 60))).values()].some((v) => v !== '-'),
  );
  const a1 = await arms(a.url, customers);
  const b1 = await arms(b.url, customers);
  assert.deepEqual([...b1].sort(), [...a1].sort(), 'every customer gets the same arm from both gateways');
  const candidates1 = [...a1].filter(([, v]) => v === 'migrate/candidate').map(([c]) => c);
  assert.ok(
    candidates1.length > 10 && candidates1.length < 60,
    `${candidates1.length} of 300 on the candidate at 10 %`,
  );
  // Sticky: the same customer again, through either gateway.
  assert.deepEqual([...(await arms(a.url, customers))].sort(), [...a1].sort());

  // Promoted with the CLI through B; A follows; candidates stay candidates.
  const cli = await run(
    process.execPath,
    ['bin/gantry.js', 'rollout', 'promote', 'migrate', '--gateway', b.url],
    {
      env: { ...process.env, GANTRY_ADMIN_KEY: ADMIN_KEY },
    },
  );
  assert.match(cli.stdout, /migrate: promoted \(10 % → 30 % candidate\)/);
  await eventually(async () => {
    const m = await arms(a.url, customers.slice(0, 100));
    return [...m.values()].filter((v) => v === 'migrate/candidate').length > 15;
  });
  const a2 = await arms(a.url, customers);
  const b2 = await arms(b.url, customers);
  assert.deepEqual([...b2].sort(), [...a2].sort());
  for (const c of candidates1) assert.equal(a2.get(c), 'migrate/candidate', `${c} stays on the candidate`);
  const candidates2 = [...a2].filter(([, v]) => v === 'migrate/candidate').length;
  assert.ok(candidates2 > 60 && candidates2 < 120, `${candidates2} of 300 on the candidate at 30 %`);

  // A restarts: it resumes at step 2 (30 %), with the decisions, and assigns as before.
  a.child.kill('SIGTERM');
  await new Promise((r) => a.child.once('exit', r));
  const a3 = await spawnServe(config, env, t);
  const resumed = await new RolloutAdmin(a3.url, ADMIN_KEY).get('migrate');
  assert.equal(resumed.status, 'running');
  assert.equal(resumed.step, 1);
  assert.equal(resumed.percent, 30);
  assert.deepEqual(
    resumed.decisions.map((d) => `${d.action} by ${d.by}`),
    ['promoted by operator', 'started by operator'],
  );
  assert.deepEqual([...(await arms(a3.url, customers))].sort(), [...a2].sort());

  const status = await run(
    process.execPath,
    ['bin/gantry.js', 'rollout', 'status', 'migrate', '--gateway', a3.url],
    {
      env: { ...process.env, GANTRY_ADMIN_KEY: ADMIN_KEY },
    },
  );
  assert.match(status.stdout, /migrate: running, candidate 30 % \(steps 10 → \[30\] → 100 %\)/);
  await adminB.act('migrate', 'abort');
});
