/**
 * The real Claude Code binary (npm `@anthropic-ai/claude-code`, a dev
 * dependency) runs through gateway → simulator, as docs/claude-code.md sets it
 * up: one virtual key per developer, Claude Code's JSON `metadata.user_id`
 * read as a person (not a session), its session id recorded, custom headers,
 * a scripted tool call executed by Claude Code, and the gateway's retries not
 * multiplied by Claude Code's.
 *
 * Skips, saying why, only when the binary cannot run on this machine (its
 * native build is an optional dependency per platform).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { type LedgerRow, ledgerRowOf } from '../src/ledger/row.ts';
import type { ExchangeRecord } from '../src/pipeline/record.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

const CLAUDE = fileURLToPath(new URL('../node_modules/.bin/claude', import.meta.url));
const ALICE_KEY = 'gk_claudeCodeAlice000000000000000000000000000';
const BOB_KEY = 'gk_claudeCodeBob00000000000000000000000000000';

/** Why the binary cannot run here, or undefined when it can. */
function unavailable(): string | undefined {
  const r = spawnSync(CLAUDE, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error)
    return `node_modules/.bin/claude cannot run: ${r.error.message} (npm install the dev dependencies)`;
  if (r.status !== 0 || !/Claude Code/.test(r.stdout))
    return `node_modules/.bin/claude --version failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(0, 200)} — its native binary for ${process.platform}-${process.arch} is missing`;
  return undefined;
}
const skip = unavailable();

let sim: Simulator;
let gateway: Gateway;
const home = mkdtempSync(join(tmpdir(), 'gantry-claude-code-'));
const rows: LedgerRow[] = [];
const onComplete = (r: ExchangeRecord) => {
  rows.push(ledgerRowOf(r));
};

before(async () => {
  if (skip) return;
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  ({ gateway } = await startTestGateway(sim.url, {
    environments: { prod: { name: 'prod', upstreamKey: 'env:GANTRY_TEST_UPSTREAM_KEY' } },
    // One virtual key per developer; the customer from Claude Code's metadata.user_id (the default source).
    clients: [
      { name: 'dev-alice', environment: 'prod', keySha256: hashKey(ALICE_KEY), limits: {} },
      { name: 'dev-bob', environment: 'prod', keySha256: hashKey(BOB_KEY), limits: {} },
    ],
    resilience: {
      maxAttempts: 2,
      retryBudget: { ratio: 1, minRetries: 1000, windowMs: 60_000 },
      breaker: { failureRate: 0.99, window: 10_000, minVolume: 10_000, cooldownMs: 1_000 },
    },
  }));
  gateway.events.exchangeComplete.subscribe(onComplete);
});
after(async () => {
  if (skip) return;
  await gateway.close();
  await sim.close();
  rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  if (skip) return;
  sim.state.reset();
  rows.length = 0;
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** `--output-format json`'s result, when it printed one. */
  result?: { session_id: string; result: string; is_error: boolean };
}

/** Runs `claude -p <prompt>` against the gateway, as a developer's shell would. */
async function claude(
  prompt: string,
  o: { key?: string; env?: Record<string, string>; args?: string[] } = {},
): Promise<Run> {
  const child = spawn(
    CLAUDE,
    ['-p', prompt, '--output-format', 'json', '--model', 'claude-haiku-4-5', ...(o.args ?? [])],
    {
      cwd: home,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        ANTHROPIC_BASE_URL: gateway.url,
        ANTHROPIC_API_KEY: o.key ?? ALICE_KEY,
        // docs/claude-code.md: no traffic to Anthropic besides the API calls the gateway relays.
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  let result: Run['result'];
  try {
    result = JSON.parse(stdout);
  } catch {
    result = undefined;
  }
  return { code, stdout, stderr, result };
}

const messageRows = () => rows.filter((r) => r.route === 'messages');

describe('Claude Code through gateway → simulator', { skip }, () => {
  test('a prompt answers through the gateway, attributed to the developer’s key, its session recorded', async () => {
    const run = await claude('Say hello through Gantry');
    assert.equal(run.code, 0, run.stderr || run.stdout);
    assert.equal(run.result?.is_error, false);
    assert.match(run.result!.result, /Say hello through Gantry/);
    const [row] = messageRows();
    assert.equal(row.client, 'dev-alice');
    assert.equal(row.status, 200);
    assert.equal(row.sessionId, run.result!.session_id, 'x-claude-code-session-id in the ledger row');
    assert.ok(row.costMicros > 0);
    // What Claude Code sent upstream through the gateway: the beta header and the body, unchanged.
    const upstream = sim.state.requests.all().find((r) => r.path === '/v1/messages')!;
    assert.match(String(upstream.headers['anthropic-beta']), /claude-code-20250219/);
    assert.equal(upstream.headers['x-api-key'], UPSTREAM_KEY, 'the virtual key never reaches the upstream');
  });

  test('two sessions of one developer are one customer (metadata.user_id read as the person, not the session)', async () => {
    const a = await claude('first session');
    const b = await claude('second session');
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.notEqual(a.result!.session_id, b.result!.session_id);
    const [ra, rb] = messageRows();
    assert.ok(ra.customer, 'a customer');
    assert.equal(ra.customer, rb.customer);
    assert.notEqual(ra.customer, a.result!.session_id);
    assert.notEqual(ra.sessionId, rb.sessionId);
    // The raw user_id is Claude Code's JSON; the customer is its device (API-key logins have no account).
    const userId = JSON.parse(
      (sim.state.requests.all()[0].body as { metadata: { user_id: string } }).metadata.user_id,
    ) as { device_id: string; session_id: string };
    assert.equal(ra.customer, userId.device_id);
  });

  test('ANTHROPIC_CUSTOM_HEADERS reach the gateway: x-gantry-customer names the customer', async () => {
    const run = await claude('custom headers', {
      key: BOB_KEY,
      env: { ANTHROPIC_CUSTOM_HEADERS: 'x-gantry-customer: team-payments' },
    });
    assert.equal(run.code, 0, run.stderr);
    const [row] = messageRows();
    assert.equal(row.client, 'dev-bob');
    assert.equal(row.customer, 'team-payments');
  });

  test('a scripted tool call: Claude Code runs the tool and sends its result back through the gateway', async () => {
    const file = join(home, 'notes.txt');
    writeFileSync(file, 'The launch code is BLUE-42.\n');
    sim.state.enqueue(
      { text: 'Let me read it.', toolUse: { name: 'Read', input: { file_path: file } } },
      { text: 'The file says the launch code is BLUE-42.' },
    );
    const run = await claude('What does notes.txt say?', { args: ['--allowedTools', 'Read'] });
    assert.equal(run.code, 0, run.stderr || run.stdout);
    assert.equal(run.result!.result, 'The file says the launch code is BLUE-42.');
    const calls = sim.state.requests.all().filter((r) => r.path === '/v1/messages');
    assert.equal(calls.length, 2);
    const second = calls[1].body as { messages: Array<{ role: string; content: unknown }> };
    const results = second.messages
      .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
      .filter((b: { type?: string }) => b.type === 'tool_result');
    assert.equal(results.length, 1);
    assert.match(JSON.stringify(results[0]), /BLUE-42/);
    assert.equal(messageRows().length, 2);
    assert.ok(messageRows().every((r) => r.sessionId === run.result!.session_id));
  });

  test('under 529s Claude Code honours x-should-retry: the gateway’s 2 attempts, not more', async () => {
    sim.state.addFault({ kind: 'status', status: 529, count: 1000, retryAfterMs: 5, path: '/v1/messages' });
    const run = await claude('overloaded?');
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /529|Overloaded/i);
    assert.equal(sim.state.requests.all().filter((r) => r.path === '/v1/messages').length, 2);
  });
});
