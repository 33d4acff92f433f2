// pdf.spec.mjs: a note leaves Stafet as a PDF, and prints cleanly (issue 21).
// Søren Bøgh (sbo, BUR) files a BUR→UR note with every section filled;
// Mette Hansen (mha, UR) returns it with a flag, he answers the flag and
// sends it again, she accepts it. He saves it with »Gem som PDF«: the
// download is the daemon's PDF, named by the ref and version only, kept as
// build/screenshots/notat.pdf with its first page as notat-side-1.png
// (pdftoppm). Printed from the browser (print media), the note page shows
// the note without the header, the menu, the breadcrumb, the buttons and
// the focus ring (notat-udskrift.pdf).
//
//   node tests/browser/pdf.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { BASE, SHOTS, newUser, assert, step, login, launch, finish, iso, addDays, addMonths, pad } from './lib.mjs';

const browser = await launch();
const sbo = await newUser(browser, 'sbo', { width: 1280, height: 900 });
const mha = await newUser(browser, 'mha', { width: 1280, height: 900 });
const state = {};

/** A call of the API with the page's own session: {status, etag, body}. */
async function call(page, method, url, body, ifMatch) {
  return page.evaluate(async ([m, u, b, im]) => {
    const headers = {};
    if (b !== null) headers['Content-Type'] = 'application/json';
    if (im) headers['If-Match'] = im;
    const r = await fetch(`/api/v1${u}`, { method: m, headers, body: b === null ? undefined : JSON.stringify(b) });
    const text = await r.text();
    return { status: r.status, etag: r.headers.get('ETag'), body: text ? JSON.parse(text) : null };
  }, [method, url, body === undefined ? null : body, ifMatch || null]);
}

/** A BUR→UR note whose every check passes: a placed 17-year-old, the
 * handover three weeks ahead (as tests/integration/handover_helpers.py). */
function fullNote() {
  const today = new Date();
  const on = addDays(today, 21);
  const born = addDays(addMonths(on, -17 * 12), -40);
  const serial = String(Math.floor(Math.random() * 1000)).padStart(3, '0');
  const cpr = `${pad(born.getDate())}${pad(born.getMonth() + 1)}${String(born.getFullYear()).slice(2)}-4${serial}`;
  const areas = { uddannelse: 'Uddannelse', beskaeftigelse: 'Beskæftigelse', bolig: 'Bolig', oekonomi: 'Økonomi' };
  return {
    route: 'BUR-UR',
    citizen: { cpr, name: 'Pdfborger Æblerød Testesen' },
    planned_date: iso(on),
    sections: {
      situation: 'Den unge går i 10. klasse og starter efter sommerferien på en erhvervsuddannelse.',
      background: 'Sagen har været i BUR siden 2019 med forebyggende indsatser og en anbringelse.',
      assessment: 'Gode ressourcer, men brug for støtte til struktur i hverdagen og til økonomien.',
      youth_voice: 'Den unge vil selv på teknisk skole og har skrevet med på planen.',
      placed: true,
      goals: Object.entries(areas).map(([area, label]) => ({ area, goal: `Et klart mål for ${label.toLowerCase()}`, timeframe: 'inden for et år' })),
      own_room: 'Parat til eget værelse med bostøtte to gange om ugen det første halve år.',
      ungeplan: { date: iso(addMonths(born, 16 * 12 + 2)), text: 'Afgørelse om ungeplan er truffet og sendt til den unge.' },
      support_after_18: { date: iso(addMonths(born, 18 * 12 - 7)), text: 'Afgørelse om efterværn er truffet.' },
      education_plan: 'Uddannelsesplanen følges op af UU-vejlederen hver tredje måned.',
      consent: { basis: 'consent', date: iso(addDays(today, -10)), purpose: 'Overdragelse til Ungerådgivningen', recipients: 'Ungerådgivningen' },
      actions: [{ action: 'Overdragelsesmøde med UR og den unge', owner: 'BUR-rådgiveren', due: iso(addDays(on, 14)) }],
      contingency: 'Hvis den unge udebliver fra skolen, så kontakt forældrene samme dag.',
    },
  };
}

await step('save_as_pdf', async () => {
  const page = sbo.page;
  await page.goto(`${BASE}/`);
  await login(page, 'sbo');
  await mha.page.goto(`${BASE}/`);
  await login(mha.page, 'mha');
  const body = fullNote();
  const made = await call(page, 'POST', '/handovers', body);
  assert(made.status === 201, `the note: ${made.status} ${JSON.stringify(made.body).slice(0, 300)}`);
  const id = made.body.id;
  const steps = [
    [page, 'POST', `/handovers/${id}/submit`],
    [mha.page, 'GET', `/handovers/${id}`],
    [mha.page, 'POST', `/handovers/${id}/return`, { flags: [{ section: 'goals', kind: 'missing', comment: 'Målet for bolig mangler en dato.' }] }],
  ];
  let last;
  for (const [p, m, u, b] of steps) {
    last = await call(p, m, u, b);
    assert(last.status === 200, `${m} ${u}: ${last.status} ${JSON.stringify(last.body).slice(0, 300)}`);
  }
  const replied = await call(page, 'POST', `/handovers/${id}/flags/0/reply`, { text: 'Datoen er tilføjet: senest 1. august.' }, last.etag);
  assert(replied.status === 200, `the reply: ${replied.status} ${JSON.stringify(replied.body).slice(0, 300)}`);
  for (const [p, m, u, b] of [[page, 'POST', `/handovers/${id}/submit`], [mha.page, 'GET', `/handovers/${id}`],
    [mha.page, 'POST', `/handovers/${id}/accept`, { readback: 'Modtaget og læst; mødet er aftalt.' }]]) {
    last = await call(p, m, u, b);
    assert(last.status === 200, `${m} ${u}: ${last.status} ${JSON.stringify(last.body).slice(0, 300)}`);
  }
  const version = last.body.version;
  Object.assign(state, { id, ref: made.body.ref, citizen: body.citizen });
  await page.goto(`${BASE}/#/notater/${id}`);
  await page.getByRole('heading', { name: `Overdragelsesnotat ${made.body.ref}`, level: 1 }).waitFor();
  const link = page.getByRole('link', { name: 'Gem som PDF' });
  assert(await link.getAttribute('href') === `/api/v1/handovers/${id}/pdf`, `the link: ${await link.getAttribute('href')}`);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert(download.suggestedFilename() === `${made.body.ref}-v${version}.pdf`, `the file name: ${download.suggestedFilename()}`);
  const file = path.join(SHOTS, 'notat.pdf');
  await download.saveAs(file);
  const data = fs.readFileSync(file);
  assert(data.subarray(0, 5).toString() === '%PDF-', 'a PDF');
  const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  for (const want of [made.body.ref, body.citizen.cpr, body.citizen.name, 'Handleplanens mål', 'Datoen er tilføjet: senest 1. august.', 'Side 1 af']) {
    assert(text.includes(want), `the PDF says ${want}`);
  }
  execFileSync('pdftoppm', ['-png', '-r', '60', '-singlefile', '-f', '1', '-l', '1', file, path.join(SHOTS, 'notat-side-1')]);
  assert(fs.statSync(path.join(SHOTS, 'notat-side-1.png')).size > 1000, 'the first page as a picture');
});

await step('print_the_note_page', async () => {
  const page = sbo.page;
  await page.goto(`${BASE}/#/notater/${state.id}`);
  await page.getByRole('heading', { name: `Overdragelsesnotat ${state.ref}`, level: 1 }).waitFor();
  // a focused link, as after keyboard use: its ring must not print
  await page.getByRole('link', { name: 'Gem som PDF' }).focus();
  await page.emulateMedia({ media: 'print' });
  const shown = async (sel) => page.locator(sel).first().evaluate((e) => getComputedStyle(e).display !== 'none');
  for (const sel of ['.site-header', '.breadcrumb', '.note-export', '.site-footer', '.skip-link']) {
    assert(await page.locator(sel).count() > 0, `${sel} is on the page`);
    assert(!(await shown(sel)), `${sel} is hidden in print`);
  }
  assert(await shown('h1'), 'the heading prints');
  const buttons = await page.locator('main button').evaluateAll((bs) => bs.filter((b) => getComputedStyle(b).display !== 'none').length);
  assert(buttons === 0, `${buttons} buttons print`);
  // hidden in print, so out of the accessibility tree: found by its class
  const outline = await page.locator('.note-export a').evaluate((e) => getComputedStyle(e).outlineStyle);
  assert(outline === 'none', `the focus ring prints: ${outline}`);
  await page.pdf({ path: path.join(SHOTS, 'notat-udskrift.pdf'), format: 'A4', printBackground: false });
  await page.emulateMedia({ media: 'screen' });
}, ['save_as_pdf']);

await finish(browser, [sbo, mha]);
