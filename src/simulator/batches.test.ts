import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { BATCH_TTL_MS, type BatchResult, BatchStore } from './batches.ts';

let now = Date.parse('2026-11-24T12:00:00Z');
let processed: unknown[] = [];
const process = (params: unknown): BatchResult => {
  processed.push(params);
  return (params as { fail?: boolean }).fail
    ? { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } } }
    : { type: 'succeeded', message: { echo: params } };
};
let store: BatchStore;
beforeEach(() => {
  now = Date.parse('2026-11-24T12:00:00Z');
  processed = [];
  store = new BatchStore(() => now, process, 1000, 100);
});

const reqs = [
  { custom_id: 'a', params: { n: 1 } },
  { custom_id: 'b', params: { n: 2, fail: true } },
];

describe('BatchStore', () => {
  it('processes after the simulated time, validating only then', () => {
    const b = store.create(reqs, 'http://sim', null);
    assert.equal(b.processing_status, 'in_progress');
    assert.deepEqual(b.request_counts, { processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
    assert.equal(b.expires_at, new Date(now + BATCH_TTL_MS).toISOString());
    assert.equal(store.results(b.id), 'in_progress');
    now += 999;
    assert.equal(store.get(b.id)?.processing_status, 'in_progress');
    assert.equal(processed.length, 0, 'nothing processed before the end');
    now += 1;
    const done = store.get(b.id)!;
    assert.equal(done.processing_status, 'ended');
    assert.deepEqual(done.request_counts, {
      processing: 0,
      succeeded: 1,
      errored: 1,
      canceled: 0,
      expired: 0,
    });
    assert.equal(done.ended_at, new Date(now).toISOString());
    assert.equal(done.results_url, `http://sim/v1/messages/batches/${b.id}/results`);
    const lines = (store.results(b.id) as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.custom_id, l.result.type]),
      [
        ['a', 'succeeded'],
        ['b', 'errored'],
      ],
    );
    assert.equal(processed.length, 2);
    store.get(b.id);
    assert.equal(processed.length, 2, 'processed once');
  });

  it('cancel → canceling → ended with every request canceled', () => {
    const b = store.create(reqs, 'http://sim', null);
    now += 10;
    const c = store.cancel(b.id)!;
    assert.equal(c.processing_status, 'canceling');
    assert.equal(c.cancel_initiated_at, new Date(now).toISOString());
    assert.equal(store.delete(b.id), 'in_progress');
    now += 100;
    const e = store.get(b.id)!;
    assert.equal(e.processing_status, 'ended');
    assert.deepEqual(e.request_counts, { processing: 0, succeeded: 0, errored: 0, canceled: 2, expired: 0 });
    assert.equal(processed.length, 0);
    assert.equal(store.delete(b.id), 'deleted');
    assert.equal(store.get(b.id), undefined);
    assert.equal(store.delete(b.id), 'not_found');
  });

  it('expires requests whose processing outlasts 24 h', () => {
    store.processingMs = BATCH_TTL_MS + 1;
    const b = store.create(reqs, 'http://sim', null);
    now += BATCH_TTL_MS;
    const e = store.get(b.id)!;
    assert.equal(e.processing_status, 'ended');
    assert.equal(e.request_counts.expired, 2);
  });

  it('lists newest first', () => {
    const a = store.create(reqs, 'http://sim', null);
    now += 1;
    const b = store.create(reqs, 'http://sim', null);
    assert.deepEqual(
      store.list().map((x) => x.id),
      [b.id, a.id],
    );
  });
});
