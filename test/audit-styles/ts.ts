/** TypeScript fixture projects: one per client style, three variants each (see common.ts). */
import { indent, type Knobs, LONG, type StyleFixture, type Variant } from './common.ts';

export function tsProject(s: StyleFixture, v: Variant): Record<string, string> {
  const k: Knobs = {
    ...s.knobs[v],
    variant: v,
    system: v === 'warn' ? 'system' : 'SYSTEM',
    cache: v === 'pass',
  };
  const usage = v === 'fail' ? '' : s.usage(v === 'pass' ? 'all' : 'some');
  const params = v === 'warn' ? 'input: string, system: string' : 'input: string';
  const body =
    v === 'pass'
      ? [
          "  if (input.length > 8000) throw new Error('input too long');",
          '  const stopTimer = latency.startTimer();',
          '  try {',
          indent(s.call(k, usage), 4),
          '    stopTimer();',
          '    return await moderate(redactSecrets(text));',
          '  } catch (err) {',
          indent(s.errors('all'), 4),
          "    return 'The assistant is unavailable right now; please try again shortly.';",
          '  }',
        ]
      : v === 'warn'
        ? [
            '  const started = Date.now();',
            '  try {',
            indent(s.call(k, usage), 4),
            "    logger.info({ ms: Date.now() - started }, 'claude call');",
            '    return text;',
            '  } catch (err) {',
            indent(s.errors('some'), 4),
            '    throw err;',
            '  }',
          ]
        : [indent(s.call(k, usage), 2), "  console.log('reply', text);", '  return text;'];
  const app = [
    "import express from 'express';",
    "import pino from 'pino';",
    "import { Histogram } from 'prom-client';",
    s.imports,
    '',
    'const logger = pino();',
    "const latency = new Histogram({ name: 'claude_request_seconds', help: 'Claude latency', buckets: [0.5, 1, 2, 5, 10, 30] });",
    `const SYSTEM = ${JSON.stringify(LONG)};`,
    s.setup(k),
    '',
    'function redactSecrets(text: string): string {',
    "  return text.replace(/sk-[A-Za-z0-9_-]+/g, '[redacted]');",
    '}',
    '',
    'async function moderate(text: string): Promise<string> {',
    "  return /\\b(kill|hate)\\b/i.test(text) ? '[removed]' : text;",
    '}',
    '',
    `export async function ask(${params}): Promise<string> {`,
    ...body,
    '}',
    '',
    'export const server = express();',
    'server.use(express.json());',
    "server.post('/chat', async (req, res) => {",
    `  res.json({ answer: await ask(${v === 'warn' ? 'req.body.input, req.body.system' : 'req.body.input'}) });`,
    '});',
    '',
  ].join('\n');
  const deps = Object.fromEntries(['express', 'pino', 'prom-client', ...s.deps].map((d) => [d, '*']));
  return {
    'package.json': JSON.stringify({ name: `fixture-${s.id}`, type: 'module', dependencies: deps }, null, 2),
    'src/app.ts': app,
  };
}

const TS_STATUS_ERRORS = (level: 'all' | 'some') =>
  [
    'const e = err as { status?: number; requestID?: string };',
    "logger.error({ request_id: e.requestID, status: e.status }, 'claude call failed');",
    ...(level === 'all'
      ? [
          "if (e.status === 401 || e.status === 403) throw new Error('misconfigured key');",
          "if (e.status === 400) throw new Error('bad request');",
          "if (e.status === 429) logger.warn('rate limited');",
          "if (e.status === 500) logger.warn('upstream error');",
          "if (e.status === 529) logger.warn('overloaded');",
        ]
      : ["if (e.status === 429) logger.warn('rate limited');"]),
  ].join('\n');

const TS_KNOBS = (model: string, bad: string): StyleFixture['knobs'] => ({
  pass: { retries: '4', timeout: '90_000', maxTokens: '1024', model },
  fail: { retries: '8', timeout: '600_000', maxTokens: '200_000', model: bad },
  warn: {
    retries: 'Number(process.env.CLAUDE_RETRIES)',
    timeout: 'Number(process.env.CLAUDE_TIMEOUT_MS)',
    maxTokens: 'Number(process.env.CLAUDE_MAX_TOKENS)',
    model,
  },
});

function sdkTs(id: string, imports: string, ctor: string, model: string, bad: string): StyleFixture {
  return {
    id,
    lang: 'ts',
    deps: [imports.match(/'(@anthropic-ai\/[\w-]+)'/)?.[1] ?? '@anthropic-ai/sdk'],
    imports,
    setup: (k) => `const client = new ${ctor}({ maxRetries: ${k.retries}, timeout: ${k.timeout} });`,
    call: (k, usage) =>
      [
        'const r = await client.messages.create({',
        `  model: '${k.model}',`,
        `  max_tokens: ${k.maxTokens},`,
        k.cache
          ? `  system: [{ type: 'text', text: ${k.system}, cache_control: { type: 'ephemeral' } }],`
          : `  system: ${k.system},`,
        "  messages: [{ role: 'user', content: input }],",
        '});',
        "const text = r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');",
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info({ input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens, cache_creation_input_tokens: r.usage.cache_creation_input_tokens, cache_read_input_tokens: r.usage.cache_read_input_tokens });'
        : 'logger.info({ input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens });',
    errors: (level) =>
      level === 'all'
        ? [
            'if (err instanceof APIError) {',
            "  logger.error({ request_id: err.requestID, status: err.status }, 'claude call failed');",
            "  if (err instanceof AuthenticationError) throw new Error('misconfigured key');",
            "  if (err instanceof BadRequestError) throw new Error('bad request');",
            "  if (err instanceof RateLimitError) logger.warn('rate limited');",
            "  if (err instanceof InternalServerError) logger.warn('upstream error');",
            "  if (err.status === 529) logger.warn('overloaded');",
            '}',
          ].join('\n')
        : "if (err instanceof RateLimitError) logger.warn({ request_id: err.requestID }, 'rate limited');",
    knobs: TS_KNOBS(model, bad),
  };
}

const SDK_ERRORS =
  "import { APIError, AuthenticationError, BadRequestError, InternalServerError, RateLimitError } from '@anthropic-ai/sdk';";

export const TS_STYLES: StyleFixture[] = [
  sdkTs(
    'sdk-ts',
    `import Anthropic from '@anthropic-ai/sdk';\n${SDK_ERRORS}`,
    'Anthropic',
    'claude-sonnet-4-6',
    'claude-3-5-sonnet-20241022',
  ),
  sdkTs(
    'bedrock-sdk-ts',
    `import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';\n${SDK_ERRORS}`,
    'AnthropicBedrock',
    'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    'anthropic.claude-3-5-sonnet-20241022-v2:0',
  ),
  sdkTs(
    'vertex-ts',
    `import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';\n${SDK_ERRORS}`,
    'AnthropicVertex',
    'claude-haiku-4-5@20251001',
    'claude-3-5-sonnet-v2@20241022',
  ),
  {
    id: 'vercel-ai',
    lang: 'ts',
    deps: ['ai', '@ai-sdk/anthropic'],
    imports:
      "import { anthropic } from '@ai-sdk/anthropic';\nimport { APICallError, generateText } from 'ai';",
    setup: () => '',
    call: (k, usage) =>
      [
        'const r = await generateText({',
        `  model: anthropic('${k.model}'),`,
        `  maxRetries: ${k.retries},`,
        `  abortSignal: AbortSignal.timeout(${k.timeout}),`,
        `  maxOutputTokens: ${k.maxTokens},`,
        k.cache
          ? `  messages: [{ role: 'system', content: ${k.system}, providerOptions: { anthropic: { cacheControl: { type: 'ephemeral' } } } }, { role: 'user', content: input }],`
          : `  system: ${k.system},\n  prompt: input,`,
        '});',
        'const text = r.text;',
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info({ inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens, cachedInputTokens: r.usage.cachedInputTokens, cacheCreationInputTokens: r.providerMetadata?.anthropic?.cacheCreationInputTokens });'
        : 'logger.info({ inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens });',
    errors: (level) =>
      [
        'if (APICallError.isInstance(err)) {',
        "  logger.error({ request_id: err.responseHeaders?.['request-id'], status: err.statusCode }, 'claude call failed');",
        ...(level === 'all'
          ? [
              "  if (err.statusCode === 401) throw new Error('misconfigured key');",
              "  if (err.statusCode === 400) throw new Error('bad request');",
              "  if (err.statusCode === 429) logger.warn('rate limited');",
              "  if (err.statusCode === 500) logger.warn('upstream error');",
              "  if (err.statusCode === 529) logger.warn('overloaded');",
            ]
          : ["  if (err.statusCode === 429) logger.warn('rate limited');"]),
        '}',
      ].join('\n'),
    knobs: TS_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  {
    id: 'langchain-js',
    lang: 'ts',
    deps: ['@langchain/anthropic', '@langchain/core'],
    imports:
      "import { ChatAnthropic } from '@langchain/anthropic';\nimport { HumanMessage, SystemMessage } from '@langchain/core/messages';",
    setup: (k) =>
      `const llm = new ChatAnthropic({ model: '${k.model}', maxRetries: ${k.retries}, maxTokens: ${k.maxTokens}, clientOptions: { timeout: ${k.timeout} } });`,
    call: (k, usage) =>
      [
        'const r = await llm.invoke([',
        k.cache
          ? `  new SystemMessage({ content: [{ type: 'text', text: ${k.system}, cache_control: { type: 'ephemeral' } }] }),`
          : `  new SystemMessage(${k.system}),`,
        '  new HumanMessage(input),',
        ']);',
        'const text = String(r.content);',
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info({ usage: r.usage_metadata });'
        : 'logger.info({ input_tokens: r.response_metadata.usage?.input_tokens, output_tokens: r.response_metadata.usage?.output_tokens });',
    errors: TS_STATUS_ERRORS,
    knobs: TS_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  {
    id: 'agent-sdk-ts',
    lang: 'ts',
    deps: ['@anthropic-ai/claude-agent-sdk'],
    imports: "import { query } from '@anthropic-ai/claude-agent-sdk';",
    setup: () => '',
    call: (k, usage) =>
      [
        "let text = '';",
        `for await (const message of query({ prompt: input, options: { model: '${k.model}', systemPrompt: ${k.system}, maxTurns: 4 } })) {`,
        "  if (message.type === 'result' && message.subtype === 'success') {",
        '    text = message.result;',
        indent(usage, 4),
        '  }',
        '}',
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info({ input_tokens: message.usage.input_tokens, output_tokens: message.usage.output_tokens, cache_creation_input_tokens: message.usage.cache_creation_input_tokens, cache_read_input_tokens: message.usage.cache_read_input_tokens });'
        : 'logger.info({ input_tokens: message.usage.input_tokens, output_tokens: message.usage.output_tokens });',
    errors: TS_STATUS_ERRORS,
    knobs: TS_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  httpTs('fetch', [], (k) => [
    "const res = await fetch('https://api.anthropic.com/v1/messages', {",
    "  method: 'POST',",
    "  headers: { 'x-api-key': process.env.ANTHROPIC_API_KEY ?? '', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },",
    `  body: JSON.stringify(${httpBody(k)}),`,
    `  signal: AbortSignal.timeout(${k.timeout}),`,
    '});',
    k.variant === 'fail'
      ? "if (!res.ok) throw new Error('claude error ' + res.status);"
      : "if (!res.ok) throw Object.assign(new Error('claude error'), { status: res.status, requestID: res.headers.get('request-id') });",
    'return (await res.json()) as Reply;',
  ]),
  httpTs('axios', ['axios'], (k) => [
    "const res = await axios.post<Reply>('https://api.anthropic.com/v1/messages', " + httpBody(k) + ', {',
    "  headers: { 'x-api-key': process.env.ANTHROPIC_API_KEY, 'anthropic-version': '2023-06-01' },",
    `  timeout: ${k.timeout},`,
    '});',
    'return res.data;',
  ]),
  httpTs('undici', ['undici'], (k) => [
    "const res = await request('https://api.anthropic.com/v1/messages', {",
    "  method: 'POST',",
    "  headers: { 'x-api-key': process.env.ANTHROPIC_API_KEY ?? '', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },",
    `  body: JSON.stringify(${httpBody(k)}),`,
    `  headersTimeout: ${k.timeout},`,
    `  bodyTimeout: ${k.timeout},`,
    '});',
    k.variant === 'fail'
      ? "if (res.statusCode >= 400) throw new Error('claude error ' + res.statusCode);"
      : "if (res.statusCode >= 400) throw Object.assign(new Error('claude error'), { status: res.statusCode, requestID: res.headers['request-id'] });",
    'return (await res.body.json()) as Reply;',
  ]),
  {
    id: 'bedrock-converse-ts',
    lang: 'ts',
    deps: ['@aws-sdk/client-bedrock-runtime', '@smithy/node-http-handler'],
    imports: [
      "import { AccessDeniedException, BedrockRuntimeClient, ConverseCommand, InternalServerException, ServiceUnavailableException, ThrottlingException, ValidationException } from '@aws-sdk/client-bedrock-runtime';",
      "import { NodeHttpHandler } from '@smithy/node-http-handler';",
    ].join('\n'),
    setup: (k) =>
      `const client = new BedrockRuntimeClient({ region: 'us-east-1', maxAttempts: ${k.retries} + 1, requestHandler: new NodeHttpHandler({ requestTimeout: ${k.timeout} }) });`,
    call: (k, usage) =>
      [
        'const r = await client.send(',
        '  new ConverseCommand({',
        `    modelId: '${k.model}',`,
        k.cache
          ? `    system: [{ text: ${k.system} }, { cachePoint: { type: 'default' } }],`
          : `    system: [{ text: ${k.system} }],`,
        "    messages: [{ role: 'user', content: [{ text: input }] }],",
        `    inferenceConfig: { maxTokens: ${k.maxTokens} },`,
        '  }),',
        ');',
        "const text = r.output?.message?.content?.[0]?.text ?? '';",
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info({ inputTokens: r.usage?.inputTokens, outputTokens: r.usage?.outputTokens, cacheReadInputTokens: r.usage?.cacheReadInputTokens, cacheWriteInputTokens: r.usage?.cacheWriteInputTokens });'
        : 'logger.info({ inputTokens: r.usage?.inputTokens, outputTokens: r.usage?.outputTokens });',
    errors: (level) =>
      [
        "logger.error({ request_id: (err as { $metadata?: { requestId?: string } }).$metadata?.requestId }, 'bedrock call failed');",
        ...(level === 'all'
          ? [
              "if (err instanceof AccessDeniedException) throw new Error('misconfigured credentials');",
              "if (err instanceof ValidationException) throw new Error('bad request');",
              "if (err instanceof ThrottlingException) logger.warn('throttled');",
              "if (err instanceof InternalServerException) logger.warn('upstream error');",
              "if (err instanceof ServiceUnavailableException) logger.warn('unavailable');",
            ]
          : ["if (err instanceof ThrottlingException) logger.warn('throttled');"]),
      ].join('\n'),
    knobs: TS_KNOBS(
      'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      'anthropic.claude-3-5-sonnet-20241022-v2:0',
    ),
  },
];

function httpBody(k: Knobs): string {
  const system = k.cache
    ? `[{ type: 'text', text: ${k.system}, cache_control: { type: 'ephemeral' } }]`
    : k.system;
  return `{ model: '${k.model}', max_tokens: ${k.maxTokens}, system: ${system}, messages: [{ role: 'user', content: input }] }`;
}

/** Raw HTTP in TypeScript: a `send` helper posting the body, retried by p-retry. */
function httpTs(id: string, deps: string[], send: (k: Knobs) => string[]): StyleFixture {
  const imports = [
    "import pRetry from 'p-retry';",
    ...(id === 'axios'
      ? ["import axios from 'axios';"]
      : id === 'undici'
        ? ["import { request } from 'undici';"]
        : []),
    'type Reply = { content: { type: string; text: string }[]; usage: Record<string, number> };',
  ].join('\n');
  return {
    id,
    lang: 'ts',
    deps: ['p-retry', ...deps],
    imports,
    setup: () => '',
    call: (k, usage) =>
      [
        'async function send(): Promise<Reply> {',
        indent(send(k).join('\n'), 2),
        '}',
        `const r = await pRetry(send, { retries: ${k.retries} });`,
        "const text = r.content.map((b) => b.text).join('');",
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info({ input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens, cache_creation_input_tokens: r.usage.cache_creation_input_tokens, cache_read_input_tokens: r.usage.cache_read_input_tokens });'
        : 'logger.info({ input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens });',
    errors:
      id === 'axios'
        ? (level) =>
            [
              'if (axios.isAxiosError(err)) {',
              '  const status = err.response?.status;',
              "  logger.error({ request_id: err.response?.headers['request-id'], status }, 'claude call failed');",
              ...(level === 'all'
                ? [
                    "  if (status === 401) throw new Error('misconfigured key');",
                    "  if (status === 400) throw new Error('bad request');",
                    "  if (status === 429) logger.warn('rate limited');",
                    "  if (status === 500) logger.warn('upstream error');",
                    "  if (status === 529) logger.warn('overloaded');",
                  ]
                : ["  if (status === 429) logger.warn('rate limited');"]),
              '}',
            ].join('\n')
        : TS_STATUS_ERRORS,
    knobs: TS_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  };
}
