// Shared pieces of every page: data loading (once or polled, with the
// refresh visible), empty states that say what to configure, errors that say
// which route failed and why, tables, stat cards, a confirmation dialog.
import { api } from './api.js';
import { clock } from './format.js';
import { html, useCallback, useEffect, useRef, useState } from './lib.js';

/**
 * Loads `load(signal)` now, again when `deps` change, and every `everyMs`
 * (0: once) while not paused. Keeps the last good data while a refresh runs
 * or fails, so the page does not flicker.
 */
export function useData(load, deps, everyMs = 0) {
  const [state, setState] = useState({ data: undefined, error: undefined, at: undefined, busy: true });
  const [paused, setPaused] = useState(false);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, busy: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, at: Date.now(), busy: false });
      },
      (error) => {
        if (!controller.signal.aborted && error?.name !== 'AbortError')
          setState((s) => ({ ...s, error, at: Date.now(), busy: false }));
      },
    );
    return () => controller.abort();
  }, [...deps, tick]);
  useEffect(() => {
    if (!everyMs || paused) return undefined;
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, everyMs);
    return () => clearInterval(id);
  }, [everyMs, paused]);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, paused, setPaused, refresh, everyMs };
}

/** `useData` of one admin route. */
export function useApi(path, params = {}, everyMs = 0) {
  const key = JSON.stringify(params);
  return useData((signal) => api(path, { params, signal }), [path, key], everyMs);
}

/** What the page is showing and when it last refreshed; pause and refresh buttons. */
export function RefreshBar({ state, label }) {
  const { at, busy, everyMs, paused, setPaused, refresh } = state;
  return html`<div class="refresh" role="status" aria-live="polite">
    <span class="refresh-text">
      ${label ? html`<span>${label}</span> · ` : null}
      ${busy ? 'refreshing…' : at ? `updated ${clock(at)}` : ''}
      ${everyMs ? (paused ? ' · live updates paused' : ` · every ${everyMs / 1000} s`) : ''}
    </span>
    ${
      everyMs
        ? html`<button type="button" class="btn small" onClick=${() => setPaused(!paused)} aria-pressed=${paused}>
          ${paused ? 'Resume' : 'Pause'}
        </button>`
        : null
    }
    <button type="button" class="btn small" onClick=${refresh}>Refresh</button>
  </div>`;
}

/** An admin call that failed: the route, the status, and the gateway's message. */
export function ErrorBox({ error, what }) {
  if (!error) return null;
  const status = error.status ? `${error.status} ${error.type}` : error.type;
  return html`<div class="error" role="alert">
    <strong>${what ?? 'Loading failed'}:</strong> ${error.route ? html`<code>${error.route}</code> answered ` : ''}
    ${status ? html`<code>${status}</code>` : ''} — ${error.message}
    ${error.requestId ? html`<span class="muted"> (request id <code>${error.requestId}</code>)</span>` : ''}
  </div>`;
}

/** Nothing to show yet: what this will show, and what to configure or do for it. */
export function Empty({ title, children }) {
  return html`<div class="empty"><p class="empty-title">${title}</p><div>${children}</div></div>`;
}

export function Loading() {
  return html`<p class="muted loading">Loading…</p>`;
}

/** A figure with its label and unit. */
export function Stat({ label, value, hint, tone, testid }) {
  return html`<div class=${`stat ${tone ?? ''}`} data-stat=${testid}>
    <div class="stat-label">${label}</div>
    <div class="stat-value">${value}</div>
    ${hint ? html`<div class="stat-hint">${hint}</div>` : null}
  </div>`;
}

/**
 * A table: `columns` are [header, cell(row), { num, key }]; numeric columns
 * align right. `caption` names it for screen readers.
 */
export function Table({ caption, columns, rows, rowKey, empty, testid, foot }) {
  if (!rows || rows.length === 0) return empty ?? html`<p class="muted">None.</p>`;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}>
    <table data-table=${testid}>
      <caption class="sr-only">${caption}</caption>
      <thead>
        <tr>
          ${columns.map(([head, , o]) => html`<th scope="col" class=${o?.num ? 'num' : ''}>${head}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row, i) =>
            html`<tr key=${rowKey ? rowKey(row) : i} data-row=${rowKey ? rowKey(row) : i}>
              ${columns.map(([, cell, o]) => html`<td class=${o?.num ? 'num' : ''} data-col=${o?.key}>${cell(row)}</td>`)}
            </tr>`,
        )}
      </tbody>
      ${
        foot
          ? html`<tfoot>
            <tr>
              ${columns.map(([, cell, o]) => html`<td class=${o?.num ? 'num' : ''} data-col=${o?.key}>${cell(foot)}</td>`)}
            </tr>
          </tfoot>`
          : null
      }
    </table>
  </div>`;
}

/** A modal confirmation (`<dialog>`: focus stays inside; Escape cancels). Resolves true when confirmed. */
export function useConfirm() {
  const [ask, setAsk] = useState(null);
  const ref = useRef(null);
  useEffect(() => {
    if (ask && ref.current && !ref.current.open) ref.current.showModal();
  }, [ask]);
  const confirm = useCallback(
    (title, body, action) =>
      new Promise((resolve) => {
        setAsk({ title, body, action, resolve });
      }),
    [],
  );
  const close = (ok) => {
    ref.current?.close();
    ask?.resolve(ok);
    setAsk(null);
  };
  const dialog = ask
    ? html`<dialog ref=${ref} class="dialog" aria-labelledby="confirm-title" onCancel=${() => close(false)}>
        <h2 id="confirm-title">${ask.title}</h2>
        <p>${ask.body}</p>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick=${() => close(false)}>Cancel</button>
          <button type="button" class="btn danger" onClick=${() => close(true)} data-confirm>${ask.action}</button>
        </div>
      </dialog>`
    : null;
  return [confirm, dialog];
}

export function Section({ title, children, actions, id }) {
  return html`<section class="card" aria-labelledby=${id}>
    <div class="card-head"><h2 id=${id}>${title}</h2>${actions ?? null}</div>
    ${children}
  </section>`;
}

/** A horizontal bar for a percentage (0–100+), with the figure as text. */
export function Meter({ percent, label, marks = [], headroom = false }) {
  const width = Math.max(0, Math.min(100, percent ?? 0));
  const tone = headroom
    ? percent <= 10
      ? 'bad'
      : percent <= 30
        ? 'warn'
        : 'ok'
    : percent >= 100
      ? 'bad'
      : percent >= 80
        ? 'warn'
        : 'ok';
  return html`<div class="meter" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${percent ?? 0} aria-label=${label}>
    <div class=${`meter-fill ${tone}`} style=${{ width: `${width}%` }}></div>
    ${marks.map((m) => html`<div class="meter-mark" style=${{ left: `${m}%` }} title=${`${m} %`}></div>`)}
  </div>`;
}
