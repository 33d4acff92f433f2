// stafet.js: the caseworkers' web UI. Plain ES modules, no build step.
// Hash routes (#/sog, #/notater/{id} — the link in Stafet's mails), a
// login page when there is no session, and the header with the menu.

import { ApiError, del, get, post, setUnauthorizedHandler } from './js/api.js';
import { announce, clear, field, h, notice, replace } from './js/dom.js';
import { canSeeQuality, resetState, state } from './js/state.js';
import * as search from './js/pages/search.js';
import * as counterpart from './js/pages/counterpart.js';
import * as note from './js/pages/note.js';
import * as boxes from './js/pages/boxes.js';
import * as quality from './js/pages/quality.js';
import * as settings from './js/pages/settings.js';

const main = () => document.getElementById('main');

const NAV = [
  { href: '#/sog', text: 'Søg kollega', match: /^\/(sog|personer|enheder)/ },
  { href: '#/modtager', text: 'Find modtager', match: /^\/modtager/ },
  { href: '#/indbakke', text: 'Indbakke', match: /^\/indbakke/ },
  { href: '#/udbakke', text: 'Udbakke', match: /^\/(udbakke|notater\/ny)/ },
  { href: '#/kvalitet', text: 'Kvalitet', match: /^\/kvalitet/, show: canSeeQuality },
  { href: '#/indstillinger', text: 'Indstillinger', match: /^\/indstillinger/ },
];

const ROUTES = [
  { re: /^\/sog$/, page: search.renderSearch },
  { re: /^\/personer\/([^/]+)$/, page: search.renderPerson },
  { re: /^\/enheder\/([^/]+)$/, page: search.renderUnit },
  { re: /^\/modtager$/, page: counterpart.render },
  { re: /^\/notater\/ny$/, page: note.renderNew },
  { re: /^\/notater\/([0-9a-fA-F-]{36})$/, page: note.renderExisting },
  { re: /^\/indbakke$/, page: (el, ctx) => boxes.render(el, { ...ctx, box: 'incoming' }) },
  { re: /^\/udbakke$/, page: (el, ctx) => boxes.render(el, { ...ctx, box: 'outgoing' }) },
  { re: /^\/kvalitet$/, page: quality.render },
  { re: /^\/indstillinger$/, page: settings.render },
];

let cleanup = null;
let renderSeq = 0;

function parseHash() {
  const raw = window.location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch (e) { /* keep it as it is */ }
  return { path: decoded || '/', query };
}

/** Goes to a hash route; replace: without a new history entry. */
export function navigate(hash, { replace: repl = false } = {}) {
  if (window.location.hash === hash) {
    route();
    return;
  }
  if (repl) {
    window.history.replaceState(null, '', hash);
    route();
  } else {
    window.location.hash = hash;
  }
}

function renderNav(path) {
  const nav = document.getElementById('main-nav');
  const list = h('ul', { class: 'main-nav__list' });
  for (const item of NAV) {
    if (item.show && !item.show()) continue;
    const current = item.match.test(path);
    list.append(h('li', {}, h('a', { href: item.href, 'aria-current': current ? 'page' : null }, item.text)));
  }
  replace(nav, list);
  nav.hidden = false;
}

function renderUserBox() {
  const box = document.getElementById('user-box');
  const me = state.me;
  const who = me.unit ? `${me.display_name} (${me.unit.code})` : me.display_name;
  replace(box,
    h('span', { class: 'user-box__name' }, who),
    h('button', { type: 'button', class: 'button button--quiet', id: 'logout', onclick: logout }, 'Log ud'));
  box.hidden = false;
}

function hideChrome() {
  document.getElementById('main-nav').hidden = true;
  document.getElementById('user-box').hidden = true;
}

async function route() {
  if (!state.me) return;
  const { path, query } = parseHash();
  if (path === '/' || path === '') {
    navigate('#/indbakke', { replace: true });
    return;
  }
  renderNav(path);
  if (cleanup) {
    try {
      cleanup();
    } catch (e) { /* a page's cleanup must not stop the next page */ }
    cleanup = null;
  }
  const seq = ++renderSeq;
  const el = clear(main());
  const match = ROUTES.map((r) => ({ r, m: r.re.exec(path) })).find((x) => x.m);
  if (!match) {
    document.title = 'Siden findes ikke – Stafet';
    el.append(h('h1', { tabindex: '-1', class: 'page-title' }, 'Siden findes ikke'),
      h('p', {}, 'Adressen passer ikke til en side i Stafet. ', h('a', { href: '#/indbakke' }, 'Gå til indbakken'), '.'));
    focusHeading(el);
    return;
  }
  const ctx = { params: match.m.slice(1), query, navigate, isCurrent: () => seq === renderSeq };
  let result;
  try {
    result = match.r.page(el, ctx);
    focusHeading(el);
    result = await result;
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return;
    el.append(notice('error', e instanceof ApiError ? e.userMessage : 'Siden kunne ikke vises. Prøv at genindlæse den.'));
    if (!(e instanceof ApiError)) console.warn(e); // eslint-disable-line no-console
  }
  if (seq === renderSeq && typeof result === 'function') cleanup = result;
}

/** Does the page hold changes that are not saved (a note being written)? */
function unsavedWork() {
  return !!(state.me && cleanup && typeof cleanup.isDirty === 'function' && cleanup.isDirty());
}

/** Moves focus to the page's heading, so keyboard and screen reader users start there. */
function focusHeading(el) {
  const h1 = el.querySelector('h1');
  if (h1) {
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
    document.title = `${h1.textContent} – Stafet`;
  }
}

// -- login ------------------------------------------------------------------------------

function showLogin(message) {
  hideChrome();
  if (cleanup) {
    try {
      cleanup();
    } catch (e) { /* ignore */ }
    cleanup = null;
  }
  renderSeq++;
  const el = clear(main());
  document.title = 'Log ind – Stafet';
  const user = field('Brugernavn', h('input', {
    type: 'text', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false',
  }));
  const pass = field('Adgangskode', h('input', {
    type: 'password', name: 'password', autocomplete: 'current-password', required: true,
  }));
  const status = h('div', { class: 'login__status', id: 'login-status' });
  if (message) status.append(notice('info', message));
  const button = h('button', { type: 'submit', class: 'button button--primary' }, 'Log ind');
  const form = h('form', { class: 'login', novalidate: true },
    user.wrap, pass.wrap, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    const username = user.input.value.trim();
    const password = pass.input.value;
    if (!username || !password) {
      status.append(notice('error', 'Skriv både dit brugernavn og din adgangskode.'));
      (username ? pass.input : user.input).focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Logger ind …';
    try {
      await post('/session', { username, password }, { noAuthRedirect: true });
      pass.input.value = '';
      await start();
    } catch (e) {
      let msg;
      if (e instanceof ApiError && e.status === 401) {
        // The same words whether the user exists or not.
        msg = 'Brugernavnet eller adgangskoden er forkert. Prøv igen.';
      } else if (e instanceof ApiError && e.status === 429) {
        msg = e.problem.detail || 'For mange forsøg. Vent lidt, og prøv igen.';
      } else if (e instanceof ApiError) {
        msg = e.userMessage;
      } else {
        msg = 'Log ind mislykkedes. Prøv igen.';
      }
      status.append(notice('error', msg));
      pass.input.value = '';
      pass.input.focus();
    } finally {
      button.disabled = false;
      button.textContent = 'Log ind';
    }
  });
  el.append(h('div', { class: 'login-page card' },
    h('h1', { class: 'page-title', tabindex: '-1' }, 'Log ind i Stafet'),
    h('p', {}, 'Brug dit brugernavn og din adgangskode fra kommunens netværk.'),
    status, form));
  user.input.focus();
}

async function logout() {
  try {
    await del('/session', { noAuthRedirect: true });
  } catch (e) { /* the session may be gone already */ }
  resetState();
  window.history.replaceState(null, '', '#/');
  showLogin('Du er logget ud.');
  announce('Du er logget ud.');
}

/** After login or at load with a session: who am I, then the page. */
async function start() {
  const { data } = await get('/me', { noAuthRedirect: true });
  state.me = data;
  renderUserBox();
  await route();
}

async function boot() {
  setUnauthorizedHandler(() => {
    resetState();
    showLogin('Din session er udløbet. Log ind igen.');
  });
  document.getElementById('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    const m = main();
    m.focus();
    m.scrollIntoView();
  });
  window.addEventListener('hashchange', (ev) => {
    if (!window.location.hash.startsWith('#/') && window.location.hash !== '') return;
    if (unsavedWork() && !window.confirm('Du har ændringer, der ikke er gemt. Vil du forlade siden alligevel?')) {
      window.history.replaceState(null, '', new URL(ev.oldURL).hash || '#/');
      return;
    }
    if (state.me) route();
  });
  window.addEventListener('beforeunload', (ev) => {
    if (unsavedWork()) {
      ev.preventDefault();
      ev.returnValue = '';
    }
  });
  try {
    await start();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin();
    } else {
      const el = clear(main());
      el.append(h('h1', { class: 'page-title', tabindex: '-1' }, 'Stafet svarer ikke'),
        notice('error', e instanceof ApiError ? e.userMessage : 'Stafet kunne ikke starte.'),
        h('button', { type: 'button', class: 'button', onclick: () => window.location.reload() }, 'Prøv igen'));
    }
  }
}


boot();
