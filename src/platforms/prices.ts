/**
 * Prices of Claude per platform, as data: what each platform charges relative
 * to the catalog's list prices (src/anthropic/models.ts), and where a
 * regional endpoint costs more.
 *
 * - Claude API (`anthropic`): the catalog's prices (and its own modifiers:
 *   batch, `inference_geo: "us"`).
 * - Amazon Bedrock and Google Cloud Vertex AI list Claude at the same per-token
 *   prices as the Claude API for global endpoints (a `global.` inference
 *   profile on Bedrock, region `global` on Vertex). From Claude Sonnet 4.5 on,
 *   regional endpoints (in-region ids and geographic profiles on Bedrock, any
 *   region but `global` on Vertex) cost 10 % more; older models have one price
 *   everywhere.
 * - `overrides`: a model a platform lists at other prices (none known today).
 *
 * The cost module applies these to every row a platform served
 * (`costOf(…, { servedBy })`); docs/platforms.md has the table.
 */
import { type ModelPrices, resolveModel } from '../anthropic/models.ts';
import { platformModelRow } from './models.ts';

export type PlatformName = 'anthropic' | 'bedrock' | 'vertex';
export const PLATFORM_NAMES: readonly PlatformName[] = ['anthropic', 'bedrock', 'vertex'];

/** Where a request was served: the platform, its region, and whether through a global endpoint. */
export interface ServedBy {
  platform: PlatformName;
  region?: string;
  /** Served by a global endpoint (Bedrock `global.` profile, Vertex region `global`): no regional premium. */
  global?: boolean;
}

export interface PlatformPricing {
  /** Multiplier on every token category at regional endpoints, for models with a regional premium. */
  regionalPremium: { numerator: number; denominator: number } | null;
  /** Per-model prices that differ from the catalog's (USD per MTok), by canonical id. */
  overrides: Readonly<Record<string, ModelPrices>>;
  source: string;
}

const PLATFORM_PRICING: Readonly<Record<PlatformName, PlatformPricing>> = {
  anthropic: { regionalPremium: null, overrides: {}, source: 'the model catalog (src/anthropic/models.ts)' },
  bedrock: {
    regionalPremium: { numerator: 11, denominator: 10 },
    overrides: {},
    source: 'Claude on Amazon Bedrock: global vs regional endpoints (regional +10 % from Sonnet 4.5)',
  },
  vertex: {
    regionalPremium: { numerator: 11, denominator: 10 },
    overrides: {},
    source: 'Claude on Vertex AI: global vs regional endpoints (regional +10 % from Sonnet 4.5)',
  },
};

/** The multiplier (as an exact fraction) a platform applies to a model's prices. */
export function platformMultiplier(model: string, servedBy: ServedBy | undefined): [number, number] {
  if (!servedBy || servedBy.platform === 'anthropic' || servedBy.global) return [1, 1];
  const premium = PLATFORM_PRICING[servedBy.platform].regionalPremium;
  if (!premium || !hasRegionalPremium(model)) return [1, 1];
  return [premium.numerator, premium.denominator];
}

/** Claude Sonnet 4.5 (released 2025-09-29) and every later model cost more at regional endpoints. */
const PREMIUM_FROM = '2025-09-29';

/** Whether regional endpoints cost more for this model (the table's flag; else by release date). */
export function hasRegionalPremium(model: string): boolean {
  const row = platformModelRow(model);
  if (row) return row.regionalPremium;
  const created = resolveModel(model)?.created_at;
  return created !== undefined && created >= PREMIUM_FROM;
}

/** The platform's own prices for a model, when they differ from the catalog's. */
export function platformPrices(model: string, servedBy: ServedBy | undefined): ModelPrices | undefined {
  return servedBy ? PLATFORM_PRICING[servedBy.platform].overrides[model] : undefined;
}
