import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { hashKey } from '../src/config/keys.ts';
import { loadConfig, parseConfig } from '../src/config/load.ts';
import { configSchema } from '../src/config/sections.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/gantry.js');
const dir = mkdtempSync(join(tmpdir(), 'gantry-cli-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PROD_SECRET = `sk-ant-api03-${'P'.repeat(40)}-prodsecret`;
const FILE_SECRET = 'staging-secret-from-file-7f3a';
const CLIENT_SECRET = 'gk_clientsecretvalue1234567890';

function gantry(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = { ...process.env };
  delete clean.GANTRY_CONFIG;
  delete clean.ANTHROPIC_API_KEY;
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('gantry config check', () => {
  test('valid config: exit 0, resolved YAML, references shown, secret values never printed', () => {
    const secretFile = write('staging-key', `${FILE_SECRET}\n`);
    const config = write(
      'valid.yaml',
      `
server: { port: 9999 }
environments:
  prod: { upstream_key: env:ANTHROPIC_API_KEY_PROD }
  staging: { upstream_key: "file:${secretFile}" }
  dev: { upstream_key: env:ANTHROPIC_API_KEY_DEV }
clients:
  - { name: checkout, environment: prod, key_sha256: ${'a'.repeat(64)} }
  - { name: search, environment: staging, key: env:GANTRY_KEY_SEARCH }
`,
    );
    const run = gantry(['config', 'check', '--config', config], {
      ANTHROPIC_API_KEY_PROD: PROD_SECRET,
      GANTRY_KEY_SEARCH: CLIENT_SECRET,
    });
    assert.equal(run.code, 0, run.stderr);
    for (const secret of [PROD_SECRET, FILE_SECRET, CLIENT_SECRET, 'prodsecret']) {
      assert.ok(!run.stdout.includes(secret), 'secret in stdout');
      assert.ok(!run.stderr.includes(secret), 'secret in stderr');
    }
    const printed = parse(run.stdout);
    assert.equal(printed.server.port, 9999);
    assert.equal(printed.server.body_limit, '32mb', 'defaults are filled in');
    assert.equal(printed.upstream.base_url, 'https://api.anthropic.com');
    assert.equal(printed.environments.prod.upstream_key, 'env:ANTHROPIC_API_KEY_PROD (set)');
    assert.equal(printed.environments.staging.upstream_key, `file:${secretFile} (set)`);
    assert.equal(printed.environments.dev.upstream_key, 'env:ANTHROPIC_API_KEY_DEV (missing: not set)');
    assert.equal(printed.clients[1].key, 'env:GANTRY_KEY_SEARCH (set)');
    assert.equal(printed.clients[0].key_sha256, 'a'.repeat(64));
    assert.match(
      run.stderr,
      /warning: environments\.dev\.upstream_key: env:ANTHROPIC_API_KEY_DEV \(missing: not set\)/,
    );
  });

  test('invalid config: exit 2 and every problem with its path', () => {
    const config = write(
      'invalid.yaml',
      `
server: { port: 70000, bodyLimit: 1mb }
environments:
  prod: { upstream_key: ${PROD_SECRET} }
clients:
  - { name: a, environment: prod, key_sha256: abc }
`,
    );
    const run = gantry(['config', 'check', '-c', config]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /server\.port: expected a port number 0-65535/);
    assert.match(run.stderr, /server\.bodyLimit: unknown key; did you mean "body_limit"\?/);
    assert.match(
      run.stderr,
      /environments\.prod\.upstream_key: a literal key is not allowed here; .*"env:ANTHROPIC_API_KEY"/,
    );
    assert.match(run.stderr, /clients\[0\]\.key_sha256: expected 64 hex characters/);
    assert.ok(!run.stderr.includes('prodsecret'), 'the literal key is never echoed');
  });

  test('a missing --config file: exit 2', () => {
    const run = gantry(['config', 'check', '--config', join(dir, 'missing.yaml')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /config file not found/);
  });

  test('GANTRY_CONFIG is honoured; with no file at all the defaults are valid (local mode)', () => {
    const config = write('from-env.yaml', 'server: { port: 7777 }\n');
    const viaEnv = gantry(['config', 'check'], { GANTRY_CONFIG: config });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(parse(viaEnv.stdout).server.port, 7777);

    const defaults = gantry(['config', 'check'], { ANTHROPIC_API_KEY: PROD_SECRET });
    assert.equal(defaults.code, 0, defaults.stderr);
    assert.match(defaults.stdout, /embedded defaults/);
    assert.match(defaults.stdout, /local mode/);
    assert.equal(parse(defaults.stdout).environments.default.upstream_key, 'env:ANTHROPIC_API_KEY (set)');
    assert.ok(!defaults.stdout.includes(PROD_SECRET) && !defaults.stderr.includes(PROD_SECRET));
  });

  test('gantry.example.yaml passes', () => {
    const run = gantry(['config', 'check', '--config', join(root, 'gantry.example.yaml')]);
    assert.equal(run.code, 0, run.stderr);
  });

  test('prints the whole config: every section, defaults filled in; read back, it is the same config', () => {
    for (const file of [join(root, 'gantry.example.yaml'), undefined]) {
      const run = gantry(['config', 'check', ...(file ? ['--config', file] : [])]);
      assert.equal(run.code, 0, run.stderr);
      const printed = parse(run.stdout) as Record<string, unknown>;
      // Every top-level section of the schema is printed, defaults included.
      assert.deepEqual(Object.keys(printed).sort(), Object.keys(configSchema.shape).sort());
      // Secret references carry how they resolve; without that note, the printed YAML is the config.
      const strip = (v: unknown): unknown =>
        typeof v === 'string'
          ? v.replace(/ \((set|missing[^)]*|not checked)\)$/, '')
          : Array.isArray(v)
            ? v.map(strip)
            : v && typeof v === 'object'
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]))
              : v;
      const text = stringify(strip(printed));
      const again = parseConfig(text, { source: 'printed', baseDir: root });
      const original = file
        ? loadConfig({ path: file, env: {} })
        : parseConfig('', { source: 'printed', baseDir: root });
      assert.deepEqual({ ...again, source: '' }, { ...original, source: '' });
    }
  });
});

describe('gantry keys create', () => {
  test('prints a gk_ key once and the snippet holding its SHA-256', () => {
    const run = gantry(['keys', 'create', '--client', 'checkout-assistant', '--environment', 'prod']);
    assert.equal(run.code, 0, run.stderr);
    const key = /\b(gk_[0-9A-Za-z]{40,})\b/.exec(run.stdout)?.[1];
    assert.ok(key, run.stdout);
    assert.equal(run.stdout.split(key).length, 2, 'the key appears exactly once');
    assert.match(run.stdout, /shown only this once/);
    const hash = /key_sha256: ([0-9a-f]{64})/.exec(run.stdout)?.[1];
    assert.equal(hash, hashKey(key));
    const snippet = parse(run.stdout.slice(run.stdout.indexOf('\nclients:')));
    assert.deepEqual(snippet, {
      clients: [{ name: 'checkout-assistant', environment: 'prod', key_sha256: hash }],
    });
  });

  test('the snippet is valid config', () => {
    const run = gantry(['keys', 'create', '--client', 'search']);
    const config = write('from-keys.yaml', run.stdout.slice(run.stdout.indexOf('\nclients:')));
    const check = gantry(['config', 'check', '--config', config]);
    assert.equal(check.code, 0, check.stderr);
  });

  test('a bad client name: exit 2', () => {
    const run = gantry(['keys', 'create', '--client', 'has space']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--client: expected/);
  });
});
