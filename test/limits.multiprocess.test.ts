/**
 * Three `gantry serve` processes sharing one real Redis enforce ONE
 * requests-per-minute limit: load is driven through all three at once and the
 * count of 200s must match the token bucket's allowance over the test window
 * (capacity + rate × window) within ±2 %. The rate is kept low because the
 * test machine is shared and slow: what matters is that demand exceeds it. A tokens-per-minute limit refunds
 * unused `max_tokens` reservations across processes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { UPSTREAM_KEY } from './support.ts';

const REDIS_URL = process.env.GANTRY_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const KEY = 'gk_multiprocessShared00000000000000000000';
const TPM_KEY = 'gk_multiprocessTpm00000000000000000000000';
const RPM = 30;
const WINDOW_MS = 6_000;

let sim: Simulator;
let dir: string;
const children: ChildProcess[] = [];
const urls: string[] = [];

function startGateway(configPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/gantry.js', 'serve', '--config', configPath, '--port', '0'], {
      env: { ...process.env, GANTRY_TEST_UPSTREAM_KEY: UPSTREAM_KEY },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`gantry serve exited ${code}: ${err}`)));
  });
}

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  dir = mkdtempSync(join(tmpdir(), 'gantry-limits-'));
  const config = join(dir, 'gantry.yaml');
  writeFileSync(
    config,
    [
      `upstream: { base_url: "${sim.url}" }`,
      'environments:',
      '  prod: { upstream_key: env:GANTRY_TEST_UPSTREAM_KEY }',
      'clients:',
      `  - { name: shared, environment: prod, key_sha256: ${hashKey(KEY)}, limits: { rpm: ${RPM} } }`,
      `  - { name: tpm, environment: prod, key_sha256: ${hashKey(TPM_KEY)}, limits: { output_tpm: 1000 } }`,
      `storage: { state: "${REDIS_URL}", ledger: "sqlite:${join(dir, 'ledger.db')}" }`,
      `limits: { key_prefix: "gantry-test:${randomUUID()}:" }`,
      'logging: { level: warn }',
      '',
    ].join('\n'),
  );
  urls.push(...(await Promise.all([startGateway(config), startGateway(config), startGateway(config)])));
});

after(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const body = (maxTokens: number) =>
  JSON.stringify({
    model: 'claude-haiku-4-5',
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: 'hi' }],
  });

async function post(url: string, key: string, maxTokens = 16): Promise<Response> {
  return fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: body(maxTokens),
  });
}

test('three processes on one Redis enforce one requests-per-minute limit within ±2 %', async () => {
  const perGateway = urls.map(() => ({ ok: 0, limited: 0 }));
  let firstSend = Number.POSITIVE_INFINITY;
  let lastSend = 0;
  let firstDone = Number.POSITIVE_INFINITY;
  let lastDone = 0;
  const start = performance.now();
  const worker = async (g: number) => {
    while (performance.now() - start < WINDOW_MS) {
      const sent = performance.now();
      const res = await post(urls[g], KEY);
      const done = performance.now();
      await res.arrayBuffer();
      firstSend = Math.min(firstSend, sent);
      lastSend = Math.max(lastSend, sent);
      firstDone = Math.min(firstDone, done);
      lastDone = Math.max(lastDone, done);
      if (res.status === 200) perGateway[g].ok++;
      else if (res.status === 429) {
        assert.ok(Number(res.headers.get('retry-after')) >= 1);
        perGateway[g].limited++;
      } else assert.fail(`unexpected status ${res.status}`);
      // Paced, to spare the shared CPU: demand (up to 6 × 20 requests/s) still far exceeds the refill (0.5/s).
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(urls.flatMap((_, g) => [worker(g), worker(g)]));
  const ok = perGateway.reduce((n, p) => n + p.ok, 0);
  const limited = perGateway.reduce((n, p) => n + p.limited, 0);
  // The bucket starts full and refills one whole request at a time; admissions happened between the
  // first send and the last answer, so the exact allowance lies between these two counts.
  const rate = RPM / 60_000;
  const low = RPM + Math.floor(rate * (lastSend - firstDone));
  const high = RPM + rate * (lastDone - firstSend); // not floored: Redis's clock and ours may differ by a few ms
  console.log(
    `# 3 gateways, ${RPM} rpm, ${(lastDone - firstSend).toFixed(0)} ms: ${ok} × 200, ${limited} × 429; allowance ${low}–${high.toFixed(2)}; per gateway ${JSON.stringify(perGateway)}`,
  );
  assert.ok(limited >= 10, 'the load exceeded the limit throughout');
  for (const p of perGateway) assert.ok(p.ok > 0 && p.limited > 0, 'every gateway served and limited');
  // The exact allowance lies between low and high (timing uncertainty of the window's ends); allow ±2 % around it.
  assert.ok(
    ok >= low * 0.98 && ok <= high * 1.02,
    `${ok} 200s vs allowance ${low}–${high.toFixed(2)} (±2 %)`,
  );
});

test('output tokens per minute across processes: unused max_tokens are refunded', async () => {
  // 1000 output tokens a minute and 600 reserved per request: without refunds only the first would pass.
  for (let i = 0; i < 6; i++) {
    const res = await post(urls[i % 3], TPM_KEY, 600);
    const text = await res.text();
    assert.equal(res.status, 200, `request ${i}: ${text}`);
    await new Promise((r) => setTimeout(r, 100)); // settling runs just after the response
  }
});
