/** `gantry keys rotate` against a running gateway with two key slots. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rotate } from '../src/cli/keys-rotate.ts';
import { hashKey } from '../src/config/keys.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { startResilientGateway } from './resilience-support.ts';

const ADMIN_KEY = 'gk_rotateCliAdmin000000000000000000000000000';
const KEY_A = 'sk-ant-api03-cli-key-a-0000000000000000000000000000000000000000000000000000000000000AA';
const KEY_B = 'sk-ant-api03-cli-key-b-0000000000000000000000000000000000000000000000000000000000000AA';

test('gantry keys rotate: new key active, old key drained and disabled, next steps printed', async () => {
  process.env.GANTRY_TEST_CLI_KEY_A = KEY_A;
  process.env.GANTRY_TEST_CLI_KEY_B = KEY_B;
  const sim = await startSimulator({ profile: 'perf', acceptedKeys: [KEY_A, KEY_B] });
  const { gateway } = await startResilientGateway(sim, {
    environments: {
      prod: {
        name: 'prod',
        upstreamKey: 'env:GANTRY_TEST_CLI_KEY_A',
        upstreamKeys: [
          { id: 'old', key: 'env:GANTRY_TEST_CLI_KEY_A', state: 'active', weight: 1 },
          { id: 'new', key: 'env:GANTRY_TEST_CLI_KEY_B', state: 'disabled', weight: 1 },
        ],
      },
    },
    admin: { keySha256: hashKey(ADMIN_KEY) },
  });
  let text = '';
  const stdout = { write: (s: string) => (text += s) };
  const env = { GANTRY_ADMIN_KEY: ADMIN_KEY };
  try {
    await rotate(
      { gateway: gateway.url, environment: 'prod', from: 'old', to: 'new', disable: true },
      { stdout, env, pollMs: 10 },
    );
    assert.match(text, /made "new" active/);
    assert.match(text, /"old" is draining/);
    assert.match(text, /disabled "old"/);
    assert.match(text, /revoke the old key/);
    const res = await fetch(`${gateway.url}/admin/upstream-keys`, { headers: { 'x-api-key': ADMIN_KEY } });
    const view = (await res.json()) as { environments: { prod: Array<{ id: string; state: string }> } };
    assert.deepEqual(
      view.environments.prod.map((k) => [k.id, k.state]),
      [
        ['old', 'disabled'],
        ['new', 'active'],
      ],
    );
    await assert.rejects(
      rotate({ gateway: gateway.url, environment: 'prod', from: 'old', to: 'new' }, { stdout, env: {} }),
      /GANTRY_ADMIN_KEY/,
    );
    await assert.rejects(
      rotate({ gateway: gateway.url, environment: 'nope', from: 'old', to: 'new' }, { stdout, env }),
      /no environment "nope"/,
    );
    text = '';
    await rotate({ gateway: gateway.url, environment: 'prod' }, { stdout, env });
    assert.match(text, /Write it to the secret/);
    assert.ok(!text.includes(KEY_A) && !text.includes(ADMIN_KEY));
  } finally {
    await gateway.close();
    await sim.close();
  }
});
