/**
 * Report formats: SARIF 2.1.0 checked against the spec's required structure
 * (the official JSON schema cannot be downloaded here, so this validator
 * encodes the spec's rules for the properties we emit), JUnit parsed back
 * with a small character-level XML parser, markdown, GitHub commands, JSON;
 * and the CLI's exit codes for each gate, by spawning it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runAudit } from '../src/audit/audit.ts';
import { CHECK_IDS } from '../src/audit/checks-table.ts';
import { fingerprint, render, toSarif } from '../src/audit/report.ts';
import type { AuditReport } from '../src/audit/result.ts';
import { materialize } from './audit-support.ts';

const BIN = new URL('../bin/gantry.js', import.meta.url).pathname;
let failing: AuditReport;
let passing: AuditReport;
let failDir: string;
let passDir: string;

before(() => {
  failDir = materialize('ts-fail');
  passDir = materialize('ts-pass');
  failing = runAudit(failDir);
  passing = runAudit(passDir);
});

// ---------------------------------------------------------------------------
// SARIF 2.1.0 structural validation (OASIS SARIF v2.1.0, §3)

const LEVELS = ['none', 'note', 'warning', 'error'];

function validateSarif(doc: unknown): string[] {
  const errs: string[] = [];
  const obj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const str = (v: unknown) => typeof v === 'string';
  if (!obj(doc)) return ['log is not an object'];
  if (doc.version !== '2.1.0') errs.push('version must be "2.1.0" (§3.13.2)');
  if (doc.$schema !== undefined && !(str(doc.$schema) && /^https?:\/\//.test(doc.$schema as string)))
    errs.push('$schema must be a URI');
  if (!Array.isArray(doc.runs)) return [...errs, 'runs must be an array (§3.13.4)'];
  doc.runs.forEach((run: unknown, ri) => {
    const at = `runs[${ri}]`;
    if (!obj(run)) {
      errs.push(`${at} not an object`);
      return;
    }
    const driver = obj(run.tool) ? (run.tool as Record<string, unknown>).driver : undefined;
    if (!obj(driver) || !str(driver.name)) {
      errs.push(`${at}.tool.driver.name is required (§3.18.2, §3.19.8)`);
      return;
    }
    const rules = (driver.rules ?? []) as unknown[];
    if (!Array.isArray(rules)) errs.push(`${at}.tool.driver.rules must be an array`);
    const ids = new Set<string>();
    rules.forEach((rule, i) => {
      if (!obj(rule) || !str(rule.id)) {
        errs.push(`${at} rules[${i}].id is required (§3.49.3)`);
        return;
      }
      if (ids.has(rule.id as string)) errs.push(`duplicate rule id ${rule.id}`);
      ids.add(rule.id as string);
      for (const k of ['shortDescription', 'fullDescription', 'help']) {
        const m = rule[k];
        if (m !== undefined && !(obj(m) && str(m.text)))
          errs.push(`rules[${i}].${k}.text must be a string (§3.11)`);
      }
      const dc = rule.defaultConfiguration;
      if (dc !== undefined && !(obj(dc) && LEVELS.includes(dc.level as string)))
        errs.push(`rules[${i}].defaultConfiguration.level`);
    });
    if (run.originalUriBaseIds !== undefined) {
      for (const [k, v] of Object.entries(run.originalUriBaseIds as object)) {
        if (!obj(v) || !str(v.uri) || !(v.uri as string).endsWith('/'))
          errs.push(`originalUriBaseIds.${k}.uri must be a URI ending in /`);
      }
    }
    if (!Array.isArray(run.results)) {
      errs.push(`${at}.results must be an array`);
      return;
    }
    (run.results as unknown[]).forEach((r, i) => {
      const rat = `${at}.results[${i}]`;
      if (!obj(r)) {
        errs.push(`${rat} not an object`);
        return;
      }
      if (!obj(r.message) || !(str(r.message.text) || str(r.message.id)))
        errs.push(`${rat}.message needs text or id (§3.27.11)`);
      if (r.level !== undefined && !LEVELS.includes(r.level as string)) errs.push(`${rat}.level invalid`);
      if (r.ruleIndex !== undefined) {
        const idx = r.ruleIndex as number;
        if (!Number.isInteger(idx) || idx < 0 || idx >= rules.length)
          errs.push(`${rat}.ruleIndex out of range`);
        else if ((rules[idx] as Record<string, unknown>).id !== r.ruleId)
          errs.push(`${rat}.ruleIndex does not match ruleId`);
      }
      if (!str(r.ruleId)) errs.push(`${rat}.ruleId required for our results`);
      if (r.partialFingerprints !== undefined) {
        for (const v of Object.values(r.partialFingerprints as object))
          if (!str(v)) errs.push(`${rat}.partialFingerprints values are strings`);
      }
      for (const loc of (r.locations ?? []) as Record<string, unknown>[]) {
        const pl = loc.physicalLocation as Record<string, unknown> | undefined;
        const al = pl?.artifactLocation as Record<string, unknown> | undefined;
        if (!al || !str(al.uri))
          errs.push(`${rat}.locations[].physicalLocation.artifactLocation.uri required`);
        else if ((al.uri as string).startsWith('/'))
          errs.push(`${rat} uri should be relative to a uriBaseId`);
        const region = pl?.region as Record<string, unknown> | undefined;
        if (region && !(Number.isInteger(region.startLine) && (region.startLine as number) >= 1))
          errs.push(`${rat} region.startLine >= 1 (§3.30.5)`);
      }
      for (const s of (r.suppressions ?? []) as Record<string, unknown>[]) {
        if (!['inSource', 'external'].includes(s.kind as string))
          errs.push(`${rat}.suppressions[].kind (§3.35.2)`);
      }
    });
  });
  return errs;
}

describe('SARIF', () => {
  test('the failing project yields valid SARIF 2.1.0 with rule metadata for all 30 checks', () => {
    const sarif = JSON.parse(render(failing, 'sarif', { failOn: 'fail' }));
    assert.deepEqual(validateSarif(sarif), []);
    const driver = sarif.runs[0].tool.driver;
    assert.deepEqual(
      driver.rules.map((r: { id: string }) => r.id),
      [...CHECK_IDS],
    );
    assert.ok(driver.rules.every((r: { helpUri: string }) => /docs\/checks\/[A-Z]+-\d\.md$/.test(r.helpUri)));
    const results = sarif.runs[0].results;
    const key = results.find((r: { ruleId: string; locations?: unknown[] }) => r.ruleId === 'KEY-2');
    assert.equal(key.level, 'error');
    assert.equal(key.locations[0].physicalLocation.artifactLocation.uriBaseId, '%SRCROOT%');
    // Findings without a code line are anchored to the config or manifest file.
    const breaker = results.find((r: { ruleId: string }) => r.ruleId === 'ERR-4');
    assert.equal(breaker.locations[0].physicalLocation.artifactLocation.uri, 'package.json');
    assert.ok(
      results.every((r: { partialFingerprints: Record<string, string> }) =>
        /^[0-9a-f]{32}$/.test(r.partialFingerprints['gantryFinding/v1']),
      ),
    );
  });

  test('the validator rejects broken logs (it can fail)', () => {
    const sarif = toSarif(failing) as unknown as {
      version: string;
      runs: { results: Record<string, unknown>[] }[];
    };
    sarif.version = '2.0.0';
    sarif.runs[0].results[0].level = 'fatal';
    sarif.runs[0].results[0].ruleIndex = 999;
    assert.equal(validateSarif(sarif).length, 3);
  });

  test('fingerprints are stable when a finding moves to another line, and differ between findings', () => {
    const a = fingerprint('ERR-2', {
      file: 'src/client.ts',
      line: 3,
      message: 'maxRetries is 8; expected 3-5',
    });
    const b = fingerprint('ERR-2', {
      file: 'src/client.ts',
      line: 40,
      message: 'maxRetries is 8; expected 3-5',
    });
    const c = fingerprint('ERR-2', {
      file: 'src/other.ts',
      line: 3,
      message: 'maxRetries is 8; expected 3-5',
    });
    assert.equal(a, b);
    assert.notEqual(a, c);
    const again = JSON.parse(render(runAudit(failDir), 'sarif', { failOn: 'fail' }));
    const first = JSON.parse(render(failing, 'sarif', { failOn: 'fail' }));
    assert.deepEqual(
      again.runs[0].results.map((r: { partialFingerprints: unknown }) => r.partialFingerprints),
      first.runs[0].results.map((r: { partialFingerprints: unknown }) => r.partialFingerprints),
    );
  });

  test('suppressed findings carry an inSource suppression with the justification', () => {
    const sarif = toSarif(passing) as {
      runs: { results: { ruleId: string; suppressions?: { kind: string; justification: string }[] }[] }[];
    };
    const obs = sarif.runs[0].results.find((r) => r.ruleId === 'OBS-1');
    assert.deepEqual(obs?.suppressions, [
      { kind: 'inSource', justification: 'prompt is the static template name, never user content' },
    ]);
  });
});

// ---------------------------------------------------------------------------
// A tiny XML parser (character by character, no regular expressions)

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

function decode(s: string): string {
  const map: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '&') {
      out += s[i];
      continue;
    }
    const end = s.indexOf(';', i);
    const name = s.slice(i + 1, end);
    if (!(name in map)) throw new Error(`unknown entity &${name};`);
    out += map[name];
    i = end;
  }
  return out;
}

function parseXml(xml: string): XmlNode {
  let i = 0;
  const skipWs = () => {
    while (i < xml.length && ' \n\r\t'.includes(xml[i])) i++;
  };
  if (xml.startsWith('<?xml')) i = xml.indexOf('?>') + 2;
  const readName = () => {
    const start = i;
    while (i < xml.length && !' \n\r\t/>='.includes(xml[i])) i++;
    return xml.slice(start, i);
  };
  const element = (): XmlNode => {
    skipWs();
    if (xml[i] !== '<') throw new Error(`expected < at ${i}`);
    i++;
    const node: XmlNode = { name: readName(), attrs: {}, children: [], text: '' };
    for (;;) {
      skipWs();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return node;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      const attr = readName();
      if (xml[i] !== '=' || (xml[i + 1] !== '"' && xml[i + 1] !== "'"))
        throw new Error(`bad attribute ${attr}`);
      const q = xml[i + 1];
      const end = xml.indexOf(q, i + 2);
      if (xml.slice(i + 2, end).includes('<')) throw new Error('< in attribute');
      node.attrs[attr] = decode(xml.slice(i + 2, end));
      i = end + 1;
    }
    for (;;) {
      if (xml.startsWith('</', i)) {
        i += 2;
        const close = readName();
        if (close !== node.name) throw new Error(`mismatched </${close}> for <${node.name}>`);
        skipWs();
        if (xml[i] !== '>') throw new Error('expected >');
        i++;
        return node;
      }
      if (xml[i] === '<') node.children.push(element());
      else {
        const end = xml.indexOf('<', i);
        if (end < 0) throw new Error(`unterminated <${node.name}>`);
        node.text += decode(xml.slice(i, end));
        i = end;
      }
    }
  };
  const root = element();
  skipWs();
  if (i !== xml.length) throw new Error('trailing content');
  return root;
}

describe('JUnit', () => {
  test('parses back: one testcase per check, failures where the gate fails, manual and n/a skipped', () => {
    const root = parseXml(render(failing, 'junit', { failOn: 'fail' }));
    assert.equal(root.name, 'testsuites');
    const cases = root.children.flatMap((s) => s.children);
    assert.equal(cases.length, CHECK_IDS.length);
    assert.equal(root.children.length, 7);
    const byId = new Map(cases.map((c) => [c.attrs.name.split(' ')[0], c]));
    assert.equal(byId.get('KEY-2')?.children[0].name, 'failure');
    assert.match(byId.get('KEY-2')?.children[0].text ?? '', /\.env\.production:1/);
    assert.equal(byId.get('KEY-1')?.children[0].name, 'skipped');
    assert.equal(byId.get('INFRA-3')?.children[0].name, 'system-out'); // warn does not fail --fail-on fail
    const failures = cases.filter((c) => c.children.some((x) => x.name === 'failure')).length;
    assert.equal(Number(root.attrs.failures), failures);
    assert.equal(failures, failing.checks.filter((c) => c.outcome === 'fail').length);
    const warnGate = parseXml(render(failing, 'junit', { failOn: 'warn' }));
    const inf3 = warnGate.children.flatMap((s) => s.children).find((c) => c.attrs.name.startsWith('INFRA-3'));
    assert.equal(inf3?.children[0].name, 'failure');
  });

  test('the parser rejects malformed XML (it can fail)', () => {
    assert.throws(() => parseXml('<a><b></a>'));
    assert.throws(() => parseXml('<a x="1 < 2"/>'));
    assert.throws(() => parseXml('<a>&bogus;</a>'));
  });
});

describe('markdown, github, json, terminal', () => {
  test('markdown has a table per section with every check linked to its docs', () => {
    const md = render(failing, 'markdown', { failOn: 'fail' });
    for (const id of CHECK_IDS) assert.ok(md.includes(`[${id}](docs/checks/${id}.md)`), id);
    assert.match(md, /## Authentication and keys/);
    assert.match(md, /gate \(--fail-on fail\) FAILED/);
  });

  test('github emits workflow commands with file and line', () => {
    const gh = render(failing, 'github', { failOn: 'fail' });
    assert.match(gh, /^::error file=src\/client\.ts,line=4,title=ERR-2 .*::maxRetries gives 8 retries/m);
    assert.match(gh, /^::warning file=docs\/RUNBOOK\.md,line=1,title=INFRA-3/m);
    assert.match(gh, /^::notice title=gantry::30 checks/m);
  });

  test('json carries every check, counts and the gate', () => {
    const j = JSON.parse(render(failing, 'json', { failOn: 'fail' }));
    assert.equal(j.checks.length, CHECK_IDS.length);
    assert.equal(j.gate.passed, false);
    assert.equal(j.summary.fail, failing.checks.filter((c) => c.outcome === 'fail').length);
    const p = JSON.parse(render(passing, 'json', { failOn: 'warn' }));
    assert.equal(p.gate.passed, true);
  });

  test('terminal groups by section, colours only when asked, ends with the summary line', () => {
    const plain = render(failing, 'terminal', { failOn: 'fail', color: false });
    assert.ok(!plain.includes('\u001b['));
    const sections = [
      'Authentication and keys',
      'Error handling',
      'Rate limits and cost',
      'Reliability',
      'Observability',
      'Content safety',
      'Infrastructure',
    ];
    const positions = sections.map((s) => plain.indexOf(`\n${s}\n`));
    assert.ok(
      positions.every((p, i) => p > 0 && (i === 0 || p > positions[i - 1])),
      String(positions),
    );
    assert.match(
      plain.trimEnd().split('\n').at(-1) ?? '',
      /^30 checks: \d+ pass, \d+ warn, \d+ fail, .* FAILED$/,
    );
    assert.ok(render(failing, 'terminal', { failOn: 'fail', color: true }).includes('\u001b[31mFAIL'));
  });
});

// ---------------------------------------------------------------------------
// CLI exit codes

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

describe('gantry audit exit codes', () => {
  test('0 when the gate passes, 1 when it fails, per --fail-on; 2 on usage errors', () => {
    // A project whose only problem is a warn: an unresolvable maxRetries.
    const warnDir = materialize('ts-pass');
    const file = join(warnDir, 'src', 'client.ts');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('maxRetries: 4', 'maxRetries: Number(process.env.RETRIES)'),
    );
    assert.equal(cli('audit', passDir, '--fail-on', 'warn', '-f', 'json').status, 0);
    assert.equal(cli('audit', warnDir).status, 0);
    const w = cli('audit', warnDir, '--fail-on', 'warn');
    assert.equal(w.status, 1);
    assert.match(w.stdout, /WARN\s+ERR-2/);
    const f = cli('audit', failDir);
    assert.equal(f.status, 1);
    assert.match(f.stdout, /gate \(--fail-on fail\) FAILED/);
    assert.equal(cli('audit', failDir, '--fail-on', 'never').status, 2);
    assert.equal(cli('audit', failDir, '--format', 'xml').status, 2);
    assert.equal(cli('audit', join(failDir, 'does-not-exist')).status, 2);
    assert.equal(cli('audit', failDir, '--output', 'sarif').status, 2);
  });

  test('--output FORMAT=FILE writes several formats at once', () => {
    const out = mkdtempSync(join(tmpdir(), 'gantry-audit-out-'));
    const r = cli(
      'audit',
      failDir,
      '-f',
      'github',
      '-o',
      `sarif=${join(out, 'a.sarif')}`,
      '-o',
      `junit=${join(out, 'a.xml')}`,
      '-o',
      `markdown=${join(out, 'a.md')}`,
    );
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^::error /m);
    assert.deepEqual(validateSarif(JSON.parse(readFileSync(join(out, 'a.sarif'), 'utf8'))), []);
    assert.equal(parseXml(readFileSync(join(out, 'a.xml'), 'utf8')).name, 'testsuites');
    assert.match(readFileSync(join(out, 'a.md'), 'utf8'), /^# gantry audit report/);
  });
});

describe('terminal on a TTY', () => {
  test('colours when stdout is a TTY and shows progress on stderr for a large tree', async () => {
    const { run } = await import('../src/cli/audit.ts');
    const dir = mkdtempSync(join(tmpdir(), 'gantry-audit-large-'));
    for (let i = 0; i < 2100; i++) writeFileSync(join(dir, `f${i}.md`), `# note ${i}\n`);
    let out = '';
    let err = '';
    const io = {
      stdout: { isTTY: true, write: (t: string) => (out += t) },
      stderr: { isTTY: true, write: (t: string) => (err += t) },
    };
    const saved = process.exitCode;
    const noColor = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      await run(dir, { format: 'terminal' }, io);
    } finally {
      process.exitCode = saved;
      if (noColor !== undefined) process.env.NO_COLOR = noColor;
    }
    assert.ok(out.includes('\u001b['), 'coloured');
    assert.match(err, /gantry audit: 2000\/2100 files/);
    assert.match(err, /2100\/2100 files\n$/);
    let plain = '';
    await run(dir, { format: 'terminal' }, { stdout: { isTTY: false, write: (t: string) => (plain += t) } });
    process.exitCode = saved;
    assert.ok(!plain.includes('\u001b['));
  });
});
