// notices.spec.mjs: notices (varsler, issue 22), the sender's and the
// receiver's stories. Søren Bøgh (sbo, BUR) files a notice on the route
// BUR→UR for a 15-year-old through the form and sees the route's milestones
// with their legal ground (§ 108); a second notice for the same citizen and
// route is refused with a link to the first; Mette Hansen (mha, UR) sees the
// month's bar in the pipeline of coming handovers and acknowledges the
// notice from the list, naming herself; Søren sees it acknowledged, turns
// it into a draft note with »Opret notat« (the citizen carried over) and
// imports notices from a CSV file (two good lines, one rejected with its
// reason). Every page shows names, not codes, and dates as dd-mm-åååå.
//
//   node tests/browser/notices.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]

import { AxeBuilder } from '@axe-core/playwright';
import {
  BASE, iso, pad, addMonths, shared, newUser, shot, assert, step, login, nav, expectText, launch, finish,
  allowConsoleError, TIMEOUT,
} from './lib.mjs';

// The duplicate notice's 409 is the story's own.
allowConsoleError((status, url) => status === 409 && /\/api\/v1\/notices$/.test(url));

// -- the citizens: unique CPR numbers; the first is 15 now ----------------------------------------

const today = new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate());
const born = addMonths(new Date(today.getFullYear() - 15, today.getMonth(), 12), -3);
const rnd = () => String(100 + Math.floor(Math.random() * 900));
const cprOf = (d) => `${pad(d.getDate())}${pad(d.getMonth() + 1)}${String(d.getFullYear()).slice(2)}-4${rnd()}`;
const CPR = cprOf(born);
const NAME = 'Vilma Varselsen';
const EXPECTED = addMonths(today, 9);
const EXPECTED_MONTH = `${EXPECTED.getFullYear()}-${pad(EXPECTED.getMonth() + 1)}`;
const dk = (d) => `${pad(d.getDate())}-${pad(d.getMonth() + 1)}-${d.getFullYear()}`;
const ROUTE_CODES = ['AEHF-BSF', 'BSF-AEHF', 'BUR-UR', 'BURH-AEHF', 'BURH-BSF', 'GENERISK'];
const FORBIDDEN = ['null', 'undefined', 'NaN', 'open', 'acknowledged', 'converted', 'cancelled', 'Error', 'Loading', 'Submit', 'Cancel'];

/** The visible text of the main content: no leaked values, English status words, route codes or ISO dates. */
async function checkWords(page, where, { routeCodes = true } = {}) {
  const text = await page.locator('main').innerText();
  const bad = FORBIDDEN.filter((w) => new RegExp(`(^|[^\\p{L}\\p{N}_-])${w}($|[^\\p{L}\\p{N}_-])`, 'u').test(text));
  assert(!bad.length, `${where}: the page shows ${bad.map((w) => `»${w}«`).join(', ')}:\n${text.slice(0, 1500)}`);
  if (routeCodes) {
    const codes = ROUTE_CODES.filter((c) => new RegExp(`(^|[^A-ZÆØÅ-])${c}($|[^A-ZÆØÅ-])`).test(text));
    assert(!codes.length, `${where}: a route code where its name belongs: ${codes.join(', ')}`);
  }
  const isoDates = text.match(/\b\d{4}-\d\d-\d\d\b/g);
  assert(!isoDates, `${where}: dates shown as ÅÅÅÅ-MM-DD (${(isoDates || []).join(', ')})`);
  return text;
}

/** Fails the step clearly when the daemon has no notices API (rather than a timeout somewhere). */
async function needApi(page) {
  const status = await page.evaluate(async () => (await fetch('/api/v1/notices?box=outgoing&limit=1', { headers: { Accept: 'application/json' } })).status);
  assert(status === 200, `the notices API is missing: GET /api/v1/notices answered ${status}`);
}

async function fillNotice(page, cpr, name, expected, comment) {
  await page.goto(`${BASE}/#/varsler/ny`);
  await page.getByRole('heading', { name: 'Nyt varsel', level: 1 }).waitFor();
  await page.getByLabel('Rute').selectOption({ value: 'BUR-UR' });
  await page.getByLabel('CPR-nummer').fill(cpr);
  await page.getByLabel('Borgerens navn').fill(name);
  await page.getByLabel('Forventet overdragelse').fill(iso(expected));
  if (comment) await page.getByLabel('Kommentar (valgfri)').fill(comment);
  await page.getByRole('button', { name: 'Opret varsel' }).click();
}

// -- the story ------------------------------------------------------------------------------------

const browser = await launch();
const sbo = await newUser(browser, 'sbo', { width: 1366, height: 900 });
const mha = await newUser(browser, 'mha', { width: 1366, height: 900 });

await step('sender_files_notice', async () => {
  await sbo.page.goto(`${BASE}/`);
  await login(sbo.page, 'sbo');
  await needApi(sbo.page);
  // Varsler is on the menu of a sending unit's caseworker, and leads to the sent notices.
  await nav(sbo.page, 'Varsler').click();
  await sbo.page.getByRole('heading', { name: 'Varsler', level: 1 }).waitFor();
  await sbo.page.getByRole('link', { name: 'Nyt varsel' }).click();
  await sbo.page.getByRole('heading', { name: 'Nyt varsel', level: 1 }).waitFor();
  await checkWords(sbo.page, 'the notice form');
  await shot(sbo.page, 'v01-nyt-varsel');
  // A bad CPR number is told beside its field before anything is sent.
  await sbo.page.getByLabel('CPR-nummer').fill('12345');
  await sbo.page.getByRole('button', { name: 'Opret varsel' }).click();
  await expectText(sbo.page.locator('.field__error:not([hidden])'), 'CPR-nummer', 'the CPR number\'s error');

  await fillNotice(sbo.page, CPR, NAME, EXPECTED, 'Den unge går i 9. klasse og skal have en ungeplan.');
  const h1 = sbo.page.locator('main h1');
  await expectText(h1, 'Varsel VAR-', 'the new notice\'s page');
  shared.noticeRef = (await h1.innerText()).replace('Varsel ', '').trim();
  shared.noticeId = /#\/varsler\/([0-9a-f-]{36})/.exec(sbo.page.url())[1];
  const header = sbo.page.locator('#notice-header');
  await expectText(header, NAME, 'the citizen');
  await expectText(header, CPR, 'the CPR number, whole on the notice\'s own page');
  await expectText(header, 'Afventer kvittering', 'the status in Danish');
  await expectText(header, 'Ungerådgivningen', 'the receiving unit by name');
  await expectText(header, dk(EXPECTED), 'the expected date as dd-mm-åååå');
  // The route's milestones with their legal ground and due dates.
  const ms = sbo.page.locator('#milestones-table');
  await expectText(ms, '§ 108', 'the ungeplan milestone\'s legal ground');
  const ungeplan = sbo.page.locator('#milestones-table tr[data-milestone="ungeplan_16"]');
  await expectText(ungeplan, 'ungeplan', 'the ungeplan milestone\'s label');
  const due = await ungeplan.locator('time').getAttribute('datetime');
  const sixteen = new Date(born.getFullYear() + 16, born.getMonth() + 3, born.getDate());
  assert(due <= iso(sixteen) && due >= iso(new Date(sixteen.getFullYear(), sixteen.getMonth(), sixteen.getDate() - 5)),
    `the ungeplan is due 3 months after the 16th birthday (${iso(sixteen)}, or the working day before): ${due}`);
  await checkWords(sbo.page, 'the notice');
  await shot(sbo.page, 'v02-varsel');
  // The sender's list shows it by name, with its status and receiver.
  await nav(sbo.page, 'Varsler').click();
  const row = sbo.page.locator('#notices-outgoing tr', { has: sbo.page.locator(`a[href="#/varsler/${shared.noticeId}"]`) });
  await row.waitFor();
  const text = await row.innerText();
  for (const want of [shared.noticeRef, NAME, 'Afventer kvittering', 'Ungerådgivningen', dk(EXPECTED)]) {
    assert(text.includes(want), `the list row shows »${want}«: ${text}`);
  }
  assert(!text.includes(CPR), 'the list masks the CPR number');
  await checkWords(sbo.page, 'the sent notices');
  await shot(sbo.page, 'v03-sendte-varsler');
});

await step('duplicate_notice_conflict', async () => {
  await fillNotice(sbo.page, CPR, NAME, addMonths(EXPECTED, 1), null);
  const box = sbo.page.locator('#notice-form-status .alert-error');
  await expectText(box, 'Borgeren er allerede varslet', 'the conflict, in Danish');
  await expectText(box, shared.noticeRef, 'the existing notice\'s reference');
  const href = await sbo.page.locator('#conflict-link').getAttribute('href');
  assert(href === `#/varsler/${shared.noticeId}`, `the conflict links to the existing notice: ${href}`);
  assert(/#\/varsler\/ny$/.test(sbo.page.url()), 'the form stays, with what was typed');
  assert(await sbo.page.getByLabel('CPR-nummer').inputValue() === CPR, 'the CPR number is kept');
  await shot(sbo.page, 'v04-varsel-findes');
  await sbo.page.locator('#conflict-link').click();
  await expectText(sbo.page.locator('main h1'), shared.noticeRef, 'the link opens the existing notice');
}, ['sender_files_notice']);

await step('lead_above_reads_masked', async () => {
  // Thomas Lønborg leads BUF, above BUR: he may read the notice, masked, and not act on it.
  const tlo = await newUser(browser, 'tlo', { width: 1366, height: 900 });
  try {
    await tlo.page.goto(`${BASE}/`);
    await login(tlo.page, 'tlo');
    assert(await nav(tlo.page, 'Varsler').count() === 0, 'Varsler is not on the menu of a lead above the units');
    await tlo.page.goto(`${BASE}/#/varsler/${shared.noticeId}`);
    const header = tlo.page.locator('#notice-header');
    await expectText(tlo.page.locator('main h1'), shared.noticeRef, 'the notice opens');
    await expectText(header, 'XXXX', 'the CPR number masked');
    const text = await header.innerText();
    assert(!text.includes(CPR) && !text.includes(NAME), `neither the whole CPR number nor the name: ${text}`);
    await expectText(tlo.page.locator('.notice-actions'), 'kun den afsendende og den modtagende enhed', 'why he may not act');
    assert(await tlo.page.locator('.notice-actions button').count() === 0, 'no actions for a reader');
    await checkWords(tlo.page, 'the notice read by a lead above');
    await shot(tlo.page, 'v13-varsel-leder');
  } finally {
    await tlo.context.close();
  }
}, ['sender_files_notice']);

await step('receiver_pipeline_and_acknowledge', async () => {
  await mha.page.goto(`${BASE}/`);
  await login(mha.page, 'mha');
  await needApi(mha.page);
  // The notice waits for her on Mine opgaver, and opens from there.
  await mha.page.reload();
  const task = mha.page.locator('#task-list li', { has: mha.page.locator(`a[href="#/varsler/${shared.noticeId}"]`) });
  await task.waitFor();
  await expectText(task, 'Varsel skal kvitteres', 'the task\'s kind, in Danish');
  await expectText(task, shared.noticeRef, 'the task\'s reference');
  await expectText(task, `Forventet overdragelse ${dk(EXPECTED)}`, 'the expected date, not a deadline');
  await task.locator(`a[href="#/varsler/${shared.noticeId}"]`).click();
  await expectText(mha.page.locator('main h1'), shared.noticeRef, 'the task opens the notice');
  await expectText(mha.page.locator('#notice-header'), CPR, 'the CPR number, whole for the receiving unit on the notice\'s page');
  await expectText(mha.page.locator('.notice-actions'), 'Kvittér for varslet', 'the receiver may acknowledge it');
  await nav(mha.page, 'Varsler').click();
  await mha.page.getByRole('heading', { name: 'Kommende overdragelser', level: 1 }).waitFor();
  // The month's bar, with its figure as text, and the same figures in the table.
  const bar = mha.page.locator(`#pipeline-chart g[data-month="${EXPECTED_MONTH}"]`);
  await bar.waitFor();
  const barText = await bar.innerText().catch(() => '') || await bar.textContent();
  assert(/\d+ varslet/.test(barText), `the month's bar carries its count: »${barText}«`);
  assert(await bar.locator('rect.pipeline__bar').count() === 1, 'the month has a bar');
  assert(await mha.page.locator('#pipeline-chart').getAttribute('role') === 'img', 'the chart is an image with a title and a description');
  const monthNames = ['januar', 'februar', 'marts', 'april', 'maj', 'juni', 'juli', 'august', 'september', 'oktober', 'november', 'december'];
  const monthRow = mha.page.locator('#pipeline-table tr', { hasText: `${monthNames[EXPECTED.getMonth()]} ${EXPECTED.getFullYear()}` });
  const cells = await monthRow.locator('td').allInnerTexts();
  assert(Number(cells[0]) >= 1, `the table counts the month's notice: ${cells}`);
  // The notice in the list below, acknowledged from the list, naming herself.
  const row = mha.page.locator('#notices-incoming tr', { has: mha.page.locator(`a[href="#/varsler/${shared.noticeId}"]`) });
  await row.waitFor();
  await expectText(row, 'Søren Bøgh', 'the sender by name');
  await expectText(row, 'Afventer kvittering', 'the status');
  assert(!(await row.innerText()).includes(CPR), 'the list masks the CPR number');
  await checkWords(mha.page, 'the pipeline');
  await shot(mha.page, 'v05-kommende-overdragelser');
  await row.getByRole('button', { name: /Kvittér/ }).click();
  const form = mha.page.locator(`#ack-row-${shared.noticeId} form`);
  await form.waitFor();
  const select = form.getByLabel('Modtager (valgfrit)');
  await mha.page.waitForFunction((id) => {
    const s = document.querySelector(`#ack-row-${id} select`);
    return s && [...s.options].some((o) => o.textContent.includes('(mig)'));
  }, shared.noticeId, { timeout: TIMEOUT });
  const mine = await select.locator('option', { hasText: '(mig)' }).getAttribute('value');
  await select.selectOption(mine);
  await shot(mha.page, 'v06-kvitter');
  await form.getByRole('button', { name: 'Kvittér for varslet' }).click();
  await expectText(mha.page.locator('.alert-success'), 'Mette Hansen er modtager', 'the acknowledgement, naming her');
  const after = mha.page.locator('#notices-incoming tr', { has: mha.page.locator(`a[href="#/varsler/${shared.noticeId}"]`) });
  await expectText(after, 'Kvitteret', 'the row\'s new status');
  assert(await after.getByRole('button', { name: /Kvittér/ }).count() === 0, 'an acknowledged notice has no Kvittér button');
  await shot(mha.page, 'v07-kvitteret');
}, ['sender_files_notice']);

await step('sender_sees_acknowledged', async () => {
  await sbo.page.goto(`${BASE}/#/varsler`);
  const row = sbo.page.locator('#notices-outgoing tr', { has: sbo.page.locator(`a[href="#/varsler/${shared.noticeId}"]`) });
  await expectText(row, 'Kvitteret', 'the acknowledged status in the sender\'s list');
  await expectText(row, 'Mette Hansen', 'the named receiver');
  await row.locator(`a[href="#/varsler/${shared.noticeId}"]`).click();
  const header = sbo.page.locator('#notice-header');
  await expectText(header, 'Kvitteret', 'the status on the notice');
  await expectText(header, 'af Mette Hansen', 'who acknowledged it');
  await expectText(sbo.page.locator('#notice-events'), 'Kvitteret', 'the acknowledgement among the events');
  await checkWords(sbo.page, 'the acknowledged notice');
  await shot(sbo.page, 'v08-varsel-kvitteret');
}, ['receiver_pipeline_and_acknowledge']);

await step('notice_to_note', async () => {
  await sbo.page.goto(`${BASE}/#/varsler/${shared.noticeId}`);
  await sbo.page.getByRole('button', { name: 'Opret notat' }).click();
  await sbo.page.waitForURL(/#\/notater\/[0-9a-f-]{36}$/, { timeout: TIMEOUT });
  const noteId = /#\/notater\/([0-9a-f-]{36})/.exec(sbo.page.url())[1];
  await expectText(sbo.page.locator('main'), 'Kladden er oprettet ud fra varslet', 'the draft tells where it came from');
  await sbo.page.getByLabel('CPR-nummer').waitFor();
  assert(await sbo.page.getByLabel('CPR-nummer').inputValue() === CPR, 'the CPR number is carried over');
  assert(await sbo.page.getByLabel('Borgerens navn').inputValue() === NAME, 'the name is carried over');
  // The note's history names the notice it came from.
  await sbo.page.getByRole('button', { name: 'Vis historik' }).click();
  const from = sbo.page.locator('#history-body a.history-notice');
  await expectText(from, shared.noticeRef, 'the history names the notice');
  assert(await from.getAttribute('href') === `#/varsler/${shared.noticeId}`, 'and links to it');
  await shot(sbo.page, 'v09-notat-fra-varsel');
  // The notice now points to the note and may no longer be acted on.
  await sbo.page.goto(`${BASE}/#/varsler/${shared.noticeId}`);
  const header = sbo.page.locator('#notice-header');
  await expectText(header, 'Notat oprettet', 'the converted status');
  assert(await sbo.page.locator('#notice-note-link').getAttribute('href') === `#/notater/${noteId}`, 'the notice links to its note');
  assert(await sbo.page.getByRole('button', { name: 'Opret notat' }).count() === 0, 'no second note from the same notice');
  await checkWords(sbo.page, 'the converted notice');
}, ['sender_sees_acknowledged']);

await step('import_csv', async () => {
  await sbo.page.goto(`${BASE}/`);
  await sbo.page.locator('#logout').waitFor();
  await needApi(sbo.page);
  await sbo.page.goto(`${BASE}/#/varsler/import`);
  await sbo.page.getByRole('heading', { name: 'Importér varsler fra en fil', level: 1 }).waitFor();
  const b1 = addMonths(born, -4);
  const b2 = addMonths(born, -7);
  const good1 = cprOf(b1);
  const good2 = cprOf(b2);
  const csv = [
    'cpr;name;route;expected_date;comment',
    `${good1};Ida Importsen;BUR-UR;${iso(addMonths(today, 6))};"Fra fagsystemet; med semikolon og ""citat"""`,
    `${good2};Oskar Importsen;BUR-UR;${iso(addMonths(today, 14))};`,
    `12345;Forkert Nummer;BUR-UR;${iso(addMonths(today, 8))};CPR-nummeret er for kort`,
  ].join('\n');
  await sbo.page.getByLabel('CSV-fil').setInputFiles({ name: 'varsler.csv', mimeType: 'text/csv', buffer: Buffer.from(`${csv}\n`, 'utf8') });
  await sbo.page.getByRole('button', { name: 'Importér' }).click();
  await expectText(sbo.page.locator('#import-summary'), '2 varsler er oprettet', 'two notices created');
  await expectText(sbo.page.locator('#import-summary'), '1 linje er afvist', 'one line rejected');
  const created = await sbo.page.locator('#import-created li').allInnerTexts();
  assert(created.length === 2 && created[0].startsWith('Linje 2: VAR-') && created[1].startsWith('Linje 3: VAR-'), `the created notices by line: ${created}`);
  const skipped = sbo.page.locator('#import-skipped tbody tr');
  assert(await skipped.count() === 1, 'one rejected line');
  const cells = await skipped.first().locator('td').allInnerTexts();
  assert(cells[0] === '4', `the rejected line's number: ${cells}`);
  assert(/CPR/i.test(cells[1]) && cells[1].length > 10, `the rejected line's reason, in Danish: »${cells[1]}«`);
  await checkWords(sbo.page, 'the import', { routeCodes: false });
  await shot(sbo.page, 'v10-import');
  // The same file again changes nothing: the two citizens are already notified.
  await sbo.page.getByLabel('CSV-fil').setInputFiles({ name: 'varsler.csv', mimeType: 'text/csv', buffer: Buffer.from(`${csv}\n`, 'utf8') });
  await sbo.page.getByRole('button', { name: 'Importér' }).click();
  await expectText(sbo.page.locator('#import-summary'), '0 varsler er oprettet, 2 linjer var allerede varslet og er uændrede, 1 linje er afvist', 'a re-import changes nothing');
  assert(await sbo.page.locator('#import-unchanged li').count() === 2, 'the unchanged lines link their notices');
  assert(await sbo.page.locator('#import-created').count() === 0, 'nothing is listed as created');
  await shot(sbo.page, 'v10b-import-igen');
  await sbo.page.locator('#import-unchanged a').first().click();
  // A notice opens from the result.
  await expectText(sbo.page.locator('#notice-header'), 'Ida Importsen', 'the imported notice');
  shared.importedId = /#\/varsler\/([0-9a-f-]{36})/.exec(sbo.page.url())[1];
}, []);

await step('sender_edits_and_cancels', async () => {
  await sbo.page.goto(`${BASE}/#/varsler/${shared.importedId}`);
  const header = sbo.page.locator('#notice-header');
  await expectText(header, 'Ida Importsen', 'the imported notice');
  // Rediger: a new expected date and comment (PATCH with If-Match).
  const later = addMonths(today, 7);
  await sbo.page.getByRole('button', { name: 'Rediger' }).click();
  const edit = sbo.page.locator('#notice-edit');
  await edit.getByLabel('Forventet overdragelse').fill(iso(later));
  await edit.getByLabel('Kommentar').fill('Datoen er rykket en måned.');
  await edit.getByRole('button', { name: 'Gem ændringerne' }).click();
  await expectText(sbo.page.locator('.alert-success'), 'Varslet er rettet', 'the edit is saved');
  await expectText(header, dk(later), 'the new expected date');
  await expectText(header, 'Datoen er rykket en måned.', 'the new comment');
  // A legal milestone marked done.
  await sbo.page.locator('#ms-maal_15').check();
  await sbo.page.getByRole('button', { name: 'Gem milepæle' }).click();
  await expectText(sbo.page.locator('.alert-success'), 'Milepælene er gemt', 'the milestones are saved');
  await expectText(sbo.page.locator('#milestones-table tr[data-milestone="maal_15"]'), 'Udført', 'the milestone is done');
  assert(await sbo.page.locator('#ms-maal_15').isChecked(), 'its box stays checked');
  await shot(sbo.page, 'v11-varsel-rettet');
  // Annullér needs a reason; then the notice is cancelled and may not be acted on.
  await sbo.page.getByRole('button', { name: 'Annullér', exact: true }).click();
  const cancel = sbo.page.locator('#notice-cancel');
  await cancel.getByRole('button', { name: 'Annullér varslet' }).click();
  await expectText(cancel.locator('.field__error:not([hidden])'), 'hvorfor', 'the reason is asked for');
  await cancel.getByLabel('Begrundelse').fill('Borgeren er flyttet til en anden kommune.');
  await cancel.getByRole('button', { name: 'Annullér varslet' }).click();
  await expectText(header, 'Annulleret', 'the cancelled status');
  await expectText(header, 'Borgeren er flyttet til en anden kommune.', 'the reason');
  assert(await sbo.page.getByRole('button', { name: 'Opret notat' }).count() === 0, 'a cancelled notice has no actions');
  await checkWords(sbo.page, 'the cancelled notice');
  await shot(sbo.page, 'v12-varsel-annulleret');
}, ['import_csv']);

/** axe's WCAG 2.1 A/AA rules and no sideways scrolling on a phone, at 1366 and 390 px. */
async function audit(page, name) {
  const found = [];
  for (const vp of [{ width: 1366, height: 900 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(250);
    const res = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    for (const v of res.violations) found.push(`${name} @${vp.width}: ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (vp.width < 400 && wide > vp.width + 1) found.push(`${name} @${vp.width}: the page is ${wide} px wide`);
    if (vp.width < 400) await shot(page, `v-390-${name}`);
  }
  await page.setViewportSize({ width: 1366, height: 900 });
  return found;
}

await step('notice_pages_accessible', async () => {
  const found = [];
  for (const [hash, name, ready] of [
    ['#/varsler', 'sendte-varsler', '#notices-outgoing'],
    ['#/varsler/ny', 'nyt-varsel', 'form.notice-form'],
    ['#/varsler/import', 'import', 'form.import-form'],
    [`#/varsler/${shared.noticeId}`, 'varsel', '#milestones-table'],
  ]) {
    await sbo.page.goto(`${BASE}/${hash}`);
    await sbo.page.locator(ready).first().waitFor();
    found.push(...await audit(sbo.page, name));
  }
  await mha.page.goto(`${BASE}/#/varsler/kommende`);
  await mha.page.locator('#pipeline-chart').waitFor();
  found.push(...await audit(mha.page, 'kommende-overdragelser'));
  assert(!found.length, `accessibility problems:\n${found.join('\n')}`);
}, ['notice_to_note']);

await finish(browser, [sbo, mha]);
