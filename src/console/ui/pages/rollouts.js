// Rollouts: fed by one admin route, `GET /admin/rollouts`. Until rollouts
// exist the route does not either (404 `route_not_found`), and this page says
// what it will show. When the route comes, its answer is drawn as it is:
// `{ rollouts: [{ id, status, steps, arms, guards, decisions }] }`.

import { api } from '../api.js';
import { Empty, ErrorBox, Loading, RefreshBar, Section, Table, useData } from '../components.js';
import { time } from '../format.js';
import { html } from '../lib.js';

async function load(signal) {
  try {
    return { view: await api('rollouts', { signal }) };
  } catch (error) {
    if (error?.missing) return { missing: true };
    throw error;
  }
}

export function RolloutsPage() {
  const state = useData(load, [], 10_000);
  const d = state.data;
  if (state.error) return html`<${ErrorBox} error=${state.error} what="Rollouts" />`;
  if (!d) return html`<${Loading} />`;
  if (d.missing)
    return html`<${Empty} title="Rollouts are not configured">
      This gateway has no rollouts yet. Once they exist, this page shows each rollout's steps (what share of traffic goes to
      the new model or prompt), its arms, the guard metrics that judge it (error rate, p99, cost per request) and every
      decision taken (advance, hold, roll back), from <code>GET /admin/rollouts</code>.
    </${Empty}>`;
  const rollouts = d.view.rollouts ?? [];
  return html`
    <${RefreshBar} state=${state} />
    ${
      rollouts.length === 0
        ? html`<${Empty} title="No rollout running">Rollouts are available; none is configured or running now.</${Empty}>`
        : rollouts.map(
            (r) => html`<${Section} title=${`${r.id} · ${r.status ?? ''}`} id=${`rollout-${r.id}`}>
            <${Table} caption="Steps" rows=${r.steps ?? []} columns=${[['Step', (s) => s.name ?? JSON.stringify(s)], ['Share', (s) => s.percent ?? s.weight ?? '–', { num: true }]]} />
            <${Table} caption="Arms" rows=${r.arms ?? []} columns=${[['Arm', (a) => a.name ?? a.id], ['Model', (a) => a.model ?? '–']]} />
            <${Table} caption="Guard metrics" rows=${r.guards ?? []} columns=${[['Guard', (g) => g.metric ?? g.name], ['Value', (g) => String(g.value ?? '–'), { num: true }], ['Limit', (g) => String(g.threshold ?? '–'), { num: true }]]} />
            <${Table} caption="Decisions" rows=${r.decisions ?? []} columns=${[['When', (x) => time(x.at)], ['Decision', (x) => x.action ?? x.decision], ['Why', (x) => x.reason ?? '']]} />
          </${Section}>`,
          )
    }`;
}
