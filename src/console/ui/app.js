// The console shell: sign-in with the admin key, navigation between pages
// (hash routes, so a page reload stays on its page), light and dark themes,
// keyboard shortcuts. Pages are modules of their own under pages/.
import { api, onUnauthorized, session } from './api.js';
import { ErrorBox } from './components.js';
import { timeZoneLabel } from './format.js';
import { html, render, useEffect, useRef, useState } from './lib.js';
import { AlertsPage } from './pages/alerts.js';
import { CostPage } from './pages/cost.js';
import { KeysPage } from './pages/keys.js';
import { LimitsPage } from './pages/limits.js';
import { OverviewPage } from './pages/overview.js';
import { RequestsPage } from './pages/requests.js';
import { RolloutsPage } from './pages/rollouts.js';

const PAGES = [
  ['overview', 'Overview', OverviewPage],
  ['cost', 'Cost', CostPage],
  ['limits', 'Limits', LimitsPage],
  ['requests', 'Requests', RequestsPage],
  ['alerts', 'Alerts', AlertsPage],
  ['keys', 'Keys', KeysPage],
  ['rollouts', 'Rollouts', RolloutsPage],
];

const THEME = 'gantry.console.theme';

function applyTheme(theme) {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem(THEME));

function currentPage() {
  const id = location.hash.replace(/^#\/?/, '').split('?')[0];
  return PAGES.some(([p]) => p === id) ? id : 'overview';
}

function SignIn({ onSignedIn, reason }) {
  const [error, setError] = useState(reason);
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);
  const submit = async (e) => {
    e.preventDefault();
    const key = input.current.value.trim();
    if (!key) return;
    setBusy(true);
    try {
      const setup = await api('console', { key });
      session.set(key);
      input.current.value = '';
      onSignedIn(setup);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <form class="card signin-card" onSubmit=${submit} aria-labelledby="signin-title">
      <h1 id="signin-title"><span class="brand-mark" aria-hidden="true"></span> Gantry console</h1>
      <p class="muted">Sign in with the admin key of this gateway (<code>admin:</code> in gantry.yaml). It is kept in this tab only and sent to the admin API in a header.</p>
      <label for="admin-key">Admin key</label>
      <input id="admin-key" name="admin-key" type="password" autocomplete="current-password" ref=${input} required spellcheck="false" />
      <button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
      ${error ? html`<${ErrorBox} error=${error} what="Sign-in failed" />` : null}
    </form>
  </main>`;
}

function Help({ onClose }) {
  const ref = useRef(null);
  useEffect(() => ref.current?.showModal(), []);
  return html`<dialog ref=${ref} class="dialog" aria-labelledby="help-title" onClose=${onClose}>
    <h2 id="help-title">Keyboard</h2>
    <dl class="keys">
      ${PAGES.map(([, label], i) => html`<dt><kbd>${i + 1}</kbd></dt><dd>${label}</dd>`)}
      <dt><kbd>/</kbd></dt><dd>Find a request by id (Requests)</dd>
      <dt><kbd>t</kbd></dt><dd>Switch light / dark</dd>
      <dt><kbd>?</kbd></dt><dd>This help</dd>
    </dl>
    <div class="dialog-actions"><button class="btn" type="button" onClick=${() => ref.current.close()}>Close</button></div>
  </dialog>`;
}

function Shell({ setup, onSignOut }) {
  const [page, setPage] = useState(currentPage());
  const [theme, setTheme] = useState(localStorage.getItem(THEME) ?? 'auto');
  const [help, setHelp] = useState(false);
  const main = useRef(null);
  useEffect(() => {
    const onHash = () => {
      setPage(currentPage());
      main.current?.focus();
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const cycleTheme = () => {
    const next = theme === 'auto' ? 'dark' : theme === 'dark' ? 'light' : 'auto';
    setTheme(next);
    localStorage.setItem(THEME, next);
    applyTheme(next);
  };
  useEffect(() => {
    const onKey = (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target;
      if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement)
        return;
      if (document.querySelector('dialog[open]')) return;
      const n = Number(e.key);
      if (n >= 1 && n <= PAGES.length) location.hash = `#/${PAGES[n - 1][0]}`;
      else if (e.key === '?') setHelp(true);
      else if (e.key === 't') cycleTheme();
      else if (e.key === '/') {
        e.preventDefault();
        if (currentPage() !== 'requests') location.hash = '#/requests';
        setTimeout(() => document.getElementById('request-id')?.focus(), 50);
      } else return;
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  });
  const [, title, Page] = PAGES.find(([p]) => p === page);
  useEffect(() => {
    document.title = `${title} · Gantry console`;
  }, [title]);
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <div class="brand"><span class="brand-mark" aria-hidden="true"></span> Gantry console</div>
      <div class="top-meta muted">times in ${timeZoneLabel()} · config ${setup.config_source}</div>
      <div class="top-actions">
        <button type="button" class="btn small" onClick=${cycleTheme} aria-label=${`Theme: ${theme}. Switch theme`}>Theme: ${theme}</button>
        <button type="button" class="btn small" onClick=${() => setHelp(true)} aria-label="Keyboard shortcuts">?</button>
        <button type="button" class="btn small" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <nav class="nav" aria-label="Pages">
      <ul>
        ${PAGES.map(
          ([id, label], i) =>
            html`<li><a href=${`#/${id}`} aria-current=${id === page ? 'page' : undefined} aria-keyshortcuts=${String(i + 1)}>
              <span>${label}</span><kbd aria-hidden="true">${i + 1}</kbd>
            </a></li>`,
        )}
      </ul>
    </nav>
    <main id="main" class="main" tabindex="-1" ref=${main} data-page=${page}>
      <h1 class="page-title">${title}</h1>
      <${Page} setup=${setup} key=${page} />
    </main>
    ${help ? html`<${Help} onClose=${() => setHelp(false)} />` : null}
  </div>`;
}

function App() {
  const [setup, setSetup] = useState(null);
  const [reason, setReason] = useState(null);
  const [checking, setChecking] = useState(Boolean(session.key()));
  useEffect(() => {
    if (!session.key()) return;
    api('console').then(
      (s) => {
        setSetup(s);
        setChecking(false);
      },
      (err) => {
        if (err.status === 401) session.clear();
        setReason(err);
        setChecking(false);
      },
    );
  }, []);
  useEffect(
    () =>
      onUnauthorized((err) => {
        session.clear();
        setSetup(null);
        setReason(err);
      }),
    [],
  );
  if (checking) return html`<p class="boot">Checking the admin key…</p>`;
  if (!setup)
    return html`<${SignIn} reason=${reason} onSignedIn=${(s) => {
      setReason(null);
      setSetup(s);
    }} />`;
  return html`<${Shell}
    setup=${setup}
    onSignOut=${() => {
      session.clear();
      setSetup(null);
    }}
  />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
