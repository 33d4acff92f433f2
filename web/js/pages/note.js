// note.js: "Overdragelsesnotat": the form built from the route's template
// (GET /templates/{route}) with live checks beside each section (POST
// /handovers/check while typing), the completeness figure, save as draft
// (POST /handovers, then PATCH with If-Match), submit (the 422's errors
// block it), the receiving team's accept / return / forward, withdraw, and
// the history. #/notater/{id} is the link in Stafet's mails.

import { ApiError, get, seg } from '../api.js';
import { announce, clear, field, fmtDate, fmtDateTime, h, notice, replace } from '../dom.js';
import { FIXED_SECTIONS, FLAG_KIND, STATUS } from '../labels.js';
import { personLink } from '../people.js';
import { canSend, loadRoutes, loadTemplate, loadUnits, routeByCode, routeName, state, unitName } from '../state.js';
import { sectionValueView } from '../note/sections.js';
import { renderDeleteDraft, renderHistory, renderReceiverActions, renderWithdraw } from '../note/actions.js';
import { flagsBeside, markSections, reviewChanges } from '../note/flags.js';
import { NoteEditor, checkItem, countChecks, emptyDoc } from '../note/editor.js';
import { readLocal, userKey } from '../note/localcopy.js';

export function statusBadge(status) {
  return h('span', { class: ['badge', `status--${status}`] }, STATUS[status] || status);
}

// -- entry points -------------------------------------------------------------------------

export async function renderNew(el, ctx) {
  el.append(h('p', { class: 'breadcrumb' }, h('a', { href: '#/udbakke' }, '← Udbakke')),
    h('h1', { class: 'page-title' }, 'Nyt overdragelsesnotat'));
  const routes = await loadRoutes();
  await loadUnits().catch(() => null);
  const seed = state.seed;
  state.seed = null; // used once: a reload starts afresh
  const sendable = routes.filter((r) => canSend(r));
  if (!sendable.length) {
    el.append(notice('info', 'Du hører ikke til en afsenderenhed på nogen rute, så du kan ikke oprette overdragelsesnotater.'));
    return undefined;
  }
  // Text of a new note that never reached the server (the session ended,
  // the connection was lost), kept encrypted on this computer for this user.
  const kept = await readLocal(await userKey(), 'ny');
  if (!ctx.isCurrent()) return undefined;
  const usable = kept && !emptyDoc(kept.doc) && routeByCode(kept.route) && sendable.some((r) => r.code === kept.route) ? kept : null;
  let restored = usable && !seed ? usable : null;
  let routeCode = restored ? restored.route : seed && routeByCode(seed.route) ? seed.route : sendable[0].code;
  const pick = h('select', { name: 'route' }, sendable.map((r) => h('option', { value: r.code, selected: r.code === routeCode }, r.name)));
  const pickF = field('Rute', pick, { hint: 'Skabelonen og kontrollerne følger ruten.' });
  const holder = h('div');
  const offer = h('div');
  el.append(offer, h('div', { class: 'route-pick' }, pickF.wrap), holder);
  let editor = null;
  async function build() {
    const keep = editor ? editor.snapshot() : null;
    if (editor) editor.destroy();
    clear(holder);
    const template = await loadTemplate(routeCode);
    const route = routeByCode(routeCode);
    const s = keep || seed || {};
    editor = new NoteEditor(holder, {
      note: null, route, template, ctx, seed: s, restored,
      onSaved: () => { pick.disabled = true; },
    });
    restored = null;
  }
  pick.addEventListener('change', () => {
    routeCode = pick.value;
    build();
  });
  if (usable && seed) {
    // A new note was started from "Find modtager", but older text waits here: offer it.
    offer.append(notice('info', h('p', {}, h('strong', {}, 'Du har tekst fra et nyt notat, der ikke blev gemt. '),
      'Vil du fortsætte med det i stedet?'),
    h('button', {
      type: 'button',
      class: 'button button-secondary',
      onclick: () => {
        clear(offer);
        restored = usable;
        routeCode = usable.route;
        pick.value = routeCode;
        if (editor) editor.destroy();
        editor = null;
        build();
      },
    }, 'Fortsæt med den tekst, der ikke blev gemt')));
  }
  await build();
  const cleanup = () => editor && editor.destroy();
  cleanup.isDirty = () => !!(editor && editor.dirty);
  return cleanup;
}

export async function renderExisting(el, ctx) {
  const id = ctx.params[0];
  const flash = state.flash && state.flash.id === id ? state.flash.text : null;
  state.flash = null;
  el.append(h('p', { class: 'breadcrumb' }, h('a', { href: '#/indbakke' }, '← Indbakke'), ' · ', h('a', { href: '#/udbakke' }, 'Udbakke')),
    h('h1', { class: 'page-title' }, 'Overdragelsesnotat'));
  const holder = h('div', {}, h('p', {}, 'Henter notatet …'));
  el.append(holder);
  let res;
  try {
    [res] = await Promise.all([get(`/handovers/${seg(id)}`), loadRoutes(), loadUnits().catch(() => null)]);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      replace(holder, notice('error', 'Notatet findes ikke, eller du har ikke adgang til det. Kun den afsendende og den modtagende enhed kan se et notat.'));
      return undefined;
    }
    throw e;
  }
  if (!ctx.isCurrent()) return undefined;
  const note = res.data;
  const template = await loadTemplate(note.route).catch(() => ({ sections: [] }));
  clear(holder);
  const view = new NoteView(el, holder, { note, etag: res.etag, template, ctx, flash });
  const cleanup = () => view.destroy();
  cleanup.isDirty = () => !!(view.editor && view.editor.dirty);
  return cleanup;
}

// -- the page for an existing note -----------------------------------------------------------

class NoteView {
  constructor(page, holder, { note, etag, template, ctx, flash }) {
    this.page = page;
    this.holder = holder;
    this.template = template;
    this.ctx = ctx;
    this.editor = null;
    this.show(note, etag, flash);
  }

  destroy() {
    if (this.editor) this.editor.destroy();
  }

  /** Re-renders after an action, with a message at the top. */
  show(note, etag, message) {
    if (this.editor) this.editor.destroy();
    this.editor = null;
    this.note = note;
    this.etag = etag;
    const h1 = this.page.querySelector('h1');
    h1.textContent = `Overdragelsesnotat ${note.ref}`;
    document.title = `${note.ref} – Stafet`;
    clear(this.holder);
    const msg = h('div', { class: 'flash' });
    if (message) msg.append(notice('success', message));
    this.holder.append(msg, noteHeader(note));
    // The note as a PDF to journalise (GET /handovers/{id}/pdf, need to know as here).
    this.holder.append(h('p', { class: 'note-export' }, h('a', {
      href: `/api/v1/handovers/${encodeURIComponent(note.id)}/pdf`, download: true, class: 'button button--secondary',
    }, 'Gem som PDF')));

    // The daemon says which side the reader acts for (need to know): a lead
    // of a unit above reads the note masked and may not act on it.
    const isSender = note.access === 'sender' || note.access === 'both';
    const isReceiver = note.status !== 'draft' && (note.access === 'receiver' || note.access === 'both');
    if (note.access === 'read') {
      this.holder.append(notice('info', h('p', {}, h('strong', {}, 'Du ser notatet som leder af en overordnet enhed. '),
        'CPR-nummeret er skjult, og borgerens navn vises med forbogstaver. Kun den afsendende og den modtagende enhed kan handle på notatet.')));
    }
    const editable = isSender && (note.status === 'draft' || note.status === 'returned');
    const open = (note.flags || []).filter((f) => !f.resolved);

    if (note.status === 'returned' && open.length) {
      this.holder.append(notice(isSender ? 'warning' : 'info',
        h('p', {}, h('strong', {}, isSender ? 'Modtageren har returneret notatet. ' : 'Notatet er returneret til afsenderen. '),
          isSender ? 'Ret det, der er markeret herunder, og send notatet igen.' : ''),
        h('ul', {}, open.map((f) => h('li', {}, `${sectionName(this.template, f.section)}: ${(FLAG_KIND[f.kind] || f.kind).toLowerCase()}`,
          f.comment ? ` — »${f.comment}«` : '', f.by ? [' (', f.by.display_name || '', ')'] : '')))));
    }
    if (isReceiver && (note.status === 'submitted' || note.status === 'received')) {
      this.holder.append(notice('info', 'Notatet venter på jeres svar: godkend det, returnér det, eller send det videre. ',
        h('button', {
          type: 'button',
          class: 'button button--small',
          onclick: () => {
            const t = document.getElementById('receiver-actions-h');
            t.setAttribute('tabindex', '-1');
            t.focus();
          },
        }, 'Gå til svaret')));
    }
    if (note.readback) {
      this.holder.append(notice('success', h('strong', {}, 'Modtagerens tilbagemelding: '), note.readback));
    }

    if (editable) {
      const route = routeByCode(note.route) || { code: note.route, to_unit: note.receiver.unit, name: note.route };
      this.editor = new NoteEditor(this.holder, {
        note, etag, route, template: this.template, ctx: this.ctx,
        onSubmitted: (n, e) => this.show(n, e, `Notatet er sendt til ${unitName(n.receiver.unit)}.`),
        onSaved: (n, e) => { this.note = n; this.etag = e; },
        renderFlags: (key) => flagsBeside(note, key, {
          canReply: note.status === 'returned',
          etag: () => (this.editor ? this.editor.etag : this.etag),
          replied: (n, e) => { // a reply is a new version: the form saves on top of it
            this.note = n;
            this.etag = e;
            if (this.editor) Object.assign(this.editor, { note: n, etag: e });
          },
        }),
      });
    } else {
      this.holder.append(readOnlySections(note, this.template));
      if (isReceiver && (note.status === 'submitted' || note.status === 'received')) {
        markSections(this.holder, note, this.template); // »Markér« beside each section (flags.js)
        reviewChanges(this.holder, note, this.template); // what changed since a return
      }
    }
    if (isReceiver && (note.status === 'submitted' || note.status === 'received')) {
      this.holder.append(renderReceiverActions(note, this.template, {
        etag: () => this.etag,
        done: (n, e, text) => { this.show(n, e, text); this.focusFlash(); },
      }));
    }
    if (isSender && note.status === 'draft') {
      this.holder.append(renderDeleteDraft(note, {
        etag: () => (this.editor ? this.editor.etag : this.etag),
        done: () => {
          if (this.editor) this.editor.discard();
          this.editor = null;
          announce('Kladden er slettet.');
          this.ctx.navigate('#/kladder', { replace: true });
        },
      }));
    } else if (isSender && ['submitted', 'received', 'returned'].includes(note.status)) {
      this.holder.append(renderWithdraw(note, {
        etag: () => (this.editor ? this.editor.etag : this.etag),
        done: (n, e, text) => { this.show(n, e, text); this.focusFlash(); },
      }));
    }
    this.holder.append(renderHistory(note, this.template));
  }

  focusFlash() {
    const n = this.holder.querySelector('.flash .notice');
    if (n) {
      n.setAttribute('tabindex', '-1');
      n.focus();
    }
  }
}

function sectionName(template, key) {
  if (FIXED_SECTIONS[key]) return FIXED_SECTIONS[key];
  const s = (template.sections || []).find((x) => x.key === key);
  return s ? s.label : key;
}

function noteHeader(note) {
  const c = note.citizen || {};
  const rows = [
    ['Status', statusBadge(note.status)],
    ['Rute', routeName(note.route)],
    ['Borger', [c.name || '—', c.cpr ? [', CPR ', h('span', { class: 'cpr' }, c.cpr)] : null]],
    ['Fødselsdato', c.birthdate ? `${fmtDate(c.birthdate)}${c.age_at_handover !== null && c.age_at_handover !== undefined ? ` (${c.age_at_handover} år ved overdragelsen)` : ''}` : null],
    ['Planlagt overdragelse', note.planned_date ? fmtDate(note.planned_date) : 'Ikke angivet'],
    ['Afsender', [note.sender && note.sender.person ? personLink(note.sender.person) : '', note.sender ? `, ${unitName(note.sender.unit)}` : '']],
    ['Modtager', [note.receiver && note.receiver.person ? [personLink(note.receiver.person), ', '] : '', note.receiver ? unitName(note.receiver.unit) : '']],
    ['Udfyldt', `${note.completeness} %`],
    ['Oprettet', fmtDateTime(note.created_at)],
    ['Sendt', note.submitted_at ? fmtDateTime(note.submitted_at) : null],
    ['Modtaget', note.received_at ? fmtDateTime(note.received_at) : null],
    [{ accepted: 'Godkendt', returned: 'Returneret', withdrawn: 'Trukket tilbage' }[note.status] || 'Afgjort',
      note.decided_at ? fmtDateTime(note.decided_at) : null],
  ].filter(([, v]) => v !== null && v !== undefined);
  return h('dl', { class: 'details card card--wide note-header' }, rows.map(([t, v]) => [h('dt', {}, t), h('dd', {}, v)]));
}

function readOnlySections(note, template) {
  const wrap = h('div', { class: 'readonly-sections' }, h('h2', {}, 'Notatets afsnit'));
  const failed = (note.checks || []).filter((c) => !c.passed);
  for (const s of template.sections || []) {
    const checks = failed.filter((c) => c.section === s.key);
    wrap.append(h('section', { class: 'readonly-section', id: `sec-${s.key}`, 'aria-labelledby': `sec-${s.key}-h` },
      h('h3', { id: `sec-${s.key}-h` }, s.label),
      flagsBeside(note, s.key),
      sectionValueView(s, (note.sections || {})[s.key]),
      checks.length ? h('ul', { class: 'checks' }, checks.map(checkItem)) : null));
  }
  return wrap;
}

export { countChecks };
