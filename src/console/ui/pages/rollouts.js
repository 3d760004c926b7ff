// Rollouts: one admin route, `GET /admin/rollouts` (src/rollouts/admin.ts),
// drawn as it answers: each rollout's status and candidate share, its steps,
// its arms, the guards as the gateway last read them (candidate, baseline,
// bound) and its decisions with their reasons. A gateway without the route
// (404: an older release) gets the empty state. Refreshed every 5 s; the page
// only reads — `gantry rollout …` moves rollouts.

import { api } from '../api.js';
import { Empty, ErrorBox, Loading, RefreshBar, Section, Table, useData } from '../components.js';
import { duration, ms, time } from '../format.js';
import { html } from '../lib.js';

async function load(signal) {
  try {
    return { view: await api('rollouts', { signal }) };
  } catch (error) {
    if (error?.missing) return { missing: true };
    throw error;
  }
}

const num = (v, unit) =>
  v === null || v === undefined ? '–' : unit === 'ms' ? ms(v) : `${Math.round(v * 1e6) / 1e6} ${unit}`;
const changes = (a) =>
  Object.entries(a)
    .filter(([k]) => k !== 'name' && k !== 'model')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(', ') || '–';
const guardState = (g) =>
  g.breached
    ? html`<span class="badge critical">breached</span>`
    : g.judged
      ? html`<span class="badge ok">ok</span>`
      : html`<span class="muted">too few samples</span>`;

function Rollout({ r }) {
  return html`<${Section} title=${`${r.id} · ${r.status} · ${r.percent} % on the candidate`} id=${`rollout-${r.id}`}>
    <p class="muted">
      Clients ${r.clients.join(', ')}; guards over ${duration(r.window_ms)}, judged every ${duration(r.evaluate_every_ms)} from${' '}
      ${r.min_samples} candidate requests.
      ${r.evaluation ? html` Last evaluation: <strong>${r.evaluation.verdict}</strong> — ${r.evaluation.reason}.` : ''}
    </p>
    <${Table} caption="Steps" testid=${`steps-${r.id}`} rows=${r.steps} columns=${[
      ['Step', (s) => (s.current ? html`<strong>▶ ${s.name}</strong>` : s.name)],
      ['Candidate share', (s) => `${s.percent} %`, { num: true }],
      ['Hold', (s) => duration(s.hold_ms), { num: true }],
      ['Min requests', (s) => s.min_requests, { num: true }],
    ]} />
    <${Table} caption="Arms" testid=${`arms-${r.id}`} rows=${r.arms} rowKey=${(a) => a.name} columns=${[
      ['Arm', (a) => a.name],
      ['Model', (a) => a.model ?? 'as requested'],
      ['Changes', changes],
    ]} />
    <${Table} caption="Guards" testid=${`guards-${r.id}`} rows=${r.guards} rowKey=${(g) => g.metric} columns=${[
      ['Guard', (g) => g.metric],
      ['Candidate', (g) => num(g.candidate, g.unit), { num: true, key: 'candidate' }],
      ['Baseline', (g) => num(g.baseline, g.unit), { num: true }],
      ['Bound', (g) => num(g.threshold, g.unit), { num: true }],
      ['State', guardState],
    ]} />
    <${Table}
      caption="Decisions, newest first"
      testid=${`decisions-${r.id}`}
      rows=${r.decisions}
      empty=${html`<p class="muted">No decision yet: <code>npx gantry rollout start ${r.id}</code> starts it.</p>`}
      columns=${[
        ['When', (x) => time(x.at)],
        [
          'Decision',
          (x) =>
            html`<span class=${`badge ${x.action === 'rolled_back' ? 'critical' : 'ok'}`}>${x.action}</span>`,
        ],
        ['By', (x) => x.by],
        ['Share', (x) => `${x.from_percent} → ${x.to_percent} %`, { num: true }],
        ['Why', (x) => x.reason],
      ]}
    />
  </${Section}>`;
}

export function RolloutsPage() {
  const state = useData(load, [], 5_000);
  const d = state.data;
  if (state.error) return html`<${ErrorBox} error=${state.error} what="Rollouts" />`;
  if (!d) return html`<${Loading} />`;
  if (d.missing)
    return html`<${Empty} title="Rollouts are not available">
      This gateway answers no <code>GET /admin/rollouts</code> (an older release). Rollouts move a share of a client's traffic
      to a new model, settings or prompt step by step and roll back on their own when a guard is breached.
    </${Empty}>`;
  const rollouts = d.view.rollouts ?? [];
  return html`
    <${RefreshBar} state=${state} label=${d.view.store ? `state in ${d.view.store}` : ''} />
    ${
      rollouts.length === 0
        ? html`<${Empty} title="No rollouts configured">
            Declare one under <code>rollouts:</code> in gantry.yaml (docs/rollouts.md): the clients it applies to, a baseline and
            a candidate arm (model, max_tokens, thinking, prompt caching, environment, prompt version), steps and guards. Then
            <code>npx gantry rollout start &lt;id&gt;</code>.
          </${Empty}>`
        : rollouts.map((r) => html`<${Rollout} r=${r} key=${r.id} />`)
    }`;
}
