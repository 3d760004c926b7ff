import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/load.ts';
import { safetyConfig, safetyEnabled } from './config.ts';

const client = (safety: string) =>
  `clients:\n  - name: a\n    key_sha256: ${'a'.repeat(64)}\n    safety:\n${safety}`;

test('defaults: every control off, so nothing changes', () => {
  const s = safetyConfig();
  assert.equal(safetyEnabled(s), false);
  assert.equal(s.secrets.mode, 'off');
  assert.equal(s.stream.holdBackChars, 64);
  assert.equal(s.systemPromptLeak.minChars, 80);
  assert.equal(safetyEnabled(undefined), false);
  const c = parseConfig(`clients:\n  - name: a\n    key_sha256: ${'a'.repeat(64)}\n`, {
    source: 't',
    baseDir: '.',
  });
  assert.equal(c.clients[0].safety, undefined);
});

test('clients[].safety is validated and resolved to camelCase', () => {
  const c = parseConfig(
    client(
      '      secrets: { mode: redact }\n      pii: { mode: flag, types: [email] }\n      input_limits: { max_chars: 100, max_body_bytes: 64kb }\n      stream: { hold_back_chars: 32 }\n',
    ),
    { source: 't', baseDir: '.' },
  );
  const s = c.clients[0].safety!;
  assert.equal(s.secrets.mode, 'redact');
  assert.deepEqual(s.pii.types, ['email']);
  assert.equal(s.inputLimits.maxChars, 100);
  assert.equal(s.inputLimits.maxBodyBytes, 65536);
  assert.equal(s.stream.holdBackChars, 32);
  assert.ok(safetyEnabled(s));
});

test('mistakes are reported with their path', () => {
  assert.throws(
    () =>
      parseConfig(
        client(
          '      secrets: { mode: redakt }\n      moderation: { mode: block }\n      pii: { typo: 1 }\n',
        ),
        {
          source: 't',
          baseDir: '.',
        },
      ),
    (err: Error) => {
      assert.match(
        err.message,
        /clients\[0\]\.safety\.secrets\.mode: expected one of off, flag, redact, block/,
      );
      assert.match(err.message, /clients\[0\]\.safety\.moderation\.url: required when provider is webhook/);
      assert.match(err.message, /clients\[0\]\.safety\.pii\.typo: unknown key/);
      return true;
    },
  );
});
