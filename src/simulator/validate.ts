/**
 * Request validation with the API's statuses, error types and message style
 * (`field.path: what is wrong`). Hand-written rather than schema-driven: it runs
 * on every request and must stay cheap.
 */
import { closestModelIds, type ModelEntry, resolveModel } from '../anthropic/models.ts';
import { outputFormatProblem } from './structured.ts';

export const API_VERSIONS = ['2023-06-01', '2026-10-21'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

export interface ValidationError {
  status: number;
  type: string;
  message: string;
  details?: Record<string, unknown> | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (message: string, details?: Record<string, unknown>): ValidationError => {
  const e: ValidationError = { status: 400, type: 'invalid_request_error', message };
  if (details) e.details = details;
  return e;
};

/** Checks the `anthropic-version` header value. */
export function checkVersion(value: string | string[] | undefined): ApiVersion | ValidationError {
  if (value === undefined || value === '') return bad('anthropic-version: header is required');
  const v = Array.isArray(value) ? value[0] : value;
  if ((API_VERSIONS as readonly string[]).includes(v)) return v as ApiVersion;
  return bad(`anthropic-version: "${v}" is not a valid version. Valid versions: ${API_VERSIONS.join(', ')}`);
}

/** Resolves the `model` field: 400 when missing/not a string, 404 when unknown or retired. */
function checkModel(model: unknown): ModelEntry | ValidationError {
  if (model === undefined) return bad('model: Field required');
  if (typeof model !== 'string') return bad('model: Input should be a valid string');
  const entry = resolveModel(model);
  if (entry && entry.lifecycle !== 'retired') return entry;
  const hint = closestModelIds(model, 3);
  const suggestion = hint.length ? ` Did you mean one of: ${hint.join(', ')}?` : '';
  const why = entry
    ? ` This model was retired${entry.retires_at ? ` on ${entry.retires_at.slice(0, 10)}` : ''} and no longer accepts requests.`
    : '';
  return { status: 404, type: 'not_found_error', message: `model: ${model}.${why}${suggestion}` };
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const ROLES = new Set(['user', 'assistant', 'system']);

/**
 * Validates the shared fields of Messages and count_tokens bodies (model,
 * messages, system, tools, tool_choice, thinking, version rules). `forCount`
 * skips max_tokens and stream.
 */
export function validateMessagesBody(
  body: unknown,
  version: ApiVersion,
  opts: { forCount?: boolean } = {},
): { model: ModelEntry } | ValidationError {
  if (!isObj(body)) return bad('Request body must be a JSON object');
  const model = checkModel(body.model);
  if ('status' in model) {
    // A missing field error on another required field is reported with the model error first, like the API.
    if (model.status === 400) return model;
  }
  if (!opts.forCount) {
    const mt = body.max_tokens;
    if (mt === undefined) return bad('max_tokens: Field required');
    if (typeof mt !== 'number' || !Number.isInteger(mt))
      return bad('max_tokens: Input should be a valid integer');
    if (mt < 0) return bad('max_tokens: Input should be greater than or equal to 0');
  }
  const messages = body.messages;
  if (messages === undefined) return bad('messages: Field required');
  if (!Array.isArray(messages)) return bad('messages: Input should be a valid list');
  if ('status' in model) return model;
  if (!opts.forCount) {
    const mt = body.max_tokens as number;
    if (model.max_output !== null && mt > model.max_output) {
      return bad(
        `max_tokens: ${mt} > ${model.max_output}, which is the maximum allowed number of output tokens for ${model.id}`,
      );
    }
    if (body.stream !== undefined && typeof body.stream !== 'boolean') {
      return bad('stream: Input should be a valid boolean');
    }
  }
  const formatProblem = outputFormatProblem(body);
  if (formatProblem !== undefined) return bad(formatProblem);
  if (messages.length === 0) return bad('messages: at least one message is required');
  if (messages.length > 100_000) return bad('messages: at most 100000 messages are allowed');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObj(m)) return bad(`messages.${i}: Input should be a valid dictionary`);
    if (m.role === undefined) return bad(`messages.${i}.role: Field required`);
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      return bad(`messages.${i}.role: Input should be 'user', 'assistant' or 'system'`);
    }
    const c = m.content;
    if (c === undefined) return bad(`messages.${i}.content: Field required`);
    if (typeof c !== 'string' && !Array.isArray(c))
      return bad(`messages.${i}.content: Input should be a valid string or list`);
    if (Array.isArray(c)) {
      for (let j = 0; j < c.length; j++) {
        const b = c[j];
        if (!isObj(b) || typeof b.type !== 'string')
          return bad(`messages.${i}.content.${j}.type: Field required`);
        if (b.type === 'text' && typeof b.text !== 'string')
          return bad(`messages.${i}.content.${j}.text: Field required`);
        if (version === '2026-10-21') {
          if (b.type === 'document' && m.role === 'assistant') {
            return bad(
              `messages.${i}.content.${j}: document blocks are not allowed in assistant messages in API version 2026-10-21`,
            );
          }
          if (
            b.type === 'text' &&
            m.role === 'user' &&
            Array.isArray(b.citations) &&
            b.citations.length > 0
          ) {
            return bad(
              `messages.${i}.content.${j}.citations: text blocks with citations are not allowed in user messages in API version 2026-10-21`,
            );
          }
        }
      }
    }
  }
  const last = messages[messages.length - 1] as Obj;
  if (last.role === 'assistant' && !model.prefill) {
    return bad(
      `This model does not support assistant message prefill. The conversation must end with a user message (${model.id}).`,
    );
  }

  const system = body.system;
  if (system !== undefined && typeof system !== 'string' && !Array.isArray(system)) {
    return bad('system: Input should be a valid string or list');
  }
  if (Array.isArray(system)) {
    for (let i = 0; i < system.length; i++) {
      const b = system[i];
      if (!isObj(b) || b.type !== 'text' || typeof b.text !== 'string') {
        return bad(`system.${i}: Input should be a text block ({"type": "text", "text": ...})`);
      }
    }
  }

  const toolNames = new Set<string>();
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return bad('tools: Input should be a valid list');
    for (let i = 0; i < body.tools.length; i++) {
      const t = body.tools[i];
      if (!isObj(t)) return bad(`tools.${i}: Input should be a valid dictionary`);
      if (typeof t.name !== 'string') return bad(`tools.${i}.name: Field required`);
      if (!TOOL_NAME.test(t.name))
        return bad(`tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
      const custom = t.type === undefined || t.type === 'custom';
      if (custom && !isObj(t.input_schema)) return bad(`tools.${i}.input_schema: Field required`);
      if (custom && isObj(t.input_schema) && t.input_schema.type !== 'object') {
        return bad(`tools.${i}.input_schema.type: Input should be 'object'`);
      }
      if (toolNames.has(t.name)) {
        return bad(`tools: Tool names must be unique. Found duplicate name '${t.name}'`, {
          error_code: 'tool_name_conflict',
        });
      }
      toolNames.add(t.name);
    }
  }

  const tc = body.tool_choice;
  if (tc !== undefined) {
    if (!isObj(tc) || typeof tc.type !== 'string') return bad('tool_choice.type: Field required');
    if (!['auto', 'any', 'tool', 'none'].includes(tc.type)) {
      return bad("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
    }
    if (tc.type === 'tool') {
      if (typeof tc.name !== 'string') return bad('tool_choice.name: Field required');
      if (!toolNames.has(tc.name)) return bad(`tool_choice.name: Tool '${tc.name}' not found in tools`);
    }
    if ((tc.type === 'any' || tc.type === 'tool') && !model.forced_tool_choice) {
      return bad(`tool_choice: forced tool use (type '${tc.type}') is not supported by ${model.id}`);
    }
    if (tc.type === 'any' && toolNames.size === 0)
      return bad("tool_choice: type 'any' requires at least one tool");
  }

  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((s) => typeof s !== 'string')) {
      return bad('stop_sequences: Input should be a valid list of strings');
    }
  }

  const th = body.thinking;
  if (th !== undefined) {
    if (!isObj(th) || typeof th.type !== 'string') return bad('thinking.type: Field required');
    switch (th.type) {
      case 'enabled': {
        if (!model.thinking.enabled) {
          return bad(
            `thinking.type: 'enabled' is not supported for ${model.id}. Use thinking.type 'adaptive' (and output_config.effort) instead.`,
          );
        }
        const bt = th.budget_tokens;
        if (typeof bt !== 'number' || !Number.isInteger(bt))
          return bad('thinking.enabled.budget_tokens: Field required');
        if (bt < 1024)
          return bad('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
        if (!opts.forCount && bt >= (body.max_tokens as number)) {
          return bad('`max_tokens` must be greater than `thinking.budget_tokens`.');
        }
        break;
      }
      case 'adaptive':
        if (!model.thinking.adaptive)
          return bad(`thinking.type: 'adaptive' is not supported for ${model.id}`);
        break;
      case 'disabled':
        if (!model.thinking.disabled) {
          return bad(
            `thinking.type: 'disabled' is not supported for ${model.id}; thinking is always on for this model`,
          );
        }
        break;
      case 'between_tools':
        break;
      default:
        return bad("thinking.type: Input should be 'enabled', 'adaptive', 'disabled' or 'between_tools'");
    }
  }

  // Sampling parameters (§2.1): rejected outright under 2026-10-21; restricted on
  // Claude 4.7+ under 2023-06-01 (temperature 1.0 and top_p >= 0.99 tolerated).
  for (const p of ['temperature', 'top_p', 'top_k'] as const) {
    const v = body[p];
    if (v === undefined) continue;
    if (version === '2026-10-21') {
      return bad(
        `${p}: This parameter is not supported in API version 2026-10-21. Remove it from the request.`,
      );
    }
    if (typeof v !== 'number') return bad(`${p}: Input should be a valid number`);
    if (p === 'temperature' && (v < 0 || v > 1)) return bad('temperature: Input should be between 0 and 1');
    if (p === 'top_p' && (v < 0 || v > 1)) return bad('top_p: Input should be between 0 and 1');
    if (p === 'top_k' && (!Number.isInteger(v) || v < 0))
      return bad('top_k: Input should be a non-negative integer');
    if (model.sampling_restricted) {
      const tolerated = (p === 'temperature' && v === 1) || (p === 'top_p' && v >= 0.99);
      if (!tolerated) return bad(`${p}: sampling parameters are not supported for ${model.id}`);
    }
  }

  return { model };
}

/** Extra rules for one request inside a Message Batch (checked when the batch is processed). */
export function validateBatchParams(
  params: unknown,
  version: ApiVersion,
): { model: ModelEntry } | ValidationError {
  if (!isObj(params)) return bad('params: Input should be a valid dictionary');
  if (params.stream === true) return bad('params.stream: streaming is not supported in Message Batches');
  if (params.max_tokens === 0) return bad('params.max_tokens: must be greater than 0 in Message Batches');
  for (const k of ['speed', 'store', 'previous_thread_event_id', 'cache_hint', 'context_hint']) {
    if (params[k] !== undefined) return bad(`params.${k}: not supported in Message Batches`);
  }
  return validateMessagesBody(params, version);
}

export const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
