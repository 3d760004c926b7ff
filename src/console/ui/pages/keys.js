// Keys: the upstream keys of each environment with their state (in rotation,
// draining, taken out, failed) and why; take out, drain and restore through
// `POST /admin/upstream-keys` (what `gantry keys rotate` drives), each after a
// confirmation. Breakers per key and model, and the retry budget.
import { api } from '../api.js';
import { Empty, ErrorBox, Loading, RefreshBar, Section, Table, useApi, useConfirm } from '../components.js';
import { int, ms } from '../format.js';
import { html, useState } from '../lib.js';

const STATE = {
  active: 'in rotation',
  draining: 'draining (no new requests while an active key is left)',
  disabled: 'taken out',
  failed: 'failed (401/403 from the upstream); comes back when its secret changes or a probe succeeds',
};

const ACTIONS = [
  ['disabled', 'Take out', 'takes no request from now on (requests in flight finish)'],
  ['draining', 'Drain', 'takes no new request while an active key is left'],
  ['active', 'Restore', 'takes requests again'],
];

export function KeysPage() {
  const state = useApi('upstream-keys', {}, 5_000);
  const [confirm, dialog] = useConfirm();
  const [result, setResult] = useState(null);
  const change = async (env, key, to, label, effect) => {
    const ok = await confirm(
      `${label} key ${key.id}?`,
      `Key ${key.id} of environment ${env} ${effect}.`,
      label,
    );
    if (!ok) return;
    try {
      await api('upstream-keys', { method: 'POST', body: { environment: env, id: key.id, state: to } });
      setResult({ ok: true, text: `Key ${key.id} of ${env} is now ${to}.` });
    } catch (error) {
      setResult({ ok: false, error });
    }
    state.refresh();
  };
  const d = state.data;
  return html`
    <${RefreshBar} state=${state} />
    <${ErrorBox} error=${state.error} what="Upstream keys" />
    ${result?.ok ? html`<p class="notice" role="status">${result.text}</p>` : null}
    ${result && !result.ok ? html`<${ErrorBox} error=${result.error} what="Changing the key failed" />` : null}
    ${
      !d
        ? html`<${Loading} />`
        : html`${Object.entries(d.environments).map(
            ([env, keys]) => html`<${Section} title=${`Environment ${env}`} id=${`env-${env}`}>
              <${Table}
                caption=${`Upstream keys of ${env}`}
                testid=${`keys-${env}`}
                rows=${keys}
                rowKey=${(k) => k.id}
                columns=${[
                  [
                    'Key',
                    (k) =>
                      html`<code>${k.id}</code>${k.has_value ? '' : html` <span class="badge warning" title="its secret reference has no value">no value</span>`}`,
                  ],
                  [
                    'State',
                    (k) => html`<span class=${`badge ${k.state}`} title=${STATE[k.state]}>${k.state}</span>`,
                    { key: 'state' },
                  ],
                  ['Why', (k) => k.reason],
                  ['Weight', (k) => int(k.weight), { num: true }],
                  ['In flight', (k) => int(k.inflight), { num: true }],
                  [
                    'Actions',
                    (k) => html`<div class="actions">
                      ${ACTIONS.filter(([to]) => to !== k.state).map(
                        ([to, label, effect]) =>
                          html`<button type="button" class=${`btn small ${to === 'disabled' ? 'danger' : ''}`} data-action=${to} onClick=${() => change(env, k, to, label, effect)}>
                            ${label}
                          </button>`,
                      )}
                    </div>`,
                  ],
                ]}
              />
            </${Section}>`,
          )}
          <div class="grid2">
            <${Section} title="Circuit breakers" id="keys-breakers">
              <${Table}
                caption="Circuit breakers"
                testid="breakers"
                rows=${d.breakers}
                rowKey=${(b) => `${b.key}/${b.model}`}
                empty=${html`<p class="muted">No breaker yet: one opens per key and model once requests go through.</p>`}
                columns=${[
                  ['Key', (b) => html`<code>${b.key}</code>`],
                  ['Model', (b) => b.model],
                  [
                    'State',
                    (b) =>
                      html`<span class=${`badge ${b.state === 'closed' ? 'ok' : 'critical'}`}>${b.state}</span>`,
                  ],
                  ['Retry after', (b) => ms(b.retryAfterMs), { num: true }],
                ]}
              />
            </${Section}>
            <${Section} title="Retry budget" id="keys-retry">
              <p>${int(d.retry_budget.retries)} retries for ${int(d.retry_budget.requests)} requests in the budget's window (<code>resilience.retry_budget</code>).</p>
            </${Section}>
          </div>
          ${Object.keys(d.environments).length === 0 ? html`<${Empty} title="No environments">Configure <code>environments</code> with an <code>upstream_key</code> or <code>upstream_keys</code>.</${Empty}>` : null}`
    }
    ${dialog}`;
}
