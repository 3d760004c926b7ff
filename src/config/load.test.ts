import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, findConfigFile, loadConfig } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'gantry-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  test('with no file anywhere: the embedded defaults', () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const config = loadConfig({ cwd: empty, env: {} });
    assert.equal(config.source, 'defaults');
    assert.equal(config.server.port, 8787);
    assert.equal(config.environments.default.upstreamKey, 'env:ANTHROPIC_API_KEY');
    assert.ok(Object.isFrozen(config));
    assert.equal(findConfigFile({ cwd: empty, env: {} }), undefined);
  });

  test('./gantry.yaml in cwd is used when present', () => {
    const path = write('cwd/gantry.yaml', 'server: { port: 1111 }\n');
    const config = loadConfig({ cwd: join(dir, 'cwd'), env: {} });
    assert.equal(config.source, path);
    assert.equal(config.server.port, 1111);
  });

  test('GANTRY_CONFIG beats ./gantry.yaml, and --config beats both', () => {
    write('cwd/gantry.yaml', 'server: { port: 1111 }\n');
    const fromEnv = write('env.yaml', 'server: { port: 2222 }\n');
    const fromFlag = write('flag.yaml', 'server: { port: 3333 }\n');
    const cwd = join(dir, 'cwd');
    assert.equal(loadConfig({ cwd, env: { GANTRY_CONFIG: fromEnv } }).server.port, 2222);
    assert.equal(loadConfig({ cwd, env: { GANTRY_CONFIG: fromEnv }, path: fromFlag }).server.port, 3333);
    assert.equal(loadConfig({ cwd: dir, env: {}, path: 'flag.yaml' }).source, fromFlag, 'relative to cwd');
  });

  test('a named file that does not exist is an error, not a fallback to defaults', () => {
    for (const opts of [
      { path: join(dir, 'nope.yaml'), env: {} },
      { env: { GANTRY_CONFIG: join(dir, 'nope.yaml') } },
    ]) {
      assert.throws(
        () => loadConfig({ cwd: dir, ...opts }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.exitCode === 2 &&
          err.issues.length === 1 &&
          /config file not found/.test(err.message) &&
          err.message.includes(join(dir, 'nope.yaml')),
      );
    }
  });

  test('relative file: references resolve against the config file directory', () => {
    const path = write(
      'nested/conf/gantry.yaml',
      'environments: { default: { upstream_key: "file:secrets/key" } }\n',
    );
    const config = loadConfig({ path, env: {} });
    assert.equal(config.environments.default.upstreamKey, `file:${join(dir, 'nested/conf/secrets/key')}`);
  });

  test('an invalid file throws a ConfigError with every issue', () => {
    const path = write('bad.yaml', 'server:\n  port: x\n  nope: 1\n');
    assert.throws(
      () => loadConfig({ path, env: {} }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.source, path);
        assert.deepEqual(
          err.issues.map((i) => i.path),
          ['server.port', 'server.nope'],
        );
        assert.ok(Object.isFrozen(err.issues));
        return true;
      },
    );
  });

  test('duplicate keys are a YAML error', () => {
    const path = write('dup.yaml', 'server: { port: 1 }\nserver: { port: 2 }\n');
    assert.throws(() => loadConfig({ path, env: {} }), /YAML syntax: .*unique/i);
  });
});
