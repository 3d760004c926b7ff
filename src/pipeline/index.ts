/**
 * The pipeline: one ordered list of stages. The order is data; read it top to
 * bottom to know what happens to a request. `buildPipeline` runs each factory
 * once and compiles the hooks per client (`Pipeline.forClient`), so what a
 * client does not use costs it nothing per request.
 */

import { metrics } from '../observe/stage.ts';
import { account } from './account.ts';
import { admit } from './admit.ts';
import { authenticate } from './authenticate.ts';
import type { Exchange, ExchangeClient } from './exchange.ts';
import { observe } from './observe.ts';
import { policy } from './policy.ts';
import type { ExchangeRecord } from './record.ts';
import { safetyInput } from './safety-input.ts';
import { safetyOutput } from './safety-output.ts';
import type { Stage, StageContext, StageFactory, StageHooks } from './stage.ts';
import { upstream } from './upstream/index.ts';
import { validate } from './validate.ts';

export const STAGES: ReadonlyArray<readonly [name: string, factory: StageFactory]> = [
  ['authenticate', authenticate], // virtual key -> client, environment, customer
  ['validate', validate], // body shape; reads model and stream
  ['policy', policy], // catalog check, allow-list, aliases, routing, max_tokens, prompt caching
  ['safety.input', safetyInput], // input limits, prompt-injection heuristics, input moderation
  ['admit', admit], // rate limits and budgets: 429 / 402, gantry-ratelimit-* headers, reservations
  ['upstream', upstream], // concurrency, fallback, keys, breaker, retry, send; relay and tap the answer
  ['safety.output', safetyOutput], // secrets, PII, system-prompt leaks in answers and streams
  ['account', account], // ledger row per exchange (off the request path), invariant alarms
  ['metrics', metrics], // Prometheus metrics, latency windows, alert engine feed, trace span
  ['observe', observe], // one redacted log line per request
];

type Hook = (ex: Exchange) => void | Promise<void>;

/** The hooks one client's exchanges run, in stage order, with nothing the client does not use. */
export interface ClientPipeline {
  /** `request` hooks; a hook that sets `ex.response` runs the later stages' `respond` hooks itself. */
  readonly request: readonly Hook[];
  readonly complete: ReadonlyArray<(ex: Exchange) => void>;
  readonly observe: ReadonlyArray<(record: ExchangeRecord) => void>;
}

export interface Pipeline {
  readonly stages: readonly Stage[];
  /** Hooks that run before the body is read (authenticate). */
  readonly head: readonly Hook[];
  /** The compiled hooks of `client` (by name); `undefined`: an exchange never authenticated. */
  forClient(client: ExchangeClient | undefined): ClientPipeline;
}

export async function buildPipeline(ctx: StageContext): Promise<Pipeline> {
  const stages: Stage[] = [];
  for (const [, factory] of STAGES) stages.push(await factory(ctx));
  const head = stages.filter((s) => s.head).map((s) => s.head!.bind(s));

  const compiled = new Map<string, ClientPipeline>();
  const anonymous = compile(stages, undefined);
  const forClient = (client: ExchangeClient | undefined): ClientPipeline => {
    if (client === undefined) return anonymous;
    let p = compiled.get(client.name);
    if (!p) {
      p = compile(stages, client);
      compiled.set(client.name, p);
    }
    return p;
  };
  // Configured clients are compiled at start-up (local mode's client on first use).
  for (const c of ctx.config.clients) forClient({ name: c.name, environment: c.environment });
  return { stages, head, forClient };
}

/** A stage's hooks for one client: its `forClient` answer, else its own hooks. */
function hooksOf(stage: Stage, client: ExchangeClient | undefined): StageHooks | undefined {
  if (stage.forClient) return stage.forClient(client);
  return stage;
}

function bound<K extends keyof StageHooks>(
  hooks: StageHooks,
  name: K,
): NonNullable<StageHooks[K]> | undefined {
  const fn = hooks[name];
  return fn ? (fn.bind(hooks) as NonNullable<StageHooks[K]>) : undefined;
}

/**
 * Compiles one client's hooks. A `request` hook that can set `ex.response` is
 * followed by the `respond` hooks of the stages after it (output filters see
 * every response, whichever stage produced it); a stage with no later
 * `respond` hook runs bare.
 */
export function compile(stages: readonly Stage[], client: ExchangeClient | undefined): ClientPipeline {
  const all = stages.map((s) => hooksOf(s, client) ?? {});
  const request: Hook[] = [];
  const complete: Array<(ex: Exchange) => void> = [];
  const observe: Array<(record: ExchangeRecord) => void> = [];
  all.forEach((hooks, i) => {
    const req = bound(hooks, 'request');
    if (req) {
      const later = all.slice(i + 1).flatMap((h) => {
        const r = bound(h, 'respond');
        return r ? [r] : [];
      });
      request.push(
        later.length === 0
          ? req
          : async (ex) => {
              await req(ex);
              if (ex.response) for (const r of later) await r(ex);
            },
      );
    }
    const done = bound(hooks, 'complete');
    if (done) complete.push(done);
    const seen = bound(hooks, 'observe');
    if (seen) observe.push(seen);
  });
  return { request, complete, observe };
}

export type { Exchange, ExchangeResponse } from './exchange.ts';
export type { Stage, StageContext } from './stage.ts';
