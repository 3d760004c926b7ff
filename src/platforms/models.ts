/**
 * Model ids of Claude on each cloud platform: the catalog id a client sends
 * (`claude-sonnet-4-5`) and the id the platform names it by (Bedrock
 * `anthropic.claude-sonnet-4-5-20250929-v1:0`, or a cross-region inference
 * profile `global.anthropic.…`; Vertex `claude-sonnet-4-5@20250929`).
 *
 * Data first, lookups after. The table lists what the platforms' model pages
 * list for Bedrock's `InvokeModel` API and Vertex's `rawPredict` (Claude Opus
 * 4.6 and earlier); a model a platform does not list here is not offered there
 * unless an environment maps it (`environments.<name>.bedrock.models`,
 * `….vertex.models`), so a newer model reaches a platform by configuration the
 * day the platform lists it. docs/platforms.md explains how the table is kept
 * current; a test holds every row to the catalog.
 */
import { resolveModel } from '../anthropic/models.ts';

// Source: platform.claude.com, "Claude on Amazon Bedrock (Opus 4.6 and earlier)" and
// "Claude on Vertex AI" model id tables, read 2026-11-24.

/** Bedrock's cross-region inference profile prefixes. */
export const BEDROCK_PROFILES = ['global', 'us', 'eu', 'jp', 'apac', 'au'] as const;
export type BedrockProfile = (typeof BEDROCK_PROFILES)[number];

export interface PlatformModelRow {
  /** Canonical catalog id. */
  model: string;
  /** Bedrock base model id (in-region on-demand). */
  bedrock?: string;
  /** Cross-region inference profiles Bedrock offers for it (`<profile>.<base id>`). */
  bedrockProfiles?: readonly BedrockProfile[];
  /** Vertex AI publisher model id. */
  vertex?: string;
  /**
   * Regional endpoints cost 10 % more than global ones for this model (Claude
   * Sonnet 4.5 and every later model, on both platforms); older models have one
   * price everywhere.
   */
  regionalPremium: boolean;
}

const ALL: readonly BedrockProfile[] = ['global', 'us', 'eu', 'jp', 'apac'];
const GEO: readonly BedrockProfile[] = ['us', 'eu', 'apac'];

export const PLATFORM_MODELS: readonly PlatformModelRow[] = [
  {
    model: 'claude-opus-4-6',
    bedrock: 'anthropic.claude-opus-4-6-v1',
    bedrockProfiles: ALL,
    vertex: 'claude-opus-4-6',
    regionalPremium: true,
  },
  {
    model: 'claude-sonnet-4-6',
    bedrock: 'anthropic.claude-sonnet-4-6',
    bedrockProfiles: ['global', 'us', 'eu', 'jp'],
    vertex: 'claude-sonnet-4-6',
    regionalPremium: true,
  },
  {
    model: 'claude-opus-4-5-20251101',
    bedrock: 'anthropic.claude-opus-4-5-20251101-v1:0',
    bedrockProfiles: ['global', 'us', 'eu'],
    vertex: 'claude-opus-4-5@20251101',
    regionalPremium: true,
  },
  {
    model: 'claude-haiku-4-5-20251001',
    bedrock: 'anthropic.claude-haiku-4-5-20251001-v1:0',
    bedrockProfiles: ALL,
    vertex: 'claude-haiku-4-5@20251001',
    regionalPremium: true,
  },
  {
    model: 'claude-sonnet-4-5-20250929',
    bedrock: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
    bedrockProfiles: ALL,
    vertex: 'claude-sonnet-4-5@20250929',
    regionalPremium: true,
  },
  {
    model: 'claude-opus-4-1-20250805',
    bedrock: 'anthropic.claude-opus-4-1-20250805-v1:0',
    bedrockProfiles: ['us'],
    vertex: 'claude-opus-4-1@20250805',
    regionalPremium: false,
  },
  {
    model: 'claude-opus-4-20250514',
    bedrock: 'anthropic.claude-opus-4-20250514-v1:0',
    bedrockProfiles: ['us'],
    vertex: 'claude-opus-4@20250514',
    regionalPremium: false,
  },
  {
    model: 'claude-sonnet-4-20250514',
    bedrock: 'anthropic.claude-sonnet-4-20250514-v1:0',
    bedrockProfiles: ['global', ...GEO],
    vertex: 'claude-sonnet-4@20250514',
    regionalPremium: false,
  },
  {
    model: 'claude-3-7-sonnet-20250219',
    bedrock: 'anthropic.claude-3-7-sonnet-20250219-v1:0',
    bedrockProfiles: GEO,
    vertex: 'claude-3-7-sonnet@20250219',
    regionalPremium: false,
  },
  {
    model: 'claude-3-5-haiku-20241022',
    bedrock: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    bedrockProfiles: ['us'],
    vertex: 'claude-3-5-haiku@20241022',
    regionalPremium: false,
  },
  {
    model: 'claude-3-haiku-20240307',
    bedrock: 'anthropic.claude-3-haiku-20240307-v1:0',
    bedrockProfiles: GEO,
    vertex: 'claude-3-haiku@20240307',
    regionalPremium: false,
  },
];

// ---- lookups ----

const BY_MODEL = new Map(PLATFORM_MODELS.map((r) => [r.model, r]));

/** The table row of a catalog model (id or alias). */
export function platformModelRow(model: string): PlatformModelRow | undefined {
  return BY_MODEL.get(resolveModel(model)?.id ?? model);
}

/** How one environment names models on Bedrock. */
export interface BedrockNaming {
  /** Cross-region inference profile to use where the model offers it; `none`: the in-region base id. */
  inferenceProfile: BedrockProfile | 'none';
  /** Catalog id → Bedrock model id (or an inference profile id or ARN), ahead of the table. */
  models?: Readonly<Record<string, string>>;
}

/** The Bedrock model id to invoke for a catalog model, or undefined when Bedrock does not offer it. */
export function bedrockModelId(model: string, naming: BedrockNaming): string | undefined {
  const canonical = resolveModel(model)?.id ?? model;
  const mapped = naming.models?.[canonical] ?? naming.models?.[model];
  if (mapped !== undefined) return mapped;
  const row = BY_MODEL.get(canonical);
  if (!row?.bedrock) return undefined;
  const p = naming.inferenceProfile;
  return p !== 'none' && row.bedrockProfiles?.includes(p) ? `${p}.${row.bedrock}` : row.bedrock;
}

/** Whether a Bedrock model id is served globally (a `global.` inference profile): list price. */
export const bedrockIsGlobal = (bedrockId: string): boolean => bedrockId.startsWith('global.');

/** The Vertex publisher model id for a catalog model, or undefined when Vertex does not offer it. */
export function vertexModelId(model: string, models?: Readonly<Record<string, string>>): string | undefined {
  const canonical = resolveModel(model)?.id ?? model;
  return models?.[canonical] ?? models?.[model] ?? BY_MODEL.get(canonical)?.vertex;
}

const REVERSE = {
  bedrock: new Map<string, string>(),
  vertex: new Map<string, string>(),
};
for (const r of PLATFORM_MODELS) {
  if (r.bedrock) {
    REVERSE.bedrock.set(r.bedrock, r.model);
    for (const p of r.bedrockProfiles ?? []) REVERSE.bedrock.set(`${p}.${r.bedrock}`, r.model);
  }
  if (r.vertex) REVERSE.vertex.set(r.vertex, r.model);
}

/**
 * The catalog model a platform id stands for (the simulator's reading of a
 * request path), or undefined for an id not in the table.
 */
export function catalogModelOf(platform: 'bedrock' | 'vertex', platformId: string): string | undefined {
  return REVERSE[platform].get(platformId);
}
