// Cost: what the ledger says was spent (`GET /admin/cost`, the same rules as
// `gantry report`), by UTC day, client, customer and model; cache hit rate and
// savings; each budget against its 80 % and 100 % lines with the projection to
// the end of its period; `gantry report --recommend`'s suggestions.
import { Chart } from '../chart.js';
import { Empty, ErrorBox, Loading, Meter, RefreshBar, Section, Stat, Table, useApi } from '../components.js';
import { int, pct, ratioPct, time, until, usd } from '../format.js';
import { html, useState } from '../lib.js';

const RANGES = [
  ['today', 'Today (UTC)'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['month', 'This month (UTC)'],
];

function since(range) {
  const d = new Date();
  if (range === 'today')
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())).toISOString();
  if (range === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString();
  return range;
}

/** Dollars with the exact micro-dollars kept for copy and tests. */
export function Usd({ micros }) {
  return html`<span data-micros=${micros} title=${`$${(micros / 1e6).toFixed(6)}`}>${usd(micros)}</span>`;
}

const lineColumns = (keyHead) => [
  [keyHead, (l) => (l.key === 'total' ? html`<strong>total</strong>` : l.key), { key: 'key' }],
  ['Requests', (l) => int(l.requests), { num: true, key: 'requests' }],
  ['Errors', (l) => int(l.errors), { num: true, key: 'errors' }],
  ['Input tok', (l) => int(l.inputTokens), { num: true }],
  ['Output tok', (l) => int(l.outputTokens), { num: true }],
  ['Cache hit', (l) => ratioPct(l.cacheHitRate), { num: true }],
  [
    'Cost',
    (l) =>
      html`<${Usd} micros=${l.costMicros} />${l.unpriced ? html` <span class="badge warning" title="rows whose model or price is unknown: cost is a lower bound">${l.unpriced} unpriced</span>` : ''}`,
    { num: true, key: 'cost' },
  ],
  ['Saved by cache', (l) => html`<${Usd} micros=${l.savingsMicros} />`, { num: true, key: 'saved' }],
];

export function CostPage({ setup }) {
  const [range, setRange] = useState('7d');
  const state = useApi('cost', { since: since(range) });
  const recs = useApi('cost/recommendations', { since: since(range) });
  const d = state.data;
  const picker = html`<label class="inline">Period
    <select value=${range} onChange=${(e) => setRange(e.currentTarget.value)}>
      ${RANGES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
    </select></label>`;
  if (setup.ledger.problem)
    return html`<${Empty} title="No ledger to read">${setup.ledger.problem}. Set <code>storage.ledger</code> to <code>sqlite:./data/ledger.db</code> or a <code>postgres://</code> URL: every request is then priced and written there, and this page shows the spend.</${Empty}>`;
  return html`
    <div class="toolbar">${picker}<${RefreshBar} state=${state} /></div>
    <${ErrorBox} error=${state.error} what="Spend" />
    ${
      !d
        ? html`<${Loading} />`
        : html`
          <p class="muted small">From the ledger (${d.ledger}), ${time(d.since)} to ${time(d.until)}. Days are UTC days, like budget periods.</p>
          <div class="stats">
            <${Stat} label="Spend" value=${html`<${Usd} micros=${d.total.costMicros} />`} testid="spend" />
            <${Stat} label="Requests" value=${int(d.total.requests)} hint=${`${int(d.total.errors)} errors`} testid="cost-requests" />
            <${Stat} label="Cache hit rate" value=${ratioPct(d.total.cacheHitRate)} hint="cache reads of all prompt tokens" testid="hit-rate" />
            <${Stat} label="Saved by the cache" value=${html`<${Usd} micros=${d.total.savingsMicros} />`} testid="savings" />
          </div>
          ${
            d.total.requests === 0
              ? html`<${Empty} title="No requests in this period">Requests through the gateway are priced and written to the ledger (within <code>storage.ledger_flush_ms</code>); pick a longer period or send traffic.</${Empty}>`
              : html`
                <${Chart}
                  title="Spend by day"
                  unit="USD"
                  utc=${true}
                  bars=${true}
                  xRange=${[Date.parse(d.since) - 43_200_000, Date.parse(d.until) + 43_200_000]}
                  x=${d.by_day.map((l) => Date.parse(`${l.key}T12:00:00Z`))}
                  series=${[{ label: 'spend', values: d.by_day.map((l) => l.costMicros / 1e6) }]}
                  format=${(v) => (v === null || v === undefined ? '–' : `$${v.toFixed(4)}`)}
                />
                <${Section} title="By client" id="cost-clients">
                  <${Table} caption="Spend by client" testid="by-client" rows=${d.by_client} rowKey=${(l) => l.key} columns=${lineColumns('Client')} foot=${d.total} />
                </${Section}>
                <div class="grid2">
                  <${Section} title="By customer" id="cost-customers">
                    <${Table} caption="Spend by customer" testid="by-customer" rows=${d.by_customer} rowKey=${(l) => l.key} columns=${lineColumns('Customer').filter((_, i) => [0, 1, 6, 7].includes(i))} />
                    ${
                      d.other_customers
                        ? html`<p class="muted small">and ${int(d.other_customers.customers)} other customers: ${int(d.other_customers.requests)} requests, <${Usd} micros=${d.other_customers.costMicros} />.</p>`
                        : null
                    }
                  </${Section}>
                  <${Section} title="By model" id="cost-models">
                    <${Table} caption="Spend by model" testid="by-model" rows=${d.by_model} rowKey=${(l) => l.key} columns=${lineColumns('Model').filter((_, i) => [0, 1, 5, 6, 7].includes(i))} />
                  </${Section}>
                </div>`
          }
          <${Budgets} budgets=${d.budgets} />
        `
    }
    <${Section} title="Recommendations" id="cost-recs">
      <${ErrorBox} error=${recs.error} what="Recommendations" />
      ${
        !recs.data
          ? html`<${Loading} />`
          : recs.data.recommendations.length === 0
            ? html`<p class="muted">None for this period: a client needs at least 20 successful requests (${int(recs.data.requests)} in the ledger) before a <code>max_tokens</code> or cheaper-model suggestion is made. Same rules as <code>gantry report --recommend</code>.</p>`
            : html`<${Table}
              caption="Recommendations"
              testid="recommendations"
              rows=${recs.data.recommendations}
              columns=${[
                ['Client', (r) => r.client],
                ['Suggestion', (r) => html`<code>${r.suggestion}</code>`],
                ['Why', (r) => r.reason],
                [
                  'Would have saved',
                  (r) => (r.savingsMicros === undefined ? '–' : html`<${Usd} micros=${r.savingsMicros} />`),
                  { num: true },
                ],
              ]}
            />`
      }
    </${Section}>`;
}

function Budgets({ budgets }) {
  if (budgets.length === 0)
    return html`<${Section} title="Budgets" id="cost-budgets"><${Empty} title="No budgets configured">Add <code>limits: { budget: { daily_usd: 50, monthly_usd: 1000 } }</code> to a client (or to an environment, or <code>limits.overall</code>); each budget then shows here with its 80 % and 100 % lines and its projection.</${Empty}></${Section}>`;
  return html`<${Section} title="Budgets" id="cost-budgets">
    <div class="grid2">
      ${budgets.map(
        (b) => html`<div class="budget" data-budget=${`${b.scope} ${b.period}`}>
          <h3>${b.scope} · ${b.period}</h3>
          <p>
            <${Usd} micros=${b.spentMicros} /> of <${Usd} micros=${b.limitMicros} /> (${pct(b.percent)}) ·
            projected <${Usd} micros=${b.projectedMicros} /> by the end of the period · ${b.action} at 100 % · resets ${until(b.resetsAt)} (${time(b.resetsAt)})
          </p>
          <${Meter} percent=${b.percent} label=${`${b.scope} ${b.period} budget used`} marks=${[80]} />
          <${Chart}
            title=${`Spent this ${b.period === 'daily' ? 'day' : 'month'} (cumulative)`}
            unit="USD"
            utc=${true}
            height=${160}
            x=${b.curve.map((p) => p.at)}
            series=${[{ label: 'spent', values: b.curve.map((p) => p.spentMicros / 1e6) }]}
            thresholds=${[
              { value: b.warnAtMicros / 1e6, label: '80 %', tone: 'warning' },
              { value: b.limitMicros / 1e6, label: '100 %', tone: 'critical' },
              { value: b.projectedMicros / 1e6, label: 'projected', tone: 'projection' },
            ]}
            format=${(v) => (v === null || v === undefined ? '–' : `$${v.toFixed(4)}`)}
          />
        </div>`,
      )}
    </div>
  </${Section}>`;
}
