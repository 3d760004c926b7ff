/**
 * What the checks look at: the scan's text hits, the Gantry config (if any),
 * the code model (project, call graph, values, scopes), every place the code
 * talks to Claude (clients/recognise.ts), the model ids it names (code and
 * config files), whether the app is a server, whether it goes through a
 * Gantry gateway, and where to anchor findings that have no code line.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, parseConfig } from '../config/load.ts';
import { configSchema } from '../config/sections.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { type Recognition, recognise } from './clients/recognise.ts';
import { readOption } from './clients/site.ts';
import { CallGraph } from './code/callgraph.ts';
import { isTestFile, Project } from './code/project.ts';
import { Scopes } from './code/scope.ts';
import { Evaluator } from './code/values.ts';
import {
  MODEL_CONFIG_FILES,
  type ModelIdRef,
  modelIdsInLine,
  NOT_MODEL_CONFIG,
  normalizeModelId,
} from './model-ids.ts';
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

export interface ModelIdHit extends ModelIdRef {
  file: string;
  line: number;
  test: boolean;
}

export interface ServerInfo {
  /** An HTTP server the app defines routes on (Express, Next.js, FastAPI, Flask, …). */
  http: Evidence | undefined;
  /** A long-running process whose stdout is a log: HTTP servers, bots, serverless handlers, Streamlit. */
  process: Evidence | undefined;
}

export interface AuditContext {
  scan: ScanResult;
  config?: GantryConfigInfo;
  project: Project;
  graph: CallGraph;
  ev: Evaluator;
  scopes: Scopes;
  claude: Recognition;
  /** The app calls Claude (production code) or has a Gantry config. */
  usesClaude: boolean;
  /** Evidence that the app's base URL points at a gateway (not api.anthropic.com). */
  gateway: Evidence[];
  /** File to anchor project-wide findings to (config or manifest). */
  anchor?: string;
  now: Date;
  /** Libraries imported by production code, by capability (rules.yaml `libraries`). */
  libraries: Map<string, { lib: string; hit: Hit }[]>;
  server: ServerInfo;
  modelIds: ModelIdHit[];
  envFiles: Map<string, string>;
}

const ANCHORS = ['gantry.yaml', 'package.json', 'pyproject.toml', 'requirements.txt', 'setup.py'];

/** The package a matched import line names (`@scope/pkg`, `pkg`, or a Python top-level module). */
function moduleOf(hit: Hit): string | undefined {
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
  const project = new Project(scan.root, scan.files, scan.texts);
  const envFiles = readEnvFiles(project);
  const graph = new CallGraph(project);
  const ev = new Evaluator(project, graph, envFiles);
  const scopes = new Scopes(project, graph);
  const libs = new Map<string, { lib: string; hit: Hit }[]>();
  for (const hit of scan.byRule('import')) {
    if (isTestFile(hit.file)) continue;
    const mod = moduleOf(hit);
    if (!mod) continue;
    const full = hit.groups?.find((g) => g !== undefined) ?? mod;
    for (const [cap, names] of Object.entries(libraries)) {
      if (!names.includes(mod) && !names.includes(full)) continue;
      const list = libs.get(cap) ?? [];
      list.push({ lib: names.includes(full) ? full : mod, hit });
      libs.set(cap, list);
    }
  }
  const modelIds = collectModelIds(project);
  const claudeNamed = modelIds.some((m) => !m.test) || scan.byRule('key-variable').length > 0;
  const claude = recognise(project, graph, ev, claudeNamed);
  const gateway: Evidence[] = [];
  for (const h of scan.byRule('base-url-env')) {
    const url = h.groups?.[0] ?? '';
    if (!/(^|\/\/|\.)api\.anthropic\.com/.test(url))
      gateway.push({ file: h.file, line: h.line, message: `ANTHROPIC_BASE_URL points at ${url}` });
  }
  for (const c of claude.clients) {
    if (c.style !== 'sdk') continue;
    const b = readOption(ev, c, ['baseURL', 'base_url']);
    if (b.state !== 'set') continue;
    const v = b.value;
    if (!(v.kind === 'string' && /api\.anthropic\.com/.test(v.value)) && v.kind !== 'null')
      gateway.push({ file: c.file, line: v.at.line, message: `client base URL is ${v.at.text}` });
  }
  const usesClaude = claude.usesClaude || config !== undefined;
  const anchor =
    ANCHORS.find((f) => scan.files.includes(f)) ??
    scan.files.find((f) => /(^|\/)(package\.json|pyproject\.toml)$/.test(f));
  return {
    scan,
    config,
    project,
    graph,
    ev,
    scopes,
    claude,
    usesClaude,
    gateway,
    anchor,
    now,
    libraries: libs,
    server: detectServer(project, scan),
    modelIds,
    envFiles,
  };
}

/** Every model id the repository names: string literals in code, values and keys in config files. */
function collectModelIds(project: Project): ModelIdHit[] {
  const out: ModelIdHit[] = [];
  for (const file of project.files) {
    const test = isTestFile(file);
    if (MODEL_CONFIG_FILES.test(file) && !NOT_MODEL_CONFIG.test(file)) {
      const text = project.text(file);
      if (!text || !/claude/.test(text)) continue;
      text.split('\n').forEach((l, i) => {
        for (const ref of modelIdsInLine(l, file)) out.push({ ...ref, file, line: i + 1, test });
      });
      continue;
    }
    const text = /\.([cm]?[jt]sx?|py)$/.test(file) ? project.text(file) : undefined;
    if (!text || !/claude-/.test(text)) continue;
    // quoted strings holding a model id, outside comments (a text scan: no parse needed)
    text.split('\n').forEach((l, i) => {
      if (!l.includes('claude') || /^\s*(\/\/|#|\*|\/\*)/.test(l)) return;
      for (const q of l.matchAll(QUOTED)) {
        const ref = normalizeModelId(q[2]);
        if (ref) out.push({ ...ref, file, line: i + 1, test });
      }
    });
  }
  return out;
}

/** A single-line quoted string of at most 120 characters that mentions claude. */
const QUOTED = /(["'`])((?:(?!\1)[^\\\n]){0,120}?claude(?:(?!\1)[^\\\n]){0,120}?)\1/g;

/** Committed env files as one map (a real `.env` wins over `.env.example`). */
function readEnvFiles(project: Project): Map<string, string> {
  const files = project.files
    .filter((f) => /(^|\/)\.env(\.[\w.-]+)?$/.test(f))
    .sort(
      (a, b) =>
        Number(/example|sample|template|dist/.test(a)) - Number(/example|sample|template|dist/.test(b)),
    );
  const out = new Map<string, string>();
  for (const f of files) {
    for (const l of (project.text(f) ?? '').split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*["']?([^"'#\n]*?)["']?\s*(?:#.*)?$/.exec(l);
      if (m && m[2] !== '' && !out.has(m[1])) out.set(m[1], m[2]);
    }
  }
  return out;
}

const HTTP_FRAMEWORKS =
  /^(express|fastify|hono|koa|@nestjs\/core|@hapi\/hapi|restify|elysia|h3|polka|@remix-run\/node|@sveltejs\/kit|fastapi|flask|django|starlette|sanic|tornado|quart|bottle|litestar|falcon|aiohttp\.web|connexion|bentoml)$/;
const PROCESS_FRAMEWORKS =
  /^(discord|discord\.js|slack_bolt|@slack\/bolt|telegram|telegraf|grammy|streamlit|gradio|chainlit|celery|temporalio|@temporalio\/worker|aws-lambda|@vercel\/node|serverless-http|mangum)$/;

function detectServer(project: Project, scan: ScanResult): ServerInfo {
  let http: Evidence | undefined;
  let proc: Evidence | undefined;
  for (const hit of scan.byRule('import')) {
    if (isTestFile(hit.file)) continue;
    const spec = hit.groups?.find((g) => g !== undefined) ?? '';
    const mod = hit.file.endsWith('.py')
      ? spec
          .split('.')
          .slice(0, spec.startsWith('aiohttp.web') ? 2 : 1)
          .join('.')
      : (moduleOf(hit) ?? '');
    if (!http && HTTP_FRAMEWORKS.test(mod))
      http = { file: hit.file, line: hit.line, message: `${mod} server` };
    if (!proc && PROCESS_FRAMEWORKS.test(mod))
      proc = { file: hit.file, line: hit.line, message: `${mod} process` };
  }
  if (!http) {
    // Next.js route handlers and API routes; Bun / node:http servers.
    const nextRoute = project.files.find(
      (f) => /(^|\/)(app\/(.+\/)?route\.[jt]s|pages\/api\/.+\.[jt]sx?)$/.test(f) && !isTestFile(f),
    );
    if (nextRoute) http = { file: nextRoute, line: 1, message: 'Next.js route handlers' };
  }
  if (!http) {
    for (const f of project.codeFiles()) {
      if (isTestFile(f)) continue;
      const t = project.text(f) ?? '';
      const i = t.search(/\bBun\.serve\(|\bhttp\.createServer\(|\bDeno\.serve\(/);
      if (i >= 0) {
        http = { file: f, line: t.slice(0, i).split('\n').length, message: 'HTTP server' };
        break;
      }
    }
  }
  if (!proc) {
    for (const f of project.codeFiles()) {
      if (isTestFile(f)) continue;
      const t = project.text(f) ?? '';
      const i = t.search(
        /\bdef\s+(lambda_handler|handler)\s*\(\s*event\s*,\s*context|exports\.handler\s*=|export\s+(const|async function)\s+handler\b/,
      );
      if (i >= 0) {
        proc = { file: f, line: t.slice(0, i).split('\n').length, message: 'serverless handler' };
        break;
      }
    }
  }
  return { http, process: proc ?? http };
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
