// flags.js: flags beside the text (issue 20).
//
// - The receiving side, reading a submitted note, marks a section with
//   "Markér" beside its heading: an inline form (Mangler / Upræcist, a
//   comment) right there. The marks collect into the return action
//   (returnPanel), with a short summary beside the "Returnér …" button
//   (returnSummary).
// - Each flag is shown beside its section (flagsBeside), with the sending
//   side's reply; while the note is returned the sending side answers a
//   flag there (POST /handovers/{id}/flags/{index}/reply, If-Match).
// - The receiving side, reviewing a resubmitted note, sees per section
//   what changed since the return (reviewChanges: the returned version
//   from GET /handovers/{id}/history against the note now, a word diff
//   from diff.js), the flagged sections first in a summary and
//   highlighted, and the unchanged ones marked as such.

import { ApiError, get, post, seg } from '../api.js';
import { announce, clear, field, fmtDateTime, h, newId, notice, replace, setFieldError } from '../dom.js';
import { FIXED_SECTIONS, FLAG_KIND } from '../labels.js';
import { sectionValueView } from './sections.js';
import { changed, renderDiff, textOf } from './diff.js';

const REPLY_MAX = 2000;
const COMMENT_MAX = 4000;

function sectionLabel(template, key) {
  if (FIXED_SECTIONS[key]) return FIXED_SECTIONS[key];
  const s = ((template && template.sections) || []).find((x) => x.key === key);
  return s ? s.label : key;
}

function kindText(kind) {
  return FLAG_KIND[kind] || kind;
}

function errorText(e) {
  if (!(e instanceof ApiError)) return 'Det mislykkedes. Prøv igen.';
  if (e.status === 409) return `Det kan ikke lade sig gøre nu: ${e.problem.detail || 'notatet har skiftet status'} Genindlæs siden.`;
  if (e.status === 412) return 'Notatet er ændret af en anden, siden du hentede det. Genindlæs siden.';
  return e.userMessage;
}

// -- the marks the receiving side collects before a return ------------------------------------

// One store per note version: {key: {kind, comment}} in the order marked.
const stores = new Map();

function storeOf(note) {
  const id = `${note.id}@${note.version}`;
  if (!stores.has(id)) {
    for (const k of [...stores.keys()]) if (k.startsWith(`${note.id}@`)) stores.delete(k);
    stores.set(id, { marks: new Map(), listeners: new Set() });
  }
  return stores.get(id);
}

function changedMarks(store) {
  for (const fn of store.listeners) fn();
}

/**
 * A "Markér" button for one section and its inline form: {button, panel}.
 * The panel holds the form while it is open and the saved mark otherwise.
 */
function markControl(note, key, label) {
  const store = storeOf(note);
  const formId = newId('mark');
  const button = h('button', {
    type: 'button', class: 'button button-secondary button--small mark-button', 'aria-expanded': 'false', 'aria-controls': formId,
    dataset: { mark: key },
  });
  const kindName = newId('kind');
  const missing = h('input', { type: 'radio', name: kindName, id: `${kindName}-m`, value: 'missing', class: 'form-radio' });
  const imprecise = h('input', { type: 'radio', name: kindName, id: `${kindName}-u`, value: 'imprecise', class: 'form-radio' });
  const comment = field('Hvad skal afsenderen rette?', h('textarea', { rows: '3', name: `mark-comment-${key}`, maxlength: String(COMMENT_MAX), class: 'form-input' }),
    { hint: 'Skriv kort, hvad der mangler eller er upræcist. Afsenderen ser det ved afsnittet.' });
  const status = h('div');
  const remove = h('button', { type: 'button', class: 'button button--danger button--small' }, 'Fjern markeringen');
  const form = h('form', { class: 'mark-form panel', id: formId, hidden: true, 'aria-label': `Markér »${label}«` },
    h('fieldset', { class: 'fieldset' }, h('legend', {}, `Hvad er der galt med »${label}«?`),
      h('div', { class: 'radio-row' },
        h('label', { for: missing.id }, missing, ` ${kindText('missing')}`),
        h('label', { for: imprecise.id }, imprecise, ` ${kindText('imprecise')}`))),
    comment.wrap, status,
    h('div', { class: 'button-row' },
      h('button', { type: 'submit', class: 'button button-primary button--primary button--small' }, 'Gem markeringen'),
      h('button', { type: 'button', class: 'button button-tertiary button--small', onclick: () => close(true) }, 'Fortryd'),
      remove));
  const saved = h('div', { class: 'mark-saved', hidden: true });
  const panel = h('div', { class: 'mark' }, form, saved);

  function paint() {
    const m = store.marks.get(key);
    replace(button, m ? 'Ret markeringen' : 'Markér', h('span', { class: 'visually-hidden' }, ` »${label}«`));
    remove.hidden = !m;
    saved.hidden = !m || !form.hidden;
    if (m) {
      replace(saved, h('p', { class: 'flag flag--draft' },
        h('strong', {}, `Markeret: ${kindText(m.kind)}`), m.comment ? [' — ', m.comment] : '',
        h('span', { class: 'muted' }, ' (sendes, når du returnerer notatet)')));
    }
    panel.closest('section')?.classList.toggle('readonly-section--marked', !!m);
  }
  function close(focus) {
    form.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    clear(status);
    setFieldError(comment, null);
    paint();
    if (focus) button.focus();
  }
  function open() {
    const m = store.marks.get(key);
    missing.checked = !m || m.kind === 'missing';
    imprecise.checked = !!m && m.kind === 'imprecise';
    comment.input.value = m ? m.comment : '';
    form.hidden = false;
    saved.hidden = true;
    button.setAttribute('aria-expanded', 'true');
    (imprecise.checked ? imprecise : missing).focus();
  }
  button.addEventListener('click', () => (form.hidden ? open() : close(true)));
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      close(true);
    }
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clear(status);
    if (!missing.checked && !imprecise.checked) {
      status.append(notice('error', `Vælg »${kindText('missing')}« eller »${kindText('imprecise')}«.`));
      missing.focus();
      return;
    }
    const text = comment.input.value.trim();
    if (text.length > COMMENT_MAX) {
      setFieldError(comment, `Kommentaren må højst have ${COMMENT_MAX} tegn.`);
      comment.input.focus();
      return;
    }
    store.marks.set(key, { kind: missing.checked ? 'missing' : 'imprecise', comment: text });
    announce(`»${label}« er markeret. ${store.marks.size} afsnit markeret i alt.`);
    close(true);
    changedMarks(store);
  });
  remove.addEventListener('click', () => {
    store.marks.delete(key);
    announce(`Markeringen af »${label}« er fjernet.`);
    close(true);
    changedMarks(store);
  });
  store.listeners.add(paint);
  paint();
  return { button, panel, open };
}

/**
 * Adds "Markér" beside the heading of each read-only section in container
 * (section.readonly-section with h3#sec-KEY-h), for the receiving side of
 * a submitted or received note.
 */
export function markSections(container, note, template) {
  for (const sec of container.querySelectorAll('section.readonly-section')) {
    const key = sec.id.replace(/^sec-/, '');
    const heading = sec.querySelector(`#sec-${CSS.escape(key)}-h`);
    if (!heading || sec.querySelector('.mark-button')) continue;
    const c = markControl(note, key, sectionLabel(template, key));
    const head = h('div', { class: 'section-head' });
    heading.replaceWith(head);
    head.append(heading, c.button);
    head.after(c.panel);
  }
}

/** A live line beside the "Returnér …" button: what a return would send now. */
export function returnSummary(note, template) {
  const store = storeOf(note);
  const el = h('span', { class: 'return-count', id: 'return-count', 'aria-live': 'polite' });
  const paint = () => {
    const keys = [...store.marks.keys()];
    replace(el, keys.length
      ? `${keys.length} afsnit markeret: ${keys.map((k) => sectionLabel(template, k)).join(', ')}`
      : 'Ingen afsnit markeret endnu');
  };
  store.listeners.add(paint);
  paint();
  return el;
}

/** The return: the collected marks, the few fields outside the sections, and the button. */
export function returnPanel(note, template, { etag, done }) {
  const store = storeOf(note);
  const list = h('ul', { class: 'return-marks', id: 'return-marks' });
  const status = h('div');
  const fixed = ['citizen', 'planned_date', 'receiver'].map((key) => ({ key, ...markControl(note, key, sectionLabel(template, key)) }));
  const paint = () => {
    clear(list);
    for (const [key, m] of store.marks) {
      const label = sectionLabel(template, key);
      list.append(h('li', { dataset: { section: key } },
        h('a', { href: `#sec-${key}`, onclick: (ev) => { ev.preventDefault(); goTo(key); } }, label), ': ',
        h('strong', {}, kindText(m.kind)), m.comment ? [' — ', m.comment] : ''));
    }
    list.hidden = !store.marks.size;
    empty.hidden = !!store.marks.size;
  };
  const goTo = (key) => {
    const b = document.querySelector(`[data-mark="${CSS.escape(key)}"]`);
    if (b) {
      b.scrollIntoView({ block: 'center' });
      b.focus();
    }
  };
  const empty = h('p', { class: 'muted' }, 'Du har ikke markeret noget endnu. Brug »Markér« ved overskriften på de afsnit, der mangler noget eller er upræcise.');
  const form = h('form', { class: 'panel', 'aria-label': 'Returnér notatet' },
    h('h3', {}, 'Returnér notatet til afsenderen'),
    h('p', {}, 'Markeringerne herunder sendes med. Afsenderen ser hver markering ved sit afsnit, retter notatet og sender det igen.'),
    status, empty, list,
    h('details', { class: 'mark-more' },
      h('summary', {}, 'Markér borgerens oplysninger, datoen eller modtageren'),
      fixed.map((f) => h('div', { class: 'mark-fixed' }, h('div', { class: 'section-head' }, h('span', {}, sectionLabel(template, f.key)), f.button), f.panel))),
    h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'button button--danger', id: 'return-submit' }, 'Returnér til afsenderen')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(status);
    const flags = [...store.marks].map(([section, m]) => ({ section, kind: m.kind, comment: m.comment }));
    if (!flags.length) {
      status.append(notice('error', 'Markér mindst ét afsnit, der mangler noget eller er upræcist, før du returnerer notatet.'));
      const first = document.querySelector('.mark-button');
      if (first) first.focus();
      return;
    }
    try {
      const res = await post(`/handovers/${seg(note.id)}/return`, { flags }, { headers: etag() ? { 'If-Match': etag() } : {} });
      store.marks.clear();
      announce('Notatet er returneret.');
      done(res.data, res.etag, `Notatet er returneret til afsenderen med ${flags.length} ${flags.length === 1 ? 'markering' : 'markeringer'}.`);
    } catch (e) {
      status.append(notice('error', errorText(e)));
    }
  });
  store.listeners.add(paint);
  paint();
  return form;
}

// -- flags beside their sections, and the sender's reply -------------------------------------------

function replyView(r) {
  return h('div', { class: 'flag__reply' },
    h('strong', {}, 'Svar fra afsenderen: '), r.text,
    h('br'), h('span', { class: 'muted' }, [r.by && r.by.display_name ? `${r.by.display_name}, ` : '', fmtDateTime(r.at)]));
}

function flagView(note, f, index, opts) {
  const el = h('div', { class: ['flag', f.resolved ? 'flag--resolved' : null], dataset: { flag: String(index) } });
  el.append(h('p', { class: 'flag__what' },
    h('strong', {}, kindText(f.kind)), f.resolved ? ' (rettet)' : '',
    f.comment ? [': ', f.comment] : ''),
  h('p', { class: 'flag__by muted' }, [f.by && f.by.display_name ? `Markeret af ${f.by.display_name}, ` : 'Markeret ', fmtDateTime(f.at)]));
  if (f.reply) el.append(replyView(f.reply));
  if (opts.canReply && !f.resolved) el.append(...replyForm(note, f, index, el, opts));
  return el;
}

function replyForm(note, f, index, el, opts) {
  const formId = newId('reply');
  const toggle = h('button', { type: 'button', class: 'button button-secondary button--small reply-button', 'aria-expanded': 'false', 'aria-controls': formId },
    f.reply ? 'Ret dit svar' : 'Svar på markeringen');
  const text = field('Dit svar til modtageren', h('textarea', { rows: '3', name: `reply-${index}`, maxlength: String(REPLY_MAX), class: 'form-input' }),
    { hint: `Fx hvad du har rettet, eller hvorfor noget ikke kan oplyses endnu. Højst ${REPLY_MAX} tegn. Modtageren ser svaret ved markeringen.` });
  const status = h('div');
  // a group, not a form: the sender's flags sit inside the note's own form
  const save = h('button', { type: 'button', class: 'button button-primary button--primary button--small' }, 'Gem svaret');
  const form = h('div', { class: 'reply-form', id: formId, hidden: true, role: 'group', 'aria-label': 'Svar på markeringen' },
    text.wrap, status,
    h('div', { class: 'button-row' }, save,
      h('button', { type: 'button', class: 'button button-tertiary button--small', onclick: () => close() }, 'Fortryd')));
  const close = () => {
    form.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    toggle.focus();
  };
  toggle.addEventListener('click', () => {
    if (!form.hidden) {
      close();
      return;
    }
    text.input.value = f.reply ? f.reply.text : '';
    form.hidden = false;
    toggle.setAttribute('aria-expanded', 'true');
    text.input.focus();
  });
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      close();
    }
  });
  save.addEventListener('click', async () => {
    clear(status);
    setFieldError(text, null);
    const value = text.input.value.trim();
    if (!value || [...value].length > REPLY_MAX) {
      setFieldError(text, value ? `Svaret må højst have ${REPLY_MAX} tegn.` : 'Skriv et svar, før du gemmer.');
      text.input.focus();
      return;
    }
    try {
      const res = await post(`/handovers/${seg(note.id)}/flags/${index}/reply`, { text: value }, { headers: { 'If-Match': opts.etag() } });
      if (opts.replied) opts.replied(res.data, res.etag);
      const nf = (res.data.flags || [])[index] || { ...f, reply: { text: value, by: null, at: new Date().toISOString() } };
      const fresh = flagView(res.data, nf, index, opts);
      el.replaceWith(fresh);
      announce('Dit svar er gemt.');
      const b = fresh.querySelector('.reply-button');
      if (b) b.focus();
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.errors.length) setFieldError(text, e.errors[0].message);
      else status.append(notice('error', errorText(e)));
    }
  });
  return [toggle, form];
}

/**
 * The flags of one section as elements, each with its reply; with
 * canReply (the sending side of a returned note) a reply form beside each
 * open flag. opts: {canReply, etag(), replied(note, etag)}.
 */
export function flagsBeside(note, key, opts = {}) {
  const out = [];
  (note.flags || []).forEach((f, i) => {
    if (f.section === key) out.push(flagView(note, f, i, opts));
  });
  return out;
}

// -- what changed since the return -----------------------------------------------------------------

function valueText(section, value) {
  if (value === undefined || value === null) return '';
  return textOf(h('div', {}, sectionValueView(section, value)));
}

/** The fixed fields as text, the CPR number as the history shows it (masked). */
function fixedText(doc, key) {
  if (key === 'citizen') {
    const c = doc.citizen || {};
    return [c.name, c.cpr ? `${String(c.cpr).slice(0, 6)}-XXXX` : '', c.birthdate].filter(Boolean).join('\n');
  }
  if (key === 'planned_date') return doc.planned_date || '';
  if (key === 'receiver') {
    const r = doc.receiver || {};
    const p = r.person && typeof r.person === 'object' ? r.person.id : r.person;
    return [r.unit, p].filter(Boolean).join('\n');
  }
  return '';
}

function changeBox(before, after) {
  const id = newId('diff');
  const body = h('div', { id, class: 'change__body', hidden: true },
    h('p', { class: 'change__legend muted' }, 'Tilføjet tekst er understreget, slettet tekst er overstreget.'),
    renderDiff(before, after));
  const toggle = h('button', { type: 'button', class: 'button button-tertiary button--small change__toggle', 'aria-expanded': 'false', 'aria-controls': id }, 'Vis ændringerne');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') === 'true';
    toggle.setAttribute('aria-expanded', String(!open));
    toggle.textContent = open ? 'Vis ændringerne' : 'Skjul ændringerne';
    body.hidden = open;
  });
  return h('div', { class: 'change change--changed' },
    h('p', { class: 'change__state' }, h('span', { class: 'badge badge--info' }, 'Ændret siden returneringen'), ' ', toggle),
    body);
}

/**
 * For the receiving side reviewing a resubmitted note: loads the history,
 * takes the version the latest return left, and beside each read-only
 * section in container says whether it changed since (with its word diff
 * behind a toggle) or not; the sections the return's flags pointed at are
 * highlighted and listed first, with the sender's replies. Does nothing
 * for a note that was never returned.
 */
export async function reviewChanges(container, note, template) {
  if (!(note.flags || []).some((f) => f.resolved)) return;
  let data;
  try {
    ({ data } = await get(`/handovers/${seg(note.id)}/history`));
  } catch (e) {
    return; // the note reads as before; the history stays one click away
  }
  const returns = (data.versions || []).filter((v) => v.action === 'return').sort((a, b) => a.version - b.version);
  const then = returns[returns.length - 1];
  if (!then || !container.isConnected) return;
  const flagged = (note.flags || []).filter((f) => f.at === then.at);
  const flaggedKeys = new Set((flagged.length ? flagged : (note.flags || []).filter((f) => f.resolved)).map((f) => f.section));
  const sections = new Map((template.sections || []).map((s) => [s.key, s]));
  const result = new Map(); // key → changed?
  for (const sec of container.querySelectorAll('section.readonly-section')) {
    const key = sec.id.replace(/^sec-/, '');
    const s = sections.get(key);
    if (!s) continue;
    // changed as a reader sees it: the rendered text, not the stored shape
    const before = valueText(s, (then.sections || {})[key]);
    const after = valueText(s, (note.sections || {})[key]);
    const isChanged = changed(before, after);
    result.set(key, isChanged);
    const box = isChanged
      ? changeBox(before, after)
      : h('div', { class: 'change change--same' }, h('p', { class: 'change__state' }, h('span', { class: 'badge' }, 'Uændret siden returneringen')));
    const head = sec.querySelector('.section-head') || sec.querySelector(`#sec-${CSS.escape(key)}-h`);
    (sec.querySelector('.mark') || head).after(box);
    if (flaggedKeys.has(key)) sec.classList.add('readonly-section--flagged');
  }
  for (const key of flaggedKeys) {
    if (!result.has(key) && FIXED_SECTIONS[key]) result.set(key, fixedText(then, key) !== fixedText(note, key));
  }
  const items = [...flaggedKeys].map((key) => {
    const flags = (note.flags || []).map((f, i) => [f, i]).filter(([f]) => f.section === key && (flagged.length ? f.at === then.at : f.resolved));
    const label = sectionLabel(template, key);
    const isChanged = result.get(key);
    return h('li', { dataset: { section: key } },
      sections.has(key) ? h('a', { href: `#sec-${key}`, onclick: (ev) => { ev.preventDefault(); focusSection(key); } }, label) : h('strong', {}, label),
      ': ', isChanged === undefined ? '' : isChanged ? 'ændret' : h('strong', {}, 'ikke ændret'),
      flags.map(([f]) => h('div', { class: 'review__flag' },
        h('span', {}, `Din markering: ${kindText(f.kind)}${f.comment ? ` — ${f.comment}` : ''}`),
        f.reply ? h('div', { class: 'flag__reply' }, h('strong', {}, 'Svar fra afsenderen: '), f.reply.text) : null)));
  });
  const changedCount = [...result.values()].filter(Boolean).length;
  const review = h('section', { class: 'review-changes', 'aria-labelledby': 'review-changes-h', id: 'review-changes' },
    h('h2', { id: 'review-changes-h' }, 'Rettet siden returneringen'),
    h('p', {}, `Notatet er sendt igen efter returneringen ${fmtDateTime(then.at)}. `,
      `${changedCount ? `${changedCount} afsnit er ændret` : 'Intet afsnit er ændret'}. Ved hvert afsnit står, om det er ændret, og du kan se ændringerne ord for ord.`),
    h('h3', {}, 'De afsnit, du markerede'),
    h('ul', { class: 'review-list' }, items));
  const wrap = container.querySelector('.readonly-sections');
  if (wrap) wrap.before(review);
}

function focusSection(key) {
  const sec = document.getElementById(`sec-${key}`);
  if (!sec) return;
  const t = sec.querySelector('h3');
  t.setAttribute('tabindex', '-1');
  t.focus();
  sec.scrollIntoView({ block: 'start' });
}
