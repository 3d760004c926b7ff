/**
 * Precision and recall of the injection detectors on a labelled corpus
 * (test/fixtures/injection-corpus.json). Used by the corpus test, which
 * asserts floors, and by `bench/injection-eval.ts`, which prints the table in
 * docs/safety.md.
 */
import { detectInjection, INJECTION_RULES } from './injection.ts';

export interface CorpusItem {
  label: 'injection' | 'benign';
  /** For positives: the detector expected to fire. */
  rule?: string;
  source: 'user' | 'tool_result';
  text: string;
  /** `blind`: written after the detectors and never used to tune them. */
  set?: 'blind';
}

export interface DetectorScore {
  rule: string;
  positives: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

export interface Evaluation {
  perRule: DetectorScore[];
  overall: DetectorScore;
  /** Benign items some detector fired on (index, rules), to read the misses. */
  falsePositives: Array<{ index: number; rules: string[] }>;
  falseNegatives: Array<{ index: number; rule: string; fired: string[] }>;
}

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);

export function evaluateCorpus(items: readonly CorpusItem[], threshold = 0.5): Evaluation {
  const fired = items.map((it) =>
    detectInjection(it.text)
      .filter((h) => h.score >= threshold)
      .map((h) => h.rule),
  );
  const score = (rule: string, pos: (i: number) => boolean, hit: (i: number) => boolean): DetectorScore => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let positives = 0;
    items.forEach((it, i) => {
      if (pos(i)) {
        positives++;
        if (hit(i)) tp++;
        else fn++;
      } else if (it.label === 'benign' && hit(i)) fp++;
    });
    return { rule, positives, tp, fp, fn, precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn) };
  };
  const perRule = INJECTION_RULES.map((rule) =>
    score(
      rule,
      (i) => items[i].label === 'injection' && items[i].rule === rule,
      (i) => fired[i].includes(rule),
    ),
  );
  const overall = score(
    'any',
    (i) => items[i].label === 'injection',
    (i) => fired[i].length > 0,
  );
  const falsePositives: Evaluation['falsePositives'] = [];
  const falseNegatives: Evaluation['falseNegatives'] = [];
  items.forEach((it, i) => {
    if (it.label === 'benign' && fired[i].length > 0) falsePositives.push({ index: i, rules: fired[i] });
    if (it.label === 'injection' && it.rule && !fired[i].includes(it.rule)) {
      falseNegatives.push({ index: i, rule: it.rule, fired: fired[i] });
    }
  });
  return { perRule, overall, falsePositives, falseNegatives };
}

/** The markdown table of docs/safety.md. */
export function evaluationTable(e: Evaluation): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows = [...e.perRule, e.overall].map(
    (s) =>
      `| \`${s.rule}\` | ${s.positives} | ${s.tp} | ${s.fp} | ${s.fn} | ${pct(s.precision)} | ${pct(s.recall)} |`,
  );
  return [
    '| detector | positives | TP | FP | FN | precision | recall |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
