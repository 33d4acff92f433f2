// search.js: "Søg kollega": search as you type across the departments
// (GET /people?q=), a person's card (GET /people/{id}) and the unit tree to
// browse (GET /units, /units/{code}).

import { ApiError, get, seg } from '../api.js';
import { add, announce, clear, debounce, field, fmtDateTime, h, notice, replace } from '../dom.js';
import { personCard, personDetails, personLink, absenceText, saveContactLink } from '../people.js';
import { loadUnits, unitName } from '../state.js';
import { kleText } from '../labels.js';

const PAGE = 20;

function staleNotice(dir) {
  if (!dir || !dir.stale) return null;
  return notice('warning', `Kataloget kunne ikke opdateres. Oplysningerne er fra ${fmtDateTime(dir.synced_at)} og kan være forældede.`);
}

function unitTree(units) {
  const list = (items, level) => h('ul', { class: ['unit-tree', level ? 'unit-tree--nested' : null] },
    items.map((u) => h('li', {},
      h('a', { href: `#/enheder/${encodeURIComponent(u.code)}` }, u.name),
      h('span', { class: 'unit-tree__code' }, ` (${u.code})`),
      u.children && u.children.length ? list(u.children, level + 1) : null)));
  return list(units, 0);
}

export function renderSearch(el, { query }) {
  const initial = query.get('q') || '';
  const initialDept = query.get('forvaltning') || '';
  const input = h('input', {
    type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false', value: initial,
  });
  const q = field('Søg efter navn, titel, enhed eller e-mail', input, {
    hint: 'Resultaterne kommer, mens du skriver. Æ, ø og å kan skrives som ae, oe og aa.',
  });
  const dept = h('select', { name: 'department' }, h('option', { value: '' }, 'Alle forvaltninger'));
  const deptField = field('Forvaltning', dept);
  const status = h('p', { class: 'search__status', id: 'search-status', 'aria-live': 'polite' });
  const results = h('ol', { class: 'results results--grid', id: 'search-results', 'aria-labelledby': 'results-heading' });
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Vis flere');
  const dirNote = h('div');
  const tree = h('div', { class: 'tree-holder' }, h('p', {}, 'Henter enhederne …'));

  let controller = null;
  let cursor = null;
  let lastQuery = null;

  async function run(append = false) {
    const text = input.value.trim();
    const d = dept.value;
    const hash = `#/sog${text || d ? `?${new URLSearchParams({ ...(text ? { q: text } : {}), ...(d ? { forvaltning: d } : {}) })}` : ''}`;
    window.history.replaceState(null, '', hash);
    if (!text && !d) {
      if (controller) controller.abort();
      clear(results);
      more.hidden = true;
      status.textContent = 'Skriv et navn, en titel, en enhed eller en e-mailadresse.';
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    const key = `${text}\u0000${d}`;
    if (!append) cursor = null;
    status.textContent = 'Søger …';
    try {
      const { data } = await get('/people', {
        query: { q: text, department: d, limit: PAGE, cursor: append ? cursor : null },
        signal: controller.signal,
      });
      if (!append) clear(results);
      lastQuery = key;
      for (const p of data.items) results.append(h('li', {}, personCard(p, { headingLevel: 3 })));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      replace(dirNote, staleNotice(data.directory));
      const n = results.children.length;
      const msg = n === 0
        ? `Ingen fundet for »${text || unitName(d)}«. Prøv færre eller kortere ord.`
        : `${n} ${n === 1 ? 'person' : 'personer'} fundet${cursor ? ' (der er flere)' : ''}.`;
      status.textContent = msg;
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      status.textContent = '';
      replace(dirNote, notice('error', e instanceof ApiError ? e.userMessage : 'Søgningen mislykkedes.'));
    }
  }
  const runSoon = debounce(() => run(false), 200);
  input.addEventListener('input', runSoon);
  dept.addEventListener('change', () => run(false));
  more.addEventListener('click', () => run(true));

  const form = h('form', { role: 'search', class: 'search-form', 'aria-label': 'Søg kollega' },
    q.wrap, deptField.wrap);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    runSoon.flush();
  });

  el.append(
    h('h1', { class: 'page-title' }, 'Søg kollega'),
    h('p', { class: 'lead' }, 'Find en kollega i alle forvaltninger: kontaktoplysninger, fravær og stedfortræder.'),
    h('div', { class: 'layout-2' },
      h('section', { class: 'layout-2__main', 'aria-labelledby': 'results-heading' },
        form,
        h('h2', { id: 'results-heading', class: 'visually-hidden' }, 'Resultater'),
        dirNote, status, results, more),
      h('section', { class: 'layout-2__side', 'aria-labelledby': 'tree-heading' },
        h('h2', { id: 'tree-heading' }, 'Enheder'),
        tree)),
  );

  loadUnits().then((units) => {
    for (const u of units) dept.append(h('option', { value: u.code, selected: u.code === initialDept }, `${u.name} (${u.code})`));
    if (initialDept) dept.value = initialDept;
    replace(tree, unitTree(units));
    if (initial || initialDept) run(false);
  }).catch((e) => {
    replace(tree, notice('error', e instanceof ApiError ? e.userMessage : 'Enhederne kunne ikke hentes.'));
    if (initial) run(false);
  });
  if (!initial && !initialDept) status.textContent = 'Skriv et navn, en titel, en enhed eller en e-mailadresse.';
  return () => {
    runSoon.cancel();
    if (controller) controller.abort();
  };
}

export async function renderPerson(el, { params }) {
  const h1 = h('h1', { class: 'page-title' }, 'Kollega');
  el.append(h('p', { class: 'breadcrumb' }, h('a', { href: '#/sog' }, '← Søg kollega')), h1);
  const [{ data: p }] = await Promise.all([get(`/people/${seg(params[0])}`), loadUnits().catch(() => null)]);
  h1.textContent = p.display_name;
  document.title = `${p.display_name} – Stafet`;
  const absence = p.absent
    ? notice('warning', `${absenceText(p.absent)}.`, p.deputy ? [' Stedfortræder: ', personLink(p.deputy), '.'] : ' Ingen stedfortræder er angivet.')
    : null;
  add(el, absence, h('div', { class: 'card card--wide' }, personDetails(p, { full: true }),
    h('p', { class: 'button-row' }, saveContactLink(p))), staleNotice(p.directory));
}

export async function renderUnit(el, { params }) {
  const h1 = h('h1', { class: 'page-title' }, 'Enhed');
  el.append(h('p', { class: 'breadcrumb' }, h('a', { href: '#/sog' }, '← Søg kollega')), h1);
  await loadUnits().catch(() => null);
  const { data: u } = await get(`/units/${seg(params[0])}`);
  h1.textContent = `${u.name} (${u.code})`;
  document.title = `${u.name} – Stafet`;
  const kle = u.kle || {};
  const kleLine = [['responsible', 'ansvarlig'], ['performing', 'udførende'], ['insight', 'indsigt']]
    .filter(([k]) => (kle[k] || []).length)
    .map(([k, label]) => `${label}: ${kle[k].map((x) => kleText(x, u.kle_names || kle.names)).join(', ')}`).join('; ');
  const rows = [
    ['Forvaltning', u.department ? `${unitName(u.department)} (${u.department})` : null],
    ['Overordnet enhed', u.parent ? h('a', { href: `#/enheder/${encodeURIComponent(u.parent)}` }, unitName(u.parent)) : null],
    ['Fælles postkasse', u.mailbox ? h('a', { href: `mailto:${u.mailbox}` }, u.mailbox) : null],
    ['Leder', personLink(u.lead)],
    ['KLE-opgaver', kleLine || null],
  ].filter(([, v]) => v);
  el.append(h('dl', { class: 'details card card--wide' }, rows.map(([t, v]) => [h('dt', {}, t), h('dd', {}, v)])));
  if (u.children && u.children.length) {
    el.append(h('h2', {}, 'Underenheder'),
      h('ul', { class: 'link-list' }, u.children.map((c) => h('li', {}, h('a', { href: `#/enheder/${encodeURIComponent(c)}` }, `${unitName(c)} (${c})`)))));
  }
  const members = u.members || [];
  el.append(h('h2', {}, `Medarbejdere (${members.length})`));
  if (!members.length) {
    el.append(h('p', {}, 'Enheden har ingen medarbejdere direkte tilknyttet.'));
  } else {
    el.append(h('ul', { class: 'results results--grid' }, members.map((m) => h('li', {}, personCard(m, { headingLevel: 3 })))));
  }
  add(el, staleNotice(u.directory));
  announce(`${u.name}: ${members.length} medarbejdere.`);
}
