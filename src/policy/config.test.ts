import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/load.ts';

const yaml = (policy: string) =>
  `clients:\n  - name: app\n    key_sha256: ${'a'.repeat(64)}\n    policy:\n${policy
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n')}\n`;

test('clients[].policy resolves to camelCase with defaults', () => {
  const config = parseConfig(
    yaml(
      'allow_unknown_models: true\nmodels: [claude-haiku-4-5]\naliases: { fast: claude-haiku-4-5 }\nmax_tokens: { default: 256, cap: 1024, over_cap: clamp }\nrouting:\n  - { model: claude-haiku-4-5, when: { no_tools: true, max_input_tokens: 500 } }\nprompt_caching: auto',
    ),
    { source: 'test', baseDir: '/' },
  );
  assert.deepEqual(config.clients[0].policy, {
    allowUnknownModels: true,
    promptCaching: 'auto',
    cacheTtl: '5m',
    models: ['claude-haiku-4-5'],
    aliases: { fast: 'claude-haiku-4-5' },
    maxTokens: { overCap: 'clamp', default: 256, cap: 1024 },
    routing: [
      { name: 'routing[0]', model: 'claude-haiku-4-5', when: { noTools: true, maxInputTokens: 500 } },
    ],
  });
});

test('storage: ledger defaults and a bad URL is refused', () => {
  const config = parseConfig('{}', { source: 'test', baseDir: '/' });
  assert.deepEqual(config.storage, {
    state: 'memory',
    ledger: 'sqlite:./data/ledger.db',
    ledgerBufferRows: 100_000,
    ledgerFlushMs: 1_000,
    ledgerTimeoutMs: 5_000,
    ledgerCloseTimeoutMs: 5_000,
  });
  assert.throws(
    () => parseConfig('storage:\n  ledger: mysql://x\n', { source: 'test', baseDir: '/' }),
    /storage\.ledger/,
  );
  assert.throws(
    () =>
      parseConfig(
        'clients:\n  - name: a\n    key_sha256: ' +
          'a'.repeat(64) +
          '\n    policy: { prompt_caching: always }\n',
        { source: 'test', baseDir: '/' },
      ),
    /prompt_caching/,
  );
});
