/**
 * Tracing on: a span per request with the GenAI attributes and a child span
 * per upstream attempt, exported over OTLP/HTTP (JSON) to a local receiver;
 * the client's W3C traceparent is continued. Tracing off: no tracer at all.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { hashKey } from '../src/config/keys.ts';
import { startGateway } from '../src/gateway/server.ts';
import { modelLabel } from '../src/observe/metrics.ts';
import { type Telemetry, telemetryStage } from '../src/observe/stage.ts';
import { STAGES } from '../src/pipeline/index.ts';
import type { StageFactory } from '../src/pipeline/stage.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, testConfig, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_tracingSuiteKey0000000000000000000000000';
const MODEL = 'claude-haiku-4-5';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number };
}

let sim: Simulator;
const spans: OtlpSpan[] = [];
const resources: string[] = [];
const receiver = createServer((req, res) => {
  let data = '';
  req.on('data', (c) => {
    data += c;
  });
  req.on('end', () => {
    assert.equal(req.url, '/v1/traces');
    assert.match(String(req.headers['content-type']), /application\/json/);
    const body = JSON.parse(data) as {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: OtlpValue }> };
        scopeSpans: Array<{ spans: OtlpSpan[] }>;
      }>;
    };
    for (const rs of body.resourceSpans) {
      resources.push(JSON.stringify(rs.resource.attributes));
      for (const ss of rs.scopeSpans) spans.push(...ss.spans);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

const attr = (s: OtlpSpan, key: string): unknown => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.arrayValue) return v.arrayValue.values.map((x) => x.stringValue);
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
};

before(async () => {
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  sim = await startSimulator({ profile: 'perf', acceptedKeys: [UPSTREAM_KEY] });
});
after(async () => {
  await sim.close();
  receiver.close();
});

async function gatewayWith(tracing: boolean) {
  const base = testConfig(sim.url, {
    clients: [{ name: 'checkout', environment: 'default', keySha256: hashKey(KEY), limits: {} }],
    resilience: { maxAttempts: 1 }, // the upstream 529 reaches the span unretried
  });
  const port = (receiver.address() as AddressInfo).port;
  const config = {
    ...base,
    alerts: { ...base.alerts, enabled: false },
    tracing: {
      ...base.tracing,
      enabled: tracing,
      endpoint: `http://127.0.0.1:${port}/v1/traces`,
      serviceName: 'gantry-test',
    },
  };
  let telemetry: Telemetry | undefined;
  const list = STAGES as Array<readonly [string, StageFactory]>;
  const i = list.findIndex(([n]) => n === 'metrics');
  const original = list[i];
  list[i] = ['metrics', telemetryStage({ onOpen: (t) => (telemetry = t) })];
  try {
    const gateway = await startGateway({ config, logDestination: new LogSink() });
    return { gateway, telemetry: telemetry! };
  } finally {
    list[i] = original;
  }
}

const post = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': KEY,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify({
      model: MODEL,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  });

test('tracing on: a span per request with GenAI attributes, exported over OTLP, traceparent continued', async () => {
  const { gateway, telemetry } = await gatewayWith(true);
  try {
    assert.ok(telemetry.tracer);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const r1 = await post(gateway.url, {}, { traceparent: `00-${traceId}-${parentId}-01` });
    assert.equal(r1.status, 200);
    const m1 = (await r1.json()) as {
      usage: { input_tokens: number; output_tokens: number };
      stop_reason: string;
    };
    const r2 = await post(gateway.url, { stream: true });
    assert.equal(r2.status, 200);
    await r2.text();
    sim.state.addFault({ kind: 'status', status: 529, count: 1 });
    const r3 = await post(gateway.url, {});
    assert.equal(r3.status, 529, await r3.clone().text());
    await r3.text();
    await telemetry.tracer!.flush();

    const servers = spans.filter((s) => s.kind === 2);
    const clients = spans.filter((s) => s.kind === 3);
    assert.equal(servers.length, 3, 'one server span per request');
    assert.equal(clients.length, 3, 'one client span per upstream attempt');
    assert.match(resources[0], /gantry-test/);

    const first = servers.find((s) => s.traceId === traceId);
    assert.ok(first, 'the client traceparent is continued');
    assert.equal(first.parentSpanId, parentId);
    assert.equal(first.name, `chat ${MODEL}`);
    assert.equal(attr(first, 'gen_ai.system'), 'anthropic');
    assert.equal(attr(first, 'gen_ai.operation.name'), 'chat');
    assert.equal(attr(first, 'gen_ai.request.model'), MODEL);
    assert.ok(String(attr(first, 'gen_ai.response.model')).startsWith('claude-haiku-4-5'));
    assert.equal(attr(first, 'gen_ai.usage.input_tokens'), m1.usage.input_tokens);
    assert.equal(attr(first, 'gen_ai.usage.output_tokens'), m1.usage.output_tokens);
    assert.deepEqual(attr(first, 'gen_ai.response.finish_reasons'), [m1.stop_reason]);
    assert.equal(attr(first, 'gen_ai.request.max_tokens'), 50);
    assert.equal(attr(first, 'gantry.client'), 'checkout');
    assert.equal(attr(first, 'http.response.status_code'), 200);
    const child = clients.find((c) => c.parentSpanId === first.spanId);
    assert.ok(child, 'the upstream attempt is a child of the request span');
    assert.equal(child.traceId, traceId);
    assert.equal(attr(child, 'gantry.attempt'), 1);
    assert.ok(BigInt(child.startTimeUnixNano) >= BigInt(first.startTimeUnixNano));
    assert.ok(BigInt(child.endTimeUnixNano) <= BigInt(first.endTimeUnixNano));

    const streamed = servers.find((s) => attr(s, 'gantry.stream') === true);
    assert.ok(streamed);
    assert.notEqual(streamed.traceId, traceId, 'no traceparent: a new trace');
    assert.equal(typeof attr(streamed, 'gen_ai.usage.output_tokens'), 'number');
    assert.deepEqual(attr(streamed, 'gen_ai.response.finish_reasons'), ['end_turn']);

    const failed = servers.find((s) => attr(s, 'http.response.status_code') === 529);
    assert.ok(failed);
    assert.equal(attr(failed, 'error.type'), 'overloaded_error');
    assert.equal(failed.status?.code, 2, 'status ERROR');
    assert.equal(modelLabel(MODEL).length > 0, true);
  } finally {
    await gateway.close();
  }
});

test('tracing off (the default): no tracer, no export', async () => {
  spans.length = 0;
  const { gateway, telemetry } = await gatewayWith(false);
  try {
    assert.equal(telemetry.tracer, undefined);
    await (await post(gateway.url, {})).text();
  } finally {
    await gateway.close();
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(spans.length, 0);
});
