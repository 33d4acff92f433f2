// editor.js: the form of a note being written (a new note, a draft, a
// returned note): the facts that decide which sections apply first (CPR
// number, birthdate, planned date), then the route template's sections with
// their live checks (POST /handovers/check), a section navigation, and the
// send (POST /handovers/{id}/submit).
//
// Nothing typed is lost: the draft is saved to the server as it is typed
// (1.5 s after the last keystroke, and when the focus leaves a section;
// POST the first time once CPR number and name are there, then PATCH with
// If-Match). A 412 shows both versions and lets the writer choose; nothing
// is overwritten silently. While the server cannot take the text (no
// connection, an expired session, a CPR number not complete yet) it is kept
// on this computer, encrypted under the user's key (localcopy.js), and put
// back when the note is opened again by the same user.
//
// A form that helps: a check's error shows once the writer has left a
// section they typed in, or after the first attempt to send; until then a
// section that is not done is only "mangler" in the navigation.

import { ApiError, get, patch, post, seg } from '../api.js';
import { announce, clear, debounce, field, fmtDate, h, notice, setFieldError, todayIso } from '../dom.js';
import { FIXED_SECTIONS } from '../labels.js';
import { state, unitName, unitWithin } from '../state.js';
import { requiredBadge, sectionEditor, sectionValueView } from './sections.js';
import { dropLocal, keepLocal, readLocal, userKey } from './localcopy.js';
import { errorSummary, groupProblems, sectionNav } from './guide.js';

const AUTOSAVE_MS = 1500;
const RETRY_MS = 15000;
const CPR_RE = /^\d{6}-?\d{4}$/;

/** One check result; a passed one is a fact (the daemon words it so). */
export function checkItem(c) {
  const kind = c.passed ? 'ok' : c.severity === 'warning' ? 'warning' : 'error';
  const icon = { ok: '✓', warning: '! Advarsel:', error: '✗ Fejl:' }[kind];
  return h('li', { class: ['check-item', `check-item--${kind}`], dataset: { check: c.id } },
    h('span', { class: 'check-item__icon', 'aria-hidden': kind === 'ok' ? 'true' : null }, icon),
    ' ', h('span', { class: 'check-item__msg' }, c.message));
}

/** The summary of a checks list: {errors, warnings}. */
export function countChecks(checks) {
  let errors = 0;
  let warnings = 0;
  for (const c of checks || []) {
    if (c.passed) continue;
    if (c.severity === 'warning') warnings++;
    else errors++;
  }
  return { errors, warnings };
}

function sectionLabelOf(template, key) {
  if (FIXED_SECTIONS[key]) return FIXED_SECTIONS[key];
  const s = (template.sections || []).find((x) => x.key === key);
  return s ? s.label : key;
}

const clock = () => new Date().toLocaleTimeString('da-DK', { hour: '2-digit', minute: '2-digit' });
/** JSON with the keys of every object sorted: the same value gives the same text, whatever the order (jsonb sorts keys). */
function canon(v) {
  if (v === undefined) return 'null';
  return JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
}
const same = (a, b) => canon(a) === canon(b);

/** Nothing typed: no citizen, no date, no section. */
export function emptyDoc(doc) {
  return !doc || (!Object.keys(doc.citizen || {}).length && !doc.planned_date && !Object.keys(doc.sections || {}).length);
}

/** A stored note's fields in the shape collect() gives them. */
function docOf(note) {
  const c = note.citizen || {};
  const citizen = {};
  if (c.cpr) citizen.cpr = c.cpr;
  if (c.name) citizen.name = c.name;
  if (c.birthdate) citizen.birthdate = c.birthdate;
  const r = note.receiver || {};
  const receiver = { unit: r.unit };
  if (r.person) receiver.person = typeof r.person === 'object' ? r.person.id : r.person;
  return { citizen, planned_date: note.planned_date || null, receiver, sections: { ...(note.sections || {}) } };
}

export class NoteEditor {
  /**
   * note: the stored note or null for a new one; seed: {citizen,
   * planned_date, receiver, sections, placed} for a new note; restored: a
   * local copy already read for a new note; renderFlags(key): the flags
   * beside a section.
   */
  constructor(holder, { note, etag, route, template, ctx, seed, restored, onSubmitted, onSaved, renderFlags }) {
    this.holder = holder;
    this.note = note;
    this.etag = etag || null;
    this.route = route;
    this.template = template;
    this.ctx = ctx;
    this.onSubmitted = onSubmitted;
    this.onSaved = onSaved;
    this.renderFlags = renderFlags || (() => null);
    this.dirty = false;
    this.changeSeq = 0;
    this.checkSeq = 0;
    this.destroyed = false;
    this.discarded = false; // deleted or sent: keep no local copy
    this.conflict = false;
    this.attempted = false; // a send was tried: every error shows
    this.touched = new Set(); // sections typed in
    this.shown = new Set(); // sections whose errors show (left after typing)
    this.lastChecks = [];
    this.checkBoxes = new Map(); // section key → <ul>
    this.editors = new Map(); // section key → editor
    this.saveChain = Promise.resolve(true);
    this.scheduleCheck = debounce(() => this.runCheck(), 450);
    this.autosave = debounce(() => this.save({ quiet: true, auto: true }), AUTOSAVE_MS);
    this.keepSoon = debounce(() => this.keepLocal(), 300);
    this.onOnline = () => {
      // back online: the checks catch up with what was typed meanwhile, and the text is saved
      this.runCheck();
      if (this.dirty) this.save({ quiet: true, auto: true });
    };
    window.addEventListener('online', this.onOnline);
    this.keyP = userKey();
    this.build(this.initialValues(seed || {}));
    this.settled();
    this.runCheck();
    if (restored) this.restored(restored.doc, true);
    else if (note) this.ready = this.restoreLocal();
  }

  get slot() {
    return this.note ? this.note.id : 'ny';
  }

  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.scheduleCheck.cancel();
    this.autosave.cancel();
    this.keepSoon.cancel();
    clearTimeout(this.retry);
    window.removeEventListener('online', this.onOnline);
    // Leaving (or thrown out by an expired session) with text the server
    // does not have: keep it here, encrypted, for the same user's return,
    // and try once more to hand it to the server.
    if (this.dirty && !this.discarded) {
      this.keepLocal();
      if (this.note && !this.conflict && navigator.onLine) this.finalSave();
    }
  }

  /** The last save as the page goes: no login page on a 401; the local copy stays unless it succeeds. */
  async finalSave() {
    await this.saveChain;
    if (!this.dirty || this.conflict) return;
    const doc = this.collect();
    const sections = { ...doc.sections };
    for (const key of Object.keys(this.note.sections || {})) if (!(key in sections)) sections[key] = null;
    try {
      await patch(`/handovers/${seg(this.note.id)}`, { citizen: doc.citizen, planned_date: doc.planned_date, receiver: { unit: doc.receiver.unit, person: doc.receiver.person || null }, sections },
        { headers: { 'If-Match': this.etag }, noAuthRedirect: true });
      this.dirty = false;
      this.dropLocal();
    } catch (e) { /* kept on this computer; put back at the next visit */ }
  }

  /** Forget the local copy and stop saving (the draft was deleted). */
  discard() {
    this.discarded = true;
    this.dirty = false;
    this.keyP.then((k) => { dropLocal(k, this.slot); dropLocal(k, 'ny'); });
    this.destroy();
  }

  /** The form's values, to carry across a change of route. */
  snapshot() {
    const doc = this.collect();
    return { citizen: doc.citizen, planned_date: doc.planned_date, receiver: null, sections: doc.sections };
  }

  initialValues(seed) {
    const note = this.note;
    const v = note
      ? { citizen: note.citizen || {}, planned_date: note.planned_date || '', receiver: note.receiver || {}, sections: note.sections || {} }
      : { citizen: seed.citizen || {}, planned_date: seed.planned_date || '', receiver: seed.receiver || {}, sections: { ...(seed.sections || {}) } };
    if (!note && seed.placed !== undefined && (this.template.sections || []).some((s) => s.key === 'placed' && s.kind === 'boolean') && v.sections.placed === undefined) {
      v.sections.placed = seed.placed;
    }
    return v;
  }

  // -- status -------------------------------------------------------------------------------

  status(text) {
    if (this.saveState.textContent !== text) this.saveState.textContent = text;
  }

  /** Something in the form may have changed (an input, a row added or removed). */
  changed(target) {
    const sec = target && target.closest ? target.closest('[data-key]') : null;
    if (sec) this.touched.add(sec.dataset.key);
    const json = canon(this.collect());
    if (json === this.seenJson) return; // a "change" after "input", or nothing new
    this.seenJson = json;
    this.changeSeq++;
    this.scheduleCheck();
    if (json === this.savedJson) {
      // back to what the server has
      this.dirty = false;
      this.autosave.cancel();
      this.keepSoon.cancel();
      this.dropLocal();
      this.status(this.savedAt ? `Gemt kl. ${this.savedAt}.` : `Gemt som udgave ${this.note.version}.`);
      return;
    }
    this.dirty = true;
    this.status('Ændringerne er ikke gemt endnu.');
    if (!this.conflict) this.autosave();
    this.keepSoon();
  }

  /** What the server has, as collect() gives it (after a load or a save). */
  settled() {
    this.seenJson = canon(this.collect());
    this.savedJson = this.note ? this.seenJson : null;
  }

  /** The focus left a section: its errors may show now, and the draft is saved. */
  left(ev) {
    const sec = ev.target.closest && ev.target.closest('[data-key]');
    if (!sec) return;
    const to = ev.relatedTarget && ev.relatedTarget.closest ? ev.relatedTarget.closest('[data-key]') : null;
    if (to === sec) return;
    // Saved at once when the writer moves to another section; leaving the
    // form (a click on the menu) lets the timer run, or destroy() save.
    const within = !!(ev.relatedTarget && this.form && this.form.contains(ev.relatedTarget));
    const key = sec.dataset.key;
    if (this.touched.has(key) && !this.shown.has(key)) {
      this.shown.add(key);
      this.showChecks(this.lastChecks, this.lastCompleteness);
    }
    if (within && this.dirty && !this.conflict && !this.destroyed) {
      this.autosave.cancel();
      this.save({ quiet: true, auto: true });
    }
  }

  // -- building -----------------------------------------------------------------------------

  build(v) {
    const note = this.note;
    const citizen = v.citizen || {};

    // summary bar
    this.progress = h('progress', { max: '100', value: String(note ? note.completeness : 0), 'aria-labelledby': 'completeness-label' });
    this.figure = h('span', { class: 'completeness', id: 'completeness-figure' }, `${note ? note.completeness : 0} %`);
    this.counts = h('span', { id: 'check-counts', 'aria-live': 'polite' }, '');
    this.saveState = h('span', { class: 'muted save-state', id: 'save-state', role: 'status', 'aria-live': 'polite' },
      note ? `Gemt som udgave ${note.version}.` : 'Kladden gemmes af sig selv, når CPR-nummer og navn er udfyldt.');
    this.saveButton = h('button', { type: 'button', class: 'button button-secondary', id: 'save-draft' }, 'Gem kladde');
    this.submitButton = h('button', { type: 'button', class: 'button button--primary button-primary', id: 'submit-note' },
      note && note.status === 'returned' ? 'Send igen' : 'Send til modtager');
    this.saveButton.addEventListener('click', () => this.save());
    this.submitButton.addEventListener('click', () => this.submit());
    this.messages = h('div', { class: 'form-messages', id: 'form-messages' });

    const summary = h('div', { class: 'note-summary', role: 'group', 'aria-label': 'Notatets status' },
      h('span', { id: 'completeness-label' }, 'Udfyldt:'), this.figure, this.progress, this.counts,
      h('span', { class: 'button-row' }, this.saveButton, this.submitButton), this.saveState);

    // First the facts that decide which sections apply: who (CPR number,
    // birthdate) and when (the planned date); then the name and the receiver.
    this.cpr = field('CPR-nummer', h('input', { type: 'text', name: 'cpr', autocomplete: 'off', inputmode: 'numeric', maxlength: '11', value: citizen.cpr || '' }), { hint: 'DDMMÅÅ-SSSS' });
    this.birth = field('Fødselsdato', h('input', { type: 'date', name: 'birthdate', value: citizen.birthdate || '' }), { hint: 'Findes af CPR-nummeret; udfyld den kun, hvis CPR-nummeret ikke viser den.' });
    this.planned = field('Planlagt overdragelsesdato', h('input', { type: 'date', name: 'planned_date', value: v.planned_date || '', min: todayIso() }),
      { hint: 'Den dag modtageren overtager sagen.' });
    this.name = field('Borgerens navn', h('input', { type: 'text', name: 'citizen-name', autocomplete: 'off', value: citizen.name || '' }));

    const toUnit = this.route.to_unit;
    const unitCodes = state.unitIndex
      ? [...state.unitIndex.keys()].filter((c) => !toUnit || unitWithin(c, toUnit))
      : [toUnit].filter(Boolean);
    const recv = v.receiver || {};
    const currentUnit = recv.unit || toUnit || unitCodes[0] || '';
    if (currentUnit && !unitCodes.includes(currentUnit)) unitCodes.unshift(currentUnit);
    this.unitSelect = h('select', { name: 'receiver-unit' }, unitCodes.map((c) => h('option', { value: c, selected: c === currentUnit }, unitName(c))));
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
    this.membersLoaded = loadMembers(wantPerson).then(() => {
      // the named receiver is in the list now: that is no change by the writer
      if (!this.dirty && this.savedJson !== null) this.settled();
    });
    this.unitSelect.addEventListener('change', () => loadMembers(''));

    const ageHint = (this.template.sections || []).some((s) => s.required_if && s.required_if.age_at_least !== undefined)
      ? h('p', { class: 'section__help' }, 'Nogle afsnit gælder kun fra en bestemt alder. Derfor spørges der først om CPR-nummer og overdragelsesdato.')
      : null;
    const checksUl = (key) => {
      const ul = h('ul', { class: 'checks', id: `checks-${key}` });
      this.checkBoxes.set(key, ul);
      return ul;
    };
    const basics = [
      h('section', { class: 'section section--facts', id: 'sec-citizen', 'aria-labelledby': 'sec-citizen-h', dataset: { key: 'citizen' } },
        h('h3', { class: 'section__title', id: 'sec-citizen-h' }, 'Borgeren og overdragelsesdatoen'),
        ageHint,
        h('div', { class: 'section__body' },
          h('div', { class: 'form-row' }, this.cpr.wrap, this.birth.wrap,
            h('div', { id: 'sec-planned_date', class: 'form-row__item', dataset: { key: 'planned_date' } }, this.planned.wrap)),
          h('div', { class: 'form-row' }, this.name.wrap)),
        h('div', { class: 'section__checks' }, h('h4', { class: 'visually-hidden' }, 'Kontrol af borgeren og datoen'),
          checksUl('citizen'), checksUl('planned_date'))),
      h('section', { class: 'section', id: 'sec-receiver', 'aria-labelledby': 'sec-receiver-h', dataset: { key: 'receiver' } },
        h('h3', { class: 'section__title', id: 'sec-receiver-h' }, 'Modtager'),
        h('div', { class: 'section__body' }, h('div', { class: 'form-row' }, this.unit.wrap, this.person.wrap)),
        h('div', { class: 'section__checks' }, h('h4', { class: 'visually-hidden' }, 'Kontrol af modtager'), checksUl('receiver'))),
    ];

    // the template's sections
    const values = v.sections || {};
    const onChange = () => this.changed(null); // rows added or removed; typing is seen by the form
    const secs = (this.template.sections || []).map((s) => {
      const ed = sectionEditor(s, values[s.key], onChange);
      this.editors.set(s.key, ed);
      const flags = this.renderFlags(s.key);
      const open = note && (note.flags || []).some((f) => f.section === s.key && !f.resolved);
      const helpId = `sec-${s.key}-help`;
      return h('section', { class: ['section', open ? 'section--flagged' : null], id: `sec-${s.key}`, 'aria-labelledby': `sec-${s.key}-h`, 'aria-describedby': s.help ? helpId : null, dataset: { key: s.key } },
        h('h3', { class: 'section__title', id: `sec-${s.key}-h` }, s.label, ' ', requiredBadge(s, this.template)),
        s.help ? h('p', { class: 'section__help', id: helpId }, s.help) : null,
        flags && (!Array.isArray(flags) || flags.length) ? h('div', { class: 'section__flags' }, flags) : null,
        h('div', { class: 'section__body' }, ed.el),
        h('div', { class: 'section__checks' }, h('h4', { class: 'visually-hidden' }, `Kontrol af ${s.label}`), checksUl(s.key)));
    });

    this.order = ['citizen', 'planned_date', 'receiver'].concat((this.template.sections || []).map((s) => s.key));
    this.nav = sectionNav([{ key: 'citizen', label: 'Borgeren og datoen' }, { key: 'receiver', label: 'Modtager' }]
      .concat((this.template.sections || []).map((s) => ({ key: s.key, label: s.label }))), (key) => this.goToSection(key, true));

    const form = h('form', { class: 'note-form', novalidate: true, 'aria-label': 'Overdragelsesnotat' },
      h('h2', {}, this.template.name || 'Notatets afsnit'),
      this.template.description ? h('p', { class: 'lead' }, this.template.description) : null,
      summary, this.messages, basics, h('h2', {}, 'Afsnit'), secs,
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'button button-secondary', onclick: () => this.save() }, 'Gem kladde'),
        h('button', { type: 'button', class: 'button button--primary button-primary', onclick: () => this.submit() },
          note && note.status === 'returned' ? 'Send igen' : 'Send til modtager')));
    form.addEventListener('submit', (ev) => ev.preventDefault());
    form.addEventListener('input', (ev) => this.changed(ev.target));
    form.addEventListener('change', (ev) => this.changed(ev.target));
    form.addEventListener('focusout', (ev) => this.left(ev));
    this.form = h('div', { class: 'note-layout' }, this.nav.el, h('div', { class: 'note-layout__main' }, form));
    this.holder.append(this.form);
  }

  /** Builds the form again with other values (a local copy put back). */
  rebuild(v) {
    // in the same place: the actions and the history stay below the form
    const mark = document.createComment('note form');
    this.form.replaceWith(mark);
    this.editors.clear();
    this.checkBoxes.clear();
    this.build(v);
    mark.replaceWith(this.form);
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

  // -- checks -------------------------------------------------------------------------------

  /** May the errors of this section show yet? */
  showsErrors(key) {
    return this.attempted || this.shown.has(key);
  }

  hasValue(key, doc) {
    if (key === 'citizen') return !!(doc.citizen.cpr && doc.citizen.name);
    if (key === 'planned_date') return !!doc.planned_date;
    if (key === 'receiver') return !!doc.receiver.unit;
    return doc.sections[key] !== undefined;
  }

  showChecks(checks, completeness) {
    this.lastChecks = checks || [];
    this.lastCompleteness = completeness;
    for (const ul of this.checkBoxes.values()) clear(ul);
    const states = new Map();
    const mark = (key, s) => {
      const rank = { missing: 3, warning: 2, done: 1, optional: 0 };
      if (!states.has(key) || rank[s] > rank[states.get(key)]) states.set(key, s);
    };
    for (const c of this.lastChecks) {
      const keys = Array.isArray(c.sections) && c.sections.length ? c.sections : [c.section];
      for (const key of keys) {
        const navKey = key === 'planned_date' ? 'citizen' : key;
        if (!c.passed) mark(navKey, c.severity === 'warning' ? 'warning' : 'missing');
        const ul = this.checkBoxes.get(key);
        if (!ul) continue;
        if (c.passed || c.severity === 'warning' || this.showsErrors(key)) ul.append(checkItem(c));
      }
    }
    const doc = this.collect();
    for (const key of this.order) {
      const navKey = key === 'planned_date' ? 'citizen' : key;
      if (this.hasValue(key, doc)) mark(navKey, 'done');
    }
    this.nav.update(states, this.attempted);
    for (const [key, ul] of this.checkBoxes) {
      const section = ul.closest('section');
      const hasError = !!ul.querySelector('.check-item--error');
      if (section && key !== 'planned_date') section.classList.toggle('section--error', hasError || (key === 'citizen' && !!this.checkBoxes.get('planned_date').querySelector('.check-item--error')));
    }
    const pct = Number.isFinite(completeness) ? completeness : 0;
    this.figure.textContent = `${pct} %`;
    this.progress.value = pct;
    const { errors, warnings } = countChecks(checks);
    const warnText = `${warnings} ${warnings === 1 ? 'advarsel' : 'advarsler'}`;
    if (!errors && !warnings) {
      this.counts.textContent = 'Alle kontroller er bestået';
      this.counts.className = 'badge badge--ok';
    } else if (!this.attempted) {
      // No count of errors before the writer has tried to send.
      this.counts.textContent = warnings ? warnText : '';
      this.counts.className = warnings ? 'badge badge--warning' : '';
    } else {
      this.counts.textContent = `${errors} fejl, ${warnText}`;
      this.counts.className = errors ? 'badge badge--error' : 'badge badge--warning';
    }
  }

  fixedFields() {
    return { 'citizen.cpr': [this.cpr, 'citizen'], 'citizen.name': [this.name, 'citizen'], 'citizen.birthdate': [this.birth, 'citizen'],
      planned_date: [this.planned, 'planned_date'], 'receiver.unit': [this.unit, 'receiver'], 'receiver.person': [this.person, 'receiver'] };
  }

  /** Field errors of a 400/422 (citizen.cpr, sections.actions.0.due …) beside their fields, where they may show. */
  showFieldErrors(errors) {
    const fixed = this.fixedFields();
    Object.values(fixed).forEach(([f]) => setFieldError(f, null));
    for (const e of errors || []) {
      if (fixed[e.field]) {
        if (this.showsErrors(fixed[e.field][1]) || this.showsErrors('citizen')) setFieldError(fixed[e.field][0], e.message);
        continue;
      }
      const m = /^sections\.([a-z0-9_]+)/.exec(e.field || '');
      if (m && this.showsErrors(m[1])) {
        const ul = this.checkBoxes.get(m[1]);
        if (ul) ul.prepend(checkItem({ id: e.code, severity: 'error', passed: false, message: e.message }));
      }
    }
  }

  async runCheck() {
    if (this.destroyed || !navigator.onLine) return;
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

  // -- the local copy -----------------------------------------------------------------------

  async keepLocal() {
    if (this.discarded) return false;
    const k = await this.keyP;
    if (!this.dirty) {
      // the server has everything (a save finished before this ran)
      dropLocal(k, this.slot);
      return false;
    }
    if (!this.note && emptyDoc(this.collect())) {
      // a new note emptied again: nothing to keep
      dropLocal(k, 'ny');
      return false;
    }
    const payload = { note_id: this.note ? this.note.id : null, route: this.route.code, base_version: this.note ? this.note.version : null, base: this.savedJson ? JSON.parse(this.savedJson) : null, doc: this.collect(), at: new Date().toISOString() };
    return keepLocal(k, this.slot, payload);
  }

  async dropLocal(slot = this.slot) {
    dropLocal(await this.keyP, slot);
  }

  /** An existing note opened: is there text of ours that the server never got? */
  async restoreLocal() {
    const k = await this.keyP;
    const mine = await readLocal(k, this.note.id);
    if (!mine || this.destroyed) return;
    if (same(mine.doc, this.collect())) {
      // the server has this text already
      dropLocal(k, this.note.id);
      return;
    }
    if (mine.base_version === this.note.version) {
      this.restored(mine.doc, false);
      return;
    }
    // The stored note moved on since our copy was made: put the two together.
    this.dirty = true;
    this.resolve(mine.doc, mine.base || {}, this.note, this.etag, true);
  }

  /** Puts the text kept on this computer back into the form and saves it. */
  restored(doc, isNew) {
    this.rebuild({ citizen: doc.citizen || {}, planned_date: doc.planned_date || '', receiver: doc.receiver || {}, sections: doc.sections || {} });
    this.dirty = true;
    this.changeSeq++;
    for (const key of this.order) this.touched.add(key);
    this.messages.append(notice('info', h('p', {}, h('strong', {}, 'Din tekst er hentet tilbage. '),
      isNew ? 'Notatet var ikke gemt, da du blev logget ud eller mistede forbindelsen; alt, hvad du skrev, er sat ind igen.'
        : 'Ændringerne var ikke gemt, da du blev logget ud eller mistede forbindelsen; de er sat ind igen og gemmes nu.')));
    this.runCheck();
    this.save({ quiet: true, auto: true });
  }

  // -- saving -------------------------------------------------------------------------------

  /** Saves the draft (one save at a time): returns true when the server has it. */
  save(opts = {}) {
    const run = this.saveChain.then(() => this.saveNow(opts));
    this.saveChain = run.catch(() => false);
    return run;
  }

  offline() {
    this.status('Ikke gemt – ingen forbindelse; teksten er gemt på denne computer.');
    clearTimeout(this.retry);
    this.retry = setTimeout(() => { if (this.dirty && !this.destroyed) this.save({ quiet: true, auto: true }); }, RETRY_MS);
  }

  async saveNow({ quiet = false, auto = false } = {}) {
    if (this.destroyed || this.discarded) return false;
    if (this.conflict) {
      if (!auto) this.focusMessages();
      return false;
    }
    if (auto && !this.dirty && this.note) return true;
    const doc = this.collect();
    const seq = this.changeSeq;
    if (auto && !this.note && !(CPR_RE.test(doc.citizen.cpr || '') && doc.citizen.name)) {
      // A draft needs a CPR number and a name; until then the text stays here.
      const kept = await this.keepLocal();
      this.status(kept ? 'Kladden gemmes, når CPR-nummer og navn er udfyldt. Indtil da er teksten gemt på denne computer.'
        : 'Kladden gemmes, når CPR-nummer og navn er udfyldt.');
      return false;
    }
    if (auto && !navigator.onLine) {
      await this.keepLocal();
      this.offline();
      return false;
    }
    if (!auto) {
      clear(this.messages);
      this.setBusy(true);
    }
    this.status('Gemmer …');
    const wasNew = !this.note;
    try {
      let res;
      if (!this.note) {
        const body = { route: this.route.code, citizen: doc.citizen, receiver: doc.receiver, sections: doc.sections };
        if (doc.planned_date) body.planned_date = doc.planned_date;
        res = await post('/handovers', body);
        // The address becomes the note's own, without leaving the page.
        if (!this.destroyed) window.history.replaceState(null, '', `#/notater/${res.data.id}`);
      } else {
        const sections = { ...doc.sections };
        for (const key of Object.keys(this.note.sections || {})) if (!(key in sections)) sections[key] = null;
        const receiver = { unit: doc.receiver.unit, person: doc.receiver.person || null };
        res = await patch(`/handovers/${seg(this.note.id)}`, { citizen: doc.citizen, planned_date: doc.planned_date, receiver, sections },
          { headers: { 'If-Match': this.etag } });
      }
      this.note = res.data;
      this.etag = res.etag;
      this.dirty = seq !== this.changeSeq;
      this.savedJson = canon(doc);
      this.savedAt = clock();
      if (wasNew) this.dropLocal('ny');
      if (this.dirty) this.keepLocal();
      else this.dropLocal();
      clearTimeout(this.retry);
      this.showFieldErrors([]);
      // typed on while it was saved: not all of it is on the server yet
      this.status(this.dirty ? 'Ændringerne er ikke gemt endnu.' : `Gemt kl. ${this.savedAt}.`);
      const h1 = document.querySelector('main h1');
      if (h1 && !this.destroyed) h1.textContent = `Overdragelsesnotat ${this.note.ref}`;
      if (this.onSaved) this.onSaved(this.note, this.etag);
      if (!quiet) {
        this.messages.append(notice('success', `Kladden er gemt (${this.note.ref}).`));
        announce('Kladden er gemt.');
      }
      if (this.dirty && !this.destroyed) this.autosave();
      return true;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const kept = await this.keepLocal();
      const here = kept ? '; teksten er gemt på denne computer' : '';
      if (e.status === 0) {
        this.offline();
        if (!auto) this.messages.append(notice('warning', 'Stafet svarer ikke, så kladden er ikke gemt på serveren. ',
          kept ? 'Teksten er gemt på denne computer og gemmes på serveren, når forbindelsen er tilbage.' : 'Prøv igen om lidt.'));
      } else if (e.status === 401) {
        this.status(`Ikke gemt – du er logget ud${here}.`);
        return false;
      } else if (e.status === 412) {
        this.status(`Ikke gemt – notatet er ændret et andet sted${here}.`);
        await this.conflictFromServer(doc);
      } else if (e.status === 409 || e.status === 404) {
        this.conflict = true;
        this.status(`Ikke gemt${here}.`);
        this.messages.append(notice('error', e.status === 404 ? 'Notatet findes ikke længere (kladden er måske slettet).' : `Notatet kan ikke redigeres nu: ${e.problem.detail || 'det har skiftet status'}.`,
          ' ', h('button', { type: 'button', class: 'button button--small', onclick: () => window.location.reload() }, 'Hent notatet igen')));
      } else if (auto) {
        // Not complete yet (e.g. a CPR number being typed): say so quietly.
        this.status(`Ikke gemt endnu: ${e.userMessage}${kept ? ' Teksten er gemt på denne computer.' : ''}`);
        this.showFieldErrors(e.errors);
        return false;
      } else {
        this.status(`Ikke gemt${here}.`);
        this.attempted = true;
        this.showFieldErrors(e.errors);
        this.showChecks(this.lastChecks, this.lastCompleteness);
        const problems = groupProblems(e.errors, this.order, (k) => sectionLabelOf(this.template, k));
        this.messages.append(problems.length
          ? errorSummary('Kladden kunne ikke gemmes', null, problems, (k) => this.goToSection(k))
          : notice('error', h('p', {}, 'Kladden kunne ikke gemmes.'), h('p', {}, e.userMessage)));
      }
      if (!auto) this.focusMessages();
      return false;
    } finally {
      if (!auto) this.setBusy(false);
    }
  }

  /** A 412: fetch the stored version and put the two together. */
  async conflictFromServer(mine) {
    this.conflict = true;
    this.autosave.cancel();
    try {
      const res = await get(`/handovers/${seg(this.note.id)}`);
      this.resolve(mine, this.savedJson ? JSON.parse(this.savedJson) : {}, res.data, res.etag, false);
    } catch (e) {
      this.messages.append(notice('error', 'Notatet er ændret et andet sted, og den gemte udgave kunne ikke hentes. Din tekst er ikke gemt på serveren, men er gemt på denne computer. Prøv igen om lidt.'));
    }
  }

  /**
   * Mine against the stored version (theirs), both from the same base: what
   * only one side changed is taken from that side; a part both changed is a
   * clash, and the writer chooses. Nothing is overwritten without a choice.
   */
  resolve(mine, base, theirsNote, theirsEtag, fromLocal) {
    const theirs = docOf(theirsNote);
    const keys = ['citizen', 'planned_date', 'receiver'].concat((this.template.sections || []).map((x) => x.key));
    const pick = (doc, k) => (['citizen', 'planned_date', 'receiver'].includes(k) ? doc[k] : (doc.sections || {})[k]);
    const clashes = [];
    const merged = { citizen: theirs.citizen, planned_date: theirs.planned_date, receiver: theirs.receiver, sections: { ...theirs.sections } };
    const put = (k, v) => {
      if (['citizen', 'planned_date', 'receiver'].includes(k)) merged[k] = v;
      else if (v === undefined) delete merged.sections[k];
      else merged.sections[k] = v;
    };
    for (const k of keys) {
      const m = pick(mine, k);
      const b = pick(base, k);
      const t = pick(theirs, k);
      if (same(m, t) || same(m, b)) continue; // theirs stands
      put(k, m);
      if (!same(t, b)) clashes.push(k);
    }
    if (!clashes.length) {
      this.note = theirsNote;
      this.etag = theirsEtag;
      this.adopt(merged, theirs);
      // Say so only when both sides brought something.
      if (same(merged, theirs) || same(merged, mine)) return;
      this.messages.append(notice('info', h('p', {}, h('strong', {}, 'Notatet var også ændret et andet sted. '),
        fromLocal ? 'Din tekst fra denne computer er lagt sammen med den gemte udgave, og intet er gået tabt.'
          : 'Fx i en anden fane. De to sæt ændringer rørte ikke de samme afsnit, så de er lagt sammen, og intet er gået tabt.')));
      return;
    }
    this.conflict = true;
    this.showConflict(merged, theirs, theirsNote, theirsEtag, clashes);
  }

  /** Puts a document in the form: saved at once if it differs from the stored one. */
  adopt(doc, theirs) {
    this.rebuild({ citizen: doc.citizen || {}, planned_date: doc.planned_date || '', receiver: doc.receiver || {}, sections: doc.sections || {} });
    this.conflict = false;
    this.savedJson = canon(theirs);
    this.seenJson = canon(this.collect());
    this.runCheck();
    if (same(doc, theirs)) {
      this.dirty = false;
      this.dropLocal();
      this.status(`Gemt som udgave ${this.note.version}.`);
      return;
    }
    this.dirty = true;
    this.changeSeq++;
    this.save({ quiet: true, auto: true });
  }

  /** The clashing parts side by side, and the writer's choice. */
  showConflict(merged, theirs, theirsNote, theirsEtag, clashes) {
    const cit = (c) => [c && c.cpr, c && c.name, c && c.birthdate ? fmtDate(c.birthdate) : null].filter(Boolean).join(', ') || '—';
    const view = (doc, k) => {
      if (k === 'citizen') return cit(doc.citizen);
      if (k === 'planned_date') return doc.planned_date ? fmtDate(doc.planned_date) : '—';
      if (k === 'receiver') return doc.receiver && doc.receiver.unit ? unitName(doc.receiver.unit) : '—';
      const sec = (this.template.sections || []).find((x) => x.key === k);
      return sectionValueView(sec, (doc.sections || {})[k]);
    };
    const rows = clashes.map((k) => h('tr', {}, h('th', { scope: 'row' }, sectionLabelOf(this.template, k)),
      h('td', {}, view(merged, k)), h('td', {}, view(theirs, k))));
    const box = h('div', { class: ['notice', 'notice--warning', 'alert', 'alert-warning', 'conflict'], role: 'alert', tabindex: '-1', id: 'conflict' },
      h('h2', { class: 'alert-heading' }, 'Notatet er ændret et andet sted'),
      h('p', {}, `Notatet er gemt i en nyere udgave (udgave ${theirsNote.version}), fx fra en anden fane, mens du skrev. `,
        `${clashes.length === 1 ? 'Et afsnit er' : `${clashes.length} afsnit er`} ændret begge steder. Intet er overskrevet: din tekst er gemt på denne computer. Vælg, hvilken udgave der skal gælde.`),
      h('table', { class: 'data conflict__table' },
        h('caption', {}, 'Afsnit, der er ændret begge steder'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Afsnit'), h('th', { scope: 'col' }, 'Din udgave'), h('th', { scope: 'col' }, `Den gemte udgave (udgave ${theirsNote.version})`))),
        h('tbody', {}, rows)),
      h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'button button--primary button-primary', id: 'conflict-keep-mine' }, 'Behold min udgave'),
        h('button', { type: 'button', class: 'button button-secondary', id: 'conflict-take-theirs' }, 'Brug den gemte udgave')));
    const choose = (mineWins) => {
      const doc = JSON.parse(JSON.stringify(merged));
      if (!mineWins) {
        for (const k of clashes) {
          if (['citizen', 'planned_date', 'receiver'].includes(k)) doc[k] = theirs[k];
          else if (theirs.sections[k] === undefined) delete doc.sections[k];
          else doc.sections[k] = theirs.sections[k];
        }
      }
      box.remove();
      this.note = theirsNote;
      this.etag = theirsEtag;
      this.adopt(doc, theirs);
      announce(mineWins ? 'Din udgave gemmes.' : 'Den gemte udgave er valgt.');
    };
    box.querySelector('#conflict-keep-mine').addEventListener('click', () => choose(true));
    box.querySelector('#conflict-take-theirs').addEventListener('click', () => choose(false));
    const old = this.messages.querySelector('#conflict');
    if (old) old.remove();
    this.messages.prepend(box);
    box.focus();
  }

  focusMessages() {
    const n = this.messages.querySelector('.error-summary, .notice');
    if (n) {
      n.setAttribute('tabindex', '-1');
      n.focus();
    }
  }

  /** Moves the focus to a section's first field (or its heading, from the navigation). */
  goToSection(key, heading = false) {
    const sec = this.holder.querySelector(`#sec-${CSS.escape(key)}`);
    if (heading && sec) {
      const hd = sec.querySelector('h3') || sec;
      hd.setAttribute('tabindex', '-1');
      hd.focus();
      hd.scrollIntoView({ block: 'start' });
      return;
    }
    const ed = this.editors.get(key);
    if (ed) {
      ed.focus();
      return;
    }
    const map = { citizen: this.cpr, planned_date: this.planned, receiver: this.unit };
    if (map[key]) map[key].input.focus();
  }

  async submit() {
    this.autosave.cancel();
    await this.saveChain;
    this.attempted = true;
    this.showChecks(this.lastChecks, this.lastCompleteness);
    if (!this.note || this.dirty) {
      if (!(await this.save({ quiet: true }))) return;
    }
    clear(this.messages);
    this.setBusy(true);
    try {
      const res = await post(`/handovers/${seg(this.note.id)}/submit`, undefined, { headers: { 'If-Match': this.etag } });
      announce('Notatet er sendt.');
      this.discard();
      if (this.onSubmitted) {
        this.onSubmitted(res.data, res.etag);
      } else {
        state.flash = { id: res.data.id, text: `Notatet er sendt til ${unitName(res.data.receiver.unit)}.` };
        this.ctx.navigate(`#/notater/${res.data.id}`, { replace: true });
      }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 422) {
        if (Array.isArray(e.problem.checks)) this.showChecks(e.problem.checks, e.problem.completeness);
        const problems = groupProblems(e.errors, this.order, (k) => sectionLabelOf(this.template, k));
        const n = problems.length;
        this.messages.append(errorSummary(`Notatet kan ikke sendes endnu – der er ${n} ${n === 1 ? 'fejl' : 'fejl'}`,
          `Ret ${n === 1 ? 'denne fejl' : `disse ${n} fejl`} først:`, problems, (k) => this.goToSection(k)));
      } else if (e.status === 412) {
        await this.conflictFromServer(this.collect());
      } else if (e.status !== 401) {
        this.messages.append(notice('error', e.userMessage));
      }
      this.focusMessages();
    } finally {
      this.setBusy(false);
    }
  }
}
