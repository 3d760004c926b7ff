/**
 * `ModelInfo` objects of the Models API (§1.2, SDK 1.14.0 shape), built once
 * from the catalog. Capabilities are derived from the catalog's thinking rules
 * and the model generation; they are plausible, not confirmed per model.
 */
import { type ApiLifecycle, apiLifecycle, listModels, type ModelEntry } from '../anthropic/models.ts';

const yes = { supported: true } as const;
const no = { supported: false } as const;
const s = (b: boolean) => (b ? yes : no);

function capabilities(m: ModelEntry): Record<string, unknown> {
  const modern = m.created_at >= '2025-05-22';
  const effort = m.created_at >= '2025-11-24';
  const xhigh = m.created_at >= '2026-04-16';
  const thinkingSupported = m.thinking.enabled || m.thinking.adaptive;
  return {
    batch: yes,
    citations: s(m.created_at >= '2024-06-20'),
    code_execution: s(modern),
    context_management: {
      supported: modern,
      clear_thinking_20251015: s(modern),
      clear_tool_uses_20250919: s(modern),
      compact_20260112: s(m.created_at >= '2026-02-05'),
    },
    effort: {
      supported: effort,
      low: s(effort),
      medium: s(effort),
      high: s(effort),
      xhigh: s(xhigh),
      max: s(effort),
    },
    image_input: s(m.created_at >= '2024-02-29'),
    pdf_input: s(m.created_at >= '2024-10-22'),
    server_tools: { supported: modern, code_execution: s(modern), web_search: s(modern) },
    structured_outputs: s(m.created_at >= '2025-09-29'),
    thinking: {
      supported: thinkingSupported,
      types: {
        adaptive: s(m.thinking.adaptive),
        enabled: s(m.thinking.enabled),
        disabled: s(m.thinking.disabled),
        between_tools: s(m.thinking.adaptive),
      },
    },
  };
}

export interface ModelInfo {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
  max_input_tokens: number | null;
  max_tokens: number | null;
  capabilities: Record<string, unknown>;
  lifecycle: ApiLifecycle;
  deprecated_at: string | null;
  retires_at: string | null;
  line: string | null;
}

function modelInfo(m: ModelEntry): ModelInfo {
  const lifecycle = apiLifecycle(m);
  return {
    type: 'model',
    id: m.id,
    display_name: m.display_name,
    created_at: m.created_at,
    max_input_tokens: m.context_window,
    max_tokens: m.max_output,
    capabilities: capabilities(m),
    lifecycle,
    // The API populates deprecated_at for deprecated and retired models; null when the date is unknown.
    deprecated_at: lifecycle === 'active' ? null : m.deprecated_at,
    retires_at: lifecycle === 'active' ? null : m.retires_at,
    line: m.line,
  };
}

/** Every ModelInfo, newest first. */
export const MODEL_INFOS: readonly ModelInfo[] = listModels().map(modelInfo);
const BY_ID = new Map(MODEL_INFOS.map((i) => [i.id, i]));

export function modelInfoById(id: string): ModelInfo | undefined {
  return BY_ID.get(id);
}

export const API_LIFECYCLES: readonly ApiLifecycle[] = ['active', 'deprecated', 'retired'];
