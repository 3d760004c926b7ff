/**
 * The pipeline: one ordered list of stages. The order is data; read it top to
 * bottom to know what happens to a request. Stages that later issues add
 * (policy, safety.input, admit, safety.output, account) slot in by name at
 * their place in this list.
 */
import { admit } from './admit.ts';
import { authenticate } from './authenticate.ts';
import { observe } from './observe.ts';
import type { Stage, StageContext, StageFactory } from './stage.ts';
import { upstream } from './upstream.ts';
import { validate } from './validate.ts';

export const STAGES: ReadonlyArray<readonly [name: string, factory: StageFactory]> = [
  ['authenticate', authenticate], // virtual key -> client, environment, customer
  ['validate', validate], // body shape; reads model and stream
  ['admit', admit], // rate limits and budgets: 429 / 402, gantry-ratelimit-* headers, reservations
  ['upstream', upstream], // forward over the keep-alive pool; relay and tap the answer
  ['observe', observe], // one redacted log line per request
];

export async function buildPipeline(ctx: StageContext): Promise<Stage[]> {
  const stages: Stage[] = [];
  for (const [, factory] of STAGES) stages.push(await factory(ctx));
  return stages;
}

export type { Exchange, ExchangeResponse } from './exchange.ts';
export type { Stage, StageContext } from './stage.ts';
