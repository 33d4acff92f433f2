// stafet.js: the caseworkers' web UI. Plain ES modules, no build step.
// Hash routes (#/opgaver, the landing page; #/notater/{id} — the link in
// Stafet's mails), a login page when there is no session (and the
// Tilgængelighed page, which needs none), and the header with the menu:
// counts of what waits on the menu items, and a menu button on a phone.

import { ApiError, del, get, post, setChangeHandler, setUnauthorizedHandler } from './js/api.js';
import { lastTasks, onTasks, refreshTasks, startTaskRefresh, stopTaskRefresh } from './js/counts.js';
import { announce, clear, field, h, notice, replace } from './js/dom.js';
import { canSeeQuality, loadRoutes, resetState, state } from './js/state.js';
import * as search from './js/pages/search.js';
import * as counterpart from './js/pages/counterpart.js';
import * as note from './js/pages/note.js';
import * as boxes from './js/pages/boxes.js';
import * as quality from './js/pages/quality.js';
import * as settings from './js/pages/settings.js';
import * as tasks from './js/pages/tasks.js';
import * as notices from './js/pages/notices.js';
import { canSeeNotices } from './js/notices.js';

const main = () => document.getElementById('main');

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// count(tasks) → the number shown on the item (nothing for 0), desc(n) its words for screen readers.
const NAV = [
  {
    href: '#/opgaver', text: 'Mine opgaver', match: /^\/opgaver/, id: 'opgaver',
    count: (t) => (t.items || []).length, desc: (n) => plural(n, 'opgave venter', 'opgaver venter'),
  },
  {
    href: '#/indbakke', text: 'Indbakke', match: /^\/indbakke/, id: 'indbakke',
    count: (t) => t.counts.to_receive, desc: (n) => plural(n, 'notat venter på at blive modtaget', 'notater venter på at blive modtaget'),
  },
  {
    href: '#/udbakke', text: 'Udbakke', match: /^\/(udbakke|notater\/ny)/, id: 'udbakke',
    count: (t) => t.counts.to_fix, desc: (n) => plural(n, 'returneret notat skal rettes', 'returnerede notater skal rettes'),
  },
  {
    href: '#/kladder', text: 'Kladder', match: /^\/kladder/, id: 'kladder',
    count: (t) => t.counts.drafts, desc: (n) => plural(n, 'kladde', 'kladder'),
  },
  {
    href: '#/varsler', text: 'Varsler', match: /^\/varsler/, id: 'varsler', show: canSeeNotices,
    count: (t) => t.counts.notices_to_acknowledge, desc: (n) => plural(n, 'varsel venter på kvittering', 'varsler venter på kvittering'),
  },
  { href: '#/sog', text: 'Søg kollega', match: /^\/(sog|personer|enheder)/ },
  { href: '#/modtager', text: 'Find modtager', match: /^\/modtager/ },
  { href: '#/kvalitet', text: 'Kvalitet', match: /^\/kvalitet/, show: canSeeQuality },
  { href: '#/indstillinger', text: 'Indstillinger', match: /^\/indstillinger/ },
];

/** The Tilgængelighed page (H3's about.js), loaded when it is asked for. */
async function renderAbout(el, ctx) {
  const mod = await import('./js/pages/about.js');
  return (mod.render || mod.default)(el, ctx);
}

const ROUTES = [
  { re: /^\/opgaver$/, page: tasks.render },
  { re: /^\/kladder$/, page: boxes.renderDrafts },
  { re: /^\/tilgaengelighed$/, page: renderAbout, open: true },
  { re: /^\/sog$/, page: search.renderSearch },
  { re: /^\/personer\/([^/]+)$/, page: search.renderPerson },
  { re: /^\/enheder\/([^/]+)$/, page: search.renderUnit },
  { re: /^\/modtager$/, page: counterpart.render },
  { re: /^\/notater\/ny$/, page: note.renderNew },
  { re: /^\/notater\/([0-9a-fA-F-]{36})$/, page: note.renderExisting },
  { re: /^\/indbakke$/, page: (el, ctx) => boxes.render(el, { ...ctx, box: 'incoming' }) },
  { re: /^\/udbakke$/, page: (el, ctx) => boxes.render(el, { ...ctx, box: 'outgoing' }) },
  { re: /^\/kvalitet$/, page: quality.render },
  { re: /^\/varsler(?:\/([^/]+))?$/, page: notices.render },
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

/** Writes the counts of what waits onto the menu items (null: none known). */
function showCounts(t) {
  for (const item of NAV) {
    if (!item.count) continue;
    const badge = document.getElementById(`nav-count-${item.id}`);
    const desc = document.getElementById(`nav-desc-${item.id}`);
    if (!badge || !desc) continue;
    const n = t ? Number(item.count(t)) || 0 : 0;
    badge.textContent = n > 0 ? String(n) : '';
    badge.hidden = n <= 0;
    desc.textContent = n > 0 ? item.desc(n) : '';
  }
}

function renderNav(path) {
  const nav = document.getElementById('main-nav');
  const list = h('ul', { class: 'main-nav__list' });
  for (const item of NAV) {
    if (item.show && !item.show()) continue;
    const current = item.match.test(path);
    const counted = !!item.count;
    // The number is aria-hidden and told as the link's description, so the
    // link's name stays "Indbakke" while a screen reader hears "2 notater venter …".
    list.append(h('li', {},
      h('a', { href: item.href, 'aria-current': current ? 'page' : null, 'aria-describedby': counted ? `nav-desc-${item.id}` : null },
        item.text,
        counted ? h('span', { class: 'nav-count', id: `nav-count-${item.id}`, 'aria-hidden': 'true', hidden: true }) : null),
      counted ? h('span', { id: `nav-desc-${item.id}`, hidden: true }) : null));
  }
  replace(nav, list);
  nav.hidden = false;
  showCounts(lastTasks());
  menuButton().hidden = false;
  setMenuOpen(false);
}

// -- the phone's menu button ----------------------------------------------------------------

/** The menu button (shown by pages.css under 600 px), made once beside the brand. */
function menuButton() {
  let b = document.getElementById('menu-button');
  if (b) return b;
  b = h('button', {
    type: 'button', id: 'menu-button', class: 'menu-button', 'aria-expanded': 'false', 'aria-controls': 'main-nav', hidden: true,
  }, h('span', { class: 'menu-button__icon', 'aria-hidden': 'true' }), 'Menu');
  b.addEventListener('click', () => setMenuOpen(b.getAttribute('aria-expanded') !== 'true'));
  const nav = document.getElementById('main-nav');
  nav.parentNode.insertBefore(b, nav);
  // Escape closes it, from the button or from inside the menu.
  nav.parentNode.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && b.getAttribute('aria-expanded') === 'true') {
      setMenuOpen(false);
      b.focus();
    }
  });
  return b;
}

function setMenuOpen(open) {
  const b = document.getElementById('menu-button');
  if (!b) return;
  b.setAttribute('aria-expanded', open ? 'true' : 'false');
  document.getElementById('main-nav').classList.toggle('main-nav--open', open);
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
  const b = document.getElementById('menu-button');
  if (b) b.hidden = true;
  setMenuOpen(false);
}

async function route() {
  if (!state.me) return;
  const { path, query } = parseHash();
  if (path === '/' || path === '') {
    navigate('#/opgaver', { replace: true });
    return;
  }
  renderNav(path);
  refreshTasks();
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
      h('p', {}, 'Adressen passer ikke til en side i Stafet. ', h('a', { href: '#/opgaver' }, 'Gå til Mine opgaver'), '.'));
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
  stopTaskRefresh();
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
  await loadRoutes().catch(() => null); // the menu's Varsler item depends on the routes
  startTaskRefresh();
  await route();
}

/** A page that needs no login (Tilgængelighed), shown without the menu. */
async function showOpen(r) {
  hideChrome();
  if (cleanup) {
    try {
      cleanup();
    } catch (e) { /* ignore */ }
    cleanup = null;
  }
  const seq = ++renderSeq;
  const el = clear(main());
  try {
    await r.page(el, { params: [], query: new URLSearchParams(), navigate, isCurrent: () => seq === renderSeq });
    focusHeading(el);
  } catch (e) {
    if (seq !== renderSeq) return;
    el.append(notice('error', 'Siden kunne ikke vises. Prøv at genindlæse den.'));
  }
  if (seq === renderSeq) el.append(h('p', {}, h('a', { href: '#/' }, 'Log ind i Stafet')));
}

/** Without a session: the open page the address asks for, else the login. */
function showLoggedOut(message) {
  const { path } = parseHash();
  const open = ROUTES.find((r) => r.open && r.re.test(path));
  if (open) {
    showOpen(open);
  } else {
    showLogin(message);
  }
}

async function boot() {
  setUnauthorizedHandler(() => {
    stopTaskRefresh();
    resetState();
    showLogin('Din session er udløbet. Log ind igen.');
  });
  // What waits: shown on the menu after each fetch, fetched again after each change.
  onTasks(showCounts);
  setChangeHandler((method, path) => {
    if (state.me && !path.startsWith('/session')) refreshTasks();
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
    if (state.me) {
      route();
    } else {
      showLoggedOut();
    }
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
      showLoggedOut();
    } else {
      const el = clear(main());
      el.append(h('h1', { class: 'page-title', tabindex: '-1' }, 'Stafet svarer ikke'),
        notice('error', e instanceof ApiError ? e.userMessage : 'Stafet kunne ikke starte.'),
        h('button', { type: 'button', class: 'button', onclick: () => window.location.reload() }, 'Prøv igen'));
    }
  }
}


boot();
