/**
 * The Messages routes of the Anthropic API (`POST /v1/messages`,
 * `POST /v1/messages/count_tokens`), and the one core they share with the
 * platform routes (Bedrock, Vertex): `answerMessage` decides what a Messages
 * request gets (validation, scripts, prompt cache, rate limits, the generated
 * reply) and `writeStream` writes a reply's events in a family's framing.
 */
import type { FastifyReply } from 'fastify';
import { errorTypeForStatus } from '../../anthropic/errors.ts';
import { newId } from '../../anthropic/ids.ts';
import { encodeEvent } from '../../anthropic/sse.ts';
import { estimateRequestTokens, requestTokenBlocks } from '../../anthropic/tokens.ts';
import { type CachePlan, uncachedUsage } from '../cache.ts';
import { generateReply, type Reply, type ScriptedResponse } from '../generate.ts';
import { DEFAULT_MESSAGES, flushed, type Obj, pause, type SimApi, waitDrain } from '../http.ts';
import { buildUsage, type Frame, messageBody, streamFrames, type Usage } from '../message.ts';
import { isZero, type Latency, sample } from '../random.ts';
import type { SimulatorState } from '../state.ts';
import { type ApiVersion, validateMessagesBody } from '../validate.ts';

export const MESSAGES_BODY_LIMIT = 32 * 1024 * 1024;

/** An error answer, before a family renders it. */
export interface ErrorAnswer {
  kind: 'error';
  status: number;
  type: string;
  message: string;
  headers?: Record<string, string>;
  details?: Obj | null;
}

/** What one Messages request gets, before a family renders it. */
export type MessageAnswer =
  | ErrorAnswer
  | {
      kind: 'message';
      id: string;
      /** Canonical model id. */
      model: string;
      reply: Reply;
      usage: Usage;
      /** Rate-limit headers (and a script's headers). */
      headers: Record<string, string>;
      script?: ScriptedResponse;
    };

const fail = (
  status: number,
  type: string,
  message: string,
  headers?: Record<string, string>,
  details?: Obj | null,
): ErrorAnswer => ({ kind: 'error', status, type, message, headers, details });

/**
 * Decides the answer to a Messages request of organization `org` (validation,
 * a queued script, the context window, the prompt cache, rate limits, the
 * reply). A rate-limited request consumes nothing.
 */
export function answerMessage(
  state: SimulatorState,
  org: string,
  version: ApiVersion,
  body: Obj,
): MessageAnswer {
  const v = validateMessagesBody(body, version);
  if ('status' in v) return fail(v.status, v.type, v.message, undefined, v.details);
  const model = v.model;
  // A scripted error answers before anything else; a scripted reply is taken
  // only once the request is admitted (a 429 does not consume it).
  const next = state.peekScript();
  if (next?.status !== undefined && next.status >= 400) {
    const s = state.takeScript()!;
    const status = s.status ?? 500;
    const type = s.error?.type ?? errorTypeForStatus(status);
    return fail(
      status,
      type,
      s.error?.message ?? DEFAULT_MESSAGES[type] ?? 'Error',
      s.headers,
      s.error?.details,
    );
  }
  const est = estimateRequestTokens(body);
  if (model.context_window !== null && est.total > model.context_window) {
    return fail(
      400,
      'invalid_request_error',
      `prompt is too long: ${est.total} tokens > ${model.context_window} maximum`,
    );
  }
  let plan: CachePlan;
  if (est.cacheControlBlocks > 0 || body.cache_control != null) {
    const p = state.cache.plan(org, model, body, requestTokenBlocks(body), est.total);
    if ('error' in p) return fail(400, 'invalid_request_error', p.error);
    plan = p;
  } else plan = { usage: uncachedUsage(est.total), commit: noop };

  const cu = plan.usage;
  const adm = state.limiter.admitMessage(org, model, cu.input_tokens + cu.cache_creation_input_tokens);
  if (!adm.ok) {
    const what =
      adm.kind === 'requests'
        ? `${adm.limit} requests per minute`
        : adm.kind === 'input_tokens'
          ? `${adm.limit} input tokens per minute`
          : `${adm.limit} output tokens per minute`;
    return fail(
      429,
      'rate_limit_error',
      `This request would exceed your organization's rate limit of ${what} (org: ${org}, model: ${model.id}). For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.`,
      { ...adm.headers, 'retry-after': String(adm.retryAfterSeconds) },
    );
  }
  plan.commit();
  const script = next ? state.takeScript() : undefined;
  const reply = generateReply(body, {
    seed: state.seed,
    mode: state.replyMode.mode,
    loremWords: state.replyMode.loremWords,
    script,
  });
  state.limiter.chargeOutput(org, model, reply.outputTokens);
  const usage = buildUsage(cu, reply, body, 'standard', script?.usage);
  const headers = script?.headers ? { ...adm.headers, ...script.headers } : adm.headers;
  return { kind: 'message', id: newId('msg'), model: model.id, reply, usage, headers, script };
}

/** The answer to a count_tokens request: `{ input_tokens }` or an error. */
export function answerCount(
  state: SimulatorState,
  org: string,
  version: ApiVersion,
  body: unknown,
): ErrorAnswer | { kind: 'count'; inputTokens: number } {
  const v = validateMessagesBody(body, version, { forCount: true });
  if ('status' in v) return fail(v.status, v.type, v.message, undefined, v.details);
  const adm = state.limiter.admitSimple(org, 'count_tokens');
  if (!adm.ok) {
    return fail(
      429,
      'rate_limit_error',
      `This request would exceed your organization's rate limit of ${adm.limit} token counting requests per minute (org: ${org}).`,
      { 'retry-after': String(adm.retryAfterSeconds) },
    );
  }
  return { kind: 'count', inputTokens: estimateRequestTokens(body).total };
}

/** How a family frames a stream's events. */
export interface StreamFraming {
  contentType: string;
  /** The bytes of one event; undefined drops it (a family that sends no pings). */
  frame(f: Frame): string | Uint8Array | undefined;
  /** The bytes that end a stream with an error (a `stream_error` fault). */
  error(type: string, message: string): string | Uint8Array;
}

/** The Anthropic API's framing: SSE text. */
export const SSE_FRAMING: StreamFraming = {
  contentType: 'text/event-stream; charset=utf-8',
  frame: (f) => f.text,
  error: (type, message) => encodeEvent('error', { type: 'error', error: { type, message } }),
};

/** The frames of a message answer (the reply's SSE events). */
export function framesOf(a: Extract<MessageAnswer, { kind: 'message' }>, state: SimulatorState): Frame[] {
  return streamFrames(a.id, a.model, a.reply, a.usage, a.script?.chunkSize ?? state.chunkSize);
}

/**
 * Writes a 200 stream of `frames` in `framing`, with the per-chunk latency and
 * the request's stream fault (`cut`, `stream_error`) applied.
 */
export async function writeStream(
  api: SimApi,
  reply: FastifyReply,
  frames: Frame[],
  headers: Record<string, string>,
  framing: StreamFraming,
  script?: ScriptedResponse,
): Promise<void> {
  const { state, signal } = api;
  const ctx = reply.request.sim;
  reply.hijack();
  const res = reply.raw;
  const all: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) all[k] = v as string;
  Object.assign(all, headers, { 'content-type': framing.contentType, 'cache-control': 'no-cache' });
  res.writeHead(200, all);
  if (ctx.entry) ctx.entry.status = 200;
  const fault = ctx.fault;
  const fixedDelay = script?.chunkDelayMs;
  const perChunk: Latency | null =
    fixedDelay !== undefined
      ? { type: 'fixed', ms: fixedDelay }
      : isZero(state.latency.perChunk)
        ? null
        : state.latency.perChunk;
  if (!fault && !perChunk) {
    const parts: Array<string | Uint8Array> = [];
    for (const f of frames) {
      const b = framing.frame(f);
      if (b !== undefined) parts.push(b);
    }
    res.end(parts.every((p) => typeof p === 'string') ? parts.join('') : Buffer.concat(parts.map(bytes)));
    return;
  }
  const stopAt = fault ? Math.max(0, Math.min(fault.afterEvents ?? 3, frames.length - 1)) : -1;
  for (let i = 0; i < frames.length; i++) {
    if (res.destroyed) return;
    if (i === stopAt && fault) {
      if (fault.kind === 'stream_error') {
        const type = fault.errorType ?? 'overloaded_error';
        res.end(framing.error(type, fault.message ?? DEFAULT_MESSAGES[type] ?? 'Error'));
      } else if (fault.cutMode === 'end') res.end();
      else {
        // Let the events already written reach the client, then drop the connection.
        await flushed(res);
        res.destroy();
      }
      return;
    }
    if (perChunk && frames[i].delta) {
      const ms = sample(perChunk, state.random);
      if (ms > 0 && !(await pause(ms, signal))) {
        res.destroy();
        return;
      }
    }
    const b = framing.frame(frames[i]);
    if (b !== undefined && !res.write(b)) await waitDrain(res);
  }
  res.end();
}

const bytes = (p: string | Uint8Array): Uint8Array => (typeof p === 'string' ? Buffer.from(p) : p);

/** Registers `POST /v1/messages` and `POST /v1/messages/count_tokens`. */
export function registerMessages(api: SimApi): void {
  const { app, state, send, sendError } = api;
  const cfg = { api: true, family: 'anthropic' as const, bodyLimit: MESSAGES_BODY_LIMIT };

  app.post('/v1/messages', { config: cfg }, async (req, reply) => {
    const ctx = req.sim;
    const body = ctx.body as Obj;
    const a = answerMessage(state, ctx.org, ctx.version, body);
    if (a.kind === 'error') return sendError(reply, a.status, a.type, a.message, a.headers, a.details);
    if (body.stream === true)
      return writeStream(api, reply, framesOf(a, state), a.headers, SSE_FRAMING, a.script);
    return send(reply, 200, messageBody(a.id, a.model, a.reply, a.usage), a.headers);
  });

  app.post('/v1/messages/count_tokens', { config: cfg }, async (req, reply) => {
    const ctx = req.sim;
    const a = answerCount(state, ctx.org, ctx.version, ctx.body);
    if (a.kind === 'error') return sendError(reply, a.status, a.type, a.message, a.headers, a.details);
    return send(reply, 200, { input_tokens: a.inputTokens });
  });
}

const noop = () => {};
