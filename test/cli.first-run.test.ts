/**
 * The first command a new user runs tells the truth (issue 14.7): an old Node
 * says what it needs, a gateway without a key says so at start and in its 401,
 * and `serve --simulate` runs offline, labelled simulated in its banner, its
 * responses and /health, with a curl and SDK snippet that work.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/gantry.js');
const cwd = mkdtempSync(join(tmpdir(), 'gantry-first-run-'));
after(() => rmSync(cwd, { recursive: true, force: true }));

function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of ['ANTHROPIC_API_KEY', 'GANTRY_CONFIG', 'NODE_OPTIONS'])
    if (!(name in extra)) delete env[name];
  return env;
}

/** Starts `node bin/gantry.js serve …` in an empty directory; resolves with its URL and everything it wrote. */
async function serve(
  args: string[],
  env: NodeJS.ProcessEnv,
  t: { after(fn: () => void): void },
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // The banner is written in one piece; wait for its last line when there is one.
      const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m && (!args.includes('--simulate') || stderr.includes('For real answers'))) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gantry serve exited ${code}: ${stderr}`));
    });
  });
  return { child, url, stderr: () => stderr };
}

/** Another `node` on the PATH older than 22.18 (the system's), if this machine has one. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    const r = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const [major, minor] = r.stdout.trim().split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 18)) return candidate;
  }
  return undefined;
}

describe('the Node.js version is checked first', () => {
  const old = oldNode();
  test('an old Node says what Gantry needs and how to get it (exit 1, no ERR_UNKNOWN_FILE_EXTENSION)', {
    skip: old ? false : 'no Node.js older than 22.18 on this machine',
  }, () => {
    const r = spawnSync(old!, [bin, 'serve'], { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Gantry needs Node\.js >= 22\.18/);
    assert.match(r.stderr, /this is Node\.js v\d+/);
    assert.match(r.stderr, /nodejs\.org/);
    assert.match(r.stderr, /nvm install 24/);
    assert.doesNotMatch(r.stderr, /ERR_UNKNOWN_FILE_EXTENSION|at file:/);
  });

  test('type stripping turned off is named, with the fix', () => {
    const r = spawnSync(process.execPath, ['--no-experimental-strip-types', bin, 'models'], {
      cwd,
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /type stripping turned off/);
    assert.match(r.stderr, /Remove --no-experimental-strip-types/);
  });

  test('a current Node runs the command', () => {
    const out = execFileSync(process.execPath, [bin, 'models', '--json'], {
      cwd,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    assert.ok(Array.isArray(JSON.parse(out).models));
  });
});

describe('a gateway without a key says so', () => {
  test('at start in plain words, and in its 401 (with or without a key sent)', async (t) => {
    const gw = await serve([], cleanEnv({ GANTRY_V8_DEFAULTS: '1' }), t);
    assert.match(gw.stderr(), /no Anthropic API key: ANTHROPIC_API_KEY is not set/);
    assert.match(gw.stderr(), /every request will be refused with 401/);
    assert.match(gw.stderr(), /npx gantry serve --simulate/);
    for (const headers of [{}, { 'x-api-key': 'sk-ant-api03-some-key' }]) {
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { type: string; message: string } };
      assert.equal(body.error.type, 'authentication_error');
      assert.match(
        body.error.message,
        /This gateway has no Anthropic API key \(ANTHROPIC_API_KEY is not set\)/,
      );
      assert.doesNotMatch(body.error.message, /virtual key in the/);
    }
  });
});

describe('gantry serve --simulate', () => {
  test('runs offline, labelled simulated in its banner, its responses and /health; its snippets work', async (t) => {
    const gw = await serve(['--simulate'], cleanEnv({ GANTRY_V8_DEFAULTS: '1' }), t);
    const banner = gw.stderr();
    assert.match(banner, /SIMULATED UPSTREAM/);
    assert.doesNotMatch(banner, /no Anthropic API key/, 'the simulated gateway needs no key');

    // The printed curl command, run as printed.
    const curl = /(curl -s [\s\S]*?\]}')/.exec(banner)?.[1];
    assert.ok(curl, banner);
    const out = execFileSync('sh', ['-c', `${curl.replace(/\\\n/g, ' ')} -D -`], { encoding: 'utf8' });
    assert.match(out, /^HTTP\/1\.1 200/);
    assert.match(out, /gantry-upstream: simulated/i);
    assert.match(out, /"type":"message"/);

    // The printed SDK snippet's base URL and key.
    const sdkLine = /new Anthropic\(\{ baseURL: '([^']+)', apiKey: '([^']+)' \}\)/.exec(banner);
    assert.ok(sdkLine, banner);
    const client = new Anthropic({ baseURL: sdkLine[1], apiKey: sdkLine[2], maxRetries: 0 });
    const { data, response } = await client.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse();
    assert.equal(response.headers.get('gantry-upstream'), 'simulated');
    assert.match((data.content[0] as { text: string }).text, /Hello/);

    // Errors are labelled too, and /health says it.
    const refused = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'wrong' },
    });
    assert.equal(refused.headers.get('gantry-upstream'), 'simulated');
    const health = await fetch(`${gw.url}/health`);
    assert.equal(health.headers.get('gantry-upstream'), 'simulated');
    assert.equal(((await health.json()) as { simulated?: boolean }).simulated, true);
  });

  test('is never the default: a plain serve is not labelled', async (t) => {
    const gw = await serve(
      [],
      cleanEnv({ ANTHROPIC_API_KEY: 'sk-ant-api03-test', GANTRY_V8_DEFAULTS: '1' }),
      t,
    );
    assert.doesNotMatch(gw.stderr(), /SIMULATED|no Anthropic API key/);
    const res = await fetch(`${gw.url}/livez`);
    assert.equal(res.headers.get('gantry-upstream'), null);
  });
});
