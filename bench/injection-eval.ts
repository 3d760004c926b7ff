/**
 * Prints the precision/recall table of the injection detectors on the
 * labelled corpus (the table in docs/safety.md), and the misses with -v.
 *
 *   node bench/injection-eval.ts [-v]
 */
import { readFileSync } from 'node:fs';
import { type CorpusItem, evaluateCorpus, evaluationTable } from '../src/safety/evaluate.ts';

const corpus = JSON.parse(
  readFileSync(new URL('../test/fixtures/injection-corpus.json', import.meta.url), 'utf8'),
) as { items: CorpusItem[] };
const e = evaluateCorpus(corpus.items);
const count = (items: CorpusItem[]) => {
  const positives = items.filter((i) => i.label === 'injection').length;
  return `${positives} positives, ${items.length - positives} benign, threshold 0.5`;
};
console.log(`All items: ${count(corpus.items)}\n`);
console.log(evaluationTable(e));
const blind = corpus.items.filter((i) => i.set === 'blind');
console.log(`\nBlind set only (written after the detectors, never tuned on): ${count(blind)}\n`);
console.log(evaluationTable(evaluateCorpus(blind)));
if (process.argv.includes('-v')) {
  for (const fp of e.falsePositives)
    console.log('FP', fp.rules.join(','), JSON.stringify(corpus.items[fp.index].text));
  for (const fn of e.falseNegatives)
    console.log('FN', fn.rule, fn.fired.join(','), JSON.stringify(corpus.items[fn.index].text));
}
