/**
 * The injection detectors on the labelled corpus: precision and recall per
 * detector above the floors documented in docs/safety.md, and the table
 * printed (the same one `node bench/injection-eval.ts` prints).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type CorpusItem, evaluateCorpus, evaluationTable } from '../src/safety/evaluate.ts';
import { INJECTION_RULES } from '../src/safety/injection.ts';

const corpus = JSON.parse(
  readFileSync(new URL('./fixtures/injection-corpus.json', import.meta.url), 'utf8'),
) as { items: CorpusItem[] };

/** Floors (docs/safety.md): per detector and overall, on the whole corpus at threshold 0.5. */
const FLOOR = { precision: 0.85, recall: 0.75, overallPrecision: 0.95, overallRecall: 0.8 };

test('the corpus is large enough and labelled for every detector', () => {
  const positives = corpus.items.filter((i) => i.label === 'injection');
  const benign = corpus.items.filter((i) => i.label === 'benign');
  assert.ok(positives.length >= 60, `${positives.length} positives`);
  assert.ok(benign.length >= 60, `${benign.length} benign`);
  for (const rule of INJECTION_RULES) {
    assert.ok(positives.filter((p) => p.rule === rule).length >= 8, `${rule} has at least 8 positives`);
  }
  assert.ok(
    positives.some((p) => p.source === 'tool_result'),
    'indirect injection in tool results',
  );
});

test('precision and recall per detector stay above the documented floors', (t) => {
  const e = evaluateCorpus(corpus.items);
  t.diagnostic(`\n${evaluationTable(e)}`);
  for (const s of e.perRule) {
    assert.ok(s.precision >= FLOOR.precision, `${s.rule} precision ${s.precision}`);
    assert.ok(s.recall >= FLOOR.recall, `${s.rule} recall ${s.recall}`);
  }
  assert.ok(e.overall.precision >= FLOOR.overallPrecision, `overall precision ${e.overall.precision}`);
  assert.ok(e.overall.recall >= FLOOR.overallRecall, `overall recall ${e.overall.recall}`);
});
