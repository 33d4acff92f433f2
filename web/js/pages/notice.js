// notice.js: one notice (varsel), #/varsler/{id} (GET /notices/{id}): its
// citizen, route, sender, receiver and expected date, the route's
// milestones with their legal ground, due date and whether they are done,
// what happened to it, and the actions the user's side may take: the
// sender Rediger (PATCH with If-Match; the legal milestones marked done
// there too), Annullér (with a reason) and Opret notat (the draft, then
// the note's page); the receiver Kvittér, naming a receiver if they like.

import { ApiError, get, patch, post, seg } from '../api.js';
import { refreshTasks } from '../counts.js';
import { add, announce, clear, field, fmtDate, fmtDateTime, h, notice, replace, setFieldError, tableWrap, todayIso } from '../dom.js';
import { daysUntil, dueText } from '../labels.js';
import { routeName, state, unitName } from '../state.js';
import {
  NOTICE_ACTION, NOTICE_STATUS, ackForm, isReceiver, isSender, noticeStatusBadge,
} from '../notices.js';

const LIVE = ['open', 'acknowledged'];

export async function renderNotice(el, ctx) {
  const { id } = ctx;
  const flash = state.flash && state.flash.id === id ? state.flash.text : null;
  state.flash = null;
  const crumb = h('p', { class: 'breadcrumb' }, h('a', { href: '#/varsler' }, '← Varsler'));
  add(el, crumb, h('h1', { class: 'page-title' }, 'Varsel'));
  const holder = h('div', { class: 'notice-page' }, h('p', {}, 'Henter varslet …'));
  add(el, holder);
  let res;
  try {
    res = await get(`/notices/${seg(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      replace(holder, notice('error', 'Varslet findes ikke, eller du har ikke adgang til det. Kun den afsendende og den modtagende enhed kan se et varsel.'));
      return undefined;
    }
    throw e;
  }
  if (!ctx.isCurrent()) return undefined;
  const page = { el, holder, ctx, etag: res.etag };
  show(page, res.data, flash);
  return undefined;
}

function show(page, n, message) {
  const { el, holder } = page;
  page.notice = n;
  const h1 = el.querySelector('h1');
  h1.textContent = `Varsel ${n.ref}`;
  document.title = `Varsel ${n.ref} – Stafet`;
  const crumb = el.querySelector('.breadcrumb a');
  if (crumb && access(n) === 'receiver') {
    crumb.href = '#/varsler/kommende';
    crumb.textContent = '← Kommende overdragelser';
  }
  clear(holder);
  if (message) add(holder, notice('success', message));
  add(holder, header(n), milestones(page, n), actions(page, n), events(n));
}

/** sender, receiver or read (API: access; else from the user's units). */
function access(n) {
  if (n.access) return n.access;
  if (isSender(n)) return 'sender';
  if (isReceiver(n)) return 'receiver';
  return 'read';
}

function header(n) {
  const c = n.citizen || {};
  const rows = [
    ['Status', noticeStatusBadge(n.status)],
    ['Borger', [c.name || 'Uden navn', c.cpr ? [', ', h('span', { class: 'cpr' }, c.cpr)] : null]],
    c.birthdate ? ['Fødselsdato', fmtDate(c.birthdate)] : null,
    ['Rute', routeName(n.route) === n.route ? 'Ukendt rute' : routeName(n.route)],
    ['Fra', [n.sender && n.sender.person ? `${n.sender.person.display_name}, ` : '', unitName(n.sender && n.sender.unit)]],
    ['Til', [unitName(n.receiver && n.receiver.unit), n.receiver && n.receiver.person ? `, ${n.receiver.person.display_name}` : ', ingen navngiven modtager endnu']],
    ['Forventet overdragelse', [h('time', { datetime: n.expected_date }, fmtDate(n.expected_date)), ` (${soon(n.expected_date)})`]],
    n.comment ? ['Kommentar', h('span', { class: 'notice-comment' }, n.comment)] : null,
    n.acknowledged_at ? ['Kvitteret', [fmtDateTime(n.acknowledged_at), n.acknowledged_by ? ` af ${n.acknowledged_by.display_name}` : '']] : null,
    n.status === 'cancelled' && n.cancel_reason ? ['Begrundelse for annullering', n.cancel_reason] : null,
    n.handover_id ? ['Overdragelsesnotat', h('a', { href: `#/notater/${seg(n.handover_id)}`, id: 'notice-note-link' }, 'Åbn notatet')] : null,
  ].filter(Boolean);
  return h('dl', { class: 'details card card--wide notice-header', id: 'notice-header' }, rows.map(([t, v]) => [h('dt', {}, t), h('dd', {}, v)]));
}

/** "om 3 dage", "i dag", "for 4 dage siden" (an expected date is not a deadline). */
function soon(iso) {
  const d = daysUntil(iso);
  if (d === null) return '';
  if (d === 0) return 'i dag';
  if (d === 1) return 'i morgen';
  if (d > 1) return `om ${d} dage`;
  if (d === -1) return 'i går';
  return `for ${-d} dage siden`;
}

// -- milestones --------------------------------------------------------------------------------

function milestoneState(m, live) {
  if (m.done) return h('span', { class: 'badge badge--ok' }, 'Udført');
  if (!live) return h('span', { class: 'badge' }, 'Ikke udført');
  const d = daysUntil(m.due);
  if (d !== null && d < 0) return h('span', { class: 'badge badge--error' }, `Frist ${dueText(m.due)}`);
  if (d !== null && d <= 30) return h('span', { class: 'badge badge--warning' }, `Frist ${dueText(m.due)}`);
  return h('span', { class: 'badge badge--info' }, 'Ikke udført endnu');
}

function milestones(page, n) {
  const list = n.milestones || [];
  const section = h('section', { class: 'notice-milestones', 'aria-labelledby': 'milestones-h' },
    h('h2', { id: 'milestones-h' }, 'Milepæle'));
  if (!list.length) {
    add(section, h('p', {}, 'Ruten har ingen milepæle for dette varsel.'));
    return section;
  }
  const live = LIVE.includes(n.status);
  const editable = live && access(n) === 'sender';
  add(section, h('p', {}, 'Lovens frister for borgeren, regnet ud fra fødselsdatoen og den forventede dato. En frist, der falder på en helligdag eller i en weekend, er rykket til arbejdsdagen før.',
    editable ? ' Markér de milepæle, der er nået, og gem.' : ''));
  const cols = ['Milepæl', 'Lovgrundlag', 'Frist', 'Status'];
  if (editable) cols.push('Udført');
  const boxes = [];
  const rows = list.map((m) => {
    const legal = !!m.law;
    let box = null;
    if (editable && legal) {
      box = h('input', { type: 'checkbox', name: 'done', value: m.key, checked: !!m.done, id: `ms-${m.key}` });
      boxes.push(box);
    }
    const cells = [
      h('th', { scope: 'row', 'data-label': cols[0] }, m.label || 'Milepæl'),
      h('td', { 'data-label': cols[1] }, m.law || '—'),
      h('td', { 'data-label': cols[2] }, h('time', { datetime: m.due }, fmtDate(m.due))),
      h('td', { 'data-label': cols[3] }, milestoneState(m, live)),
    ];
    if (editable) {
      cells.push(h('td', { 'data-label': cols[4] }, box
        ? h('div', { class: 'field field--inline milestone-done' }, box,
          h('label', { for: box.id, class: 'field__label' }, 'Udført', h('span', { class: 'visually-hidden' }, `: ${m.label}`)))
        : h('span', { class: 'muted' }, 'Følger notatet')));
    }
    return h('tr', { dataset: { milestone: m.key } }, cells);
  });
  const table = h('table', { class: 'data data--cards', id: 'milestones-table' },
    h('caption', { class: 'visually-hidden' }, 'Milepæle'),
    h('thead', {}, h('tr', {}, cols.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows));
  add(section, tableWrap('Milepæle', table));
  if (editable && boxes.length) {
    const status = h('div');
    const save = h('button', { type: 'button', class: 'button button-secondary', id: 'milestones-save' }, 'Gem milepæle');
    save.addEventListener('click', async () => {
      clear(status);
      save.disabled = true;
      try {
        const res = await patch(`/notices/${seg(n.id)}`, { milestones_done: boxes.filter((b) => b.checked).map((b) => b.value) },
          { headers: { 'If-Match': page.etag || `"${n.version}"` } });
        page.etag = res.etag;
        announce('Milepælene er gemt.');
        show(page, res.data, 'Milepælene er gemt.');
      } catch (e) {
        save.disabled = false;
        replace(status, notice('error', changeError(e, 'Milepælene kunne ikke gemmes.')));
      }
    });
    add(section, h('div', { class: 'button-row' }, save), status);
  }
  return section;
}

function changeError(e, fallback) {
  if (!(e instanceof ApiError)) return fallback;
  if (e.status === 412) return 'Varslet er ændret i mellemtiden, måske af en kollega eller i en anden fane. Genindlæs siden, og prøv igen.';
  if (e.status === 409) return 'Varslet kan ikke ændres længere: det er annulleret, eller notatet er oprettet.';
  return e.userMessage;
}

// -- actions -----------------------------------------------------------------------------------

/** A button that shows and hides a panel under it. */
function toggle(label, id, panel, { cls = 'button button-secondary' } = {}) {
  const button = h('button', { type: 'button', class: cls, 'aria-expanded': 'false', 'aria-controls': id, id: `${id}-open` }, label);
  panel.id = id;
  panel.hidden = true;
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') === 'true';
    button.setAttribute('aria-expanded', String(!open));
    panel.hidden = open;
    if (!open) {
      const first = panel.querySelector('input, textarea, select');
      if (first) first.focus();
    }
  });
  return button;
}

function actions(page, n) {
  const who = access(n);
  const section = h('section', { class: 'notice-actions', 'aria-labelledby': 'actions-h' }, h('h2', { id: 'actions-h' }, 'Handlinger'));
  if (!LIVE.includes(n.status)) {
    add(section, h('p', {}, n.status === 'converted'
      ? 'Notatet er oprettet ud fra varslet. Arbejdet fortsætter i notatet.'
      : 'Varslet er annulleret. Der kan ikke handles på det.'));
    return section;
  }
  if (who === 'read') {
    add(section, notice('info', 'Du kan læse varslet som leder, men kun den afsendende og den modtagende enhed kan handle på det.'));
    return section;
  }
  if (who === 'receiver') {
    add(section, h('h3', {}, n.status === 'open' ? 'Kvittér for varslet' : 'Skift den navngivne modtager'),
      h('p', {}, n.status === 'open'
        ? 'Kvittér, når I har set varslet, så afsenderen ved, at I er forberedt. Afsenderen får besked.'
        : 'Der er kvitteret for varslet. Du kan navngive en anden modtager.'),
      ackForm(n, {
        idPrefix: 'page',
        done: (updated, text) => {
          refreshTasks();
          page.etag = null;
          show(page, updated, text);
        },
      }));
    return section;
  }
  // The sender: Opret notat, Rediger, Annullér.
  const status = h('div', { id: 'notice-action-status' });
  const convert = h('button', { type: 'button', class: 'button button--primary button-primary', id: 'notice-convert' }, 'Opret notat');
  convert.addEventListener('click', async () => {
    clear(status);
    convert.disabled = true;
    try {
      const { data } = await post(`/notices/${seg(n.id)}/handover`, {});
      refreshTasks();
      state.flash = { id: data.id, text: `Kladden er oprettet ud fra varslet ${n.ref}. Borgeren, ruten og modtageren er overført.` };
      announce('Kladden er oprettet.');
      page.ctx.navigate(`#/notater/${data.id}`);
    } catch (e) {
      convert.disabled = false;
      if (e instanceof ApiError && e.status === 409 && e.problem && e.problem.existing) {
        const x = e.problem.existing;
        replace(status, notice('error', 'Der findes allerede et notat, der ikke er afsluttet, for borgeren på ruten: ',
          h('a', { href: x.kind === 'notice' ? `#/varsler/${seg(x.id)}` : `#/notater/${seg(x.id)}` }, x.ref || 'åbn det'), '.'));
      } else {
        replace(status, notice('error', changeError(e, 'Notatet kunne ikke oprettes.')));
      }
    }
  });

  const edit = editPanel(page, n);
  const cancel = cancelPanel(page, n);
  add(section, 
    h('p', {}, 'Når tiden er inde, opretter »Opret notat« overdragelsesnotatet som kladde med borgeren, ruten og modtageren fra varslet.'),
    h('div', { class: 'button-row' }, convert,
      toggle('Rediger', 'notice-edit', edit),
      toggle('Annullér', 'notice-cancel', cancel, { cls: 'button button--danger' })),
    status, edit, cancel);
  return section;
}

function editPanel(page, n) {
  const fDate = field('Forventet overdragelse', h('input', { type: 'date', name: 'expected_date', value: n.expected_date || '', min: todayIso() }));
  const fComment = field('Kommentar', h('textarea', { name: 'comment', rows: 3, maxlength: 2000 }, n.comment || ''));
  const status = h('div');
  const form = h('form', { class: 'panel notice-edit', novalidate: true, 'aria-label': 'Rediger varslet' },
    h('h3', {}, 'Rediger varslet'), status, fDate.wrap, fComment.wrap,
    h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'button button--primary button-primary' }, 'Gem ændringerne')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    setFieldError(fDate, null);
    if (!fDate.input.value) {
      setFieldError(fDate, 'Skriv den forventede dato for overdragelsen.');
      fDate.input.focus();
      return;
    }
    try {
      const res = await patch(`/notices/${seg(n.id)}`, { expected_date: fDate.input.value, comment: fComment.input.value.trim() },
        { headers: { 'If-Match': page.etag || `"${n.version}"` } });
      page.etag = res.etag;
      announce('Varslet er rettet.');
      show(page, res.data, 'Varslet er rettet. Milepælenes frister er regnet ud igen.');
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.errors.length) {
        const date = e.errors.find((x) => x.field === 'expected_date');
        if (date) setFieldError(fDate, date.message || 'Datoen må ikke ligge i fortiden.');
        const rest = e.errors.filter((x) => x !== date);
        if (rest.length) replace(status, notice('error', rest.map((x) => x.message).join(' ')));
        (date ? fDate.input : form).focus();
      } else {
        replace(status, notice('error', changeError(e, 'Varslet kunne ikke rettes.')));
      }
    }
  });
  return form;
}

function cancelPanel(page, n) {
  const fReason = field('Begrundelse', h('textarea', { name: 'reason', rows: 3, maxlength: 1000 }),
    { hint: 'Fx at borgeren er fraflyttet, eller at sagen alligevel ikke skal overdrages. Modtageren kan se begrundelsen.' });
  const status = h('div');
  const form = h('form', { class: 'panel notice-cancel', novalidate: true, 'aria-label': 'Annullér varslet' },
    h('h3', {}, 'Annullér varslet'), status, fReason.wrap,
    h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'button button--danger' }, 'Annullér varslet')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    setFieldError(fReason, null);
    const reason = fReason.input.value.trim();
    if (!reason) {
      setFieldError(fReason, 'Skriv, hvorfor varslet annulleres.');
      fReason.input.focus();
      return;
    }
    try {
      const res = await post(`/notices/${seg(n.id)}/cancel`, { reason });
      page.etag = res.etag;
      refreshTasks();
      announce('Varslet er annulleret.');
      show(page, res.data, 'Varslet er annulleret. Modtageren kan se begrundelsen.');
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.errors.length) {
        setFieldError(fReason, e.errors.map((x) => x.message).join(' '));
        fReason.input.focus();
      } else {
        replace(status, notice('error', changeError(e, 'Varslet kunne ikke annulleres.')));
      }
    }
  });
  return form;
}

// -- what happened -----------------------------------------------------------------------------

/** The notice's events: the API's list when it gives one, else what the notice itself records. */
function eventRows(n) {
  if (Array.isArray(n.events)) {
    return n.events.slice().sort((a, b) => (a.at < b.at ? -1 : 1)).map((ev) => ({
      at: ev.at,
      by: ev.by ? ev.by.display_name : null,
      what: NOTICE_ACTION[ev.action] || 'Ændret',
      status: ev.to ? NOTICE_STATUS[ev.to] || '' : '',
    }));
  }
  const rows = [{ at: n.created_at, by: n.sender && n.sender.person ? n.sender.person.display_name : null, what: 'Oprettet', status: NOTICE_STATUS.open }];
  if (n.acknowledged_at) rows.push({ at: n.acknowledged_at, by: n.acknowledged_by ? n.acknowledged_by.display_name : null, what: 'Kvitteret', status: NOTICE_STATUS.acknowledged });
  if (n.status === 'converted' || n.status === 'cancelled') rows.push({ at: n.updated_at, by: null, what: n.status === 'converted' ? 'Notat oprettet' : 'Annulleret', status: NOTICE_STATUS[n.status] });
  else if (n.version > 1 && n.updated_at && n.updated_at !== n.acknowledged_at && n.updated_at !== n.created_at) rows.push({ at: n.updated_at, by: null, what: 'Senest ændret', status: '' });
  return rows.filter((r) => r.at).sort((a, b) => (a.at < b.at ? -1 : 1));
}

function events(n) {
  const cols = ['Tidspunkt', 'Hvem', 'Hændelse', 'Status'];
  const rows = eventRows(n);
  return h('section', { class: 'notice-events', 'aria-labelledby': 'events-h' },
    h('h2', { id: 'events-h' }, 'Hændelser'),
    tableWrap('Hændelser', h('table', { class: 'data data--cards', id: 'notice-events' },
      h('caption', { class: 'visually-hidden' }, 'Hændelser'),
      h('thead', {}, h('tr', {}, cols.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('td', { 'data-label': cols[0] }, fmtDateTime(r.at)),
        h('td', { 'data-label': cols[1] }, r.by || '—'),
        h('td', { 'data-label': cols[2] }, r.what),
        h('td', { 'data-label': cols[3] }, r.status || '—')))))));
}
