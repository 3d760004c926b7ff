/**
 * The ways code calls Claude, as data: which modules each client style comes
 * from, what constructs a client or sends a request, and the option names of
 * each knob the checks read (retries, timeout, max_tokens, model, system
 * prompt, tools) with the library's default when unset. docs/audit.md renders
 * this table; a test keeps them in step.
 */

export type StyleId =
  | 'sdk'
  | 'agent-sdk'
  | 'vercel-ai'
  | 'langchain'
  | 'litellm'
  | 'llamaindex'
  | 'http'
  | 'bedrock';

/** A knob's option keys (first found wins) and the library default when the option is unset. */
export interface Knob {
  keys: readonly string[];
  /** Library default when unset; `null`: the library has none (waits forever / no retries). */
  default?: number | null;
  /** Unit of `default` and of the value: retries count, seconds or milliseconds. */
  unit?: 'retries' | 'attempts' | 's' | 'ms';
  /** The defaults in words when they depend on the language or transport (docs/audit.md). */
  defaultText?: string;
}

export interface StyleSpec {
  id: StyleId;
  title: string;
  /** How the audit recognises it (rendered in docs/audit.md). */
  recognised: string;
  /** Retry knob on the client (or the call, for call-level styles). */
  retries?: Knob;
  /** Timeout knob. */
  timeout?: Knob;
  /** max_tokens knob on the call (or client). */
  maxTokens?: Knob;
  /** Where the knobs live: on the client construction or on each call. */
  knobsOn: 'client' | 'call';
}

export const STYLES: Record<StyleId, StyleSpec> = {
  sdk: {
    id: 'sdk',
    title: 'Official SDK (TS/Python), incl. Bedrock and Vertex clients',
    recognised:
      '`new Anthropic(…)` / `Anthropic(…)` / `AsyncAnthropic`, `AnthropicBedrock`, `AnthropicVertex` from `@anthropic-ai/sdk`, `@anthropic-ai/bedrock-sdk`, `@anthropic-ai/vertex-sdk`, `anthropic`; calls `….messages.create` / `stream` / `parse`, `….beta.messages.create`, legacy `….completions.create`; `count_tokens` / `countTokens` probes',
    retries: { keys: ['maxRetries', 'max_retries'], default: 2, unit: 'retries' },
    timeout: { keys: ['timeout'], default: 600, unit: 's' },
    maxTokens: { keys: ['max_tokens', 'max_tokens_to_sample'] },
    knobsOn: 'client',
  },
  'agent-sdk': {
    id: 'agent-sdk',
    title: 'Claude Agent SDK (TS/Python)',
    recognised:
      '`query({ prompt, options })` from `@anthropic-ai/claude-agent-sdk` / `@anthropic-ai/claude-code`; `query(…)`, `ClaudeSDKClient(…)` from `claude_agent_sdk` / `claude_code_sdk`. No retry, timeout or max_tokens setting; prompts are cached by Claude Code',
    knobsOn: 'call',
  },
  'vercel-ai': {
    id: 'vercel-ai',
    title: 'Vercel AI SDK (`@ai-sdk/anthropic`)',
    recognised:
      '`generateText` / `streamText` / `generateObject` / `streamObject` from `ai` whose `model` is built by `anthropic(…)`, `createAnthropic(…)(…)` (also `@ai-sdk/amazon-bedrock`, `@ai-sdk/google-vertex/anthropic`)',
    retries: { keys: ['maxRetries'], default: 2, unit: 'retries' },
    timeout: { keys: ['abortSignal', 'timeout'], default: null, unit: 'ms' },
    maxTokens: { keys: ['maxTokens', 'maxOutputTokens'], default: 4096 },
    knobsOn: 'call',
  },
  langchain: {
    id: 'langchain',
    title: 'LangChain `ChatAnthropic` (JS/Python)',
    recognised:
      '`new ChatAnthropic(…)` from `@langchain/anthropic`; `ChatAnthropic(…)` from `langchain_anthropic` (and `ChatAnthropicVertex`, `ChatBedrock` with an `anthropic.claude` id); `init_chat_model` / `initChatModel` with a Claude model',
    retries: { keys: ['maxRetries', 'max_retries'], unit: 'retries', defaultText: 'default: JS 6, Python 2' },
    timeout: {
      keys: ['timeout', 'default_request_timeout', 'clientOptions.timeout'],
      unit: 's',
      defaultText: "default: the SDK's 600 s",
    },
    maxTokens: { keys: ['maxTokens', 'max_tokens', 'maxTokensToSample', 'max_tokens_to_sample'] },
    knobsOn: 'client',
  },
  litellm: {
    id: 'litellm',
    title: 'LiteLLM (`anthropic/…`, `bedrock/…`, `claude-…`)',
    recognised:
      '`litellm.completion` / `acompletion` / `completion` (from `litellm`) and `Router` whose model names a Claude model (or cannot be resolved in a project that names Claude models)',
    retries: { keys: ['num_retries', 'max_retries'], default: 0, unit: 'retries' },
    timeout: { keys: ['timeout', 'request_timeout'], default: 600, unit: 's' },
    maxTokens: { keys: ['max_tokens', 'max_completion_tokens'], default: 4096 },
    knobsOn: 'call',
  },
  llamaindex: {
    id: 'llamaindex',
    title: 'LlamaIndex `Anthropic` LLM',
    recognised:
      '`Anthropic(…)` from `llama_index.llms.anthropic` or `@llamaindex/anthropic`; the agents and engines it is passed to',
    retries: { keys: ['max_retries', 'maxRetries'], default: 10, unit: 'retries' },
    timeout: { keys: ['timeout'], default: 60, unit: 's' },
    maxTokens: { keys: ['max_tokens', 'maxTokens'], default: 512 },
    knobsOn: 'client',
  },
  http: {
    id: 'http',
    title: 'Raw HTTP (fetch, axios, undici, requests, httpx, aiohttp)',
    recognised:
      'a request whose URL resolves to `api.anthropic.com` / `…/v1/messages`, or whose headers carry `x-api-key` and `anthropic-version`; wrappers that pass them on count at the call that names them',
    retries: { keys: [], default: 0, unit: 'retries' },
    timeout: {
      keys: ['timeout', 'signal', 'headersTimeout'],
      unit: 's',
      defaultText: 'default: fetch, axios, requests none; httpx 5 s; aiohttp 300 s',
    },
    maxTokens: { keys: ['max_tokens'] },
    knobsOn: 'call',
  },
  bedrock: {
    id: 'bedrock',
    title: 'Amazon Bedrock runtime (`invoke_model`, `converse`)',
    recognised:
      '`invoke_model` / `invoke_model_with_response_stream` / `converse` on a boto3 `bedrock-runtime` client, `InvokeModelCommand` / `ConverseCommand` (AWS SDK v3), with an `anthropic.claude…` model id',
    retries: {
      keys: ['max_attempts', 'maxAttempts'],
      unit: 'attempts',
      defaultText: 'default: boto3 4 retries, AWS SDK v3 3 attempts',
    },
    timeout: { keys: ['read_timeout', 'requestTimeout'], default: 60, unit: 's' },
    maxTokens: { keys: ['max_tokens', 'maxTokens'] },
    knobsOn: 'client',
  },
};

/** Module specifiers of each style (npm names, Python import names). */
export const STYLE_MODULES: Record<Exclude<StyleId, 'http' | 'bedrock'>, readonly string[]> = {
  sdk: [
    '@anthropic-ai/sdk',
    '@anthropic-ai/bedrock-sdk',
    '@anthropic-ai/vertex-sdk',
    '@anthropic-ai/foundry-sdk',
    'anthropic',
  ],
  'agent-sdk': [
    '@anthropic-ai/claude-agent-sdk',
    '@anthropic-ai/claude-code',
    'claude_agent_sdk',
    'claude_code_sdk',
  ],
  'vercel-ai': ['@ai-sdk/anthropic', '@ai-sdk/amazon-bedrock', '@ai-sdk/google-vertex/anthropic'],
  langchain: [
    '@langchain/anthropic',
    'langchain/chat_models/anthropic',
    'langchain_anthropic',
    'langchain_community.chat_models',
    'langchain.chat_models',
    'langchain_aws',
    'langchain_google_vertexai',
    'langchain_google_vertexai.model_garden',
    'langchain/chat_models/universal',
    'langchain.chat_models.base',
  ],
  litellm: ['litellm'],
  llamaindex: ['llama_index.llms.anthropic', '@llamaindex/anthropic', 'llama_index.llms.bedrock_converse'],
};

export const SDK_CLIENTS =
  /^(Anthropic|AsyncAnthropic|AnthropicBedrock|AsyncAnthropicBedrock|AnthropicVertex|AsyncAnthropicVertex|AnthropicFoundry|Client|AsyncClient)$/;
export const LANGCHAIN_CLIENTS =
  /^(ChatAnthropic|ChatAnthropicMessages|AnthropicLLM|ChatAnthropicVertex|ChatBedrock|ChatBedrockConverse|BedrockChat)$/;
export const VERCEL_GENERATE = /^(generateText|streamText|generateObject|streamObject)$/;
