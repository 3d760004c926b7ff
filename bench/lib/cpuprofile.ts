/**
 * Summaries of V8 .cpuprofile files (written by `node --cpu-prof`): self time
 * by function and by file. Used by bench/profile.ts.
 */
import { relative } from 'node:path';
import { ROOT } from './targets.ts';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Self time (ms) by function and by file, from a .cpuprofile's samples and time deltas.
 * Samples in the first `fromMs` of the profile (start-up: module loading, config parsing)
 * are left out.
 */
export function summarize(profile: CpuProfile, top = 25, fromMs = 0): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; attribute the interval after sample i to it.
  let at = 0;
  let skipped = 0;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const dt = deltas[i + 1] ?? 0;
    if (at < fromMs * 1000) {
      skipped++;
      continue;
    }
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(dt, 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const short = (url: string) => {
    if (!url) return '';
    const path = url.replace(/^file:\/\//, '');
    return path.startsWith(ROOT) ? relative(ROOT, path) : path.replace(/^.*node_modules\//, 'node_modules/');
  };
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const where = cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}${where ? `  ${where}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const file = cf.url
      ? short(cf.url)
      : cf.functionName.startsWith('(')
        ? cf.functionName
        : '(native / node internals)';
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const table = (m: Map<string, number>, title: string) => {
    const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    const lines = [`${title}`, `${'self ms'.padStart(10)} ${'%'.padStart(6)}  where`];
    for (const [k, us] of rows)
      lines.push(
        `${(us / 1000).toFixed(1).padStart(10)} ${((us / total) * 100).toFixed(1).padStart(6)}  ${k}`,
      );
    return lines.join('\n');
  };
  return [
    `profile: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s wall, ${(total / 1000).toFixed(0)} ms summarized, ${samples.length - skipped} samples (${skipped} start-up samples in the first ${fromMs.toFixed(0)} ms left out)`,
    '',
    table(fns, `Top ${top} functions by self time`),
    '',
    table(files, `Top ${top} files by self time`),
    '',
  ].join('\n');
}
