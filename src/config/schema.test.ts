import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatSize, parseSize } from './fields.ts';
import { formatPath } from './hints.ts';
import { ConfigError, parseConfig } from './load.ts';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const opts = { source: 'test.yaml', baseDir: '/etc/gantry' };

function parse(text: string) {
  return parseConfig(text, opts);
}

/** The issues of an invalid config, as `path: message` strings. */
function problems(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.exitCode, 2);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected the config to be rejected');
}

function hasProblem(list: string[], path: string, pattern: RegExp): void {
  assert.ok(
    list.some((p) => p.startsWith(`${path}: `) && pattern.test(p.slice(path.length + 2))),
    `expected a problem at ${path} matching ${pattern}; got:\n${list.join('\n')}`,
  );
}

describe('defaults', () => {
  test('an empty document gives the documented defaults', () => {
    const config = parse('');
    assert.equal(config.source, 'test.yaml');
    assert.deepEqual(config.server, {
      host: '127.0.0.1',
      port: 8787,
      bodyLimit: 32 * 1024 * 1024,
      headerLimit: 16 * 1024,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 65_000,
      drainTimeoutMs: 30_000,
      shutdownTimeoutMs: 45_000,
      maxJsonDepth: 128,
      adminBodyLimit: 64 * 1024,
    });
    assert.deepEqual(config.upstream, {
      baseUrl: 'https://api.anthropic.com',
      connections: 128,
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 600_000,
      bodyTimeoutMs: 300_000,
    });
    assert.deepEqual(config.environments, {
      default: { name: 'default', upstreamKey: 'env:ANTHROPIC_API_KEY' },
    });
    assert.deepEqual(config.clients, []);
    assert.deepEqual(config.logging, { level: 'info', destination: 'stdout' });
    assert.deepEqual(config.secrets, { execRefreshMs: 300_000, execTimeoutMs: 10_000 });
  });

  test('an empty section means all its defaults', () => {
    assert.equal(parse('server:\nupstream:\n').server.port, 8787);
  });
});

describe('accepts', () => {
  test('the full documented shape, mapped to camelCase', () => {
    const config = parse(`
server: { host: 0.0.0.0, port: 9000, body_limit: 1mb, header_limit: 8192, request_timeout_ms: 1000, keep_alive_timeout_ms: 2000, drain_timeout_ms: 3000 }
upstream: { base_url: "https://proxy.internal/anthropic/", connections: 4, connect_timeout_ms: 1, headers_timeout_ms: 2, body_timeout_ms: 3 }
environments:
  prod: { upstream_key: env:ANTHROPIC_API_KEY_PROD }
  staging: { upstream_key: file:/run/secrets/anthropic-staging }
  dev: { upstream_key: "exec:vault kv get -field=key secret/anthropic" }
clients:
  - name: checkout-assistant
    environment: prod
    key_sha256: ${HASH_A.toUpperCase()}
    limits: { rpm: 60, output_tpm: 1000 }
  - name: search
    environment: staging
    key: file:keys/search
logging: { level: debug, destination: /var/log/gantry.log }
secrets: { exec_refresh_ms: 60000, exec_timeout_ms: 5000 }
`);
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.bodyLimit, 1024 * 1024);
    assert.equal(config.server.headerLimit, 8192);
    assert.equal(config.upstream.baseUrl, 'https://proxy.internal/anthropic');
    assert.equal(config.upstream.connections, 4);
    assert.equal(config.environments.staging.upstreamKey, 'file:/run/secrets/anthropic-staging');
    assert.equal(config.environments.dev.name, 'dev');
    assert.equal(config.clients[0].keySha256, HASH_A, 'hash is lower-cased');
    assert.equal(config.clients[0].key, undefined);
    assert.deepEqual(config.clients[0].limits, { rpm: 60, outputTpm: 1000 });
    assert.equal(
      config.clients[1].key,
      'file:/etc/gantry/keys/search',
      'relative file: resolves against the config dir',
    );
    assert.equal(config.clients[1].keySha256, undefined);
    assert.equal(config.logging.level, 'debug');
    assert.equal(config.secrets.execTimeoutMs, 5000);
  });

  test('a client without environment belongs to "default"', () => {
    const config = parse(`clients: [{ name: a, key_sha256: ${HASH_A} }]`);
    assert.equal(config.clients[0].environment, 'default');
  });

  test('port 0 (any free port) is allowed', () => {
    assert.equal(parse('server: { port: 0 }').server.port, 0);
  });
});

describe('the result is deeply frozen', () => {
  test('no level can be changed', () => {
    const config = parse(
      `clients: [{ name: a, key_sha256: ${HASH_A}, limits: { per_customer: { budget: { daily_usd: 1 } } } }]`,
    );
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.server));
    assert.ok(Object.isFrozen(config.environments.default));
    assert.ok(Object.isFrozen(config.clients));
    assert.ok(Object.isFrozen(config.clients[0].limits));
    assert.ok(Object.isFrozen(config.clients[0].limits.perCustomer?.budget));
    assert.throws(() => {
      (config.server as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.clients as unknown[]).push({});
    }, TypeError);
  });
});

describe('rejects, with the path of each problem', () => {
  test('a bad key hash', () => {
    hasProblem(
      problems(`clients: [{ name: a, key_sha256: ${HASH_A} }, { name: b, key_sha256: abc123 }]`),
      'clients[1].key_sha256',
      /expected 64 hex characters/,
    );
  });

  test('ports, timeouts, sizes and enums out of range', () => {
    const list = problems(`
server: { port: 70000, request_timeout_ms: 0, drain_timeout_ms: 1.5, body_limit: 12xb, header_limit: -1, host: "" }
upstream: { connections: 0, headers_timeout_ms: 99999999999 }
logging: { level: loud }
secrets: { exec_timeout_ms: "ten" }
`);
    hasProblem(list, 'server.port', /port number 0-65535/);
    hasProblem(list, 'server.request_timeout_ms', /positive/);
    hasProblem(list, 'server.drain_timeout_ms', /whole number of milliseconds/);
    hasProblem(list, 'server.body_limit', /size/);
    hasProblem(list, 'server.header_limit', /size/);
    hasProblem(list, 'server.host', /host/);
    hasProblem(list, 'upstream.connections', /at least 1/);
    hasProblem(list, 'upstream.headers_timeout_ms', /at most 2147483647/);
    hasProblem(list, 'logging.level', /one of fatal, error, warn, info/);
    hasProblem(list, 'secrets.exec_timeout_ms', /milliseconds/);
  });

  test('collects every problem, not just the first', () => {
    const list = problems(`
server: { port: -1 }
upstream: { base_url: ftp://x }
clients:
  - { name: a, environment: nowhere, key_sha256: nothex }
`);
    assert.ok(list.length >= 4, list.join('\n'));
    hasProblem(list, 'server.port', /port/);
    hasProblem(list, 'upstream.base_url', /http/);
    hasProblem(list, 'clients[0].environment', /unknown environment "nowhere" \(declared: default\)/);
    hasProblem(list, 'clients[0].key_sha256', /64 hex/);
  });

  test('the error message lists every problem with its path and line', () => {
    try {
      parse('server:\n  port: -1\nlogging:\n  level: loud\n');
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /invalid config test\.yaml \(2 problems\)/);
      assert.match(err.message, /server\.port: expected a port number 0-65535 \(line 2\)/);
      assert.match(err.message, /logging\.level: expected one of .* \(line 4\)/);
      assert.deepEqual(
        err.issues.map((i) => i.line),
        [2, 4],
      );
    }
  });

  test('missing required fields', () => {
    const list = problems(
      'environments: { prod: {} }\nclients: [{ environment: prod, key_sha256: ' + HASH_A + ' }]',
    );
    hasProblem(list, 'environments.prod.upstream_key', /^required$/);
    hasProblem(list, 'clients[0].name', /^required$/);
  });

  test('wrong types', () => {
    const list = problems('server: [1]\nclients: { a: 1 }\nenvironments: 3\n');
    hasProblem(list, 'server', /mapping/);
    hasProblem(list, 'clients', /list/);
    hasProblem(list, 'environments', /mapping/);
    assert.deepEqual(problems('- a\n- b\n'), [': expected a mapping (key: value pairs) at the top level']);
  });

  test('upstream.base_url: http(s) only, no credentials, query or fragment', () => {
    hasProblem(problems('upstream: { base_url: "ftp://a.example" }'), 'upstream.base_url', /http: or https:/);
    hasProblem(
      problems('upstream: { base_url: "not a url" }'),
      'upstream.base_url',
      /absolute http\(s\) URL/,
    );
    hasProblem(
      problems('upstream: { base_url: "https://u:p@a.example" }'),
      'upstream.base_url',
      /credentials/,
    );
    hasProblem(problems('upstream: { base_url: "https://a.example/?x=1" }'), 'upstream.base_url', /query/);
    hasProblem(problems('upstream: { base_url: "https://a.example/#x" }'), 'upstream.base_url', /fragment/);
    const secretInUrl = problems('upstream: { base_url: "https://user:hunter2@a.example" }').join('\n');
    assert.doesNotMatch(secretInUrl, /hunter2/, 'the URL is never echoed');
    assert.equal(
      parse('upstream: { base_url: "http://127.0.0.1:4010/" }').upstream.baseUrl,
      'http://127.0.0.1:4010',
    );
  });

  test('client names unique, environments must exist, exactly one of key_sha256 / key', () => {
    const list = problems(`
environments: { prod: { upstream_key: env:P } }
clients:
  - { name: a, environment: prod, key_sha256: ${HASH_A} }
  - { name: a, environment: prod, key_sha256: ${HASH_B} }
  - { name: b, environment: staging, key_sha256: ${HASH_A.toUpperCase()} }
  - { name: c, environment: prod }
  - { name: d, environment: prod, key_sha256: ${'c'.repeat(64)}, key: env:D }
  - { name: "bad name", environment: prod, key: env:E }
  - { name: f, environment: prod, key: env:E }
`);
    hasProblem(list, 'clients[1].name', /duplicate client name \(also clients\[0\]\.name\)/);
    hasProblem(list, 'clients[2].environment', /unknown environment "staging" \(declared: prod\)/);
    hasProblem(list, 'clients[2].key_sha256', /same key hash as clients\[0\]\.key_sha256/);
    hasProblem(list, 'clients[3]', /exactly one of key_sha256 or key \(neither/);
    hasProblem(list, 'clients[4]', /exactly one of key_sha256 or key \(both/);
    hasProblem(list, 'clients[5].name', /invalid client name/);
    hasProblem(list, 'clients[6].key', /same key reference as clients\[5\]\.key/);
  });

  test('two environments never share an upstream key reference', () => {
    const list = problems(`
environments:
  prod: { upstream_key: env:ANTHROPIC_API_KEY }
  staging: { upstream_key: env:ANTHROPIC_API_KEY }
  qa: { upstream_key: file:/run/secrets/k }
  dev: { upstream_key: "file:/run/secrets/../secrets/k" }
clients: [{ name: a, environment: prod, key: env:ANTHROPIC_API_KEY }]
`);
    hasProblem(
      list,
      'environments.staging.upstream_key',
      /same key reference as environments\.prod\.upstream_key; keys of environments never mix/,
    );
    hasProblem(list, 'environments.dev.upstream_key', /same key reference as environments\.qa\.upstream_key/);
    hasProblem(list, 'clients[0].key', /a client key must never be an upstream key/);
  });

  test('no clients (local mode) needs environment "default"', () => {
    hasProblem(problems('environments: { prod: { upstream_key: env:P } }'), 'clients', /local mode/);
    assert.equal(parse('environments: { default: { upstream_key: env:P } }').clients.length, 0);
    hasProblem(problems('environments: {}'), 'environments', /at least one environment/);
  });

  test('malformed secret references', () => {
    const list = problems(`
environments:
  a: { upstream_key: "env:" }
  b: { upstream_key: "env:NOT-A-NAME" }
  c: { upstream_key: "file:" }
  d: { upstream_key: "exec:" }
  e: { upstream_key: "exec:vault read x | jq .key" }
  f: { upstream_key: "exec:echo 'unterminated" }
  g: { upstream_key: "ENV:X" }
  h: { upstream_key: 42 }
  default: { upstream_key: "exec:vault kv get -field=key 'secret/my app'" }
`);
    hasProblem(list, 'environments.a.upstream_key', /variable name/);
    hasProblem(list, 'environments.b.upstream_key', /variable name/);
    hasProblem(list, 'environments.c.upstream_key', /path/);
    hasProblem(list, 'environments.d.upstream_key', /command/);
    hasProblem(list, 'environments.e.upstream_key', /no shell runs it/);
    hasProblem(list, 'environments.f.upstream_key', /unterminated single quote/);
    hasProblem(list, 'environments.g.upstream_key', /lowercase/);
    hasProblem(list, 'environments.h.upstream_key', /secret reference/);
    assert.ok(!list.some((p) => p.startsWith('environments.default')), list.join('\n'));
  });
});

describe('literal keys', () => {
  test('a literal upstream key is rejected with how to reference it instead', () => {
    const secret = 'sk-ant-api03-LITERALVALUE';
    const list = problems(
      `environments:\n  prod: { upstream_key: ${secret} }\n  default: { upstream_key: plainpassword }`,
    );
    const expected =
      'a literal key is not allowed here; put it in a secret manager or an environment variable and write ' +
      '"env:ANTHROPIC_API_KEY", "file:/run/secrets/anthropic" or "exec:vault kv get -field=key secret/anthropic"';
    assert.ok(list.includes(`environments.prod.upstream_key: ${expected}`), list.join('\n'));
    assert.ok(list.includes(`environments.default.upstream_key: ${expected}`), list.join('\n'));
    assert.equal(
      list.filter((p) => p.startsWith('environments.prod.upstream_key')).length,
      1,
      'reported once',
    );
    assert.doesNotMatch(list.join('\n'), /LITERALVALUE|plainpassword/);
  });

  test('a literal client key is rejected, pointing at key_sha256', () => {
    const list = problems('clients: [{ name: a, key: gk_abcdef }, { name: b, key_sha256: gk_abcdef }]');
    hasProblem(
      list,
      'clients[0].key',
      /a literal key is not allowed here; write only its hash as key_sha256/,
    );
    hasProblem(list, 'clients[1].key_sha256', /this is a key, not its hash/);
    assert.doesNotMatch(list.join('\n'), /gk_abcdef/);
  });

  test('anything shaped like an Anthropic key is rejected anywhere in the file', () => {
    const list = problems(`
clients:
  - name: sk-ant-api03-INNAME
    key_sha256: ${HASH_A}
    limits: { note: "sk-ant-api03-INLIMITS", sk-ant-api03-ASKEY: 1 }
# old key: sk-ant-api03-INCOMMENT
`);
    hasProblem(list, 'clients[0].name', /looks like an Anthropic API key/);
    hasProblem(list, 'clients[0].limits.note', /looks like an Anthropic API key/);
    hasProblem(list, 'clients[0].limits["sk-ant-********"]', /looks like an Anthropic API key/);
    hasProblem(list, '', /looks like an Anthropic API key \(in a comment\?\)/);
    assert.doesNotMatch(list.join('\n'), /INNAME|INLIMITS|ASKEY|INCOMMENT/);
  });

  test('YAML syntax errors never quote the source line', () => {
    const list = problems('environments:\n  prod: { upstream_key: [sk-ant-api03-BROKEN\n');
    assert.match(list[0], /YAML syntax/);
    assert.doesNotMatch(list.join('\n'), /BROKEN/);
  });
});

describe('unknown keys', () => {
  test('are rejected with a "did you mean" hint', () => {
    const list = problems(`
port: 8080
server: { bodyLimit: 1mb, prot: 1, request_timeout: 5 }
upstream: { url: "https://a.example", api_key: env:X }
environments: { default: { api_key: env:X } }
clients: [{ name: a, key_sha256: ${HASH_A}, hash: x, env: default }]
logging: { log_level: info }
`);
    hasProblem(list, 'port', /unknown key; did you mean "server\.port"\?/);
    hasProblem(list, 'server.bodyLimit', /unknown key; did you mean "body_limit"\?/);
    hasProblem(list, 'server.prot', /did you mean "port"\?/);
    hasProblem(list, 'server.request_timeout', /did you mean "request_timeout_ms"\?/);
    hasProblem(list, 'upstream.url', /did you mean "base_url"\?/);
    hasProblem(list, 'upstream.api_key', /did you mean "environments\.<name>\.upstream_key"\?/);
    hasProblem(list, 'environments.default.api_key', /did you mean "upstream_key"\?/);
    hasProblem(list, 'clients[0].hash', /did you mean "key_sha256"\?/);
    hasProblem(list, 'clients[0].env', /did you mean "environment"\?/);
    hasProblem(list, 'logging.log_level', /did you mean "level"\?/);
  });

  test('without a close match, the allowed keys are listed', () => {
    hasProblem(
      problems('secrets: { zzz: 1 }'),
      'secrets.zzz',
      /unknown key \(expected one of: exec_refresh_ms, exec_timeout_ms\)/,
    );
  });

  test('limits have a schema (src/limits/config.ts): unknown keys are refused with the allowed ones', () => {
    hasProblem(
      problems(`clients: [{ name: a, key_sha256: ${HASH_A}, limits: { anything: [1, 2] } }]`),
      'clients[0].limits.anything',
      /unknown key \(expected one of: rpm, input_tpm, output_tpm, budget, on_store_error, per_customer\)/,
    );
  });
});

describe('helpers', () => {
  test('parseSize', () => {
    assert.equal(parseSize(1000), 1000);
    assert.equal(parseSize('32mb'), 32 * 1024 * 1024);
    assert.equal(parseSize('16KB'), 16 * 1024);
    assert.equal(parseSize('1.5 mb'), 1.5 * 1024 * 1024);
    assert.equal(parseSize('2g'), 2 * 1024 ** 3);
    assert.equal(parseSize('512'), 512);
    assert.equal(parseSize(0), undefined);
    assert.equal(parseSize(1.5), undefined);
    assert.equal(parseSize('12xb'), undefined);
    assert.equal(parseSize(''), undefined);
  });

  test('formatSize', () => {
    assert.equal(formatSize(32 * 1024 * 1024), '32mb');
    assert.equal(formatSize(16 * 1024), '16kb');
    assert.equal(formatSize(1000), 1000);
  });

  test('formatPath', () => {
    assert.equal(formatPath(['clients', 1, 'key_sha256']), 'clients[1].key_sha256');
    assert.equal(formatPath(['environments', 'a b']), 'environments["a b"]');
    assert.equal(formatPath([]), '');
  });
});
