// ui.spec.mjs: Stafet's web UI in a real browser (Debian's Chromium,
// headless, driven by playwright-core) against a running stafetd with real
// slapd, PostgreSQL and SMTP (test_ui.py starts them).
//
//   node tests/browser/ui.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]
//
// One story, step by step, as the caseworkers live it: Søren Bøgh (sbo,
// BUR) logs in, finds a colleague, resolves the counterpart for a young
// person moving to UR, files the BUR→UR note and submits it once the live
// checks pass; Mette Hansen (mha, UR) sees it in her inbox, opens it from
// the link in her mail, and returns it with a flag; Søren fixes and
// resubmits it; Mette accepts it; Kirsten Mølgaard (kmo, lead and quality)
// sees it on the quality page. Login and the counterpart form are driven by
// the keyboard alone. Every page is watched for console errors and CSP
// violations. Each step's outcome goes to RESULTS_JSON; the exit code is
// the number of failed steps (capped at 100).

import fs from 'node:fs';
import {
  BASE, PASSWORD, MAILDIR, TIMEOUT, iso, pad, addDays, addMonths, problems, shared, newUser, cspViolations, shot,
  assert, step, login, nav, expectText, tabTo, focusVisible, mailLink, launch, finish,
} from './lib.mjs';

// -- the citizen -------------------------------------------------------------------------------

const today = new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate());
const planned = addDays(today, 21);
// 17 years old at the planned date, born on the 14th (UR splits by day of
// birth: 11–20 is Mette Hansen's).
const born = addMonths(new Date(planned.getFullYear() - 17, planned.getMonth(), 14), -2);
const CPR = `${pad(born.getDate())}${pad(born.getMonth() + 1)}${String(born.getFullYear()).slice(2)}-4${String(100 + Math.floor(Math.random() * 900))}`;
const CITIZEN = 'Testborger Browsersen';
const UNGEPLAN = iso(addMonths(new Date(born.getFullYear() + 16, born.getMonth(), born.getDate()), 2));

// -- the story ------------------------------------------------------------------------------------

const browser = await launch();
const sbo = await newUser(browser, 'sbo');
let mha = null;
let kmo = null;

await step('login_keyboard', async () => {
  const { page } = sbo;
  await page.goto(`${BASE}/`);
  await page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  await shot(page, '01-log-ind');
  // The skip link comes first in the tab order.
  await page.evaluate(() => {
    // Focus at the very top of the document, as after a fresh page load.
    document.body.setAttribute('tabindex', '-1');
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement.className);
  assert(first.includes('skip-link'), `the first tab stop should be the skip link, got »${first}«`);
  assert(await focusVisible(page), 'the skip link should show a visible focus ring');
  await shot(page, '01b-spring-til-indholdet');
  await page.keyboard.press('Enter');
  assert(await page.evaluate(() => document.activeElement.id) === 'main', 'the skip link moves the focus to the main content');
  // The username field has the focus after load; a wrong password and an
  // unknown user get the same words.
  await page.getByLabel('Brugernavn').focus();
  await page.keyboard.type('sbo');
  await page.keyboard.press('Tab');
  await page.keyboard.type('forkert');
  await page.keyboard.press('Enter');
  const err = page.locator('#login-status .notice--error');
  await err.waitFor();
  const wrongPassword = await err.innerText();
  await page.getByLabel('Brugernavn').fill('');
  await page.getByLabel('Brugernavn').focus();
  await page.keyboard.type('ingen-saadan-bruger');
  await page.keyboard.press('Tab');
  await page.keyboard.type('forkert');
  await page.keyboard.press('Enter');
  await page.waitForFunction((prev) => {
    const n = document.querySelector('#login-status .notice--error');
    return n && document.querySelector('.login button[type=submit]')?.textContent === 'Log ind' && n.isConnected;
  }, wrongPassword);
  await page.waitForTimeout(100);
  const unknownUser = await page.locator('#login-status .notice--error').innerText();
  assert(wrongPassword === unknownUser, `failure messages differ: »${wrongPassword}« vs »${unknownUser}«`);
  assert(/forkert/i.test(wrongPassword), `unclear failure message: ${wrongPassword}`);
  await shot(page, '02-log-ind-fejl');
  // Keyboard only: username, Tab, password, Enter.
  await page.getByLabel('Brugernavn').fill('');
  await page.getByLabel('Brugernavn').focus();
  await page.keyboard.type('sbo');
  await page.keyboard.press('Tab');
  assert(await focusVisible(page), 'the password field should show a visible focus ring');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.locator('#logout').waitFor();
  await expectText(page.locator('#user-box'), 'Søren Bøgh', 'user box');
  await page.getByRole('heading', { name: 'Mine opgaver', level: 1 }).waitFor();
});

await step('search_folded', async () => {
  const { page } = sbo;
  await nav(page, 'Søg kollega').click();
  await page.getByRole('heading', { name: 'Søg kollega', level: 1 }).waitFor();
  await page.getByLabel('Søg efter navn, titel, enhed eller e-mail').fill('soren');
  const card = page.locator('#search-results .person-card', { hasText: 'Søren Bøgh' });
  await card.waitFor();
  await expectText(card, 'Børn- og Ungerådgivningen', 'Søren Bøgh\'s unit');
  await expectText(card, 'sbo@stafet.example', 'Søren Bøgh\'s email');
  await expectText(page.locator('#search-status'), 'fundet', 'result count');
  await shot(page, '03-sog-kollega');
  // Someone away now, with a deputy: the card says so.
  const away = await page.evaluate(async () => {
    const r = await fetch('/api/v1/people?limit=500');
    const today = new Date().toISOString().slice(0, 10);
    return (await r.json()).items.find((p) => p.absent && p.deputy && p.absent.from <= today) || null;
  });
  if (away) {
    await page.getByLabel('Søg efter navn, titel, enhed eller e-mail').fill(away.display_name);
    const awayCard = page.locator('#search-results .person-card', { hasText: away.display_name }).first();
    await expectText(awayCard, 'Fraværende', 'absence');
    await expectText(awayCard, `Stedfortræder: ${away.deputy.display_name}`, 'deputy');
    await shot(page, '03b-sog-fravaer');
    await page.getByLabel('Søg efter navn, titel, enhed eller e-mail').fill('soren');
    await card.waitFor();
  }
  await card.getByRole('link', { name: 'Søren Bøgh' }).click();
  await page.getByRole('heading', { name: 'Søren Bøgh', level: 1 }).waitFor();
  await expectText(page.locator('main dl'), 'Socialrådgiver', 'person card');
  await shot(page, '04-kollega');
  // The unit tree.
  await nav(page, 'Søg kollega').click();
  await page.locator('.unit-tree').getByRole('link', { name: 'Ungerådgivningen', exact: true }).click();
  await page.getByRole('heading', { name: 'Ungerådgivningen (UR)', level: 1 }).waitFor();
  await expectText(page.locator('main'), 'Mette Hansen', 'UR members');
  await shot(page, '05-enhed');
});

await step('counterpart_keyboard', async () => {
  const { page } = sbo;
  await nav(page, 'Find modtager').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Find modtager', level: 1 }).waitFor();
  await page.locator('select[name=route]').waitFor();
  assert(await page.locator('select[name=route]').inputValue() === 'BUR-UR', 'BUR-UR should be preselected for a BUR caseworker');
  // Keyboard only from the heading: to the CPR field, type, Enter.
  const f = await tabTo(page, (i) => i.name === 'cpr', 10, 'the CPR field');
  assert(f.name === 'cpr', 'CPR field');
  assert(await focusVisible(page), 'the CPR field should show a visible focus ring');
  await page.keyboard.type(CPR);
  await page.keyboard.press('Enter');
  const heading = page.locator('#cp-result-heading');
  await heading.waitFor();
  await expectText(heading, 'Ungerådgivningen (UR)', 'receiving unit');
  assert(await page.evaluate(() => document.activeElement.id) === 'cp-result-heading', 'focus should move to the answer');
  // One answer, first and large, with what settled it and why: on days
  // 11–20 Mette Hansen and Susanne Lønborg are equal (placement not given),
  // so the tie-break names one of them; the other waits folded below.
  const answer = page.locator('.answer');
  await expectText(answer, 'Tager sagen', 'the one answer');
  await expectText(answer, 'fødselsdag 11.', 'the why in words');
  const who = await page.locator('#cp-answer-heading').innerText();
  assert(/Mette Hansen|Susanne Lønborg/.test(who), `the answer should be one of the two equal colleagues, not »${who}«`);
  assert(await page.locator('.plausibility').count() === 0, 'a 17-year-old fits BUR-UR: no age warning');
  await shot(page, '06-find-modtager');
  if (!who.includes('Mette Hansen')) {
    // Mette Hansen is among the others, folded: open them by keyboard.
    await tabTo(page, (i) => i.tag === 'SUMMARY' && i.text.startsWith('Andre i Ungerådgivningen'), 60, 'the others');
    await page.keyboard.press('Enter');
  }
  await tabTo(page, (i) => i.tag === 'BUTTON' && i.text === 'Start notat med Mette Hansen som modtager', 60, 'the start-note button');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Nyt overdragelsesnotat', level: 1 }).waitFor();
  await page.locator('#sec-situation').waitFor();
  assert(await page.locator('input[name=cpr]').inputValue() === CPR, 'the CPR number is carried over');
  assert(await page.locator('input[name=birthdate]').inputValue() === iso(born), 'the birth date is carried over');
  await page.waitForFunction(() => {
    const s = document.querySelector('select[name=receiver-person]');
    return s && s.selectedOptions[0] && s.selectedOptions[0].textContent.startsWith('Mette Hansen');
  });
}, ['login_keyboard']);

await step('note_checks_and_submit', async () => {
  const { page } = sbo;
  await page.locator('input[name=citizen-name]').fill(CITIZEN);
  // Submitting early saves the draft and lists what blocks it.
  await page.locator('#submit-note').click();
  const blocked = page.locator('#form-messages .notice--error');
  await blocked.waitFor();
  await expectText(blocked, 'Notatet kan ikke sendes endnu', 'blocked submit');
  await expectText(blocked, 'Situation', 'a blocking section');
  shared.noteId = /#\/notater\/([0-9a-f-]{36})/.exec(page.url())[1];
  await shot(page, '07-notat-fejl');

  await page.locator('input[name=planned_date]').fill(iso(planned));
  const text = (key, value) => page.locator(`#sec-${key} textarea`).first().fill(value);
  await text('situation', 'Den unge går i 10. klasse og skal starte på en erhvervsuddannelse efter sommerferien.');
  await text('background', 'Sagen har været i BUR siden 2019 med forebyggende foranstaltninger og en fast kontaktperson.');
  await text('assessment', 'Gode ressourcer, men brug for støtte til struktur i hverdagen og til at møde op hver dag.');
  await text('youth_voice', 'Den unge vil selv på teknisk skole og har skrevet med på handleplanen.');
  await page.locator('#sec-placed').getByLabel('Nej').check();
  for (const [area, goal] of [['uddannelse', 'Starte på EUD efter sommerferien'], ['beskaeftigelse', 'Fritidsjob i weekenderne'],
    ['bolig', 'Bo hjemme, til uddannelsen er i gang'], ['oekonomi', 'Lære at lægge et budget med UR']]) {
    const fsx = page.locator(`#sec-goals fieldset[data-area="${area}"]`);
    await fsx.getByLabel('Mål', { exact: true }).fill(goal);
    await fsx.getByLabel('Tidsramme').fill('inden for et år');
  }
  await page.locator('#sec-ungeplan').getByLabel('Afgørelsens dato').fill(UNGEPLAN);
  await page.locator('#sec-ungeplan').getByLabel('Afgørelsens indhold').fill('Afgørelse om ungeplan er truffet og sendt til den unge.');
  // A section left empty on purpose, as the template allows.
  await page.locator('#sec-education_plan').getByLabel('Tomt med vilje: ikke relevant').check();
  const consent = page.locator('#sec-consent');
  await consent.getByLabel('Grundlag for videregivelsen').selectOption('consent');
  await consent.getByLabel('Samtykkets dato').fill(iso(addDays(today, -10)));
  await consent.getByLabel('Formål').fill('Overdragelse til Ungerådgivningen');
  await consent.getByLabel('Modtagere').fill('Ungerådgivningen');
  const actions = page.locator('#sec-actions');
  await actions.getByLabel('Hvad skal der ske?').fill('Overdragelsesmøde med UR og den unge');
  await actions.getByLabel('Ansvarlig').fill('Søren Bøgh');
  await actions.getByLabel('Frist').fill(iso(addDays(planned, 14)));
  await text('contingency', 'Hvis den unge udebliver fra skolen, så kontakt forældrene samme dag.');

  // The live checks catch up: no errors left, 100 %.
  await page.waitForFunction(() => document.querySelector('#check-counts')?.textContent === 'Alle kontroller er bestået', null, { timeout: TIMEOUT });
  await expectText(page.locator('#completeness-figure'), '100 %', 'completeness');
  const okGoals = await page.locator('#checks-goals .check-item--ok').count();
  assert(okGoals >= 4, `each goal area passes its check (${okGoals})`);
  await shot(page, '08-notat-udfyldt');
  await page.locator('#save-draft').click();
  await expectText(page.locator('#form-messages .notice--success'), 'Kladden er gemt', 'saved');
  await page.locator('#submit-note').click();
  await expectText(page.locator('.flash .notice--success'), 'Notatet er sendt til Ungerådgivningen', 'submitted');
  await expectText(page.locator('.note-header'), 'Sendt', 'status');
  await expectText(page.locator('.note-header'), CPR, 'the note shows the whole CPR number to its units');
  await shot(page, '09-notat-sendt');
}, ['counterpart_keyboard']);

await step('inbox_and_mail_link', async () => {
  mha = await newUser(browser, 'mha');
  const { page } = mha;
  await page.goto(`${BASE}/`);
  await login(page, 'mha');
  await page.getByRole('heading', { name: 'Mine opgaver', level: 1 }).waitFor();
  await nav(page, 'Indbakke').click();
  await page.getByRole('heading', { name: 'Indbakke', level: 1 }).waitFor();
  const row = page.locator('#incoming-table tbody tr', { has: page.locator(`a[href="#/notater/${shared.noteId}"]`) });
  await row.waitFor();
  await expectText(row, 'Sendt', 'status in the inbox');
  await expectText(row, 'Fra Børn- og Ungerådgivningen til Ungerådgivningen', 'route (by name) in the inbox');
  await expectText(row, 'XXXX', 'the masked CPR number in the list');
  const rowText = await row.innerText();
  assert(!rowText.includes(CPR), 'the list must show the CPR number masked');
  await shot(page, '10-indbakke');
  // The link in the alert mail opens the note (and moves it to received).
  const link = MAILDIR ? await mailLink('mha@stafet.example', shared.noteId, [CPR, CITIZEN]) : `${BASE}/#/notater/${shared.noteId}`;
  await page.goto(link.replace(/^https?:\/\/[^/]+/, BASE));
  await page.locator('.note-header').waitFor();
  await expectText(page.locator('.note-header'), 'Modtaget', 'opened by the receiver');
  await expectText(page.locator('#receiver-actions-h'), 'Modtag notatet', 'receiver actions');
  await shot(page, '11-notat-modtaget');
}, ['note_checks_and_submit']);

await step('return_with_flag', async () => {
  const { page } = mha;
  // »Markér« beside the section, then the return (flags.spec.mjs has the whole story)
  const row = page.locator('#sec-goals');
  await row.getByRole('button', { name: 'Markér »Handleplanens mål«' }).click();
  await row.getByRole('radio', { name: 'Upræcist' }).check();
  await row.getByLabel('Hvad skal afsenderen rette?').fill('Målet for bolig mangler en konkret tidsramme.');
  await row.getByRole('button', { name: 'Gem markeringen' }).click();
  await page.getByRole('button', { name: 'Returnér …' }).click();
  await shot(page, '12-returner');
  await page.getByRole('button', { name: 'Returnér til afsenderen' }).click();
  await expectText(page.locator('.flash .notice--success'), 'returneret til afsenderen med 1 markering', 'returned');
  await expectText(page.locator('.note-header'), 'Returneret', 'status');
}, ['inbox_and_mail_link']);

await step('sender_fixes_and_resubmits', async () => {
  const { page } = sbo;
  await nav(page, 'Udbakke').click();
  const row = page.locator('#outgoing-table tbody tr', { has: page.locator(`a[href="#/notater/${shared.noteId}"]`) });
  await row.waitFor();
  await expectText(row, 'Returneret', 'status in the outbox');
  await expectText(row, '1 åben markering', 'open flags');
  await shot(page, '13-udbakke');
  await row.getByRole('link').first().click();
  await page.locator('#sec-goals.section--flagged').waitFor();
  await expectText(page.locator('main .notice--warning').first(), 'returneret notatet', 'returned notice');
  await expectText(page.locator('#sec-goals .flag'), 'Målet for bolig mangler en konkret tidsramme', 'the flag beside its section');
  await page.locator('#sec-goals fieldset[data-area="bolig"]').getByLabel('Tidsramme').fill('senest 1. august, når uddannelsen starter');
  await page.waitForFunction(() => document.querySelector('#check-counts')?.textContent === 'Alle kontroller er bestået');
  // Leaving with unsaved changes asks first; "stay" keeps the form.
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.dismiss(); });
  await nav(page, 'Indbakke').click();
  await page.waitForTimeout(300);
  assert(/ikke er gemt/.test(asked), `leaving unsaved changes should ask first (${asked})`);
  assert(page.url().includes(`#/notater/${shared.noteId}`), `still on the note: ${page.url()}`);
  assert(await page.locator('#submit-note').isVisible(), 'the form is still there');
  await shot(page, '14-notat-rettes');
  await page.locator('#submit-note').click();
  await expectText(page.locator('.flash .notice--success'), 'Notatet er sendt', 'resubmitted');
  await expectText(page.locator('.note-header'), 'Sendt', 'status');
}, ['return_with_flag']);

await step('receiver_accepts', async () => {
  const { page } = mha;
  await page.goto(`${BASE}/#/indbakke`);
  await page.locator(`a[href="#/notater/${shared.noteId}"]`).click();
  await expectText(page.locator('.note-header'), 'Modtaget', 'opened again');
  await page.getByRole('button', { name: 'Godkend …' }).click();
  await page.getByLabel('Tilbagemelding til afsenderen (valgfri)').fill('Modtaget: EUD efter sommerferien, bolig hjemme indtil videre.');
  await page.getByRole('button', { name: 'Godkend notatet' }).click();
  await expectText(page.locator('.flash .notice--success'), 'Notatet er godkendt', 'accepted');
  await expectText(page.locator('.note-header'), 'Godkendt', 'status');
  await page.getByRole('button', { name: 'Vis historik' }).click();
  const hist = page.locator('#history-body table').first();
  await hist.waitFor();
  for (const word of ['Oprettet', 'Returneret', 'Godkendt']) await expectText(hist, word, 'history');
  await shot(page, '15-godkendt-historik');
}, ['sender_fixes_and_resubmits']);

await step('lead_above_reads_masked', async () => {
  // tlo leads BUF, the department above BUR: he reads BUR's note with the
  // CPR number masked and the name as initials, and is offered no action.
  const tlo = await newUser(browser, 'tlo');
  const { page } = tlo;
  await page.goto(`${BASE}/#/notater/${shared.noteId}`);
  await page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  await login(page, 'tlo');
  await expectText(page.locator('.notice'), 'Du ser notatet som leder af en overordnet enhed', 'the reader notice');
  await expectText(page.locator('.note-header'), `${CPR.slice(0, 6)}-XXXX`, 'masked CPR');
  await expectText(page.locator('.note-header'), 'T. B.', 'initials');
  const text = await page.locator('main').innerText();
  assert(!text.includes(CPR), 'the whole CPR number is shown to a lead above');
  assert(!text.includes(CITIZEN), 'the whole name is shown to a lead above');
  for (const name of ['Træk notatet tilbage …', 'Godkend …', 'Returnér …', 'Videresend …', 'Send notatet']) {
    assert(await page.getByRole('button', { name }).count() === 0, `a lead above is offered "${name}"`);
  }
  await shot(page, '15a-leder-ser-maskeret');
  await tlo.context.close();
}, ['receiver_accepts']);

await step('forward_to_other_unit', async () => {
  // A second note, filed through the API from Søren's page (the form is
  // tested above), that Mette sends on to another unit with a reason.
  const body = {
    route: 'BUR-UR',
    citizen: { cpr: CPR.replace(/-4(\d{3})$/, (m, d) => `-4${String((Number(d) + 1) % 1000).padStart(3, '0')}`), name: 'Anden Testborger' },
    planned_date: iso(planned),
    sections: {
      situation: 'Den unge er færdig med 10. klasse og søger arbejde frem for uddannelse.',
      background: 'Sagen har været i BUR i tre år med en kontaktperson og familiebehandling.',
      assessment: 'Den unge har brug for hjælp til at finde arbejde mere end social støtte.',
      youth_voice: 'Den unge ønsker et job og vil gerne have hjælp fra jobcentret.',
      placed: false,
      goals: ['uddannelse', 'beskaeftigelse', 'bolig', 'oekonomi'].map((area) => ({ area, goal: `Mål for ${area}`, timeframe: 'inden for et år' })),
      ungeplan: { date: UNGEPLAN, text: 'Afgørelse om ungeplan truffet.' },
      consent: { basis: 'consent', date: iso(addDays(today, -5)), purpose: 'Overdragelse', recipients: 'Ungerådgivningen' },
      actions: [{ action: 'Møde med den unge', owner: 'Søren Bøgh', due: iso(addDays(planned, 7)) }],
      contingency: 'Hvis den unge ikke møder op, så ring til forældrene.',
    },
  };
  const id = await sbo.page.evaluate(async (b) => {
    const r = await fetch('/api/v1/handovers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b) });
    const n = await r.json();
    if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(n)}`);
    const s = await fetch(`/api/v1/handovers/${n.id}/submit`, { method: 'POST' });
    if (s.status !== 200) throw new Error(`submit: ${s.status} ${await s.text()}`);
    return n.id;
  }, body);
  const { page } = mha;
  await page.goto(`${BASE}/#/notater/${id}`);
  await expectText(page.locator('.note-header'), 'Modtaget', 'opened by the receiver');
  await page.getByRole('button', { name: 'Videresend …' }).click();
  await page.getByLabel('Send videre til').selectOption('JC-UNG');
  await page.getByLabel('Begrundelse').fill('Den unge søger job: Jobcenter Ung skal have sagen.');
  await shot(page, '15b-videresend');
  await page.getByRole('button', { name: 'Videresend', exact: true }).click();
  await expectText(page.locator('.flash .notice--success'), 'Notatet er videresendt til Jobcenter Ung', 'forwarded');
  await expectText(page.locator('.note-header'), 'Jobcenter Ung', 'new receiving unit');
  await expectText(page.locator('.note-header'), 'Sendt', 'status');
}, ['inbox_and_mail_link']);

await step('quality_page', async () => {
  kmo = await newUser(browser, 'kmo');
  const { page } = kmo;
  // A mail link while logged out: log in, then the note opens.
  await page.goto(`${BASE}/#/notater/${shared.noteId}`);
  await page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  await login(page, 'kmo');
  await expectText(page.locator('main h1'), 'Overdragelsesnotat STF-', 'deep link after login');
  await nav(page, 'Kvalitet').click();
  const table = page.locator('#quality-table');
  await table.waitFor();
  const row = table.locator('tbody tr', { hasText: 'Fra Børn- og Ungerådgivningen til Ungerådgivningen' }).first();
  await expectText(row, 'Handleplanens mål', 'most flagged section');
  const cells = await row.locator('td, th').allInnerTexts();
  assert(Number(cells[2]) >= 1 && Number(cells[3]) >= 1, `filed and returned counted: ${cells.join(' | ')}`);
  const bars = await page.locator('figure.chart svg rect.chart__bar').count();
  assert(bars >= 3, `charts drawn (${bars} bars)`);
  const svgStyle = await page.locator('figure.chart svg [style]').count();
  assert(svgStyle === 0, 'no inline style in the charts');
  await shot(page, '16-kvalitet');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#csv-download').click(),
  ]);
  assert(download.suggestedFilename() === 'stafet-kvalitet.csv', `CSV file name: ${download.suggestedFilename()}`);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert(csv.startsWith('\ufeffKvartal;Rute;Rutekode;'), `CSV header: ${csv.slice(0, 80)}`);
  assert(/;BUR-UR;/.test(csv) && /Handleplanens mål \(\d+\)/.test(csv), `CSV rows: ${csv}`);
  const [xlsx] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#xlsx-download').click(),
  ]);
  assert(xlsx.suggestedFilename() === 'stafet-kvalitet.xlsx', `XLSX file name: ${xlsx.suggestedFilename()}`);
  const book = fs.readFileSync(await xlsx.path());
  assert(book.subarray(0, 2).toString() === 'PK' && book.length > 1000, `an XLSX (zip) file: ${book.length} bytes`);
  // Not for a caseworker without the role.
  const links = await nav(sbo.page, 'Kvalitet').count();
  assert(links === 0, 'a caseworker without the quality role sees no Kvalitet link');
}, ['receiver_accepts']);

await step('settings_digest', async () => {
  const { page } = kmo;
  await nav(page, 'Indstillinger').click();
  const box = page.getByLabel('Én samlet mail om dagen');
  await page.waitForFunction(() => {
    // The page renders after its fetch: the box may not exist yet.
    const box = document.querySelector('input[name=digest]');
    return box && !box.disabled;
  });
  const before = await box.isChecked();
  await box.focus();
  await page.keyboard.press('Space');
  await expectText(page.locator('.settings__status .notice--success'), before ? 'en mail for hver hændelse' : 'én samlet mail om dagen', 'saved');
  await shot(page, '17-indstillinger');
  await page.reload();
  await page.waitForFunction(() => {
    // The page renders after its fetch: the box may not exist yet.
    const box = document.querySelector('input[name=digest]');
    return box && !box.disabled;
  });
  assert(await page.getByLabel('Én samlet mail om dagen').isChecked() === !before, 'the setting is kept');
  await page.getByLabel('Én samlet mail om dagen').focus();
  await page.keyboard.press('Space');
  await page.locator('.settings__status .notice--success').waitFor();
}, ['quality_page']);

await step('counterpart_implausible_age', async () => {
  // A CPR number whose century digit makes the citizen 116 (14 March 1910):
  // the warning stands above the answer, the candidates are still there,
  // and starting a note asks whether the number is right first.
  const { page } = sbo;
  await nav(page, 'Find modtager').click();
  await page.getByRole('heading', { name: 'Find modtager', level: 1 }).waitFor();
  await page.locator('select[name=route]').selectOption('BUR-UR');
  await page.locator('input[name=cpr]').fill('140310-1235');
  await page.locator('details.more-facts summary').click();
  await page.locator('input[name=date]').fill('2026-12-06');
  await page.getByRole('button', { name: 'Find modtager', exact: true }).click();
  const warning = page.locator('.plausibility');
  await expectText(warning, 'Borgeren er 116 år den 6. december 2026', 'the age warning');
  await expectText(warning, 'Er CPR-nummeret rigtigt?', 'the question');
  const order = await page.evaluate(() => {
    const w = document.querySelector('.plausibility');
    const a = document.querySelector('.answer');
    return Boolean(w && a && (w.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING));
  });
  assert(order, 'the warning comes before the answer');
  await expectText(page.locator('.answer'), 'Tager sagen', 'the answer is still given');
  let asked = '';
  page.once('dialog', async (d) => { asked = d.message(); await d.dismiss(); });
  await page.locator('.answer button').first().click();
  await page.waitForTimeout(300);
  assert(asked.includes('Er CPR-nummeret rigtigt?'), `starting a note asks first (asked: »${asked}«)`);
  assert(/#\/modtager/.test(page.url()), 'declining stays on the lookup');
  assert(await page.evaluate(() => document.activeElement.name) === 'cpr', 'declining puts the focus on the CPR number');
  await shot(page, '06b-find-modtager-alder');
}, ['login_keyboard']);

await step('zoom_200_percent', async () => {
  // 200 % zoom on a 1280 px wide window is a 640 CSS px wide viewport.
  const z = await newUser(browser, 'zoom', { width: 640, height: 450 });
  const { page } = z;
  await page.goto(`${BASE}/`);
  await login(page, 'sbo');
  for (const [hash, name] of [[`#/notater/${shared.noteId}`, '18-zoom-200-notat'], ['#/sog?q=mette', '19-zoom-200-sog'], ['#/udbakke', '20-zoom-200-udbakke'], ['#/notater/ny', '20b-zoom-200-nyt-notat'], ['#/kvalitet', '20c-zoom-200-kvalitet']]) {
    await page.goto(`${BASE}/${hash}`);
    await page.locator('main h1').waitFor();
    await page.waitForTimeout(400);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 1, `${hash}: the page scrolls sideways by ${overflow}px at 200 % zoom`);
    await shot(page, name);
  }
  const csp = await cspViolations(page);
  assert(!csp.length, `CSP violations: ${csp.join('; ')}`);
  await z.context.close();
}, ['note_checks_and_submit']);

await step('logout', async () => {
  const { page } = sbo;
  await page.locator('#logout').click();
  await page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  await expectText(page.locator('#login-status'), 'Du er logget ud', 'logged out');
  assert(await page.locator('#main-nav').isHidden(), 'no menu after logout');
  const status = await page.evaluate(() => fetch('/api/v1/me').then((r) => r.status));
  assert(status === 401, `the session should be dead, GET /me gave ${status}`);
  await shot(page, '21-logget-ud');
}, ['login_keyboard']);

await step('no_console_errors_or_csp_violations', async () => {
  for (const u of [sbo, mha, kmo].filter(Boolean)) {
    const v = await cspViolations(u.page);
    for (const x of v) problems.push(`${u.who}: CSP violation: ${x}`);
  }
  assert(!problems.length, `${problems.length} problems:\n${problems.join('\n')}`);
});

await finish(browser);
