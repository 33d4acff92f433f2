// boxes.js: "Indbakke" and "Udbakke": the notes received by and sent from
// the user's units (GET /handovers?box=incoming|outgoing), with filters on
// status and route, and cursor paging; "Kladder": the user's own drafts
// (box=drafts), each deletable ("Slet kladde", DELETE with If-Match). CPR
// numbers are shown as the list gives them: masked. Every cell carries its
// column's heading (data-label), so a phone shows each row as a card.

import { ApiError, del, get, seg } from '../api.js';
import { refreshTasks } from '../counts.js';
import { announce, clear, field, fmtDate, fmtDateTime, h, notice, replace, tableWrap, todayIso } from '../dom.js';
import { STATUS, STATUS_ORDER, routeShortName } from '../labels.js';
import { canSend, loadRoutes, loadUnits, routeByCode, unitName } from '../state.js';
import { statusBadge } from './note.js';

const PAGE = 25;

const COLUMNS = (who) => ['Reference', 'Borger', 'Rute', 'Status', 'Planlagt overdragelse', who, 'Markeringer', 'Udfyldt', 'Senest ændret'];

/** A cell that says which column it is in (data-label), for the phone's cards. */
function cell(label, ...content) {
  return h('td', { 'data-label': label, class: label === 'Udfyldt' ? 'num' : null }, ...content);
}

/** The route's name (short, for a list); the code only while the routes are unknown. */
function routeCell(code) {
  const r = routeByCode(code);
  return r ? h('span', { class: 'route-name', title: r.name }, routeShortName(r)) : code;
}

export async function render(el, { box, query, navigate }) {
  const incoming = box === 'incoming';
  const title = incoming ? 'Indbakke' : 'Udbakke';
  el.append(
    h('h1', { class: 'page-title' }, title),
    h('p', { class: 'lead' }, incoming
      ? 'Overdragelsesnotater sendt til dine enheder. Åbn et notat for at godkende det, returnere det eller sende det videre.'
      : 'Overdragelsesnotater fra dine enheder: kladder, sendte, returnerede og godkendte.'),
  );
  const routes = await loadRoutes();
  await loadUnits().catch(() => null);
  if (!incoming && routes.some((r) => canSend(r))) {
    el.append(h('p', {}, h('a', { class: 'button button--primary', href: '#/notater/ny' }, 'Nyt overdragelsesnotat'),
      ' ', h('a', { class: 'button', href: '#/modtager' }, 'Find modtager først')));
  }

  const statuses = STATUS_ORDER.filter((s) => !(incoming && s === 'draft'));
  const statusSel = h('select', { name: 'status' }, h('option', { value: '' }, 'Alle'),
    statuses.map((s) => h('option', { value: s, selected: query.get('status') === s }, STATUS[s])));
  const routeSel = h('select', { name: 'route' }, h('option', { value: '' }, 'Alle ruter'),
    routes.map((r) => h('option', { value: r.code, selected: query.get('route') === r.code }, r.name)));
  const form = h('form', { class: 'filters form-row', 'aria-label': 'Filtrér notaterne' },
    field('Status', statusSel).wrap, field('Rute', routeSel).wrap,
    h('div', { class: 'filters__submit' }, h('button', { type: 'submit', class: 'button' }, 'Vis')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (statusSel.value) q.set('status', statusSel.value);
    if (routeSel.value) q.set('route', routeSel.value);
    const s = q.toString();
    navigate(`#/${incoming ? 'indbakke' : 'udbakke'}${s ? `?${s}` : ''}`);
  });

  const status = h('p', { class: 'search__status', role: 'status' });
  const tbody = h('tbody');
  const who = incoming ? 'Fra' : 'Til';
  const table = h('table', { class: 'data data--cards notes-table', id: `${box}-table` },
    h('caption', { class: 'visually-hidden' }, title),
    h('thead', {}, h('tr', {}, COLUMNS(who).map((x) => h('th', { scope: 'col', class: x === 'Udfyldt' ? 'num' : null }, x)))),
    tbody);
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Vis flere');
  const errors = h('div');
  const wrap = tableWrap(title, table);
  el.append(form, errors, status, wrap, more);

  let cursor = null;
  const today = todayIso();
  function row(n) {
    const open = (n.flags || []).filter((f) => !f.resolved).length;
    const c = n.citizen || {};
    const decided = n.status === 'accepted' || n.status === 'withdrawn';
    const late = n.planned_date && n.planned_date < today && !decided;
    const counterpart = incoming
      ? [n.sender && n.sender.person && n.sender.person.display_name ? `${n.sender.person.display_name}, ` : '', unitName(n.sender && n.sender.unit)]
      : [unitName(n.receiver && n.receiver.unit), n.receiver && n.receiver.person && n.receiver.person.display_name ? `, ${n.receiver.person.display_name}` : ''];
    const isNew = incoming && n.status === 'submitted';
    const cells = [
      [h('a', { href: `#/notater/${n.id}` }, n.ref), isNew ? [' ', h('span', { class: 'badge badge--info' }, 'Ny')] : null],
      [c.name || '—', c.cpr ? [h('br'), h('span', { class: 'muted cpr' }, c.cpr)] : null],
      routeCell(n.route),
      statusBadge(n.status),
      [n.planned_date ? fmtDate(n.planned_date) : '—', late ? [' ', h('span', { class: 'badge badge--warning' }, 'Overskredet')] : null],
      counterpart,
      open ? h('span', { class: 'badge badge--error' }, `${open} ${open === 1 ? 'åben markering' : 'åbne markeringer'}`) : (n.flags || []).length ? h('span', { class: 'muted' }, 'Rettet') : '—',
      `${n.completeness} %`,
      fmtDateTime(n.updated_at),
    ];
    return h('tr', { class: isNew ? 'row--new' : null }, cells.map((v, i) => cell(COLUMNS(who)[i], v)));
  }

  async function load(append) {
    clear(errors);
    status.textContent = 'Henter …';
    try {
      const { data } = await get('/handovers', {
        query: { box, status: query.get('status'), route: query.get('route'), limit: PAGE, cursor: append ? cursor : null },
      });
      if (!append) clear(tbody);
      for (const n of data.items) tbody.append(row(n));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      const n = tbody.children.length;
      wrap.hidden = n === 0;
      status.textContent = n === 0
        ? (query.get('status') || query.get('route') ? 'Ingen notater passer til filtrene.' : `Der er ingen notater i ${incoming ? 'indbakken' : 'udbakken'}.`)
        : `${n} ${n === 1 ? 'notat' : 'notater'}${cursor ? ' vist; der er flere' : ''}.`;
    } catch (e) {
      status.textContent = '';
      replace(errors, notice('error', e instanceof ApiError ? e.userMessage : 'Notaterne kunne ikke hentes.'));
    }
  }
  more.addEventListener('click', () => load(true));
  await load(false);
  return undefined;
}

const DRAFT_COLUMNS = ['Reference', 'Borger', 'Rute', 'Planlagt overdragelse', 'Til', 'Udfyldt', 'Senest ændret', 'Handling'];

/** "Kladder": the user's own drafts, newest change first, each deletable. */
export async function renderDrafts(el, { isCurrent }) {
  el.append(
    h('h1', { class: 'page-title' }, 'Kladder'),
    h('p', { class: 'lead' }, 'Dine overdragelsesnotater, der ikke er sendt endnu. Åbn en kladde for at skrive videre, eller slet den, hvis den ikke skal bruges.'),
  );
  const routes = await loadRoutes();
  await loadUnits().catch(() => null);
  if (routes.some((r) => canSend(r))) {
    el.append(h('p', {}, h('a', { class: 'button button--primary', href: '#/notater/ny' }, 'Nyt overdragelsesnotat')));
  }
  const status = h('p', { class: 'search__status', role: 'status' });
  const errors = h('div');
  const tbody = h('tbody');
  const table = h('table', { class: 'data data--cards notes-table', id: 'drafts-table' },
    h('caption', { class: 'visually-hidden' }, 'Kladder'),
    h('thead', {}, h('tr', {}, DRAFT_COLUMNS.map((x, i) => h('th', { scope: 'col', class: i === 5 ? 'num' : null }, i === 7 ? h('span', { class: 'visually-hidden' }, x) : x)))),
    tbody);
  const wrap = tableWrap('Kladder', table);
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Vis flere');
  el.append(errors, status, wrap, more);
  let cursor = null;

  function counted() {
    const n = tbody.children.length;
    wrap.hidden = n === 0;
    status.textContent = n === 0
      ? 'Du har ingen kladder. Et notat, du begynder på, gemmes her, indtil du sender det.'
      : `${n} ${n === 1 ? 'kladde' : 'kladder'}${cursor ? ' vist; der er flere' : ''}.`;
  }

  async function remove(n, tr, button) {
    const what = n.citizen && n.citizen.name ? `kladden til ${n.citizen.name} (${n.ref})` : `kladden ${n.ref}`;
    // eslint-disable-next-line no-alert
    if (!window.confirm(`Vil du slette ${what}? Den kan ikke hentes tilbage.`)) {
      button.focus();
      return;
    }
    clear(errors);
    button.disabled = true;
    try {
      await del(`/handovers/${seg(n.id)}`, { headers: { 'If-Match': `"${n.version}"` } });
      const next = tr.nextElementSibling || tr.previousElementSibling;
      tr.remove();
      counted();
      replace(errors, notice('success', `Kladden ${n.ref} er slettet.`));
      announce(`Kladden ${n.ref} er slettet.`);
      refreshTasks();
      const focus = next && next.querySelector('a, button');
      (focus || el.querySelector('h1')).focus();
    } catch (e) {
      button.disabled = false;
      let msg = e instanceof ApiError ? e.userMessage : 'Kladden kunne ikke slettes.';
      if (e instanceof ApiError && e.status === 412) msg = 'Kladden er ændret i mellemtiden, måske i en anden fane. Listen er hentet igen; prøv igen.';
      if (e instanceof ApiError && e.status === 409) msg = 'Notatet er ikke længere en kladde og kan ikke slettes.';
      replace(errors, notice('error', msg));
      if (e instanceof ApiError && (e.status === 412 || e.status === 409 || e.status === 404)) await load(false);
    }
  }

  function row(n) {
    const c = n.citizen || {};
    const to = [unitName(n.receiver && n.receiver.unit), n.receiver && n.receiver.person && n.receiver.person.display_name ? `, ${n.receiver.person.display_name}` : ''];
    const button = h('button', { type: 'button', class: 'button button--danger delete-draft' }, 'Slet kladde',
      h('span', { class: 'visually-hidden' }, ` ${n.ref}`));
    const cells = [
      h('a', { href: `#/notater/${n.id}` }, n.ref),
      [c.name || 'Uden navn', c.cpr ? [h('br'), h('span', { class: 'muted cpr' }, c.cpr)] : null],
      routeCell(n.route),
      n.planned_date ? fmtDate(n.planned_date) : '—',
      to,
      `${n.completeness} %`,
      fmtDateTime(n.updated_at),
      button,
    ];
    const tr = h('tr', {}, cells.map((v, i) => h('td', { 'data-label': DRAFT_COLUMNS[i], class: i === 5 ? 'num' : null }, v)));
    button.addEventListener('click', () => remove(n, tr, button));
    return tr;
  }

  async function load(append) {
    status.textContent = 'Henter …';
    try {
      const { data } = await get('/handovers', { query: { box: 'drafts', limit: PAGE, cursor: append ? cursor : null } });
      if (!isCurrent()) return;
      if (!append) clear(tbody);
      for (const n of data.items) tbody.append(row(n));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      counted();
    } catch (e) {
      status.textContent = '';
      wrap.hidden = tbody.children.length === 0;
      replace(errors, notice('error', e instanceof ApiError ? e.userMessage : 'Kladderne kunne ikke hentes.'));
    }
  }
  more.addEventListener('click', () => load(true));
  await load(false);
  return undefined;
}
