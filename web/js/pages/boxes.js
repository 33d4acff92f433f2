// boxes.js: "Indbakke" and "Udbakke": the notes received by and sent from
// the user's units (GET /handovers?box=incoming|outgoing), with filters on
// status and route, and cursor paging. CPR numbers are shown as the list
// gives them: masked.

import { ApiError, get } from '../api.js';
import { clear, field, fmtDate, fmtDateTime, h, notice, replace, tableWrap, todayIso } from '../dom.js';
import { STATUS, STATUS_ORDER } from '../labels.js';
import { canSend, loadRoutes, loadUnits, routeName, unitName } from '../state.js';
import { statusBadge } from './note.js';

const PAGE = 25;

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
    routes.map((r) => h('option', { value: r.code, selected: query.get('route') === r.code }, `${r.code} — ${r.name}`)));
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
  const table = h('table', { class: 'data notes-table', id: `${box}-table` },
    h('caption', { class: 'visually-hidden' }, title),
    h('thead', {}, h('tr', {}, ['Reference', 'Borger', 'Rute', 'Status', 'Planlagt overdragelse', who, 'Markeringer', 'Udfyldt', 'Senest ændret']
      .map((x) => h('th', { scope: 'col', class: x === 'Udfyldt' ? 'num' : null }, x)))),
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
    return h('tr', { class: isNew ? 'row--new' : null },
      h('td', {}, h('a', { href: `#/notater/${n.id}` }, n.ref), isNew ? [' ', h('span', { class: 'badge badge--info' }, 'Ny')] : null),
      h('td', {}, c.name || '—', c.cpr ? [h('br'), h('span', { class: 'muted cpr' }, c.cpr)] : null),
      h('td', {}, h('abbr', { title: routeName(n.route) }, n.route)),
      h('td', {}, statusBadge(n.status)),
      h('td', {}, n.planned_date ? fmtDate(n.planned_date) : '—', late ? [' ', h('span', { class: 'badge badge--warning' }, 'Overskredet')] : null),
      h('td', {}, counterpart),
      h('td', {}, open ? h('span', { class: 'badge badge--error' }, `${open} ${open === 1 ? 'åben markering' : 'åbne markeringer'}`) : (n.flags || []).length ? h('span', { class: 'muted' }, 'Rettet') : '—'),
      h('td', { class: 'num' }, `${n.completeness} %`),
      h('td', {}, fmtDateTime(n.updated_at)));
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
