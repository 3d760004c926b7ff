/**
 * `clients[].safety` in gantry.yaml: the content-safety controls of one client.
 * Everything defaults to `off`, so a client without a `safety` section is
 * relayed byte for byte as before.
 *
 * ```yaml
 * clients:
 *   - name: support-bot
 *     safety:
 *       input_limits: { max_chars: 20000, max_tokens: 8000, max_messages: 50, max_images: 4, max_documents: 2, max_body_bytes: 1mb }
 *       injection: { mode: flag, threshold: 0.5 }
 *       secrets: { mode: redact }
 *       pii: { mode: flag, types: [email, payment_card] }
 *       system_prompt_leak: { mode: block, min_chars: 80 }
 *       stream: { hold_back_chars: 64 }
 *       moderation: { mode: block, apply_to: input, provider: webhook, url: https://mod.internal/v1/check, timeout_ms: 1500, on_error: closed }
 * ```
 */
import { z } from 'zod';

const PII_TYPES = ['email', 'phone', 'payment_card', 'iban', 'us_ssn'] as const;
export type PiiType = (typeof PII_TYPES)[number];

export type OutputMode = 'off' | 'flag' | 'redact' | 'block';
export type InputMode = 'off' | 'flag' | 'block';

export interface InputLimits {
  /** Characters of user text (text blocks and tool results of user turns). */
  maxChars?: number;
  /** Estimated tokens of user content (src/anthropic/tokens.ts). */
  maxTokens?: number;
  maxMessages?: number;
  maxImages?: number;
  maxDocuments?: number;
  /** Size of the request body, bytes. */
  maxBodyBytes?: number;
}

export interface ModerationConfig {
  mode: InputMode;
  applyTo: 'input' | 'output' | 'both';
  provider: 'webhook' | 'model';
  /** Webhook URL (provider `webhook`). */
  url?: string;
  /** Claude model asked to classify (provider `model`). */
  model: string;
  timeoutMs: number;
  /** What a timeout or failure means: `open` lets the text through, `closed` treats it as flagged. */
  onError: 'open' | 'closed';
  cacheTtlMs: number;
}

export interface SafetyConfig {
  inputLimits: InputLimits;
  injection: { mode: InputMode; threshold: number; scanToolResults: boolean };
  secrets: { mode: OutputMode };
  pii: { mode: OutputMode; types: readonly PiiType[] };
  systemPromptLeak: { mode: OutputMode; minChars: number };
  stream: { holdBackChars: number; maxHoldChars: number };
  moderation: ModerationConfig;
}

/** Bytes from `65536`, `"64kb"`, `"1mb"` (powers of 1024); undefined otherwise. (Kept here: schema.ts imports this file.) */
function parseSize(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?$/.exec(v.trim().toLowerCase());
  if (!m) return undefined;
  const unit = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? 'b')[0] as 'b' | 'k' | 'm' | 'g'];
  const bytes = Math.round(Number(m[1]) * unit);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

const ERR = (what: string) => ({ error: () => `expected ${what}` });
const m = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, ERR('a mapping (key: value pairs)'));
const count = () => z.int(ERR('a whole number')).min(1, { error: 'expected at least 1' }).optional();
const outputMode = () =>
  z.enum(['off', 'flag', 'redact', 'block'], ERR('one of off, flag, redact, block')).default('off');
const inputMode = () => z.enum(['off', 'flag', 'block'], ERR('one of off, flag, block')).default('off');
const ms = (d: number) => z.int(ERR('milliseconds')).min(1).max(600_000).default(d);

export const safetySchema = m({
  input_limits: m({
    max_chars: count(),
    max_tokens: count(),
    max_messages: count(),
    max_images: z.int(ERR('a whole number')).min(0).optional(),
    max_documents: z.int(ERR('a whole number')).min(0).optional(),
    max_body_bytes: z
      .union([z.number(), z.string()], ERR('a size: bytes, or a string like "1mb"'))
      .transform((v, ctx) => {
        const bytes = parseSize(v);
        if (bytes === undefined) {
          ctx.issues.push({
            code: 'custom',
            input: v,
            message: 'expected a positive size like 65536 or "1mb"',
          });
          return z.NEVER;
        }
        return bytes;
      })
      .optional(),
  }).prefault({}),
  injection: m({
    mode: inputMode(),
    threshold: z.number(ERR('a number between 0 and 1')).min(0).max(1).default(0.5),
    scan_tool_results: z.boolean(ERR('true or false')).default(true),
  }).prefault({}),
  secrets: m({ mode: outputMode() }).prefault({}),
  pii: m({
    mode: outputMode(),
    types: z.array(z.enum(PII_TYPES, ERR(`one of ${PII_TYPES.join(', ')}`))).default([...PII_TYPES]),
  }).prefault({}),
  system_prompt_leak: m({
    mode: outputMode(),
    min_chars: z.int(ERR('a whole number')).min(20).max(10_000).default(80),
  }).prefault({}),
  stream: m({
    hold_back_chars: z.int(ERR('a whole number')).min(0).max(4096).default(64),
    max_hold_chars: z.int(ERR('a whole number')).min(64).max(1_048_576).default(16_384),
  }).prefault({}),
  moderation: m({
    mode: inputMode(),
    apply_to: z.enum(['input', 'output', 'both'], ERR('one of input, output, both')).default('input'),
    provider: z.enum(['webhook', 'model'], ERR('webhook or model')).default('webhook'),
    url: z.url(ERR('an http(s) URL')).optional(),
    model: z.string(ERR('a model id')).default('claude-haiku-4-5'),
    timeout_ms: ms(2_000),
    on_error: z.enum(['open', 'closed'], ERR('open or closed')).default('open'),
    cache_ttl_ms: z.int(ERR('milliseconds')).min(0).max(86_400_000).default(60_000),
  })
    .prefault({})
    .superRefine((v, ctx) => {
      if (v.mode !== 'off' && v.provider === 'webhook' && !v.url) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'required when provider is webhook' });
      }
    }),
}).transform(
  (r): SafetyConfig => ({
    inputLimits: {
      maxChars: r.input_limits.max_chars,
      maxTokens: r.input_limits.max_tokens,
      maxMessages: r.input_limits.max_messages,
      maxImages: r.input_limits.max_images,
      maxDocuments: r.input_limits.max_documents,
      maxBodyBytes: r.input_limits.max_body_bytes,
    },
    injection: {
      mode: r.injection.mode,
      threshold: r.injection.threshold,
      scanToolResults: r.injection.scan_tool_results,
    },
    secrets: { mode: r.secrets.mode },
    pii: { mode: r.pii.mode, types: r.pii.types },
    systemPromptLeak: { mode: r.system_prompt_leak.mode, minChars: r.system_prompt_leak.min_chars },
    stream: { holdBackChars: r.stream.hold_back_chars, maxHoldChars: r.stream.max_hold_chars },
    moderation: {
      mode: r.moderation.mode,
      applyTo: r.moderation.apply_to,
      provider: r.moderation.provider,
      url: r.moderation.url,
      model: r.moderation.model,
      timeoutMs: r.moderation.timeout_ms,
      onError: r.moderation.on_error,
      cacheTtlMs: r.moderation.cache_ttl_ms,
    },
  }),
);

/** A resolved safety config from a partial one (tests, the SDK adapter): every control off unless given. */
export function safetyConfig(raw: z.input<typeof safetySchema> = {}): SafetyConfig {
  return safetySchema.parse(raw);
}

/** True when any control of `s` does something. */
export function safetyEnabled(s: SafetyConfig | undefined): s is SafetyConfig {
  if (!s) return false;
  const l = s.inputLimits;
  return (
    Object.values(l).some((v) => v !== undefined) ||
    s.injection.mode !== 'off' ||
    s.secrets.mode !== 'off' ||
    s.pii.mode !== 'off' ||
    s.systemPromptLeak.mode !== 'off' ||
    s.moderation.mode !== 'off'
  );
}
