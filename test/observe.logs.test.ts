/**
 * Logs (OBS-1, ERR-3): every error line carries the upstream `request-id`
 * when there is one; content stays out of the log; the opt-in debug content
 * mode logs prompts with secrets masked and says so loudly at start-up.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import type { ResolvedConfig } from '../src/config/types.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';
import { maskSecrets } from '../src/observe/debug-content.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, testConfig, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_logsSuiteKey000000000000000000000000000';
const MODEL = 'claude-haiku-4-5';
const MARKER = 'zebra-quartz-7781';
const SECRETS = [
  'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789',
  'gk_someoneElsesVirtualKey0000000000',
  'AKIAIOSFODNN7EXAMPLE',
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
];

let sim: Simulator;
before(async () => {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
});
after(() => sim.close());

async function gateway(debugContent: boolean): Promise<{ gw: Gateway; logs: LogSink }> {
  const base = testConfig(sim.url, {
    clients: [{ name: 'checkout', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
    resilience: { maxAttempts: 1 }, // upstream errors reach the metrics unretried
  });
  const config: ResolvedConfig = {
    ...base,
    alerts: { ...base.alerts, enabled: false },
    logging: { ...base.logging, ...(debugContent ? { debugContent: true } : {}) },
  };
  const logs = new LogSink();
  return { gw: await startGateway({ config, logDestination: logs }), logs };
}

const post = (url: string, extra: Record<string, unknown> = {}) =>
  fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL,
      max_tokens: 50,
      system: `You are support. ${MARKER}`,
      messages: [{ role: 'user', content: `my keys: ${SECRETS.join(' ')} and password=hunter22 ${MARKER}` }],
      ...extra,
    }),
  });

test('every error line carries the upstream request-id; content is never logged', async () => {
  const { gw, logs } = await gateway(false);
  try {
    const cases: Array<[string, () => void, Record<string, unknown>]> = [
      ['429', () => sim.state.addFault({ kind: 'status', status: 429, count: 1, retryAfter: 1 }), {}],
      ['529', () => sim.state.addFault({ kind: 'status', status: 529, count: 1 }), {}],
      ['401', () => sim.state.addFault({ kind: 'status', status: 401, count: 1 }), {}],
      [
        'stream error',
        () => sim.state.addFault({ kind: 'stream_error', count: 1, afterEvents: 3 }),
        { stream: true },
      ],
    ];
    for (const [name, arm, extra] of cases) {
      arm();
      const res = await post(gw.url, extra);
      const upstreamId = res.headers.get('request-id');
      await res.text();
      assert.match(String(upstreamId), /^req_/, name);
      const line = logs.records().findLast((r) => r.upstream_request_id === upstreamId);
      assert.ok(line, `${name}: a log line with the upstream request-id`);
      assert.equal(line.level, 'warn', `${name}: logged as an error line`);
      assert.ok(line.error_type, `${name}: with its error type`);
    }
    const text = logs.text();
    assert.ok(!text.includes(MARKER), 'no prompt content');
    for (const s of SECRETS) assert.ok(!text.includes(s));
    assert.ok(!text.includes('debug content'));
  } finally {
    await gw.close();
  }
});

test('debug content mode: prompts logged with secrets masked, and a loud start-up warning', async () => {
  const { gw, logs } = await gateway(true);
  try {
    const warn = logs.records().find((r) => r.level === 'warn' && /DEBUG CONTENT/.test(String(r.msg)));
    assert.ok(warn, 'start-up warning');
    const res = await post(gw.url);
    const rid = res.headers.get('gantry-request-id');
    await res.text();
    const line = logs.records().find((r) => r.msg === 'debug content' && r.req_id === rid);
    assert.ok(line);
    const content = line.debug_content as { system_json: string; messages_json: string };
    assert.match(content.system_json, new RegExp(MARKER));
    assert.match(content.messages_json, new RegExp(MARKER));
    const text = logs.text();
    for (const s of SECRETS) assert.ok(!text.includes(s), `masked: ${s.slice(0, 6)}`);
    assert.ok(!text.includes('hunter22'));
    assert.match(content.messages_json, /sk-ant-\*{8}/);
  } finally {
    await gw.close();
  }
});

test('maskSecrets', () => {
  assert.equal(maskSecrets('Authorization: Bearer abcdefghijkl.mnop'), 'Authorization: Bearer ********');
  assert.equal(maskSecrets('"api_key": "abcd1234efgh"'), '"api_key": "********"');
  assert.equal(
    maskSecrets('-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----'),
    '[private key ********]',
  );
  assert.equal(maskSecrets('hello world'), 'hello world');
});
