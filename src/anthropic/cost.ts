/**
 * Cost of one request in integer micro-dollars (1 µ$ = 1e-6 USD), from the
 * usage reducer's `Usage` and the catalog's prices (USD per million tokens).
 *
 * Since a price in USD per million tokens is exactly µ$ per token, the cost is
 * Σ tokens × price. Prices have at most three decimals (0.125, 0.01), so the
 * sum is kept exactly in nano-dollars (integers) and rounded once, half up,
 * to micro-dollars at the end: never per token category, never per event.
 *
 * Categories (never double counted; `input_tokens` already excludes cached
 * tokens, §5.3): input × input price, 5 m cache writes × 5 m write price, 1 h
 * cache writes × 1 h write price, cache reads × read price, output × output
 * price. Modifiers: Batch halves everything (§9.2 — the multipliers stack);
 * `inference_geo: "us"` costs 1.1× on Claude 4.6+; a model's long-prompt band
 * (prompt = input + cache reads + writes above the threshold) reprices every
 * token of the request.
 */
import {
  hasRegionalPremium,
  platformMultiplier,
  platformPrices,
  type ServedBy,
} from '../platforms/prices.ts';
import { type ModelEntry, type ModelPrices, resolveModel } from './models.ts';
import type { Usage } from './usage.ts';

export interface CostOptions {
  /** The request ran through the Message Batches API (50 % off). */
  batch?: boolean;
  /** The platform (and region) that served it: its prices and regional premium (src/platforms/prices.ts). */
  servedBy?: ServedBy;
}

export interface Cost {
  /** Total, integer micro-dollars. */
  micros: number;
  /** False when the model is unknown or a price needed for a non-zero category is missing. */
  priced: boolean;
  /** Canonical model id, when the model is in the catalog. */
  model?: string;
}

const NANO_PER_MICRO = 1000;

/** Price (USD per MTok) in nano-dollars per token, exact for prices with up to three decimals. */
export const nano = (price: number): number => Math.round(price * NANO_PER_MICRO);

/** Prompt tokens of a request for the long-prompt band: input + cache reads + writes. */
const promptTokens = (u: Usage): number =>
  u.inputTokens + u.cacheReadInputTokens + u.cacheCreation5mInputTokens + u.cacheCreation1hInputTokens;

function pricesFor(entry: ModelEntry, u: Usage): ModelPrices {
  const band = entry.long_prompt;
  return band && promptTokens(u) > band.above_prompt_tokens ? band.prices : entry.prices;
}

/** The cost of `usage` on `model` (id or alias). */
export function costOf(
  usage: Usage,
  model: string | ModelEntry | undefined,
  options: CostOptions = {},
): Cost {
  const entry = typeof model === 'string' ? resolveModel(model) : model;
  if (!entry) return { micros: 0, priced: false };
  const p = platformPrices(entry.id, options.servedBy) ?? pricesFor(entry, usage);
  let priced = true;
  let total = 0; // nano-dollars
  const add = (tokens: number, price: number | null) => {
    if (tokens <= 0) return;
    if (price === null) {
      priced = false;
      return;
    }
    total += tokens * nano(price);
  };
  add(usage.inputTokens, p.input);
  add(usage.cacheCreation5mInputTokens, p.cache_write_5m);
  add(usage.cacheCreation1hInputTokens, p.cache_write_1h);
  add(usage.cacheReadInputTokens, p.cache_read);
  add(usage.outputTokens, p.output);
  // Modifiers multiply exactly in integers: ×1/2 for batch, ×11/10 for US residency.
  let numerator = 1;
  let denominator = 1;
  if (options.batch || usage.serviceTier === 'batch') denominator *= 2;
  if (usage.inferenceGeo === 'us' && !entry.prefill) {
    numerator *= 11;
    denominator *= 10;
  }
  const [platformN, platformD] = platformMultiplier(entry.id, options.servedBy);
  numerator *= platformN;
  denominator *= platformD;
  const micros = roundHalfUp(total * numerator, denominator * NANO_PER_MICRO);
  return { micros, priced, model: entry.id };
}

/**
 * Worst-case cost of a request before it runs, for budget reservations: every
 * estimated input token at the highest input-side price the request could be
 * charged (a 1 h cache write), plus `max_tokens` of output.
 */
export function worstCaseCostMicros(
  model: string | ModelEntry | undefined,
  estimatedInputTokens: number,
  maxTokens: number,
  options: CostOptions = {},
): number | undefined {
  const entry = typeof model === 'string' ? resolveModel(model) : model;
  if (!entry) return undefined;
  const band = entry.long_prompt;
  const p = band && estimatedInputTokens > band.above_prompt_tokens ? band.prices : entry.prices;
  const inputPrice = Math.max(p.input ?? 0, p.cache_write_5m ?? 0, p.cache_write_1h ?? 0);
  if (p.output === null || inputPrice === 0) return undefined;
  const total = estimatedInputTokens * nano(inputPrice) + maxTokens * nano(p.output);
  // 1.1: `inference_geo: "us"` on Claude 4.6+, or a platform's regional endpoint (Sonnet 4.5 on):
  // the request may be served either way, so the worst case includes it.
  const premium = !entry.prefill || hasRegionalPremium(entry.id);
  const factor = (options.batch ? 0.5 : 1) * (premium ? 1.1 : 1);
  return Math.ceil((total * factor) / NANO_PER_MICRO);
}

/** a / b rounded half up, for non-negative integers. */
function roundHalfUp(a: number, b: number): number {
  return Math.floor((2 * a + b) / (2 * b));
}

/** Micro-dollars as a USD string with six decimals (`1234567` → `"1.234567"`). */
export function formatUsd(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  return `${sign}${Math.floor(abs / 1e6)}.${String(abs % 1e6).padStart(6, '0')}`;
}
