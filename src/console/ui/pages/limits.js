// Limits: each configured scope's rate-limit headroom and budget with the
// reservations of requests in flight (`GET /admin/limits`, read from the
// state store every replica shares), and the upstream's tier from the last
// `anthropic-ratelimit-*` headers. Refreshed every 5 s.
import { Empty, ErrorBox, Loading, Meter, RefreshBar, Section, Table, useApi } from '../components.js';
import { int, pct, time, until } from '../format.js';
import { html } from '../lib.js';
import { Usd } from './cost.js';

const DIM = { rpm: 'requests / min', input_tpm: 'input tokens / min', output_tpm: 'output tokens / min' };

export function LimitsPage({ setup }) {
  const state = useApi('limits', {}, 5_000);
  const d = state.data;
  return html`
    <${RefreshBar} state=${state} label=${d ? `state store: ${d.store}` : ''} />
    <${ErrorBox} error=${state.error} what="Limits" />
    ${
      !d
        ? html`<${Loading} />`
        : html`
          ${
            d.scopes.length === 0
              ? html`<${Empty} title="No rate limits or budgets configured">
                Give a client <code>limits: { rpm: 600, output_tpm: 40000, budget: { daily_usd: 50 } }</code> (or an environment under
                <code>limits.environments</code>, or <code>limits.overall</code>). Each scope then shows its headroom here; with
                <code>storage.state: redis://…</code> every replica shares them.
              </${Empty}>`
              : d.scopes.map((s) => html`<${Scope} scope=${s} />`)
          }
          <${Section} title="Upstream tier" id="limits-upstream">
            ${
              d.upstream.length === 0
                ? html`<${Empty} title="No upstream rate-limit headers seen yet">The tier and the organisation's limits come from the <code>anthropic-ratelimit-*</code> headers of the upstream's answers; they show after the first request this gateway forwards.</${Empty}>`
                : html`<${Table}
                  caption="Upstream limits per environment"
                  testid="upstream"
                  rows=${d.upstream.flatMap((u) => Object.entries(u.limits).map(([kind, l]) => ({ u, kind, l })))}
                  rowKey=${(r) => `${r.u.environment}/${r.kind}`}
                  columns=${[
                    ['Environment', (r) => r.u.environment],
                    ['Tier', (r) => html`<span class="badge">${r.u.tier}</span>`],
                    ['Limit', (r) => r.kind],
                    ['Per minute', (r) => int(r.l.limit), { num: true }],
                    ['Remaining', (r) => int(r.l.remaining), { num: true }],
                    ['Resets', (r) => (r.l.reset ? time(r.l.reset) : '–')],
                    ['Seen', (r) => time(r.u.observedAt)],
                  ]}
                />`
            }
          </${Section}>`
    }
    ${setup.local_mode ? html`<p class="muted small">Local mode (no clients configured): limits apply to environments and overall only.</p>` : null}`;
}

function Scope({ scope }) {
  return html`<${Section} title=${scope.scope} id=${`scope-${scope.scope}`}>
    ${
      scope.rates.length > 0
        ? html`<${Table}
          caption=${`Rate limits of ${scope.scope}`}
          testid=${`rates-${scope.scope}`}
          rows=${scope.rates}
          rowKey=${(r) => r.dimension}
          columns=${[
            ['Limit', (r) => DIM[r.dimension] ?? r.dimension],
            ['Per minute', (r) => int(r.limitPerMinute), { num: true }],
            ['Available now', (r) => int(r.remaining), { num: true, key: 'remaining' }],
            [
              'Headroom',
              (r) =>
                html`<div class="meter-cell"><${Meter} percent=${r.headroomPercent} headroom=${true} label=${`${DIM[r.dimension]} headroom`} /> ${pct(r.headroomPercent)}</div>`,
            ],
            ['Full again', (r) => until(r.fullAt)],
          ]}
        />`
        : null
    }
    ${
      scope.budgets.length > 0
        ? html`<${Table}
          caption=${`Budgets of ${scope.scope}`}
          testid=${`budgets-${scope.scope}`}
          rows=${scope.budgets}
          rowKey=${(b) => b.period}
          columns=${[
            ['Budget', (b) => `${b.period} (${b.action})`],
            ['Spent', (b) => html`<${Usd} micros=${b.spentMicros} />`, { num: true }],
            [
              'Reserved in flight',
              (b) => html`<${Usd} micros=${b.reservedMicros} />`,
              { num: true, key: 'reserved' },
            ],
            ['Limit', (b) => html`<${Usd} micros=${b.limitMicros} />`, { num: true }],
            [
              'Used',
              (b) =>
                html`<div class="meter-cell"><${Meter} percent=${b.percent} label=${`${b.period} budget used`} marks=${[80]} /> ${pct(b.percent)}</div>`,
            ],
            ['Resets', (b) => until(b.resetsAt)],
          ]}
        />`
        : null
    }
  </${Section}>`;
}
