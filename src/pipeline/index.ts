/**
 * The pipeline: one ordered list of stages. The order is data; read it top to
 * bottom to know what happens to a request. Stages that later issues add
 * (policy, safety.input, admit, safety.output, account) slot in by name at
 * their place in this list.
 */

import { metrics } from '../observe/stage.ts';
import { account } from './account.ts';
import { admit } from './admit.ts';
import { authenticate } from './authenticate.ts';
import { observe } from './observe.ts';
import { policy } from './policy.ts';
import { safetyInput } from './safety-input.ts';
import { safetyOutput } from './safety-output.ts';
import type { Stage, StageContext, StageFactory } from './stage.ts';
import { upstream } from './upstream.ts';
import { validate } from './validate.ts';

export const STAGES: ReadonlyArray<readonly [name: string, factory: StageFactory]> = [
  ['authenticate', authenticate], // virtual key -> client, environment, customer
  ['validate', validate], // body shape; reads model and stream
  ['policy', policy], // catalog check, allow-list, aliases, routing, max_tokens, prompt caching
  ['safety.input', safetyInput], // input limits, prompt-injection heuristics, input moderation
  ['admit', admit], // rate limits and budgets: 429 / 402, gantry-ratelimit-* headers, reservations
  ['upstream', upstream], // forward over the keep-alive pool; relay and tap the answer
  ['safety.output', safetyOutput], // secrets, PII, system-prompt leaks in answers and streams
  ['account', account], // price the usage, write the ledger row (off the request path)
  ['metrics', metrics], // Prometheus metrics, latency windows, alert engine feed, trace span
  ['observe', observe], // one redacted log line per request
];

export async function buildPipeline(ctx: StageContext): Promise<Stage[]> {
  const stages: Stage[] = [];
  for (const [, factory] of STAGES) stages.push(await factory(ctx));
  return withRespondHooks(stages);
}

/**
 * Makes each stage's `request` run the `respond` hooks of the stages after it
 * once it has set `ex.response`, so output filters see every response whichever
 * stage produced it, without the transport knowing about them.
 */
function withRespondHooks(stages: Stage[]): Stage[] {
  return stages.map((stage, i) => {
    const later = stages.slice(i + 1).filter((s) => s.respond);
    if (!stage.request || later.length === 0) return stage;
    return {
      name: stage.name,
      head: stage.head?.bind(stage),
      request: async (ex) => {
        await stage.request!(ex);
        if (ex.response) for (const s of later) await s.respond!(ex);
      },
      respond: stage.respond?.bind(stage),
      complete: stage.complete?.bind(stage),
      close: stage.close?.bind(stage),
    };
  });
}

export type { Exchange, ExchangeResponse } from './exchange.ts';
export type { Stage, StageContext } from './stage.ts';
