/**
 * Claude on Bedrock and Vertex AI through the gateway, against the simulator:
 * an Anthropic 529 storm is served by the same model on Bedrock (and on Vertex
 * when Bedrock storms too) with no failed client request, streams included;
 * each ledger row is priced at the serving platform's prices and says which
 * platform and region served it; rate limits and budgets hold across
 * platforms; a Bedrock throttle reaches the SDK as a 429 it retries; a wrong
 * signature or an expired token is reported by /health as a credential
 * problem of that platform.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { costOf } from '../src/anthropic/cost.ts';
import { runPreflight } from '../src/audit/preflight.ts';
import { hashKey } from '../src/config/keys.ts';
import { parseConfig } from '../src/config/load.ts';
import { type Gateway, startGateway } from '../src/gateway/server.ts';
import { ledgerRowOf } from '../src/ledger/row.ts';
import type { ExchangeRecord } from '../src/pipeline/record.ts';
import { chunkFrame, newCodec } from '../src/platforms/eventstream.ts';
import { SIMULATOR_AWS_KEY, type Simulator, startSimulator } from '../src/simulator/index.ts';
import { LogSink, UPSTREAM_KEY } from './support.ts';

const KEY = 'gk_platformsTestKey000000000000000000000000000';
const LIMITED = 'gk_platformsLimitedKey00000000000000000000000';
const PACED = 'gk_platformsPacedKey0000000000000000000000000';
const ADMIN = 'gk_platformsAdminKey0000000000000000000000000';
const MODEL = 'claude-sonnet-4-6'; // claude-sonnet-4-5 is retired since 2026-11-30
const CANONICAL = 'claude-sonnet-4-6';

let sim: Simulator;
const gateways: Gateway[] = [];
let googleToken = '';

before(async () => {
  sim = await startSimulator({ profile: 'perf', tier: 'build', acceptedKeys: [UPSTREAM_KEY] });
  process.env.GANTRY_TEST_UPSTREAM_KEY = UPSTREAM_KEY;
  process.env.GANTRY_TEST_AWS_ID = SIMULATOR_AWS_KEY.accessKeyId;
  process.env.GANTRY_TEST_AWS_SECRET = SIMULATOR_AWS_KEY.secretAccessKey;
  process.env.GANTRY_TEST_AWS_WRONG = 'not-the-secret';
});
after(async () => {
  for (const g of gateways) await g.close();
  await sim.close();
});
afterEach(() => sim.state.reset());

interface Opts {
  platforms?: string[];
  secretEnv?: string;
  maxAttempts?: number;
  vertexRegion?: string;
  /** An admin key (`ADMIN`). */
  admin?: boolean;
  /** Another Bedrock endpoint (default: the simulator). */
  bedrockEndpoint?: string;
  /** YAML lines replacing the Bedrock credentials (default: static keys by reference). */
  bedrockCredentials?: string;
  /** YAML lines replacing the Vertex credentials (default: an access token by reference). */
  vertexCredentials?: string;
}

/** A gateway whose environment `prod` has the Claude API, Bedrock and Vertex AI (all on the simulator). */
async function gateway(o: Opts = {}): Promise<{ gw: Gateway; records: ExchangeRecord[] }> {
  googleToken = sim.state.platformAuth.issueToken().token;
  process.env.GANTRY_TEST_GOOGLE_TOKEN = googleToken;
  const yaml = `
server: { port: 0 }
upstream: { base_url: "${sim.url}" }
storage: { ledger: "sqlite::memory:" }
${o.admin ? `admin: { key_sha256: ${hashKey(ADMIN)} }` : ''}
resilience:
  max_attempts: ${o.maxAttempts ?? 3}
  health: { probe_interval_ms: 1 }
environments:
  prod:
    upstream_key: env:GANTRY_TEST_UPSTREAM_KEY
    ${o.platforms ? `platforms: [${o.platforms.join(', ')}]` : ''}
    bedrock:
      region: us-east-1
      endpoint: "${o.bedrockEndpoint ?? sim.url}"
      ${
        o.bedrockCredentials ??
        `access_key_id: env:GANTRY_TEST_AWS_ID
      secret_access_key: env:${o.secretEnv ?? 'GANTRY_TEST_AWS_SECRET'}`
      }
    vertex:
      project: gantry-test-project
      region: ${o.vertexRegion ?? 'us-east5'}
      endpoint: "${sim.url}"
      ${o.vertexCredentials ?? 'access_token: env:GANTRY_TEST_GOOGLE_TOKEN'}
clients:
  - name: app
    environment: prod
    key_sha256: ${hashKey(KEY)}
  - name: limited
    environment: prod
    key_sha256: ${hashKey(LIMITED)}
    limits:
      budget: { daily_usd: 0.00001 }
  - name: paced
    environment: prod
    key_sha256: ${hashKey(PACED)}
    limits:
      rpm: 2
`;
  const config = parseConfig(yaml, { source: 'test', baseDir: process.cwd() });
  const gw = await startGateway({ config, logDestination: new LogSink() });
  gateways.push(gw);
  const records: ExchangeRecord[] = [];
  gw.events.exchangeComplete.subscribe((r) => records.push(r));
  return { gw, records };
}

const sdk = (gw: Gateway, key = KEY, maxRetries = 0) =>
  new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries });
const ask = (text: string) => ({
  model: MODEL,
  max_tokens: 60,
  messages: [{ role: 'user' as const, content: text }],
});
const byPlatform = () =>
  sim.state.requests
    .all()
    .map(
      (r) =>
        `${r.path.startsWith('/model/') ? 'bedrock' : r.path.startsWith('/v1/projects/') ? 'vertex' : 'anthropic'}:${r.status}`,
    );

describe('platform fallback through the gateway', () => {
  it('an Anthropic 529 storm is served by Bedrock, for the same model, with no failed request (create and stream)', async () => {
    const { gw, records } = await gateway();
    sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages' });
    for (let i = 0; i < 5; i++) {
      const { data, response } = await sdk(gw)
        .messages.create(ask(`storm ${i}`))
        .withResponse();
      assert.deepEqual(data.content, [{ type: 'text', text: `storm ${i}`, citations: null }]);
      assert.match(data.id, /^msg_bdrk_/);
      assert.equal(response.headers.get('gantry-platform'), 'bedrock');
      assert.equal(response.headers.get('gantry-region'), 'us-east-1');
      assert.equal(response.headers.get('gantry-fallback'), 'platform:bedrock');
    }
    // Streams: the Bedrock event stream reaches the client as the API's SSE events.
    const stream = sdk(gw).messages.stream(ask('a storm, streamed'));
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'a storm, streamed' }]);
    assert.equal(final.model, CANONICAL);
    assert.ok(final.usage.output_tokens > 0);
    const log = byPlatform();
    assert.equal(log.filter((x) => x === 'bedrock:200').length, 6);
    assert.equal(log.filter((x) => x === 'anthropic:529').length, 6);
    await waitFor(() => records.length >= 6);
    const streamed = records.at(-1)!;
    assert.equal(streamed.upstream.platform, 'bedrock');
    assert.equal(streamed.outcome, 'ok');
    assert.ok(streamed.usage && streamed.usage.outputTokens > 0, 'usage tapped from the translated stream');
    assert.deepEqual(
      streamed.decisions.filter((d) => d.action === 'failed_over').map((d) => `${d.rule}:${d.detail}`),
      ['platform:bedrock'],
    );
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(
      metrics,
      /gantry_platform_requests_total\{environment="prod",platform="bedrock",region="us-east-1",status_class="2xx"\} 6/,
    );
  });

  it('with Bedrock storming too, Vertex serves; each row is priced at the serving platform (regional premium)', async () => {
    const { gw, records } = await gateway();
    sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages' });
    sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages', platform: 'bedrock' });
    const { data, response } = await sdk(gw).messages.create(ask('vertex please')).withResponse();
    assert.match(data.id, /^msg_vrtx_/);
    assert.equal(response.headers.get('gantry-platform'), 'vertex');
    assert.equal(response.headers.get('gantry-region'), 'us-east5');
    const s = sdk(gw).messages.stream(ask('vertex stream'));
    assert.deepEqual((await s.finalMessage()).content, [{ type: 'text', text: 'vertex stream' }]);
    assert.deepEqual(
      byPlatform().filter((x) => x.startsWith('vertex')),
      ['vertex:200', 'vertex:200'],
    );
    await waitFor(() => records.length >= 2);
    for (const r of records) {
      const row = ledgerRowOf(r);
      assert.equal(row.platform, 'vertex');
      assert.equal(row.region, 'us-east5');
      const list = costOf(r.usage!, CANONICAL).micros;
      const regional = costOf(r.usage!, CANONICAL, {
        servedBy: { platform: 'vertex', region: 'us-east5' },
      }).micros;
      assert.equal(row.costMicros, regional);
      assert.ok(regional > list, 'a regional Vertex endpoint costs more than the list price');
      assert.equal(regional, Math.floor((list * 11 + 5) / 10));
    }
  });

  it('rows served by Bedrock through a global profile are at list price, and the Claude API rows have no region', async () => {
    const { gw, records } = await gateway();
    await sdk(gw).messages.create(ask('direct'));
    sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages' });
    await sdk(gw).messages.create(ask('via bedrock'));
    await waitFor(() => records.length >= 2);
    const [direct, bedrock] = records.map(ledgerRowOf);
    assert.equal(direct.platform, 'anthropic');
    assert.equal(direct.region, null);
    assert.equal(bedrock.platform, 'bedrock');
    assert.equal(bedrock.region, 'us-east-1');
    assert.equal(bedrock.costMicros, costOf(records[1].usage!, CANONICAL).micros);
    assert.match(String(bedrock.upstreamRequestId), /^[0-9a-f-]{36}$/, "Bedrock's request id is kept");
  });

  it('rate limits and budgets hold across platforms', async () => {
    const { gw } = await gateway();
    sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages' });
    // The budget ($0.00001 a day) is spent by the first answer, served by Bedrock.
    const client = sdk(gw, LIMITED);
    await client.messages.create(ask('one'));
    await assert.rejects(client.messages.create(ask('two')), (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.match(err.message, /budget\.client\.daily/);
      return true;
    });
    // 2 requests a minute, whichever platform serves them.
    const paced = sdk(gw, PACED);
    await paced.messages.create(ask('a'));
    await paced.messages.create(ask('b'));
    await assert.rejects(paced.messages.create(ask('c')), (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      assert.match(String(err.headers?.get('gantry-ratelimit-limit-requests') ?? err.message), /2|rpm|rate/);
      return true;
    });
    assert.deepEqual(
      byPlatform().filter((x) => x.startsWith('bedrock')),
      ['bedrock:200', 'bedrock:200', 'bedrock:200'],
      'the refused requests never reached a platform',
    );
  });

  it('a Bedrock throttle reaches the SDK as a 429 it retries', async () => {
    const { gw } = await gateway({ platforms: ['bedrock'], maxAttempts: 1 });
    sim.state.addFault({ kind: 'status', status: 429, platform: 'bedrock', count: 1 });
    await assert.rejects(sdk(gw).messages.create(ask('throttled')), (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      assert.equal((err.error as { error?: { type?: string } }).error?.type, 'rate_limit_error');
      assert.match(String(err.requestID ?? err.headers?.get('request-id')), /^[0-9a-f-]{36}$/);
      return true;
    });
    sim.state.addFault({ kind: 'status', status: 429, platform: 'bedrock', count: 1 });
    const msg = await sdk(gw, KEY, 2).messages.create(ask('throttled, then served'));
    assert.equal(msg.content[0].type, 'text');
    assert.deepEqual(byPlatform(), ['bedrock:429', 'bedrock:429', 'bedrock:200']);
  });

  it('/health reports a wrong Bedrock signature and an expired Vertex token as credential problems of that platform', async () => {
    const { gw } = await gateway({ secretEnv: 'GANTRY_TEST_AWS_WRONG' });
    // The gateway's token (issued by the simulator's OAuth endpoint) expires.
    sim.state.platformAuth.expireGoogle();
    const res = await fetch(`${gw.url}/health`);
    const body = (await res.json()) as {
      environments: Record<
        string,
        {
          status: string;
          causes: string[];
          platforms: Record<string, { probe: { cause: string; detail?: string } }>;
        }
      >;
    };
    const prod = body.environments.prod;
    assert.equal(prod.platforms.bedrock.probe.cause, 'credentials_invalid');
    assert.match(String(prod.platforms.bedrock.probe.detail), /InvalidSignatureException/);
    assert.equal(prod.platforms.vertex.probe.cause, 'credentials_invalid');
    assert.match(String(prod.platforms.vertex.probe.detail), /UNAUTHENTICATED.*expired/);
    assert.deepEqual(prod.causes.sort(), ['bedrock:credentials_invalid', 'vertex:credentials_invalid']);
    assert.equal(prod.status, 'degraded', 'the Claude API still serves');
    // Preflight names each platform's credential problem apart.
    const report = await runPreflight(gw.url, {
      mode: 'gateway',
      key: KEY,
      generate: false,
      latencySamples: 1,
    });
    const ready = report.checks.find((c) => c.id === 'PF-READY')!;
    assert.equal(ready.outcome, 'warn');
    const messages = ready.findings.map((f) => `${f.key} ${f.level} ${f.message}`);
    assert.equal(messages.length, 2);
    assert.match(
      messages.find((m) => m.includes('bedrock'))!,
      /environments\.prod\.bedrock fail bedrock \(us-east-1\): credentials_invalid/,
    );
    assert.match(
      messages.find((m) => m.includes('vertex'))!,
      /environments\.prod\.vertex fail vertex \(us-east5\): credentials_invalid/,
    );
    // Traffic is unaffected: the Claude API is healthy.
    assert.equal((await sdk(gw).messages.create(ask('still fine'))).type, 'message');
  });
});

describe('operating platforms', () => {
  it('an operator disables Bedrock at run time (admin route): the storm then goes to Vertex', async () => {
    const { gw } = await gateway({ admin: true });
    const admin = (body?: unknown) =>
      fetch(`${gw.url}/admin/upstream-keys`, {
        method: body ? 'POST' : 'GET',
        headers: { 'x-api-key': ADMIN, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const view = (await (await admin()).json()) as {
      platforms: Record<string, Record<string, { state: string; region: string }>>;
    };
    assert.deepEqual(
      Object.fromEntries(Object.entries(view.platforms.prod).map(([k, v]) => [k, `${v.state} ${v.region}`])),
      { bedrock: 'active us-east-1', vertex: 'active us-east5' },
    );
    assert.equal((await admin({ environment: 'prod', id: 'bedrock', state: 'disabled' })).status, 200);
    sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages' });
    const { response } = await sdk(gw).messages.create(ask('not bedrock')).withResponse();
    assert.equal(response.headers.get('gantry-platform'), 'vertex');
    assert.equal(byPlatform().filter((x) => x.startsWith('bedrock')).length, 0);
  });
});

describe('platform credentials from their standard sources', () => {
  it('Bedrock: the AWS default chain (environment variables) signs; Vertex: a service account key, its token from the OAuth endpoint', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-vertex-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sa = join(dir, 'sa.json');
    writeFileSync(
      sa,
      JSON.stringify({
        type: 'service_account',
        project_id: 'gantry-test-project',
        private_key_id: 'k1',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        client_email: 'gantry@gantry-test-project.iam.gserviceaccount.com',
        client_id: '1',
        token_uri: 'https://oauth2.googleapis.com/token',
      }),
    );
    process.env.AWS_ACCESS_KEY_ID = SIMULATOR_AWS_KEY.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = SIMULATOR_AWS_KEY.secretAccessKey;
    t.after(() => {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    });
    const { gw } = await gateway({
      platforms: ['bedrock', 'vertex'],
      bedrockCredentials: '# no keys: the AWS default chain',
      vertexCredentials: `credentials: file:${sa}\n      token_url: "${sim.url}/token"`,
    });
    const viaBedrock = await sdk(gw).messages.create(ask('chain'));
    assert.match(viaBedrock.id, /^msg_bdrk_/);
    const signed = sim.state.requests.all().at(-1)!;
    assert.match(String(signed.headers.authorization), /Credential=AKIAGANTRYSIMULATOR0\//);
    sim.state.addFault({ kind: 'status', status: 529, path: '/v1/messages', platform: 'bedrock' });
    const viaVertex = await sdk(gw).messages.create(ask('service account'));
    assert.match(viaVertex.id, /^msg_vrtx_/);
    const authorized = sim.state.requests.all().at(-1)!;
    assert.match(
      String(authorized.headers.authorization),
      /^Bearer ya29\.sim-/,
      'a token the OAuth endpoint issued',
    );
  });
});

describe('a client that leaves a Bedrock stream', () => {
  it('releases the Bedrock request: the platform sees its response closed', async (t) => {
    // A Bedrock endpoint that starts a stream and then sends a delta every 50 ms, forever.
    const codec = await newCodec();
    const open = new Set<ServerResponse>();
    const bedrock = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'r-1' });
      res.write(
        chunkFrame(codec, {
          type: 'message_start',
          message: {
            id: 'msg_bdrk_1',
            type: 'message',
            role: 'assistant',
            model: CANONICAL,
            content: [],
            usage: { input_tokens: 5, output_tokens: 1 },
          },
        }),
      );
      res.write(
        chunkFrame(codec, {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: '' },
        }),
      );
      open.add(res);
      const timer = setInterval(
        () =>
          res.write(
            chunkFrame(codec, {
              type: 'content_block_delta',
              index: 0,
              delta: { type: 'text_delta', text: 'more ' },
            }),
          ),
        50,
      );
      res.on('close', () => {
        clearInterval(timer);
        open.delete(res);
      });
    });
    bedrock.listen(0, '127.0.0.1');
    await once(bedrock, 'listening');
    t.after(() => bedrock.close());
    const { gw } = await gateway({
      platforms: ['bedrock'],
      bedrockEndpoint: `http://127.0.0.1:${(bedrock.address() as AddressInfo).port}`,
    });
    const ctl = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask('leave me'), stream: true }),
      signal: ctl.signal,
    });
    assert.equal(res.headers.get('gantry-platform'), 'bedrock');
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^event: message_start/);
    assert.equal(open.size, 1);
    ctl.abort();
    await waitFor(() => open.size === 0, 5_000);
  });
});

async function waitFor(cond: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setImmediate(r));
  }
}
