import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildReport, canonicalModel, isErrorRow, recommend } from './report.ts';
import type { LedgerRow } from './row.ts';

function row(i: number, over: Partial<LedgerRow> = {}): LedgerRow {
  return {
    id: `gtw_${i}`,
    ts: 1_780_000_000_000 + i,
    upstreamRequestId: null,
    route: 'messages',
    client: 'app',
    environment: 'prod',
    customer: null,
    model: 'claude-haiku-4-5',
    requestedModel: null,
    stream: true,
    status: 200,
    outcome: 'ok',
    errorType: null,
    inputTokens: 10,
    outputTokens: 20,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    cacheReadTokens: 0,
    costMicros: 100,
    priced: true,
    batch: false,
    latencyMs: 1,
    ttftMs: 1,
    attempts: 1,
    decisions: '[]',
    ...over,
  };
}

describe('reports read right', () => {
  it('one model is one row: an alias and its dated id group under the canonical id, the names asked for kept', () => {
    const rows = [
      row(1, { model: 'claude-haiku-4-5' }),
      row(2, { model: 'claude-haiku-4-5-20251001', route: 'batches.result', batch: true }),
      row(3, { model: 'claude-haiku-4-5', requestedModel: 'claude-sonnet-4-6' }),
    ];
    const { lines } = buildReport(rows, 'model');
    assert.equal(lines.length, 1);
    assert.equal(lines[0].key, canonicalModel('claude-haiku-4-5'));
    assert.equal(lines[0].key, 'claude-haiku-4-5-20251001');
    assert.equal(lines[0].requests, 3);
    assert.deepEqual(lines[0].requested, [
      'claude-haiku-4-5',
      'claude-haiku-4-5-20251001',
      'claude-sonnet-4-6',
    ]);
    assert.equal(canonicalModel('not-a-model'), 'not-a-model');
  });

  it('streams the client closed are not errors: their own column', () => {
    const rows = [
      row(1, { outcome: 'client_closed', usageSource: 'estimated' }),
      row(2, { outcome: 'client_closed', status: null }),
      row(3, { outcome: 'upstream_cut', usageSource: 'estimated' }),
      row(4, { outcome: 'stream_error', errorType: 'overloaded_error' }),
      row(5, { status: 529, errorType: 'overloaded_error' }),
    ];
    const { total } = buildReport(rows, 'client');
    assert.equal(total.clientClosed, 2);
    assert.equal(total.errors, 3);
    assert.equal(total.estimated, 2);
    assert.deepEqual(rows.map(isErrorRow), [false, false, true, true, true]);
  });

  it('a success after retried 529s is a success (the row keeps its attempts)', () => {
    // Rows written before the fix may still carry the failed attempt's error type.
    const rows = [row(1, { attempts: 3, errorType: 'overloaded_error' }), row(2, { attempts: 2 })];
    const { total } = buildReport(rows, 'client');
    assert.equal(total.errors, 0);
  });

  it('recommendations see one model under its aliases', () => {
    const rows = Array.from({ length: 40 }, (_, i) =>
      row(i, {
        model: i % 2 ? 'claude-opus-4-1' : 'claude-opus-4-1-20250805',
        outputTokens: 30,
        costMicros: 5000,
      }),
    );
    const cheaper = recommend(rows).filter((r) => r.kind === 'cheaper_model');
    assert.equal(cheaper.length, 1, JSON.stringify(cheaper));
    assert.match(cheaper[0].reason, /over 40 requests/);
  });
});
