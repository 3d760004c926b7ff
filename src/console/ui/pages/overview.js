// Overview: traffic, errors by type, latency and time to first token over the
// last minutes (the gateway's metric windows), firing alerts, upstream keys
// and breakers. Refreshed every 5 s. Headline figures are `/admin/stats`'s
// for the whole window; the charts are `/admin/traffic`'s slots.
import { api } from '../api.js';
import { Chart } from '../chart.js';
import { Empty, ErrorBox, Loading, RefreshBar, Section, Stat, Table, useData } from '../components.js';
import { int, ms, rate, time } from '../format.js';
import { html } from '../lib.js';

const KINDS = [
  ['5xx', '5xx (all server errors)'],
  ['529', '529 overloaded'],
  ['429', '429 rate limited'],
  ['401_403', '401/403 auth'],
  ['timeout', 'timeouts'],
];

async function settle(p) {
  try {
    return { data: await p };
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    return { error };
  }
}

function lines(rule, unit) {
  if (!rule) return [];
  const out = [];
  if (rule.warning !== null)
    out.push({ value: rule.warning, label: `warning > ${rule.warning} ${unit}`, tone: 'warning' });
  if (rule.critical !== null)
    out.push({ value: rule.critical, label: `critical > ${rule.critical} ${unit}`, tone: 'critical' });
  return out;
}

export function OverviewPage({ setup }) {
  const span = setup.stats.span_ms;
  const state = useData(
    async (signal) => {
      const [traffic, stats, alerts, keys] = await Promise.all([
        settle(api('traffic', { params: { window_ms: span }, signal })),
        settle(api('stats', { params: { window_ms: span }, signal })),
        setup.alerts.enabled ? settle(api('alerts', { signal })) : Promise.resolve({ data: null }),
        settle(api('upstream-keys', { signal })),
      ]);
      return { traffic, stats, alerts, keys };
    },
    [span],
    5_000,
  );
  const d = state.data;
  const minutes = Math.round(span / 60_000);
  if (!d)
    return html`<${RefreshBar} state=${state} />${state.error ? html`<${ErrorBox} error=${state.error} />` : html`<${Loading} />`}`;
  const stats = d.stats.data;
  const traffic = d.traffic.data;
  const overall = stats?.overall;
  const slots = traffic?.slots ?? [];
  const x = slots.map((s) => s.start);
  const thresholds = traffic?.thresholds;
  const firing = (d.alerts.data?.active ?? []).filter((a) => a.status === 'firing');
  const pending = (d.alerts.data?.active ?? []).filter((a) => a.status === 'pending');
  const quiet = overall && overall.latency.count === 0;
  const last = slots.at(-2);
  return html`
    <${RefreshBar} state=${state} label=${`last ${minutes} min, ${traffic ? traffic.interval_ms / 1000 : '…'} s slots`} />
    <${ErrorBox} error=${d.stats.error} what="Latency windows" />
    <${ErrorBox} error=${d.traffic.error} what="Traffic series" />
    <div class="stats">
      <${Stat} label=${`Requests, last ${minutes} min`} value=${int(overall?.latency.count)} hint="POST /v1/messages" testid="requests" />
      <${Stat} label="Requests per second" value=${rate(last?.rps)} hint=${last ? `slot of ${time(last.start)}` : 'no complete slot yet'} testid="rps" />
      <${Stat} label="Latency p50 / p95" value=${`${ms(overall?.latency.p50_ms)} / ${ms(overall?.latency.p95_ms)}`} testid="p50-p95" />
      <${Stat} label="Latency p99" value=${ms(overall?.latency.p99_ms)} hint=${`over ${minutes} min`} testid="p99" />
      <${Stat} label="Time to first token p99" value=${ms(overall?.ttft.p99_ms)} testid="ttft-p99" />
      <${Stat}
        label="Firing alerts"
        value=${setup.alerts.enabled ? String(firing.length) : 'off'}
        tone=${firing.length > 0 ? 'bad' : ''}
        hint=${setup.alerts.enabled ? (pending.length ? `${pending.length} pending` : 'none pending') : 'alerts.enabled is false'}
        testid="firing"
      />
    </div>
    ${
      quiet
        ? html`<${Empty} title=${`No requests in the last ${minutes} minutes`}>
          Point an application at this gateway (<code>ANTHROPIC_BASE_URL</code>) with a client's virtual key; its traffic, errors and latency show here within seconds.
        </${Empty}>`
        : null
    }
    <div class="grid2">
      <${Chart} title="Requests per second" unit="req/s" x=${x} series=${[{ label: 'requests', values: slots.map((s) => s.rps) }]} />
      <${Chart}
        title="Error rate by type"
        unit="% of requests"
        x=${x}
        series=${KINDS.map(([k, label]) => ({ label, values: slots.map((s) => s.errors[k].percent) }))}
        thresholds=${lines(thresholds?.error_rate_5xx, '% 5xx')}
      />
      <${Chart}
        title="Latency (whole request)"
        unit="ms"
        log=${true}
        x=${x}
        series=${['p50', 'p95', 'p99'].map((p) => ({ label: p, values: slots.map((s) => s.latency[`${p}_ms`]) }))}
        thresholds=${lines(thresholds?.latency_p99, 'ms p99')}
      />
      <${Chart}
        title="Time to first token"
        unit="ms"
        log=${true}
        x=${x}
        series=${['p50', 'p95', 'p99'].map((p) => ({ label: p, values: slots.map((s) => s.ttft[`${p}_ms`]) }))}
      />
    </div>
    <p class="muted small">
      Threshold lines: the overall rules of <code>alerts:</code>${thresholds && !thresholds.enabled ? ' (alerts are off: shown for reference, nothing is sent)' : ''}.
      Error types overlap (a 529 is also a 5xx).
    </p>
    <div class="grid2">
      <${Section} title="Firing alerts" id="ov-alerts">
        ${
          !setup.alerts.enabled
            ? html`<${Empty} title="Alerts are off">Set <code>alerts.enabled: true</code> and a channel under <code>alerts.channels</code> to be told about 5xx, p99, 429s, budgets and auth failures.</${Empty}>`
            : d.alerts.error
              ? html`<${ErrorBox} error=${d.alerts.error} what="Alerts" />`
              : html`<${Table}
                caption="Firing alerts"
                testid="firing"
                rows=${firing}
                rowKey=${(a) => a.key}
                empty=${html`<p class="muted">Nothing firing.</p>`}
                columns=${[
                  ['Severity', (a) => html`<span class=${`badge ${a.severity}`}>${a.severity}</span>`],
                  ['Alert', (a) => a.summary],
                  ['Since', (a) => time(a.firedAt)],
                ]}
              />`
        }
      </${Section}>
      <${Section} title="Upstream keys and breakers" id="ov-keys">
        ${
          d.keys.error
            ? html`<${ErrorBox} error=${d.keys.error} what="Upstream keys" />`
            : html`<${KeyStates} view=${d.keys.data} />`
        }
      </${Section}>
    </div>`;
}

function KeyStates({ view }) {
  const keys = Object.entries(view?.environments ?? {}).flatMap(([env, list]) =>
    list.map((k) => ({ env, ...k })),
  );
  const open = (view?.breakers ?? []).filter((b) => b.state !== 'closed');
  return html`
    <${Table}
      caption="Upstream keys"
      testid="ov-keys"
      rows=${keys}
      rowKey=${(k) => `${k.env}/${k.id}`}
      columns=${[
        ['Environment', (k) => k.env],
        ['Key', (k) => html`<code>${k.id}</code>`],
        ['State', (k) => html`<span class=${`badge ${k.state}`}>${k.state}</span>`],
        ['In flight', (k) => int(k.inflight), { num: true }],
      ]}
    />
    <p class="muted small">
      ${
        open.length === 0
          ? `All ${view?.breakers?.length ?? 0} breakers closed. `
          : `${open.length} breaker(s) not closed: ${open.map((b) => `${b.key} / ${b.model} ${b.state}`).join(', ')}. `
      }
      ${`Retry budget window: ${int(view?.retry_budget?.retries)} retries for ${int(view?.retry_budget?.requests)} requests.`}
    </p>`;
}
