// actions.js: what is done to a note besides editing it: the receiving
// team accepts it (with an optional read-back), returns it with flags on
// sections, or forwards it to another unit; the sending team withdraws it;
// and anyone who sees it reads its history.

import { ApiError, del, get, post, seg } from '../api.js';
import { announce, clear, field, fmtDateTime, h, newId, notice, replace, setFieldError, tableWrap } from '../dom.js';
import { ACTION, STATUS } from '../labels.js';
import { state, unitName } from '../state.js';
import { returnPanel, returnSummary } from './flags.js';

async function act(note, action, body, etag) {
  const headers = etag ? { 'If-Match': etag } : {};
  return post(`/handovers/${seg(note.id)}/${action}`, body, { headers });
}

/** A disclosure button that shows one panel at a time. */
function disclosure(label, panel, group) {
  const id = newId('panel');
  panel.id = id;
  panel.hidden = true;
  const button = h('button', { type: 'button', class: 'button', 'aria-expanded': 'false', 'aria-controls': id }, label);
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') === 'true';
    for (const g of group) {
      g.button.setAttribute('aria-expanded', 'false');
      g.panel.hidden = true;
    }
    if (!open) {
      button.setAttribute('aria-expanded', 'true');
      panel.hidden = false;
      const first = panel.querySelector('input, textarea, select, button');
      if (first) first.focus();
    }
  });
  const entry = { button, panel };
  group.push(entry);
  return entry;
}

function errorText(e) {
  if (!(e instanceof ApiError)) return 'Det mislykkedes. Prøv igen.';
  if (e.status === 409) return `Det kan ikke lade sig gøre nu: ${e.problem.detail || 'notatet har skiftet status'}. Genindlæs siden.`;
  if (e.status === 412) return 'Notatet er ændret af en anden, siden du hentede det. Genindlæs siden.';
  return e.userMessage;
}

/** The receiving team's panel: accept, return with flags, forward. */
export function renderReceiverActions(note, template, { etag, done }) {
  const group = [];
  const status = h('div');

  // accept
  const readback = field('Tilbagemelding til afsenderen (valgfri)', h('textarea', { name: 'readback', rows: '3' }),
    { hint: 'Gengiv kort det vigtigste, du har forstået — så ved afsenderen, at overdragelsen er kommet rigtigt frem.' });
  const acceptForm = h('form', { class: 'panel', 'aria-label': 'Godkend notatet' },
    h('h3', {}, 'Godkend notatet'),
    h('p', {}, 'Når du godkender, overtager din enhed borgeren, og afsenderen får besked.'),
    readback.wrap,
    h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'button button--primary' }, 'Godkend notatet')));
  acceptForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    const text = readback.input.value.trim();
    try {
      const res = await act(note, 'accept', text ? { readback: text } : undefined, etag());
      announce('Notatet er godkendt.');
      done(res.data, res.etag, 'Notatet er godkendt. Afsenderen får besked.');
    } catch (e) {
      status.append(notice('error', errorText(e)));
    }
  });

  // return: the marks set with »Markér« beside the sections (flags.js)
  const returnForm = returnPanel(note, template, { etag, done });

  // forward
  const units = state.unitIndex ? [...state.unitIndex.keys()].filter((c) => c !== note.receiver.unit) : [];
  const unitSel = field('Send videre til', h('select', { name: 'forward-unit', required: true },
    h('option', { value: '' }, 'Vælg enhed …'), units.map((c) => h('option', { value: c }, `${unitName(c)} (${c})`))));
  const reason = field('Begrundelse', h('textarea', { name: 'forward-reason', rows: '2', required: true }),
    { hint: 'Hvorfor hører borgeren til den anden enhed? Den nye enhed får besked.' });
  const fwdStatus = h('div');
  const forwardForm = h('form', { class: 'panel', 'aria-label': 'Videresend notatet' },
    h('h3', {}, 'Videresend til en anden enhed'),
    fwdStatus, unitSel.wrap, reason.wrap,
    h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'button' }, 'Videresend')));
  forwardForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(fwdStatus);
    setFieldError(unitSel, null);
    setFieldError(reason, null);
    const unit = unitSel.input.value;
    const why = reason.input.value.trim();
    if (!unit) setFieldError(unitSel, 'Vælg den enhed, notatet skal videre til.');
    if (!why) setFieldError(reason, 'Skriv en begrundelse.');
    if (!unit || !why) {
      (unit ? reason : unitSel).input.focus();
      return;
    }
    try {
      const res = await act(note, 'forward', { unit, reason: why }, etag());
      announce('Notatet er videresendt.');
      done(res.data, res.etag, `Notatet er videresendt til ${unitName(unit)}.`);
    } catch (e) {
      fwdStatus.append(notice('error', errorText(e)));
    }
  });

  const a = disclosure('Godkend …', acceptForm, group);
  const r = disclosure('Returnér …', returnForm, group);
  const f = disclosure('Videresend …', forwardForm, group);
  return h('section', { class: 'receiver-actions', 'aria-labelledby': 'receiver-actions-h' },
    h('h2', { id: 'receiver-actions-h' }, 'Modtag notatet'),
    h('p', {}, 'Læs notatet, og godkend det — eller markér med »Markér« ved afsnittene, hvad der mangler, og returnér det.'),
    status,
    h('div', { class: 'button-row' }, a.button, r.button, f.button, returnSummary(note, template)),
    acceptForm, returnForm, forwardForm);
}

/** The sender may withdraw a note that is not decided yet. */
export function renderWithdraw(note, { etag, done }) {
  const status = h('div');
  const reason = field('Begrundelse (valgfri)', h('textarea', { name: 'withdraw-reason', rows: '2' }));
  const confirm = h('form', { class: 'panel', hidden: true, 'aria-label': 'Træk notatet tilbage' },
    h('p', {}, 'Et notat, der er trukket tilbage, kan ikke sendes igen. Er du sikker?'),
    status, reason.wrap,
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'button button--danger' }, 'Ja, træk notatet tilbage'),
      h('button', { type: 'button', class: 'button', onclick: () => { confirm.hidden = true; open.setAttribute('aria-expanded', 'false'); open.focus(); } }, 'Fortryd')));
  const open = h('button', { type: 'button', class: 'button button--danger', 'aria-expanded': 'false' }, 'Træk notatet tilbage …');
  open.addEventListener('click', () => {
    confirm.hidden = false;
    open.setAttribute('aria-expanded', 'true');
    reason.input.focus();
  });
  confirm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    const why = reason.input.value.trim();
    try {
      const res = await act(note, 'withdraw', why ? { reason: why } : undefined, etag());
      done(res.data, res.etag, 'Notatet er trukket tilbage.');
    } catch (e) {
      status.append(notice('error', errorText(e)));
    }
  });
  return h('section', { class: 'withdraw', 'aria-label': 'Træk tilbage' }, h('div', { class: 'button-row' }, open), confirm);
}

/** A draft is deleted, not withdrawn: "Slet kladde", confirmed first (DELETE with If-Match → 204). */
export function renderDeleteDraft(note, { etag, done }) {
  const status = h('div');
  const confirm = h('form', { class: 'panel', hidden: true, id: 'delete-draft-confirm', 'aria-label': 'Slet kladden' },
    h('p', {}, h('strong', {}, `Vil du slette kladden ${note.ref}? `), 'Den forsvinder fra dine kladder, og teksten kan ikke hentes tilbage.'),
    status,
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'button button--danger', id: 'delete-draft-yes' }, 'Ja, slet kladden'),
      h('button', { type: 'button', class: 'button button-secondary', onclick: () => { confirm.hidden = true; open.setAttribute('aria-expanded', 'false'); open.focus(); } }, 'Fortryd')));
  const open = h('button', { type: 'button', class: 'button button--danger', id: 'delete-draft', 'aria-expanded': 'false', 'aria-controls': 'delete-draft-confirm' }, 'Slet kladde …');
  open.addEventListener('click', () => {
    confirm.hidden = false;
    open.setAttribute('aria-expanded', 'true');
    confirm.querySelector('#delete-draft-yes').focus();
  });
  confirm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    try {
      await del(`/handovers/${seg(note.id)}`, { headers: { 'If-Match': etag() } });
      done();
    } catch (e) {
      status.append(notice('error', e instanceof ApiError && e.status === 404
        ? 'Kladden findes ikke længere. Den er måske allerede slettet.' : errorText(e)));
    }
  });
  return h('section', { class: 'withdraw delete-draft', 'aria-label': 'Slet kladde' }, h('div', { class: 'button-row' }, open), confirm);
}

/** A note made from a notice (POST /notices/{id}/handover): its create event names the notice; a link to it. */
function noticeOf(ev) {
  const n = ev.detail && ev.detail.notice;
  if (!n || !n.id) return null;
  return [detailText(ev) ? '; ' : '', 'fra varslet ', h('a', { href: `#/varsler/${encodeURIComponent(n.id)}`, class: 'history-notice' }, n.ref || 'åbn varslet')];
}

function detailText(ev) {
  const d = ev.detail || {};
  const parts = [];
  if (d.to_unit) parts.push(`til ${unitName(d.to_unit)}`);
  if (d.reason) parts.push(`begrundelse: »${d.reason}«`);
  if (d.readback) parts.push('med tilbagemelding');
  if (d.reply) parts.push(`svar på markeringen: »${d.reply}«`);
  return parts.join('; ');
}

/** The history (GET /handovers/{id}/history), loaded on request. */
export function renderHistory(note) {
  const body = h('div', { id: 'history-body', hidden: true });
  const button = h('button', { type: 'button', class: 'button', 'aria-expanded': 'false', 'aria-controls': 'history-body' }, 'Vis historik');
  let loaded = false;
  button.addEventListener('click', async () => {
    const open = button.getAttribute('aria-expanded') === 'true';
    button.setAttribute('aria-expanded', String(!open));
    button.textContent = open ? 'Vis historik' : 'Skjul historik';
    body.hidden = open;
    if (open || loaded) return;
    replace(body, h('p', {}, 'Henter historikken …'));
    try {
      const { data } = await get(`/handovers/${seg(note.id)}/history`);
      loaded = true;
      const events = (data.events || []).slice().sort((a, b) => (a.at < b.at ? -1 : 1));
      const versions = (data.versions || []).slice().sort((a, b) => a.version - b.version);
      const evTable = h('table', { class: 'data' },
        h('caption', {}, 'Hændelser'),
        h('thead', {}, h('tr', {}, ['Tidspunkt', 'Hvem', 'Hændelse', 'Status', 'Detaljer'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, events.map((ev) => h('tr', {},
          h('td', {}, fmtDateTime(ev.at)),
          h('td', {}, ev.by ? ev.by.display_name || 'ukendt' : 'Stafet'),
          h('td', {}, ACTION[ev.action] || ev.action),
          h('td', {}, ev.from && ev.from !== ev.to ? `${STATUS[ev.from] || ev.from} → ${STATUS[ev.to] || ev.to}` : STATUS[ev.to] || ev.to || ''),
          h('td', {}, detailText(ev), noticeOf(ev))))));
      const vTable = h('table', { class: 'data' },
        h('caption', {}, 'Udgaver'),
        h('thead', {}, h('tr', {}, ['Udgave', 'Tidspunkt', 'Hvem', 'Handling', 'Status', 'Udfyldt'].map((x, i) => h('th', { scope: 'col', class: i === 0 || i === 5 ? 'num' : null }, x)))),
        h('tbody', {}, versions.map((v) => h('tr', {},
          h('td', { class: 'num' }, String(v.version)),
          h('td', {}, fmtDateTime(v.at)),
          h('td', {}, v.by ? v.by.display_name || 'ukendt' : ''),
          h('td', {}, ACTION[v.action] || v.action || ''),
          h('td', {}, STATUS[v.status] || v.status),
          h('td', { class: 'num' }, `${v.completeness} %`)))));
      replace(body, tableWrap('Hændelser', evTable), tableWrap('Udgaver', vTable));
    } catch (e) {
      replace(body, notice('error', e instanceof ApiError ? e.userMessage : 'Historikken kunne ikke hentes.'));
    }
  });
  return h('section', { class: 'history-section', 'aria-labelledby': 'history-h' },
    h('h2', { id: 'history-h' }, 'Historik'),
    h('p', {}, 'Hver ændring er en ny udgave, og hver hændelse er gemt med hvem og hvornår.'),
    h('div', { class: 'button-row' }, button), body);
}
