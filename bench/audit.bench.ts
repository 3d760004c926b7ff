/**
 * gantry audit on a generated repository shaped like a real service, as a git
 * repository in a temp dir: a TypeScript API (a shared Anthropic client, an
 * `ask()` wrapper with error handling, usage logging and a latency histogram,
 * feature modules that call it with their own system prompts and max_tokens,
 * route modules that call the features, helper modules importing each other)
 * and a Python worker built the same way, plus Markdown and YAML. One code file
 * in twenty calls Claude through the wrapper, so the call graph, the value
 * resolution across files and the evidence scopes all do real work. Prints the
 * wall time; the target is a 1,000-file repository in under 2 s on two cores.
 * Not a timed test: run it with
 *
 *   node bench/audit.bench.ts [files=1000]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runAudit } from '../src/audit/audit.ts';

const total = Number(process.argv[2] ?? 1000);
const reuse = process.env.BENCH_DIR;
const dir = reuse ?? mkdtempSync(join(tmpdir(), 'gantry-audit-bench-'));

function write(rel: string, text: string): void {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

const PROMPT =
  'You are the assistant of Example Corp for this feature; answer precisely and cite the record you used. ';

const TS_CLIENT = `import Anthropic from '@anthropic-ai/sdk';
import { Histogram } from 'prom-client';
import pino from 'pino';
import { RETRIES, TIMEOUT_MS } from '../config.ts';

export const logger = pino();
export const latency = new Histogram({ name: 'claude_request_seconds', help: 'Claude latency', buckets: [0.5, 1, 2, 5, 10] });
export const client = new Anthropic({ maxRetries: RETRIES, timeout: TIMEOUT_MS });

export interface AskOptions { system: string; maxTokens: number; model?: string }

export async function ask(input: string, opts: AskOptions): Promise<string> {
  if (input.length > 8000) throw new Error('input too long');
  const end = latency.startTimer();
  try {
    const r = await client.messages.create({
      model: opts.model ?? 'claude-sonnet-4-6',
      max_tokens: opts.maxTokens,
      system: [{ type: 'text', text: opts.system, cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: input }],
    });
    logger.info({ id: r.id, input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens });
    return r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  } catch (err) {
    if (err instanceof Anthropic.APIError) logger.error({ request_id: err.requestID, status: err.status });
    if (err instanceof Anthropic.RateLimitError) return 'Busy, please try again shortly.';
    throw err;
  } finally {
    end();
  }
}
`;

function tsFile(i: number): [string, string] {
  if (i % 20 === 0)
    return [
      `src/features/f${i}.ts`,
      `import { ask } from '../llm/client.ts';
import { normalise${i % 50} } from '../lib/h${i % 50}.ts';

const SYSTEM_${i} = ${JSON.stringify(PROMPT.repeat(3 + (i % 60)))};

export async function feature${i}(input: string): Promise<string> {
  return ask(normalise${i % 50}(input), { system: SYSTEM_${i}, maxTokens: ${256 * (1 + (i % 8))} });
}
`,
    ];
  if (i % 20 === 1)
    return [
      `src/routes/r${i}.ts`,
      `import type { Express } from 'express';
import { feature${i - 1} } from '../features/f${i - 1}.ts';

export function register${i}(app: Express): void {
  app.post('/api/f${i - 1}', async (req, res) => {
    res.json({ answer: await feature${i - 1}(String(req.body.input ?? '')) });
  });
}
`,
    ];
  const h = i % 50;
  return [
    `src/lib/m${i}.ts`,
    `import { normalise${h} } from './h${h}.ts';
export interface Item${i} { id: string; count: number; tags: string[] }
export function transform${i}(items: Item${i}[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) {
    if (it.count > ${i % 97}) out[normalise${h}(it.id)] = it.count + it.tags.length;
  }
  return out;
}
export class Service${i} {
  #cache = new Map<string, number>();
  get(key: string): number | undefined { return this.#cache.get(normalise${h}(key)); }
  set(key: string, value: number): void { this.#cache.set(key, value * ${i}); }
}
`,
  ];
}

const PY_CLIENT = `import logging
import os

import anthropic
from prometheus_client import Histogram

logger = logging.getLogger(__name__)
LATENCY = Histogram("claude_request_seconds", "Claude latency")
client = anthropic.Anthropic(max_retries=int(os.environ.get("CLAUDE_RETRIES", "4")), timeout=90)


def ask(text, system, max_tokens, model="claude-haiku-4-5"):
    if len(text) > 8000:
        raise ValueError("input too long")
    try:
        with LATENCY.time():
            r = client.messages.create(model=model, max_tokens=max_tokens, system=system, messages=[{"role": "user", "content": text}])
    except anthropic.APIStatusError as e:
        logger.error("claude error status=%s request_id=%s", e.status_code, e.request_id)
        raise
    logger.info("usage in=%d out=%d", r.usage.input_tokens, r.usage.output_tokens)
    return r.content[0].text
`;

function pyFile(i: number): [string, string] {
  if (i % 40 === 6)
    return [
      `app/features/f${i}.py`,
      `from app.llm import ask
from app.lib.h${i % 50} import normalise

SYSTEM = ${JSON.stringify(PROMPT.repeat(3 + (i % 5)))}


def feature_${i}(text):
    return ask(normalise(text), SYSTEM, ${200 * (1 + (i % 6))})
`,
    ];
  return [
    `app/lib/m${i}.py`,
    `from dataclasses import dataclass

from app.lib.h${i % 50} import normalise


@dataclass
class Record${i}:
    id: str
    count: int


def summarise_${i}(records):
    total = 0
    for r in records:
        if r.count > ${i % 89}:
            total += len(normalise(r.id)) + r.count
    return total
`,
  ];
}

function generate(): void {
  write(
    'package.json',
    JSON.stringify({
      name: 'bench-app',
      dependencies: { '@anthropic-ai/sdk': '*', express: '*', pino: '*', 'prom-client': '*' },
    }),
  );
  write('requirements.txt', 'anthropic\nprometheus_client\nfastapi\n');
  write(
    'src/config.ts',
    'export const RETRIES = Number(process.env.CLAUDE_RETRIES ?? 4);\nexport const TIMEOUT_MS = 90_000;\n',
  );
  write('src/llm/client.ts', TS_CLIENT);
  write('app/__init__.py', '');
  write('app/llm.py', PY_CLIENT);
  for (let h = 0; h < 50; h++) {
    write(
      `src/lib/h${h}.ts`,
      `export function normalise${h}(s: string): string {\n  return s.trim().toLowerCase().slice(0, ${100 + h});\n}\n`,
    );
    write(`app/lib/h${h}.py`, `def normalise(s):\n    return s.strip().lower()[: ${100 + h}]\n`);
  }
  const fixed = 6 + 100;
  for (let i = 0; i < total - fixed; i++) {
    const kind = i % 10;
    if (kind < 6) write(...tsFile(i));
    else if (kind < 8) write(...pyFile(i));
    else if (kind === 8)
      write(`docs/m${i}.md`, `# Module ${i}\n\nNotes about module ${i}.\n\n## Usage\n\nCall it.\n`);
    else write(`deploy/m${i}.yaml`, `name: mod${i}\nreplicas: ${i % 5}\nlabels:\n  app: x${i}\n`);
  }
}

const started = performance.now();
if (!reuse) generate();
if (!reuse) {
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync('git', ['add', '-A'], { cwd: dir });
}
const generatedMs = performance.now() - started;

const t0 = performance.now();
const report = runAudit(dir);
const ms = performance.now() - t0;
const fails = report.checks.filter((c) => c.outcome === 'fail').length;
console.log(
  JSON.stringify({
    files: report.filesScanned,
    audit_ms: Math.round(ms),
    files_per_s: Math.round(((report.filesScanned ?? 0) / ms) * 1000),
    generate_ms: Math.round(generatedMs),
    cores: availableParallelism(),
    checks_failing: fails,
    target: 'under 2000 ms for 1000 files on two cores',
  }),
);
if (!process.env.KEEP && !reuse) rmSync(dir, { recursive: true, force: true });
else console.log(dir);
