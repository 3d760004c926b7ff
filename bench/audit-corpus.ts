/**
 * Scores `gantry audit` against the hand-labelled corpus
 * (test/audit-corpus/labels/*.yaml): for every repository checked out
 * locally at `<corpus>/<owner>+<name>`, runs the audit with `now` set to the
 * label's `labelled_at` date and compares each labelled check's outcome.
 * Prints agreement per check id and overall. Fetches nothing: repositories
 * that are not present (or not at the labelled commit) are skipped and
 * listed. Label files marked `held_out: true` (labelled after the audit was
 * built, never corrected) are scored and printed as a separate set.
 *
 *   node bench/audit-corpus.ts [--corpus /work/corpus] [--verbose] [--only owner+name,…] [--json]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runAudit } from '../src/audit/audit.ts';
import { CHECK_IDS } from '../src/audit/checks-table.ts';

interface LabelFile {
  repo: string;
  commit: string;
  labelled_at: string;
  styles?: string[];
  held_out?: boolean;
  labels: Record<string, { outcome: string; evidence?: string[] }>;
}

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const corpus = opt('--corpus') ?? process.env.GANTRY_AUDIT_CORPUS ?? '/work/corpus';
const verbose = args.includes('--verbose');
const only = opt('--only')?.split(',');
const labelsDir = new URL('../test/audit-corpus/labels/', import.meta.url).pathname;

interface Score {
  perCheck: Map<string, { agree: number; total: number }>;
  rows: { repo: string; agree: number; total: number; ms: number }[];
  disagreements: string[];
}
const sets: Record<'corpus' | 'held-out', Score> = {
  corpus: {
    perCheck: new Map(CHECK_IDS.map((id) => [id, { agree: 0, total: 0 }])),
    rows: [],
    disagreements: [],
  },
  'held-out': {
    perCheck: new Map(CHECK_IDS.map((id) => [id, { agree: 0, total: 0 }])),
    rows: [],
    disagreements: [],
  },
};
const skipped: string[] = [];

for (const file of readdirSync(labelsDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()) {
  const label = parse(readFileSync(join(labelsDir, file), 'utf8')) as LabelFile;
  const key = file.replace(/\.yaml$/, '');
  if (only && !only.includes(key)) continue;
  const { perCheck, rows, disagreements } = sets[label.held_out ? 'held-out' : 'corpus'];
  const dir = join(corpus, key);
  if (!existsSync(dir)) {
    skipped.push(`${label.repo} (not at ${dir})`);
    continue;
  }
  let head = '';
  try {
    head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir }).toString().trim();
  } catch {
    // not a git work tree
  }
  if (head !== label.commit) {
    skipped.push(`${label.repo} (checked out at ${head || 'no commit'}, labelled at ${label.commit})`);
    continue;
  }
  const t0 = performance.now();
  const report = runAudit(dir, { now: new Date(`${label.labelled_at}T00:00:00Z`) });
  const ms = performance.now() - t0;
  let agree = 0;
  let total = 0;
  for (const [id, l] of Object.entries(label.labels)) {
    const got = report.checks.find((c) => c.id === id);
    if (!got) continue;
    const s = perCheck.get(id);
    if (!s) continue;
    total++;
    s.total++;
    if (got.outcome === l.outcome) {
      agree++;
      s.agree++;
    } else {
      const detail = verbose
        ? `\n      ${got.summary}${[...got.findings, ...got.evidence]
            .slice(0, 4)
            .map(
              (f) => `\n      ${'level' in f ? f.level : 'ok'} ${f.file ?? ''}:${f.line ?? ''} ${f.message}`,
            )
            .join('')}\n      label: ${(l.evidence ?? []).join(' | ')}`
        : '';
      disagreements.push(`${label.repo} ${id}: labelled ${l.outcome}, audit ${got.outcome}${detail}`);
    }
  }
  rows.push({ repo: label.repo, agree, total, ms });
}

const pct = (a: number, t: number) => (t === 0 ? '-' : `${((100 * a) / t).toFixed(1)} %`);
const total = (sc: Score, k: 'agree' | 'total') => sc.rows.reduce((n, r) => n + r[k], 0);

if (args.includes('--json')) {
  const json = (sc: Score) => ({
    repositories: sc.rows.length,
    overall: { agree: total(sc, 'agree'), total: total(sc, 'total') },
    perCheck: Object.fromEntries([...sc.perCheck].filter(([, v]) => v.total > 0)),
    disagreements: sc.disagreements,
  });
  console.log(
    JSON.stringify({ corpus: json(sets.corpus), heldOut: json(sets['held-out']), skipped }, null, 2),
  );
} else {
  for (const [name, sc] of Object.entries(sets)) {
    if (sc.rows.length === 0) continue;
    console.log(
      `${name === 'corpus' ? 'audit corpus' : 'held-out set'}: ${sc.rows.length} repositories scored`,
    );
    for (const r of sc.rows)
      console.log(`  ${r.repo.padEnd(48)} ${`${r.agree}/${r.total}`.padStart(6)}  ${Math.round(r.ms)} ms`);
    console.log('\nagreement per check id:');
    for (const [id, s] of sc.perCheck)
      if (s.total > 0)
        console.log(`  ${id.padEnd(8)} ${`${s.agree}/${s.total}`.padStart(6)}  ${pct(s.agree, s.total)}`);
    console.log(
      `\noverall: ${total(sc, 'agree')}/${total(sc, 'total')} = ${pct(total(sc, 'agree'), total(sc, 'total'))}`,
    );
    const worst = [...sc.perCheck]
      .filter(([, s]) => s.total > 0)
      .sort((a, b) => a[1].agree / a[1].total - b[1].agree / b[1].total)[0];
    if (worst) console.log(`lowest check: ${worst[0]} ${pct(worst[1].agree, worst[1].total)}`);
    if (sc.disagreements.length > 0) console.log(`\ndisagreements:\n  ${sc.disagreements.join('\n  ')}`);
    console.log('');
  }
  if (skipped.length > 0) console.log(`skipped:\n  ${skipped.join('\n  ')}`);
}
