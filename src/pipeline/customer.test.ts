import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigError, parseConfig } from '../config/load.ts';
import { attributionOf, CUSTOMER_MAX, customerResolver } from './customer.ts';

const claudeCodeUserId = (account: string, session: string) =>
  JSON.stringify({ device_id: 'dev-26d6', account_uuid: account, session_id: session });
const body = (userId: unknown) => ({ model: 'm', metadata: { user_id: userId } });

describe('customerResolver', () => {
  it('auto: the x-gantry-customer header first, then metadata.user_id', () => {
    const resolve = customerResolver(undefined, 'app');
    assert.equal(resolve({ 'x-gantry-customer': 'acme' }, body('user-1')), 'acme');
    assert.equal(resolve({}, body('user-1')), 'user-1');
    assert.equal(resolve({}, { model: 'm' }), undefined);
    assert.equal(resolve({ 'x-gantry-customer': '  ' }, body('')), undefined);
  });

  it('auto: Claude Code’s JSON user_id is its account, else its device — never its session', () => {
    const resolve = customerResolver(undefined, 'app');
    const a = resolve({}, body(claudeCodeUserId('acct-1', 'session-1')));
    const b = resolve({}, body(claudeCodeUserId('acct-1', 'session-2')));
    assert.equal(a, 'acct-1');
    assert.equal(a, b, 'two sessions of one person are one customer');
    // API-key logins send an empty account_uuid: the device identifies the person's machine.
    assert.equal(resolve({}, body(claudeCodeUserId('', 'session-3'))), 'dev-26d6');
  });

  it('auto: other JSON strings and non-strings are not taken apart', () => {
    const resolve = customerResolver(undefined, 'app');
    assert.equal(resolve({}, body('{"id":"x"}')), '{"id":"x"}');
    assert.equal(resolve({}, body('{not json')), '{not json');
    assert.equal(resolve({}, body(42)), undefined);
    assert.equal(resolve({}, { metadata: 'nope' }), undefined);
  });

  it('header: a named header only', () => {
    const resolve = customerResolver({ source: 'header', header: 'x-team' }, 'app');
    assert.equal(resolve({ 'x-team': 'payments', 'x-gantry-customer': 'acme' }, body('u')), 'payments');
    assert.equal(resolve({}, body('u')), undefined);
  });

  it('metadata: a field of the JSON in user_id, or the user_id rules', () => {
    const device = customerResolver(
      { source: 'metadata', header: 'x-gantry-customer', field: 'device_id' },
      'app',
    );
    assert.equal(device({ 'x-gantry-customer': 'acme' }, body(claudeCodeUserId('acct-1', 's'))), 'dev-26d6');
    assert.equal(device({}, body('plain')), undefined);
    const whole = customerResolver({ source: 'metadata', header: 'x-gantry-customer' }, 'app');
    assert.equal(whole({ 'x-gantry-customer': 'acme' }, body('plain')), 'plain');
  });

  it('key: the client (one virtual key per person)', () => {
    const resolve = customerResolver({ source: 'key', header: 'x-gantry-customer' }, 'dev-alice');
    assert.equal(resolve({ 'x-gantry-customer': 'acme' }, body('u')), 'dev-alice');
  });

  it('values are bounded', () => {
    const resolve = customerResolver(undefined, 'app');
    assert.equal(resolve({}, body('x'.repeat(1000)))?.length, CUSTOMER_MAX);
  });
});

describe('clients[].customer in gantry.yaml', () => {
  const yaml = (customer: string) => `
environments: { default: { upstream_key: env:K } }
clients:
  - { name: claude-code, key: env:GANTRY_KEY_CC, customer: ${customer} }
`;
  it('resolves, with defaults', () => {
    const config = parseConfig(yaml('{ source: metadata, field: account_uuid }'), {
      source: 't',
      baseDir: '.',
    });
    assert.deepEqual(config.clients[0].customer, {
      source: 'metadata',
      header: 'x-gantry-customer',
      field: 'account_uuid',
    });
    const h = parseConfig(yaml('{ source: header, header: X-Team }'), { source: 't', baseDir: '.' });
    assert.deepEqual(h.clients[0].customer, { source: 'header', header: 'x-team' });
  });

  it('refuses an unknown source and a bad header name, with their paths', () => {
    assert.throws(
      () => parseConfig(yaml('{ source: cookie, header: "bad header" }'), { source: 't', baseDir: '.' }),
      (err: ConfigError) =>
        err.issues.some((i) => i.path === 'clients[0].customer.source') &&
        err.issues.some((i) => i.path === 'clients[0].customer.header'),
    );
  });
});

describe('attributionOf', () => {
  it('reads Claude Code’s session and agent headers, bounded', () => {
    assert.deepEqual(
      attributionOf({ 'x-claude-code-session-id': 's-1', 'x-claude-code-agent-id': 'a'.repeat(500) }),
      {
        sessionId: 's-1',
        agentId: 'a'.repeat(128),
      },
    );
    assert.deepEqual(attributionOf({}), { sessionId: null, agentId: null });
  });
});
