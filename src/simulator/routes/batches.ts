/**
 * The Message Batches routes: create, list, get, cancel, delete, results.
 * Requests are processed lazily on the simulator clock (`BatchStore`), each
 * one like a Messages request (validation, a generated reply at batch prices).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorEnvelope } from '../../anthropic/errors.ts';
import { newId } from '../../anthropic/ids.ts';
import { estimateRequestTokens } from '../../anthropic/tokens.ts';
import { type BatchRequest, type BatchResult, BatchStore } from '../batches.ts';
import { uncachedUsage } from '../cache.ts';
import { generateReply } from '../generate.ts';
import { isObj, type Obj, type SimApi } from '../http.ts';
import { buildUsage, messageBody } from '../message.ts';
import { paginate } from '../pagination.ts';
import { type ApiVersion, CUSTOM_ID, validateBatchParams } from '../validate.ts';

const BATCH_BODY_LIMIT = 256 * 1024 * 1024;
const MAX_BATCH_REQUESTS = 100_000;

export function registerBatches(api: SimApi, batchProcessingMs: number): void {
  const { app, state, send, sendError } = api;
  const cfg = { api: true, family: 'anthropic' as const };
  const batches = new BatchStore(
    () => state.clock.now(),
    (params, context) => processBatchRequest(params, context as { version: ApiVersion }),
    batchProcessingMs,
  );
  state.batches = batches;

  function processBatchRequest(params: unknown, context: { version: ApiVersion }): BatchResult {
    const v = validateBatchParams(params, context.version);
    if ('status' in v) {
      return { type: 'errored', error: errorEnvelope(v.type, v.message, null, v.details) };
    }
    const body = params as Obj;
    const est = estimateRequestTokens(body);
    const r = generateReply(body, {
      seed: state.seed,
      mode: state.replyMode.mode,
      loremWords: state.replyMode.loremWords,
    });
    const usage = buildUsage(uncachedUsage(est.total), r, body, 'batch');
    return { type: 'succeeded', message: messageBody(newId('msg'), v.model.id, r, usage) };
  }

  const batchId = (req: FastifyRequest) => (req.params as { id: string }).id;
  const batchNotFound = (reply: FastifyReply, id: string) =>
    sendError(reply, 404, 'not_found_error', `message_batch_id: no Message Batch with id ${id}`);

  app.post(
    '/v1/messages/batches',
    { config: { ...cfg, bodyLimit: BATCH_BODY_LIMIT }, bodyLimit: BATCH_BODY_LIMIT },
    async (req, reply) => {
      const ctx = req.sim;
      const body = ctx.body as Obj;
      const requests = body.requests;
      if (requests === undefined)
        return sendError(reply, 400, 'invalid_request_error', 'requests: Field required');
      if (!Array.isArray(requests))
        return sendError(reply, 400, 'invalid_request_error', 'requests: Input should be a valid list');
      if (requests.length === 0) {
        return sendError(
          reply,
          400,
          'invalid_request_error',
          'requests: List should have at least 1 item after validation, not 0',
        );
      }
      if (requests.length > MAX_BATCH_REQUESTS) {
        return sendError(
          reply,
          400,
          'invalid_request_error',
          `requests: at most ${MAX_BATCH_REQUESTS} requests per batch`,
        );
      }
      const seen = new Set<string>();
      const list: BatchRequest[] = [];
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i];
        if (!isObj(r))
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `requests.${i}: Input should be a valid dictionary`,
          );
        if (typeof r.custom_id !== 'string') {
          return sendError(reply, 400, 'invalid_request_error', `requests.${i}.custom_id: Field required`);
        }
        if (!CUSTOM_ID.test(r.custom_id)) {
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`,
          );
        }
        if (seen.has(r.custom_id)) {
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `requests.${i}.custom_id: Duplicate custom_id '${r.custom_id}'`,
          );
        }
        seen.add(r.custom_id);
        if (!isObj(r.params))
          return sendError(reply, 400, 'invalid_request_error', `requests.${i}.params: Field required`);
        list.push({ custom_id: r.custom_id, params: r.params });
      }
      const adm = state.limiter.admitSimple(ctx.org, 'batches');
      if (!adm.ok) {
        return sendError(
          reply,
          429,
          'rate_limit_error',
          `This request would exceed your organization's rate limit of ${adm.limit} Message Batches API requests per minute (org: ${ctx.org}).`,
          { 'retry-after': String(adm.retryAfterSeconds) },
        );
      }
      const host = req.headers.host ?? `${req.hostname}`;
      return send(reply, 200, batches.create(list, `${req.protocol}://${host}`, { version: ctx.version }));
    },
  );

  app.get('/v1/messages/batches', { config: cfg }, async (req, reply) => {
    const page = paginate(batches.list(), (b) => b.id, req.query as Obj);
    if ('error' in page) return sendError(reply, 400, 'invalid_request_error', page.error);
    return send(reply, 200, page);
  });

  app.get('/v1/messages/batches/:id', { config: cfg }, async (req, reply) => {
    const b = batches.get(batchId(req));
    return b ? send(reply, 200, b) : batchNotFound(reply, batchId(req));
  });

  app.post('/v1/messages/batches/:id/cancel', { config: cfg }, async (req, reply) => {
    const b = batches.cancel(batchId(req));
    return b ? send(reply, 200, b) : batchNotFound(reply, batchId(req));
  });

  app.delete('/v1/messages/batches/:id', { config: cfg }, async (req, reply) => {
    const id = batchId(req);
    const r = batches.delete(id);
    if (r === 'not_found') return batchNotFound(reply, id);
    if (r === 'in_progress') {
      return sendError(
        reply,
        400,
        'invalid_request_error',
        `Message Batch ${id} is still being processed; cancel it and wait until processing_status is "ended" before deleting it.`,
      );
    }
    return send(reply, 200, { id, type: 'message_batch_deleted' });
  });

  app.get('/v1/messages/batches/:id/results', { config: cfg }, async (req, reply) => {
    const id = batchId(req);
    const r = batches.results(id);
    if (r === 'not_found') return batchNotFound(reply, id);
    if (r === 'in_progress') {
      return sendError(
        reply,
        400,
        'invalid_request_error',
        `Message Batch ${id} has not finished processing; results are available once processing_status is "ended".`,
      );
    }
    reply.header('content-type', 'application/x-jsonl');
    return send(reply, 200, r);
  });
}
