/**
 * Report formats for `gantry audit` and `gantry preflight`: terminal, json,
 * sarif (2.1.0), junit, markdown and github (workflow commands).
 */
import { createHash } from 'node:crypto';
import { type FailOn, gateFailures } from './audit.ts';
import { CHECKS, SECTIONS, type SectionId } from './checks-table.ts';
import {
  type AuditReport,
  counts,
  type Evidence,
  type Finding,
  type Outcome,
  type RuleMeta,
} from './result.ts';

export const FORMATS = ['terminal', 'json', 'sarif', 'junit', 'markdown', 'github'] as const;
export type Format = (typeof FORMATS)[number];

export interface RenderOptions {
  failOn: FailOn;
  color?: boolean;
}

export function render(report: AuditReport, format: Format, opts: RenderOptions): string {
  switch (format) {
    case 'terminal':
      return terminal(report, opts);
    case 'json':
      return `${JSON.stringify(toJson(report, opts), null, 2)}\n`;
    case 'sarif':
      return `${JSON.stringify(toSarif(report), null, 2)}\n`;
    case 'junit':
      return toJunit(report, opts);
    case 'markdown':
      return toMarkdown(report, opts);
    case 'github':
      return toGithub(report, opts);
  }
}

function where(e: Evidence): string {
  if (e.file) return e.line ? `${e.file}:${e.line}` : e.file;
  return e.key ?? '';
}

function summaryLine(report: AuditReport, failOn: FailOn): string {
  const c = counts(report.checks);
  const gate = gateFailures(report.checks, failOn).length === 0 ? 'PASSED' : 'FAILED';
  const waived = report.checks.filter((x) => x.waiver).length;
  return (
    `${report.checks.length} checks: ${c.pass} pass, ${c.warn} warn, ${c.fail} fail, ${c.manual} manual, ${c['n/a']} n/a, ${c.error} error` +
    `${waived ? `, ${waived} waived` : ''} — gate (--fail-on ${failOn}) ${gate}`
  );
}

// ---------------------------------------------------------------------------
// terminal

const COLORS: Record<Outcome, string> = {
  pass: '\x1b[32m',
  warn: '\x1b[33m',
  fail: '\x1b[31m',
  'n/a': '\x1b[90m',
  manual: '\x1b[36m',
  error: '\x1b[35m',
};

function terminal(report: AuditReport, opts: RenderOptions): string {
  const paint = (o: Outcome, s: string) => (opts.color ? `${COLORS[o]}${s}\x1b[0m` : s);
  const bold = (s: string) => (opts.color ? `\x1b[1m${s}\x1b[0m` : s);
  const out: string[] = [`${report.tool} ${report.version} — ${report.target}`];
  if (report.filesScanned !== undefined) out.push(`${report.filesScanned} files scanned`);
  for (const [section, name] of Object.entries(SECTIONS)) {
    const checks = report.checks.filter((c) => c.section === section);
    if (checks.length === 0) continue;
    out.push('', bold(name));
    for (const c of checks) {
      const label = paint(c.outcome, c.outcome.toUpperCase().padEnd(6));
      out.push(
        `  ${label} ${c.id.padEnd(8)} ${c.summary}${c.waiver ? ` (waived until ${c.waiver.expires}: ${c.waiver.reason})` : ''}`,
      );
      for (const f of c.findings) {
        const tag = f.suppressed ? `suppressed (${f.suppressed.reason})` : f.level;
        out.push(`           ${where(f) ? `${where(f)}: ` : ''}${f.message} [${tag}]`);
      }
      if (c.outcome === 'manual' || c.outcome === 'pass') {
        for (const e of c.evidence.slice(0, 3))
          out.push(`           ${where(e) ? `${where(e)}: ` : ''}${e.message}`);
      }
      if (c.outcome === 'fail' || c.outcome === 'warn')
        out.push(`           fix: ${c.remediation} (${c.docs})`);
    }
  }
  for (const n of report.notes) out.push(`note: ${n}`);
  out.push('', bold(summaryLine(report, opts.failOn)));
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// json

function toJson(report: AuditReport, opts: RenderOptions) {
  return {
    ...report,
    summary: counts(report.checks),
    gate: { failOn: opts.failOn, passed: gateFailures(report.checks, opts.failOn).length === 0 },
  };
}

// ---------------------------------------------------------------------------
// SARIF 2.1.0

const SARIF_LEVEL: Record<Finding['level'], 'error' | 'warning'> = { fail: 'error', warn: 'warning' };

export function fingerprint(checkId: string, f: Evidence): string {
  // Stable across line moves: the check, the file and the message (which names the value, not the line).
  const message = f.message.replace(/\b(line|:)\s*\d+\b/g, '');
  return createHash('sha256')
    .update(`${checkId}\0${f.file ?? ''}\0${f.key ?? ''}\0${message}`)
    .digest('hex')
    .slice(0, 32);
}

function sarifRule(def: RuleMeta) {
  return {
    id: def.id,
    name: def.id.replace('-', ''),
    shortDescription: { text: def.title },
    fullDescription: { text: def.rationale },
    helpUri: `https://github.com/gantry-dev/gantry/blob/main/${def.docs ?? `docs/checks/${def.id}.md`}`,
    help: {
      text: def.remediation,
      markdown: `${def.remediation}\n\nSee ${def.docs ?? `docs/checks/${def.id}.md`}.`,
    },
    defaultConfiguration: {
      level: def.severity === 'low' ? 'note' : def.severity === 'medium' ? 'warning' : 'error',
    },
    properties: {
      tags: ['go-live', SECTIONS[def.id.split('-')[0] as SectionId] ?? 'preflight'],
      precision: 'high',
    },
  };
}

export function toSarif(report: AuditReport) {
  const results: unknown[] = [];
  const rules: readonly RuleMeta[] = report.rules ?? CHECKS;
  const ruleIndex = new Map<string, number>(rules.map((c, i) => [c.id, i]));
  for (const c of report.checks) {
    const emit = (f: Evidence, level: 'error' | 'warning' | 'note', suppressions?: unknown[]) => {
      const r: Record<string, unknown> = {
        ruleId: c.id,
        ruleIndex: ruleIndex.get(c.id),
        level,
        message: { text: `${c.id}: ${f.message}` },
        partialFingerprints: { 'gantryFinding/v1': fingerprint(c.id, f) },
        properties: { outcome: c.outcome },
      };
      if (f.file) {
        r.locations = [
          {
            physicalLocation: {
              artifactLocation: { uri: f.file, uriBaseId: '%SRCROOT%' },
              region: { startLine: f.line && f.line > 0 ? f.line : 1 },
            },
          },
        ];
      }
      if (suppressions) r.suppressions = suppressions;
      results.push(r);
    };
    for (const f of c.findings) {
      const sup: unknown[] = [];
      if (f.suppressed) sup.push({ kind: 'inSource', justification: f.suppressed.reason });
      if (c.waiver)
        sup.push({ kind: 'external', justification: `${c.waiver.reason} (expires ${c.waiver.expires})` });
      emit(f, SARIF_LEVEL[f.level], sup.length ? sup : undefined);
    }
    if (c.outcome === 'error') emit({ message: c.summary }, 'error');
  }
  const root = report.target.endsWith('/') ? report.target : `${report.target}/`;
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'gantry',
            semanticVersion: report.version,
            version: report.version,
            informationUri: 'https://github.com/gantry-dev/gantry',
            rules: rules.map(sarifRule),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: root.startsWith('/') ? `file://${root}` : root } },
        invocations: [{ executionSuccessful: !report.checks.some((c) => c.outcome === 'error') }],
        results,
      },
    ],
  };
}

// ---------------------------------------------------------------------------
// JUnit XML

function xmlEscape(s: string): string {
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids these characters
      .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '')
  );
}

function toJunit(report: AuditReport, opts: RenderOptions): string {
  const failing = new Set(gateFailures(report.checks, opts.failOn).map((c) => c.id));
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = report.checks.length;
  const nFail = report.checks.filter((c) => failing.has(c.id) && c.outcome !== 'error').length;
  const nErr = report.checks.filter((c) => c.outcome === 'error').length;
  lines.push(
    `<testsuites name="${xmlEscape(report.tool)}" tests="${total}" failures="${nFail}" errors="${nErr}">`,
  );
  for (const [section, name] of Object.entries(SECTIONS)) {
    const checks = report.checks.filter((c) => c.section === section);
    if (checks.length === 0) continue;
    const f = checks.filter((c) => failing.has(c.id) && c.outcome !== 'error').length;
    const e = checks.filter((c) => c.outcome === 'error').length;
    const s = checks.filter((c) => c.outcome === 'manual' || c.outcome === 'n/a').length;
    lines.push(
      `  <testsuite name="${xmlEscape(name)}" tests="${checks.length}" failures="${f}" errors="${e}" skipped="${s}">`,
    );
    for (const c of checks) {
      lines.push(`    <testcase classname="gantry.${section}" name="${xmlEscape(`${c.id} ${c.title}`)}">`);
      const detail = [
        ...c.findings.map((x) => `${where(x)} ${x.message}${x.suppressed ? ' (suppressed)' : ''}`),
        `fix: ${c.remediation}`,
      ].join('\n');
      if (c.outcome === 'error') lines.push(`      <error message="${xmlEscape(c.summary)}"/>`);
      else if (failing.has(c.id))
        lines.push(
          `      <failure message="${xmlEscape(c.summary)}" type="${c.outcome}">${xmlEscape(detail)}</failure>`,
        );
      else if (c.outcome === 'manual' || c.outcome === 'n/a')
        lines.push(`      <skipped message="${xmlEscape(`${c.outcome}: ${c.summary}`)}"/>`);
      else
        lines.push(
          `      <system-out>${xmlEscape(`${c.outcome}: ${c.summary}${c.waiver ? ` (waived: ${c.waiver.reason})` : ''}`)}</system-out>`,
        );
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// Markdown

const ICON: Record<Outcome, string> = {
  pass: '✅',
  warn: '⚠️',
  fail: '❌',
  'n/a': '➖',
  manual: '📝',
  error: '💥',
};

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function toMarkdown(report: AuditReport, opts: RenderOptions): string {
  const out = [
    `# ${report.tool} report`,
    '',
    `Target: \`${report.target}\` · ${report.generatedAt} · gantry ${report.version}`,
    '',
    `**${summaryLine(report, opts.failOn)}**`,
  ];
  for (const [section, name] of Object.entries(SECTIONS)) {
    const checks = report.checks.filter((c) => c.section === section);
    if (checks.length === 0) continue;
    out.push('', `## ${name}`, '', '| | id | check | result | evidence |', '|---|---|---|---|---|');
    for (const c of checks) {
      const ev = (c.findings.length ? c.findings : c.evidence)
        .slice(0, 5)
        .map(
          (e) =>
            `${where(e) ? `\`${where(e)}\` ` : ''}${e.message}${'suppressed' in e && e.suppressed ? ' (suppressed)' : ''}`,
        )
        .join('<br>');
      out.push(
        `| ${ICON[c.outcome]} | [${c.id}](${c.docs}) | ${mdCell(c.title)} | ${c.outcome}: ${mdCell(c.summary)}${c.waiver ? ` (waived until ${c.waiver.expires})` : ''} | ${mdCell(ev)} |`,
      );
    }
  }
  if (report.notes.length) out.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// GitHub Actions workflow commands

function ghEscapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function ghEscapeProp(s: string): string {
  return ghEscapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function toGithub(report: AuditReport, opts: RenderOptions): string {
  const out: string[] = [];
  for (const c of report.checks) {
    const live = c.findings.filter((f) => !f.suppressed);
    for (const f of live) {
      const cmd = c.waiver ? 'notice' : f.level === 'fail' ? 'error' : 'warning';
      const props = [
        f.file ? `file=${ghEscapeProp(f.file)}` : '',
        f.line ? `line=${f.line}` : '',
        `title=${ghEscapeProp(`${c.id} ${c.title}`)}`,
      ]
        .filter(Boolean)
        .join(',');
      out.push(`::${cmd} ${props}::${ghEscapeData(`${f.message} — ${c.remediation}`)}`);
    }
    if (c.outcome === 'error') out.push(`::error title=${ghEscapeProp(c.id)}::${ghEscapeData(c.summary)}`);
  }
  out.push(`::notice title=gantry::${ghEscapeData(summaryLine(report, opts.failOn))}`);
  return `${out.join('\n')}\n`;
}
