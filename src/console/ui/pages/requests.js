// Requests: the ledger, newest first (`GET /admin/requests`), filtered by
// time, client, customer, model, status and error type, 50 rows a page; a
// request id (`req_…` from the upstream, `gtw_…` from this gateway) finds its
// row. Metadata only: the ledger never holds prompt or completion content.
import { api } from '../api.js';
import { Empty, ErrorBox, Loading, RefreshBar, Section, Table, useData } from '../components.js';
import { int, ms, time } from '../format.js';
import { html, useRef, useState } from '../lib.js';
import { Usd } from './cost.js';

const SINCE = [
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
];
const STATUS = [
  ['', 'Any status'],
  ['2xx', '2xx'],
  ['error', 'Errors (any)'],
  ['4xx', '4xx'],
  ['429', '429'],
  ['5xx', '5xx'],
  ['529', '529'],
];

const ROUTES = [
  ['messages', 'POST /v1/messages'],
  ['count_tokens', 'count_tokens'],
  ['batches.result', 'batch results'],
  ['unmatched', 'refused before routing'],
  ['', 'All routes'],
];

const FIELDS = ['client', 'customer', 'model', 'error_type'];

export function RequestsPage({ setup }) {
  const [filter, setFilter] = useState({ since: '24h', status: '', route: 'messages' });
  const [id, setId] = useState('');
  const [more, setMore] = useState({ rows: [], next: undefined, error: undefined, busy: false });
  const [open, setOpen] = useState(null);
  const form = useRef(null);
  const state = useData(
    async (signal) => {
      setMore({ rows: [], next: undefined });
      return id ? api('requests', { params: { id }, signal }) : api('requests', { params: filter, signal });
    },
    [JSON.stringify(filter), id],
  );
  if (setup.ledger.problem)
    return html`<${Empty} title="No ledger to read">${setup.ledger.problem}. Set <code>storage.ledger</code> to a SQLite file or a PostgreSQL URL: every request then leaves one row (ids, client, model, status, tokens, cost, timings — never content) and shows here.</${Empty}>`;
  const apply = (e) => {
    e.preventDefault();
    const data = new FormData(form.current);
    const next = { since: data.get('since'), status: data.get('status'), route: data.get('route') };
    for (const f of FIELDS) next[f] = String(data.get(f) ?? '').trim();
    setId('');
    setFilter(next);
  };
  const find = (e) => {
    e.preventDefault();
    const value = String(new FormData(e.currentTarget).get('id') ?? '').trim();
    setId(value);
  };
  const loadMore = async () => {
    const cursor = more.next ?? state.data?.next;
    setMore((m) => ({ ...m, busy: true }));
    try {
      const page = await api('requests', { params: { ...filter, cursor } });
      setMore((m) => ({ rows: [...m.rows, ...page.rows], next: page.next, busy: false }));
    } catch (error) {
      setMore((m) => ({ ...m, error, busy: false }));
    }
  };
  const rows = [...(state.data?.rows ?? []), ...more.rows];
  const next = more.next === undefined ? state.data?.next : more.next;
  return html`
    <div class="grid2 narrow">
      <form class="card filters" ref=${form} onSubmit=${apply} aria-label="Filter requests">
        <label>Period<select name="since" value=${filter.since}>${SINCE.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
        <label>Status<select name="status" value=${filter.status}>${STATUS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
        <label>Route<select name="route" value=${filter.route}>${ROUTES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
        <label>Client<input name="client" list="clients" value=${filter.client ?? ''} autocomplete="off" /></label>
        <datalist id="clients">${setup.clients.map((c) => html`<option value=${c.name}></option>`)}</datalist>
        <label>Customer<input name="customer" value=${filter.customer ?? ''} autocomplete="off" /></label>
        <label>Model<input name="model" value=${filter.model ?? ''} autocomplete="off" placeholder="claude-…" /></label>
        <label>Error type<input name="error_type" value=${filter.error_type ?? ''} autocomplete="off" placeholder="rate_limit_error" /></label>
        <button class="btn primary" type="submit">Apply filters</button>
      </form>
      <form class="card search" onSubmit=${find} aria-label="Find a request by id" role="search">
        <label for="request-id">Request id</label>
        <input id="request-id" name="id" placeholder="req_… or gtw_…" autocomplete="off" spellcheck="false" value=${id} />
        <button class="btn primary" type="submit">Find</button>
        ${id ? html`<button class="btn" type="button" onClick=${() => setId('')}>Back to the list</button>` : null}
        <p class="muted small">The gateway id is in the <code>gantry-request-id</code> response header; the upstream's <code>req_…</code> id in <code>request-id</code>. Press <kbd>/</kbd> anywhere to come here.</p>
      </form>
    </div>
    <${RefreshBar} state=${state} label=${id ? `request id ${id}` : state.data ? `${time(state.data.since)} to ${time(state.data.until)}` : ''} />
    <${ErrorBox} error=${state.error} what="Requests" />
    ${
      !state.data
        ? html`<${Loading} />`
        : rows.length === 0
          ? html`<${Empty} title=${id ? `No request with id ${id}` : 'No requests match'}>
            ${
              id
                ? 'Gateway ids (gtw_…) are looked up directly; upstream ids (req_…) among the last 31 days. Rows reach the ledger within storage.ledger_flush_ms of the request ending.'
                : 'Widen the period or clear a filter. Rows reach the ledger within storage.ledger_flush_ms of the request ending.'
            }
          </${Empty}>`
          : html`<${Section} title=${id ? 'Found' : 'Newest first'} id="requests-list">
            <${Table}
              caption="Requests"
              testid="requests"
              rows=${rows}
              rowKey=${(r) => r.id}
              columns=${[
                ['Time', (r) => time(r.ts)],
                [
                  'Id',
                  (r) =>
                    html`<button type="button" class="link" aria-expanded=${open === r.id} onClick=${() => setOpen(open === r.id ? null : r.id)}><code>${r.id}</code></button>`,
                  { key: 'id' },
                ],
                ['Client', (r) => r.client ?? '–'],
                ['Customer', (r) => r.customer ?? '–'],
                ['Model', (r) => r.model ?? '–'],
                [
                  'Status',
                  (r) =>
                    html`<span class=${`badge s${String(r.status ?? 0)[0]}`} title=${r.errorType ?? 'no error'}>${r.status ?? '–'}</span>`,
                  { key: 'status' },
                ],
                ['Tokens in / out', (r) => `${int(r.inputTokens)} / ${int(r.outputTokens)}`, { num: true }],
                ['Cost', (r) => html`<${Usd} micros=${r.costMicros} />`, { num: true, key: 'cost' }],
                ['Latency', (r) => ms(r.latencyMs), { num: true }],
              ]}
            />
            ${open ? html`<${Detail} row=${rows.find((r) => r.id === open)} />` : null}
            ${
              !id && next
                ? html`<button class="btn" type="button" onClick=${loadMore} disabled=${more.busy}>${more.busy ? 'Loading…' : 'Load older requests'}</button>`
                : null
            }
            <${ErrorBox} error=${more.error} what="Older requests" />
          </${Section}>`
    }`;
}

function Detail({ row }) {
  if (!row) return null;
  let decisions = [];
  try {
    decisions = JSON.parse(row.decisions);
  } catch {
    decisions = [];
  }
  const pairs = [
    ['Gateway id', row.id],
    ['Upstream request id', row.upstreamRequestId ?? '–'],
    ['Route', row.route],
    ['Environment', row.environment ?? '–'],
    ['Requested model', row.requestedModel ?? '(as run)'],
    ['Stream', row.stream ? 'yes' : 'no'],
    ['Outcome', `${row.outcome ?? '–'}${row.errorType ? ` (${row.errorType})` : ''}`],
    [
      'Input / cache write 5m / 1h / cache read / output tokens',
      `${int(row.inputTokens)} / ${int(row.cacheWrite5mTokens)} / ${int(row.cacheWrite1hTokens)} / ${int(row.cacheReadTokens)} / ${int(row.outputTokens)}`,
    ],
    [
      'Cost',
      html`<${Usd} micros=${row.costMicros} />${row.priced ? '' : ' (lower bound: model or price unknown)'}${row.batch ? ' (batch price)' : ''}`,
    ],
    ['Latency / first byte', `${ms(row.latencyMs)} / ${ms(row.ttftMs)}`],
    ['Upstream attempts', int(row.attempts)],
  ];
  return html`<div class="detail" aria-live="polite">
    <dl>${pairs.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
    <h3>Decisions</h3>
    ${
      decisions.length === 0
        ? html`<p class="muted">None: the request went through as sent.</p>`
        : html`<ul class="decisions">${decisions.map((d) => html`<li><code>${d.stage}</code> ${d.action} <code>${d.rule}</code>${d.detail ? ` (${d.detail})` : ''}</li>`)}</ul>`
    }
  </div>`;
}
