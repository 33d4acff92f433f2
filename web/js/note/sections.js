// sections.js: one editor per template section kind (text, date, boolean,
// choice, goals, actions, consent, decision, benefits), each with the
// "deliberately empty" choice where the template allows it
// (empty_reasons), and the read-only rendering of a section's value.
// Values follow schema/templates/README.md; empty fields are left out so
// a draft can be saved half done.

import { fmtDate, h, newId } from '../dom.js';
import { CONSENT_BASIS } from '../labels.js';

const blank = (s) => typeof s !== 'string' || s.trim() === '';

function textInput(label, value, { type = 'text', multiline = false, rows = 3, hint = null, onInput } = {}) {
  const id = newId('s');
  const input = multiline
    ? h('textarea', { id, rows: String(rows) })
    : h('input', { id, type, autocomplete: 'off' });
  input.value = value || '';
  input.addEventListener('input', onInput);
  input.addEventListener('change', onInput);
  const parts = [h('label', { for: id, class: 'field__label' }, label)];
  if (hint) {
    const hid = newId('hint');
    parts.push(h('span', { id: hid, class: 'field__hint' }, hint));
    input.setAttribute('aria-describedby', hid);
  }
  parts.push(input);
  return { wrap: h('div', { class: 'field' }, parts), input };
}

function requiredText(section) {
  if (section.required) return 'Skal udfyldes';
  const r = section.required_if;
  if (!r) return null;
  if (r.age_at_least !== undefined) return `Skal udfyldes, når borgeren er mindst ${r.age_at_least} år`;
  if (r.section) return 'Skal udfyldes afhængigt af et andet svar';
  return null;
}

/** Describes a required_if on another section in words, with that section's label. */
export function requiredBadge(section, template) {
  let text = requiredText(section);
  const r = section.required_if;
  if (r && r.section) {
    const other = (template.sections || []).find((s) => s.key === r.section);
    const label = other ? other.label : r.section;
    let val = r.equals;
    if (val === true) val = 'Ja';
    else if (val === false) val = 'Nej';
    else if (other && other.options) {
      const o = other.options.find((x) => x.value === r.equals);
      if (o) val = o.label;
    }
    text = `Skal udfyldes, når »${label}« er ${val}`;
  }
  if (!text) return h('span', { class: 'badge badge--info' }, 'Valgfrit');
  return h('span', { class: 'badge badge--info' }, text);
}

// -- the kinds ------------------------------------------------------------------------------

function textEditor(section, value, onChange) {
  const min = section.min_length ? `Mindst ${section.min_length} tegn.` : null;
  const t = textInput(section.label, typeof value === 'string' ? value : '', { multiline: true, rows: 4, hint: min, onInput: onChange });
  t.wrap.querySelector('label').classList.add('visually-hidden');
  return {
    el: t.wrap,
    focus: () => t.input.focus(),
    get: () => (blank(t.input.value) ? undefined : t.input.value),
    setDisabled: (d) => { t.input.disabled = d; },
  };
}

function dateEditor(section, value, onChange) {
  const t = textInput(section.label, typeof value === 'string' ? value : '', { type: 'date', onInput: onChange });
  t.wrap.querySelector('label').classList.add('visually-hidden');
  return {
    el: t.wrap,
    focus: () => t.input.focus(),
    get: () => t.input.value || undefined,
    setDisabled: (d) => { t.input.disabled = d; },
  };
}

function booleanEditor(section, value, onChange) {
  const name = newId('b');
  const yes = h('input', { type: 'radio', name, id: `${name}-ja`, value: 'true', checked: value === true, onchange: onChange });
  const no = h('input', { type: 'radio', name, id: `${name}-nej`, value: 'false', checked: value === false, onchange: onChange });
  const fs = h('fieldset', { class: 'fieldset' },
    h('legend', { class: 'visually-hidden' }, section.label),
    h('div', { class: 'radio-row' },
      h('label', { for: yes.id }, yes, 'Ja'),
      h('label', { for: no.id }, no, 'Nej')));
  return {
    el: fs,
    focus: () => (no.checked ? no : yes).focus(),
    get: () => (yes.checked ? true : no.checked ? false : undefined),
    setDisabled: (d) => { yes.disabled = d; no.disabled = d; },
  };
}

function choiceEditor(section, value, onChange) {
  const id = newId('c');
  const select = h('select', { id, onchange: onChange },
    h('option', { value: '' }, 'Vælg …'),
    (section.options || []).map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  return {
    el: h('div', { class: 'field' }, h('label', { for: id, class: 'field__label visually-hidden' }, section.label), select),
    focus: () => select.focus(),
    get: () => select.value || undefined,
    setDisabled: (d) => { select.disabled = d; },
  };
}

function goalsEditor(section, value, onChange) {
  const items = Array.isArray(value) ? value : [];
  const rows = [];
  const groups = (section.areas || []).map((area) => {
    const mine = items.filter((i) => i && i.area === area.key);
    if (!mine.length) mine.push({});
    const fsRows = mine.map((item, n) => {
      const goal = textInput(n ? `Mål ${n + 1}` : 'Mål', item.goal, { multiline: true, rows: 2, onInput: onChange });
      const tf = textInput('Tidsramme', item.timeframe, { hint: 'Fx »inden sommerferien 2027«', onInput: onChange });
      rows.push({ area: area.key, goal, tf });
      return h('div', { class: 'form-row' }, goal.wrap, tf.wrap);
    });
    return h('fieldset', { class: 'fieldset', dataset: { area: area.key } }, h('legend', {}, area.label), fsRows);
  });
  return {
    el: h('div', { class: 'goals' }, groups),
    focus: () => rows.length && rows[0].goal.input.focus(),
    get: () => {
      const out = [];
      for (const r of rows) {
        if (blank(r.goal.input.value) && blank(r.tf.input.value)) continue;
        const item = { area: r.area };
        if (!blank(r.goal.input.value)) item.goal = r.goal.input.value;
        if (!blank(r.tf.input.value)) item.timeframe = r.tf.input.value;
        out.push(item);
      }
      return out.length ? out : undefined;
    },
    setDisabled: (d) => rows.forEach((r) => { r.goal.input.disabled = d; r.tf.input.disabled = d; }),
  };
}

/** A growing list of items (actions, benefits): rows with a remove button and an add button. */
function listEditor(section, value, onChange, { noun, makeRow, isEmpty, toValue, addLabel }) {
  const list = h('ol', { class: 'item-list' });
  const rows = [];
  let disabled = false;
  function renumber() {
    rows.forEach((r, i) => {
      r.title.textContent = `${noun} ${i + 1}`;
      r.remove.setAttribute('aria-label', `Fjern ${noun.toLowerCase()} ${i + 1}`);
    });
  }
  function add(item, focus) {
    const r = makeRow(item || {}, onChange);
    r.title = h('span', {});
    r.remove = h('button', { type: 'button', class: 'button button--small button--danger' }, 'Fjern');
    r.li = h('li', { class: 'item-row' }, h('div', { class: 'item-row__head' }, r.title, r.remove), r.el);
    r.remove.addEventListener('click', () => {
      const i = rows.indexOf(r);
      rows.splice(i, 1);
      r.li.remove();
      renumber();
      onChange();
      (rows[Math.min(i, rows.length - 1)] || { focus: () => addButton.focus() }).focus();
    });
    rows.push(r);
    list.append(r.li);
    renumber();
    if (disabled) r.setDisabled(true);
    if (focus) r.focus();
  }
  const addButton = h('button', { type: 'button', class: 'button button--small' }, addLabel);
  addButton.addEventListener('click', () => {
    add({}, true);
    onChange();
  });
  const items = Array.isArray(value) && value.length ? value : [{}];
  items.forEach((it) => add(it, false));
  return {
    el: h('div', {}, list, addButton),
    focus: () => (rows.length ? rows[0].focus() : addButton.focus()),
    get: () => {
      const out = rows.filter((r) => !isEmpty(r)).map(toValue);
      return out.length ? out : undefined;
    },
    setDisabled: (d) => {
      disabled = d;
      rows.forEach((r) => { r.setDisabled(d); r.remove.disabled = d; });
      addButton.disabled = d;
    },
  };
}

function actionsEditor(section, value, onChange) {
  return listEditor(section, value, onChange, {
    noun: 'Handling',
    addLabel: 'Tilføj handling',
    makeRow: (item, oc) => {
      const action = textInput('Hvad skal der ske?', item.action, { onInput: oc });
      const owner = textInput('Ansvarlig', item.owner, { hint: 'Person eller enhed', onInput: oc });
      const due = textInput('Frist', item.due, { type: 'date', onInput: oc });
      return {
        el: h('div', {}, action.wrap, h('div', { class: 'form-row' }, owner.wrap, due.wrap)),
        focus: () => action.input.focus(),
        inputs: { action, owner, due },
        setDisabled: (d) => [action, owner, due].forEach((x) => { x.input.disabled = d; }),
      };
    },
    isEmpty: (r) => blank(r.inputs.action.input.value) && blank(r.inputs.owner.input.value) && !r.inputs.due.input.value,
    toValue: (r) => {
      const o = {};
      if (!blank(r.inputs.action.input.value)) o.action = r.inputs.action.input.value;
      if (!blank(r.inputs.owner.input.value)) o.owner = r.inputs.owner.input.value;
      if (r.inputs.due.input.value) o.due = r.inputs.due.input.value;
      return o;
    },
  });
}

function benefitsEditor(section, value, onChange) {
  return listEditor(section, value, onChange, {
    noun: 'Ydelse',
    addLabel: 'Tilføj ydelse',
    makeRow: (item, oc) => {
      const child = textInput('Ydelse efter børnereglerne', item.child_benefit, { onInput: oc });
      const adult = textInput('Foreslået voksenydelse', item.adult_benefit, { onInput: oc });
      const id = newId('e');
      const ends = h('input', { type: 'checkbox', id, checked: item.ends_without_successor === true, onchange: oc });
      return {
        el: h('div', {}, h('div', { class: 'form-row' }, child.wrap, adult.wrap),
          h('div', { class: 'field field--inline' }, ends, h('label', { for: id, class: 'field__label' }, 'Ophører uden afløser'))),
        focus: () => child.input.focus(),
        inputs: { child, adult, ends },
        setDisabled: (d) => { child.input.disabled = d; adult.input.disabled = d; ends.disabled = d; },
      };
    },
    isEmpty: (r) => blank(r.inputs.child.input.value) && blank(r.inputs.adult.input.value) && !r.inputs.ends.checked,
    toValue: (r) => {
      const o = {};
      if (!blank(r.inputs.child.input.value)) o.child_benefit = r.inputs.child.input.value;
      if (!blank(r.inputs.adult.input.value)) o.adult_benefit = r.inputs.adult.input.value;
      o.ends_without_successor = r.inputs.ends.checked;
      return o;
    },
  });
}

function consentEditor(section, value, onChange) {
  const v = value && typeof value === 'object' && !value.empty_reason ? value : {};
  const id = newId('basis');
  const basis = h('select', { id },
    h('option', { value: '' }, 'Vælg grundlag …'),
    CONSENT_BASIS.map(([val, label]) => h('option', { value: val, selected: v.basis === val }, label)));
  const date = textInput('Samtykkets dato', v.date, { type: 'date', onInput: onChange });
  const purpose = textInput('Formål', v.purpose, { onInput: onChange, hint: 'Hvad må oplysningerne bruges til?' });
  const recipients = textInput('Modtagere', v.recipients, { onInput: onChange, hint: 'Hvem må få oplysningerne?' });
  const law = textInput('Lovhenvisning', v.law_reference, { onInput: onChange, hint: 'Fx »Barnets Lov § 182«' });
  const wid = newId('w');
  const withdrawn = h('input', { type: 'checkbox', id: wid, checked: v.withdrawn === true, onchange: onChange });
  const withdrawnWrap = h('div', { class: 'field field--inline' }, withdrawn, h('label', { for: wid, class: 'field__label' }, 'Samtykket er trukket tilbage'));
  const show = {
    consent: [date, purpose, recipients, withdrawnWrap],
    law: [law, purpose, recipients],
    significant_importance: [purpose, recipients],
  };
  const all = [date, purpose, recipients, law, withdrawnWrap];
  function update() {
    const visible = show[basis.value] || [];
    for (const x of all) (x.wrap || x).hidden = !visible.includes(x);
  }
  basis.addEventListener('change', () => { update(); onChange(); });
  update();
  return {
    el: h('div', {},
      h('div', { class: 'field' }, h('label', { for: id, class: 'field__label' }, 'Grundlag for videregivelsen'), basis),
      date.wrap, purpose.wrap, recipients.wrap, law.wrap, withdrawnWrap),
    focus: () => basis.focus(),
    get: () => {
      if (!basis.value) return undefined;
      const o = { basis: basis.value };
      const visible = show[basis.value];
      if (visible.includes(date) && date.input.value) o.date = date.input.value;
      if (visible.includes(purpose) && !blank(purpose.input.value)) o.purpose = purpose.input.value;
      if (visible.includes(recipients) && !blank(recipients.input.value)) o.recipients = recipients.input.value;
      if (visible.includes(law) && !blank(law.input.value)) o.law_reference = law.input.value;
      if (visible.includes(withdrawnWrap)) o.withdrawn = withdrawn.checked;
      return o;
    },
    setDisabled: (d) => { basis.disabled = d; all.forEach((x) => { if (x.input) x.input.disabled = d; }); withdrawn.disabled = d; },
  };
}

function decisionEditor(section, value, onChange) {
  const v = value && typeof value === 'object' && !value.empty_reason ? value : {};
  const date = textInput('Afgørelsens dato', v.date, { type: 'date', onInput: onChange });
  const text = textInput('Afgørelsens indhold', v.text, { multiline: true, rows: 3, onInput: onChange });
  return {
    el: h('div', {}, date.wrap, text.wrap),
    focus: () => date.input.focus(),
    get: () => {
      const o = {};
      if (date.input.value) o.date = date.input.value;
      if (!blank(text.input.value)) o.text = text.input.value;
      return Object.keys(o).length ? o : undefined;
    },
    setDisabled: (d) => { date.input.disabled = d; text.input.disabled = d; },
  };
}

const EDITORS = {
  text: textEditor,
  date: dateEditor,
  boolean: booleanEditor,
  choice: choiceEditor,
  goals: goalsEditor,
  actions: actionsEditor,
  consent: consentEditor,
  decision: decisionEditor,
  benefits: benefitsEditor,
};

/**
 * An editor for one section: {el, get(), focus()}. With empty_reasons the
 * editor starts with a choice: fill it in, or leave it empty for a reason
 * (with an optional comment).
 */
export function sectionEditor(section, value, onChange) {
  const make = EDITORS[section.kind] || textEditor;
  const isEmpty = value && typeof value === 'object' && !Array.isArray(value) && value.empty_reason;
  const inner = make(section, isEmpty ? undefined : value, onChange);
  const reasons = section.empty_reasons || [];
  if (!reasons.length) return inner;

  const name = newId('why');
  const options = [['', 'Afsnittet udfyldes']].concat(reasons.map((r) => [r, `Tomt med vilje: ${r}`]));
  const radios = options.map(([val, label]) => {
    const id = newId(name);
    const input = h('input', { type: 'radio', name, id, value: val, checked: (isEmpty ? value.empty_reason : '') === val });
    return { input, label: h('label', { for: id }, input, label) };
  });
  const comment = textInput('Hvorfor er afsnittet tomt?', isEmpty ? value.comment : '', {
    multiline: true, rows: 2, onInput: onChange, hint: 'Skriv fx hvornår afgørelsen ventes, eller hvorfor oplysningen ikke er relevant.',
  });
  const body = h('div', { class: 'empty-choice__body' }, inner.el);
  const fs = h('fieldset', { class: 'fieldset empty-choice' },
    h('legend', {}, 'Udfyld afsnittet, eller angiv hvorfor det er tomt'),
    h('div', { class: 'radio-row' }, radios.map((r) => r.label)));
  const chosen = () => (radios.find((r) => r.input.checked) || radios[0]).input.value;
  function update() {
    const reason = chosen();
    body.hidden = !!reason;
    comment.wrap.hidden = !reason;
  }
  radios.forEach((r) => r.input.addEventListener('change', () => { update(); onChange(); }));
  update();
  return {
    el: h('div', {}, fs, comment.wrap, body),
    focus: () => (chosen() ? radios.find((r) => r.input.checked).input.focus() : inner.focus()),
    get: () => {
      const reason = chosen();
      if (reason) {
        const o = { empty_reason: reason };
        if (!blank(comment.input.value)) o.comment = comment.input.value;
        return o;
      }
      return inner.get();
    },
    setDisabled: (d) => { inner.setDisabled(d); radios.forEach((r) => { r.input.disabled = d; }); comment.input.disabled = d; },
  };
}

// -- read-only ----------------------------------------------------------------------------

function table(caption, head, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

/** A section's value for reading. */
export function sectionValueView(section, value) {
  if (value === undefined || value === null) return h('p', { class: 'muted' }, 'Ikke udfyldt.');
  if (typeof value === 'object' && !Array.isArray(value) && value.empty_reason) {
    return h('p', {}, h('span', { class: 'badge badge--info' }, `Tomt med vilje: ${value.empty_reason}`),
      value.comment ? [' ', h('span', { class: 'value-text' }, value.comment)] : null);
  }
  switch (section.kind) {
    case 'text':
      return h('p', { class: 'value-text' }, value);
    case 'date':
      return h('p', {}, fmtDate(value));
    case 'boolean':
      return h('p', {}, value ? 'Ja' : 'Nej');
    case 'choice': {
      const o = (section.options || []).find((x) => x.value === value);
      return h('p', {}, o ? o.label : value);
    }
    case 'goals': {
      const label = (k) => ((section.areas || []).find((a) => a.key === k) || { label: k }).label;
      return table(section.label, ['Område', 'Mål', 'Tidsramme'], value.map((g) => [label(g.area), g.goal || '—', g.timeframe || '—']));
    }
    case 'actions':
      return table(section.label, ['Handling', 'Ansvarlig', 'Frist'], value.map((a) => [a.action || '—', a.owner || '—', a.due ? fmtDate(a.due) : '—']));
    case 'benefits':
      return table(section.label, ['Børneydelse', 'Voksenydelse', 'Ophører uden afløser'],
        value.map((b) => [b.child_benefit || '—', b.adult_benefit || '—', b.ends_without_successor ? 'Ja' : 'Nej']));
    case 'consent': {
      const basis = (CONSENT_BASIS.find(([k]) => k === value.basis) || [null, value.basis])[1];
      const rows = [['Grundlag', basis], ['Dato', fmtDate(value.date)], ['Formål', value.purpose],
        ['Modtagere', value.recipients], ['Lovhenvisning', value.law_reference],
        ['Trukket tilbage', value.withdrawn === true ? 'Ja' : null]].filter(([, v]) => v);
      return h('dl', { class: 'details' }, rows.map(([t, v]) => [h('dt', {}, t), h('dd', {}, v)]));
    }
    case 'decision':
      return h('dl', { class: 'details' },
        h('dt', {}, 'Dato'), h('dd', {}, value.date ? fmtDate(value.date) : '—'),
        h('dt', {}, 'Afgørelse'), h('dd', { class: 'value-text' }, value.text || '—'));
    default:
      return h('pre', { class: 'value-text' }, JSON.stringify(value, null, 2));
  }
}
