/**
 * SIGTERM under load loses no ledger row: `gantry serve` is spawned with a
 * SQLite ledger and a long flush interval (so rows sit in memory), loaded by
 * concurrent clients (streams and non-streams), then stopped with SIGTERM.
 * Every request a client got an answer for has its row.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
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
