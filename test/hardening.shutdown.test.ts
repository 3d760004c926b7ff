/**
 * Every answered or cut request has its ledger row, also at the drain timeout
 * (issue 12, item 6): streams still running when `server.drain_timeout_ms`
 * ends are cut, and each still gets its row before the ledger closes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_shutdownDrainKey000000000000000000000000';
const dir = mkdtempSync(join(tmpdir(), 'gantry-drain-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('six streams cut at the drain timeout leave six ledger rows', async () => {
  // A slow stream: 200 words at 50 ms each outlast the 300 ms drain by far.
  const sim = await startSimulator({
    profile: 'perf',
    acceptedKeys: [UPSTREAM_KEY],
    latency: { perChunk: { type: 'fixed', ms: 50 } },
  });
  sim.state.replyMode = { mode: 'lorem', loremWords: 200 };
  const db = join(dir, 'ledger.db');
  const { gateway } = await startTestGateway(sim.url, {
    server: { drainTimeoutMs: 300, shutdownTimeoutMs: 5_000 },
    clients: [{ name: 'app', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
    storage: { ledger: `sqlite:${db}`, ledgerFlushMs: 1_000 },
  });
  const ids: string[] = [];
  const readers = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => {
      const res = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 1_000,
          stream: true,
          messages: [{ role: 'user', content: `long story ${i}` }],
        }),
      });
      ids.push(res.headers.get('gantry-request-id')!);
      const reader = res.body!.getReader();
      await reader.read(); // the stream started
      return reader;
    }),
  );
  // Keep reading in the background so the cut, not backpressure, ends them.
  const drains = readers.map(async (r) => {
    try {
      for (;;) if ((await r.read()).done) return;
    } catch {
      // cut by the shutdown
    }
  });
  await gateway.close();
  await Promise.all(drains);
  await sim.close();
  const store = await openLedgerStore(`sqlite:${db}`);
  const rows = await store.rows();
  await store.close();
  const found = ids.filter((id) => rows.some((r) => r.id === id));
  assert.equal(found.length, 6, `rows for ${found.length} of 6 cut streams`);
});
