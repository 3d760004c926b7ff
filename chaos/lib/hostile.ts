/**
 * Hostile input on raw sockets: malformed request lines and headers,
 * smuggling variants, slow senders, hostile bodies, pipelined garbage. Each
 * case is one connection; its outcome is what came back before the server
 * closed it (or a hang, when nothing came back within `hangMs`).
 */
import { connect } from 'node:net';
import type { RequestRecord } from './load.ts';

export interface HostileCase {
  name: string;
  /** The bytes to send, at once, or as parts with a pause between them (slow senders). */
  send: string | Buffer | { parts: Array<string | Buffer>; pauseMs: number };
  /** The request carries the client's key (`{KEY}` in the bytes is replaced by it). */
  authenticated?: boolean;
}

export interface HostileResult {
  case: string;
  statuses: number[];
  /** Every error answer was the Anthropic envelope with a request id. */
  enveloped: boolean;
  hung: boolean;
  ms: number;
}

const CRLF = '\r\n';
const head = (lines: string[]) => lines.join(CRLF) + CRLF + CRLF;
const MODEL = 'claude-haiku-4-5';
const msg = (extra = '') =>
  `{"model":"${MODEL}","max_tokens":8,"messages":[{"role":"user","content":"hostile"}]${extra}}`;
const post = (path: string, body: string, headers: string[] = [], key = true) =>
  head([
    `POST ${path} HTTP/1.1`,
    'host: gantry',
    ...(key ? ['x-api-key: {KEY}'] : []),
    'anthropic-version: 2023-06-01',
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...headers,
  ]) + body;
const get = (target: string, headers: string[] = []) =>
  head([`GET ${target} HTTP/1.1`, 'host: gantry', 'x-api-key: {KEY}', 'connection: close', ...headers]);
const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

/** The battery: 120-odd cases in families. */
export function hostileCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (name: string, send: HostileCase['send'], authenticated = true) =>
    cases.push({ name, send, authenticated });

  // Request lines.
  for (const target of [
    'http://evil.example:9999/v1/messages?x=1',
    'https://evil.example/v1/messages',
    '//evil.example/v1/messages',
    '*',
  ]) {
    add(`absolute or odd target ${target}`, post(target, msg()));
  }
  add('GET absolute-form models', get('http://evil.example/v1/models'));
  add('OPTIONS *', head(['OPTIONS * HTTP/1.1', 'host: gantry', 'connection: close']));
  add('CONNECT', head(['CONNECT evil.example:443 HTTP/1.1', 'host: evil.example:443']));
  add('TRACE', head(['TRACE /v1/messages HTTP/1.1', 'host: gantry', 'connection: close']));
  add('unknown method', head(['FROB /v1/messages HTTP/1.1', 'host: gantry', 'connection: close']));
  add('lowercase method', head(['post /v1/messages HTTP/1.1', 'host: gantry', 'connection: close']));
  add('HTTP/1.0', post('/v1/messages', msg()).replace('HTTP/1.1', 'HTTP/1.0'));
  add('HTTP/2.0 line', post('/v1/messages', msg()).replace('HTTP/1.1', 'HTTP/2.0'));
  add('no version', `GET /v1/models${CRLF}${CRLF}`);
  add('garbage line', `\x00\x01\x02 NOT HTTP AT ALL${CRLF}${CRLF}`);
  add('binary noise', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)));
  add(
    'HEAD on models',
    head(['HEAD /v1/models HTTP/1.1', 'host: gantry', 'x-api-key: {KEY}', 'connection: close']),
  );
  add('HEAD /api/hello', head(['HEAD /api/hello HTTP/1.1', 'host: gantry', 'connection: close']));
  add('PUT on messages', post('/v1/messages', msg()).replace('POST', 'PUT'));
  add('DELETE on messages', post('/v1/messages', msg()).replace('POST', 'DELETE'));
  add('unknown route', get('/v2/secret/admin'));
  add('admin without key', head(['GET /admin/ledger HTTP/1.1', 'host: gantry', 'connection: close']));
  add('admin with the client key', get('/admin/ledger'));
  // Paths and ids.
  for (const path of [
    '/v1/messages/batches/../cancel',
    '/v1/messages/batches/%2e%2e/cancel',
    '/v1/messages/batches/%2E%2E/cancel',
    '/v1/messages/batches/.%2e/cancel',
    '/v1/messages/batches/..%2f..%2fv1%2fmodels/cancel',
    '/v1/messages/batches/a%00b/cancel',
    '/v1/messages/batches/%ff/cancel',
    '/v1/messages/batches/%zz/cancel',
    '/v1/messages/batches/%/cancel',
    '/v1/messages/batches/é/cancel',
    `/v1/messages/batches/${'x'.repeat(300)}/cancel`,
  ]) {
    add(`id ${path.slice(22, 60)}`, post(path, ''));
  }
  for (const target of [
    '/v1/models/%ff',
    '/v1/models/..',
    '/v1/models/.%2e',
    '/v1/models?limit=%ff',
    '/v1/models?%00=1&&&',
  ]) {
    add(`get ${target}`, get(target));
  }
  add('very long url', get(`/v1/models?${'a'.repeat(20_000)}`));
  // Headers.
  add('header block too large', get('/v1/models', [`x-big: ${'a'.repeat(40_000)}`]));
  add(
    'many headers',
    get(
      '/v1/models',
      Array.from({ length: 2_000 }, (_, i) => `x-h${i}: ${i}`),
    ),
  );
  add('header without colon', get('/v1/models', ['no colon here']));
  add('obs-fold header', get('/v1/models', ['x-folded: a', ' continued']));
  add('bad header name', get('/v1/models', ['bad header name: x']));
  add('NUL in header value', get('/v1/models', ['x-nul: a\x00b']));
  add('no host', head(['GET /v1/models HTTP/1.1', 'x-api-key: {KEY}', 'connection: close']));
  add('two hosts', get('/v1/models', ['host: other']));
  // Authentication.
  add('no key', post('/v1/messages', msg(), [], false), false);
  add('wrong key', post('/v1/messages', msg(), ['x-api-key: gk_wrongwrongwrong'], false), false);
  add('empty key', post('/v1/messages', msg(), ['x-api-key: '], false), false);
  add('bearer empty', post('/v1/messages', msg(), ['authorization: Bearer '], false), false);
  add('bearer garbage', post('/v1/messages', msg(), ['authorization: Bearerxyz'], false), false);
  add('10 KB key', post('/v1/messages', msg(), [`x-api-key: ${'k'.repeat(10_000)}`], false), false);
  add('two different keys', post('/v1/messages', msg(), ['x-api-key: gk_other']));
  // Smuggling and framing.
  add(
    'CL and TE together',
    head([
      'POST /v1/messages HTTP/1.1',
      'host: gantry',
      'x-api-key: {KEY}',
      'content-type: application/json',
      'content-length: 4',
      'transfer-encoding: chunked',
    ]) + `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
  );
  add(
    'two content-lengths',
    head([
      'POST /v1/messages HTTP/1.1',
      'host: gantry',
      'x-api-key: {KEY}',
      'content-length: 5',
      'content-length: 6',
    ]) + 'hello!',
  );
  add('negative content-length', head(['POST /v1/messages HTTP/1.1', 'host: gantry', 'content-length: -5']));
  add(
    'non-numeric content-length',
    head(['POST /v1/messages HTTP/1.1', 'host: gantry', 'content-length: 5x']),
  );
  add(
    'huge content-length',
    head([
      'POST /v1/messages HTTP/1.1',
      'host: gantry',
      'x-api-key: {KEY}',
      'content-type: application/json',
      'content-length: 99999999999',
    ]),
  );
  add(
    'TE obfuscated',
    head(['POST /v1/messages HTTP/1.1', 'host: gantry', 'x-api-key: {KEY}', 'transfer-encoding: xchunked']) +
      '0\r\n\r\n',
  );
  add(
    'TE chunked, identity',
    head([
      'POST /v1/messages HTTP/1.1',
      'host: gantry',
      'x-api-key: {KEY}',
      'transfer-encoding: chunked, identity',
    ]) + '0\r\n\r\n',
  );
  add(
    'bad chunk size',
    head([
      'POST /v1/messages HTTP/1.1',
      'host: gantry',
      'x-api-key: {KEY}',
      'content-type: application/json',
      'transfer-encoding: chunked',
    ]) + `zz${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
  );
  add(
    'chunked body, fine',
    head([
      'POST /v1/messages HTTP/1.1',
      'host: gantry',
      'x-api-key: {KEY}',
      'anthropic-version: 2023-06-01',
      'content-type: application/json',
      'transfer-encoding: chunked',
      'connection: close',
    ]) + `${Buffer.byteLength(msg()).toString(16)}${CRLF}${msg()}${CRLF}0${CRLF}${CRLF}`,
  );
  add(
    'body longer than declared (smuggled request after)',
    post('/v1/messages', msg()).replace('connection: close', 'connection: keep-alive') +
      'GET /admin/ledger HTTP/1.1\r\nhost: x\r\n\r\n',
  );
  add(
    'pipelined valid then garbage',
    `${get('/v1/models').replace('connection: close', 'connection: keep-alive')}GARBAGE \x00 NOT HTTP${CRLF}${CRLF}`,
  );
  add(
    'ten pipelined requests',
    Array.from({ length: 10 }, (_, i) =>
      get('/v1/models').replace(
        'connection: close',
        i === 9 ? 'connection: close' : 'connection: keep-alive',
      ),
    ).join(''),
  );
  // Bodies (authenticated).
  const bodies: Array<[string, string]> = [
    ['not json', 'this is not json'],
    ['empty object', '{}'],
    ['null', 'null'],
    ['array', '[]'],
    ['string', '"x"'],
    ['number', '42'],
    ['truncated json', '{"model":'],
    ['trailing comma', '{"model":"x",}'],
    ['depth 5000 in tools', msg(`,"tools":[{"name":"t","input_schema":${deep(5_000)}}]`)],
    [
      'depth 5000 in tool_result',
      `{"model":"${MODEL}","max_tokens":8,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[${'['.repeat(5_000)}${']'.repeat(5_000)}]}]}]}`,
    ],
    ['depth 129', msg(`,"metadata":${deep(129)}`)],
    ['depth 100 (fine)', msg(`,"x_extra":${deep(100)}`)],
    ['duplicate model', `{"model":"claude-opus-4-6","model":"${MODEL}","max_tokens":8,"messages":[]}`],
    [
      'duplicate model, escaped',
      `{"model":"${MODEL}","mo\\u0064el":"claude-opus-4-6","max_tokens":8,"messages":[]}`,
    ],
    ['model a number', '{"model":42,"max_tokens":8,"messages":[]}'],
    ['model an object', '{"model":{"a":1},"max_tokens":8,"messages":[]}'],
    ['stream a string', msg(',"stream":"yes"')],
    [
      'max_tokens negative',
      `{"model":"${MODEL}","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`,
    ],
    ['max_tokens huge', `{"model":"${MODEL}","max_tokens":1e300,"messages":[{"role":"user","content":"x"}]}`],
    ['unknown model', '{"model":"claude-nope-9","max_tokens":8,"messages":[{"role":"user","content":"x"}]}'],
    ['messages a string', `{"model":"${MODEL}","max_tokens":8,"messages":"x"}`],
    [
      '10,000 messages',
      `{"model":"${MODEL}","max_tokens":8,"messages":[${Array.from({ length: 10_000 }, () => '{"role":"user","content":"x"}').join(',')}]}`,
    ],
    [
      'wide object',
      `{"model":"${MODEL}","max_tokens":8,"messages":[],"m":{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')}}}`,
    ],
    ['long string', msg(`,"system":"${'s'.repeat(1_000_000)}"`)],
    ['unicode escapes', msg(',"system":"\\ud800\\udc00\\u0000\\uffff"')],
    ['lone surrogate', msg(',"system":"\\ud800"')],
    [
      'proto pollution',
      `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"model":"${MODEL}","max_tokens":8,"messages":[{"role":"user","content":"x"}]}`,
    ],
    ['numbers odd', msg(',"temperature":1e999,"top_p":-0')],
  ];
  for (const [name, body] of bodies) add(`body: ${name}`, post('/v1/messages', body));
  add(
    'invalid utf-8 bytes',
    Buffer.concat([
      Buffer.from(
        post('/v1/messages', `{"model":"${MODEL}","max_tokens":8,"system":"xx","messages":[]}`).slice(0, -20),
      ),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(',"messages":[]}'.slice(0, 17)),
    ]),
  );
  add('BOM prefix', post('/v1/messages', `\ufeff${msg()}`));
  add(
    'text/plain',
    post('/v1/messages', msg()).replace('content-type: application/json', 'content-type: text/plain'),
  );
  add('no content-type', post('/v1/messages', msg()).replace('content-type: application/json\r\n', ''));
  add(
    'utf-16 charset',
    post('/v1/messages', msg()).replace('application/json', 'application/json; charset=utf-16'),
  );
  add('gzip content-encoding', post('/v1/messages', msg(), ['content-encoding: gzip']));
  add('empty body on messages', post('/v1/messages', ''));
  add('empty body json on cancel (SDK 0.39)', post('/v1/messages/batches/msgbatch_x/cancel', ''));
  add(
    'body on GET',
    head([
      'GET /v1/models HTTP/1.1',
      'host: gantry',
      'x-api-key: {KEY}',
      'content-length: 5',
      'connection: close',
    ]) + 'hello',
  );
  add(
    'count_tokens deep',
    post('/v1/messages/count_tokens', msg(`,"tools":[{"name":"t","input_schema":${deep(3_000)}}]`)),
  );
  add(
    'batch deep',
    post(
      '/v1/messages/batches',
      `{"requests":[{"custom_id":"a","params":${msg(`,"metadata":${deep(3_000)}`)}}]}`,
    ),
  );
  add('batch with duplicate keys', post('/v1/messages/batches', '{"requests":[],"requests":[]}'));
  add('batch requests not a list', post('/v1/messages/batches', '{"requests":"x"}'));
  add(
    'admin body too large',
    post('/admin/upstream-keys', JSON.stringify({ x: 'y'.repeat(200_000) }), ['x-api-key: {ADMIN}'], false),
    false,
  );
  add(
    'admin bad json',
    post('/admin/upstream-keys', '{"environment":', ['x-api-key: {ADMIN}'], false),
    false,
  );
  add('admin deep', post('/admin/upstream-keys', deep(2_000), ['x-api-key: {ADMIN}'], false), false);
  // Slow senders (bounded by server.request_timeout_ms).
  const slowBody = post('/v1/messages', msg());
  add('slow body (slowloris)', {
    parts: [slowBody.slice(0, slowBody.length - 20), slowBody.slice(-20)],
    pauseMs: 4_000,
  });
  add('slow headers', { parts: ['GET /v1/models HTTP/1.1\r\nhost: g', 'antry\r\n\r\n'], pauseMs: 4_000 });
  add('headers never end', { parts: ['GET /v1/models HTTP/1.1\r\nx-a: 1\r\n'], pauseMs: 0 });
  add('body never sent', {
    parts: [
      head([
        'POST /v1/messages HTTP/1.1',
        'host: gantry',
        'x-api-key: {KEY}',
        'content-type: application/json',
        'content-length: 100',
      ]),
    ],
    pauseMs: 0,
  });
  return cases;
}

/** Sends one case on a fresh connection; the outcome is every status line read before the server closed it. */
export function runCase(
  port: number,
  c: HostileCase,
  keys: { client: string; admin: string },
  hangMs: number,
): Promise<HostileResult> {
  const fill = (b: string | Buffer) =>
    typeof b === 'string'
      ? Buffer.from(b.replaceAll('{KEY}', keys.client).replaceAll('{ADMIN}', keys.admin), 'latin1')
      : b;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      const errors = statuses.filter((s) => s >= 400).length;
      const envelopes = [...text.matchAll(/\{"type":"error","error":\{"type":"[a-z_]+","message":/g)].length;
      const ids = [...text.matchAll(/request-id: (gtw_|req_)/gi)].length;
      resolve({
        case: c.name,
        statuses,
        // HEAD answers carry no body: their envelope is only the headers.
        enveloped:
          errors === 0 ||
          (envelopes >= Math.min(1, errors) && ids >= statuses.length) ||
          /^HEAD /.test(c.name),
        hung: hung && statuses.length === 0,
        ms: Date.now() - t0,
      });
    };
    const timer = setTimeout(() => finish(true), hangMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', async () => {
      const s = c.send;
      if (typeof s === 'string' || Buffer.isBuffer(s)) {
        socket.write(fill(s));
        return;
      }
      for (let i = 0; i < s.parts.length; i++) {
        if (socket.destroyed) return;
        socket.write(fill(s.parts[i]));
        if (i < s.parts.length - 1) await new Promise((r) => setTimeout(r, s.pauseMs));
      }
    });
  });
}

/** The harness's view of a hostile case (no ledger row is expected: no `id`). */
export function asRecord(r: HostileResult, sentAt: number): RequestRecord {
  const status = r.statuses.find((s) => s >= 400) ?? r.statuses[0];
  return {
    outcome: r.hung ? 'hung' : r.statuses.length > 0 ? 'answered' : 'conn_error',
    ...(status !== undefined ? { status } : {}),
    stream: false,
    sentAt,
    endedAt: sentAt + r.ms,
  };
}
