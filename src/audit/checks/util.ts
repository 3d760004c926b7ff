/**
 * What every evaluator shares: the Evaluation shape, outcome builders,
 * anchors for project-wide findings, the Gantry config lookups, and the rule
 * that turns per-site levels into one outcome.
 */
import { type AuditContext, configLine, configValue } from '../context.ts';
import { DOC_SPECS, findDoc } from '../docs-spec.ts';
import type { Evidence, Finding, Outcome } from '../result.ts';
import type { Hit } from '../scan.ts';

export interface Evaluation {
  /** Outcome when there are no (unsuppressed) findings. */
  base: Exclude<Outcome, 'warn' | 'fail'>;
  summary: string;
  findings: Finding[];
  evidence: Evidence[];
}

export type Evaluator = (ctx: AuditContext) => Evaluation;

export const NO_CLAUDE = 'no Claude API usage found';

export const at = (h: { file: string; line: number }, message: string): Evidence => ({
  file: h.file,
  line: h.line,
  message,
});
export const fail = (e: Evidence): Finding => ({ ...e, level: 'fail' });
export const warn = (e: Evidence): Finding => ({ ...e, level: 'warn' });

export function ok(summary: string, evidence: Evidence[] = []): Evaluation {
  return { base: 'pass', summary, findings: [], evidence };
}
export function manual(summary: string, evidence: Evidence[] = []): Evaluation {
  return { base: 'manual', summary, findings: [], evidence };
}
export function na(summary: string): Evaluation {
  return { base: 'n/a', summary, findings: [], evidence: [] };
}
export function findings(summary: string, list: Finding[], evidence: Evidence[] = []): Evaluation {
  return { base: 'pass', summary, findings: list, evidence };
}

export function anchorEvidence(ctx: AuditContext, message: string, key?: string): Evidence {
  if (key && ctx.config) return { file: ctx.config.file, line: configLine(ctx.config, key), key, message };
  return ctx.anchor ? { file: ctx.anchor, line: 1, message } : { message };
}

export function configEvidence(ctx: AuditContext, key: string, message: string): Evidence {
  return ctx.config
    ? { file: ctx.config.file, line: configLine(ctx.config, key), key, message }
    : { key, message };
}

/** The gateway-config section providing a control, if the app goes through a gateway. */
export function gatewayProvides(ctx: AuditContext, keys: string[]): Evidence | undefined {
  if (!ctx.config) return undefined;
  for (const key of keys) {
    const v = configValue(ctx.config, key);
    if (v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v as object).length === 0)) {
      return configEvidence(ctx, key, `Gantry config sets ${key}`);
    }
  }
  return undefined;
}

/** The app sends its traffic through a Gantry gateway that has a config in the repository. */
export function throughGateway(ctx: AuditContext): boolean {
  return ctx.gateway.length > 0 && ctx.config !== undefined;
}

export function libs(ctx: AuditContext, cap: string): Evidence[] {
  return (ctx.libraries.get(cap) ?? []).map(({ lib, hit }: { lib: string; hit: Hit }) =>
    at(hit, `uses ${lib}`),
  );
}

export function docCheck(ctx: AuditContext, docKey: keyof typeof DOC_SPECS): Evaluation {
  const spec = DOC_SPECS[docKey];
  const doc = findDoc(ctx.scan, spec);
  if (!doc) {
    return findings(`no ${spec.title} document found`, [
      fail(anchorEvidence(ctx, `no ${spec.file} (or a document titled "${spec.title}"); run gantry init`)),
    ]);
  }
  const missing = spec.sections.filter((s) => !doc.headings.some((h) => s.match.test(h.text)));
  if (missing.length > 0) {
    return findings(`${doc.file} lacks ${missing.length} section(s)`, [
      warn({
        file: doc.file,
        line: 1,
        message: `missing section(s): ${missing.map((s) => s.name).join(', ')}`,
      }),
    ]);
  }
  return ok(`${doc.file} has every section`, [
    { file: doc.file, line: 1, message: `sections: ${spec.sections.map((s) => s.name).join(', ')}` },
  ]);
}

/** Findings of per-site judgements, with a summary counting what failed / warned. */
/** Keeps one finding per file:line:message. */
export function dedupe<T extends Evidence>(list: T[]): T[] {
  const seen = new Set<string>();
  return list.filter((f) => {
    const k = `${f.file}:${f.line}:${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
