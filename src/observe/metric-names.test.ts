import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRICS, metricsMarkdownTable } from './metric-names.ts';

const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');

test('docs/metrics.md holds exactly the METRICS table', () => {
  const between = /<!-- metrics-table:start -->\n([\s\S]*?)\n<!-- metrics-table:end -->/.exec(doc);
  assert.ok(between, 'docs/metrics.md has the metrics-table markers');
  const docRows = between[1].split('\n');
  const codeRows = metricsMarkdownTable().split('\n');
  // Row by row first, so a failure names the metric that differs.
  for (let i = 0; i < Math.max(docRows.length, codeRows.length); i++) {
    assert.equal(docRows[i], codeRows[i], `row ${i + 1} of the metrics table`);
  }
});

test('metric names are valid Prometheus names with unit suffixes, unique', () => {
  const names = new Set<string>();
  for (const m of METRICS) {
    assert.match(m.name, /^[a-z_][a-z0-9_]*$/);
    assert.ok(!names.has(m.name), `duplicate ${m.name}`);
    names.add(m.name);
    if (m.type === 'counter') assert.match(m.name, /_total$/, `${m.name}: counters end in _total`);
    if (m.unit === 's') assert.match(m.name, /_seconds$/, `${m.name}: seconds in the name`);
    for (const l of m.labels) assert.match(l, /^[a-z_][a-z0-9_]*$/);
    assert.ok(!(m.labels as readonly string[]).includes('customer_id'));
  }
});
