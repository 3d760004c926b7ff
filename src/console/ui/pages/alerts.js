// Alerts: what is pending or firing now, every transition since (firing,
// severity change, resolved) with the notification each produced — which
// channel took it and what came of the delivery — and the rules in force
// (`GET /admin/alerts`). Refreshed every 10 s.

import { api } from '../api.js';
import { Empty, ErrorBox, Loading, RefreshBar, Section, Table, useData } from '../components.js';
import { duration, time } from '../format.js';
import { html } from '../lib.js';

const value = (v, unit) => `${Math.round(v * 100) / 100} ${unit}`;

export function AlertsPage({ setup }) {
  const state = useData(
    (signal) => (setup.alerts.enabled ? api('alerts', { signal }) : Promise.resolve(null)),
    [],
    10_000,
  );
  if (!setup.alerts.enabled)
    return html`<${Empty} title="Alerts are off">
      Set <code>alerts.enabled: true</code> in gantry.yaml. The checklist's rules (5xx rate, p99 latency, 429s, daily budget,
      auth failures) are then judged every few seconds; add a webhook, Slack or PagerDuty channel under <code>alerts.channels</code>
      to be notified, and <code>gantry alerts test</code> checks the wiring.
    </${Empty}>`;
  const d = state.data;
  return html`
    <${RefreshBar} state=${state} label=${d ? `source ${d.source}, evaluated ${d.evaluated_at ? time(d.evaluated_at) : 'not yet'}` : ''} />
    <${ErrorBox} error=${state.error} what="Alerts" />
    ${
      !d
        ? html`<${Loading} />`
        : html`
          <${Section} title="Active" id="alerts-active">
            <${Table}
              caption="Active alerts"
              testid="active"
              rows=${d.active}
              rowKey=${(a) => a.key}
              empty=${html`<p class="muted">Nothing pending or firing.</p>`}
              columns=${[
                [
                  'Status',
                  (a) =>
                    html`<span class=${`badge ${a.status === 'firing' ? a.severity : 'pending'}`}>${a.status} · ${a.severity}</span>`,
                ],
                ['Alert', (a) => a.summary],
                ['Value now', (a) => value(a.value, a.unit), { num: true }],
                ['Since', (a) => time(a.firedAt ?? a.pendingSince)],
              ]}
            />
          </${Section}>
          <${Section} title="History" id="alerts-history">
            <${Table}
              caption="Alert history, newest first"
              testid="history"
              rows=${d.recent}
              rowKey=${(e) => `${e.at}/${e.key}/${e.kind}`}
              empty=${html`<p class="muted">No alert has fired yet.</p>`}
              columns=${[
                ['When', (e) => time(e.at)],
                [
                  'Event',
                  (e) =>
                    html`<span class=${`badge ${e.kind === 'resolved' ? 'resolved' : e.severity}`}>${e.kind}${e.previous_severity ? ` (was ${e.previous_severity})` : ''}</span>`,
                ],
                ['Alert', (e) => e.summary],
                ['Notification', (e) => html`<${Deliveries} entry=${e} channels=${d.channels} />`],
              ]}
            />
          </${Section}>
          <div class="grid2">
            <${Section} title="Rules" id="alerts-rules">
              <${Table}
                caption="Alert rules"
                testid="rules"
                rows=${d.rules}
                rowKey=${(r) => r.id}
                columns=${[
                  ['Rule', (r) => html`<code>${r.id}</code>`],
                  [
                    'Warning above',
                    (r) => (r.warning === null ? '–' : `${r.warning} ${d.units?.[r.metric] ?? ''}`),
                    { num: true },
                  ],
                  [
                    'Critical above',
                    (r) => (r.critical === null ? '–' : `${r.critical} ${d.units?.[r.metric] ?? ''}`),
                    { num: true },
                  ],
                  ['Window', (r) => duration(r.windowMs), { num: true }],
                  ['Holds for', (r) => duration(r.forMs), { num: true }],
                ]}
              />
            </${Section}>
            <${Section} title="Channels" id="alerts-channels">
              ${
                d.channels.length === 0
                  ? html`<${Empty} title="No channel configured">Alerts are judged and kept here, but nobody is told: add a <code>webhook</code>, <code>slack</code> or <code>pagerduty</code> channel under <code>alerts.channels</code>.</${Empty}>`
                  : html`<${Table}
                    caption="Alert channels"
                    testid="channels"
                    rows=${d.channels}
                    rowKey=${(c) => c.name}
                    columns=${[
                      ['Channel', (c) => c.name],
                      ['Type', (c) => c.type],
                      ['Takes', (c) => `${c.min_severity} and above`],
                    ]}
                  />`
              }
            </${Section}>
          </div>`
    }`;
}

function Deliveries({ entry, channels }) {
  if (entry.deliveries.length === 0)
    return html`<span class="muted">${channels.length === 0 ? 'no channel configured' : 'no channel took it (severity below their minimum) or delivery still running'}</span>`;
  return html`<ul class="deliveries">
    ${entry.deliveries.map(
      (x) => html`<li>
        <span class=${`badge ${x.ok ? 'ok' : 'critical'}`}>${x.ok ? 'sent' : 'failed'}</span>
        ${` ${x.channel} `}
        <span class="muted">${`${x.status ? `HTTP ${x.status}` : (x.error ?? '')}, ${x.attempts} attempt${x.attempts === 1 ? '' : 's'}, ${time(x.at)}`}</span>
      </li>`,
    )}
  </ul>`;
}
