import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from './load.ts';
import { parseCommand, parseSecretRef, SecretRefError } from './refs.ts';
import { SecretRegistry } from './registry.ts';
import { openSecret, type SecretHandle, type SecretLogger } from './secrets.ts';

const dir = mkdtempSync(join(tmpdir(), 'gantry-secrets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function tempPath(name: string): string {
  return join(dir, `${++seq}-${name}`);
}

/** Polls `check` every 10 ms until it holds or `ms` pass. */
async function waitFor(check: () => boolean, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A logger that records every line, to assert no secret value reaches it. */
function recordingLogger(): SecretLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
    warn: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
  };
}

/** A `exec:` reference running a node script. */
function nodeScript(source: string): string {
  const path = tempPath('script.mjs');
  writeFileSync(path, source);
  return `exec:${JSON.stringify(process.execPath)} ${JSON.stringify(path)}`;
}

describe('parseSecretRef and parseCommand', () => {
  test('the three kinds', () => {
    assert.deepEqual(parseSecretRef('env:ANTHROPIC_API_KEY'), { kind: 'env', name: 'ANTHROPIC_API_KEY' });
    assert.deepEqual(parseSecretRef('file:/run/secrets/k'), { kind: 'file', path: '/run/secrets/k' });
    assert.deepEqual(parseSecretRef('exec:vault kv get -field=key secret/anthropic'), {
      kind: 'exec',
      argv: ['vault', 'kv', 'get', '-field=key', 'secret/anthropic'],
    });
    assert.throws(() => parseSecretRef('sk-ant-api03-xyz'), SecretRefError);
    assert.throws(() => parseSecretRef('env:1BAD'), SecretRefError);
  });

  test('errors never repeat the reference', () => {
    try {
      parseSecretRef('hunter2-password');
      assert.fail('expected a throw');
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /hunter2/);
    }
  });

  test('shell-like quoting without a shell', () => {
    assert.deepEqual(parseCommand(`a 'b c' "d \\"e\\" \\\\ f" g\\ h  ''`), [
      'a',
      'b c',
      'd "e" \\ f',
      'g h',
      '',
    ]);
    assert.deepEqual(parseCommand('  op   read  "op://vault/item/field"  '), [
      'op',
      'read',
      'op://vault/item/field',
    ]);
    assert.deepEqual(parseCommand(`echo '$HOME | x'`), ['echo', '$HOME | x'], 'single quotes are literal');
    for (const bad of [
      'a | b',
      'a > f',
      'a; b',
      'a && b',
      'echo $HOME',
      'echo "$HOME"',
      'echo `id`',
      "a 'b",
      'a "b',
      'a \\',
    ]) {
      assert.throws(() => parseCommand(bad), SecretRefError, bad);
    }
  });
});

describe('env:', () => {
  test('read once, at open, trimmed', async () => {
    const env: NodeJS.ProcessEnv = { MY_KEY: ' value-1\n' };
    const handle = openSecret('env:MY_KEY', { env });
    await handle.ready;
    assert.equal(handle.kind, 'env');
    assert.equal(handle.spec, 'env:MY_KEY');
    assert.equal(handle.value(), 'value-1');
    assert.equal(handle.problem(), undefined);
    env.MY_KEY = 'value-2';
    assert.equal(handle.value(), 'value-1');
    handle.close();
  });

  test('missing or empty: no value, problem "not set"', () => {
    for (const env of [{}, { MY_KEY: '' }, { MY_KEY: '  ' }]) {
      const handle = openSecret('env:MY_KEY', { env });
      assert.equal(handle.value(), undefined);
      assert.equal(handle.problem(), 'not set');
    }
  });
});

describe('file:', () => {
  test('read at open (trimmed), re-read after an in-place rewrite', async () => {
    const path = tempPath('key');
    writeFileSync(path, 'first-secret\n');
    const logger = recordingLogger();
    const changed: SecretHandle[] = [];
    const handle = openSecret(`file:${path}`, { logger, onChange: (h) => changed.push(h) });
    try {
      assert.equal(handle.kind, 'file');
      assert.equal(handle.value(), 'first-secret');
      writeFileSync(path, 'second-secret\n');
      await waitFor(() => handle.value() === 'second-secret');
      assert.equal(changed.length, 1);
      assert.equal(changed[0], handle);
      assert.ok(logger.lines.some((l) => l.includes('secret changed') && l.includes(path)));
      assert.ok(
        !logger.lines.some((l) => l.includes('first-secret') || l.includes('second-secret')),
        'never logs the value',
      );
    } finally {
      handle.close();
    }
  });

  test('survives atomic rename-replace', async () => {
    const path = tempPath('key');
    writeFileSync(path, 'v1');
    const handle = openSecret(`file:${path}`);
    try {
      for (const next of ['v2', 'v3']) {
        const tmp = `${path}.tmp`;
        writeFileSync(tmp, next);
        renameSync(tmp, path);
        await waitFor(() => handle.value() === next);
      }
    } finally {
      handle.close();
    }
  });

  test('follows a Kubernetes-style ..data symlink swap', async () => {
    const mount = tempPath('k8s');
    mkdirSync(join(mount, '..v1'), { recursive: true });
    writeFileSync(join(mount, '..v1', 'key'), 'k8s-v1');
    symlinkSync('..v1', join(mount, '..data'));
    symlinkSync(join('..data', 'key'), join(mount, 'key'));
    const handle = openSecret(`file:${join(mount, 'key')}`, { filePollMs: 100 });
    try {
      assert.equal(handle.value(), 'k8s-v1');
      mkdirSync(join(mount, '..v2'));
      writeFileSync(join(mount, '..v2', 'key'), 'k8s-v2');
      symlinkSync('..v2', join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      await waitFor(() => handle.value() === 'k8s-v2');
    } finally {
      handle.close();
    }
  });

  test('a failed re-read keeps the last good value; a file that appears later is picked up', async () => {
    const path = tempPath('key');
    const logger = recordingLogger();
    const handle = openSecret(`file:${path}`, { logger, filePollMs: 50 });
    try {
      assert.equal(handle.value(), undefined);
      assert.equal(handle.problem(), 'file not found');
      writeFileSync(path, 'appeared');
      await waitFor(() => handle.value() === 'appeared');
      assert.equal(handle.problem(), undefined);

      unlinkSync(path);
      await waitFor(() => handle.problem() === 'file not found');
      assert.equal(handle.value(), 'appeared', 'keeps the last good value');

      writeFileSync(path, '   \n');
      await waitFor(() => handle.problem() === 'file is empty');
      assert.equal(handle.value(), 'appeared', 'an empty file (a half-written one) keeps the last value');

      writeFileSync(path, 'back');
      await waitFor(() => handle.value() === 'back');
      assert.ok(
        !logger.lines.some((l) => /appeared|back/.test(l.replace(/"msg":"[^"]*"/, ''))),
        'never logs the value',
      );
    } finally {
      handle.close();
    }
  });

  test('relative paths resolve against cwd', () => {
    const path = tempPath('rel');
    writeFileSync(path, 'rel-value');
    const handle = openSecret(`file:${path.slice(dir.length + 1)}`, { cwd: dir });
    assert.equal(handle.value(), 'rel-value');
    handle.close();
  });
});

describe('exec:', () => {
  test('runs the command without a shell; ready resolves after the first run', async () => {
    const spec = nodeScript('process.stdout.write("  exec-secret  \\n" + process.argv.slice(2).join(","));');
    const handle = openSecret(`${spec} 'a b' c`);
    assert.equal(handle.kind, 'exec');
    await handle.ready;
    assert.equal(handle.value(), 'exec-secret  \na b,c');
    assert.equal(handle.problem(), undefined);
    handle.close();
  });

  test('the command sees the given env', async () => {
    const handle = openSecret(nodeScript('process.stdout.write(process.env.FROM_ENV ?? "none");'), {
      env: { FROM_ENV: 'from-env' },
    });
    await handle.ready;
    assert.equal(handle.value(), 'from-env');
    handle.close();
  });

  test('refreshes on its interval; a failure keeps the last good value', async () => {
    const valueFile = tempPath('value');
    writeFileSync(valueFile, 'one');
    const spec = nodeScript(`
      import { readFileSync } from 'node:fs';
      const v = readFileSync(${JSON.stringify(valueFile)}, 'utf8');
      if (v === 'fail') { process.stderr.write('boom'); process.exit(3); }
      process.stdout.write(v);
    `);
    const logger = recordingLogger();
    const changed: string[] = [];
    const handle = openSecret(spec, {
      execRefreshMs: 50,
      logger,
      onChange: (h) => changed.push(h.value() ?? ''),
    });
    try {
      await handle.ready;
      assert.equal(handle.value(), 'one');
      writeFileSync(valueFile, 'two');
      await waitFor(() => handle.value() === 'two');
      assert.deepEqual(changed, ['two']);

      writeFileSync(valueFile, 'fail');
      await waitFor(() => handle.problem() === 'exited with code 3');
      assert.equal(handle.value(), 'two');

      writeFileSync(valueFile, 'three');
      await waitFor(() => handle.value() === 'three');
      assert.equal(handle.problem(), undefined);
      const logged = logger.lines.join('\n');
      assert.match(logged, /keeping the last good value/);
      assert.doesNotMatch(logged, /"(one|two|three)"|boom/);
    } finally {
      handle.close();
    }
  });

  test('a command that hangs is killed after the timeout', async () => {
    const handle = openSecret(nodeScript('setTimeout(() => {}, 60_000);'), { execTimeoutMs: 300 });
    const started = Date.now();
    await handle.ready;
    assert.ok(Date.now() - started < 5000);
    assert.equal(handle.value(), undefined);
    assert.equal(handle.problem(), 'timed out after 300 ms');
    handle.close();
  });

  test('a missing command or empty output is a problem, not a throw', async () => {
    const missing = openSecret('exec:/nonexistent/gantry-no-such-command');
    await missing.ready;
    assert.equal(missing.value(), undefined);
    assert.equal(missing.problem(), 'command not found: /nonexistent/gantry-no-such-command');
    missing.close();

    const silent = openSecret(nodeScript(''));
    await silent.ready;
    assert.equal(silent.problem(), 'printed nothing');
    silent.close();
  });

  test('close() stops refreshing', async () => {
    const counter = tempPath('count');
    writeFileSync(counter, '');
    const handle = openSecret(
      nodeScript(
        `import { appendFileSync } from 'node:fs'; appendFileSync(${JSON.stringify(counter)}, 'x'); process.stdout.write('v');`,
      ),
      { execRefreshMs: 20 },
    );
    await handle.ready;
    handle.close();
    const { readFileSync } = await import('node:fs');
    const runs = readFileSync(counter, 'utf8').length;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(readFileSync(counter, 'utf8').length, runs);
  });
});

describe('SecretRegistry', () => {
  test('opens every secret of a config, shares handles, closes them together', async () => {
    const keyFile = tempPath('client-key');
    writeFileSync(keyFile, 'gk_client');
    const config = parseConfig(
      `
environments:
  prod: { upstream_key: env:UP_PROD }
  staging: { upstream_key: '${nodeScript('process.stdout.write("staging-key")')}' }
clients:
  - { name: a, environment: prod, key: "file:${keyFile}" }
  - { name: b, environment: staging, key_sha256: ${'a'.repeat(64)} }
`,
      { source: 'test', baseDir: dir },
    );
    const registry = await SecretRegistry.open(config, { env: { UP_PROD: 'prod-key' } });
    try {
      assert.equal(registry.upstreamKey('prod').value(), 'prod-key');
      assert.equal(registry.upstreamKey('staging').value(), 'staging-key');
      assert.equal(registry.clientKey('a')?.value(), 'gk_client');
      assert.equal(registry.clientKey('b'), undefined);
      assert.throws(() => registry.upstreamKey('nope'), /unknown environment/);
      assert.deepEqual(
        registry.entries().map((e) => e.usedBy),
        [['environments.prod.upstream_key'], ['environments.staging.upstream_key'], ['clients[0].key']],
      );
    } finally {
      registry.close();
    }
  });
});
