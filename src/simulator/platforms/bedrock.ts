/**
 * Claude on Amazon Bedrock, simulated: the runtime's InvokeModel routes as
 * the official Bedrock SDK (and the gateway) call them.
 *
 *   POST /model/{id}/invoke                      a Message (JSON)
 *   POST /model/{id}/invoke-with-response-stream  the events, in AWS event-stream frames
 *   POST /model/{id}/count-tokens                 `{input:{invokeModel:{body}}}` → `{inputTokens}`
 *
 * Every request is SigV4-verified (./sigv4.ts) against the accepted AWS keys
 * (./credentials.ts); the model id (a base id or an inference profile from
 * src/platforms/models.ts) names a catalog model; the body is a Messages body
 * without `model` and `stream`, with `anthropic_version` (`bedrock-2023-05-31`,
 * or the API version the official SDK copies from its header); fields only the
 * Claude API accepts are refused, as Bedrock does. Answers come from the same
 * core as the Anthropic API's (routes/messages.ts); errors are Bedrock's:
 * `{"message"}` with `x-amzn-ErrorType`; stream failures are exception frames.
 * Faults scoped `platform: bedrock` match the Anthropic route each one stands
 * for (`/v1/messages`, `/v1/messages/count_tokens`).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { chunkFrame, exceptionFrame, newCodec } from '../../platforms/eventstream.ts';
import { catalogModelOf } from '../../platforms/models.ts';
import { isObj, type Obj, type SimApi } from '../http.ts';
import { messageBody } from '../message.ts';
import {
  answerCount,
  answerMessage,
  framesOf,
  MESSAGES_BODY_LIMIT,
  writeStream,
} from '../routes/messages.ts';
import { API_VERSIONS, type ApiVersion } from '../validate.ts';
import { verifySigV4 } from './sigv4.ts';

/** Bedrock's exception (name, status) for an Anthropic error type. */
const EXCEPTIONS: Record<string, readonly [string, number]> = {
  rate_limit_error: ['ThrottlingException', 429],
  overloaded_error: ['ServiceUnavailableException', 503],
  api_error: ['InternalServerException', 500],
  invalid_request_error: ['ValidationException', 400],
  request_too_large: ['ValidationException', 400],
  not_found_error: ['ResourceNotFoundException', 404],
  authentication_error: ['UnrecognizedClientException', 403],
  permission_error: ['AccessDeniedException', 403],
  timeout_error: ['ModelTimeoutException', 408],
};

/** Stream exceptions (`:exception-type`) for an Anthropic error type. */
const STREAM_EXCEPTIONS: Record<string, string> = {
  rate_limit_error: 'throttlingException',
  overloaded_error: 'serviceUnavailableException',
  invalid_request_error: 'validationException',
  timeout_error: 'modelTimeoutException',
};

const CLAUDE_API_ONLY = ['service_tier', 'inference_geo'];

/** The catalog model of a Bedrock model id (an inference profile, or an ARN ending in one). */
function catalogOf(id: string): string | undefined {
  return catalogModelOf('bedrock', id) ?? catalogModelOf('bedrock', id.slice(id.lastIndexOf('/') + 1));
}

export function registerBedrock(api: SimApi): void {
  const { app, state, send } = api;

  const renderError = (
    reply: FastifyReply,
    status: number,
    type: string,
    message: string,
    headers?: Record<string, string>,
  ) => {
    // A Bedrock exception name (from a fault or the auth check) is used as it is.
    const [name, code] = /Exception$/.test(type)
      ? [type, status]
      : (EXCEPTIONS[type] ?? ['InternalServerException', status]);
    const out: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    };
    for (const [k, v] of Object.entries(headers ?? {})) {
      if (k === 'retry-after' || k === 'x-should-retry' || k === 'retry-after-ms') out[k] = v;
    }
    return send(reply, code, { message }, out);
  };

  api.family('bedrock', {
    renderError,
    onRequest(req, reply) {
      const ctx = req.sim;
      ctx.requestId = randomUUID();
      reply.header('x-amzn-requestid', ctx.requestId);
      const { modelId } = req.params as { modelId: string };
      const action = ctx.logicalPath.slice(ctx.logicalPath.lastIndexOf('/') + 1);
      ctx.logicalPath = action === 'count-tokens' ? '/v1/messages/count_tokens' : '/v1/messages';
      ctx.streaming = action === 'invoke-with-response-stream';
      ctx.model = catalogOf(decodeURIComponent(modelId));
      return undefined;
    },
    async authenticate(req: FastifyRequest, reply: FastifyReply) {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const r = await verifySigV4(
        { method: req.method, url: req.url, headers: req.headers, body: raw },
        state.platformAuth,
        state.clock.now(),
      );
      if (r.ok) {
        req.sim.org = `aws:${r.accessKeyId}`;
        return undefined;
      }
      return renderError(reply, r.status, r.exception, r.message);
    },
  });

  /** The Messages body a Bedrock body stands for, or an error message (ValidationException). */
  function messagesBody(
    req: FastifyRequest,
    body: unknown,
    stream: boolean,
  ): { body: Obj; version: ApiVersion } | string {
    const ctx = req.sim;
    if (!ctx.model) return 'The provided model identifier is invalid.';
    if (!isObj(body)) return 'Malformed input request, please reformat your input and try again.';
    for (const key of ['model', 'stream', ...CLAUDE_API_ONLY]) {
      if (key in body)
        return `Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`;
    }
    const v = body.anthropic_version;
    if (v === undefined)
      return 'Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.';
    const version: ApiVersion | undefined =
      v === 'bedrock-2023-05-31'
        ? '2023-06-01'
        : (API_VERSIONS as readonly unknown[]).includes(v)
          ? (v as ApiVersion)
          : undefined;
    if (!version) return `Invalid API version: ${String(v)}. Valid versions: bedrock-2023-05-31`;
    const out: Obj = { model: ctx.model };
    for (const [k, val] of Object.entries(body))
      if (k !== 'anthropic_version' && k !== 'anthropic_beta') out[k] = val;
    if (stream) out.stream = true;
    return { body: out, version };
  }

  const cfg = { api: true, family: 'bedrock' as const, bodyLimit: MESSAGES_BODY_LIMIT };

  const invoke = (stream: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = req.sim;
    const m = messagesBody(req, ctx.body, stream);
    if (typeof m === 'string') return renderError(reply, 400, 'ValidationException', m);
    const a = answerMessage(state, ctx.org, m.version, m.body);
    if (a.kind === 'error') return renderError(reply, a.status, a.type, a.message, a.headers);
    a.id = a.id.replace(/^msg_/, 'msg_bdrk_');
    const metrics = {
      'x-amzn-bedrock-input-token-count': String(a.usage.input_tokens),
      'x-amzn-bedrock-output-token-count': String(a.usage.output_tokens),
      'x-amzn-bedrock-invocation-latency': '100',
    };
    if (!stream) {
      return send(reply, 200, messageBody(a.id, a.model, a.reply, a.usage), {
        ...metrics,
        'content-type': 'application/json',
      });
    }
    const codec = await newCodec();
    return writeStream(
      api,
      reply,
      framesOf(a, state),
      {},
      {
        contentType: 'application/vnd.amazon.eventstream',
        frame: (f) => {
          if (f.event === 'ping') return undefined;
          const data =
            f.event === 'message_stop'
              ? {
                  ...f.data,
                  'amazon-bedrock-invocationMetrics': {
                    inputTokenCount: a.usage.input_tokens,
                    outputTokenCount: a.usage.output_tokens,
                    invocationLatency: 100,
                    firstByteLatency: 20,
                  },
                }
              : f.data;
          return chunkFrame(codec, data);
        },
        error: (type, message) =>
          exceptionFrame(codec, STREAM_EXCEPTIONS[type] ?? 'modelStreamErrorException', message),
      },
      a.script,
    );
  };

  app.post('/model/:modelId/invoke', { config: cfg }, invoke(false));
  app.post('/model/:modelId/invoke-with-response-stream', { config: cfg }, invoke(true));

  app.post('/model/:modelId/count-tokens', { config: cfg }, async (req, reply) => {
    const ctx = req.sim;
    const input =
      isObj(ctx.body) && isObj(ctx.body.input) && isObj(ctx.body.input.invokeModel)
        ? ctx.body.input.invokeModel
        : undefined;
    if (!input || typeof input.body !== 'string') {
      return renderError(
        reply,
        400,
        'ValidationException',
        'Malformed input request: input.invokeModel.body is required.',
      );
    }
    let inner: unknown;
    try {
      inner = JSON.parse(Buffer.from(input.body, 'base64').toString('utf8'));
    } catch {
      return renderError(
        reply,
        400,
        'ValidationException',
        'Malformed input request: the body is not base64 JSON.',
      );
    }
    const m = messagesBody(req, inner, false);
    if (typeof m === 'string') return renderError(reply, 400, 'ValidationException', m);
    const a = answerCount(state, ctx.org, m.version, m.body);
    if (a.kind === 'error') return renderError(reply, a.status, a.type, a.message, a.headers);
    return send(reply, 200, { inputTokens: a.inputTokens });
  });
}
