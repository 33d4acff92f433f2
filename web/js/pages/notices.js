// notices.js: "Varsler" (API.md 1.1 "Notices", /tmp/h/n1-api.md): the
// sending unit's notices (box=outgoing) with "Nyt varsel" and the CSV
// import, and the receiving unit's "Kommende overdragelser": the pipeline
// by expected month as an SVG bar chart built with DOM APIs (with the same
// figures as a table), then the incoming notices, acknowledged from the
// list. #/varsler/{id} is the notice itself (notice.js).
//
//   #/varsler            the sender's list (a receiver only: the pipeline)
//   #/varsler/kommende   the receiver's pipeline and list (?enhed=UR&maaned=2027-08)
//   #/varsler/ny         the notice form
//   #/varsler/import     the CSV import
//   #/varsler/{id}       the notice

import { ApiError, get, post, seg } from '../api.js';
import { refreshTasks } from '../counts.js';
import { add, announce, clear, field, fmtDate, h, newId, notice, replace, setFieldError, svg, tableWrap, todayIso } from '../dom.js';
import { routeShortName } from '../labels.js';
import { loadRoutes, loadUnits, state, unitName } from '../state.js';
import {
  NOTICE_STATUS, NOTICE_STATUS_ORDER, ackForm, citizenCell, monthShort, monthText, noticeStatusBadge, receiveUnits,
  receiverText, routeText, sendRoutes, senderText,
} from '../notices.js';
import { renderNotice } from './notice.js';

const PAGE = 50;

/** The tabs between the sender's and the receiver's view, as the user may use them. */
function subNav(current) {
  const items = [];
  if (sendRoutes().length) items.push(['#/varsler', 'Sendte varsler', 'sendte']);
  if (receiveUnits().length) items.push(['#/varsler/kommende', 'Kommende overdragelser', 'kommende']);
  if (items.length < 2) return null;
  return h('nav', { class: 'notice-tabs', 'aria-label': 'Varsler' },
    h('ul', { class: 'notice-tabs__list' }, items.map(([href, text, key]) => h('li', {},
      h('a', { href, class: 'notice-tabs__link', 'aria-current': key === current ? 'page' : null }, text)))));
}

export async function render(el, ctx) {
  await loadRoutes();
  await loadUnits().catch(() => null);
  if (!ctx.isCurrent()) return undefined;
  const sub = ctx.params[0];
  if (!sub) {
    if (!sendRoutes().length && receiveUnits().length) {
      ctx.navigate('#/varsler/kommende', { replace: true });
      return undefined;
    }
    return renderOutgoing(el, ctx);
  }
  if (sub === 'kommende') return renderPipeline(el, ctx);
  if (sub === 'ny') return renderForm(el, ctx);
  if (sub === 'import') return renderImport(el, ctx);
  if (/^[0-9a-fA-F-]{36}$/.test(sub)) return renderNotice(el, { ...ctx, id: sub });
  add(el, h('h1', { class: 'page-title' }, 'Siden findes ikke'),
    h('p', {}, 'Adressen passer ikke til en side under Varsler. ', h('a', { href: '#/varsler' }, 'Gå til Varsler'), '.'));
  return undefined;
}

// -- lists -------------------------------------------------------------------------------------

/**
 * A list of notices (GET /notices?box=…) in a table that becomes cards on
 * a phone. incoming: the sender column and a Kvittér action per open row.
 */
function noticeList({ box, query, title, emptyText, filtersLabel }) {
  const incoming = box === 'incoming';
  const cols = ['Reference', 'Borger', 'Rute', 'Forventet overdragelse', 'Status', incoming ? 'Fra' : 'Modtager'];
  if (incoming) cols.push('Handling');
  const status = h('p', { class: 'search__status', role: 'status' });
  const errors = h('div');
  const tbody = h('tbody');
  const table = h('table', { class: 'data data--cards notes-table notice-table', id: `notices-${box}` },
    h('caption', { class: 'visually-hidden' }, title),
    h('thead', {}, h('tr', {}, cols.map((x) => h('th', { scope: 'col' }, x === 'Handling' ? h('span', { class: 'visually-hidden' }, x) : x)))),
    tbody);
  const wrap = tableWrap(title, table);
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Vis flere');
  let cursor = null;
  const today = todayIso();

  function row(n) {
    const late = n.expected_date && n.expected_date < today && (n.status === 'open' || n.status === 'acknowledged');
    const cells = [
      h('a', { href: `#/varsler/${seg(n.id)}` }, n.ref),
      citizenCell(n.citizen),
      h('span', { class: 'route-name' }, routeText(n.route)),
      [fmtDate(n.expected_date), late ? [' ', h('span', { class: 'badge badge--warning' }, 'Overskredet')] : null],
      noticeStatusBadge(n.status),
      incoming ? senderText(n) : receiverText(n),
    ];
    let ackButton = null;
    if (incoming) {
      ackButton = n.status === 'open' ? h('button', {
        type: 'button', class: 'button button--small ack-open', 'aria-expanded': 'false',
      }, 'Kvittér', h('span', { class: 'visually-hidden' }, ` for ${n.ref}`)) : null;
      cells.push(ackButton || '');
    }
    const tr = h('tr', { dataset: { notice: n.id } }, cells.map((v, i) => h('td', { 'data-label': cols[i] }, v)));
    if (ackButton) {
      ackButton.addEventListener('click', () => {
        const open = ackButton.getAttribute('aria-expanded') === 'true';
        const existing = document.getElementById(`ack-row-${n.id}`);
        if (open && existing) {
          existing.remove();
          ackButton.removeAttribute('aria-controls');
          ackButton.setAttribute('aria-expanded', 'false');
          return;
        }
        const form = ackForm(n, {
          compact: true,
          idPrefix: 'list',
          done: (updated, text) => {
            formRow.remove();
            const fresh = row(updated);
            tr.replaceWith(fresh);
            replace(errors, notice('success', text));
            refreshTasks();
            const link = fresh.querySelector('a');
            if (link) link.focus();
          },
        });
        const formRow = h('tr', { class: 'ack-row', id: `ack-row-${n.id}` }, h('td', { colspan: cols.length, 'data-label': `Kvittér for ${n.ref}` }, form));
        tr.after(formRow);
        ackButton.setAttribute('aria-controls', formRow.id);
        ackButton.setAttribute('aria-expanded', 'true');
        const sel = formRow.querySelector('select');
        if (sel) sel.focus();
      });
    }
    return tr;
  }

  async function load(append) {
    clear(errors);
    status.textContent = 'Henter …';
    try {
      const { data } = await get('/notices', {
        query: {
          box, status: query.status, from: query.from, to: query.to, limit: PAGE, cursor: append ? cursor : null,
        },
      });
      if (!append) clear(tbody);
      for (const n of data.items || []) add(tbody, row(n));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      const n = tbody.querySelectorAll('tr[data-notice]').length;
      wrap.hidden = n === 0;
      status.textContent = n === 0 ? emptyText : `${n} ${n === 1 ? 'varsel' : 'varsler'}${cursor ? ' vist; der er flere' : ''}.`;
    } catch (e) {
      status.textContent = '';
      replace(errors, notice('error', e instanceof ApiError ? e.userMessage : 'Varslerne kunne ikke hentes.'));
    }
  }
  more.addEventListener('click', () => load(true));
  return { nodes: [errors, status, wrap, more], load, filtersLabel };
}

function statusFilter(query, navigate, base) {
  const sel = h('select', { name: 'status' }, h('option', { value: '' }, 'Alle'),
    NOTICE_STATUS_ORDER.map((s) => h('option', { value: s, selected: query.get('status') === s }, NOTICE_STATUS[s])));
  const form = h('form', { class: 'filters form-row', 'aria-label': 'Filtrér varslerne' },
    field('Status', sel).wrap,
    h('div', { class: 'filters__submit' }, h('button', { type: 'submit', class: 'button' }, 'Vis')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams(query);
    q.delete('status');
    if (sel.value) q.set('status', sel.value);
    const s = q.toString();
    navigate(`${base}${s ? `?${s}` : ''}`);
  });
  return form;
}

async function renderOutgoing(el, { query, navigate }) {
  add(el, h('h1', { class: 'page-title' }, 'Varsler'),
    subNav('sendte'),
    h('p', { class: 'lead' }, 'Varsl den modtagende enhed i god tid om de borgere, der skal overdrages: måneder før notatet skrives. Hvert varsel bærer lovens milepæle med frister.'),
    h('div', { class: 'button-row' },
      h('a', { class: 'button button--primary button-primary', href: '#/varsler/ny' }, 'Nyt varsel'),
      h('a', { class: 'button button-secondary', href: '#/varsler/import' }, 'Importér varsler fra en fil')));
  const list = noticeList({
    box: 'outgoing', query: { status: query.get('status') }, title: 'Sendte varsler',
    emptyText: query.get('status') ? 'Ingen varsler passer til filteret.' : 'Dine enheder har ikke sendt nogen varsler endnu.',
  });
  add(el, h('h2', {}, 'Sendte varsler'), statusFilter(query, navigate, '#/varsler'), list.nodes);
  await list.load(false);
  return undefined;
}

// -- the receiver's pipeline -------------------------------------------------------------------

// Narrow enough that a phone shows the labels at a readable size.
const W = 460;
const LABEL_W = 78;
const BAR_MAX = 220;

/** A horizontal bar per month: the notices expected, the acknowledged part darker, the count beside it. */
function pipelineChart(unit, months) {
  const titleId = newId('chart');
  const descId = newId('chartdesc');
  const rowH = 26;
  const max = Math.max(1, ...months.map((m) => m.expected || 0));
  const total = months.reduce((a, m) => a + (m.expected || 0), 0);
  const height = Math.max(months.length * rowH + 8, 40);
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    preserveAspectRatio: 'xMinYMin meet', class: 'chart__svg pipeline__svg', id: 'pipeline-chart',
  },
  svg('title', { id: titleId }, `Kommende overdragelser til ${unitName(unit)} pr. måned`),
  svg('desc', { id: descId }, `${total} ${total === 1 ? 'varslet borger' : 'varslede borgere'} de næste ${months.length} måneder. Tallene står også i tabellen under diagrammet.`),
  months.map((m, i) => {
    const y = i * rowH + 4;
    const w = Math.round(((m.expected || 0) / max) * BAR_MAX * 10) / 10;
    const wa = Math.round(((m.acknowledged || 0) / max) * BAR_MAX * 10) / 10;
    const text = m.expected ? `${m.expected} varslet${m.acknowledged ? `, ${m.acknowledged} kvitteret` : ''}` : '0';
    return svg('g', { class: 'chart__row pipeline__row', dataset: { month: m.month } },
      svg('text', { x: 0, y: y + 14, class: 'chart__label' }, monthShort(m.month)),
      svg('rect', { x: LABEL_W, y: y + 2, width: BAR_MAX, height: 16, rx: 3, class: 'chart__track' }),
      w > 0 ? svg('rect', { x: LABEL_W, y: y + 2, width: w, height: 16, rx: 3, class: 'chart__bar pipeline__bar' }) : null,
      wa > 0 ? svg('rect', { x: LABEL_W, y: y + 2, width: wa, height: 16, rx: 3, class: 'chart__bar pipeline__bar--ack' }) : null,
      svg('text', { x: LABEL_W + w + 8, y: y + 15, class: 'chart__value' }, text));
  }));
  return h('figure', { class: 'chart pipeline' },
    h('h3', {}, 'Varslede borgere pr. forventet måned'), chart,
    h('figcaption', { class: 'muted' },
      h('span', { class: 'pipeline__key pipeline__key--ack', 'aria-hidden': 'true' }), ' Kvitteret. ',
      h('span', { class: 'pipeline__key', 'aria-hidden': 'true' }), ' Ikke kvitteret endnu. Tallene står også i tabellen herunder; vælg en måned for at se dens varsler.'));
}

function monthRange(ym) {
  const m = /^(\d{4})-(\d\d)$/.exec(ym || '');
  if (!m) return null;
  const last = new Date(Number(m[1]), Number(m[2]), 0).getDate();
  return { from: `${ym}-01`, to: `${ym}-${String(last).padStart(2, '0')}` };
}

/** The months with notices as a table (the chart's figures for screen readers and for copying); a month opens its list. */
function pipelineTable(unit, months, base) {
  const cols = ['Måned', 'Varslet', 'Kvitteret', 'Notat oprettet', 'Ikke kvitteret'];
  return h('table', { class: 'data data--cards', id: 'pipeline-table' },
    h('caption', {}, `Måneder med varslede borgere til ${unitName(unit)} (de øvrige måneder har ingen)`),
    h('thead', {}, h('tr', {}, cols.map((x, i) => h('th', { scope: 'col', class: i ? 'num' : null }, x)))),
    h('tbody', {}, months.filter((m) => m.expected > 0).map((m) => h('tr', {},
      h('th', { scope: 'row', 'data-label': cols[0] }, h('a', { href: `${base}&maaned=${m.month}` }, monthText(m.month))),
      h('td', { class: 'num', 'data-label': cols[1] }, String(m.expected || 0)),
      h('td', { class: 'num', 'data-label': cols[2] }, String(m.acknowledged || 0)),
      h('td', { class: 'num', 'data-label': cols[3] }, String(m.converted || 0)),
      h('td', { class: 'num', 'data-label': cols[4] }, String(Math.max(0, (m.expected || 0) - (m.acknowledged || 0))))))));
}

async function renderPipeline(el, { query, navigate }) {
  add(el, h('h1', { class: 'page-title' }, 'Kommende overdragelser'), subNav('kommende'));
  const units = receiveUnits();
  if (!units.length) {
    add(el, notice('info', 'Din enhed modtager ikke borgere på nogen rute, så der er ingen kommende overdragelser at vise.'));
    return undefined;
  }
  const unit = units.includes(query.get('enhed')) ? query.get('enhed') : units[0];
  add(el, h('p', { class: 'lead' },
    `Borgere, som afsenderne har varslet, at de overdrager til ${unitName(unit)} de næste 24 måneder. Kvittér for varslerne, så afsenderen ved, at I er forberedt, og navngiv gerne en modtager.`));
  if (units.length > 1) {
    const sel = h('select', { name: 'enhed' }, units.map((u) => h('option', { value: u, selected: u === unit }, unitName(u))));
    const form = h('form', { class: 'filters form-row', 'aria-label': 'Vælg enhed' }, field('Enhed', sel).wrap,
      h('div', { class: 'filters__submit' }, h('button', { type: 'submit', class: 'button' }, 'Vis')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      navigate(`#/varsler/kommende?enhed=${encodeURIComponent(sel.value)}`);
    });
    add(el, form);
  }
  const chartHolder = h('section', { 'aria-labelledby': 'pipeline-h', class: 'pipeline-section' },
    h('h2', { id: 'pipeline-h' }, 'Pr. måned'), h('p', { role: 'status' }, 'Henter tallene …'));
  add(el, chartHolder);
  const base = `#/varsler/kommende?enhed=${encodeURIComponent(unit)}`;
  try {
    const { data } = await get('/notices/pipeline', { query: { unit, months: 24 } });
    const months = data.months || [];
    const total = months.reduce((a, m) => a + (m.expected || 0), 0);
    chartHolder.lastChild.remove();
    if (!total) {
      add(chartHolder, notice('info', `Der er ingen varslede borgere til ${unitName(unit)} de næste 24 måneder.`));
    } else {
      add(chartHolder, pipelineChart(unit, months), tableWrap('Kommende overdragelser pr. måned', pipelineTable(unit, months, base)));
    }
  } catch (e) {
    replace(chartHolder, h('h2', { id: 'pipeline-h' }, 'Pr. måned'),
      notice('error', e instanceof ApiError ? e.userMessage : 'Tallene kunne ikke hentes.'));
  }
  const range = monthRange(query.get('maaned'));
  const list = noticeList({
    box: 'incoming',
    query: { status: query.get('status'), from: range && range.from, to: range && range.to },
    title: 'Varsler til din enhed',
    emptyText: range || query.get('status') ? 'Ingen varsler passer til filteret.' : 'Der er ingen varsler til din enhed.',
  });
  add(el, h('section', { 'aria-labelledby': 'incoming-h' },
    h('h2', { id: 'incoming-h' }, range ? `Varsler med forventet overdragelse i ${monthText(query.get('maaned'))}` : 'Varsler til din enhed'),
    range ? h('p', {}, h('a', { href: base }, 'Vis alle måneder')) : null,
    statusFilter(query, navigate, '#/varsler/kommende'),
    list.nodes));
  await list.load(false);
  return undefined;
}

// -- the notice form ---------------------------------------------------------------------------

/** Danish words for a field's error when the daemon gives no message of its own. */
const FIELD_ERROR = {
  route: 'Vælg en rute, som din enhed sender borgere på.',
  'citizen.cpr': 'Skriv et gyldigt CPR-nummer med 10 cifre, fx 140310-1234.',
  'citizen.name': 'Skriv borgerens navn.',
  expected_date: 'Skriv en forventet dato for overdragelsen, som ikke ligger i fortiden.',
  comment: 'Kommentaren er for lang.',
};

/** The 409 of a notice or an unfinished note for the same citizen and route: a message with a link to it. */
export function conflictNotice(e) {
  const x = (e.problem && e.problem.existing) || {};
  const isNote = x.kind === 'handover';
  const href = x.id ? (isNote ? `#/notater/${seg(x.id)}` : `#/varsler/${seg(x.id)}`) : null;
  const what = isNote ? 'et notat, der ikke er afsluttet,' : 'et åbent varsel';
  return notice('error', h('h2', { class: 'alert-heading' }, 'Borgeren er allerede varslet'),
    h('p', {}, `Der findes allerede ${what} for denne borger på denne rute`,
      x.ref ? [': ', href ? h('a', { href, id: 'conflict-link' }, x.ref) : x.ref] : '', '. ',
      isNote ? 'Fortsæt i notatet i stedet for at varsle igen.' : 'Ret det eksisterende varsel i stedet for at oprette et nyt.'));
}

async function renderForm(el, { navigate }) {
  add(el, h('p', { class: 'breadcrumb' }, h('a', { href: '#/varsler' }, '← Varsler')),
    h('h1', { class: 'page-title' }, 'Nyt varsel'));
  const routes = sendRoutes();
  if (!routes.length) {
    add(el, notice('info', 'Du hører ikke til en afsenderenhed på nogen rute, så du kan ikke oprette varsler.'));
    return undefined;
  }
  add(el, h('p', { class: 'lead' }, 'Fortæl den modtagende enhed, at en borger kommer, og omtrent hvornår. Milepælene og deres frister regnes ud fra borgerens fødselsdato og den forventede dato.'));
  const routeSel = h('select', { name: 'route' }, routes.map((r) => h('option', { value: r.code }, r.name)));
  const fRoute = field('Rute', routeSel, { hint: 'Hvem borgeren skal overdrages fra og til.' });
  const fCpr = field('CPR-nummer', h('input', { type: 'text', name: 'cpr', autocomplete: 'off', inputmode: 'numeric', maxlength: 11, spellcheck: 'false' }), { hint: '10 cifre, fx 140310-1234.' });
  const fName = field('Borgerens navn', h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: 200 }));
  const fDate = field('Forventet overdragelse', h('input', { type: 'date', name: 'expected_date', min: todayIso() }), { hint: 'Omtrent hvornår sagen skal overdrages. Datoen kan rettes senere.' });
  const fComment = field('Kommentar (valgfri)', h('textarea', { name: 'comment', rows: 3, maxlength: 2000 }), { hint: 'Fx hvad modtageren bør vide for at planlægge. Skriv ikke mere om borgeren end nødvendigt.' });
  const fields = { route: fRoute, 'citizen.cpr': fCpr, 'citizen.name': fName, expected_date: fDate, comment: fComment };
  const status = h('div', { id: 'notice-form-status' });
  const button = h('button', { type: 'submit', class: 'button button--primary button-primary' }, 'Opret varsel');
  const form = h('form', { class: 'notice-form', novalidate: true, 'aria-label': 'Nyt varsel' },
    status, fRoute.wrap, h('div', { class: 'form-row' }, fCpr.wrap, fName.wrap), fDate.wrap, fComment.wrap,
    h('div', { class: 'button-row' }, button, h('a', { class: 'button button-tertiary', href: '#/varsler' }, 'Fortryd')));
  add(el, form);

  function showErrors(list) {
    for (const f of Object.values(fields)) setFieldError(f, null);
    const items = [];
    for (const { field: key, message } of list) {
      const f = fields[key] || fRoute;
      const text = message || FIELD_ERROR[key] || 'Feltet er ikke udfyldt rigtigt.';
      setFieldError(f, text);
      items.push(h('li', {}, h('a', { href: `#${f.id}`, onclick: (ev) => { ev.preventDefault(); f.input.focus(); } }, text)));
    }
    const box = notice('error', h('h2', { class: 'alert-heading' }, list.length === 1 ? 'Der er 1 fejl' : `Der er ${list.length} fejl`),
      h('ul', { class: 'alert-text nobullet-list' }, items));
    box.tabIndex = -1;
    replace(status, box);
    box.focus();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const local = [];
    const cpr = fCpr.input.value.trim();
    if (!/^\d{6}-?\d{4}$/.test(cpr)) local.push({ field: 'citizen.cpr' });
    if (!fName.input.value.trim()) local.push({ field: 'citizen.name' });
    if (!fDate.input.value) local.push({ field: 'expected_date', message: 'Skriv den forventede dato for overdragelsen.' });
    if (local.length) {
      showErrors(local);
      return;
    }
    button.disabled = true;
    clear(status);
    const body = {
      route: routeSel.value,
      citizen: { cpr, name: fName.input.value.trim() },
      expected_date: fDate.input.value,
    };
    if (fComment.input.value.trim()) body.comment = fComment.input.value.trim();
    try {
      const { data } = await post('/notices', body);
      state.flash = { id: data.id, text: `Varslet ${data.ref} er oprettet og sendt til ${unitName(data.receiver && data.receiver.unit)}.` };
      announce(`Varslet ${data.ref} er oprettet.`);
      refreshTasks();
      navigate(`#/varsler/${data.id}`);
    } catch (e) {
      button.disabled = false;
      if (e instanceof ApiError && e.status === 422 && e.errors.length) {
        showErrors(e.errors.map((x) => ({ field: x.field, message: x.message })));
      } else if (e instanceof ApiError && e.status === 409) {
        const box = conflictNotice(e);
        box.tabIndex = -1;
        replace(status, box);
        box.focus();
      } else if (e instanceof ApiError && e.status === 403) {
        replace(status, notice('error', 'Du kan ikke varsle på den rute: du hører ikke til den afsendende enhed.'));
      } else {
        replace(status, notice('error', e instanceof ApiError ? e.userMessage : 'Varslet kunne ikke oprettes. Prøv igen.'));
      }
    }
  });
  fCpr.input.focus();
  return undefined;
}

// -- the CSV import -----------------------------------------------------------------------------

/** POST a file's text as text/csv (api.js sends JSON only). */
async function postCsv(path, text) {
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': 'text/csv; charset=utf-8' }, body: text,
    });
  } catch (e) {
    throw new ApiError(0, null);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) { /* not JSON */ }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function renderImport(el) {
  add(el, h('p', { class: 'breadcrumb' }, h('a', { href: '#/varsler' }, '← Varsler')),
    h('h1', { class: 'page-title' }, 'Importér varsler fra en fil'));
  if (!sendRoutes().length) {
    add(el, notice('info', 'Du hører ikke til en afsenderenhed på nogen rute, så du kan ikke importere varsler.'));
    return undefined;
  }
  add(el, h('p', { class: 'lead' }, 'Opret mange varsler på én gang fra et udtræk fra fagsystemet. Hver linje bliver enten et varsel eller afvist med en begrundelse — aldrig et halvt varsel. En borger, der allerede er varslet på ruten, varsles ikke igen.'),
    h('div', { class: 'card card--wide' },
      h('h2', {}, 'Sådan skal filen se ud'),
      h('p', {}, 'En CSV-fil i UTF-8 med semikolon mellem felterne og denne første linje:'),
      h('p', {}, h('code', { class: 'csv-example' }, 'cpr;name;route;expected_date;comment')),
      h('p', {}, 'Datoen skrives som ÅÅÅÅ-MM-DD. En kommentar med semikolon eller anførselstegn sættes i anførselstegn. Ruten skrives med sin kode:'),
      h('ul', { class: 'route-codes' }, sendRoutes().map((r) => h('li', {}, h('code', {}, r.code), ` – ${routeShortName(r)}`)))));
  const input = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv' });
  const f = field('CSV-fil', input, { hint: 'Højst 5.000 linjer.' });
  const button = h('button', { type: 'submit', class: 'button button--primary button-primary' }, 'Importér');
  const out = h('div', { id: 'import-result' });
  const form = h('form', { class: 'import-form', 'aria-label': 'Importér varsler' }, f.wrap, h('div', { class: 'button-row' }, button));
  add(el, form, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setFieldError(f, null);
    clear(out);
    const file = input.files && input.files[0];
    if (!file) {
      setFieldError(f, 'Vælg den fil, der skal importeres.');
      input.focus();
      return;
    }
    button.disabled = true;
    add(out, h('p', { role: 'status' }, 'Importerer …'));
    try {
      const text = await file.text();
      const data = await postCsv('/notices/import', text);
      refreshTasks();
      showImport(out, data);
    } catch (e) {
      let msg = e instanceof ApiError ? e.userMessage : 'Filen kunne ikke læses.';
      if (e instanceof ApiError && e.status === 413) msg = 'Filen er for stor. Del den op i filer på højst 5.000 linjer, og importér dem hver for sig.';
      if (e instanceof ApiError && e.status === 415) msg = 'Filen skal være en CSV-fil.';
      replace(out, notice('error', msg));
    } finally {
      button.disabled = false;
    }
  });
  return undefined;
}

function showImport(out, data) {
  const created = Number(data.created) || 0;
  const unchanged = Number(data.unchanged) || 0;
  const skipped = data.skipped || [];
  const made = (data.notices || []).filter((n) => n.result !== 'unchanged').sort((a, b) => a.line - b.line);
  const kept = (data.notices || []).filter((n) => n.result === 'unchanged').sort((a, b) => a.line - b.line);
  const summary = [
    `${created} ${created === 1 ? 'varsel er oprettet' : 'varsler er oprettet'}`,
    unchanged ? `${unchanged} ${unchanged === 1 ? 'linje var allerede varslet og er uændret' : 'linjer var allerede varslet og er uændrede'}` : null,
    `${skipped.length} ${skipped.length === 1 ? 'linje er afvist' : 'linjer er afvist'}`,
  ].filter(Boolean).join(', ');
  const kind = skipped.length ? 'warning' : 'success';
  replace(out, notice(kind, h('h2', { class: 'alert-heading' }, 'Importen er færdig'), h('p', { id: 'import-summary' }, `${summary}.`)));
  announce(`${summary}.`);
  const links = (list, id) => h('ul', { class: 'import-created', id }, list.map((n) => h('li', {},
    `Linje ${n.line}: `, h('a', { href: `#/varsler/${seg(n.id)}` }, n.ref))));
  if (made.length) add(out, h('h2', {}, 'Oprettede varsler'), links(made, 'import-created'));
  if (kept.length) add(out, h('h2', {}, 'Allerede varslet (uændret)'), links(kept, 'import-unchanged'));
  if (skipped.length) {
    const cols = ['Linje', 'Begrundelse'];
    add(out, tableWrap('Afviste linjer', h('table', { class: 'data data--cards', id: 'import-skipped' },
      h('caption', {}, 'Afviste linjer — ret dem i filen, og importér igen'),
      h('thead', {}, h('tr', {}, cols.map((x, i) => h('th', { scope: 'col', class: i ? null : 'num' }, x)))),
      h('tbody', {}, skipped.map((s) => h('tr', {},
        h('td', { class: 'num', 'data-label': cols[0] }, String(s.line)),
        h('td', { 'data-label': cols[1] }, s.reason || 'Linjen kunne ikke læses.')))))));
  }
}
