/**
 * Measures what a hard kill (SIGKILL) of `gantry serve` loses from the ledger:
 * loads the gateway (local mode, simulator upstream, SQLite ledger) with
 * concurrent clients, kills it with SIGKILL, and counts the answered requests
 * that have no row. Bounded: at most ~2,000 requests, 30 s, loopback only.
 *
 *   node bench/ledger/hard-kill.ts [flush_ms=1000] [workers=8]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLedgerStore } from '../../src/ledger/store.ts';
import { startSimulator } from '../../src/simulator/index.ts';

const KEY = 'sk-ant-api03-bench-upstream-key-00000000000000000000000000000000000000000000000000000000AA';
const flushMs = Number(process.argv[2] ?? 1000);
const workers = Number(process.argv[3] ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'gantry-kill-'));
const db = join(dir, 'ledger.db');
const sim = await startSimulator({ profile: 'perf', acceptedKeys: [KEY] });
const config = join(dir, 'gantry.yaml');
writeFileSync(
  config,
  `server:\n  port: 0\nupstream:\n  base_url: ${sim.url}\nlogging:\n  level: error\nstorage:\n  ledger: sqlite:${db}\n  ledger_flush_ms: ${flushMs}\n`,
);
const child = spawn(process.execPath, ['bin/gantry.js', 'serve', '--config', config], {
  env: { ...process.env, ANTHROPIC_API_KEY: KEY },
  stdio: ['ignore', 'ignore', 'pipe'],
});
let stderr = '';
const url = await new Promise<string>((resolve) => {
  child.stderr.on('data', (d) => {
    stderr += d.toString();
    const m = /listening on (http:\/\/\S+)/.exec(stderr);
    if (m) resolve(m[1]);
  });
});
const answered: Array<{ id: string; at: number }> = [];
let stop = false;
const worker = async () => {
  for (let i = 0; !stop && i < 500; i++) {
    try {
      const res = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 32,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
      await res.arrayBuffer();
      const id = res.headers.get('gantry-request-id');
      if (id) answered.push({ id, at: Date.now() });
    } catch {
      return;
    }
  }
};
const running = Array.from({ length: workers }, worker);
const t0 = Date.now();
while (answered.length < 1500 && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
const killedAt = Date.now();
child.kill('SIGKILL');
await once(child, 'exit');
stop = true;
await Promise.all(running);
const store = await openLedgerStore(`sqlite:${db}`);
const ids = new Set((await store.rows()).map((r) => r.id));
await store.close();
const missing = answered.filter((a) => !ids.has(a.id));
const rate = answered.length / ((killedAt - t0) / 1000);
const oldest = missing.length ? killedAt - Math.min(...missing.map((m) => m.at)) : 0;
console.log(
  JSON.stringify({
    flush_ms: flushMs,
    answered: answered.length,
    requests_per_s: Math.round(rate),
    missing: missing.length,
    missing_ms_of_traffic: Math.round((missing.length / rate) * 1000),
    oldest_missing_answered_ms_before_kill: oldest,
  }),
);
await sim.close();
rmSync(dir, { recursive: true, force: true });
