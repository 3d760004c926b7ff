/**
 * SAFE-3: output is scanned for sensitive data leakage. Per Claude call: a
 * secret / PII scan or redaction of the output in its scope (detectors,
 * Presidio, scrubadub, LLM Guard, DLP, `redact…` / `scan_output…` helpers) or
 * a PII library imported by a module in scope `pass`; none `fail`. HTML
 * sanitising and schema parsing are not scanning.
 */
import type { Evidence, Finding } from '../result.ts';
import { hitsFor, requestSites } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, NO_CLAUDE, na, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const pii = ctx.libraries.get('pii') ?? [];
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  for (const s of requestSites(ctx)) {
    const scope = ctx.scopes.forSite(s);
    const files = new Set([...scope.files, ...[...scope.fns, ...scope.helpers].map((f) => f.module.file)]);
    const lib = pii.find((p) => files.has(p.hit.file));
    const hits = hitsFor(ctx, s, ['output-scan']);
    if (lib) ev.push(at(lib.hit, `uses ${lib.lib}`));
    else if (hits.length > 0) ev.push(at(hits[0], `scans output: ${hits[0].text}`));
    else list.push(fail(at(s, 'the output of this call is not scanned for secrets or PII')));
  }
  const found = dedupe(list);
  if (found.length === 0 && ev.length > 0) return ok('output of Claude calls is scanned', dedupe(ev));
  if (found.length === 0) return na('no Claude requests found in code');
  return findings(`${found.length} call(s) whose output is not scanned`, found, dedupe(ev));
};
