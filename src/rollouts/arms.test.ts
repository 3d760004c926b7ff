/**
 * Assignment: the candidate's share is met within a point over many
 * customers; raising the share never moves a customer off the candidate;
 * the same subject gets the same arm every time (any replica computes it);
 * pins are read from the header. Arms change the request through
 * setBodyFields only; prompts by reference are substituted first in system.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Exchange } from '../pipeline/exchange.ts';
import { ROUTES } from '../pipeline/routes.ts';
import { applyArm, armAt, pinnedArm, subjectOf, toolErrorsOf } from './arms.ts';
import { PromptLibrary } from './prompts.ts';

test('the candidate share holds over many customers, and a promotion keeps every candidate customer there', () => {
  const customers = Array.from({ length: 20_000 }, (_, i) => `customer:c-${i}`);
  let previous = new Set<string>();
  for (const percent of [1, 5, 25, 50, 100]) {
    const on = new Set(customers.filter((c) => armAt('r1', c, percent) === 'candidate'));
    assert.ok(Math.abs((on.size / customers.length) * 100 - percent) < 1, `${percent} %: ${on.size}`);
    for (const c of previous) assert.ok(on.has(c), `${c} stays on the candidate at ${percent} %`);
    previous = on;
  }
  assert.equal(armAt('r1', 'customer:c-1', 0), 'baseline');
  // Another rollout draws other customers.
  const a = customers.filter((c) => armAt('r1', c, 10) === 'candidate');
  const b = new Set(customers.filter((c) => armAt('r2', c, 10) === 'candidate'));
  assert.ok(a.filter((c) => b.has(c)).length < a.length * 0.2);
});

test('subject: the customer, else the client; pins from the header', () => {
  assert.equal(subjectOf({ customer: 'u-1', client: { name: 'app', environment: 'prod' } }), 'customer:u-1');
  assert.equal(
    subjectOf({ customer: undefined, client: { name: 'app', environment: 'prod' } }),
    'client:app',
  );
  assert.equal(pinnedArm({ headers: { 'gantry-rollout-arm': 'Candidate' } }), 'candidate');
  assert.equal(pinnedArm({ headers: {} }), undefined);
  assert.throws(
    () => pinnedArm({ headers: { 'gantry-rollout-arm': 'blue' } }),
    /invalid_rollout_arm|baseline or candidate/,
  );
});

function exchange(body: Record<string, unknown>, headers: Record<string, string> = {}): Exchange {
  return {
    id: 'gtw_1',
    startedAt: 0,
    receivedAt: 0,
    route: ROUTES.find((r) => r.kind === 'messages')!,
    method: 'POST',
    path: '/v1/messages',
    target: '/v1/messages',
    params: {},
    headers,
    rawBody: Buffer.from(JSON.stringify(body)),
    body,
    signal: new AbortController().signal,
    client: { name: 'app', environment: 'prod' },
    model: body.model as string,
    stream: false,
    decisions: [],
    timings: {},
    upstream: { attempts: 0 },
  };
}

test('an arm changes model, max_tokens, thinking and environment through setBodyFields, each a decision', () => {
  const ex = exchange({
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hi' }],
  });
  applyArm(ex, 'r1', {
    name: 'candidate',
    model: 'claude-sonnet-4-6',
    maxTokens: 4096,
    thinking: { type: 'enabled', budgetTokens: 2048 },
    cacheTtl: '5m',
    environment: 'canary',
  });
  assert.equal(ex.model, 'claude-sonnet-4-6');
  assert.equal(ex.requestedModel, 'claude-sonnet-4-5');
  assert.equal(ex.bodyChanged, true);
  assert.deepEqual(ex.body, {
    model: 'claude-sonnet-4-6',
    max_tokens: 4096,
    messages: [{ role: 'user', content: 'hi' }],
    thinking: { type: 'enabled', budget_tokens: 2048 },
  });
  assert.deepEqual(ex.client, { name: 'app', environment: 'canary' });
  assert.deepEqual(
    ex.decisions.map((d) => d.rule),
    [
      'rollout.r1.candidate',
      'rollout.r1.candidate.max_tokens',
      'rollout.r1.candidate.thinking',
      'rollout.r1.candidate.environment',
    ],
  );
  const untouched = exchange({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [] });
  applyArm(untouched, 'r1', { name: 'baseline', model: 'claude-sonnet-4-5-20250929', cacheTtl: '5m' });
  assert.equal(untouched.model, 'claude-sonnet-4-5');
  assert.equal(untouched.bodyChanged, undefined, 'an arm that changes nothing leaves the bytes as sent');
});

test('a prompt by reference goes first in system, at the arm version, the pinned one, or the default', () => {
  const lib = new PromptLibrary([
    { name: 'agent', default: 'v1', versions: { v1: { text: 'You are v1.' }, v2: { text: 'You are v2.' } } },
  ]);
  const a = exchange(
    { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] },
    { 'gantry-prompt': 'agent' },
  );
  lib.apply(a, PromptLibrary.reference(a)!, undefined);
  assert.equal(a.body!.system, 'You are v1.');
  const b = exchange(
    { model: 'claude-sonnet-4-5', max_tokens: 10, system: 'Today is Monday.', messages: [] },
    { 'gantry-prompt': 'agent' },
  );
  lib.apply(b, PromptLibrary.reference(b)!, 'v2');
  assert.deepEqual(b.body!.system, [
    { type: 'text', text: 'You are v2.' },
    { type: 'text', text: 'Today is Monday.' },
  ]);
  const c = exchange(
    { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] },
    { 'gantry-prompt': 'agent@v1' },
  );
  lib.apply(c, PromptLibrary.reference(c)!, 'v2');
  assert.equal(c.body!.system, 'You are v1.', 'a pinned version wins over the arm');
  assert.deepEqual(
    c.decisions.map((d) => [d.rule, d.detail]),
    [['prompts.agent', 'v1']],
  );
  const d = exchange(
    { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] },
    { 'gantry-prompt': 'agent@v9' },
  );
  assert.throws(
    () => lib.apply(d, PromptLibrary.reference(d)!, undefined),
    /has no version "v9"; versions: v1, v2/,
  );
  const e = exchange(
    { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] },
    { 'gantry-prompt': 'other' },
  );
  assert.throws(() => lib.apply(e, PromptLibrary.reference(e)!, undefined), /no prompt "other"/);
});

test('tool errors: tool_result blocks with is_error in the last user turn', () => {
  assert.equal(
    toolErrorsOf({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', is_error: true, content: 'bad input' },
            { type: 'tool_result', tool_use_id: 't2', content: 'ok' },
          ],
        },
      ],
    }),
    1,
  );
  assert.equal(toolErrorsOf({ messages: [{ role: 'user', content: 'hi' }] }), 0);
  assert.equal(toolErrorsOf(undefined), 0);
});
