// notices.js: what the notice (varsel) pages share (API.md 1.1 "Notices"):
// the statuses and events in Danish, which units the user sends or
// receives notices for, a notice's citizen and counterpart as text, the
// receiving unit's members, and the acknowledge form used on the notice
// page and in the receiver's list.

import { ApiError, get, post, seg } from './api.js';
import { add, announce, clear, field, h, notice, replace } from './dom.js';
import { routeShortName } from './labels.js';
import { roles, routeByCode, state, unitName } from './state.js';

export const NOTICE_STATUS = {
  open: 'Afventer kvittering',
  acknowledged: 'Kvitteret',
  converted: 'Notat oprettet',
  cancelled: 'Annulleret',
};
export const NOTICE_STATUS_ORDER = ['open', 'acknowledged', 'converted', 'cancelled'];

export const NOTICE_ACTION = {
  create: 'Oprettet',
  import: 'Importeret fra fil',
  imported: 'Importeret fra fil',
  edit: 'Rettet',
  update: 'Rettet',
  acknowledge: 'Kvitteret',
  cancel: 'Annulleret',
  convert: 'Notat oprettet',
  handover: 'Notat oprettet',
  reminder: 'Påmindelse sendt',
  remind: 'Påmindelse sendt',
};

export function noticeStatusBadge(status) {
  const cls = { open: 'badge--info', acknowledged: 'badge--ok', converted: 'badge--ok', cancelled: null }[status];
  return h('span', { class: ['badge', cls, `notice-status--${String(status).replace(/[^a-z]/g, '')}`] }, NOTICE_STATUS[status] || 'Ukendt status');
}

/** The units the user belongs to (own unit, and each unit they lead): exact, not the units below. */
export function myUnits() {
  const s = new Set();
  if (state.me && state.me.unit && state.me.unit.code) s.add(state.me.unit.code);
  for (const r of roles()) if (r.role === 'lead' && r.unit) s.add(r.unit);
  return s;
}

/** The routes the user may file notices on (a member of the sending unit). */
export function sendRoutes() {
  const mine = myUnits();
  return (state.routes || []).filter((r) => r.from_unit && mine.has(r.from_unit));
}

/** The receiving units of routes the user belongs to. */
export function receiveUnits() {
  const mine = myUnits();
  return [...new Set((state.routes || []).filter((r) => r.to_unit && mine.has(r.to_unit)).map((r) => r.to_unit))];
}

/** The menu's Varsler item: for members of a sending or a receiving unit. */
export function canSeeNotices() {
  return sendRoutes().length > 0 || receiveUnits().length > 0;
}

export function isSender(n) {
  return !!(n && n.sender && myUnits().has(n.sender.unit));
}

export function isReceiver(n) {
  return !!(n && n.receiver && myUnits().has(n.receiver.unit));
}

/** The route's short name (never its code once the routes are known). */
export function routeText(code) {
  const r = routeByCode(code);
  return r ? routeShortName(r) : 'Ukendt rute';
}

/** The citizen as the API gives it (masked CPR outside the notice's own view). */
export function citizenCell(c) {
  const x = c || {};
  return [x.name || 'Uden navn', x.cpr ? [h('br'), h('span', { class: 'muted cpr' }, x.cpr)] : null];
}

export function receiverText(n) {
  const r = n.receiver || {};
  const who = r.person && r.person.display_name ? `, ${r.person.display_name}` : '';
  return `${unitName(r.unit)}${who}`;
}

export function senderText(n) {
  const s = n.sender || {};
  const who = s.person && s.person.display_name ? `${s.person.display_name}, ` : '';
  return `${who}${unitName(s.unit)}`;
}

/** "august 2027" from "2027-08". */
const MONTHS = ['januar', 'februar', 'marts', 'april', 'maj', 'juni', 'juli', 'august', 'september', 'oktober', 'november', 'december'];
export function monthText(ym) {
  const m = /^(\d{4})-(\d\d)/.exec(ym || '');
  return m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : '';
}
export function monthShort(ym) {
  const m = /^(\d{4})-(\d\d)/.exec(ym || '');
  if (!m) return '';
  const name = MONTHS[Number(m[2]) - 1];
  return `${name.length > 3 ? `${name.slice(0, 3)}.` : name} ${m[1]}`;
}

const members = new Map();
/** The members of a unit (GET /units/{code}), fetched once per page load of the tab. */
export async function unitMembers(code) {
  if (!members.has(code)) {
    members.set(code, get(`/units/${seg(code)}`).then(({ data }) => data.members || []).catch((e) => {
      members.delete(code);
      throw e;
    }));
  }
  return members.get(code);
}

/**
 * The acknowledge form: optionally name a receiver from the receiving
 * unit's members, then POST /notices/{id}/acknowledge. done(notice) after.
 */
export function ackForm(n, { done, idPrefix = 'ack', compact = false } = {}) {
  const sel = h('select', { name: 'person', id: `${idPrefix}-person-${n.id}` }, h('option', { value: '' }, 'Ingen navngiven modtager endnu'));
  const f = field('Modtager (valgfrit)', sel, { hint: compact ? null : 'Du kan navngive den kollega, der skal have sagen, eller vente til notatet kommer.' });
  const status = h('div', { class: 'ack-status' });
  const button = h('button', { type: 'submit', class: 'button button--primary button-primary' }, 'Kvittér for varslet');
  const form = h('form', { class: ['ack-form', compact ? 'ack-form--compact' : null], 'aria-label': `Kvittér for varslet ${n.ref}` },
    f.wrap, h('div', { class: 'button-row' }, button), status);
  const me = state.me;
  unitMembers(n.receiver.unit).then((list) => {
    const sorted = list.slice().sort((a, b) => String(a.display_name).localeCompare(String(b.display_name), 'da'));
    for (const p of sorted) {
      add(sel, h('option', { value: p.id }, me && p.id === me.id ? `${p.display_name} (mig)` : p.display_name));
    }
  }).catch(() => {
    add(status, notice('warning', 'Enhedens medarbejdere kunne ikke hentes. Du kan kvittere uden at navngive en modtager.'));
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    button.disabled = true;
    try {
      const body = sel.value ? { person: sel.value } : {};
      const { data } = await post(`/notices/${seg(n.id)}/acknowledge`, body);
      const who = data.receiver && data.receiver.person ? ` ${data.receiver.person.display_name} er modtager.` : '';
      announce(`Der er kvitteret for varslet ${n.ref}.${who}`);
      done(data, `Der er kvitteret for varslet ${n.ref}.${who} Afsenderen får besked.`);
    } catch (e) {
      button.disabled = false;
      let msg = e instanceof ApiError ? e.userMessage : 'Der kunne ikke kvitteres for varslet.';
      if (e instanceof ApiError && e.status === 409) msg = 'Varslet afventer ikke længere kvittering: en anden har kvitteret, eller afsenderen har annulleret det eller oprettet notatet. Genindlæs siden for at se det.';
      replace(status, notice('error', msg));
    }
  });
  return form;
}
