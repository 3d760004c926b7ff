/**
 * Key rotation under steady load, against the simulator (which accepts the old
 * key until it is revoked, then answers 401): zero failed client requests.
 * Also: SIGTERM-style drain with 50 open streams.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startResilientGateway } from './resilience-support.ts';

const VIRTUAL_KEY = 'gk_resilienceKey00000000000000000000000000000';
const ADMIN_KEY = 'gk_rotationAdmin0000000000000000000000000000';
const OLD = 'sk-ant-api03-rotation-old-00000000000000000000000000000000000000000000000000000000000AA';
const NEW = 'sk-ant-api03-rotation-new-00000000000000000000000000000000000000000000000000000000000AA';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Atomic replace, as secret managers and Kubernetes do. */
function writeSecret(path: string, value: string): void {
  writeFileSync(`${path}.tmp`, value);
  renameSync(`${path}.tmp`, path);
}

/** Steady load: `workers` loops of requests (every third one streams) until stopped. */
function load(gateway: Gateway, workers = 6) {
  let running = true;
  const failures: string[] = [];
  let done = 0;
  const one = async (i: number) => {
    const stream = i % 3 === 0;
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': VIRTUAL_KEY,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'claude-haiku-4-5',
        max_tokens: 32,
        stream,
        messages: [{ role: 'user', content: `hello ${i}` }],
      }),
    });
    const text = await res.text();
    if (res.status !== 200) failures.push(`${res.status} ${text.slice(0, 200)}`);
    else if (stream && !text.includes('event: message_stop')) failures.push(`stream without message_stop`);
    done += 1;
  };
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i += workers) await one(i);
  });
  return {
    /** Requests answered so far. */
    done: () => done,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { failures, done };
    },
  };
}

/** Waits until the load has answered `more` further requests. */
async function served(traffic: { done(): number }, more: number, what: string): Promise<void> {
  const mark = traffic.done();
  await until(() => traffic.done() >= mark + more, what);
}

async function until(check: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('key rotation under load, zero failed requests', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gantry-rotation-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('one key reference (file:): write the new key, the gateway re-reads it, revoke the old one', async () => {
    const file = join(dir, 'single');
    writeSecret(file, OLD);
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [OLD], requestLogSize: 5000 });
    const { gateway } = await startResilientGateway(sim, {
      environments: { prod: { name: 'prod', upstreamKey: `file:${file}` } },
    });
    try {
      const traffic = load(gateway);
      await served(traffic, 10, 'traffic on the old key');
      sim.state.updateKeys({ add: [NEW] }); // the new key is created at the provider
      writeSecret(file, NEW); // ... and written to the secret store
      const usedNew = () => sim.state.requests.all().some((r) => r.headers['x-api-key'] === NEW);
      await until(usedNew, 'the gateway to send the new key');
      sim.state.updateKeys({ revoke: OLD }); // the old key is revoked
      await served(traffic, 30, 'traffic after the revocation');
      const { failures, done } = await traffic.stop();
      assert.deepEqual(failures, []);
      assert.ok(done > 10, `only ${done} requests`);
      const last = sim.state.requests.all().slice(-5);
      assert.ok(last.every((r) => r.headers['x-api-key'] === NEW));
    } finally {
      await gateway.close();
      await sim.close();
    }
  });

  test('two key slots: add the new key, drain the old one with the admin route, revoke it, disable it', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b'); // not written yet: slot b has no value and is skipped
    writeSecret(a, OLD);
    const sim = await startSimulator({ profile: 'perf', acceptedKeys: [OLD], requestLogSize: 5000 });
    const { gateway } = await startResilientGateway(sim, {
      environments: {
        prod: {
          name: 'prod',
          upstreamKey: `file:${a}`,
          upstreamKeys: [
            { id: 'primary', key: `file:${a}`, state: 'active', weight: 1 },
            { id: 'secondary', key: `file:${b}`, state: 'active', weight: 1 },
          ],
        },
      },
      admin: { keySha256: hashKey(ADMIN_KEY) },
    });
    const admin = async (method: 'GET' | 'POST', payload?: unknown) => {
      const res = await fetch(`${gateway.url}/admin/upstream-keys`, {
        method,
        headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
      assert.equal(res.status, 200);
      return (await res.json()) as {
        environments: Record<
          string,
          Array<{ id: string; state: string; inflight: number; has_value: boolean }>
        >;
      };
    };
    try {
      const traffic = load(gateway);
      await served(traffic, 10, 'traffic on the primary key');
      assert.equal((await admin('GET')).environments.prod[1].has_value, false);
      sim.state.updateKeys({ add: [NEW] });
      writeSecret(b, NEW);
      await until(
        () => sim.state.requests.all().some((r) => r.headers['x-api-key'] === NEW),
        'the new key to take traffic',
      );
      await admin('POST', { environment: 'prod', id: 'primary', state: 'draining' });
      // Wait until no request uses the old key any more, then revoke it.
      for (;;) {
        const view = await admin('GET');
        if (view.environments.prod[0].inflight === 0) break;
        await sleep(10);
      }
      const sentBeforeRevoke = sim.state.requests.all().length;
      sim.state.updateKeys({ revoke: OLD });
      await served(traffic, 20, 'traffic after the revocation');
      await admin('POST', { environment: 'prod', id: 'primary', state: 'disabled' });
      await served(traffic, 10, 'traffic after the key was disabled');
      const { failures, done } = await traffic.stop();
      assert.deepEqual(failures, []);
      assert.ok(done > 10, `only ${done} requests`);
      const afterRevoke = sim.state.requests.all().slice(sentBeforeRevoke);
      assert.ok(afterRevoke.length > 3);
      assert.ok(afterRevoke.every((r) => r.headers['x-api-key'] === NEW && r.status !== 401));
      const view = await admin('GET');
      assert.deepEqual(
        view.environments.prod.map((k) => [k.id, k.state]),
        [
          ['primary', 'disabled'],
          ['secondary', 'active'],
        ],
      );
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

describe('graceful drain', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ profile: 'perf' });
  });
  after(() => sim.close());

  test('shutdown during 50 open streams: all complete within the drain timeout, none cut', async () => {
    const { gateway } = await startResilientGateway(sim);
    // Each stream takes about a second: 10 deltas, 100 ms apart.
    sim.state.enqueue({ lorem: 30, chunkSize: 12, chunkDelayMs: 100, times: 50 });
    const opened = await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${gateway.url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': VIRTUAL_KEY,
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            model: 'claude-haiku-4-5',
            max_tokens: 64,
            stream: true,
            messages: [{ role: 'user', content: 'drain me' }],
          }),
        }),
      ),
    );
    assert.ok(opened.every((r) => r.status === 200));
    const bodies = opened.map((r) => r.text());
    const started = performance.now();
    await gateway.close(); // what SIGTERM calls (see test/gateway.test.ts for the signal itself)
    const closedAfter = performance.now() - started;
    const texts = await Promise.all(bodies);
    assert.ok(closedAfter < 5_000, `drain took ${closedAfter} ms (drain timeout 5 s)`);
    for (const text of texts) {
      assert.ok(text.includes('event: message_stop'), 'stream completed');
      assert.ok(!text.includes('event: error'), 'stream not cut');
    }
  });
});
