/**
 * SIGTERM under load loses no ledger row: `gantry serve` is spawned with a
 * SQLite ledger and a long flush interval (so rows sit in memory), loaded by
 * concurrent clients (streams and non-streams), then stopped with SIGTERM.
 * Every request a client got an answer for has its row.
 *
 * And with the ledger's PostgreSQL blackholed (chaos/lib/proxy.ts): SIGTERM
 * returns within the shutdown deadline, the rows the store could not take
 * are spilled to a local file, and the next start replays them — every
 * answered request has exactly one row.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { FaultProxy } from '../chaos/lib/proxy.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { spawnServe, UPSTREAM_KEY } from './support.ts';

let sim: Simulator;
const dir = mkdtempSync(join(tmpdir(), 'gantry-sigterm-'));
before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
});
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

test('SIGTERM under load: every answered request has its ledger row', async (t) => {
  const db = join(dir, 'ledger.db');
  const config = join(dir, 'gantry.yaml');
  writeFileSync(
    config,
    `server:\n  port: 0\n  drain_timeout_ms: 10000\nupstream:\n  base_url: ${sim.url}\nlogging:\n  level: warn\n` +
      `storage:\n  ledger: sqlite:${db}\n  ledger_flush_ms: 60000\n`,
  );
  const serve = await spawnServe(config, { ANTHROPIC_API_KEY: UPSTREAM_KEY }, t);
  const { child, url } = serve;

  const answered: string[] = [];
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop && i < 2000; i++) {
      try {
        const res = await fetch(`${url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': UPSTREAM_KEY,
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            model: 'claude-haiku-4-5',
            max_tokens: 64,
            stream: (w + i) % 2 === 0,
            messages: [{ role: 'user', content: `load ${w}.${i}` }],
          }),
        });
        await res.arrayBuffer();
        const id = res.headers.get('gantry-request-id');
        if (id) answered.push(id);
      } catch {
        return; // the gateway stopped listening
      }
    }
  };
  const workers = Array.from({ length: 6 }, (_, w) => worker(w));
  const t0 = Date.now();
  while (answered.length < 150 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 10));
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  stop = true;
  await Promise.all(workers);
  assert.equal(code, 0, serve.stderr());
  assert.ok(answered.length >= 150, `only ${answered.length} answers`);

  const store = await openLedgerStore(`sqlite:${db}`);
  const ids = new Set((await store.rows()).map((r) => r.id));
  await store.close();
  const missing = answered.filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], `${missing.length} of ${answered.length} answered requests have no row`);
});

/** Sends messages requests until `stop()`; records the request id of every answered one. */
function load(url: string, workers: number) {
  const answered: string[] = [];
  let stopped = false;
  const one = async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': UPSTREAM_KEY,
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            model: 'claude-haiku-4-5',
            max_tokens: 16,
            messages: [{ role: 'user', content: 'spill' }],
          }),
        });
        await res.arrayBuffer();
        const id = res.headers.get('gantry-request-id');
        if (id && res.status === 200) answered.push(id);
      } catch {
        return;
      }
    }
  };
  const running = Array.from({ length: workers }, one);
  return {
    answered,
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

test('SIGTERM with the ledger store blackholed: exits by the deadline, spills, the next start replays every row once', async (t) => {
  const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
  const table = `gantry_sigterm_${process.pid}_${Date.now().toString(36)}`;
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: 5432 });
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  t.after(async () => {
    await proxy.close();
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  });
  const spillDir = join(dir, 'spill');
  const config = join(dir, 'gantry-pg.yaml');
  writeFileSync(
    config,
    `server:\n  port: 0\n  drain_timeout_ms: 2000\nupstream:\n  base_url: ${sim.url}\nlogging:\n  level: warn\n` +
      `storage:\n  ledger: postgres://postgres@127.0.0.1:${proxy.port}/test?table=${table}\n` +
      `  ledger_flush_ms: 100\n  ledger_timeout_ms: 1000\n  ledger_close_timeout_ms: 1500\n  ledger_spill_dir: ${spillDir}\n`,
  );
  const first = await spawnServe(config, { ANTHROPIC_API_KEY: UPSTREAM_KEY }, t);
  const traffic = load(first.url, 4);
  const t0 = Date.now();
  while (traffic.answered.length < 40 && Date.now() - t0 < 15_000)
    await new Promise((r) => setTimeout(r, 10));
  await proxy.setMode('blackhole');
  const mark = traffic.answered.length;
  while (traffic.answered.length < mark + 60 && Date.now() - t0 < 20_000)
    await new Promise((r) => setTimeout(r, 10));

  const exited = once(first.child, 'exit');
  const sigterm = Date.now();
  first.child.kill('SIGTERM');
  const [code] = await exited;
  const took = Date.now() - sigterm;
  await traffic.stop();
  assert.equal(code, 0, first.stderr());
  // Drain (requests finish at once: only the ledger hangs) + the ledger's 1.5 s close timeout + start-up slack.
  assert.ok(took < 2_000 + 1_500 + 1_500, `SIGTERM took ${took} ms`);
  const spills = readdirSync(spillDir).filter((f) => f.endsWith('.jsonl'));
  assert.ok(spills.length >= 1, 'a spill file was written');

  // The store is back; the next start replays the spill file.
  proxy.reset();
  await proxy.setMode('pass');
  const second = await spawnServe(config, { ANTHROPIC_API_KEY: UPSTREAM_KEY }, t);
  const answered = traffic.answered;
  const count = async () => Number((await admin.query(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n);
  const t1 = Date.now();
  while ((await count()) < answered.length && Date.now() - t1 < 15_000)
    await new Promise((r) => setTimeout(r, 50));
  const stopped = once(second.child, 'exit');
  second.child.kill('SIGTERM');
  await stopped;
  assert.deepEqual(
    readdirSync(spillDir).filter((f) => f.endsWith('.jsonl')),
    [],
    'the spill file is deleted once replayed',
  );
  const res = await admin.query(`SELECT id, COUNT(*) AS n FROM ${table} GROUP BY id`);
  const ids = new Map((res.rows as Array<{ id: string; n: string }>).map((r) => [r.id, Number(r.n)]));
  const missing = answered.filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], `${missing.length} of ${answered.length} answered requests have no row`);
  assert.ok(
    [...ids.values()].every((n) => n === 1),
    'no row doubled',
  );
});
