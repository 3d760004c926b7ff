/**
 * The cost corpus: simulated exchanges of every usage shape, run SDK → gateway
 * → simulator, and the ledger's cost compared to an independent computation to
 * the micro-dollar.
 *
 * The independent computation is written here, apart from src/anthropic/cost.ts:
 * it reads the usage the API reported (as the SDK received it: the non-stream
 * body, or the stream's own events with the documented overwrite rule), and
 * multiplies tokens by a price table typed in from the reference (§6, §9),
 * as exact decimals (BigInt), rounding once, half up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { hashKey } from '../src/config/keys.ts';
import type { Gateway } from '../src/gateway/server.ts';
import type { LedgerRow } from '../src/ledger/row.ts';
import { openLedgerStore } from '../src/ledger/store.ts';
import type { InvariantEvent } from '../src/observe/events.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { startTestGateway, UPSTREAM_KEY } from './support.ts';

const VIRTUAL_KEY = 'gk_costCorpusKey0000000000000000000000000000';

// ---- the independent price table (USD per MTok, as written in the reference) ----
type P = { in: string; w5: string; w1: string; r: string; out: string };
const TABLE: Record<string, { base: P; longAbove?: number; long?: P; geo?: boolean }> = {
  'claude-haiku-4-5-20251001': { base: { in: '1', w5: '1.25', w1: '2', r: '0.1', out: '5' } },
  'claude-haiku-4-5': { base: { in: '1', w5: '1.25', w1: '2', r: '0.1', out: '5' } },
  'claude-opus-5': { base: { in: '5', w5: '6.25', w1: '10', r: '0.5', out: '25' }, geo: true },
  'claude-sonnet-4-6': { base: { in: '3', w5: '3.75', w1: '6', r: '0.3', out: '15' }, geo: true },
  'claude-haiku-5-5': {
    base: { in: '0.1', w5: '0.125', w1: '0.2', r: '0.01', out: '0.5' },
    longAbove: 100_000,
    long: { in: '0.5', w5: '0.625', w1: '1', r: '0.05', out: '2.5' },
    geo: true,
  },
};

/** "0.125" → 125n (thousandths). */
function thousandths(price: string): bigint {
  const [whole, frac = ''] = price.split('.');
  return BigInt(whole) * 1000n + BigInt((frac + '000').slice(0, 3));
}

interface RawUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } | null;
  inference_geo?: string | null;
}

interface Split {
  input: number;
  w5: number;
  w1: number;
  read: number;
  output: number;
}

function split(u: RawUsage): Split {
  const w1 = u.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  const w5 = u.cache_creation
    ? (u.cache_creation.ephemeral_5m_input_tokens ?? 0)
    : (u.cache_creation_input_tokens ?? 0);
  return {
    input: u.input_tokens ?? 0,
    w5,
    w1,
    read: u.cache_read_input_tokens ?? 0,
    output: u.output_tokens ?? 0,
  };
}

/** Micro-dollars, computed from scratch. */
function expectedMicros(model: string, u: RawUsage, opts: { batch?: boolean } = {}): number {
  const m = TABLE[model];
  assert.ok(m, `corpus price table lacks ${model}`);
  const s = split(u);
  const prompt = s.input + s.w5 + s.w1 + s.read;
  const p = m.longAbove !== undefined && prompt > m.longAbove ? m.long! : m.base;
  // tokens × (µ$/token × 1000)
  let total =
    BigInt(s.input) * thousandths(p.in) +
    BigInt(s.w5) * thousandths(p.w5) +
    BigInt(s.w1) * thousandths(p.w1) +
    BigInt(s.read) * thousandths(p.r) +
    BigInt(s.output) * thousandths(p.out);
  let den = 1000n;
  if (opts.batch) den *= 2n;
  if (m.geo && u.inference_geo === 'us') {
    total *= 11n;
    den *= 10n;
  }
  return Number((2n * total + den) / (2n * den));
}

/** The stream's usage by the documented rule: message_start sets it, message_delta overwrites what it carries. */
function streamUsage(
  events: Array<{ type: string; message?: { usage: RawUsage }; usage?: RawUsage }>,
): RawUsage {
  let u: RawUsage = {};
  for (const e of events) {
    if (e.type === 'message_start' && e.message) u = { ...e.message.usage };
    if (e.type === 'message_delta' && e.usage) {
      for (const [k, v] of Object.entries(e.usage))
        if (v !== null && v !== undefined) (u as Record<string, unknown>)[k] = v;
    }
  }
  return u;
}

interface Case {
  name: string;
  /** Upstream request id (or ledger row id for batch lines). */
  key: { upstream?: string; id?: string };
  model: string;
  usage: RawUsage;
  batch?: boolean;
}

let sim: Simulator;
let gateway: Gateway;
let dir: string;
const cases: Case[] = [];
const invariants: InvariantEvent[] = [];
const onInvariant = (m: unknown) => invariants.push(m as InvariantEvent);

const lorem = (words: number) =>
  Array.from({ length: words }, (_, i) => ['alpha', 'beta', 'gamma', 'delta', 'omega'][i % 5] + i).join(' ');
const LONG_SYSTEM = `You are a careful assistant. ${lorem(1500)}`;
const LONG_DOC = `Reference document. ${lorem(1200)}`;

const sdk = () => new Anthropic({ apiKey: VIRTUAL_KEY, baseURL: gateway.url, maxRetries: 0 });

async function nonStream(name: string, body: Anthropic.MessageCreateParamsNonStreaming) {
  const { data, request_id } = await sdk().messages.create(body).withResponse();
  cases.push({ name, key: { upstream: request_id! }, model: data.model, usage: data.usage as RawUsage });
  return data;
}

async function stream(name: string, body: Anthropic.MessageCreateParamsStreaming, expectError = false) {
  const { data, request_id } = await sdk().messages.create(body).withResponse();
  const events: Array<{ type: string }> = [];
  let model = body.model;
  let failed = false;
  try {
    for await (const ev of data) {
      events.push(ev as { type: string });
      if (ev.type === 'message_start') model = ev.message.model;
    }
  } catch {
    failed = true;
  }
  assert.equal(failed, expectError, `${name}: stream error`);
  cases.push({ name, key: { upstream: request_id! }, model, usage: streamUsage(events as never) });
}

const msg = (text: string) => [{ role: 'user' as const, content: text }];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-corpus-'));
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY], batchProcessingMs: 30 });
  ({ gateway } = await startTestGateway(sim.url, {
    clients: [{ name: 'corpus', environment: 'default', keySha256: hashKey(VIRTUAL_KEY), limits: {} }],
    storage: { ledger: `sqlite:${join(dir, 'ledger.db')}`, ledgerFlushMs: 50 },
  }));
  gateway.events.invariant.subscribe(onInvariant);
});
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cost corpus: ledger cost equals an independent computation', () => {
  test('run every usage shape through SDK → gateway → simulator', async () => {
    // Plain, both modes.
    await nonStream('plain', { model: 'claude-haiku-4-5', max_tokens: 200, messages: msg('Hello there') });
    await stream('plain stream', {
      model: 'claude-haiku-4-5',
      max_tokens: 200,
      messages: msg('Hello'),
      stream: true,
    });

    // 5-minute cache write then read (non-stream), on a 512-token-minimum model.
    const cached5m = {
      model: 'claude-opus-5',
      max_tokens: 100,
      system: [{ type: 'text' as const, text: LONG_SYSTEM, cache_control: { type: 'ephemeral' as const } }],
      messages: msg('Summarise.'),
    };
    const w = await nonStream('cache write 5m', cached5m);
    assert.ok((w.usage.cache_creation_input_tokens ?? 0) > 0, 'the simulator wrote the cache');
    const r = await nonStream('cache read', cached5m);
    assert.ok((r.usage.cache_read_input_tokens ?? 0) > 0, 'the simulator read the cache');

    // 1 h + 5 m writes in one streamed request, then reads of both, streamed.
    const mixed = {
      model: 'claude-opus-5',
      max_tokens: 100,
      stream: true as const,
      system: [
        {
          type: 'text' as const,
          text: `${LONG_SYSTEM} v2`,
          cache_control: { type: 'ephemeral' as const, ttl: '1h' as const },
        },
      ],
      messages: [
        {
          role: 'user' as const,
          content: [
            {
              type: 'text' as const,
              text: LONG_DOC,
              cache_control: { type: 'ephemeral' as const, ttl: '5m' as const },
            },
            { type: 'text' as const, text: 'What does it say?' },
          ],
        },
      ],
    };
    await stream('cache write 1h+5m stream', mixed);
    await stream('cache read 1h+5m stream', mixed);

    // Tool use, both modes.
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather',
        input_schema: { type: 'object' as const, properties: {} },
      },
    ];
    sim.state.enqueue({ toolUse: { name: 'get_weather', input: { city: 'Paris' } } });
    await nonStream('tool use', {
      model: 'claude-sonnet-4-6',
      max_tokens: 300,
      tools,
      messages: msg('Weather?'),
    });
    sim.state.enqueue({ toolUse: { name: 'get_weather', input: { city: 'Oslo' } } });
    await stream('tool use stream', {
      model: 'claude-sonnet-4-6',
      max_tokens: 300,
      tools,
      messages: msg('Weather?'),
      stream: true,
    });

    // max_tokens stop, both modes.
    sim.state.enqueue({ lorem: 400 });
    const cut = await nonStream('max_tokens', {
      model: 'claude-haiku-4-5',
      max_tokens: 7,
      messages: msg('Talk a lot'),
    });
    assert.equal(cut.stop_reason, 'max_tokens');
    sim.state.enqueue({ lorem: 400 });
    await stream('max_tokens stream', {
      model: 'claude-haiku-4-5',
      max_tokens: 9,
      messages: msg('Talk'),
      stream: true,
    });

    // Error mid-stream: only message_start's usage arrived.
    sim.state.addFault({ kind: 'stream_error', afterEvents: 3, count: 1 });
    sim.state.enqueue({ lorem: 200 });
    await stream(
      'error mid-stream',
      { model: 'claude-haiku-4-5', max_tokens: 500, messages: msg('Go'), stream: true },
      true,
    );

    // Usage overrides: odd numbers, both TTLs, reads, US residency (1.1×), long-prompt band, rounding.
    const big = {
      input_tokens: 123_457,
      cache_creation_input_tokens: 7_777,
      cache_creation: { ephemeral_5m_input_tokens: 1_111, ephemeral_1h_input_tokens: 6_666 },
      cache_read_input_tokens: 55_555,
      output_tokens: 3_333,
    };
    sim.state.enqueue({ usage: big });
    await nonStream('override big (sonnet 4.6)', {
      model: 'claude-sonnet-4-6',
      max_tokens: 100,
      messages: msg('x'),
    });
    sim.state.enqueue({ usage: { ...big, inference_geo: 'us' } });
    await stream('override us residency stream', {
      model: 'claude-sonnet-4-6',
      max_tokens: 100,
      messages: msg('x'),
      stream: true,
    });
    sim.state.enqueue({ usage: big });
    await stream('long-prompt band stream (haiku 5.5)', {
      model: 'claude-haiku-5-5',
      max_tokens: 100,
      messages: msg('x'),
      stream: true,
    });
    sim.state.enqueue({
      usage: {
        input_tokens: 3,
        cache_creation_input_tokens: 5,
        cache_creation: { ephemeral_5m_input_tokens: 3, ephemeral_1h_input_tokens: 2 },
        cache_read_input_tokens: 7,
        output_tokens: 1,
      },
    });
    await nonStream('sub-micro-dollar rounding (haiku 5.5)', {
      model: 'claude-haiku-5-5',
      max_tokens: 100,
      messages: msg('x'),
    });
    // An older API shape: a cache-write total without the TTL breakdown (priced as 5 m writes).
    sim.state.enqueue({ usage: { cache_creation_input_tokens: 2_048, cache_creation: null } });
    await nonStream('write total without breakdown', {
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: msg('x'),
    });

    // An upstream error: no usage, cost 0.
    const bad = await sdk()
      .messages.create({ model: 'claude-haiku-4-5', max_tokens: 0 as number, messages: [] })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof Anthropic.APIError);
    cases.push({
      name: 'upstream 400',
      key: { upstream: bad.requestID! },
      model: 'claude-haiku-4-5',
      usage: {},
    });

    // A batch: each succeeded result line at batch price.
    const client = sdk();
    const batch = await client.messages.batches.create({
      requests: [
        { custom_id: 'b-one', params: { model: 'claude-haiku-4-5', max_tokens: 50, messages: msg('first') } },
        {
          custom_id: 'b-two',
          params: { model: 'claude-opus-5', max_tokens: 80, messages: msg('second one') },
        },
        { custom_id: 'b-bad', params: { model: 'claude-haiku-4-5', max_tokens: -1, messages: msg('x') } },
      ],
    });
    let current = batch;
    for (let i = 0; i < 200 && current.processing_status !== 'ended'; i++) {
      await new Promise((res) => setTimeout(res, 20));
      current = await client.messages.batches.retrieve(batch.id);
    }
    assert.equal(current.processing_status, 'ended');
    let succeeded = 0;
    for await (const line of await client.messages.batches.results(batch.id)) {
      if (line.result.type !== 'succeeded') continue;
      succeeded++;
      const m = line.result.message;
      cases.push({
        name: `batch ${line.custom_id}`,
        key: { id: `batch:${batch.id}:${line.custom_id}` },
        model: m.model,
        usage: m.usage as RawUsage,
        batch: true,
      });
    }
    assert.equal(succeeded, 2);
    // Fetching the results again must not count them twice (same row ids).
    for await (const _ of await client.messages.batches.results(batch.id)) void _;

    await gateway.close(); // flushes the ledger
  });

  test('every row is exact to the micro-dollar', async () => {
    const store = await openLedgerStore(`sqlite:${join(dir, 'ledger.db')}`);
    const rows = await store.rows();
    await store.close();
    const byUpstream = new Map<string, LedgerRow>();
    const byId = new Map<string, LedgerRow>();
    for (const row of rows) {
      byId.set(row.id, row);
      if (row.upstreamRequestId && row.route === 'messages') byUpstream.set(row.upstreamRequestId, row);
    }
    assert.ok(cases.length >= 19, `corpus has ${cases.length} cases`);
    let nonZero = 0;
    for (const c of cases) {
      const row = c.key.id ? byId.get(c.key.id) : byUpstream.get(c.key.upstream!);
      assert.ok(row, `${c.name}: ledger row present`);
      const want = expectedMicros(c.model, c.usage, { batch: c.batch });
      const s = split(c.usage);
      assert.equal(row.costMicros, want, `${c.name}: cost`);
      assert.deepEqual(
        [
          row.inputTokens,
          row.cacheWrite5mTokens,
          row.cacheWrite1hTokens,
          row.cacheReadTokens,
          row.outputTokens,
        ],
        [s.input, s.w5, s.w1, s.read, s.output],
        `${c.name}: tokens`,
      );
      assert.equal(row.batch, c.batch === true, `${c.name}: batch flag`);
      if (want > 0) nonZero++;
    }
    assert.ok(nonZero >= cases.length - 2, 'the corpus prices real traffic');
    // Batch result lines appear once each even though the results were fetched twice.
    assert.equal(rows.filter((r) => r.route === 'batches.result').length, 2);
    // Streams are flagged and no accounting invariant fired on this traffic.
    assert.ok(rows.some((r) => r.stream && r.costMicros > 0));
    assert.deepEqual(invariants, []);
  });
});
