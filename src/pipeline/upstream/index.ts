/**
 * upstream: send the exchange to the Anthropic API (or the simulator) and turn
 * its answer into `ex.response`, with the resilience rules of
 * docs/resilience.md. The stage is layers, outermost first, each its own
 * module:
 *
 * | layer | module | job |
 * |---|---|---|
 * | concurrency | src/resilience/concurrency.ts | per-client and per-key slots with a bounded queue (529 `load_shed` beyond) |
 * | fallback | src/resilience/fallback.ts | the chain of targets: the requested model, then `fallback_models` |
 * | key ring | src/resilience/keys.ts | one of the environment's keys per attempt; 401/403 take a key out |
 * | breaker | src/resilience/breaker.ts | per key and model; an open breaker is skipped |
 * | retry | src/resilience/decide.ts | what to do after an attempt: a pure function of the attempt and the state |
 * | send | ./attempt.ts | one attempt over the keep-alive pool |
 * | relay | ./relay.ts | the answer to the client as it arrives: one SSE decoding chain, usage tap |
 *
 * Every retry happens before `ex.response` is set, so before any byte reached
 * the client: a started stream is never retried. The final upstream error is
 * passed through byte for byte with its headers; when the gateway retried, it
 * adds `x-should-retry: false` so the client's SDK does not multiply the
 * attempts.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { GantryError } from '../../errors.ts';
import { BreakerOpenError, Breakers } from '../../resilience/breaker.ts';
import { RetryBudget } from '../../resilience/budget.ts';
import { ConcurrencyLimiter, LoadShedError } from '../../resilience/concurrency.ts';
import type { ClientResilience, Timeouts } from '../../resilience/config.ts';
import { type Decision, decide } from '../../resilience/decide.ts';
import { degradedResponse } from '../../resilience/degrade.ts';
import { FallbackChain } from '../../resilience/fallback.ts';
import { registerHealthRoutes, UpstreamHealth } from '../../resilience/health.ts';
import { KeyRing, type UpstreamKey } from '../../resilience/keys.ts';
import { requestBytes } from '../body.ts';
import type { Exchange } from '../exchange.ts';
import { downstreamResponseHeaders } from '../headers.ts';
import type { Stage, StageContext } from '../stage.ts';
import { type Attempt, type SendOptions, sendAttempt, upstreamFailure } from './attempt.ts';
import { readAll, readMessage, relayBody, relaySse, tapWholeBatchResults } from './relay.ts';
import { BATCH_OBJECT_ROUTES, rewriteResultsUrls } from './results-url.ts';

/** Answers of known length up to this size are read whole and sent in one write (larger ones are relayed). */
const BUFFER_LIMIT = 1024 * 1024;

/** A client's resilience, resolved once at start-up. */
interface Plan {
  maxAttempts: number;
  timeouts: Timeouts;
  fallbackModels: readonly string[];
  degraded?: { message: string };
  limiter?: ConcurrencyLimiter;
  denyHeaders?: ReadonlySet<string>;
}

export function upstream(ctx: StageContext): Stage {
  const { config, secrets, logger } = ctx;
  const rc = config.resilience;
  const base = new URL(config.upstream.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const upstreamBase = `${base.origin}${prefix}`;
  // Where clients fetch batch results: the configured public URL, else a path the SDKs join to their base URL.
  const publicBase = config.server.publicUrl ?? '';
  const pool = new Pool(base.origin, {
    connections: config.upstream.connections,
    connectTimeout: config.upstream.connectTimeoutMs,
    headersTimeout: config.upstream.headersTimeoutMs,
    bodyTimeout: config.upstream.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
  });
  const send: SendOptions = {
    pool,
    prefix,
    headersTimeoutMs: config.upstream.headersTimeoutMs,
    bodyTimeoutMs: config.upstream.bodyTimeoutMs,
  };
  const perKey = rc.concurrency.perKey
    ? {
        limit: rc.concurrency.perKey,
        queue: rc.concurrency.queue,
        queueTimeoutMs: rc.concurrency.queueTimeoutMs,
      }
    : undefined;
  const rings = new Map<string, KeyRing>();
  for (const env of Object.values(config.environments)) {
    rings.set(env.name, new KeyRing(env, secrets, logger, perKey, Math.random, ctx.events.upstreamKey));
  }
  const breakers = new Breakers(rc.breaker, logger, ctx.events.breaker);
  const budget = new RetryBudget(rc.retryBudget);
  const health = new UpstreamHealth({ pool, prefix, rings, config: rc.health, logger });
  registerHealthRoutes(ctx.routes, { health, rings, breakers, budget, readiness: ctx.readiness });

  const planOf = (own: ClientResilience | undefined, deny?: readonly string[]): Plan => {
    const limit = own?.maxConcurrency ?? rc.concurrency.perClient;
    return {
      maxAttempts: own?.maxAttempts ?? rc.maxAttempts,
      timeouts: { ...rc.timeouts, ...own?.timeouts },
      fallbackModels: own?.fallbackModels ?? [],
      ...(own?.degraded ? { degraded: own.degraded } : {}),
      ...(limit
        ? { limiter: new ConcurrencyLimiter(limit, rc.concurrency.queue, rc.concurrency.queueTimeoutMs) }
        : {}),
      ...(deny && deny.length > 0 ? { denyHeaders: new Set(deny) } : {}),
    };
  };
  // Per-client plans, built once (local mode's implicit client gets the defaults).
  const plans = new Map<string, Plan>(
    config.clients.map((c) => [c.name, planOf(c.resilience, c.denyHeaders)]),
  );
  const defaultPlan = planOf(undefined);

  /** A slot of `limiter`, or 529 `load_shed` when it and its queue are full. */
  const slot = async (limiter: ConcurrencyLimiter, ex: Exchange, scope: string, timeouts: Timeouts) => {
    try {
      return await limiter.acquire(ex.signal);
    } catch (err) {
      if (ex.signal.aborted || !(err instanceof LoadShedError)) throw upstreamFailure(err, ex, timeouts);
      ex.decisions.push({
        stage: 'upstream',
        action: 'shed',
        rule: `concurrency.${scope}`,
        detail: err.reason,
      });
      throw new GantryError('load_shed', `Too many concurrent requests for this ${scope}; retry shortly.`, {
        headers: { 'retry-after': String(rc.concurrency.shedRetryAfterS) },
      });
    }
  };

  return {
    name: 'upstream',
    async request(ex) {
      const client = ex.client!;
      const ring = rings.get(client.environment);
      const noKey = () =>
        new GantryError(
          'upstream_key_unavailable',
          `The upstream key of environment "${client.environment}" is not available; run \`gantry config check\` on the gateway.`,
        );
      if (!ring) throw noKey();
      const plan = plans.get(client.name) ?? defaultPlan;
      const held: Array<() => void> = [];
      ex.upstream.release = () => {
        for (const release of held.splice(0)) release();
      };
      if (plan.limiter) held.push(await slot(plan.limiter, ex, 'client', plan.timeouts));

      budget.recordRequest();
      const deadline = ex.startedAt + plan.timeouts.totalMs;
      const requested = ex.model;
      const chain = new FallbackChain(
        ex.route.kind === 'messages' && requested !== undefined
          ? [requested, ...plan.fallbackModels]
          : [requested],
      );
      const excluded = new Set<string>();
      let attempts = 0;
      let delayedRetries = 0;
      let last: Exclude<Attempt, { kind: 'ok' }> | undefined;
      let openRetryAfterMs: number | undefined;
      let keyFailover: string | undefined;
      const failOver = (rule: 'model' | 'key', detail: string | undefined) =>
        ex.decisions.push({ stage: 'upstream', action: 'failed_over', rule, detail });

      for (;;) {
        const model = chain.current;
        const breakerFor = (k: UpstreamKey) =>
          model === undefined ? undefined : breakers.get(`${ring.environment}/${k.id}`, model);
        const usable = (k: UpstreamKey) => !excluded.has(k.id) && (breakerFor(k)?.available() ?? true);
        const key = ring.pick(usable);
        if (!key) {
          for (const k of ring.keys) {
            const b = breakerFor(k);
            if (b && !b.available())
              openRetryAfterMs = Math.min(openRetryAfterMs ?? Infinity, b.retryAfterMs());
          }
          if (chain.advance()) {
            excluded.clear();
            failOver('model', chain.current);
            continue;
          }
          break;
        }
        if (attempts >= plan.maxAttempts) break;
        const keyValue = key.value();
        if (keyValue === undefined) throw noKey();
        const body = requestBytes(ex, model);
        if (model !== requested) {
          ex.requestedModel = requested;
          ex.model = model;
        }
        const releaseKeySlot = key.limiter
          ? await slot(key.limiter, ex, 'upstream key', plan.timeouts)
          : undefined;
        key.inflight += 1;
        const releaseKey = () => {
          key.inflight -= 1;
          releaseKeySlot?.();
        };
        attempts += 1;
        let result: Attempt;
        try {
          const attempt = (probe: boolean) =>
            sendAttempt(send, ex, {
              key,
              keyValue,
              body,
              timeouts: plan.timeouts,
              deadline,
              probe,
              denyHeaders: plan.denyHeaders,
            });
          const breaker = breakerFor(key);
          result = breaker ? await breaker.run(attempt) : await attempt(false);
        } catch (err) {
          releaseKey();
          attempts -= 1;
          if (!(err instanceof BreakerOpenError)) throw err;
          // Opened by a concurrent request between pick and run: try another target.
          excluded.add(key.id);
          openRetryAfterMs = Math.min(openRetryAfterMs ?? Infinity, err.retryAfterMs);
          continue;
        }
        if (result.kind === 'ok') {
          held.push(releaseKey);
          ex.errorType = undefined; // earlier attempts' errors were handled here
          await respond(ex, result, keyFailover);
          return;
        }
        releaseKey();
        last = result;
        if (result.kind === 'status') ex.errorType = errorTypeOf(result.body);

        const other =
          result.kind === 'status' && result.status === 429
            ? ring.pick((k) => k !== key && usable(k))
            : undefined;
        const d: Decision = decide(
          result.kind === 'status'
            ? { kind: 'status', status: result.status, headers: result.headers }
            : { kind: 'error', aborted: result.aborted },
          {
            attempts,
            maxAttempts: plan.maxAttempts,
            delayedRetries,
            now: performance.now(),
            deadline,
            maxRetryDelayMs: rc.maxRetryDelayMs,
            otherKeyAvailable: other !== undefined,
            nextTargetAvailable: chain.hasNext,
            keyRotatedInFlight: key.value() !== keyValue,
          },
        );
        if (d.next === 'give_up') {
          if (d.why === 'aborted') throw (result as Extract<Attempt, { kind: 'error' }>).error;
          break;
        }
        if (d.next === 'same_key') continue;
        if (d.next === 'other_key') {
          excluded.add(key.id);
          if (d.takeOut) {
            ring.setState(key.id, 'failed', `upstream answered ${(result as { status?: number }).status}`);
            keyFailover = key.id;
          } else {
            failOver('key', other?.id);
            keyFailover = other?.id;
          }
          continue;
        }
        if (d.next === 'next_target') {
          chain.advance();
          excluded.clear();
          failOver('model', chain.current);
          continue;
        }
        // A delayed retry of the same kind of target costs budget; the failovers above do not.
        if (!budget.tryRetry()) {
          ex.decisions.push({ stage: 'upstream', action: 'retried', rule: 'retry_budget', detail: 'spent' });
          break;
        }
        delayedRetries += 1;
        ex.decisions.push({
          stage: 'upstream',
          action: 'retried',
          rule: d.source,
          detail: result.kind === 'status' ? String(result.status) : 'connection',
        });
        try {
          await sleep(d.delayMs, undefined, { signal: ex.signal });
        } catch {
          throw upstreamFailure(ex.signal.reason, ex, plan.timeouts); // the client went away
        }
      }

      // No attempt succeeded.
      const degradable =
        last === undefined || last.kind === 'error' || last.status === 429 || last.status >= 500;
      if (plan.degraded && degradable && ex.route.kind === 'messages') {
        ex.decisions.push({ stage: 'upstream', action: 'degraded', rule: 'fallback.degraded' });
        ex.response = degradedResponse(requested ?? 'unknown', plan.degraded.message, ex.stream, ex.id);
        return;
      }
      const retried = attempts > 1;
      if (last?.kind === 'status') {
        const headers = downstreamResponseHeaders(last.headers, ex.id);
        if (retried) headers['x-should-retry'] = 'false';
        ex.response = { status: last.status, headers, body: last.body };
        return;
      }
      if (last?.kind === 'error') {
        throw retried ? withHeaders(last.error, { 'x-should-retry': 'false' }) : last.error;
      }
      if (openRetryAfterMs !== undefined) {
        throw new GantryError(
          'upstream_unavailable',
          'The upstream is failing for this model and the circuit breaker is open; retry later.',
          { headers: { 'retry-after': String(Math.max(1, Math.ceil(openRetryAfterMs / 1000))) } },
        );
      }
      throw noKey();
    },
    complete(ex) {
      ex.upstream.release?.();
    },
    async close() {
      health.close();
      // In-flight requests already had the drain timeout: wait briefly for the pool to
      // close cleanly, then destroy it so nothing abandoned can hold shutdown open.
      await Promise.race([pool.close(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      await pool.destroy().catch(() => undefined);
    },
  };

  /** Turns a successful attempt into `ex.response` (relayed as it arrives). */
  async function respond(
    ex: Exchange,
    a: Extract<Attempt, { kind: 'ok' }>,
    keyFailover?: string,
  ): Promise<void> {
    const { res } = a;
    const headers = downstreamResponseHeaders(res.headers, ex.id);
    if (ex.requestedModel !== undefined && ex.model !== ex.requestedModel) {
      headers['gantry-fallback'] = String(ex.model);
    } else if (keyFailover !== undefined) {
      headers['gantry-fallback'] = `key:${ex.upstream.keyId}`;
    }
    const contentType = String(res.headers['content-type'] ?? '');
    const body = res.body as unknown as Readable;
    if (contentType.startsWith('text/event-stream')) {
      const events = {};
      ex.response = { status: res.statusCode, headers, body: relaySse(body, ex, events, a.done), events };
      return;
    }
    const length = Number(res.headers['content-length']);
    const small = Number.isSafeInteger(length) && length <= BUFFER_LIMIT;
    if (small || (BATCH_OBJECT_ROUTES.has(ex.route.kind) && contentType.includes('json'))) {
      // A whole answer of known, small size (every non-streaming Message): read it, then send it
      // in one write with its headers. The client cannot use half a JSON body, and an upstream
      // failure while reading becomes a clean error instead of a cut response.
      let buf: Buffer;
      try {
        buf = await readAll(body, ex);
      } finally {
        a.done();
      }
      if (BATCH_OBJECT_ROUTES.has(ex.route.kind)) {
        const rewritten = rewriteResultsUrls(buf, upstreamBase, publicBase);
        if (rewritten !== buf) headers['content-length'] = String(rewritten.length);
        ex.response = { status: res.statusCode, headers, body: rewritten };
        return;
      }
      tapWholeBatchResults(ex, buf);
      const json = contentType.includes('json') ? readMessage(ex, buf) : undefined;
      ex.response =
        json === undefined
          ? { status: res.statusCode, headers, body: buf }
          : { status: res.statusCode, headers, body: buf, json };
      return;
    }
    ex.response = {
      status: res.statusCode,
      headers,
      body: relayBody(body, ex, contentType.includes('json'), a.done),
    };
  }
}

function withHeaders(err: GantryError, headers: Record<string, string>): GantryError {
  return new GantryError(err.code, err.message, {
    cause: err.cause,
    headers: { ...err.headers, ...headers },
    details: err.details,
  });
}

function errorTypeOf(buf: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(buf.toString('utf8')) as { error?: { type?: unknown } };
    return typeof parsed.error?.type === 'string' ? parsed.error.type : 'unknown';
  } catch {
    return 'unknown';
  }
}
