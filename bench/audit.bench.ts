/**
 * gantry audit on a generated 10,000-file tree (TypeScript, Python, Markdown,
 * YAML, JSON; 1 % of the code files call the SDK), as a git repository in a
 * temp dir. Prints files/s and the wall time; the target is under 10 s on two
 * cores. Not a timed test: run it with
 *
 *   node bench/audit.bench.ts [files=10000]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAudit } from '../src/audit/audit.ts';

const total = Number(process.argv[2] ?? 10_000);
const reuse = process.env.BENCH_DIR;
const dir = reuse ?? mkdtempSync(join(tmpdir(), 'gantry-audit-bench-'));

function tsFile(i: number): string {
  if (i % 100 === 0) {
    return `import Anthropic from '@anthropic-ai/sdk';
const client = new Anthropic({ maxRetries: 4, timeout: 90_000 });
export async function ask${i}(input: string) {
  if (input.length > 8000) throw new Error('too long');
  const r = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 1024, messages: [{ role: 'user', content: input }] });
  return r.usage.output_tokens;
}
`;
  }
  return `import { helper${i % 50} } from './helpers.ts';
export interface Item${i} { id: string; count: number; tags: string[] }
export function transform${i}(items: Item${i}[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) {
    if (it.count > ${i % 97}) out[it.id] = helper${i % 50}(it.count) + it.tags.length;
  }
  return out;
}
export class Service${i} {
  #cache = new Map<string, number>();
  get(key: string): number | undefined { return this.#cache.get(key); }
  set(key: string, value: number): void { this.#cache.set(key, value * ${i}); }
}
`;
}

function pyFile(i: number): string {
  if (i % 100 === 1) {
    return `import anthropic
client = anthropic.Anthropic(max_retries=4, timeout=90)
def ask_${i}(text):
    if len(text) > 8000:
        raise ValueError("too long")
    return client.messages.create(model="claude-haiku-4-5", max_tokens=512, messages=[{"role": "user", "content": text}])
`;
  }
  return `from dataclasses import dataclass

@dataclass
class Record${i}:
    id: str
    count: int

def summarise_${i}(records):
    total = 0
    for r in records:
        if r.count > ${i % 89}:
            total += r.count
    return total
`;
}

const started = performance.now();
for (let i = 0; i < (reuse ? 0 : total); i++) {
  const sub = join(dir, `pkg${i % 100}`, `mod${Math.floor(i / 100) % 10}`);
  if (i < 1000) mkdirSync(sub, { recursive: true });
  const kind = i % 10;
  if (kind < 6) writeFileSync(join(sub, `f${i}.ts`), tsFile(i));
  else if (kind < 8) writeFileSync(join(sub, `f${i}.py`), pyFile(i));
  else if (kind === 8)
    writeFileSync(
      join(sub, `f${i}.md`),
      `# Module ${i}\n\nNotes about module ${i}.\n\n## Usage\n\nCall it.\n`,
    );
  else writeFileSync(join(sub, `f${i}.yaml`), `name: mod${i}\nreplicas: ${i % 5}\nlabels:\n  app: x${i}\n`);
}
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
    target: 'under 10000 ms for 10000 files on two cores',
  }),
);
if (!process.env.KEEP && !reuse) rmSync(dir, { recursive: true, force: true });
else console.log(dir);
