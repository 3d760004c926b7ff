/**
 * The control API under `/_sim/` (simulator only; JSON in and out; no auth).
 * Every route is documented with a curl example in docs/simulator.md.
 *
 *   GET    /_sim/state                 snapshot of profile, tier, queues, counters
 *   POST   /_sim/reset                 back to the start state
 *   POST   /_sim/profile               { profile, platform? } (platform: bedrock | vertex: that platform's faults)
 *   POST   /_sim/platform-auth         { aws?: { add?, expire?, restore? }, google?: { expireIssued?, revoke?, tokenTtlS? } }
 *   POST   /_sim/tier                  { tier } | { limits: { requests, inputTokens, outputTokens } }
 *   POST   /_sim/latency               { firstByte?, perChunk? } (number = fixed ms, or a distribution)
 *   POST   /_sim/reply                 { mode?: 'echo' | 'lorem', loremWords?, chunkSize? }
 *   GET    /_sim/script                queued scripted responses
 *   POST   /_sim/script                one scripted response or an array of them
 *   DELETE /_sim/script                empty the queue
 *   GET    /_sim/faults                active faults
 *   POST   /_sim/faults                one fault spec or an array → the created faults (with ids)
 *   DELETE /_sim/faults                remove every fault (profile faults included)
 *   DELETE /_sim/faults/:id            remove one
 *   GET    /_sim/requests              recent API requests (?path=&method=&limit=)
 *   DELETE /_sim/requests              clear the log
 *   GET    /_sim/keys                  key state
 *   POST   /_sim/keys                  { accept?, add?, revoke?, restore?, orgs? }
 *   GET    /_sim/clock                 { now, offsetMs }
 *   POST   /_sim/clock                 { advanceMs }
 *   GET    /_sim/cache                 { entries }
 *   DELETE /_sim/cache                 drop every cache entry
 *   POST   /_sim/batches               { processingMs?, cancelMs? }
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { isProfileName, PROFILE_NAMES, PROFILES } from './faults.ts';
import type { Latency } from './random.ts';
import { TIER_NAMES, type TierName } from './ratelimit.ts';
import type { SimulatorState } from './state.ts';

const nonNeg = z.number().finite().nonnegative();

const latency = z.union([
  nonNeg.transform((ms): Latency => ({ type: 'fixed', ms })),
  z.object({ type: z.literal('fixed'), ms: nonNeg }).strict(),
  z.object({ type: z.literal('uniform'), minMs: nonNeg, maxMs: nonNeg }).strict(),
  z.object({ type: z.literal('normal'), meanMs: nonNeg, stddevMs: nonNeg }).strict(),
]);

const headers = z.record(z.string(), z.string());
const details = z.record(z.string(), z.unknown()).nullable();

const faultSpec = z
  .object({
    kind: z.enum(['status', 'reset', 'slow', 'cut', 'stream_error']),
    status: z.number().int().min(400).max(599).optional(),
    errorType: z.string().optional(),
    message: z.string().optional(),
    details: details.optional(),
    retryAfter: nonNeg.optional(),
    retryAfterMs: nonNeg.optional(),
    shouldRetry: z.boolean().optional(),
    headers: headers.optional(),
    delayMs: nonNeg.optional(),
    afterEvents: z.number().int().nonnegative().optional(),
    cutMode: z.enum(['destroy', 'end']).optional(),
    path: z.string().startsWith('/').optional(),
    method: z.string().optional(),
    model: z.string().optional(),
    platform: z.enum(['anthropic', 'bedrock', 'vertex']).optional(),
    count: z.number().int().positive().optional(),
    durationMs: nonNeg.optional(),
    seconds: nonNeg.optional(),
    probability: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((f) => f.kind !== 'status' || f.status !== undefined, { message: 'kind "status" needs a status' })
  .refine((f) => f.kind !== 'slow' || f.delayMs !== undefined, { message: 'kind "slow" needs delayMs' });

const block = z.looseObject({ type: z.enum(['text', 'thinking', 'redacted_thinking', 'tool_use']) });

const script = z
  .object({
    text: z.string().optional(),
    content: z.array(block).optional(),
    toolUse: z.object({ name: z.string(), input: z.unknown().optional() }).strict().optional(),
    lorem: z.number().int().nonnegative().optional(),
    stopReason: z.string().optional(),
    stopSequence: z.string().nullable().optional(),
    stopDetails: z.record(z.string(), z.unknown()).nullable().optional(),
    usage: z.record(z.string(), z.unknown()).optional(),
    chunkSize: z.number().int().positive().optional(),
    chunkDelayMs: nonNeg.optional(),
    status: z.number().int().min(200).max(599).optional(),
    error: z
      .object({ type: z.string().optional(), message: z.string().optional(), details: details.optional() })
      .strict()
      .optional(),
    headers: headers.optional(),
    times: z.number().int().positive().optional(),
  })
  .strict();

const limits = z
  .object({
    requests: z.number().positive(),
    inputTokens: z.number().positive(),
    outputTokens: z.number().positive(),
  })
  .strict();

const schemas = {
  profile: z.object({ profile: z.string(), platform: z.enum(['bedrock', 'vertex']).optional() }).strict(),
  platformAuth: z
    .object({
      aws: z
        .object({
          add: z
            .array(
              z
                .object({
                  accessKeyId: z.string().min(1),
                  secretAccessKey: z.string().min(1),
                  sessionToken: z.string().optional(),
                })
                .strict(),
            )
            .optional(),
          expire: z.array(z.string()).optional(),
          restore: z.array(z.string()).optional(),
        })
        .strict()
        .optional(),
      google: z
        .object({
          expireIssued: z.boolean().optional(),
          revoke: z.array(z.string()).optional(),
          tokenTtlS: z.number().int().positive().optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  tier: z.union([
    z.object({ tier: z.enum(TIER_NAMES as [TierName, ...TierName[]]) }).strict(),
    z.object({ limits }).strict(),
  ]),
  latency: z.object({ firstByte: latency.optional(), perChunk: latency.optional() }).strict(),
  reply: z
    .object({
      mode: z.enum(['echo', 'lorem']).optional(),
      loremWords: z.number().int().nonnegative().optional(),
      chunkSize: z.number().int().positive().optional(),
    })
    .strict(),
  keys: z
    .object({
      accept: z.array(z.string()).nullable().optional(),
      add: z.array(z.string()).optional(),
      revoke: z.union([z.string(), z.array(z.string())]).optional(),
      restore: z.union([z.string(), z.array(z.string())]).optional(),
      orgs: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
  clock: z.object({ advanceMs: nonNeg }).strict(),
  batches: z.object({ processingMs: nonNeg.optional(), cancelMs: nonNeg.optional() }).strict(),
};

function parse<T>(schema: z.ZodType<T>, body: unknown, reply: FastifyReply): T | undefined {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  reply.code(400).send({ error: 'invalid control request', details: z.prettifyError(r.error) });
  return undefined;
}

/** JSON body of a control request (the server's raw-buffer parser leaves a Buffer). */
function json(body: unknown, reply: FastifyReply): { ok: true; value: unknown } | { ok: false } {
  if (body === undefined || body === null) return { ok: true, value: {} };
  if (!Buffer.isBuffer(body)) return { ok: true, value: body };
  if (body.length === 0) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    reply.code(400).send({ error: 'invalid control request', details: 'body is not valid JSON' });
    return { ok: false };
  }
}

function snapshot(state: SimulatorState) {
  return {
    profile: state.profile,
    platformProfiles: state.platformProfiles,
    profiles: PROFILE_NAMES,
    platformAuth: state.platformAuth.describe(),
    tier: state.limiter.tierName,
    limits: state.limiter.limits,
    latency: state.latency,
    replyMode: state.replyMode,
    chunkSize: state.chunkSize,
    organizationId: state.organizationId,
    seed: state.seed,
    clock: { now: new Date(state.clock.now()).toISOString(), offsetMs: state.clock.offsetMs },
    scripts: state.scripts.length,
    faults: state.faults.list,
    keys: state.keys,
    cacheEntries: state.cache.size,
    batches: {
      count: state.batches.size,
      processingMs: state.batches.processingMs,
      cancelMs: state.batches.cancelMs,
    },
    requestLog: { size: state.requests.all().length, capacity: state.requests.capacity },
  };
}

export function registerControl(app: FastifyInstance, state: SimulatorState): void {
  const route = <T>(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    schema: z.ZodType<T> | null,
    fn: (input: T, params: Record<string, string>, query: Record<string, string>) => unknown,
  ) => {
    app.route({
      method,
      url: `/_sim${url}`,
      handler: async (req, reply) => {
        let input = undefined as T;
        if (schema) {
          const b = json(req.body, reply);
          if (!b.ok) return reply;
          const parsed = parse(schema, b.value, reply);
          if (parsed === undefined) return reply;
          input = parsed;
        }
        const out = fn(input, req.params as Record<string, string>, req.query as Record<string, string>);
        if (out && typeof out === 'object' && 'status' in out && 'payload' in out) {
          const o = out as { status: number; payload: unknown };
          return reply.code(o.status).send(o.payload);
        }
        return reply.send(out ?? { ok: true });
      },
    });
  };

  route('GET', '/state', null, () => snapshot(state));
  route('POST', '/reset', null, () => {
    state.reset();
    return snapshot(state);
  });

  route('POST', '/profile', schemas.profile, ({ profile, platform }) => {
    if (!isProfileName(profile)) {
      return { status: 400, payload: { error: `unknown profile ${profile}`, profiles: PROFILE_NAMES } };
    }
    state.setProfile(profile, platform);
    return {
      profile,
      platform: platform ?? 'anthropic',
      description: PROFILES[profile].description,
      state: snapshot(state),
    };
  });

  route('POST', '/platform-auth', schemas.platformAuth, ({ aws, google }) => {
    const auth = state.platformAuth;
    for (const k of aws?.add ?? []) auth.addAws(k);
    for (const id of aws?.expire ?? []) auth.expireAws(id);
    for (const id of aws?.restore ?? []) auth.restoreAws(id);
    if (google?.tokenTtlS !== undefined) auth.tokenTtlS = google.tokenTtlS;
    if (google?.expireIssued) auth.expireGoogle();
    if (google?.revoke) auth.revokeGoogle(google.revoke);
    return auth.describe();
  });

  route('POST', '/tier', schemas.tier, (t) => {
    state.setTier('tier' in t ? t.tier : t.limits);
    return { tier: state.limiter.tierName, limits: state.limiter.limits };
  });

  route('POST', '/latency', schemas.latency, (l) => {
    state.setLatency(l);
    return { latency: state.latency };
  });

  route('POST', '/reply', schemas.reply, (r) => {
    if (r.mode) state.replyMode.mode = r.mode;
    if (r.loremWords !== undefined) state.replyMode.loremWords = r.loremWords;
    if (r.chunkSize !== undefined) state.chunkSize = r.chunkSize;
    return { replyMode: state.replyMode, chunkSize: state.chunkSize };
  });

  route('GET', '/script', null, () => ({ data: state.scripts }));
  route('POST', '/script', z.union([script, z.array(script)]), (s) => {
    const queued = state.enqueue(...(Array.isArray(s) ? s : [s]));
    return { queued };
  });
  route('DELETE', '/script', null, () => {
    state.clearScripts();
    return { queued: 0 };
  });

  route('GET', '/faults', null, () => ({ data: state.faults.list }));
  route('POST', '/faults', z.union([faultSpec, z.array(faultSpec)]), (f) => {
    const created = (Array.isArray(f) ? f : [f]).map((spec) => state.addFault(spec));
    return Array.isArray(f) ? { data: created } : created[0];
  });
  route('DELETE', '/faults', null, () => {
    state.faults.clear();
    return { data: [] };
  });
  route('DELETE', '/faults/:id', null, (_i, p) =>
    state.faults.remove(p.id) ? { ok: true } : { status: 404, payload: { error: `no fault ${p.id}` } },
  );

  route('GET', '/requests', null, (_i, _p, q) => {
    let data = state.requests.all();
    if (q.path) data = data.filter((r) => r.path === q.path);
    if (q.method) data = data.filter((r) => r.method === q.method.toUpperCase());
    const limit = Number(q.limit);
    if (Number.isInteger(limit) && limit > 0) data = data.slice(-limit);
    // Bodies are shown to 64 levels: a hostile body must never break the request log.
    return { data: data.map((r) => ({ ...r, body: depthLimited(r.body, LOGGED_BODY_DEPTH) })) };
  });
  route('DELETE', '/requests', null, () => {
    state.requests.clear();
    return { data: [] };
  });

  route('GET', '/keys', null, () => state.keys);
  route('POST', '/keys', schemas.keys, (k) => state.updateKeys(k));

  route('GET', '/clock', null, () => ({
    now: new Date(state.clock.now()).toISOString(),
    offsetMs: state.clock.offsetMs,
  }));
  route('POST', '/clock', schemas.clock, ({ advanceMs }) => {
    state.clock.advance(advanceMs);
    return { now: new Date(state.clock.now()).toISOString(), offsetMs: state.clock.offsetMs };
  });

  route('GET', '/cache', null, () => ({ entries: state.cache.size }));
  route('DELETE', '/cache', null, () => {
    state.cache.clear();
    return { entries: 0 };
  });

  route('POST', '/batches', schemas.batches, (b) => {
    if (b.processingMs !== undefined) state.batches.processingMs = b.processingMs;
    if (b.cancelMs !== undefined) state.batches.cancelMs = b.cancelMs;
    return { processingMs: state.batches.processingMs, cancelMs: state.batches.cancelMs };
  });
}

/** How deep `GET /_sim/requests` shows a request body. */
const LOGGED_BODY_DEPTH = 64;

/** A copy of `value` with what lies deeper than `max` levels replaced by a marker string. */
function depthLimited(value: unknown, max: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (max <= 0) return '[nested deeper than the request log shows]';
  if (Array.isArray(value)) return value.map((v) => depthLimited(v, max - 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = depthLimited(v, max - 1);
  return out;
}
