/**
 * The audit reads code, not text: evidence is tied to Claude call sites,
 * tests never count, values are resolved across files (and say so when they
 * cannot be), placeholders are not keys, health routes are followed through
 * the call graph, model ids are read from config files and judged on the
 * audit date.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runAudit } from '../src/audit/audit.ts';
import type { CheckResult } from '../src/audit/result.ts';
import { lookalikeKey } from './audit-support.ts';

const NOW = new Date('2026-12-04T00:00:00Z');

function audit(files: Record<string, string>, now = NOW) {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-code-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const r = runAudit(dir, { now });
  return (id: string): CheckResult => {
    const c = r.checks.find((x) => x.id === id);
    assert.ok(c, id);
    return c;
  };
}

const text = (c: CheckResult) =>
  [...c.findings, ...c.evidence].map((e) => `${e.file}:${e.line} ${e.message}`).join('\n');

const CLIENT =
  "import Anthropic from '@anthropic-ai/sdk';\nexport const client = new Anthropic({ maxRetries: 4, timeout: 90_000 });\n";

describe('evidence is tied to the Claude call sites', () => {
  test('a latency histogram elsewhere in the repository does not cover the call; one in its caller does', () => {
    const files = {
      'src/client.ts': CLIENT,
      'src/chat.ts': [
        "import { client } from './client.ts';",
        'export async function ask(q: string) {',
        "  return client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 512, messages: [{ role: 'user', content: q }] });",
        '}',
      ].join('\n'),
      'src/jobs/export.ts': [
        "import { Histogram } from 'prom-client';",
        "const h = new Histogram({ name: 'export_seconds', help: 'export' });",
        'export async function run() { const end = h.startTimer(); await Promise.resolve(); end(); }',
      ].join('\n'),
    };
    assert.equal(audit(files)('OBS-2').outcome, 'fail');
    const covered = audit({
      ...files,
      'src/route.ts': [
        "import { Histogram } from 'prom-client';",
        "import { ask } from './chat.ts';",
        "const latency = new Histogram({ name: 'claude_seconds', help: 'claude' });",
        'export async function handle(q: string) {',
        '  const end = latency.startTimer();',
        '  try { return await ask(q); } finally { end(); }',
        '}',
      ].join('\n'),
    })('OBS-2');
    assert.equal(covered.outcome, 'pass');
    assert.match(text(covered), /src\/route\.ts:5 latency recorded: latency\.startTimer\(\)/);
  });

  test('tests never count as production evidence, and calls in tests are not production calls', () => {
    const c = audit({
      'src/client.ts': CLIENT,
      'src/chat.ts': [
        "import { client } from './client.ts';",
        'export async function ask(q: string) {',
        "  return client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 512, messages: [{ role: 'user', content: q }] });",
        '}',
      ].join('\n'),
      'test/chat.test.ts': [
        "import Anthropic from '@anthropic-ai/sdk';",
        "import { ask } from '../src/chat.ts';",
        'try { await ask("hi"); } catch (e) {',
        '  if (e instanceof Anthropic.AuthenticationError || e instanceof Anthropic.BadRequestError) throw e;',
        '  if (e instanceof Anthropic.RateLimitError || e instanceof Anthropic.InternalServerError) throw e;',
        '  if ((e as { status?: number }).status === 529) throw e;',
        '}',
      ].join('\n'),
    })('ERR-1');
    assert.equal(c.outcome, 'fail');
    assert.doesNotMatch(text(c), /test\//);
  });
});

describe('values are resolved across files', () => {
  test("a wrapper's parameter is judged through every call site (a bad one fails, naming where)", () => {
    const c = audit({
      'src/llm.ts': [
        "import Anthropic from '@anthropic-ai/sdk';",
        'export function makeClient(retries: number) {',
        '  return new Anthropic({ maxRetries: retries, timeout: 90_000 });',
        '}',
      ].join('\n'),
      'src/a.ts': "import { makeClient } from './llm.ts';\nexport const fast = makeClient(3);\n",
      'src/b.ts':
        "import { makeClient } from './llm.ts';\nimport { BATCH_RETRIES } from './limits.ts';\nexport const batch = makeClient(BATCH_RETRIES);\n",
      'src/limits.ts': 'export const BATCH_RETRIES = 9;\n',
    })('ERR-2');
    assert.equal(c.outcome, 'fail');
    assert.match(text(c), /gives 3 \/ 9 retries|gives 9 \/ 3 retries/);
  });

  test('config objects, env defaults and committed env files resolve; an unset variable is a warn, never a pass', () => {
    const cfg = [
      "import Anthropic from '@anthropic-ai/sdk';",
      'const config = { llm: { timeoutMs: Number(process.env.LLM_TIMEOUT_MS ?? 90_000), retries: 4 } };',
      'export const client = new Anthropic({ maxRetries: config.llm.retries, timeout: config.llm.timeoutMs });',
    ].join('\n');
    const ok = audit({ 'src/client.ts': cfg })('REL-1');
    assert.equal(ok.outcome, 'pass');
    assert.match(text(ok), /timeout 90 s/);
    const unresolved = audit({ 'src/client.ts': cfg.replace(' ?? 90_000', '') })('REL-1');
    assert.equal(unresolved.outcome, 'warn');
    assert.match(text(unresolved), /could not resolve the timeout: environment variable LLM_TIMEOUT_MS/);
    const fromEnvFile = audit({
      'src/client.ts': cfg.replace(' ?? 90_000', ''),
      '.env.production': 'LLM_TIMEOUT_MS=600000\n',
    })('REL-1');
    assert.equal(fromEnvFile.outcome, 'fail');
    assert.match(text(fromEnvFile), /timeout is 10 min/);
  });

  test('a Python prompt file read at start-up is sized for COST-6', () => {
    const long = 'Answer as the support assistant of Example Corp, politely and precisely. '.repeat(120);
    const c = audit({
      'prompts/system.md': long,
      'app/main.py': [
        'import anthropic',
        'from pathlib import Path',
        'SYSTEM = Path("prompts/system.md").read_text()',
        'client = anthropic.Anthropic(max_retries=4, timeout=90)',
        'def ask(q):',
        '    return client.messages.create(model="claude-sonnet-4-6", max_tokens=512, system=SYSTEM, messages=[{"role": "user", "content": q}])',
      ].join('\n'),
    })('COST-6');
    assert.equal(c.outcome, 'fail');
    assert.match(
      text(c),
      /system prompt \+ tools of ~\d+ tokens \(minimum cacheable 1024\) sent without cache_control/,
    );
  });
});

describe('KEY-2: placeholders are not keys', () => {
  test('documented placeholders and low-entropy strings pass; a real-looking key in any tracked file fails', () => {
    const placeholders = audit({
      '.env.example': 'ANTHROPIC_API_KEY=sk-ant-api03-your-key-here\n',
      'README.md': 'export ANTHROPIC_API_KEY=sk-ant-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n',
      'src/a.ts': "const k = 'sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-AA';\n",
    })('KEY-2');
    assert.equal(placeholders.outcome, 'pass');
    const real = audit({ 'docs/setup.md': `Use \`${lookalikeKey(7)}\` to try it.\n` })('KEY-2');
    assert.equal(real.outcome, 'fail');
    assert.match(text(real), /docs\/setup\.md:1 an Anthropic API key in a tracked file/);
  });
});

describe('REL-3 follows the health route', () => {
  test("the handler's callees are followed across files; a retired model there fails", () => {
    const c = audit({
      'src/client.ts': CLIENT,
      'src/probe.ts': [
        "import { client } from './client.ts';",
        'export async function probeClaude() {',
        "  await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] });",
        '}',
      ].join('\n'),
      'src/server.ts': [
        "import express from 'express';",
        "import { probeClaude } from './probe.ts';",
        'const app = express();',
        "app.get('/healthz', async (_req, res) => { await probeClaude(); res.json({ ok: true }); });",
      ].join('\n'),
    })('REL-3');
    assert.equal(c.outcome, 'fail');
    assert.match(
      text(c),
      /src\/server\.ts:4 health route \/healthz probes with a retired model \(claude-sonnet-4-5\)/,
    );
  });

  test('a client-side call to /health is not a health route', () => {
    const c = audit({
      'src/client.ts': CLIENT,
      'src/app.ts': [
        "import express from 'express';",
        "import { client } from './client.ts';",
        'const app = express();',
        "app.post('/chat', async (req, res) => res.json(await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages: req.body.messages })));",
        "export async function upstreamUp() { return (await fetch('http://billing/health')).ok; }",
      ].join('\n'),
    })('REL-3');
    assert.equal(c.outcome, 'fail');
    assert.match(text(c), /no \/health, \/healthz or \/readyz route/);
  });
});

describe('COST-4: model ids from code and config files, judged on the audit date', () => {
  test('ids in .env, YAML, JSON and TOML are read; tests and fixtures one level lower', () => {
    const files = {
      'src/client.ts': CLIENT,
      '.env.production': 'CLAUDE_MODEL=claude-3-5-sonnet-20241022\n',
      'config/app.yaml': 'llm:\n  model: claude-haiku-4-20250514\n',
      'config/models.json': '{ "fallback": "claude-sonnet-4-6" }\n',
      'pyproject.toml': '[tool.app]\nmodel = "claude-opus-4-5-20251101"\n',
      'test/fixtures/req.json': '{ "model": "claude-2.1" }\n',
    };
    const c = audit(files)('COST-4');
    assert.equal(c.outcome, 'fail');
    const t = text(c);
    assert.match(t, /\.env\.production:1 model claude-3-5-sonnet-20241022 is retired since 2025-10-28/);
    assert.match(
      t,
      /config\/app\.yaml:2 unknown model id claude-haiku-4-20250514; did you mean claude-haiku-4-5/,
    );
    assert.match(t, /pyproject\.toml:2 model claude-opus-4-5-20251101 is deprecated/);
    const fixture = c.findings.find((f) => f.file === 'test/fixtures/req.json');
    assert.equal(fixture?.level, 'warn');
    assert.match(fixture?.message ?? '', /in a test or fixture/);
  });

  test('a deprecated model becomes a retired one on its retirement date', () => {
    const files = {
      'src/a.ts': `${CLIENT}export const r = client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [] });\n`,
    };
    const before = audit(files, new Date('2026-11-29T00:00:00Z'))('COST-4');
    assert.equal(before.outcome, 'warn');
    assert.match(text(before), /deprecated/);
    const after = audit(files, new Date('2026-11-30T00:00:00Z'))('COST-4');
    assert.equal(after.outcome, 'fail');
    assert.match(text(after), /retired since 2026-11-30/);
  });
});

describe('what counts as logging content, and as an input bound', () => {
  const server = (log: string) => ({
    'src/client.ts': CLIENT,
    'src/app.ts': [
      "import express from 'express';",
      "import { client } from './client.ts';",
      'const app = express();',
      "app.post('/chat', async (req, res) => {",
      `  ${log}`,
      "  const r = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages: req.body.messages });",
      '  res.json(r);',
      '});',
    ].join('\n'),
  });

  test('key names and sizes of the request are metadata; the request body is content', () => {
    assert.equal(
      audit(server("console.log('keys', Object.keys(req.body || {}), req.body.messages.length);"))('OBS-1')
        .outcome,
      'pass',
    );
    const c = audit(server("console.log('body', req.body);"))('OBS-1');
    assert.equal(c.outcome, 'fail');
    assert.match(text(c), /src\/app\.ts:5 logs content/);
  });

  test('print in a command-line script is output, even in a repository that also runs a server', () => {
    const files = {
      'app/server.py': [
        'from fastapi import FastAPI',
        'import anthropic',
        'app = FastAPI()',
        'client = anthropic.Anthropic(max_retries=4, timeout=90)',
        '@app.post("/chat")',
        'def chat(q: str):',
        '    return client.messages.create(model="claude-sonnet-4-6", max_tokens=256, messages=[{"role": "user", "content": q}])',
      ].join('\n'),
      'scripts/try_prompt.py': [
        'import anthropic',
        'client = anthropic.Anthropic(max_retries=4, timeout=90)',
        'def main():',
        '    r = client.messages.create(model="claude-sonnet-4-6", max_tokens=256, messages=[{"role": "user", "content": "hi"}])',
        '    print(r.content[0].text)',
        'if __name__ == "__main__":',
        '    main()',
      ].join('\n'),
    };
    assert.equal(audit(files)('OBS-1').outcome, 'pass');
    const logged = audit({
      ...files,
      'app/server.py': `${files['app/server.py'].replace('    return client', '    r = client')}\n    print(r.content[0].text)\n    return r`,
    })('OBS-1');
    assert.equal(logged.outcome, 'fail');
    assert.match(text(logged), /app\/server\.py:\d+ logs content: print/);
  });

  test("a schema maximum on a number or a list is not a bound on the user's text; on a string it is", () => {
    const route = (schema: string) => ({
      'src/client.ts': CLIENT,
      'src/app.ts': [
        "import express from 'express';",
        "import { z } from 'zod';",
        "import { client } from './client.ts';",
        `const Body = z.object({ ${schema} });`,
        'const app = express();',
        "app.post('/chat', async (req, res) => {",
        '  const body = Body.parse(req.body);',
        "  res.json(await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: body.max_tokens, messages: [{ role: 'user', content: body.text }] }));",
        '});',
      ].join('\n'),
    });
    assert.equal(
      audit(route('text: z.string().min(1), max_tokens: z.number().int().max(4096)'))('SAFE-2').outcome,
      'fail',
    );
    assert.equal(
      audit(route('text: z.string().min(1).max(8000), max_tokens: z.number().int().max(4096)'))('SAFE-2')
        .outcome,
      'pass',
    );
  });
});

describe('the failures issue 15 reports stay fixed', () => {
  const ASK = [
    "import { client } from './client.ts';",
    'export async function ask(q: string) {',
    "  return client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 512, messages: [{ role: 'user', content: q }] });",
    '}',
  ].join('\n');

  test('status checks, request ids, fallbacks and length checks unrelated to the Claude call do not count', () => {
    const get = audit({
      'src/client.ts': CLIENT,
      'src/ask.ts': ASK,
      'src/sheets.ts': [
        'export async function readSheet(url: string) {',
        '  const res = await fetch(url);',
        "  if (res.status === 429) throw new Error('sheets quota');",
        "  if (res.status === 401 || res.status === 400 || res.status === 500 || res.status === 529) throw new Error('sheets');",
        '  return res.json();',
        '}',
      ].join('\n'),
      'src/lambda.ts': [
        'export const handler = async (event: unknown, context: { awsRequestId: string }) => {',
        '  const request_id = context.awsRequestId;',
        '  console.log({ request_id });',
        '};',
      ].join('\n'),
      'src/components/Avatar.tsx': [
        'export function AvatarFallback({ name }: { name: string }) { return <span>{name.slice(0, 2)}</span>; }',
        'export function Page({ interactions }: { interactions: string[] }) {',
        '  if (interactions.length > 5) return <p>Too many</p>;',
        '  return <AvatarFallback name="x" />;',
        '}',
      ].join('\n'),
    });
    assert.equal(get('ERR-1').outcome, 'fail');
    assert.equal(get('ERR-3').outcome, 'fail');
    assert.equal(get('REL-2').outcome, 'manual');
    assert.equal(get('SAFE-2').outcome, 'fail');
  });

  test('placeholder keys in example env files are not keys', () => {
    const c = audit({
      'src/client.ts': CLIENT,
      '.env.example': [
        'ANTHROPIC_API_KEY=sk-ant-xxx',
        'CLAUDE_API_KEY=sk-ant-CHANGE_ME',
        'ANTHROPIC_KEY=your_value_here',
        'ANTHROPIC_API_KEY_PROD=sk-ant-api03-your-api-key-here',
      ].join('\n'),
    })('KEY-2');
    assert.equal(c.outcome, 'pass');
  });

  test('a prompt built by a function and one read from system.md are sized; uncached long ones fail', () => {
    const section =
      'You review pull requests for the payments team: check error handling, logging and tests. ';
    const c = audit({
      'prompts/system.md': section.repeat(90),
      'app/prompts.py': [
        'def build_prompt(team):',
        `    rules = ${JSON.stringify(section.repeat(80))}`,
        '    return f"You work for {team}.\\n" + rules',
      ].join('\n'),
      'app/main.py': [
        'import anthropic',
        'from app.prompts import build_prompt',
        'SYSTEM_FILE = open("prompts/system.md").read()',
        'client = anthropic.Anthropic(max_retries=4, timeout=90)',
        'def review(diff):',
        '    return client.messages.create(model="claude-sonnet-4-6", max_tokens=2048, system=build_prompt("payments"), messages=[{"role": "user", "content": diff}])',
        'def triage(issue):',
        '    return client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, system=SYSTEM_FILE, messages=[{"role": "user", "content": issue}])',
      ].join('\n'),
    })('COST-6');
    assert.equal(c.outcome, 'fail');
    assert.equal(c.findings.filter((f) => f.level === 'fail').length, 2);
  });

  test("a wrapper's max_tokens through its callers (1,500 and 4,096) and an imported 1,024 are realistic", () => {
    const c = audit({
      'src/client.ts': CLIENT,
      'src/limits.ts': 'export const SHORT_ANSWER = 1024;\n',
      'src/llm.ts': [
        "import { client } from './client.ts';",
        'export function complete(q: string, maxTokens: number) {',
        "  return client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: maxTokens, messages: [{ role: 'user', content: q }] });",
        '}',
      ].join('\n'),
      'src/a.ts':
        "import { complete } from './llm.ts';\nexport const a = (q: string) => complete(q, 1500);\n",
      'src/b.ts':
        "import { complete } from './llm.ts';\nexport const b = (q: string) => complete(q, 4096);\n",
      'src/c.ts': [
        "import { client } from './client.ts';",
        "import { SHORT_ANSWER } from './limits.ts';",
        "export const c = (q: string) => client.messages.create({ model: 'claude-haiku-4-5', max_tokens: SHORT_ANSWER, messages: [{ role: 'user', content: q }] });",
      ].join('\n'),
    })('COST-5');
    assert.equal(c.outcome, 'pass');
    assert.match(text(c), /max_tokens 1500[\s\S]*max_tokens 4096|max_tokens 4096[\s\S]*max_tokens 1500/);
    assert.match(text(c), /src\/c\.ts:3 max_tokens 1024/);
  });

  test('a /healthz route whose helper in another module calls count_tokens passes', () => {
    const c = audit({
      'src/client.ts': CLIENT,
      'src/probe.ts': [
        "import { client } from './client.ts';",
        "export async function claudeReachable() { await client.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'ping' }] }); return true; }",
      ].join('\n'),
      'src/server.ts': [
        "import express from 'express';",
        "import { claudeReachable } from './probe.ts';",
        'const app = express();',
        "app.get('/healthz', async (_req, res) => res.json({ ok: await claudeReachable() }));",
      ].join('\n'),
    })('REL-3');
    assert.equal(c.outcome, 'pass');
    assert.match(
      text(c),
      /src\/server\.ts:4 health route \/healthz probes with count_tokens \(src\/probe\.ts:2\)/,
    );
  });

  test('a model id that does not exist in a .env file fails', () => {
    const c = audit({ 'src/client.ts': CLIENT, '.env': 'COACH_MODEL_ID=claude-opus-4-5-20250514\n' })(
      'COST-4',
    );
    assert.equal(c.outcome, 'fail');
    assert.match(text(c), /\.env:1 unknown model id claude-opus-4-5-20250514; did you mean claude-opus-4-5/);
  });
});
