/**
 * Exports and the alerts CLI: the Prometheus rules pass `promtool check rules`
 * and fire in `promtool test rules` on the series the gateway exports; the
 * Grafana dashboard parses and references only exported metric names;
 * `gantry alerts test` reaches every configured channel.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { grafanaDashboard, promDuration } from '../src/alerts/export.ts';
import { test as alertsTest, exportRules } from '../src/cli/alerts.ts';
import { exportDashboard } from '../src/cli/dashboards.ts';
import { METRICS, seriesNames } from '../src/observe/metric-names.ts';

const dir = mkdtempSync(join(tmpdir(), 'gantry-alerts-export-'));

function promtool(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    return undefined;
  }
}

const CONFIG = `
alerts:
  rules:
    - metric: error_rate_5xx
    - metric: error_rate_5xx
      scope: client
      warning: 2
      critical: 10
      window_ms: 600000
    - metric: latency_p99
    - metric: latency_p99
      scope: model
    - metric: rate_429
    - metric: rate_429
      scope: client
      critical: null
    - metric: budget_daily
    - metric: auth_failures
`;

test('promDuration', () => {
  assert.equal(promDuration(300_000), '5m');
  assert.equal(promDuration(90_000), '90s');
  assert.equal(promDuration(86_400_000), '1d');
  assert.equal(promDuration(7_200_000), '2h');
});

test('exported Prometheus rules pass promtool check rules', {
  skip: !promtool() && 'promtool not installed (apt-get install -y prometheus)',
}, async () => {
  const configPath = join(dir, 'gantry.yaml');
  writeFileSync(configPath, CONFIG);
  const out = join(dir, 'rules.yml');
  await exportRules({ config: configPath, format: 'prometheus', output: out });
  const text = readFileSync(out, 'utf8');
  assert.match(text, /GantryErrorRate5xxClientWarning/);
  assert.doesNotMatch(text, /GantryRate429ClientCritical/, 'a null threshold exports no alert');
  const result = execFileSync('promtool', ['check', 'rules', out], { encoding: 'utf8' });
  assert.match(result, /SUCCESS: 15 rules found/);
  // Default rules too (no config file).
  const defaults = join(dir, 'defaults.yml');
  await exportRules({ format: 'prometheus', output: defaults, config: join(dir, 'empty.yaml') }).catch(
    async () => {
      writeFileSync(join(dir, 'empty.yaml'), '{}\n');
      await exportRules({ format: 'prometheus', output: defaults, config: join(dir, 'empty.yaml') });
    },
  );
  assert.match(
    execFileSync('promtool', ['check', 'rules', defaults], { encoding: 'utf8' }),
    /SUCCESS: 10 rules found/,
  );
});

test('the exported rules fire like the engine on exported series (promtool test rules)', {
  skip: !promtool() && 'promtool not installed',
}, async () => {
  writeFileSync(join(dir, 'empty.yaml'), '{}\n');
  const rules = join(dir, 'unit-rules.yml');
  await exportRules({ format: 'prometheus', output: rules, config: join(dir, 'empty.yaml') });
  // 100 requests/min of which 10 % are 5xx; 30 429s per minute; one auth failure.
  const spec = {
    rule_files: [rules],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [
          {
            series:
              'gantry_requests_total{client="a",model="m",route="messages",status="200",status_class="2xx",error_type=""}',
            values: '0+90x10',
          },
          {
            series:
              'gantry_requests_total{client="a",model="m",route="messages",status="500",status_class="5xx",error_type="api_error"}',
            values: '0+10x10',
          },
          {
            series:
              'gantry_requests_total{client="a",model="m",route="messages",status="429",status_class="4xx",error_type="rate_limit_error"}',
            values: '0+30x10',
          },
          {
            series: 'gantry_auth_failures_total{source="gateway",status="401"}',
            values: '0 0 0 0 0 0 0 0 1 1 1',
          },
          { series: 'gantry_budget_used_ratio{scope="client:a",period="daily"}', values: '0.5x5 0.85x5' },
        ],
        alert_rule_test: [
          {
            eval_time: '10m',
            alertname: 'GantryErrorRate5xxCritical',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', gantry_rule: 'error_rate_5xx', gantry_scope: 'overall' },
                exp_annotations: {
                  summary: '5xx error rate above 5 %',
                  // 10 server errors out of 90 + 10 + 30 requests a minute
                  description: 'Gantry 5xx error rate is 7.69 % (critical threshold 5 %, window 5m).',
                },
              },
            ],
          },
          {
            eval_time: '10m',
            alertname: 'GantryRate429Critical',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', gantry_rule: 'rate_429', gantry_scope: 'overall' },
                exp_annotations: {
                  summary: '429 rate above 20 /min',
                  description: 'Gantry 429 rate is 30.00 /min (critical threshold 20 /min, window 1m).',
                },
              },
            ],
          },
          {
            eval_time: '10m',
            alertname: 'GantryAuthFailuresCritical',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', gantry_rule: 'auth_failures', gantry_scope: 'overall' },
                exp_annotations: {
                  summary: 'auth failures (401/403) above 0 failures',
                  description:
                    'Gantry auth failures (401/403) is 1.00 failures (critical threshold 0 failures, window 5m).',
                },
              },
            ],
          },
          {
            eval_time: '10m',
            alertname: 'GantryBudgetDailyWarning',
            exp_alerts: [
              {
                exp_labels: {
                  severity: 'warning',
                  gantry_rule: 'budget_daily',
                  gantry_scope: 'overall',
                  scope: 'client:a',
                },
                exp_annotations: {
                  summary: 'daily spend above 80 % of budget',
                  description:
                    'Gantry daily spend is 85.00 % of budget (warning threshold 80 % of budget, window 1d).',
                },
              },
            ],
          },
          { eval_time: '10m', alertname: 'GantryBudgetDailyCritical', exp_alerts: [] },
        ],
      },
    ],
  };
  const specPath = join(dir, 'unit.yml');
  writeFileSync(specPath, JSON.stringify(spec));
  const out = execFileSync('promtool', ['test', 'rules', specPath], { encoding: 'utf8' });
  assert.match(out, /SUCCESS/);
});

test('the Grafana dashboard parses and references only exported metric names', async () => {
  let text = '';
  await exportDashboard({ format: 'grafana' }, { stdout: { write: (t: string) => (text += t) } });
  const dash = JSON.parse(text) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  assert.deepEqual(JSON.parse(JSON.stringify(grafanaDashboard())), dash);
  const known = seriesNames();
  const used = new Set<string>();
  for (const p of dash.panels) {
    assert.ok(p.targets.length > 0, p.title);
    for (const t of p.targets) {
      // Metric names only: drop label matchers and grouping clauses first.
      const bare = t.expr.replace(/\{[^}]*\}/g, '').replace(/by \([^)]*\)/g, '');
      const names = bare.match(/\b(?:gen_ai|gantry)_[a-z0-9_]+/g) ?? [];
      assert.ok(names.length > 0, t.expr);
      for (const n of names) {
        assert.ok(known.has(n), `${p.title}: ${n} is not an exported series`);
        used.add(n);
      }
    }
  }
  const titles = dash.panels.map((p) => p.title).join(' | ');
  for (const want of [
    /Request rate/,
    /Errors by type/,
    /p50 \/ p95 \/ p99/,
    /first token/,
    /Tokens/,
    /Cost by client/,
    /Budget burn/,
    /Breaker/,
  ])
    assert.match(titles, want);
  assert.ok(used.size >= 10);
  assert.ok(METRICS.length > 0);
});

test('gantry alerts test sends a test alert through every channel', async () => {
  const got: Array<{ path: string; body: Record<string, unknown> }> = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: JSON.parse(data) });
      res.writeHead(req.url === '/broken' ? 400 : 200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = {
    HOOK: `${base}/hook`,
    SLACK: `${base}/slack`,
    PD: `${base}/pd`,
    PD_KEY: 'testroutingkey',
    BROKEN: `${base}/broken`,
  };
  const configPath = join(dir, 'channels.yaml');
  writeFileSync(
    configPath,
    `alerts:
  source: cli-test
  channels:
    - { name: hook, type: webhook, url: env:HOOK }
    - { name: team, type: slack, url: env:SLACK }
    - { name: oncall, type: pagerduty, url: env:PD, routing_key: env:PD_KEY, min_severity: critical }
`,
  );
  try {
    let out = '';
    await alertsTest({ config: configPath }, { env, stdout: { write: (t: string) => (out += t) } });
    assert.match(out, /hook \(webhook\): sent \(HTTP 200\)/);
    assert.match(out, /team \(slack\): sent/);
    assert.match(out, /oncall \(pagerduty\): sent/);
    assert.deepEqual(got.map((g) => g.path).sort(), ['/hook', '/pd', '/slack']);
    const hook = got.find((g) => g.path === '/hook')!.body;
    assert.equal(hook.kind, 'test');
    assert.equal(hook.source, 'cli-test');
    const pd = got.find((g) => g.path === '/pd')!.body as {
      event_action: string;
      routing_key: string;
      payload: { summary: string };
    };
    assert.equal(pd.event_action, 'trigger');
    assert.equal(pd.routing_key, 'testroutingkey');
    assert.match(pd.payload.summary, /^\[TEST\]/);
    assert.match(String(got.find((g) => g.path === '/slack')!.body.text), /TEST/);

    // A channel that refuses: exit code 1, and a 4xx is not retried.
    got.length = 0;
    writeFileSync(configPath, 'alerts:\n  channels:\n    - { name: bad, type: webhook, url: env:BROKEN }\n');
    out = '';
    await assert.rejects(
      alertsTest({ config: configPath }, { env, stdout: { write: (t: string) => (out += t) } }),
      (err: { exitCode?: number }) => err.exitCode === 1,
    );
    assert.match(out, /bad \(webhook\): FAILED after 1 attempt\(s\) \(HTTP 400\)/);
    assert.equal(got.length, 1);
  } finally {
    server.close();
  }
});
