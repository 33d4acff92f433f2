// note.js: "Overdragelsesnotat": the form built from the route's template
// (GET /templates/{route}) with live checks beside each section (POST
// /handovers/check while typing), the completeness figure, save as draft
// (POST /handovers, then PATCH with If-Match), submit (the 422's errors
// block it), the receiving team's accept / return / forward, withdraw, and
// the history. #/notater/{id} is the link in Stafet's mails.

import { ApiError, get, patch, post, seg } from '../api.js';
import { announce, clear, debounce, field, fmtDate, fmtDateTime, h, notice, replace, setFieldError, todayIso } from '../dom.js';
import { FIXED_SECTIONS, STATUS } from '../labels.js';
import { personLink } from '../people.js';
import { canSend, loadRoutes, loadTemplate, loadUnits, routeByCode, routeName, state, unitName, unitWithin } from '../state.js';
import { requiredBadge, sectionEditor, sectionValueView } from '../note/sections.js';
import { renderHistory, renderReceiverActions, renderWithdraw } from '../note/actions.js';

export function statusBadge(status) {
  return h('span', { class: ['badge', `status--${status}`] }, STATUS[status] || status);
}

const SEVERITY = { error: 'Fejl', warning: 'Advarsel' };

function checkItem(c) {
  const kind = c.passed ? 'ok' : c.severity === 'warning' ? 'warning' : 'error';
  const icon = c.passed ? '✓ OK' : kind === 'warning' ? '! Advarsel' : '✗ Fejl';
  return h('li', { class: ['check-item', `check-item--${kind}`], dataset: { check: c.id } },
    h('span', { class: 'check-item__icon' }, icon),
    h('span', { class: 'check-item__msg' }, c.message));
}

/** The summary of a checks list: {errors, warnings}. */
function countChecks(checks) {
  let errors = 0;
  let warnings = 0;
  for (const c of checks || []) {
    if (c.passed) continue;
    if (c.severity === 'warning') warnings++;
    else errors++;
  }
  return { errors, warnings };
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
  let routeCode = seed && routeByCode(seed.route) ? seed.route : sendable[0].code;
  const pick = h('select', { name: 'route' }, sendable.map((r) => h('option', { value: r.code, selected: r.code === routeCode }, `${r.name} (${r.code})`)));
  const pickF = field('Rute', pick, { hint: 'Skabelonen og kontrollerne følger ruten.' });
  const holder = h('div');
  el.append(h('div', { class: 'route-pick' }, pickF.wrap), holder);
  let editor = null;
  async function build() {
    const keep = editor ? editor.snapshot() : null;
    if (editor) editor.destroy();
    clear(holder);
    const template = await loadTemplate(routeCode);
    const route = routeByCode(routeCode);
    const s = keep || seed || {};
    editor = new NoteEditor(holder, {
      note: null, route, template, ctx, seed: s,
      onSaved: () => { pick.disabled = true; },
    });
  }
  pick.addEventListener('change', () => {
    routeCode = pick.value;
    build();
  });
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
        h('ul', {}, open.map((f) => h('li', {}, `${sectionName(this.template, f.section)}: ${f.kind === 'missing' ? 'mangler' : 'upræcis'}`,
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
      });
    } else {
      this.holder.append(readOnlySections(note, this.template));
    }
    if (isReceiver && (note.status === 'submitted' || note.status === 'received')) {
      this.holder.append(renderReceiverActions(note, this.template, {
        etag: () => this.etag,
        done: (n, e, text) => { this.show(n, e, text); this.focusFlash(); },
      }));
    }
    if (isSender && ['draft', 'submitted', 'received', 'returned'].includes(note.status)) {
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
    ['Rute', `${routeName(note.route)} (${note.route})`],
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

function flagsFor(note, key) {
  return (note.flags || []).filter((f) => f.section === key);
}

function flagView(f) {
  return h('div', { class: ['flag', f.resolved ? 'flag--resolved' : null] },
    h('strong', {}, f.kind === 'missing' ? 'Mangler' : 'Upræcis'), f.resolved ? ' (rettet)' : '',
    f.comment ? [': ', f.comment] : '',
    h('br'), h('span', { class: 'muted' }, [f.by && f.by.display_name ? `${f.by.display_name}, ` : '', fmtDateTime(f.at)]));
}

function readOnlySections(note, template) {
  const wrap = h('div', { class: 'readonly-sections' }, h('h2', {}, 'Notatets afsnit'));
  const failed = (note.checks || []).filter((c) => !c.passed);
  for (const s of template.sections || []) {
    const fl = flagsFor(note, s.key);
    const checks = failed.filter((c) => c.section === s.key);
    wrap.append(h('section', { class: 'readonly-section', id: `sec-${s.key}`, 'aria-labelledby': `sec-${s.key}-h` },
      h('h3', { id: `sec-${s.key}-h` }, s.label),
      fl.map(flagView),
      sectionValueView(s, (note.sections || {})[s.key]),
      checks.length ? h('ul', { class: 'checks' }, checks.map(checkItem)) : null));
  }
  return wrap;
}

// -- the form -----------------------------------------------------------------------------------

class NoteEditor {
  /**
   * note: the stored note or null for a new one; seed: {citizen, receiver,
   * sections, placed} for a new note; route, template.
   */
  constructor(holder, { note, etag, route, template, ctx, seed, onSubmitted, onSaved }) {
    this.holder = holder;
    this.note = note;
    this.etag = etag || null;
    this.route = route;
    this.template = template;
    this.ctx = ctx;
    this.onSubmitted = onSubmitted;
    this.onSaved = onSaved;
    this.dirty = false;
    this.checkSeq = 0;
    this.destroyed = false;
    this.checkBoxes = new Map(); // section key → <ul>
    this.editors = new Map(); // section key → editor
    this.scheduleCheck = debounce(() => this.runCheck(), 450);
    this.build(seed || {});
    this.runCheck();
  }

  destroy() {
    this.destroyed = true;
    this.scheduleCheck.cancel();
  }

  /** The form's values, to carry across a change of route. */
  snapshot() {
    const doc = this.collect();
    return { citizen: doc.citizen, planned_date: doc.planned_date, receiver: null, sections: doc.sections };
  }

  changed() {
    this.dirty = true;
    this.saveState.textContent = 'Ændringer er ikke gemt.';
    this.scheduleCheck();
  }

  build(seed) {
    const note = this.note;
    const onChange = () => this.changed();
    const citizen = note ? note.citizen || {} : seed.citizen || {};

    // summary bar
    this.progress = h('progress', { max: '100', value: String(note ? note.completeness : 0), 'aria-labelledby': 'completeness-label' });
    this.figure = h('span', { class: 'completeness', id: 'completeness-figure' }, `${note ? note.completeness : 0} %`);
    this.counts = h('span', { id: 'check-counts', 'aria-live': 'polite' }, '');
    this.saveState = h('span', { class: 'muted', id: 'save-state', role: 'status' }, note ? `Gemt som udgave ${note.version}.` : 'Ikke gemt endnu.');
    this.saveButton = h('button', { type: 'button', class: 'button', id: 'save-draft' }, 'Gem kladde');
    this.submitButton = h('button', { type: 'button', class: 'button button--primary', id: 'submit-note' },
      note && note.status === 'returned' ? 'Send igen' : 'Send til modtager');
    this.saveButton.addEventListener('click', () => this.save());
    this.submitButton.addEventListener('click', () => this.submit());
    this.messages = h('div', { class: 'form-messages', id: 'form-messages' });

    const summary = h('div', { class: 'note-summary', role: 'group', 'aria-label': 'Notatets status' },
      h('span', { id: 'completeness-label' }, 'Udfyldt:'), this.figure, this.progress, this.counts,
      h('span', { class: 'button-row' }, this.saveButton, this.submitButton), this.saveState);

    // citizen, planned date, receiver
    this.cpr = field('CPR-nummer', h('input', { type: 'text', name: 'cpr', autocomplete: 'off', inputmode: 'numeric', maxlength: '11', value: citizen.cpr || '' }), { hint: 'DDMMÅÅ-SSSS' });
    this.name = field('Navn', h('input', { type: 'text', name: 'citizen-name', autocomplete: 'off', value: citizen.name || '' }));
    this.birth = field('Fødselsdato', h('input', { type: 'date', name: 'birthdate', value: citizen.birthdate || '' }), { hint: 'Valgfri; skal passe med CPR-nummeret.' });
    const plannedValue = note ? note.planned_date || '' : seed.planned_date || '';
    this.planned = field('Planlagt overdragelsesdato', h('input', { type: 'date', name: 'planned_date', value: plannedValue, min: todayIso() }),
      { hint: 'Den dag modtageren overtager sagen.' });
    [this.cpr, this.name, this.birth, this.planned].forEach((f) => f.input.addEventListener('input', onChange));

    const toUnit = this.route.to_unit;
    const unitCodes = state.unitIndex
      ? [...state.unitIndex.keys()].filter((c) => !toUnit || unitWithin(c, toUnit))
      : [toUnit].filter(Boolean);
    const recv = note ? note.receiver || {} : seed.receiver || {};
    const currentUnit = recv.unit || toUnit || unitCodes[0] || '';
    if (currentUnit && !unitCodes.includes(currentUnit)) unitCodes.unshift(currentUnit);
    this.unitSelect = h('select', { name: 'receiver-unit' }, unitCodes.map((c) => h('option', { value: c, selected: c === currentUnit }, `${unitName(c)} (${c})`)));
    this.unit = field('Modtagende enhed', this.unitSelect);
    this.personSelect = h('select', { name: 'receiver-person' }, h('option', { value: '' }, 'Ingen navngiven modtager — enheden modtager'));
    this.person = field('Navngiven modtager', this.personSelect, { hint: 'Valgfri. Uden navn går notatet til enhedens fælles postkasse.' });
    const wantPerson = recv.person ? (typeof recv.person === 'object' ? recv.person.id : recv.person) : '';
    const wantName = recv.person && typeof recv.person === 'object' ? recv.person.display_name : recv.person_name;
    const loadMembers = async (keep) => {
      const code = this.unitSelect.value;
      clear(this.personSelect);
      this.personSelect.append(h('option', { value: '' }, 'Ingen navngiven modtager — enheden modtager'));
      try {
        const { data } = await get(`/units/${seg(code)}`);
        for (const m of data.members || []) {
          this.personSelect.append(h('option', { value: m.id, selected: m.id === keep }, `${m.display_name}${m.title ? `, ${m.title}` : ''}${m.absent ? ' (fraværende)' : ''}`));
        }
      } catch (e) { /* the list is a help only */ }
      if (keep && !this.personSelect.querySelector(`option[value="${CSS.escape(keep)}"]`)) {
        this.personSelect.append(h('option', { value: keep, selected: true }, wantName || 'Valgt modtager'));
      }
      if (keep) this.personSelect.value = keep;
    };
    this.membersLoaded = loadMembers(wantPerson);
    this.unitSelect.addEventListener('change', () => { loadMembers(''); onChange(); });
    this.personSelect.addEventListener('change', onChange);

    const basics = [
      this.fixedSection('citizen', 'Borgeren', [h('div', { class: 'form-row' }, this.cpr.wrap, this.name.wrap, this.birth.wrap)]),
      this.fixedSection('planned_date', 'Planlagt overdragelse', [this.planned.wrap]),
      this.fixedSection('receiver', 'Modtager', [h('div', { class: 'form-row' }, this.unit.wrap, this.person.wrap)]),
    ];

    // the template's sections
    const values = note ? note.sections || {} : { ...(seed.sections || {}) };
    if (!note && seed.placed !== undefined && (this.template.sections || []).some((s) => s.key === 'placed' && s.kind === 'boolean') && values.placed === undefined) {
      values.placed = seed.placed;
    }
    const secs = (this.template.sections || []).map((s) => {
      const ed = sectionEditor(s, values[s.key], onChange);
      this.editors.set(s.key, ed);
      const checks = h('ul', { class: 'checks', id: `checks-${s.key}` });
      this.checkBoxes.set(s.key, checks);
      const flags = note ? flagsFor(note, s.key) : [];
      const open = flags.some((f) => !f.resolved);
      const helpId = `sec-${s.key}-help`;
      return h('section', { class: ['section', open ? 'section--flagged' : null], id: `sec-${s.key}`, 'aria-labelledby': `sec-${s.key}-h`, 'aria-describedby': s.help ? helpId : null },
        h('h3', { class: 'section__title', id: `sec-${s.key}-h` }, s.label, ' ', requiredBadge(s, this.template)),
        s.help ? h('p', { class: 'section__help', id: helpId }, s.help) : null,
        flags.length ? h('div', { class: 'section__flags' }, flags.map(flagView)) : null,
        h('div', { class: 'section__body' }, ed.el),
        h('div', { class: 'section__checks' }, h('h4', { class: 'visually-hidden' }, `Kontrol af ${s.label}`), checks));
    });

    const form = h('form', { class: 'note-form', novalidate: true, 'aria-label': 'Overdragelsesnotat' },
      h('h2', {}, this.template.name || 'Notatets afsnit'),
      this.template.description ? h('p', { class: 'lead' }, this.template.description) : null,
      summary, this.messages, basics, h('h2', {}, 'Afsnit'), secs,
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'button', onclick: () => this.save() }, 'Gem kladde'),
        h('button', { type: 'button', class: 'button button--primary', onclick: () => this.submit() },
          note && note.status === 'returned' ? 'Send igen' : 'Send til modtager')));
    form.addEventListener('submit', (ev) => ev.preventDefault());
    this.holder.append(form);
  }

  fixedSection(key, title, content) {
    const checks = h('ul', { class: 'checks', id: `checks-${key}` });
    this.checkBoxes.set(key, checks);
    return h('section', { class: 'section', id: `sec-${key}`, 'aria-labelledby': `sec-${key}-h` },
      h('h3', { class: 'section__title', id: `sec-${key}-h` }, title),
      h('div', { class: 'section__body' }, content),
      h('div', { class: 'section__checks' }, h('h4', { class: 'visually-hidden' }, `Kontrol af ${title}`), checks));
  }

  /** The note's fields as the API takes them; empty ones left out. */
  collect() {
    const citizen = {};
    const cpr = this.cpr.input.value.trim();
    const name = this.name.input.value.trim();
    if (cpr) citizen.cpr = cpr;
    if (name) citizen.name = name;
    if (this.birth.input.value) citizen.birthdate = this.birth.input.value;
    const sections = {};
    for (const [key, ed] of this.editors) {
      const v = ed.get();
      if (v !== undefined) sections[key] = v;
    }
    const receiver = { unit: this.unitSelect.value };
    if (this.personSelect.value) receiver.person = this.personSelect.value;
    return { citizen, planned_date: this.planned.input.value || null, receiver, sections };
  }

  showChecks(checks, completeness) {
    for (const ul of this.checkBoxes.values()) clear(ul);
    for (const c of checks || []) {
      const ul = this.checkBoxes.get(c.section);
      if (ul) ul.append(checkItem(c));
    }
    for (const [key, ul] of this.checkBoxes) {
      if (!ul.children.length) ul.append(h('li', { class: 'check-item muted' }, key === 'receiver' ? 'Ingen fejl.' : 'Ingen kontrol af dette afsnit lige nu.'));
    }
    const pct = Number.isFinite(completeness) ? completeness : 0;
    this.figure.textContent = `${pct} %`;
    this.progress.value = pct;
    const { errors, warnings } = countChecks(checks);
    this.counts.textContent = errors || warnings
      ? `${errors} ${errors === 1 ? 'fejl' : 'fejl'}, ${warnings} ${warnings === 1 ? 'advarsel' : 'advarsler'}`
      : 'Alle kontroller er bestået';
    this.counts.className = errors ? 'badge badge--error' : warnings ? 'badge badge--warning' : 'badge badge--ok';
  }

  /** Field errors of a 400/422 (citizen.cpr, sections.actions.0.due …) beside their fields. */
  showFieldErrors(errors) {
    const fixed = { 'citizen.cpr': this.cpr, 'citizen.name': this.name, 'citizen.birthdate': this.birth, planned_date: this.planned, 'receiver.unit': this.unit, 'receiver.person': this.person };
    [this.cpr, this.name, this.birth, this.planned, this.unit, this.person].forEach((f) => setFieldError(f, null));
    const bySection = new Map();
    for (const e of errors || []) {
      if (fixed[e.field]) {
        setFieldError(fixed[e.field], e.message);
        continue;
      }
      const m = /^sections\.([a-z0-9_]+)/.exec(e.field || '');
      if (m) {
        if (!bySection.has(m[1])) bySection.set(m[1], []);
        bySection.get(m[1]).push(e);
      }
    }
    for (const [key, errs] of bySection) {
      const ul = this.checkBoxes.get(key);
      if (ul) for (const e of errs) ul.prepend(checkItem({ id: e.code, severity: 'error', passed: false, message: e.message }));
    }
  }

  async runCheck() {
    if (this.destroyed) return;
    const seq = ++this.checkSeq;
    const doc = this.collect();
    const body = { route: this.route.code, citizen: doc.citizen, sections: doc.sections, receiver: doc.receiver };
    if (doc.planned_date) body.planned_date = doc.planned_date;
    try {
      const { data } = await post('/handovers/check', body);
      if (seq !== this.checkSeq || this.destroyed) return;
      this.showChecks(data.checks, data.completeness);
      this.showFieldErrors([]);
    } catch (e) {
      if (seq !== this.checkSeq || this.destroyed || !(e instanceof ApiError)) return;
      if (e.status === 400 || e.status === 422) this.showFieldErrors(e.errors);
    }
  }

  setBusy(busy) {
    this.holder.querySelectorAll('.note-form button').forEach((b) => { b.disabled = busy; });
  }

  /** Saves the draft: POST the first time, then PATCH with If-Match. Returns true when saved. */
  async save({ quiet = false } = {}) {
    clear(this.messages);
    const doc = this.collect();
    this.setBusy(true);
    this.saveState.textContent = 'Gemmer …';
    try {
      let res;
      if (!this.note) {
        const body = { route: this.route.code, citizen: doc.citizen, receiver: doc.receiver, sections: doc.sections };
        if (doc.planned_date) body.planned_date = doc.planned_date;
        res = await post('/handovers', body);
        // The address becomes the note's own, without leaving the page.
        window.history.replaceState(null, '', `#/notater/${res.data.id}`);
      } else {
        const sections = { ...doc.sections };
        for (const key of Object.keys(this.note.sections || {})) if (!(key in sections)) sections[key] = null;
        const receiver = { unit: doc.receiver.unit, person: doc.receiver.person || null };
        res = await patch(`/handovers/${seg(this.note.id)}`, { citizen: doc.citizen, planned_date: doc.planned_date, receiver, sections },
          { headers: { 'If-Match': this.etag } });
      }
      this.note = res.data;
      this.etag = res.etag;
      this.dirty = false;
      this.showFieldErrors([]);
      this.saveState.textContent = `Gemt som udgave ${this.note.version} kl. ${new Date().toLocaleTimeString('da-DK', { hour: '2-digit', minute: '2-digit' })}.`;
      const h1 = document.querySelector('main h1');
      if (h1) h1.textContent = `Overdragelsesnotat ${this.note.ref}`;
      if (this.onSaved) this.onSaved(this.note, this.etag);
      if (!quiet) {
        this.messages.append(notice('success', `Kladden er gemt (${this.note.ref}).`));
        announce('Kladden er gemt.');
      }
      return true;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      this.saveState.textContent = 'Ikke gemt.';
      if (e.status === 412) {
        this.messages.append(notice('error', h('p', {}, 'Notatet er ændret af en anden, siden du hentede det. Dine ændringer er ikke gemt.'),
          h('button', { type: 'button', class: 'button', onclick: () => window.location.reload() }, 'Hent den nyeste udgave')));
      } else if (e.status === 401) {
        return false;
      } else {
        this.showFieldErrors(e.errors);
        this.messages.append(notice('error', h('p', {}, 'Kladden kunne ikke gemmes.'),
          e.errors.length ? h('ul', {}, e.errors.map((x) => h('li', {}, x.message))) : h('p', {}, e.userMessage)));
      }
      this.focusMessages();
      return false;
    } finally {
      this.setBusy(false);
    }
  }

  focusMessages() {
    const n = this.messages.querySelector('.notice');
    if (n) {
      n.setAttribute('tabindex', '-1');
      n.focus();
    }
  }

  goToSection(key) {
    const ed = this.editors.get(key);
    if (ed) {
      ed.focus();
      return;
    }
    const map = { citizen: this.cpr, planned_date: this.planned, receiver: this.unit };
    if (map[key]) map[key].input.focus();
  }

  async submit() {
    if (!this.note || this.dirty) {
      if (!(await this.save({ quiet: true }))) return;
    }
    clear(this.messages);
    this.setBusy(true);
    try {
      const res = await post(`/handovers/${seg(this.note.id)}/submit`, undefined, { headers: { 'If-Match': this.etag } });
      announce('Notatet er sendt.');
      if (this.onSubmitted) {
        this.onSubmitted(res.data, res.etag);
      } else {
        this.destroy();
        state.flash = { id: res.data.id, text: `Notatet er sendt til ${unitName(res.data.receiver.unit)}.` };
        this.ctx.navigate(`#/notater/${res.data.id}`, { replace: true });
      }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 422) {
        if (Array.isArray(e.problem.checks)) this.showChecks(e.problem.checks, e.problem.completeness);
        const items = e.errors.map((x) => {
          const key = x.field && x.field.startsWith('sections.') ? x.field.slice(9) : x.field;
          return h('li', {}, h('strong', {}, `${sectionName(this.template, key)}: `), x.message, ' ',
            h('button', { type: 'button', class: 'button button--small', onclick: () => this.goToSection(key) }, `Gå til ${sectionName(this.template, key)}`));
        });
        this.messages.append(notice('error', h('p', {}, h('strong', {}, 'Notatet kan ikke sendes endnu.'), ` Ret ${e.errors.length === 1 ? 'denne fejl' : `disse ${e.errors.length} fejl`} først:`), h('ul', { class: 'submit-errors' }, items)));
      } else if (e.status === 412) {
        this.messages.append(notice('error', 'Notatet er ændret af en anden, siden du hentede det. Genindlæs siden.'));
      } else if (e.status !== 401) {
        this.messages.append(notice('error', e.userMessage));
      }
      this.focusMessages();
    } finally {
      this.setBusy(false);
    }
  }
}

export { countChecks };
