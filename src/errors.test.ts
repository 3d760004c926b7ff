import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ANTHROPIC_ERROR_STATUS } from './anthropic/errors.ts';
import { ERROR_CODES, GantryError, toGantryError } from './errors.ts';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

test('docs/errors.md lists exactly the codes of ERROR_CODES, with the same status, type and meaning', () => {
  const section = doc.slice(doc.indexOf('<!-- error-codes:start'), doc.indexOf('<!-- error-codes:end'));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = l.split(' | ').map((c) => c.replace(/^\|\s*/, '').replace(/\s*\|$/, ''));
      return {
        code: cells[0].replaceAll('`', ''),
        status: Number(cells[1]),
        type: cells[2].replaceAll('`', ''),
        summary: cells[3],
      };
    });
  const fromCode = Object.entries(ERROR_CODES).map(([code, v]) => ({
    code,
    status: v.status,
    type: v.type,
    summary: v.summary,
  }));
  assert.deepEqual(rows, fromCode);
});

test('every code uses an error type the API knows, with the API status for it (Gantry-only statuses aside)', () => {
  for (const [code, v] of Object.entries(ERROR_CODES)) {
    assert.ok(v.type in ANTHROPIC_ERROR_STATUS, `${code}: ${v.type}`);
  }
  assert.equal(ERROR_CODES.missing_api_key.status, ANTHROPIC_ERROR_STATUS.authentication_error);
  assert.equal(ERROR_CODES.body_too_large.status, ANTHROPIC_ERROR_STATUS.request_too_large);
  assert.equal(ERROR_CODES.route_not_found.status, ANTHROPIC_ERROR_STATUS.not_found_error);
});

test('GantryError renders the Anthropic envelope with its code in details', () => {
  const err = new GantryError('invalid_api_key', 'nope');
  assert.deepEqual(err.toEnvelope('gtw_1'), {
    type: 'error',
    error: { type: 'authentication_error', message: 'nope', details: { gantry_code: 'invalid_api_key' } },
    request_id: 'gtw_1',
  });
  assert.equal(err.status, 401);
  const wrapped = toGantryError(new Error('boom'));
  assert.equal(wrapped.code, 'internal_error');
  assert.equal(wrapped.status, 500);
  assert.equal(toGantryError(err), err);
});

test('docs/errors.md lists exactly the internal error codes, with their class and meaning', async () => {
  const { INTERNAL_ERROR_CODES, InternalError } = await import('./errors.ts');
  const section = doc.slice(
    doc.indexOf('<!-- internal-errors:start'),
    doc.indexOf('<!-- internal-errors:end'),
  );
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = l.split(' | ').map((c) => c.replace(/^\|\s*/, '').replace(/\s*\|$/, ''));
      return { code: cells[0].replaceAll('`', ''), class: cells[1].replaceAll('`', ''), summary: cells[2] };
    });
  assert.deepEqual(
    rows,
    Object.entries(INTERNAL_ERROR_CODES).map(([code, v]) => ({ code, class: v.class, summary: v.summary })),
  );
  const { LoadShedError } = await import('./resilience/concurrency.ts');
  const err = new LoadShedError('queue_full');
  assert.ok(err instanceof InternalError);
  assert.equal(err.code, 'concurrency_full');
  assert.equal(err.name, 'LoadShedError');
});
