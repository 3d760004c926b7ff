/**
 * ERR-2: retries are bounded and set deliberately (3-5). Each client (or
 * call, for call-level styles) is judged on its retry setting, resolved
 * across files; when unset, a retry wrapper around its calls (a loop over
 * attempts, tenacity, backoff, p-retry, …) can set the bound instead.
 * Attempt counts are converted to retries (attempts − 1).
 */
import type { Site } from '../clients/site.ts';
import { STYLES } from '../clients/styles.ts';
import type { Evidence, Finding } from '../result.ts';
import { defaultRetries, describeUnknown, knobNumbers, retriesKnob, retryBound } from './knobs.ts';
import { hitsFor } from './sites.ts';
import { at, dedupe, type Evaluator, fail, findings, libs, manual, NO_CLAUDE, na, ok, warn } from './util.ts';

const RETRIES_RANGE = [3, 5] as const;

/** The sites whose retry setting is judged, with the request sites that go through each. */
export function knobTargets(ctx: Parameters<Evaluator>[0]): { site: Site; calls: Site[] }[] {
  const out: { site: Site; calls: Site[] }[] = [];
  const calls = ctx.claude.calls.filter((s) => s.kind !== 'probe');
  for (const c of ctx.claude.clients) {
    if (STYLES[c.style].knobsOn !== 'client' && c.style !== 'sdk') continue;
    out.push({ site: c, calls: calls.filter((s) => s.client === c || s === c) });
  }
  for (const s of calls) {
    if (s.kind === 'client') continue;
    if (STYLES[s.style].knobsOn === 'call' || !s.client) out.push({ site: s, calls: [s] });
  }
  return out;
}

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const targets = knobTargets(ctx);
  if (targets.length === 0) return na('no Claude client or request found in code');
  const list: Finding[] = [];
  const ev: Evidence[] = libs(ctx, 'retry');
  let judged = 0;
  for (const { site, calls } of targets) {
    const k = retriesKnob(ctx, site);
    if (k.state === 'none') continue;
    judged++;
    const range = `${RETRIES_RANGE[0]}-${RETRIES_RANGE[1]}`;
    if (k.state === 'set') {
      let ns = knobNumbers(k);
      if (ns && k.unit === 'attempts') ns = ns.map((n) => n - 1);
      if (!ns)
        list.push(
          warn({
            file: site.file,
            line: k.value.at.line,
            message: `could not resolve the retry setting: ${describeUnknown(k.value)}`,
          }),
        );
      else if (ns.some((n) => n < RETRIES_RANGE[0] || n > RETRIES_RANGE[1]))
        list.push(
          fail({
            file: site.file,
            line: k.value.at.line,
            message: `${k.where} gives ${retries(ns)}; expected ${range}`,
          }),
        );
      else ev.push({ file: site.file, line: k.value.at.line, message: `${k.where}: ${retries(ns)}` });
      continue;
    }
    if (k.state === 'open') {
      list.push(warn(at(site, `could not resolve the retry setting: ${k.reason}`)));
      continue;
    }
    // unset: a retry wrapper around the calls may bound them
    const wrappers = calls.flatMap((c) => hitsFor(ctx, c, ['retry']));
    const dflt = defaultRetries(site);
    const what =
      site.style === 'http'
        ? 'no retries around this request'
        : `retries not set: the default is ${dflt ?? 'unbounded'}`;
    if (wrappers.length === 0) {
      list.push(fail(at(site, what)));
      continue;
    }
    const w = wrappers[0];
    const m = ctx.project.module(w.file);
    const b = m ? retryBound(ctx, w, m) : { unknown: w.text };
    if (b.retries?.every((n) => n >= RETRIES_RANGE[0] && n <= RETRIES_RANGE[1]))
      ev.push(at(w, `${retries(b.retries)} by ${w.detail === 'loop' ? 'a retry loop' : w.detail}`));
    else if (b.retries)
      list.push(
        fail(
          at(
            w,
            `${w.detail === 'loop' ? 'a retry loop' : w.detail} gives ${retries(b.retries)}; expected ${range}`,
          ),
        ),
      );
    else list.push(warn(at(w, `could not resolve the retry bound: ${b.unknown}`)));
  }
  if (judged === 0)
    return manual(
      'the Claude Agent SDK has no retry setting: confirm failures are retried 3-5 times with backoff',
    );
  const found = dedupe(list);
  if (found.length === 0) return ok(`every client retries ${RETRIES_RANGE[0]}-${RETRIES_RANGE[1]} times`, ev);
  return findings(`${found.length} retry setting(s) to fix or review`, found, ev);
};

function retries(ns: number[]): string {
  return `${ns.join(' / ')} ${ns.length === 1 && ns[0] === 1 ? 'retry' : 'retries'}`;
}
