/**
 * Claude on Google Cloud Vertex AI, simulated: the publisher-model routes as
 * the official Vertex SDK (and the gateway) call them, and an OAuth token
 * endpoint for service-account credentials.
 *
 *   POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{id}:rawPredict        a Message
 *   POST …/models/{id}:streamRawPredict                                                   SSE events
 *   POST …/models/count-tokens:rawPredict                                                 `{input_tokens}`
 *   POST /token                                                                            OAuth token (JWT bearer grant)
 *
 * Every request needs `Authorization: Bearer <token>` accepted by
 * ./credentials.ts (issued by `/token` and not expired on the simulator
 * clock, or any non-revoked token when no list is set). The body is a
 * Messages body without `model` (count-tokens keeps it, as a Vertex id) and
 * with `anthropic_version` (`vertex-2023-10-16`, or the API version the
 * official SDK copies from its header). Errors of the model come in the
 * Messages API's envelope (`request_id: req_vrtx_…`); authentication, quota
 * and unknown models in Google's `{"error":{code,message,status}}`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorEnvelope } from '../../anthropic/errors.ts';
import { catalogModelOf } from '../../platforms/models.ts';
import { isObj, type Obj, type SimApi } from '../http.ts';
import { messageBody } from '../message.ts';
import {
  answerCount,
  answerMessage,
  framesOf,
  MESSAGES_BODY_LIMIT,
  SSE_FRAMING,
  writeStream,
} from '../routes/messages.ts';
import { API_VERSIONS, type ApiVersion } from '../validate.ts';

/** Google's format (code, status) for the Anthropic error types Vertex answers itself. */
const GOOGLE: Record<string, readonly [number, string]> = {
  authentication_error: [401, 'UNAUTHENTICATED'],
  permission_error: [403, 'PERMISSION_DENIED'],
  rate_limit_error: [429, 'RESOURCE_EXHAUSTED'],
  not_found_error: [404, 'NOT_FOUND'],
};

const CLAUDE_API_ONLY = ['service_tier', 'inference_geo'];
const BEARER = /^Bearer\s+(.+)$/i;
const MODEL_PATH = '/v1/projects/:project/locations/:region/publishers/anthropic/models/:model';

export function registerVertex(api: SimApi): void {
  const { app, state, send } = api;

  const googleError = (
    reply: FastifyReply,
    code: number,
    status: string,
    message: string,
    headers?: Record<string, string>,
  ) =>
    send(
      reply,
      code,
      { error: { code, message, status } },
      { 'content-type': 'application/json', ...headers },
    );

  const renderError = (
    reply: FastifyReply,
    status: number,
    type: string,
    message: string,
    headers?: Record<string, string>,
    details?: Obj | null,
  ) => {
    const google = GOOGLE[type];
    const pass: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers ?? {})) {
      if (k === 'retry-after' || k === 'x-should-retry' || k === 'retry-after-ms') pass[k] = v;
    }
    if (google) return googleError(reply, google[0], google[1], message, pass);
    return send(
      reply,
      status,
      errorEnvelope(type, message, reply.request.sim?.requestId ?? null, details),
      pass,
    );
  };

  api.family('vertex', {
    renderError,
    onRequest(req, reply) {
      const ctx = req.sim;
      ctx.requestId = `req_vrtx_${randomBytes(12).toString('base64url')}`;
      const { project, model } = req.params as { project: string; model: string };
      const colon = model.lastIndexOf(':');
      const id = colon < 0 ? model : model.slice(0, colon);
      const action = colon < 0 ? '' : model.slice(colon + 1);
      ctx.org = `gcp:${project}`;
      ctx.logicalPath = id === 'count-tokens' ? '/v1/messages/count_tokens' : '/v1/messages';
      ctx.streaming = action === 'streamRawPredict';
      if (id !== 'count-tokens') ctx.model = catalogModelOf('vertex', id);
      const auth = req.headers.authorization;
      const token = typeof auth === 'string' ? BEARER.exec(auth)?.[1]?.trim() : undefined;
      const verdict = token ? state.platformAuth.google(token) : 'invalid';
      if (verdict !== 'ok') {
        return googleError(
          reply,
          401,
          'UNAUTHENTICATED',
          verdict === 'expired'
            ? 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. The access token has expired.'
            : 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        );
      }
      if (action !== 'rawPredict' && action !== 'streamRawPredict') {
        return googleError(reply, 404, 'NOT_FOUND', `Method ${action || '(none)'} not found on ${id}.`);
      }
      if (id === 'count-tokens' && action !== 'rawPredict') {
        return googleError(reply, 404, 'NOT_FOUND', 'count-tokens supports rawPredict only.');
      }
      return undefined;
    },
  });

  /** The Messages body a Vertex body stands for, or an error message (400). */
  function messagesBody(
    body: unknown,
    model: string | undefined,
    forCount: boolean,
  ): { body: Obj; version: ApiVersion } | string {
    if (!isObj(body)) return 'Request body must be a JSON object';
    for (const key of [...(forCount ? [] : ['model']), ...CLAUDE_API_ONLY]) {
      if (key in body) return `${key}: Extra inputs are not permitted`;
    }
    const v = body.anthropic_version;
    const version: ApiVersion | undefined =
      v === 'vertex-2023-10-16'
        ? '2023-06-01'
        : (API_VERSIONS as readonly unknown[]).includes(v)
          ? (v as ApiVersion)
          : undefined;
    if (!version) return `anthropic_version: Input should be 'vertex-2023-10-16'`;
    const out: Obj = {};
    for (const [k, val] of Object.entries(body)) if (k !== 'anthropic_version') out[k] = val;
    if (model !== undefined) out.model = model;
    return { body: out, version };
  }

  const cfg = { api: true, family: 'vertex' as const, bodyLimit: MESSAGES_BODY_LIMIT };

  app.post(MODEL_PATH, { config: cfg }, async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = req.sim;
    const { project, region, model } = req.params as { project: string; region: string; model: string };
    if (model.startsWith('count-tokens:')) {
      const vertexId = isObj(ctx.body) && typeof ctx.body.model === 'string' ? ctx.body.model : '';
      const catalog = catalogModelOf('vertex', vertexId);
      if (!catalog) return notFound(reply, project, region, vertexId);
      const m = messagesBody(ctx.body, catalog, true);
      if (typeof m === 'string') return renderError(reply, 400, 'invalid_request_error', m);
      const a = answerCount(state, ctx.org, m.version, m.body);
      if (a.kind === 'error') return renderError(reply, a.status, a.type, a.message, a.headers, a.details);
      return send(reply, 200, { input_tokens: a.inputTokens });
    }
    if (!ctx.model) return notFound(reply, project, region, model.slice(0, model.lastIndexOf(':')));
    const m = messagesBody(ctx.body, ctx.model, false);
    if (typeof m === 'string') return renderError(reply, 400, 'invalid_request_error', m);
    if (ctx.streaming) m.body.stream = true;
    else delete m.body.stream;
    const a = answerMessage(state, ctx.org, m.version, m.body);
    if (a.kind === 'error') return renderError(reply, a.status, a.type, a.message, a.headers, a.details);
    a.id = a.id.replace(/^msg_/, 'msg_vrtx_');
    if (ctx.streaming) return writeStream(api, reply, framesOf(a, state), {}, SSE_FRAMING, a.script);
    return send(reply, 200, messageBody(a.id, a.model, a.reply, a.usage), {
      'content-type': 'application/json',
    });
  });

  const notFound = (reply: FastifyReply, project: string, region: string, id: string) =>
    googleError(
      reply,
      404,
      'NOT_FOUND',
      `Publisher Model \`projects/${project}/locations/${region}/publishers/anthropic/models/${id}\` not found.`,
    );

  // The OAuth token endpoint (JWT bearer grant of a service account, or a refresh token).
  app.post('/token', { config: { family: 'vertex' as const } }, async (req, reply) => {
    const form = new URLSearchParams(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
    const grant = form.get('grant_type');
    const ok =
      (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
        (form.get('assertion') ?? '').split('.').length === 3) ||
      (grant === 'refresh_token' && !!form.get('refresh_token'));
    if (!ok) {
      return reply.code(400).send({
        error: 'invalid_grant',
        error_description: 'Invalid grant: expected a signed JWT assertion.',
      });
    }
    const { token, expiresIn } = state.platformAuth.issueToken();
    return reply.code(200).send({ access_token: token, expires_in: expiresIn, token_type: 'Bearer' });
  });
}
