import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { STAGES } from './index.ts';

test('docs/architecture.md lists the stages in the order of STAGES', () => {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('| stage | file | job |'));
  const lines = table.split('\n').slice(2);
  const rows = lines
    .slice(
      0,
      lines.findIndex((line) => !line.startsWith('| ')),
    )
    .map((line) => line.split(' | ')[0].slice(2).trim());
  assert.deepEqual(
    rows,
    STAGES.map(([name]) => name),
  );
});

import type { Exchange } from './exchange.ts';
import { compile } from './index.ts';
import type { ExchangeRecord } from './record.ts';
import type { Stage } from './stage.ts';

function fakeExchange(): Exchange {
  return { decisions: [] } as unknown as Exchange;
}

test('compile: a client gets only the hooks its stages have for it, in stage order', async () => {
  const trace: string[] = [];
  const stages: Stage[] = [
    { name: 'a', request: () => void trace.push('a.request') },
    {
      name: 'perClient',
      forClient: (client) =>
        client?.name === 'vip' ? { request: () => void trace.push('perClient.request') } : undefined,
    },
    {
      name: 'producer',
      request: (ex) => {
        trace.push('producer.request');
        ex.response = { status: 200, headers: {}, body: Buffer.alloc(0) };
      },
      complete: () => void trace.push('producer.complete'),
    },
    {
      name: 'filter',
      forClient: (client) => (client ? { respond: () => void trace.push('filter.respond') } : undefined),
    },
    { name: 'observer', observe: (r: ExchangeRecord) => void trace.push(`observer:${r.id}`) },
  ];
  const vip = compile(stages, { name: 'vip', environment: 'prod' });
  const plain = compile(stages, { name: 'plain', environment: 'prod' });
  const anonymous = compile(stages, undefined);
  assert.equal(vip.request.length, 3);
  assert.equal(plain.request.length, 2, 'no hook of a stage that does nothing for the client');
  assert.equal(anonymous.request.length, 2);
  for (const hook of vip.request) await hook(fakeExchange());
  assert.deepEqual(trace, ['a.request', 'perClient.request', 'producer.request', 'filter.respond']);
  trace.length = 0;
  for (const hook of anonymous.request) await hook(fakeExchange());
  assert.deepEqual(
    trace,
    ['a.request', 'producer.request'],
    'no respond hook for a client it does not apply to',
  );
  assert.equal(vip.complete.length, 1);
  assert.equal(vip.observe.length, 1);
  vip.observe[0]({ id: 'gtw_1' } as ExchangeRecord);
  assert.deepEqual(trace.at(-1), 'observer:gtw_1');
});

test('compile: a request hook with no later respond hook runs bare (no wrapper)', () => {
  const request = () => undefined;
  const p = compile([{ name: 'only', request }], { name: 'c', environment: 'e' });
  assert.equal(p.request.length, 1);
  assert.equal(p.request[0].name, 'bound request', 'the hook itself, bound, not a closure around it');
});
