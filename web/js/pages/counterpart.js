// counterpart.js: "Find modtager": choose the route, give the citizen's
// birth date or CPR number and the facts the route needs, and see the one
// answer to "who takes this?" first, large, with its why, and the other
// candidates folded below (POST /counterparts). When the citizen's age does
// not fit the route, the warning comes above the answer, and starting a
// note asks "Er CPR-nummeret rigtigt?" first. A note can be started from
// the answer with route, citizen and receiver filled in. The CPR number is
// sent to the daemon, which only reads the birth date from it; it is kept
// in memory only.

import { ApiError, get, post, seg } from '../api.js';
import { clear, field, fmtDate, h, newId, notice, replace, setFieldError, todayIso } from '../dom.js';
import { EMPLOYMENT, targetGroupName } from '../labels.js';
import { personDetails, personLink } from '../people.js';
import { canSend, loadRoutes, loadUnits, routeByCode, state, unitName } from '../state.js';

function radioGroup(legend, name, options, value) {
  const inputs = [];
  const row = h('div', { class: 'radio-row' }, options.map(([v, label]) => {
    const id = newId(name);
    const input = h('input', { type: 'radio', name, id, value: v, checked: v === value });
    inputs.push(input);
    return h('label', { for: id }, input, label);
  }));
  const fs = h('fieldset', { class: 'fieldset' }, h('legend', {}, legend), row);
  return { wrap: fs, get value() { const c = inputs.find((i) => i.checked); return c ? c.value : ''; } };
}

// What settled the answer, in words (API.md: answer.decided_by).
const DECIDED_BY = {
  rule: 'Fordelingsreglerne peger på én',
  continuity: 'Kender borgeren i forvejen',
  load: 'Færrest åbne overdragelser',
  rotation: 'Fast tur blandt ligestillede',
  deputy: 'Stedfortræder for den fraværende',
  intake: 'Visitationen fordeler',
};

/**
 * The daemon's sentences may name the route by its code ("Ruten BUR-UR
 * sender til …"); the route is chosen by name above, so "ruten" says it.
 */
function plain(text) {
  if (!text) return text;
  const codes = (state.routes || []).map((r) => r.code).filter(Boolean)
    .map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (!codes.length) return text;
  return String(text).replace(new RegExp(`\\b([Rr]uten) (?:${codes.join('|')})(?![\\w-])`, 'g'), '$1');
}

/** Suggestions: values, or [value, label] pairs (a target group's slug and its name). */
function datalist(values) {
  const id = newId('dl');
  const pairs = [...values].map((v) => (Array.isArray(v) ? v : [v, null])).sort((a, b) => (a[1] || a[0]).localeCompare(b[1] || b[0], 'da'));
  return { id, el: h('datalist', { id }, pairs.map(([v, label]) => h('option', { value: v, label }))) };
}

export async function render(el, { navigate }) {
  el.append(
    h('h1', { class: 'page-title' }, 'Find modtager'),
    h('p', { class: 'lead' }, 'Vælg ruten, og angiv det, du ved om borgeren. Stafet finder den modtagende enhed og den rette sagsbehandler — og siger hvorfor.'),
  );
  const formHolder = h('div', {}, h('p', {}, 'Henter ruterne …'));
  const result = h('section', { class: 'counterpart-result', 'aria-labelledby': 'cp-result-heading', hidden: true });
  el.append(formHolder, result);

  const routes = await loadRoutes();
  await loadUnits().catch(() => null);

  const routeSelect = h('select', { name: 'route', required: true },
    routes.map((r) => h('option', { value: r.code }, r.name)));
  const preferred = routes.find((r) => canSend(r)) || routes[0];
  if (preferred) routeSelect.value = preferred.code;
  const routeF = field('Rute', routeSelect, { hint: 'Hvorfra og hvortil borgeren overdrages.' });

  const birth = field('Fødselsdato', h('input', { type: 'date', name: 'birthdate', max: todayIso() }));
  const cpr = field('eller CPR-nummer', h('input', {
    type: 'text', name: 'cpr', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false', maxlength: '11',
  }), { hint: 'DDMMÅÅ-SSSS. Bruges kun til at finde fødselsdatoen og gemmes ikke.' });
  const surname = field('Efternavn', h('input', { type: 'text', name: 'surname', autocomplete: 'off' }),
    { hint: 'Nogle enheder fordeler sager efter borgerens efternavn.' });
  const placed = radioGroup('Anbragt uden for hjemmet?', 'placed', [['', 'Ved ikke'], ['yes', 'Ja'], ['no', 'Nej']], '');
  const districtInput = h('input', { type: 'text', name: 'district', autocomplete: 'off' });
  const district = field('Distrikt', districtInput, { hint: 'Fx skoledistrikt eller bydel, hvis enheden fordeler efter det.' });
  const tgInput = h('input', { type: 'text', name: 'target_group', autocomplete: 'off' });
  const tg = field('Målgruppe', tgInput, { hint: 'Fx et team for anbragte unge.' });
  const groupSlugs = new Map(); // a target group's name (lower case) → its slug
  const emp = field('Tilknytning til arbejdsmarkedet', h('select', { name: 'employment_status' },
    h('option', { value: '' }, 'Ikke angivet'), EMPLOYMENT.map(([v, l]) => h('option', { value: v }, l))),
  { hint: 'Myndighedssnittet: tilknytningen afgør, hvilken forvaltning har sagen.' });
  const kle = field('KLE-nummer', h('input', { type: 'text', name: 'kle', autocomplete: 'off', placeholder: '27.39.00' }),
    { hint: 'Valgfrit: opgavens nummer i KL\'s Emnesystematik (NN, NN.NN eller NN.NN.NN).' });
  const date = field('Dato for opslaget', h('input', { type: 'date', name: 'date', value: todayIso() }),
    { hint: 'Afgør, hvem der regnes som fraværende.' });
  const lists = h('div');
  const formStatus = h('div');
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Find modtager');

  const facts = h('fieldset', { class: 'fieldset' }, h('legend', {}, 'Borgeren'),
    h('div', { class: 'form-row' }, birth.wrap, cpr.wrap),
    h('div', { class: 'form-row' }, surname.wrap, district.wrap, tg.wrap),
    placed.wrap, emp.wrap);
  const more = h('details', { class: 'more-facts' }, h('summary', {}, 'Flere oplysninger (KLE og dato)'),
    h('div', { class: 'form-row' }, kle.wrap, date.wrap));
  const form = h('form', { class: 'counterpart-form', novalidate: true, 'aria-label': 'Find modtager' },
    formStatus, routeF.wrap, facts, more, lists, h('div', { class: 'button-row' }, submit));
  replace(formHolder, form);

  async function onRoute() {
    const r = routeByCode(routeSelect.value);
    const rules = (r && r.rules) || {};
    placed.wrap.hidden = !rules.placed_target_group;
    emp.wrap.hidden = !rules.myndighedssnit;
    // Suggestions from the receiving unit's own people.
    clear(lists);
    districtInput.removeAttribute('list');
    tgInput.removeAttribute('list');
    if (!r || !r.to_unit) return;
    try {
      const { data } = await get(`/units/${seg(r.to_unit)}`);
      const districts = new Set();
      const groups = new Map(); // slug → name
      for (const m of data.members || []) {
        for (const a of m.allocation || []) if (a.kind === 'district' && a.value) districts.add(a.value);
        (m.target_groups || []).forEach((g) => {
          const slug = g && typeof g === 'object' ? (g.slug || g.code) : g;
          const name = g && typeof g === 'object' ? g.name : null;
          if (slug) groups.set(slug, name || targetGroupName(slug, m.target_group_names));
        });
      }
      const dl = datalist(districts);
      // Offered by name; the name is turned back into its slug when sent.
      groupSlugs.clear();
      for (const [slug, name] of groups) groupSlugs.set(name.toLocaleLowerCase('da'), slug);
      const gl = datalist([...groups.values()]);
      lists.append(dl.el, gl.el);
      districtInput.setAttribute('list', dl.id);
      tgInput.setAttribute('list', gl.id);
    } catch (e) { /* suggestions only */ }
  }
  routeSelect.addEventListener('change', onRoute);
  onRoute();

  const fieldsByName = {
    route: routeF, 'citizen.birthdate': birth, 'citizen.cpr': cpr, 'citizen.surname': surname,
    'citizen.district': district, 'citizen.target_group': tg, 'citizen.employment_status': emp, kle, date,
  };

  function body() {
    const citizen = {};
    const r = routeByCode(routeSelect.value);
    const rules = (r && r.rules) || {};
    if (birth.input.value) citizen.birthdate = birth.input.value;
    const c = cpr.input.value.trim();
    if (c) citizen.cpr = c;
    if (surname.input.value.trim()) citizen.surname = surname.input.value.trim();
    if (districtInput.value.trim()) citizen.district = districtInput.value.trim();
    const group = tgInput.value.trim();
    if (group) citizen.target_group = groupSlugs.get(group.toLocaleLowerCase('da')) || group;
    if (rules.placed_target_group && placed.value) citizen.placed = placed.value === 'yes';
    if (rules.myndighedssnit && emp.input.value) citizen.employment_status = emp.input.value;
    const b = { route: routeSelect.value, citizen };
    if (kle.input.value.trim()) b.kle = kle.input.value.trim();
    if (date.input.value) b.date = date.input.value;
    return b;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(formStatus);
    Object.values(fieldsByName).forEach((f) => setFieldError(f, null));
    const b = body();
    if (!b.citizen.birthdate && !b.citizen.cpr) {
      setFieldError(birth, 'Angiv fødselsdatoen eller CPR-nummeret.');
      formStatus.append(notice('error', 'Angiv borgerens fødselsdato eller CPR-nummer.'));
      birth.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await post('/counterparts', b);
      showResult(data, b);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      let first = null;
      for (const err of e.errors) {
        const f = fieldsByName[err.field];
        if (f) {
          setFieldError(f, err.message);
          first = first || f;
        }
      }
      formStatus.append(notice('error', e.userMessage));
      if (first) first.input.focus();
    } finally {
      submit.disabled = false;
    }
  });

  function startNote(data, b, person) {
    const r = routeByCode(b.route);
    const pl = data.plausibility;
    if (pl && !pl.ok) {
      const q = b.citizen.cpr ? 'Er CPR-nummeret rigtigt?' : 'Er fødselsdatoen rigtig?';
      // eslint-disable-next-line no-alert
      if (!window.confirm(`${plain(pl.message)}\n\n${q} Vælg OK for at starte notatet alligevel, eller Annuller for at rette det.`)) {
        (b.citizen.cpr ? cpr : birth).input.focus();
        return;
      }
    }
    state.seed = {
      route: b.route,
      citizen: { cpr: b.citizen.cpr || '', birthdate: b.citizen.birthdate || data.citizen.birthdate || '' },
      receiver: { unit: data.receiving_unit.code, person: person ? person.id : null, person_name: person ? person.display_name : null },
      sections: {},
      placed: b.citizen.placed,
      route_name: r ? r.name : b.route,
    };
    navigate('#/notater/ny');
  }

  function candidateItem(c, data, b, sendable) {
    const p = c.person;
    const badges = [
      c.available ? h('span', { class: 'badge badge--ok' }, 'Til stede') : h('span', { class: 'badge badge--warning' }, 'Fraværende'),
      c.acting_for ? [' ', h('span', { class: 'badge badge--info' }, `Stedfortræder for ${c.acting_for.display_name}`)] : null,
    ];
    const start = sendable
      ? h('button', { type: 'button', class: 'button', onclick: () => startNote(data, b, p) },
        `Start notat med ${p.display_name} som modtager`)
      : null;
    return h('li', {}, h('article', { class: 'card candidate' },
      h('div', { class: 'candidate__rank', 'aria-hidden': 'true' }, String(c.rank)),
      h('div', {},
        h('h4', { class: 'card__title' }, h('span', { class: 'visually-hidden' }, `Nr. ${c.rank}: `), personLink(p), ' ', badges),
        h('p', { class: 'candidate__reason' }, plain(c.reason)),
        personDetails(p),
        start ? h('div', { class: 'button-row' }, start) : null)));
  }

  // The one answer: who takes it (or the unit's intake), what settled it, why.
  function answerCard(data, b, sendable) {
    const a = data.answer;
    const unit = data.receiving_unit;
    if (!a) return null;
    const decided = h('p', { class: 'answer__decided' }, h('span', { class: 'badge badge--info' }, DECIDED_BY[a.decided_by] || a.decided_by));
    if (a.kind === 'intake') {
      const fb = data.fallback || {};
      return h('section', { class: 'card answer', 'aria-labelledby': 'cp-answer-heading' },
        h('p', { class: 'answer__label' }, 'Sagen går til'),
        h('h3', { id: 'cp-answer-heading', class: 'answer__name' }, `Visitationen i ${unit.name}`),
        decided,
        h('p', { class: 'answer__why' }, plain(a.why)),
        h('dl', { class: 'details' },
          fb.mailbox ? [h('dt', {}, 'Fælles postkasse'), h('dd', {}, h('a', { href: `mailto:${fb.mailbox}` }, fb.mailbox))] : null,
          a.person ? [h('dt', {}, 'Leder, der fordeler'), h('dd', {}, personLink(a.person))] : null),
        sendable ? h('div', { class: 'button-row' },
          h('button', { type: 'button', class: 'button button--primary', onclick: () => startNote(data, b, null) },
            `Start notat til ${unit.name} uden navngiven modtager`)) : null);
    }
    const c = (data.candidates || []).find((x) => x.person.id === a.person.id);
    const p = c ? c.person : a.person;
    return h('section', { class: 'card answer', 'aria-labelledby': 'cp-answer-heading' },
      h('p', { class: 'answer__label' }, 'Tager sagen'),
      h('h3', { id: 'cp-answer-heading', class: 'answer__name' }, personLink(a.person),
        c && c.acting_for ? [' ', h('span', { class: 'badge badge--info' }, `Stedfortræder for ${c.acting_for.display_name}`)] : null),
      decided,
      h('p', { class: 'answer__why' }, plain(a.why)),
      c ? personDetails(p) : null,
      sendable ? h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'button button--primary', onclick: () => startNote(data, b, a.person) },
          `Start notat med ${a.person.display_name} som modtager`)) : null);
  }

  function showResult(data, b) {
    const r = routeByCode(b.route);
    const sendable = canSend(r);
    const unit = data.receiving_unit;
    const pl = data.plausibility;
    const a = data.answer;
    const parts = [
      h('h2', { id: 'cp-result-heading', tabindex: '-1' }, `Modtagende enhed: ${unit.name} (${unit.code})`),
      pl && !pl.ok ? h('div', { class: 'notice notice--warning plausibility', role: 'alert' },
        h('p', {}, h('strong', {}, 'Tjek borgerens alder: '), plain(pl.message))) : null,
      answerCard(data, b, sendable),
      h('p', {}, plain(unit.reason) || ''),
      data.myndighedssnit ? notice('info', plain(data.myndighedssnit.reason)) : null,
      (data.warnings || []).length ? notice('warning', h('p', {}, h('strong', {}, 'Bemærk:')), h('ul', {}, data.warnings.map((w) => h('li', {}, plain(w))))) : null,
      data.citizen && data.citizen.birthdate ? h('p', { class: 'muted' }, `Borgerens fødselsdato: ${fmtDate(data.citizen.birthdate)}`
        + (data.citizen.age_on_date !== null && data.citizen.age_on_date !== undefined ? ` (${data.citizen.age_on_date} år)` : '')
        + `. Opslaget gælder ${fmtDate(data.date)}.`) : null,
      data.directory && data.directory.stale ? notice('warning', 'Kataloget kunne ikke opdateres; oplysningerne kan være forældede.') : null,
    ];
    const cands = data.candidates || [];
    // The others, folded: everyone but the one who takes it.
    const others = cands.filter((c) => !(a && a.kind === 'person' && a.person && c.person.id === a.person.id));
    if (!cands.length) {
      parts.push(h('h3', {}, 'Ingen sagsbehandler passer'));
    } else if (others.length) {
      parts.push(h('details', { class: 'others' },
        h('summary', {}, `Andre i ${unit.name} (${others.length})`),
        h('ol', { class: 'results', 'aria-label': `Andre i ${unit.name}, bedste først` },
          others.map((c) => candidateItem(c, data, b, sendable)))));
    }
    const fb = data.fallback;
    if (fb) {
      parts.push(h('h3', {}, 'Hvis ingen af dem kan tage sagen'),
        h('p', {}, plain(fb.reason) || ''),
        h('dl', { class: 'details card card--wide' },
          fb.mailbox ? [h('dt', {}, 'Fælles postkasse'), h('dd', {}, h('a', { href: `mailto:${fb.mailbox}` }, fb.mailbox))] : null,
          fb.lead ? [h('dt', {}, 'Leder'), h('dd', {}, personLink(fb.lead),
            fb.lead.phone ? [', ', h('a', { href: `tel:${fb.lead.phone.replace(/\s+/g, '')}` }, fb.lead.phone)] : null,
            fb.lead.email ? [', ', h('a', { href: `mailto:${fb.lead.email}` }, fb.lead.email)] : null)] : null));
    }
    if (sendable && !(a && a.kind === 'intake')) {
      parts.push(h('div', { class: 'button-row' },
        h('button', { type: 'button', class: 'button', onclick: () => startNote(data, b, null) },
          `Start notat til ${unit.name} uden navngiven modtager`)));
    } else if (!sendable) {
      parts.push(notice('info', r && r.from_unit ? `Kun medarbejdere i ${unitName(r.from_unit)} kan oprette notater på ruten.` : 'Du kan ikke oprette notater på ruten.'));
    }
    replace(result, parts);
    result.hidden = false;
    result.querySelector('h2').focus();
  }
}
