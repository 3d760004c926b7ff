/** Python fixture projects: one per client style, three variants each (see common.ts). */
import { indent, type Knobs, LONG, type StyleFixture, type Variant } from './common.ts';

export function pyProject(s: StyleFixture, v: Variant): Record<string, string> {
  const k: Knobs = {
    ...s.knobs[v],
    variant: v,
    system: v === 'warn' ? 'system' : 'SYSTEM',
    cache: v === 'pass',
  };
  const usage = v === 'fail' ? '' : s.usage(v === 'pass' ? 'all' : 'some');
  const def = `${s.async ? 'async def' : 'def'} ask(user_input${v === 'warn' ? ', system' : ''}):`;
  const degraded = '        return "The assistant is unavailable right now; please try again shortly."';
  const body =
    v === 'pass'
      ? [
          '    if len(user_input) > 8000:',
          '        raise ValueError("input too long")',
          '    try:',
          '        with LATENCY.time():',
          indent(s.call(k, usage), 12),
          indent(s.errors('all'), 4),
          degraded,
          '    return moderate(redact_secrets(text))',
        ]
      : v === 'warn'
        ? [
            '    started = time.perf_counter()',
            '    try:',
            indent(s.call(k, usage), 8),
            indent(s.errors('some'), 4),
            '        raise',
            '    logger.info("claude call took %.3f s", time.perf_counter() - started)',
            '    return text',
          ]
        : [indent(s.call(k, usage), 4), '    logger.info("reply: %s", text)', '    return text'];
  const app = [
    'import logging',
    'import os',
    'import re',
    'import time',
    '',
    'from fastapi import FastAPI',
    'from prometheus_client import Histogram',
    s.imports,
    '',
    'app = FastAPI()',
    'logger = logging.getLogger(__name__)',
    'LATENCY = Histogram("claude_request_seconds", "Claude latency")',
    `SYSTEM = ${JSON.stringify(LONG)}`,
    s.setup(k),
    '',
    '',
    'def redact_secrets(text):',
    '    return re.sub(r"sk-[A-Za-z0-9_-]+", "[redacted]", text)',
    '',
    '',
    'def moderate(text):',
    '    return "[removed]" if re.search(r"\\b(kill|hate)\\b", text, re.I) else text',
    '',
    '',
    def,
    ...body,
    '',
    '',
    '@app.post("/chat")',
    `${s.async ? 'async def' : 'def'} chat(payload: dict):`,
    `    return {"answer": ${s.async ? 'await ' : ''}ask(payload["input"]${v === 'warn' ? ', payload["system"]' : ''})}`,
    '',
  ].join('\n');
  return {
    'requirements.txt': `${['fastapi', 'prometheus_client', ...s.deps].join('\n')}\n`,
    'app/main.py': app,
  };
}

const PY_KNOBS = (model: string, bad: string): StyleFixture['knobs'] => ({
  pass: { retries: '4', timeout: '90', maxTokens: '1024', model },
  fail: { retries: '8', timeout: '600', maxTokens: '200000', model: bad },
  warn: {
    retries: 'int(os.environ["CLAUDE_RETRIES"])',
    timeout: 'float(os.environ["CLAUDE_TIMEOUT"])',
    maxTokens: 'int(os.environ["CLAUDE_MAX_TOKENS"])',
    model,
  },
});

const PY_SDK_ERRORS = (level: 'all' | 'some') =>
  level === 'all'
    ? [
        'except anthropic.APIStatusError as e:',
        '    logger.error("claude error status=%s request_id=%s", e.status_code, e.request_id)',
        '    if isinstance(e, anthropic.AuthenticationError):',
        '        raise RuntimeError("misconfigured key") from e',
        '    if isinstance(e, anthropic.BadRequestError):',
        '        raise ValueError("bad request") from e',
        '    if isinstance(e, anthropic.RateLimitError):',
        '        logger.warning("rate limited")',
        '    if isinstance(e, anthropic.InternalServerError):',
        '        logger.warning("upstream error")',
        '    if e.status_code == 529:',
        '        logger.warning("overloaded")',
      ].join('\n')
    : [
        'except anthropic.RateLimitError as e:',
        '    logger.warning("rate limited request_id=%s", e.request_id)',
      ].join('\n');

function sdkPy(
  id: string,
  imports: string,
  ctor: string,
  extra: string,
  model: string,
  bad: string,
): StyleFixture {
  return {
    id,
    lang: 'py',
    deps: ['anthropic'],
    imports,
    setup: (k) => `client = ${ctor}(${extra}max_retries=${k.retries}, timeout=${k.timeout})`,
    call: (k, usage) =>
      [
        'r = client.messages.create(',
        `    model="${k.model}",`,
        `    max_tokens=${k.maxTokens},`,
        k.cache
          ? `    system=[{"type": "text", "text": ${k.system}, "cache_control": {"type": "ephemeral"}}],`
          : `    system=${k.system},`,
        '    messages=[{"role": "user", "content": user_input}],',
        ')',
        'text = r.content[0].text',
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info("usage in=%d out=%d cw=%d cr=%d", r.usage.input_tokens, r.usage.output_tokens, r.usage.cache_creation_input_tokens, r.usage.cache_read_input_tokens)'
        : 'logger.info("usage in=%d out=%d", r.usage.input_tokens, r.usage.output_tokens)',
    errors: PY_SDK_ERRORS,
    knobs: PY_KNOBS(model, bad),
  };
}

const PY_STATUS_ERRORS =
  (cls: string, status: string, requestId: string) =>
  (level: 'all' | 'some'): string =>
    [
      `except ${cls} as e:`,
      `    status = ${status}`,
      `    logger.error("claude error status=%s request_id=%s", status, ${requestId})`,
      ...(level === 'all'
        ? [
            '    if status in (401, 403):',
            '        raise RuntimeError("misconfigured key") from e',
            '    if status == 400:',
            '        raise ValueError("bad request") from e',
            '    if status == 429:',
            '        logger.warning("rate limited")',
            '    if status == 500:',
            '        logger.warning("upstream error")',
            '    if status == 529:',
            '        logger.warning("overloaded")',
          ]
        : ['    if status == 429:', '        logger.warning("rate limited")']),
    ].join('\n');

function pyHttpBody(k: Knobs): string {
  const system = k.cache
    ? `[{"type": "text", "text": ${k.system}, "cache_control": {"type": "ephemeral"}}]`
    : k.system;
  return `{"model": "${k.model}", "max_tokens": ${k.maxTokens}, "system": ${system}, "messages": [{"role": "user", "content": user_input}]}`;
}

const PY_HTTP_USAGE = (level: 'all' | 'some') =>
  level === 'all'
    ? 'logger.info("usage in=%d out=%d cw=%d cr=%d", r["usage"]["input_tokens"], r["usage"]["output_tokens"], r["usage"]["cache_creation_input_tokens"], r["usage"]["cache_read_input_tokens"])'
    : 'logger.info("usage in=%d out=%d", r["usage"]["input_tokens"], r["usage"]["output_tokens"])';

const HEADERS =
  'HEADERS = {"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01", "content-type": "application/json"}';

export const PY_STYLES: StyleFixture[] = [
  sdkPy(
    'sdk-py',
    'import anthropic',
    'anthropic.Anthropic',
    '',
    'claude-sonnet-4-6',
    'claude-3-5-sonnet-20241022',
  ),
  sdkPy(
    'bedrock-sdk-py',
    'import anthropic\nfrom anthropic import AnthropicBedrock',
    'AnthropicBedrock',
    'aws_region="us-east-1", ',
    'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    'anthropic.claude-3-5-sonnet-20241022-v2:0',
  ),
  sdkPy(
    'vertex-py',
    'import anthropic\nfrom anthropic import AnthropicVertex',
    'AnthropicVertex',
    'region="us-east5", project_id="example-project", ',
    'claude-haiku-4-5@20251001',
    'claude-3-5-sonnet-v2@20241022',
  ),
  {
    id: 'agent-sdk-py',
    lang: 'py',
    async: true,
    deps: ['claude-agent-sdk'],
    imports: 'from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, query',
    setup: () => '',
    call: (k, usage) =>
      [
        'text = ""',
        `options = ClaudeAgentOptions(model="${k.model}", system_prompt=${k.system}, max_turns=4)`,
        'async for message in query(prompt=user_input, options=options):',
        '    if isinstance(message, ResultMessage):',
        '        text = message.result or ""',
        indent(usage, 8),
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info("usage in=%s out=%s cw=%s cr=%s", message.usage["input_tokens"], message.usage["output_tokens"], message.usage["cache_creation_input_tokens"], message.usage["cache_read_input_tokens"])'
        : 'logger.info("usage in=%s out=%s", message.usage["input_tokens"], message.usage["output_tokens"])',
    errors: PY_STATUS_ERRORS(
      'Exception',
      'getattr(e, "status_code", None)',
      'getattr(e, "request_id", None)',
    ),
    knobs: PY_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  {
    id: 'langchain-py',
    lang: 'py',
    deps: ['anthropic', 'langchain-anthropic'],
    imports:
      'import anthropic\nfrom langchain_anthropic import ChatAnthropic\nfrom langchain_core.messages import HumanMessage, SystemMessage',
    setup: (k) =>
      `llm = ChatAnthropic(model="${k.model}", max_retries=${k.retries}, timeout=${k.timeout}, max_tokens=${k.maxTokens})`,
    call: (k, usage) =>
      [
        'r = llm.invoke([',
        k.cache
          ? `    SystemMessage(content=[{"type": "text", "text": ${k.system}, "cache_control": {"type": "ephemeral"}}]),`
          : `    SystemMessage(content=${k.system}),`,
        '    HumanMessage(content=user_input),',
        '])',
        'text = r.content',
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info("usage %s", r.usage_metadata)'
        : 'logger.info("usage in=%d out=%d", r.response_metadata["usage"]["input_tokens"], r.response_metadata["usage"]["output_tokens"])',
    errors: PY_SDK_ERRORS,
    knobs: PY_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  {
    id: 'litellm',
    lang: 'py',
    deps: ['litellm'],
    imports: 'import litellm',
    setup: () => '',
    call: (k, usage) =>
      [
        'r = litellm.completion(',
        `    model="${k.model}",`,
        '    messages=[',
        k.cache
          ? `        {"role": "system", "content": [{"type": "text", "text": ${k.system}, "cache_control": {"type": "ephemeral"}}]},`
          : `        {"role": "system", "content": ${k.system}},`,
        '        {"role": "user", "content": user_input},',
        '    ],',
        `    max_tokens=${k.maxTokens},`,
        `    num_retries=${k.retries},`,
        `    timeout=${k.timeout},`,
        ')',
        'text = r.choices[0].message.content',
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info("usage in=%d out=%d cw=%d cr=%d", r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.cache_creation_input_tokens, r.usage.cache_read_input_tokens)'
        : 'logger.info("usage in=%d out=%d", r.usage.prompt_tokens, r.usage.completion_tokens)',
    errors: (level) =>
      level === 'all'
        ? [
            'except litellm.AuthenticationError as e:',
            '    raise RuntimeError("misconfigured key") from e',
            'except litellm.BadRequestError as e:',
            '    raise ValueError("bad request") from e',
            'except (litellm.RateLimitError, litellm.InternalServerError, litellm.ServiceUnavailableError) as e:',
            '    logger.error("claude error %s request_id=%s", type(e).__name__, e.response.headers.get("request-id"))',
          ].join('\n')
        : [
            'except litellm.RateLimitError as e:',
            '    logger.warning("rate limited request_id=%s", e.response.headers.get("request-id"))',
          ].join('\n'),
    knobs: PY_KNOBS('anthropic/claude-sonnet-4-6', 'anthropic/claude-3-5-sonnet-20241022'),
  },
  {
    id: 'llamaindex-py',
    lang: 'py',
    deps: ['anthropic', 'llama-index-llms-anthropic'],
    imports:
      'import anthropic\nfrom llama_index.core.llms import ChatMessage\nfrom llama_index.llms.anthropic import Anthropic',
    setup: (k) =>
      `llm = Anthropic(model="${k.model}", max_retries=${k.retries}, timeout=${k.timeout}, max_tokens=${k.maxTokens})`,
    call: (k, usage) =>
      [
        'r = llm.chat([',
        k.cache
          ? `    ChatMessage(role="system", content=${k.system}, additional_kwargs={"cache_control": {"type": "ephemeral"}}),`
          : `    ChatMessage(role="system", content=${k.system}),`,
        '    ChatMessage(role="user", content=user_input),',
        '])',
        'text = r.message.content',
        usage,
      ].join('\n'),
    usage: (level) =>
      level === 'all'
        ? 'logger.info("usage in=%d out=%d cw=%d cr=%d", r.raw.usage.input_tokens, r.raw.usage.output_tokens, r.raw.usage.cache_creation_input_tokens, r.raw.usage.cache_read_input_tokens)'
        : 'logger.info("usage in=%d out=%d", r.raw.usage.input_tokens, r.raw.usage.output_tokens)',
    errors: PY_SDK_ERRORS,
    knobs: PY_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  {
    id: 'requests',
    lang: 'py',
    deps: ['requests', 'tenacity'],
    imports: `import requests\nfrom tenacity import retry, stop_after_attempt, wait_exponential\n\n${HEADERS}`,
    setup: (k) =>
      [
        '',
        '',
        `@retry(stop=stop_after_attempt(${k.retries} + 1), wait=wait_exponential(), reraise=True)`,
        'def post_messages(body):',
        `    res = requests.post("https://api.anthropic.com/v1/messages", headers=HEADERS, json=body, timeout=${k.timeout})`,
        '    res.raise_for_status()',
        '    return res.json()',
      ].join('\n'),
    call: (k, usage) =>
      [`r = post_messages(${pyHttpBody(k)})`, 'text = r["content"][0]["text"]', usage].join('\n'),
    usage: PY_HTTP_USAGE,
    errors: PY_STATUS_ERRORS(
      'requests.HTTPError',
      'e.response.status_code',
      'e.response.headers.get("request-id")',
    ),
    knobs: PY_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  {
    id: 'httpx',
    lang: 'py',
    deps: ['httpx', 'backoff'],
    imports: `import backoff\nimport httpx\n\n${HEADERS}`,
    setup: (k) =>
      [
        `http = httpx.Client(base_url="https://api.anthropic.com", headers=HEADERS, timeout=httpx.Timeout(${k.timeout}, connect=5.0))`,
        '',
        '',
        `@backoff.on_exception(backoff.expo, httpx.HTTPStatusError, max_tries=${k.retries} + 1)`,
        'def post_messages(body):',
        '    res = http.post("/v1/messages", json=body)',
        '    res.raise_for_status()',
        '    return res.json()',
      ].join('\n'),
    call: (k, usage) =>
      [`r = post_messages(${pyHttpBody(k)})`, 'text = r["content"][0]["text"]', usage].join('\n'),
    usage: PY_HTTP_USAGE,
    errors: PY_STATUS_ERRORS(
      'httpx.HTTPStatusError',
      'e.response.status_code',
      'e.response.headers.get("request-id")',
    ),
    knobs: PY_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  {
    id: 'aiohttp',
    lang: 'py',
    async: true,
    deps: ['aiohttp'],
    imports: `import aiohttp\n\n${HEADERS}`,
    setup: (k) =>
      [
        `MAX_RETRIES = ${k.retries}`,
        '',
        '',
        'class ClaudeError(Exception):',
        '    def __init__(self, status, request_id):',
        '        super().__init__(f"claude error {status}")',
        '        self.status = status',
        '        self.request_id = request_id',
        '',
        '',
        'async def post_messages(body):',
        `    timeout = aiohttp.ClientTimeout(total=${k.timeout})`,
        '    async with aiohttp.ClientSession(timeout=timeout) as session:',
        '        for attempt in range(MAX_RETRIES + 1):',
        '            async with session.post("https://api.anthropic.com/v1/messages", headers=HEADERS, json=body) as res:',
        k.variant === 'fail'
          ? '                if res.status != 200 and attempt < MAX_RETRIES:'
          : '                if res.status in (429, 500, 529) and attempt < MAX_RETRIES:',
        '                    continue',
        '                if res.status >= 400:',
        k.variant === 'fail'
          ? '                    raise RuntimeError(f"claude error {res.status}")'
          : '                    raise ClaudeError(res.status, res.headers.get("request-id"))',
        '                return await res.json()',
      ].join('\n'),
    call: (k, usage) =>
      [`r = await post_messages(${pyHttpBody(k)})`, 'text = r["content"][0]["text"]', usage].join('\n'),
    usage: PY_HTTP_USAGE,
    errors: PY_STATUS_ERRORS('ClaudeError', 'e.status', 'e.request_id'),
    knobs: PY_KNOBS('claude-sonnet-4-6', 'claude-3-5-sonnet-20241022'),
  },
  bedrockPy('bedrock-invoke-py', 'invoke'),
  bedrockPy('bedrock-converse-py', 'converse'),
];

function bedrockPy(id: string, api: 'invoke' | 'converse'): StyleFixture {
  return {
    id,
    lang: 'py',
    deps: ['boto3'],
    imports:
      'import json\n\nimport boto3\nfrom botocore.config import Config\nfrom botocore.exceptions import ClientError',
    setup: (k) =>
      `bedrock = boto3.client("bedrock-runtime", region_name="us-east-1", config=Config(retries={"max_attempts": ${k.retries}, "mode": "standard"}, read_timeout=${k.timeout}))`,
    call: (k, usage) =>
      api === 'invoke'
        ? [
            'r = bedrock.invoke_model(',
            `    modelId="${k.model}",`,
            `    body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": ${k.maxTokens}, "system": ${
              k.cache
                ? `[{"type": "text", "text": ${k.system}, "cache_control": {"type": "ephemeral"}}]`
                : k.system
            }, "messages": [{"role": "user", "content": user_input}]}),`,
            ')',
            'payload = json.loads(r["body"].read())',
            'text = payload["content"][0]["text"]',
            usage,
          ].join('\n')
        : [
            'r = bedrock.converse(',
            `    modelId="${k.model}",`,
            k.cache
              ? `    system=[{"text": ${k.system}}, {"cachePoint": {"type": "default"}}],`
              : `    system=[{"text": ${k.system}}],`,
            '    messages=[{"role": "user", "content": [{"text": user_input}]}],',
            `    inferenceConfig={"maxTokens": ${k.maxTokens}},`,
            ')',
            'text = r["output"]["message"]["content"][0]["text"]',
            usage,
          ].join('\n'),
    usage: (level) =>
      api === 'invoke'
        ? level === 'all'
          ? 'logger.info("usage in=%d out=%d cw=%d cr=%d", payload["usage"]["input_tokens"], payload["usage"]["output_tokens"], payload["usage"]["cache_creation_input_tokens"], payload["usage"]["cache_read_input_tokens"])'
          : 'logger.info("usage in=%d out=%d", payload["usage"]["input_tokens"], payload["usage"]["output_tokens"])'
        : level === 'all'
          ? 'logger.info("usage in=%d out=%d cw=%d cr=%d", r["usage"]["inputTokens"], r["usage"]["outputTokens"], r["usage"]["cacheWriteInputTokens"], r["usage"]["cacheReadInputTokens"])'
          : 'logger.info("usage in=%d out=%d", r["usage"]["inputTokens"], r["usage"]["outputTokens"])',
    errors: (level) =>
      [
        'except ClientError as e:',
        '    code = e.response["Error"]["Code"]',
        '    logger.error("bedrock error %s request_id=%s", code, e.response["ResponseMetadata"]["RequestId"])',
        ...(level === 'all'
          ? [
              '    if code == "AccessDeniedException":',
              '        raise RuntimeError("misconfigured credentials") from e',
              '    if code == "ValidationException":',
              '        raise ValueError("bad request") from e',
              '    if code == "ThrottlingException":',
              '        logger.warning("throttled")',
              '    if code == "InternalServerException":',
              '        logger.warning("upstream error")',
              '    if code == "ServiceUnavailableException":',
              '        logger.warning("unavailable")',
            ]
          : ['    if code == "ThrottlingException":', '        logger.warning("throttled")']),
      ].join('\n'),
    knobs: PY_KNOBS(
      'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      'anthropic.claude-3-5-sonnet-20241022-v2:0',
    ),
  };
}
