import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../config/load.ts';
import { DEFAULT_RESILIENCE } from './config.ts';

const opts = { source: 'test.yaml', baseDir: '/etc/gantry' };
const parse = (text: string) => parseConfig(text, opts);

function problems(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected the config to be rejected');
}

describe('upstream_keys (several keys per environment)', () => {
  test('resolves ids, states, weights and absolute file paths; upstream_key stays valid', () => {
    const config = parse(`
environments:
  prod:
    upstream_keys:
      - { id: primary, key: file:secrets/a, state: active, weight: 3 }
      - { id: secondary, key: env:ANTHROPIC_KEY_B }
  dev:
    upstream_key: env:ANTHROPIC_KEY_DEV
clients:
  - { name: app, environment: prod, key_sha256: ${'a'.repeat(64)} }
`);
    assert.deepEqual(config.environments.prod.upstreamKeys, [
      { id: 'primary', key: 'file:/etc/gantry/secrets/a', state: 'active', weight: 3 },
      { id: 'secondary', key: 'env:ANTHROPIC_KEY_B', state: 'active', weight: 1 },
    ]);
    assert.equal(config.environments.prod.upstreamKey, 'file:/etc/gantry/secrets/a');
    assert.equal(config.environments.dev.upstreamKey, 'env:ANTHROPIC_KEY_DEV');
    assert.equal(config.environments.dev.upstreamKeys, undefined);
  });

  test('two environments never share a key reference, in either form (start-up fails)', () => {
    const list = problems(`
environments:
  prod:
    upstream_keys:
      - { id: a, key: file:/run/secrets/shared }
      - { id: b, key: env:KEY_B }
  staging:
    upstream_keys:
      - { id: a, key: file:/run/secrets/../secrets/shared }
  dev:
    upstream_key: env:KEY_B
clients:
  - { name: app, environment: prod, key_sha256: ${'a'.repeat(64)} }
`);
    assert.ok(
      list.some((p) =>
        p.startsWith(
          'environments.staging.upstream_keys[0].key: same key reference as environments.prod.upstream_keys[0].key',
        ),
      ),
      list.join('\n'),
    );
    assert.ok(
      list.some((p) =>
        p.startsWith(
          'environments.dev.upstream_key: same key reference as environments.prod.upstream_keys[1].key',
        ),
      ),
      list.join('\n'),
    );
  });

  test('ids are unique, states known, exactly one of the two forms, no literal key', () => {
    const list = problems(`
environments:
  prod:
    upstream_keys:
      - { id: a, key: env:A, state: paused }
      - { id: a, key: env:B, weight: 0 }
  both:
    upstream_key: env:C
    upstream_keys: [{ id: c, key: env:D }]
  none: {}
  literal:
    upstream_keys: [{ id: x, key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01234567-ABCDEFAA }]
clients:
  - { name: app, environment: prod, key_sha256: ${'a'.repeat(64)} }
`);
    const has = (prefix: string) =>
      assert.ok(
        list.some((p) => p.startsWith(prefix)),
        `${prefix}\n${list.join('\n')}`,
      );
    has('environments.prod.upstream_keys[0].state: expected one of active, draining, disabled');
    has('environments.prod.upstream_keys[1].id: duplicate key id');
    has('environments.prod.upstream_keys[1].weight: expected a positive number');
    has('environments.both: set exactly one of upstream_key or upstream_keys');
    has('environments.none.upstream_key: required');
    has('environments.literal.upstream_keys[0].key: a literal key is not allowed here');
    assert.ok(!list.join('\n').includes('abcdefghijklmnop'), 'never repeats the key');
  });
});

describe('resilience section', () => {
  test('defaults, overrides and per-client settings', () => {
    assert.deepEqual(parse('').resilience, DEFAULT_RESILIENCE);
    assert.equal(DEFAULT_RESILIENCE.maxAttempts, 3);
    assert.equal(DEFAULT_RESILIENCE.timeouts.totalMs, 120_000);
    const config = parse(`
resilience:
  max_attempts: 5
  breaker: { failure_rate: 0.25, window: 8, min_volume: 20 }
  timeouts: { total_ms: 90000 }
  concurrency: { per_key: 64 }
clients:
  - name: app
    key_sha256: ${'a'.repeat(64)}
    resilience:
      max_attempts: 1
      timeouts: { stream_idle_ms: 30000 }
      fallback_models: [claude-haiku-4-5]
      degraded: { message: Busy. }
      max_concurrency: 4
`);
    assert.equal(config.resilience.maxAttempts, 5);
    assert.deepEqual(config.resilience.breaker, {
      failureRate: 0.25,
      window: 8,
      minVolume: 8,
      cooldownMs: 30_000,
    });
    assert.equal(config.resilience.timeouts.totalMs, 90_000);
    assert.equal(config.resilience.timeouts.firstByteMs, 60_000);
    assert.equal(config.resilience.concurrency.perKey, 64);
    assert.deepEqual(config.clients[0].resilience, {
      maxAttempts: 1,
      timeouts: { streamIdleMs: 30_000 },
      fallbackModels: ['claude-haiku-4-5'],
      degraded: { message: 'Busy.' },
      maxConcurrency: 4,
    });
  });

  test('bad values and unknown keys are reported with their path', () => {
    const list = problems(`
resilience:
  max_attempt: 3
  breaker: { failure_rate: 1 }
  timeouts: { total_ms: 0 }
`);
    const has = (prefix: string) =>
      assert.ok(
        list.some((p) => p.startsWith(prefix)),
        `${prefix}\n${list.join('\n')}`,
      );
    has('resilience.max_attempt: unknown key; did you mean "max_attempts"?');
    has('resilience.breaker.failure_rate: expected a number between 0 and 1');
    has('resilience.timeouts.total_ms: expected a positive number of milliseconds');
  });
});
