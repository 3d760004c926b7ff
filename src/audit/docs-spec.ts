/**
 * The operational documents the audit looks for (KEY-3, INFRA-2/3/4) and the
 * sections each must have. `gantry init` writes templates with exactly these
 * headings, so a freshly initialised project passes the document checks once
 * the placeholders are filled in.
 */
import type { ScanResult } from './scan.ts';

export interface DocSpec {
  file: string;
  title: string;
  /** Matches a file name (any directory) that counts as this document. */
  name: RegExp;
  sections: { name: string; match: RegExp }[];
}

export const DOC_SPECS = {
  runbook: {
    file: 'docs/RUNBOOK.md',
    title: 'Incident runbook',
    name: /(^|\/)runbook[^/]*\.md$/i,
    sections: [
      { name: 'Alerts', match: /^alerts?\b/i },
      { name: 'Error decision tree', match: /decision tree/i },
      { name: 'Escalation', match: /escalat/i },
    ],
  },
  rollback: {
    file: 'docs/ROLLBACK.md',
    title: 'Rollback procedure',
    name: /(^|\/)rollback[^/]*\.md$/i,
    sections: [
      { name: 'When to roll back', match: /when to roll ?back/i },
      { name: 'Procedure', match: /procedure|steps/i },
      { name: 'Verification', match: /verif/i },
      { name: 'Last tested', match: /last tested|tested/i },
    ],
  },
  oncall: {
    file: 'docs/ONCALL.md',
    title: 'On-call escalation',
    name: /(^|\/)on-?call[^/]*\.md$/i,
    sections: [
      { name: 'Rotation', match: /rotation|schedule/i },
      { name: 'Escalation path', match: /escalation/i },
      { name: 'Contacts', match: /contacts?/i },
    ],
  },
  keyRotation: {
    file: 'docs/KEY-ROTATION.md',
    title: 'Key rotation',
    name: /(^|\/)key[-_ ]?rotation[^/]*\.md$/i,
    sections: [
      { name: 'Procedure', match: /procedure|steps/i },
      { name: 'Verification', match: /verif/i },
      { name: 'Last tested', match: /last tested|tested/i },
    ],
  },
} as const satisfies Record<string, DocSpec>;

export interface FoundDoc {
  file: string;
  headings: { text: string; line: number }[];
}

export function findDoc(scan: ScanResult, spec: DocSpec): FoundDoc | undefined {
  const headings = new Map<string, { text: string; line: number }[]>();
  for (const h of scan.byRule('heading')) {
    const list = headings.get(h.file) ?? [];
    list.push({ text: h.groups?.[0] ?? '', line: h.line });
    headings.set(h.file, list);
  }
  const candidates = scan.files.filter((f) => spec.name.test(f));
  const preferred = candidates.includes(spec.file) ? spec.file : candidates[0];
  if (preferred) return { file: preferred, headings: headings.get(preferred) ?? [] };
  // A markdown file whose first heading names the document.
  const titleRe = new RegExp(spec.title.split(' ')[0], 'i');
  for (const [file, hs] of headings) {
    if (
      hs[0] &&
      hs[0].line <= 3 &&
      titleRe.test(hs[0].text) &&
      /runbook|rollback|on-?call|rotation/i.test(hs[0].text)
    ) {
      return { file, headings: hs };
    }
  }
  return undefined;
}
