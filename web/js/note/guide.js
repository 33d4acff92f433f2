// guide.js: what helps the writer find their way in a long note: the
// section navigation (a list of links beside the form, each with its
// section's state: udfyldt, mangler, advarsel, valgfri) and the error
// summary shown after a failed send (Det Fælles Designsystem's pattern: an
// alert at the top listing each problem once, as a link to its field; the
// focus moves to it).

import { h } from '../dom.js';

export const STATE_TEXT = {
  done: 'udfyldt',
  missing: 'mangler',
  warning: 'advarsel',
  optional: 'valgfri',
};

/**
 * The navigation: sections [{key, label}], go(key) moves the focus there.
 * Returns {el, update(states)} where states maps key → done|missing|warning|optional.
 */
export function sectionNav(sections, go) {
  const items = new Map();
  const list = h('ol', { class: 'section-nav__list' }, sections.map(({ key, label }) => {
    const state = h('span', { class: 'section-nav__state' });
    const link = h('a', { href: `#sec-${key}`, class: 'section-nav__link', dataset: { key } },
      h('span', { class: 'section-nav__label' }, label), ' ', state);
    link.addEventListener('click', (ev) => {
      // The address stays the note's own (#/notater/...): move the focus instead.
      ev.preventDefault();
      go(key);
    });
    const li = h('li', { class: 'section-nav__item' }, link);
    items.set(key, { li, state });
    return li;
  }));
  list.id = 'section-nav-list';
  // On a phone the list is folded behind a button (note.css shows it under 600 px only).
  const toggle = h('button', { type: 'button', class: 'button button-secondary button--small section-nav__toggle', 'aria-expanded': 'false', 'aria-controls': 'section-nav-list' }, 'Vis afsnittene');
  const el = h('nav', { class: 'section-nav', 'aria-labelledby': 'section-nav-h' },
    h('h2', { class: 'section-nav__title', id: 'section-nav-h' }, 'Afsnit i notatet'), toggle, list);
  toggle.addEventListener('click', () => {
    const open = !el.classList.contains('section-nav--open');
    el.classList.toggle('section-nav--open', open);
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Skjul afsnittene' : 'Vis afsnittene';
  });
  return {
    el,
    update(states, strong) {
      for (const [key, { li, state }] of items) {
        const s = states.get(key) || 'optional';
        li.className = `section-nav__item section-nav__item--${s}${strong && s === 'missing' ? ' section-nav__item--error' : ''}`;
        state.textContent = `(${STATE_TEXT[s]})`;
      }
    },
  };
}

/**
 * The error summary: problems [{key, label, messages: [..]}], one entry per
 * section, each a link that moves the focus to the section's first field.
 */
export function errorSummary(title, intro, problems, go) {
  const items = problems.map((p) => {
    const a = h('a', { href: `#sec-${p.key}`, class: 'function-link', dataset: { key: p.key } },
      `${p.label}: ${p.messages.join(' ')}`);
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      go(p.key);
    });
    return h('li', {}, a);
  });
  return h('div', { class: ['notice', 'notice--error', 'alert', 'alert-error', 'error-summary'], role: 'alert', tabindex: '-1', 'aria-labelledby': 'error-summary-h' },
    h('div', { class: 'alert-body' },
      h('h2', { class: 'alert-heading', id: 'error-summary-h' }, title),
      intro ? h('p', { class: 'alert-text' }, intro) : null,
      h('ul', { class: ['alert-text', 'nobullet-list', 'submit-errors'] }, items)));
}

/**
 * Groups problems (errors [{field, message}]) by the section they belong to,
 * in the order of `order` (section keys), each distinct message once.
 */
export function groupProblems(errors, order, labelOf) {
  const by = new Map();
  for (const e of errors || []) {
    const f = e.field || '';
    let key = f.startsWith('sections.') ? f.slice(9).split('.')[0] : f.split('.')[0];
    if (!key) continue;
    if (!by.has(key)) by.set(key, []);
    const list = by.get(key);
    if (e.message && !list.includes(e.message)) list.push(e.message);
  }
  const rank = (k) => {
    const i = order.indexOf(k);
    return i < 0 ? order.length : i;
  };
  return [...by.keys()].sort((a, b) => rank(a) - rank(b))
    .map((key) => ({ key, label: labelOf(key), messages: by.get(key) }));
}
