/**
 * What the checks look at besides rule matches: the Gantry config (if any),
 * whether the app goes through a Gantry gateway, and where to anchor
 * findings that have no code line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, parseConfig } from '../config/load.ts';
import { configSchema } from '../config/sections.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { Evidence } from './result.ts';
import type { Hit, ScanResult } from './scan.ts';

export interface GantryConfigInfo {
  file: string;
  text: string;
  /** The YAML as data (sections another version of Gantry adds are still visible here). */
  raw: Record<string, unknown>;
  /** Validated with parseConfig, when it validates. */
  resolved?: ResolvedConfig;
  /** Why parseConfig refused it. */
  invalid?: string;
}

export interface AuditContext {
  scan: ScanResult;
  config?: GantryConfigInfo;
  /** The app calls Claude: SDK imports, clients, messages calls or a Gantry config. */
  usesClaude: boolean;
  /** Evidence that the app's base URL points at a gateway (not api.anthropic.com). */
  gateway: Evidence[];
  /** File to anchor project-wide findings to (config or manifest). */
  anchor?: string;
  now: Date;
  sdkImports: Hit[];
  libraries: Map<string, { lib: string; hit: Hit }[]>;
}

const ANCHORS = ['gantry.yaml', 'package.json', 'pyproject.toml', 'requirements.txt', 'setup.py'];

/** The package a matched import line names (`@scope/pkg`, `pkg`, or a Python top-level module). */
export function moduleOf(hit: Hit): string | undefined {
  const spec = hit.groups?.find((g) => g !== undefined);
  if (!spec) return undefined;
  if (hit.file.endsWith('.py')) return spec.split('.')[0];
  if (spec.startsWith('.') || spec.startsWith('/')) return undefined;
  return spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
}

export function buildContext(
  scan: ScanResult,
  libraries: Record<string, string[]>,
  now = new Date(),
): AuditContext {
  const config = loadGantryConfig(scan);
  const libs = new Map<string, { lib: string; hit: Hit }[]>();
  const sdkImports: Hit[] = [];
  for (const hit of scan.byRule('import')) {
    const mod = moduleOf(hit);
    if (!mod) continue;
    for (const [cap, names] of Object.entries(libraries)) {
      if (!names.includes(mod)) continue;
      if (cap === 'sdk') sdkImports.push(hit);
      const list = libs.get(cap) ?? [];
      list.push({ lib: mod, hit });
      libs.set(cap, list);
    }
  }
  const gateway: Evidence[] = [];
  for (const h of scan.byRule('base-url-env')) {
    const url = h.groups?.[0] ?? '';
    if (!/(^|\/\/|\.)api\.anthropic\.com/.test(url)) {
      gateway.push({ file: h.file, line: h.line, message: `ANTHROPIC_BASE_URL points at ${url}` });
    }
  }
  for (const h of scan.byRule('sdk-client')) {
    const b = h.options?.baseURL;
    if (b && !(b.kind === 'string' && /api\.anthropic\.com/.test(b.value))) {
      gateway.push({ file: h.file, line: b.line, message: `client base URL is ${b.text}` });
    }
  }
  const usesClaude =
    sdkImports.length > 0 ||
    scan.byRule('sdk-client').length > 0 ||
    scan.byRule('messages-call').length > 0 ||
    config !== undefined;
  const anchor =
    ANCHORS.find((f) => scan.files.includes(f)) ??
    scan.files.find((f) => /(^|\/)(package\.json|pyproject\.toml)$/.test(f));
  return { scan, config, usesClaude, gateway, anchor, now, sdkImports, libraries: libs };
}

function loadGantryConfig(scan: ScanResult): GantryConfigInfo | undefined {
  const file = scan.files.includes('gantry.yaml')
    ? 'gantry.yaml'
    : scan.files
        .filter((f) => /(^|\/)gantry\.ya?ml$/.test(f))
        .sort((a, b) => a.split('/').length - b.split('/').length)[0];
  if (!file) return undefined;
  const abs = join(scan.root, file);
  if (!existsSync(abs)) return undefined;
  const text = readFileSync(abs, 'utf8');
  let raw: Record<string, unknown> = {};
  try {
    const parsed = parseYaml(text);
    if (parsed && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  } catch {
    // reported through `invalid` below
  }
  const info: GantryConfigInfo = { file, text, raw };
  try {
    info.resolved = parseConfig(text, { source: file, baseDir: dirname(abs) });
  } catch (err) {
    info.invalid =
      err instanceof ConfigError
        ? err.issues.map((i) => `${i.path || '(file)'}: ${i.message}`).join('; ')
        : String(err);
    // Sections this version does not know (added by a newer Gantry) should not hide the rest.
    const known = Object.keys(configSchema.shape);
    const unknown = Object.keys(raw).filter((k) => !known.includes(k));
    if (unknown.length > 0 && err instanceof ConfigError) {
      const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => known.includes(k)));
      try {
        info.resolved = parseConfig(stringifyYaml(rest), { source: file, baseDir: dirname(abs) });
        info.invalid = `sections not known to this version, read as data only: ${unknown.join(', ')}`;
      } catch {
        // keep the first error
      }
    }
  }
  return info;
}

/** 1-based line of `key:` in the config text (the last segment of a dotted path), when found. */
export function configLine(info: GantryConfigInfo, path: string): number | undefined {
  const segments = path.split('.');
  const lines = info.text.split('\n');
  let from = 0;
  let found: number | undefined;
  for (const seg of segments) {
    const re = new RegExp(`^\\s*-?\\s*${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`);
    const idx = lines.findIndex((l, i) => i >= from && re.test(l));
    if (idx < 0) return found;
    found = idx + 1;
    from = idx + 1;
  }
  return found;
}

/** A value at a dotted path in the raw config. */
export function configValue(info: GantryConfigInfo | undefined, path: string): unknown {
  let cur: unknown = info?.raw;
  for (const seg of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}
