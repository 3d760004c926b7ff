import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../config/load.ts';
import { displayLimits, displayScopeLimits } from './config.ts';

const HASH = 'b'.repeat(64);
const parse = (text: string) => parseConfig(text, { source: 'test.yaml', baseDir: process.cwd() });
const problems = (text: string): string[] => {
  try {
    parse(text);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
};
const withLimits = (limits: string) => `clients: [{ name: a, key_sha256: ${HASH}, limits: ${limits} }]`;

describe('limits config', () => {
  test('resolves to camelCase with budgets in integer micro-dollars', () => {
    const config = parse(
      `${withLimits('{ rpm: 600, input_tpm: 2000, output_tpm: 400, per_customer: { rpm: 6 }, budget: { daily_usd: 12.5, monthly_usd: 100, action: downgrade, downgrade_to: claude-haiku-4-5 }, on_store_error: closed }')}\n` +
        'limits: { overall: { budget: { monthly_usd: 0.000001 } }, environments: { default: { rpm: 5 } } }\nstorage: { state: "redis://127.0.0.1:6379/2" }',
    );
    assert.deepEqual(config.clients[0].limits, {
      rpm: 600,
      inputTpm: 2000,
      outputTpm: 400,
      perCustomer: { rpm: 6 },
      budget: {
        action: 'downgrade',
        dailyMicros: 12_500_000,
        monthlyMicros: 100_000_000,
        downgradeTo: 'claude-haiku-4-5',
      },
      onStoreError: 'closed',
    });
    assert.deepEqual(config.limits.overall, { budget: { action: 'block', monthlyMicros: 1 } });
    assert.deepEqual(config.limits.environments, { default: { rpm: 5 } });
    assert.equal(config.limits.onStoreError, 'open');
    assert.equal(config.storage.state, 'redis://127.0.0.1:6379/2');
    assert.equal(parse('{}').storage.state, 'memory');
  });

  test('the displayed form parses back to the same config', () => {
    const text = `${withLimits('{ rpm: 60, per_customer: { budget: { daily_usd: 2 } }, budget: { monthly_usd: 10, action: alert-only } }')}\nlimits: { environments: { default: { output_tpm: 9 } } }`;
    const config = parse(text);
    const shown = stringify({
      clients: [{ name: 'a', key_sha256: HASH, limits: displayScopeLimits(config.clients[0].limits) }],
      limits: displayLimits(config.limits),
    });
    const again = parse(shown);
    assert.deepEqual(again.clients[0].limits, config.clients[0].limits);
    assert.deepEqual(again.limits, config.limits);
  });

  test('rejects, with the path of each problem', () => {
    assert.deepEqual(problems(withLimits('{ rpm: 0 }')), [
      'clients[0].limits.rpm: expected at least 1 requests per minute',
    ]);
    assert.deepEqual(problems(withLimits('{ rpm: 1.5 }')), [
      'clients[0].limits.rpm: expected a whole number of requests per minute',
    ]);
    assert.deepEqual(problems(withLimits('{ budget: { action: block } }')), [
      'clients[0].limits.budget: set daily_usd, monthly_usd or both',
    ]);
    assert.deepEqual(problems(withLimits('{ budget: { daily_usd: 1, action: downgrade } }')), [
      'clients[0].limits.budget.downgrade_to: action downgrade needs downgrade_to (a cheaper model, e.g. claude-haiku-4-5)',
    ]);
    assert.deepEqual(
      problems(withLimits('{ budget: { daily_usd: 1, action: downgrade, downgrade_to: gpt-4 } }')),
      ['clients[0].limits.budget.downgrade_to: unknown model (not in the catalog)'],
    );
    assert.deepEqual(problems(withLimits('{ budget: { daily_usd: -1 } }')), [
      'clients[0].limits.budget.daily_usd: expected a positive amount in USD',
    ]);
    assert.deepEqual(problems(withLimits('{ on_store_error: maybe }')), [
      'clients[0].limits.on_store_error: expected open or closed',
    ]);
    assert.deepEqual(problems('storage: { state: "postgres://x" }'), [
      'storage.state: expected memory or a redis:// (or rediss://) URL',
    ]);
    assert.deepEqual(problems('storage: { state: "redis://:hunter2@127.0.0.1:6379" }'), [
      'storage.state: must not contain a password; give Redis a password with the REDIS_PASSWORD environment variable',
    ]);
    assert.deepEqual(problems('limits: { environments: { prod: { rpm: 5 } } }'), [
      'limits.environments.prod: unknown environment "prod" (declared: default)',
    ]);
    assert.match(
      problems('limits: { environments: { default: { rpn: 5 } } }')[0],
      /limits\.environments\.default\.rpn: unknown key; did you mean "rpm"\?/,
    );
  });
});
