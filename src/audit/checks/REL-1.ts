/**
 * REL-1: timeouts are configured (60-120 s per request). Each client (or
 * call, for call-level styles; the HTTP call for raw requests) is judged on
 * its timeout, resolved across files: in range `pass`; unset `fail` (naming
 * the library default: SDK 10 min, fetch and requests none, httpx 5 s,
 * aiohttp 5 min); out of range `fail`; not resolvable `warn`. A timeout
 * wrapper (`asyncio.wait_for`, `AbortSignal.timeout`, an abort timer) in the
 * call's scope counts when the client has none.
 */

import { STYLES } from '../clients/styles.ts';
import type { Evidence, Finding } from '../result.ts';
import { knobTargets } from './ERR-2.ts';
import { describeUnknown, knobNumbers, timeoutKnob } from './knobs.ts';
import { hitsFor } from './sites.ts';
import {
  at,
  configEvidence,
  dedupe,
  type Evaluator,
  fail,
  findings,
  manual,
  NO_CLAUDE,
  na,
  ok,
  warn,
} from './util.ts';

const TIMEOUT_RANGE_S = [60, 120] as const;

const fmt = (s: number) => (s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${s} s`);

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const range = `${TIMEOUT_RANGE_S[0]}-${TIMEOUT_RANGE_S[1]} s`;
  const list: Finding[] = [];
  const ev: Evidence[] = [];
  let judged = 0;
  for (const { site, calls } of knobTargets(ctx)) {
    let k = timeoutKnob(ctx, site);
    if (k.state === 'none') continue;
    judged++;
    if (k.state === 'unset') {
      const w = calls.flatMap((c) => hitsFor(ctx, c, ['timeout-wrapper'])).find((h) => h.bound);
      const m = w ? ctx.project.module(w.file) : undefined;
      if (w?.bound && m)
        k = { state: 'set', value: ctx.ev.eval(w.bound, m), where: w.detail, unit: w.unit ?? 's' };
    }
    if (k.state === 'open') {
      list.push(warn(at(site, `could not resolve the timeout: ${k.reason}`)));
      continue;
    }
    if (k.state === 'unset') {
      const d = k.default !== undefined ? k.default : STYLES[site.style].timeout?.default;
      const dflt = d === null || d === undefined ? 'no timeout' : `a default of ${fmt(d)}`;
      list.push(fail(at(site, `timeout not set: ${dflt}`)));
      continue;
    }
    if (k.state !== 'set') continue;
    const ns = knobNumbers(k);
    if (!ns) {
      list.push(
        warn({
          file: k.value.at.file,
          line: k.value.at.line,
          message: `could not resolve the timeout: ${describeUnknown(k.value)}`,
        }),
      );
      continue;
    }
    if (ns.some((s) => s < TIMEOUT_RANGE_S[0] || s > TIMEOUT_RANGE_S[1]))
      list.push(
        fail({
          file: k.value.at.file,
          line: k.value.at.line,
          message: `timeout is ${ns.map(fmt).join(' / ')}; expected ${range}`,
        }),
      );
    else
      ev.push({
        file: k.value.at.file,
        line: k.value.at.line,
        message: `timeout ${ns.map(fmt).join(' / ')}`,
      });
  }
  if (judged === 0) {
    if (ctx.config?.resolved && ctx.gateway.length > 0) {
      const s = ctx.config.resolved.upstream.headersTimeoutMs / 1000;
      const e = configEvidence(ctx, 'upstream.headers_timeout_ms', `gateway upstream headers timeout ${s} s`);
      if (s < TIMEOUT_RANGE_S[0] || s > TIMEOUT_RANGE_S[1])
        return findings('gateway timeout out of range', [
          fail({ ...e, message: `${e.message}; expected ${range}` }),
        ]);
      return ok('the gateway times out upstream requests in range', [e]);
    }
    if (ctx.claude.calls.length > 0)
      return manual('the Claude Agent SDK has no timeout setting: confirm a stuck session is stopped');
    return manual('no Claude client found; confirm the HTTP client times out after 60-120 s');
  }
  const found = dedupe(list);
  if (found.length === 0) return ok(`every client times out within ${range}`, ev);
  return findings(`${found.length} timeout(s) to fix or review`, found, ev);
};
