/**
 * Model ids as they appear in code and config: the Claude API's own ids and
 * aliases, and the spellings other clients use for the same models —
 * Bedrock (`anthropic.claude-3-5-sonnet-20241022-v2:0`, with a region prefix
 * `us.` / `eu.` …), Vertex (`claude-3-5-sonnet-v2@20241022`), LiteLLM /
 * LangChain prefixes (`anthropic/…`, `anthropic:…`, `bedrock/…`,
 * `vertex_ai/…`). Each is normalised to the API id it names, so the catalog
 * can judge it.
 */
import { resolveModel } from '../anthropic/models.ts';

export interface ModelIdRef {
  /** The id as written. */
  raw: string;
  /** The Claude API id it names (for lookup in the catalog). */
  id: string;
  /** Platform of a platform-specific spelling. */
  platform?: 'bedrock' | 'vertex';
}

/** A Claude model id shape: a family word or a numbered generation; not a prefix like `claude-3`. */
const SHAPE =
  /^claude-(?:(?:\d+(?:[.-]\d+)*-)?(?:opus|sonnet|haiku|instant|fable|mythos)(?:-\d+(?:[.-]\d+)*)?(?:-v\d+)?(?:-(?:\d{8}|latest|preview))?|\d+\.\d+(?:-\d{8})?|v\d(?::\d)?)$/;

const BEDROCK_LEGACY: Record<string, string> = {
  'claude-v2:1': 'claude-2.1',
  'claude-v2': 'claude-2.0',
  'claude-instant-v1': 'claude-instant-1.2',
  'claude-v1': 'claude-1.3',
};

/**
 * The API id a written id names, or undefined when the string is not a Claude
 * model id (prefix checks, channel names, OpenRouter's dotted names, …).
 */
export function normalizeModelId(raw: string): ModelIdRef | undefined {
  let s = raw.trim();
  let platform: ModelIdRef['platform'];
  const prefix = /^(?:openrouter\/)?(anthropic|bedrock|vertex_ai|vertex|anthropic\.bedrock)[/:]/.exec(s);
  if (prefix) {
    if (prefix[1].startsWith('bedrock')) platform = 'bedrock';
    if (prefix[1].startsWith('vertex')) platform = 'vertex';
    s = s.slice(prefix[0].length);
    // OpenRouter / other gateways write `anthropic/claude-3.5-sonnet`: not an Anthropic API id, not judged.
    if (prefix[1] === 'anthropic' && /^claude-\d+\.\d+-[a-z]/.test(s)) return undefined;
  }
  const bedrock =
    /^(?:(?:us|eu|apac|global|jp|au|ca|us-gov)\.)?anthropic\.(claude-[a-z0-9.-]+?)(?:-v\d+(?::\d+)?)?$/.exec(
      s,
    );
  if (bedrock) {
    platform = 'bedrock';
    const base = bedrock[1];
    const legacy = BEDROCK_LEGACY[s.replace(/^(?:[a-z-]+\.)?anthropic\./, '')];
    s = legacy ?? base;
  } else if (/^(?:(?:us|eu|apac|global)\.)?anthropic\.claude/.test(s)) {
    const legacy = BEDROCK_LEGACY[s.replace(/^(?:[a-z-]+\.)?anthropic\./, '')];
    if (!legacy) return undefined;
    platform = 'bedrock';
    s = legacy;
  }
  const vertex = /^(claude-[a-z0-9.-]+?)(?:-v\d+)?@(\d{8})$/.exec(s);
  if (vertex) {
    platform = 'vertex';
    s = `${vertex[1]}-${vertex[2]}`;
  }
  if (!s.startsWith('claude-')) return undefined;
  if (resolveModel(s)) return { raw, id: s, platform };
  if (!SHAPE.test(s)) return undefined;
  return { raw, id: s, platform };
}

/** Id-looking tokens in a line of a config file (YAML, JSON, TOML, env): values and keys. */
const TOKEN =
  /(?:^|[\s"'`=:,[({/])((?:(?:openrouter\/)?(?:anthropic|bedrock|vertex_ai)[/:])?(?:(?:us|eu|apac|global|jp|au)\.)?(?:anthropic\.)?claude-[A-Za-z0-9.:@_-]+)/g;

/** Model ids written in one line of a config file; comment lines are skipped. */
export function modelIdsInLine(text: string, file: string): ModelIdRef[] {
  const trimmed = text.trim();
  if (/^(#|\/\/|;)/.test(trimmed)) return [];
  const isEnvOrYaml = /(^|\/)\.env|\.(ya?ml|toml)$/.test(file);
  const body = isEnvOrYaml ? trimmed.replace(/\s+#.*$/, '') : trimmed;
  const out: ModelIdRef[] = [];
  for (const m of body.matchAll(TOKEN)) {
    const cand = m[1].replace(/[.,:]+$/, '');
    const ref = normalizeModelId(cand);
    if (ref) out.push(ref);
  }
  return out;
}

/** Config files whose model ids are read (code files are read through their string literals). */
export const MODEL_CONFIG_FILES = /(^|\/)\.env(\.[\w.-]+)?$|\.(ya?ml|json|toml)$/;

/** Lock files and notebooks are not configuration. */
export const NOT_MODEL_CONFIG =
  /(^|\/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|composer\.lock|Pipfile\.lock|poetry\.lock|uv\.lock|bun\.lock)$|\.ipynb$|(^|\/)(tsconfig|jsconfig)[^/]*\.json$/;
