/**
 * Interrupted streams are counted (issue 14.2) and rows read right (14.4),
 * through the gateway in front of the simulator: a stream the client aborts,
 * one the upstream cuts and one ended by an error event each get their output
 * tokens estimated from what was relayed (`usage_source: estimated`, priced,
 * counted in the metrics); a success after a retried 529 carries no error type.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { costOf } from '../src/anthropic/cost.ts';
import { estimateTextTokens } from '../src/anthropic/tokens.ts';
import { emptyUsage } from '../src/anthropic/usage.ts';
import type { Gateway } from '../src/gateway/server.ts';
import { isErrorRow } from '../src/ledger/report.ts';
import { type LedgerRow, ledgerRowOf } from '../src/ledger/row.ts';
import type { ExchangeRecord } from '../src/pipeline/record.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

const MODEL = 'claude-haiku-4-5';
let sim: Simulator;
let gateway: Gateway;
const finished = new Map<string, ExchangeRecord>();
const waiters = new Map<string, (r: ExchangeRecord) => void>();
const onComplete = (r: ExchangeRecord) => {
  finished.set(r.id, r);
  waiters.get(r.id)?.(r);
};

before(async () => {
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
  // Local mode: the upstream key is the client credential. Three attempts, so a 529 is retried.
  ({ gateway } = await startTestGateway(sim.url, { resilience: { maxAttempts: 3 } }));
  gateway.events.exchangeComplete.subscribe(onComplete);
});
after(async () => {
  await gateway.close();
  await sim.close();
});
beforeEach(() => sim.state.reset());

/** The ledger row of a finished exchange, once its record is published. */
function rowOf(id: string): Promise<LedgerRow> {
  const done = finished.get(id);
  if (done) return Promise.resolve(ledgerRowOf(done));
  return new Promise((resolve) => waiters.set(id, (r) => resolve(ledgerRowOf(r))));
}

const post = (body: object, signal?: AbortSignal) =>
  fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': UPSTREAM_KEY,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      model: MODEL,
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'go' }],
      ...body,
    }),
    signal,
  });

/** Reads an SSE response, collecting text deltas, until `stop(deltas)` says so or the stream ends. */
async function readText(res: Response, stop: (deltas: number) => boolean = () => false): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let text = '';
  let deltas = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) return text;
    buf += decoder.decode(value, { stream: true });
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (data && frame.includes('text_delta')) {
        text += JSON.parse(data).delta.text;
        deltas++;
        if (stop(deltas)) {
          await reader.cancel();
          return text;
        }
      }
      i = buf.indexOf('\n\n');
    }
  }
}

const metric = async (name: string, labels: string) => {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('interrupted streams are counted', () => {
  test('a stream the client aborts after 30 deltas: output estimated from what was relayed, priced, not an error', async () => {
    sim.state.enqueue({ lorem: 600, chunkSize: 12, chunkDelayMs: 2 });
    const controller = new AbortController();
    const res = await post({ stream: true }, controller.signal);
    const id = res.headers.get('gantry-request-id')!;
    const received = await readText(res, (n) => n === 30);
    controller.abort();
    const row = await rowOf(id);
    assert.equal(row.outcome, 'client_closed');
    assert.equal(row.usageSource, 'estimated');
    // The gateway may have relayed a delta or two more than the client read before it went away.
    const seen = estimateTextTokens(received);
    assert.ok(row.outputTokens >= seen, `${row.outputTokens} >= ${seen}`);
    assert.ok(row.outputTokens <= seen + 10, `${row.outputTokens} <= ${seen} + 10`);
    assert.ok(row.outputTokens > 50, 'far more than message_start’s 1');
    const one = costOf({ ...emptyUsage(), inputTokens: row.inputTokens, outputTokens: 1 }, MODEL).micros;
    assert.ok(row.costMicros > one, `${row.costMicros} µ$ > ${one} µ$ (1 output token)`);
    assert.equal(row.errorType, null);
    assert.equal(isErrorRow(row), false);
    assert.ok((await metric('gantry_usage_estimated_total', 'outcome="client_closed"')) >= 1);
  });

  test('a stream the upstream cuts: the estimate is exactly the simulator’s count of what arrived', async () => {
    sim.state.enqueue({ lorem: 200, chunkSize: 10 });
    sim.state.addFault({ kind: 'cut', afterEvents: 14, count: 1, cutMode: 'end' });
    const res = await post({ stream: true });
    const id = res.headers.get('gantry-request-id')!;
    const received = await readText(res);
    const row = await rowOf(id);
    assert.equal(row.outcome, 'upstream_cut');
    assert.equal(row.usageSource, 'estimated');
    assert.equal(row.outputTokens, Math.max(1, estimateTextTokens(received)));
    assert.equal(isErrorRow(row), true, 'a cut stream is an error');
  });

  test('a stream ended by an error event: estimated, with the error type', async () => {
    sim.state.enqueue({ lorem: 200, chunkSize: 10 });
    sim.state.addFault({ kind: 'stream_error', afterEvents: 12, count: 1 });
    const res = await post({ stream: true });
    const id = res.headers.get('gantry-request-id')!;
    const received = await readText(res);
    const row = await rowOf(id);
    assert.equal(row.outcome, 'stream_error');
    assert.equal(row.usageSource, 'estimated');
    assert.equal(row.outputTokens, Math.max(1, estimateTextTokens(received)));
    assert.equal(row.errorType, 'overloaded_error');
  });

  test('a complete stream: the API’s count, reported', async () => {
    const res = await post({ stream: true });
    const id = res.headers.get('gantry-request-id')!;
    await readText(res);
    const row = await rowOf(id);
    assert.equal(row.outcome, 'ok');
    assert.equal(row.usageSource, 'reported');
  });
});

describe('rows read right', () => {
  test('a request that succeeded after a retried 529 carries no error type', async () => {
    sim.state.addFault({ kind: 'status', status: 529, count: 1, path: '/v1/messages' });
    const res = await post({});
    assert.equal(res.status, 200);
    const row = await rowOf(res.headers.get('gantry-request-id')!);
    assert.equal(row.status, 200);
    assert.equal(row.attempts, 2);
    assert.equal(row.errorType, null);
    assert.equal(isErrorRow(row), false);
  });
});
