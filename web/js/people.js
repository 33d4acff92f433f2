// people.js: how a person is shown: a card with contact details, absence
// and deputy, used by the search, the unit pages and "Find modtager".

import { fmtDate, h, todayIso } from './dom.js';
import { allocationText, targetGroupNames } from './labels.js';
import { unitName } from './state.js';

/** ", Beskæftigelses- og Socialforvaltningen": the unit's department by name, when it is known. */
function departmentText(unit) {
  const code = unit.department;
  if (!code || code === unit.code) return '';
  const name = unit.department_name || unitName(code);
  return name && name !== code ? `, ${name}` : '';
}

export function personLink(ref) {
  if (!ref) return null;
  if (!ref.display_name) return h('span', {}, 'en person, der ikke længere er i kataloget');
  return h('a', { href: `#/personer/${encodeURIComponent(ref.id)}` }, ref.display_name);
}

export function absenceText(absent) {
  if (!absent) return null;
  if (absent.from && absent.until) return `Fraværende fra ${fmtDate(absent.from)} til ${fmtDate(absent.until)}`;
  if (absent.from) return `Fraværende fra ${fmtDate(absent.from)}, uden slutdato`;
  return 'Fraværende';
}

function row(term, ...value) {
  const v = value.filter((x) => x !== null && x !== undefined && x !== '');
  if (!v.length) return null;
  return [h('dt', {}, term), h('dd', {}, ...v)];
}

/** The details of a person as a definition list. */
export function personDetails(p, { full = false } = {}) {
  const unit = p.unit
    ? [h('a', { href: `#/enheder/${encodeURIComponent(p.unit.code)}` }, p.unit.name), departmentText(p.unit)]
    : null;
  const rows = [
    row('Titel', p.title),
    row('Enhed', unit),
    row('Telefon', p.phone ? h('a', { href: `tel:${p.phone.replace(/\s+/g, '')}` }, p.phone) : null),
    row('Mobil', p.mobile ? h('a', { href: `tel:${p.mobile.replace(/\s+/g, '')}` }, p.mobile) : null),
    row('E-mail', p.email ? h('a', { href: `mailto:${p.email}` }, p.email) : null),
    row('Kontor', p.office),
  ];
  if (full) {
    rows.push(row('Målgrupper', targetGroupNames(p.target_groups, p.target_group_names).join(', ')));
    rows.push(row('Fordeling', (p.allocation || []).map((a) => allocationText(a, p.target_group_names)).join('; ')));
    rows.push(row('Leder', personLink(p.manager)));
    rows.push(row('Brugernavn', p.username));
  }
  return h('dl', { class: 'details' }, rows.filter(Boolean));
}

/** "Gem kontakt": the person as a vCard file (GET /people/{id}/vcard) for the address book or phone. */
export function saveContactLink(p) {
  const name = /^[A-Za-z0-9._-]+$/.test(p.username || '') ? `${p.username}.vcf` : 'kontakt.vcf';
  return h('a', {
    class: 'button button--small save-contact',
    href: `/api/v1/people/${encodeURIComponent(p.id)}/vcard`,
    download: name,
  }, 'Gem kontakt');
}

/** A person as a card; headingLevel sets h2/h3 for the name. */
export function personCard(p, { headingLevel = 3, extra = null, full = false } = {}) {
  const heading = h(`h${headingLevel}`, { class: 'card__title' },
    h('a', { href: `#/personer/${encodeURIComponent(p.id)}` }, p.display_name));
  const ahead = p.absent && p.absent.from && p.absent.from > todayIso();
  const absent = p.absent
    ? h('p', { class: 'absence' },
      h('span', { class: 'badge badge--warning' }, ahead ? 'Planlagt fravær' : 'Fraværende'), ' ',
      absenceText(p.absent).replace(/^Fraværende/, 'Væk'),
      p.deputy ? [h('br'), 'Stedfortræder: ', personLink(p.deputy)] : '')
    : null;
  return h('article', { class: ['card', 'person-card', p.absent ? 'person-card--absent' : null] },
    heading, absent, personDetails(p, { full }), h('p', { class: 'person-card__actions' }, saveContactLink(p)), extra);
}
