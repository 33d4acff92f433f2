// quality.js: "Kvalitet": per route and quarter the share of notes
// returned, the working days to acceptance and the sections most often
// flagged (GET /reports/quality), as SVG bar charts built with DOM APIs
// (bar widths are SVG attributes, never inline styles) and as a table,
// with the figures as a spreadsheet (XLSX) or CSV (the Accept type, then a
// Blob link).

import { ApiError, get } from '../api.js';
import { announce, clear, field, fmtDate, h, newId, notice, replace, svg, tableWrap } from '../dom.js';
import { routeShortName } from '../labels.js';
import { canSeeQuality, loadRoutes, loadTemplate, routeByCode, routeName, sectionLabel } from '../state.js';

/** A route's short name for charts and tables; its code only while the routes are unknown. */
const routeShort = (code) => {
  const r = routeByCode(code);
  return r ? routeShortName(r) : code;
};

const W = 640; // the charts' drawing width (the viewBox scales it to the page)
const BAR_MAX = 500;

function quarterText(period) {
  const m = /^(\d{4})-Q(\d)$/.exec(period || '');
  return m ? `${m[2]}. kvartal ${m[1]}` : period;
}

function pct(x) {
  return `${Math.round((x || 0) * 1000) / 10}`.replace('.', ',') + ' %';
}

function days(x) {
  if (x === null || x === undefined) return '—';
  const s = String(Math.round(x * 10) / 10).replace('.', ',');
  return `${s} ${x === 1 ? 'dag' : 'dage'}`;
}

/**
 * A horizontal bar chart: rows [{label, value (0..max), text}]. Each row is
 * a label line and a bar with its value beside it.
 */
function barChart({ title, description, rows, max, barClass }) {
  const titleId = newId('chart');
  const descId = newId('chartdesc');
  const rowH = 44;
  const height = Math.max(rows.length * rowH + 8, 40);
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    preserveAspectRatio: 'xMinYMin meet', class: 'chart__svg',
  },
  svg('title', { id: titleId }, title),
  svg('desc', { id: descId }, description),
  rows.map((r, i) => {
    const y = i * rowH + 4;
    const frac = max > 0 ? Math.max(0, Math.min(1, (r.value || 0) / max)) : 0;
    const width = Math.round(frac * BAR_MAX * 10) / 10;
    return svg('g', { class: 'chart__row' },
      svg('text', { x: 0, y: y + 13, class: 'chart__label' }, r.label),
      svg('rect', { x: 0, y: y + 19, width: BAR_MAX, height: 16, rx: 3, class: 'chart__track' }),
      svg('rect', { x: 0, y: y + 19, width, height: 16, rx: 3, class: ['chart__bar', barClass] }),
      svg('text', { x: Math.max(width, 0) + 8 > BAR_MAX ? BAR_MAX + 8 : width + 8, y: y + 32, class: 'chart__value' }, r.text));
  }));
  return h('figure', { class: 'chart' }, h('h3', {}, title), chart,
    h('figcaption', { class: 'muted' }, description));
}

export async function render(el, { query, navigate }) {
  el.append(h('h1', { class: 'page-title' }, 'Kvalitet'));
  if (!canSeeQuality()) {
    el.append(notice('info', 'Kvalitetstallene er for kvalitetsopfølgning og for ledere. Spørg din leder, hvis du har brug for dem.'));
    return undefined;
  }
  el.append(h('p', { class: 'lead' },
    'Hvor mange overdragelsesnotater bliver returneret, hvor længe går der, før de godkendes, og hvilke afsnit markerer modtagerne oftest? Tallene viser, hvor skabelonerne kan skærpes.'));

  const routes = await loadRoutes();
  const from = field('Fra', h('input', { type: 'date', name: 'from', value: query.get('fra') || '' }), { hint: 'Lader du feltet stå tomt, vises det seneste år (fire kvartaler).' });
  const to = field('Til', h('input', { type: 'date', name: 'to', value: query.get('til') || '' }), { hint: 'Lader du feltet stå tomt, vises tallene til og med i dag.' });
  const routeSel = h('select', { name: 'route' }, h('option', { value: '' }, 'Alle ruter'),
    routes.map((r) => h('option', { value: r.code, selected: query.get('rute') === r.code }, r.name)));
  const routeF = field('Rute', routeSel);
  const form = h('form', { class: 'filters form-row', 'aria-label': 'Vælg periode og rute' },
    from.wrap, to.wrap, routeF.wrap,
    h('div', { class: 'filters__submit' }, h('button', { type: 'submit', class: 'button' }, 'Vis')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (from.input.value) q.set('fra', from.input.value);
    if (to.input.value) q.set('til', to.input.value);
    if (routeSel.value) q.set('rute', routeSel.value);
    const s = q.toString();
    navigate(`#/kvalitet${s ? `?${s}` : ''}`);
  });
  const params = { from: query.get('fra'), to: query.get('til'), route: query.get('rute') };

  // The spreadsheets: the workbook (Excel) and the CSV Danish Excel opens as
  // columns; each fetched with its Accept type, then saved from a Blob link.
  const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  const xlsxButton = h('button', { type: 'button', class: 'button button-secondary', id: 'xlsx-download' }, 'Hent som regneark');
  const csvButton = h('button', { type: 'button', class: 'button button-tertiary', id: 'csv-download' }, 'Hent som CSV');
  const csvStatus = h('span', { class: 'muted', role: 'status' });
  const out = h('div', {}, h('p', {}, 'Henter tallene …'));
  el.append(form, h('div', { class: 'button-row' }, xlsxButton, csvButton, csvStatus), out);

  let blobUrl = null;
  async function download(accept, file, what) {
    csvStatus.textContent = `Henter ${what} …`;
    try {
      const { data } = await get('/reports/quality', { query: params, accept, blob: true });
      const blob = data instanceof Blob ? data : new Blob([data], { type: accept });
      if (blobUrl) URL.revokeObjectURL(blobUrl);
      blobUrl = URL.createObjectURL(blob);
      const link = h('a', { href: blobUrl, download: file, id: 'csv-link' }, `Gem ${what} (${file})`);
      replace(csvStatus, link);
      link.click();
      announce(`${what[0].toUpperCase()}${what.slice(1)} er hentet.`);
    } catch (e) {
      csvStatus.textContent = e instanceof ApiError ? e.userMessage : `${what[0].toUpperCase()}${what.slice(1)} kunne ikke hentes.`;
    }
  }
  xlsxButton.addEventListener('click', () => download(XLSX, 'stafet-kvalitet.xlsx', 'regnearket'));
  csvButton.addEventListener('click', () => download('text/csv', 'stafet-kvalitet.csv', 'CSV-filen'));

  const { data } = await get('/reports/quality', { query: params });
  const periods = data.periods || [];
  await Promise.all([...new Set(periods.map((p) => p.route))].map((r) => loadTemplate(r).catch(() => null)));
  clear(out);
  out.append(h('p', {}, `Notater sendt fra ${fmtDate(data.from)} til ${fmtDate(data.to)}${params.route ? ` på ruten ${routeName(params.route)}` : ''}.`));
  if (!periods.length) {
    out.append(notice('info', 'Der er ingen sendte notater i perioden.'));
    return () => { if (blobUrl) URL.revokeObjectURL(blobUrl); };
  }
  const label = (p) => `${quarterText(p.period)} · ${routeShort(p.route)}`;
  const maxDays = Math.max(1, ...periods.map((p) => p.median_working_days_to_accept || 0));

  // The sections most often flagged, over the whole range.
  const flagged = new Map();
  for (const p of periods) {
    for (const t of p.top_flagged_sections || []) {
      const key = `${p.route}\u0000${t.section}`;
      flagged.set(key, (flagged.get(key) || 0) + t.count);
    }
  }
  const multiRoute = new Set(periods.map((p) => p.route)).size > 1;
  const flagRows = [...flagged.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([key, count]) => {
    const [route, section] = key.split('\u0000');
    return { label: `${sectionLabel(route, section)}${multiRoute ? ` – ${routeShort(route)}` : ''}`, value: count, text: `${count} ${count === 1 ? 'markering' : 'markeringer'}` };
  });
  const maxFlags = Math.max(1, ...flagRows.map((r) => r.value));

  out.append(h('section', { 'aria-labelledby': 'charts-h' },
    h('h2', { id: 'charts-h' }, 'Diagrammer'),
    h('div', { class: 'charts' },
      barChart({
        title: 'Andel returneret',
        description: 'Andelen af de sendte notater, som modtageren har returneret mindst én gang, pr. kvartal og rute.',
        rows: periods.map((p) => ({ label: label(p), value: p.returned_share, text: `${pct(p.returned_share)} (${p.returned} af ${p.filed})` })),
        max: 1,
      }),
      barChart({
        title: 'Arbejdsdage til godkendelse',
        description: 'Medianen af arbejdsdage fra notatet blev sendt, til det blev godkendt.',
        rows: periods.map((p) => ({ label: label(p), value: p.median_working_days_to_accept || 0, text: days(p.median_working_days_to_accept) })),
        max: maxDays,
        barClass: 'chart__bar--alt',
      }),
      flagRows.length ? barChart({
        title: 'Oftest markerede afsnit',
        description: 'De afsnit, modtagerne oftest har markeret som manglende eller upræcise.',
        rows: flagRows,
        max: maxFlags,
        barClass: 'chart__bar--flag',
      }) : h('div', { class: 'chart' }, h('h3', {}, 'Oftest markerede afsnit'), h('p', {}, 'Ingen afsnit er markeret i perioden.')))));

  const cols = ['Kvartal', 'Rute', 'Sendt', 'Returneret', 'Andel returneret', 'Median arbejdsdage til godkendelse', 'Oftest markerede afsnit',
    'Fra varsel til godkendelse (median)', 'Varslet mindst 6 måneder før'];
  const num = (i) => (i >= 2 && i <= 5) || i >= 7;
  const td = (i, v) => h('td', { 'data-label': cols[i], class: num(i) ? 'num' : null }, v);
  // Issue 22's lead time: calendar days from the notice to the acceptance.
  const lead = (p) => (p.lead_time_days
    ? `${days(p.lead_time_days.median)} (${p.lead_time_days.notes} ${p.lead_time_days.notes === 1 ? 'notat' : 'notater'})`
    : '—');
  const table = h('table', { class: 'data data--cards', id: 'quality-table' },
    h('caption', {}, 'Tallene pr. kvartal og rute'),
    h('thead', {}, h('tr', {},
      cols.map((x, i) => h('th', { scope: 'col', class: num(i) ? 'num' : null }, x)))),
    h('tbody', {}, periods.map((p) => h('tr', {},
      h('th', { scope: 'row', 'data-label': cols[0] }, quarterText(p.period)),
      td(1, h('span', { class: 'route-name', title: routeName(p.route) }, routeShort(p.route))),
      td(2, String(p.filed)),
      td(3, String(p.returned)),
      td(4, pct(p.returned_share)),
      td(5, days(p.median_working_days_to_accept)),
      td(6, (p.top_flagged_sections || []).map((t) => `${sectionLabel(p.route, t.section)} (${t.count})`).join(', ') || '—'),
      td(7, lead(p)),
      td(8, p.share_noticed_6_months === null || p.share_noticed_6_months === undefined ? '—' : pct(p.share_noticed_6_months))))));
  out.append(h('section', { 'aria-labelledby': 'table-h' }, h('h2', { id: 'table-h' }, 'Tabel'), tableWrap('Kvalitetstal', table)));
  return () => { if (blobUrl) URL.revokeObjectURL(blobUrl); };
}
