import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/load.ts';
import { DEFAULT_RULES } from './config.ts';

const parse = (yaml: string) => parseConfig(yaml, { source: 'test', baseDir: '/etc/gantry' });

test('no alerts section: the checklist defaults, no channels', () => {
  const { alerts } = parse('{}');
  assert.equal(alerts.enabled, true);
  assert.deepEqual(alerts.rules, DEFAULT_RULES);
  assert.deepEqual(alerts.channels, []);
  const byMetric = Object.fromEntries(alerts.rules.map((r) => [r.metric, [r.warning, r.critical]]));
  assert.deepEqual(byMetric, {
    error_rate_5xx: [1, 5],
    latency_p99: [10_000, 30_000],
    rate_429: [5, 20],
    budget_daily: [80, 100],
    auth_failures: [0, 0],
  });
});

test('rules fill what they do not give from the default rule of their metric', () => {
  const { alerts } = parse(`
alerts:
  history_db: data/alerts.db
  rules:
    - { metric: error_rate_5xx, scope: client, warning: 2, window_ms: 600000 }
    - { metric: rate_429, critical: null }
  channels:
    - { type: pagerduty, routing_key: "file:pd-key" }
`);
  assert.deepEqual(alerts.rules[0], {
    id: 'error_rate_5xx:client',
    metric: 'error_rate_5xx',
    scope: 'client',
    warning: 2,
    critical: 5,
    windowMs: 600_000,
    forMs: 60_000,
    minRequests: 20,
  });
  assert.equal(alerts.rules[1].critical, null);
  assert.equal(alerts.historyDb, '/etc/gantry/data/alerts.db');
  assert.deepEqual(alerts.channels[0], {
    name: 'pagerduty-1',
    type: 'pagerduty',
    routingKey: 'file:/etc/gantry/pd-key',
    minSeverity: 'warning',
  });
});

test('channel URLs must be secret references; duplicates and unknown metrics are rejected', () => {
  assert.throws(
    () =>
      parse(
        'alerts:\n  channels:\n    - { type: slack, url: "https://hooks.slack.com/services/T0/B0/XYZ" }\n',
      ),
    /alerts\.channels\[0\]\.url: expected a secret reference/,
  );
  assert.throws(
    () => parse('alerts:\n  channels:\n    - { type: webhook }\n'),
    /alerts\.channels\[0\]\.url: required/,
  );
  assert.throws(
    () => parse('alerts:\n  rules:\n    - { metric: rate_429 }\n    - { metric: rate_429 }\n'),
    /duplicate rule id "rate_429"/,
  );
  assert.throws(() => parse('alerts:\n  rules:\n    - { metric: cpu }\n'), /alerts\.rules\[0\]\.metric/);
  assert.throws(() => parse('metrics:\n  top_customers: 5000\n'), /metrics\.top_customers/);
  assert.throws(() => parse('alerts:\n  chanels: []\n'), /did you mean "channels"/);
});
