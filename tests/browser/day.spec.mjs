// day.spec.mjs: the caseworker's working day (issue 20): Helle
// Vestergaard (hve, BUR) has a note that Ali Khan (akh, UR) returned; she
// logs in and lands on Mine opgaver, which shows it with its count on the
// menu; she deletes a draft from Kladder; every page he and his colleagues read shows
// names, not codes, and no null, undefined, NaN or English word; on a phone
// (390 × 844) the header is small, the menu opens from a button by
// keyboard, and the inbox is a list of cards that shows Status and Fra and
// never scrolls sideways; and from login to opening a task by keyboard alone.
//
//   node tests/browser/day.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]

import {
  BASE, PASSWORD, TIMEOUT, iso, pad, addDays, addMonths, shared, newUser, shot, assert, step, login, nav, expectText,
  tabTo, focusVisible, launch, finish,
} from './lib.mjs';

// -- the citizens: unique CPR numbers, 17 at the planned date ----------------------------------

const today = new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate());
const planned = addDays(today, 3);
const born = addMonths(new Date(planned.getFullYear() - 17, planned.getMonth(), 14), -2);
const rnd = () => String(100 + Math.floor(Math.random() * 900));
const cpr = (digit) => `${pad(born.getDate())}${pad(born.getMonth() + 1)}${String(born.getFullYear()).slice(2)}-${digit}${rnd()}`;
const RETURNED_CPR = cpr(4);
const DRAFT_CPR = cpr(4);
const UNGEPLAN = iso(addMonths(new Date(born.getFullYear() + 16, born.getMonth(), born.getDate()), 2));
const ROUTE_CODES = ['AEHF-BSF', 'BSF-AEHF', 'BUR-UR', 'BURH-AEHF', 'BURH-BSF', 'GENERISK'];
// Words that must never be read on a page: a leaked value, or English UI.
const FORBIDDEN = ['null', 'undefined', 'NaN', 'OK', 'Error', 'Loading', 'Submit', 'Cancel', 'Save', 'Delete', 'Draft',
  'draft', 'submitted', 'received', 'returned', 'accepted', 'withdrawn', 'Inbox', 'Outbox', 'Search', 'Settings', 'Logout'];

function fullNote(citizenCpr, name) {
  return {
    route: 'BUR-UR',
    citizen: { cpr: citizenCpr, name },
    planned_date: iso(planned),
    sections: {
      situation: 'Den unge er færdig med 10. klasse og skal starte på en erhvervsuddannelse efter sommerferien.',
      background: 'Sagen har været i BUR i tre år med en kontaktperson og familiebehandling i hjemmet.',
      assessment: 'Den unge har gode ressourcer, men brug for støtte til at møde op og holde struktur.',
      youth_voice: 'Den unge ønsker at gå på teknisk skole og har selv været med til at skrive planen.',
      placed: false,
      goals: ['uddannelse', 'beskaeftigelse', 'bolig', 'oekonomi'].map((area) => ({ area, goal: `Et konkret mål for ${area}`, timeframe: 'inden for et år' })),
      ungeplan: { date: UNGEPLAN, text: 'Afgørelse om ungeplan er truffet og sendt til den unge.' },
      consent: { basis: 'consent', date: iso(addDays(today, -5)), purpose: 'Overdragelse', recipients: 'Ungerådgivningen' },
      actions: [{ action: 'Overdragelsesmøde med den unge', owner: 'Søren Bøgh', due: iso(addDays(planned, 7)) }],
      contingency: 'Hvis den unge ikke møder op, så ring til forældrene samme dag.',
    },
  };
}

/** A call to the API from the user's page (the session cookie and Origin go along). */
async function call(page, method, path, body, headers = {}) {
  return page.evaluate(async ([m, p, b, hd]) => {
    const init = { method: m, headers: { Accept: 'application/json', ...hd } };
    if (b !== null) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(b);
    }
    const r = await fetch(`/api/v1${p}`, init);
    const text = await r.text();
    let data = null;
    try {
      data = JSON.parse(text);
    } catch (e) { data = text; }
    return { status: r.status, data };
  }, [method, path, body, headers]);
}

/** The visible text of the main content, checked for leaks, codes and ISO dates. */
async function checkWords(page, where, { routeCodes = true } = {}) {
  const text = await page.locator('main').innerText();
  const bad = FORBIDDEN.filter((w) => new RegExp(`(^|[^\\p{L}\\p{N}_-])${w}($|[^\\p{L}\\p{N}_-])`, 'u').test(text));
  assert(!bad.length, `${where}: the page shows ${bad.map((w) => `»${w}«`).join(', ')}:\n${text.slice(0, 1500)}`);
  if (routeCodes) {
    const codes = ROUTE_CODES.filter((c) => new RegExp(`(^|[^A-ZÆØÅ-])${c}($|[^A-ZÆØÅ-])`).test(text));
    assert(!codes.length, `${where}: a route code where its name belongs: ${codes.join(', ')}`);
  }
  const isoDates = text.match(/\b\d{4}-\d\d-\d\d\b/g);
  assert(!isoDates, `${where}: dates shown as ÅÅÅÅ-MM-DD (${(isoDates || []).join(', ')}); Danes write dd-mm-åååå`);
  return text;
}

// -- the story ------------------------------------------------------------------------------------

const browser = await launch();
const hve = await newUser(browser, 'hve', { width: 1366, height: 900 });
const akh = await newUser(browser, 'akh', { width: 1366, height: 900 });
let kmo = null;

await step('lands_on_mine_opgaver', async () => {
  // The returned note, made through the API: Helle files it, Ali opens and returns it.
  await hve.page.goto(`${BASE}/`);
  await login(hve.page, 'hve');
  const made = await call(hve.page, 'POST', '/handovers', fullNote(RETURNED_CPR, 'Dagny Opgavesen'));
  assert(made.status === 201, `create: ${made.status} ${JSON.stringify(made.data)}`);
  shared.returnedId = made.data.id;
  shared.returnedRef = made.data.ref;
  const sent = await call(hve.page, 'POST', `/handovers/${made.data.id}/submit`, null);
  assert(sent.status === 200, `submit: ${sent.status} ${JSON.stringify(sent.data)}`);
  await akh.page.goto(`${BASE}/`);
  await login(akh.page, 'akh');
  await akh.page.getByRole('heading', { name: 'Mine opgaver', level: 1 }).waitFor();
  // Before Ali opens it, it waits for him: on his Mine opgaver and as a count on Indbakke.
  await akh.page.reload();
  const hers = `a[href="#/notater/${shared.returnedId}"]`;
  await akh.page.locator(`#task-list ${hers}`).waitFor();
  await expectText(akh.page.locator('#task-list li', { has: akh.page.locator(hers) }), 'Skal modtages', 'the kind, in Danish');
  await akh.page.waitForFunction(() => {
    const b = document.getElementById('nav-count-indbakke');
    return b && !b.hidden && Number(b.textContent) >= 1;
  }, null, { timeout: TIMEOUT });
  const opened = await call(akh.page, 'GET', `/handovers/${shared.returnedId}`, null);
  assert(opened.status === 200, `open: ${opened.status}`);
  const ret = await call(akh.page, 'POST', `/handovers/${shared.returnedId}/return`,
    { flags: [{ section: 'goals', kind: 'imprecise', comment: 'Målet for bolig mangler en konkret tidsramme.' }] });
  assert(ret.status === 200, `return: ${ret.status} ${JSON.stringify(ret.data)}`);

  // Helle logs in again: she lands on Mine opgaver and sees it.
  await hve.page.locator('#logout').click();
  await hve.page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  await login(hve.page, 'hve');
  const h1 = hve.page.getByRole('heading', { name: 'Mine opgaver', level: 1 });
  await h1.waitFor();
  assert(/#\/opgaver$/.test(hve.page.url()), `the landing page is Mine opgaver: ${hve.page.url()}`);
  assert(await nav(hve.page, 'Mine opgaver').getAttribute('aria-current') === 'page', 'Mine opgaver is the current menu item');
  const first = await hve.page.locator('#main-nav a').first().innerText();
  assert(first.startsWith('Mine opgaver'), `Mine opgaver comes first in the menu, not »${first}«`);
  const link = hve.page.locator(`#task-list a[href="#/notater/${shared.returnedId}"]`);
  await link.waitFor();
  const item = hve.page.locator('#task-list li', { has: hve.page.locator(`a[href="#/notater/${shared.returnedId}"]`) });
  await expectText(item, 'Skal rettes', 'the kind, in Danish');
  await expectText(item, shared.returnedRef, 'the reference');
  await expectText(item, 'Fra Børn- og Ungerådgivningen til Ungerådgivningen', 'the route by name');
  const itemText = await item.innerText();
  assert(/\d\d-\d\d-\d{4}/.test(itemText) || !/Frist/.test(itemText), `the due date as dd-mm-åååå: ${itemText}`);
  // The counts on the menu: Udbakke counts the note to fix, by a number the link's name does not carry.
  await hve.page.waitForFunction(() => {
    const b = document.getElementById('nav-count-udbakke');
    return b && !b.hidden && Number(b.textContent) >= 1;
  }, null, { timeout: TIMEOUT });
  const desc = await hve.page.locator('#nav-desc-udbakke').textContent();
  assert(/rettes/.test(desc), `the count's words for a screen reader: »${desc}«`);
  assert(await nav(hve.page, 'Udbakke').count() === 1, 'the link is still named »Udbakke«');
  await checkWords(hve.page, 'Mine opgaver');
  await shot(hve.page, 'd01-mine-opgaver');
  // Opening the task opens the note.
  await link.click();
  await expectText(hve.page.locator('main h1'), shared.returnedRef, 'the note');
});

await step('drafts_list_and_delete', async () => {
  const { page } = hve;
  const made = await call(page, 'POST', '/handovers', { route: 'BUR-UR', citizen: { cpr: DRAFT_CPR, name: 'Kladde Sletsen' } });
  assert(made.status === 201, `create the draft: ${made.status} ${JSON.stringify(made.data)}`);
  const { id, ref } = made.data;
  await nav(page, 'Kladder').click();
  await page.getByRole('heading', { name: 'Kladder', level: 1 }).waitFor();
  const row = page.locator('#drafts-table tbody tr', { has: page.locator(`a[href="#/notater/${id}"]`) });
  await row.waitFor();
  await expectText(row, 'Kladde Sletsen', 'the citizen');
  await expectText(row, 'Fra Børn- og Ungerådgivningen til Ungerådgivningen', 'the route by name');
  // The count on Kladder is the number of drafts in the list (once the menu has fetched again).
  const countIsRows = () => {
    const b = document.getElementById('nav-count-kladder');
    const n = b && !b.hidden ? Number(b.textContent) : 0;
    return n === document.querySelectorAll('#drafts-table tbody tr').length;
  };
  await page.waitForFunction(countIsRows, null, { timeout: TIMEOUT });
  assert(await page.locator('#nav-count-kladder').isVisible(), 'Kladder shows a count');
  await checkWords(page, 'Kladder');
  await shot(page, 'd02-kladder');
  // Declining the question keeps it; accepting deletes it.
  page.once('dialog', (d) => d.dismiss());
  await row.getByRole('button', { name: /Slet kladde/ }).click();
  await page.waitForTimeout(300);
  assert(await row.count() === 1, 'declining keeps the draft');
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await row.getByRole('button', { name: /Slet kladde/ }).click();
  await expectText(page.locator('main .notice--success'), `Kladden ${ref} er slettet`, 'deleted');
  assert(/slette/.test(asked) && asked.includes(ref), `the question names the draft: »${asked}«`);
  assert(await row.count() === 0, 'the row is gone');
  const list = await call(page, 'GET', '/handovers?box=drafts&limit=100', null);
  assert(list.status === 200 && !list.data.items.some((n) => n.id === id), 'the draft is gone from the list');
  // The count follows.
  await page.waitForFunction(countIsRows, null, { timeout: TIMEOUT });
}, ['lands_on_mine_opgaver']);

await step('names_not_codes', async () => {
  // Find modtager: the routes by name, no "(…) (BUR-UR)".
  const { page } = hve;
  await nav(page, 'Find modtager').click();
  await page.getByRole('heading', { name: 'Find modtager', level: 1 }).waitFor();
  const options = await page.locator('select[name=route] option').allInnerTexts();
  assert(options.length >= 3, `routes offered: ${options.length}`);
  for (const o of options) {
    assert(!ROUTE_CODES.some((c) => o.includes(c)), `a route offered by its code: »${o}«`);
    assert(!/\)\s*\(/.test(o), `double brackets: »${o}«`);
  }
  await page.locator('input[name=cpr]').fill(RETURNED_CPR);
  await page.getByRole('button', { name: 'Find modtager', exact: true }).click();
  await page.locator('#cp-result-heading').waitFor();
  await checkWords(page, 'Find modtager');
  await shot(page, 'd03-find-modtager-navne');

  // The outbox and the inbox: route names, dates dd-mm-åååå.
  await nav(page, 'Udbakke').click();
  const out = page.locator('#outgoing-table tbody tr', { has: page.locator(`a[href="#/notater/${shared.returnedId}"]`) });
  await out.waitFor();
  await expectText(out, 'Fra Børn- og Ungerådgivningen til Ungerådgivningen', 'the route by name in the outbox');
  await expectText(out, `${pad(planned.getDate())}-${pad(planned.getMonth() + 1)}-${planned.getFullYear()}`, 'the planned date as dd-mm-åååå');
  await checkWords(page, 'Udbakke');
  await akh.page.goto(`${BASE}/#/indbakke`);
  const inRow = akh.page.locator('#incoming-table tbody tr', { has: akh.page.locator(`a[href="#/notater/${shared.returnedId}"]`) });
  await inRow.waitFor();
  await expectText(inRow, 'Fra Børn- og Ungerådgivningen til Ungerådgivningen', 'the route by name in the inbox');
  await checkWords(akh.page, 'Indbakke');

  // A person card, from the search and on the person's page: no "null"; target groups by name.
  await nav(page, 'Søg kollega').click();
  await page.getByLabel('Søg efter navn, titel, enhed eller e-mail').fill('mette');
  await page.locator('#search-results .person-card').first().waitFor();
  await checkWords(page, 'Søg kollega');
  const people = await call(page, 'GET', '/people?limit=500', null);
  const withGroups = people.data.items.find((p) => (p.target_groups || []).length);
  const someone = withGroups || people.data.items[0];
  await page.goto(`${BASE}/#/personer/${encodeURIComponent(someone.id)}`);
  await page.getByRole('heading', { name: someone.display_name, level: 1 }).waitFor();
  await page.locator('main dl').waitFor();
  await checkWords(page, `the person page of ${someone.display_name}`);
  if (withGroups) {
    const dd = page.locator('main dl dt', { hasText: 'Målgrupper' }).locator('xpath=following-sibling::dd[1]');
    const shown = await dd.innerText();
    for (const g of withGroups.target_groups) {
      const slug = typeof g === 'object' ? (g.slug || g.code) : g;
      if (/[-_]/.test(slug) || /^[a-zæøå]/.test(slug)) {
        assert(!new RegExp(`(^|[\\s,])${slug}($|[\\s,])`).test(shown), `a target group shown by its slug »${slug}«: ${shown}`);
      }
    }
  }
  await shot(page, 'd04-kollega-navne');

  // A unit's KLE numbers with their names (where the API knows one).
  const ur = await call(page, 'GET', '/units/UR', null);
  await page.goto(`${BASE}/#/enheder/UR`);
  await page.getByRole('heading', { name: 'Ungerådgivningen (UR)', level: 1 }).waitFor();
  const kleRow = page.locator('main dl dt', { hasText: 'KLE-opgaver' }).locator('xpath=following-sibling::dd[1]');
  const names = ur.data.kle_names || {};
  for (const num of Object.values(ur.data.kle || {}).flat()) {
    await expectText(kleRow, names[num] ? `${num} ${names[num]}` : num, `KLE ${num} with its name`);
  }
  await checkWords(page, 'the unit page');

  // The quality page (Kirsten Mølgaard, quality): routes by name in charts and table.
  kmo = await newUser(browser, 'kmo', { width: 1366, height: 900 });
  await kmo.page.goto(`${BASE}/`);
  await login(kmo.page, 'kmo');
  await nav(kmo.page, 'Kvalitet').click();
  await kmo.page.locator('#quality-table, main .notice--info').first().waitFor();
  const text = await checkWords(kmo.page, 'Kvalitet');
  assert(!/Tomt:/.test(text), 'the hints are sentences, not »Tomt: …«');
  const labels = await kmo.page.locator('figure.chart svg text.chart__label').allTextContents();
  for (const l of labels) assert(!ROUTE_CODES.some((c) => l.includes(c)), `a chart labelled by a route code: »${l}«`);
  await shot(kmo.page, 'd05-kvalitet-navne');
}, ['lands_on_mine_opgaver']);

await step('phone_menu_and_cards', async () => {
  const phone = await newUser(browser, 'phone', { width: 390, height: 844 });
  const { page } = phone;
  await page.goto(`${BASE}/`);
  // On a phone "Log ud" sits in the folded menu: the landing page's heading says the login worked.
  await page.getByLabel('Brugernavn').fill('akh');
  await page.getByLabel('Adgangskode').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log ind' }).click();
  await page.getByRole('heading', { name: 'Mine opgaver', level: 1 }).waitFor();
  await page.waitForTimeout(300);
  const header = await page.locator('.site-header').boundingBox();
  assert(header && header.height < 0.2 * 844, `the header takes ${header && Math.round(header.height)} px of 844 (more than 20 %)`);
  const button = page.locator('#menu-button');
  assert(await button.isVisible(), 'a menu button on a phone');
  assert(await button.getAttribute('aria-expanded') === 'false', 'the menu starts closed');
  assert(await button.getAttribute('aria-controls') === 'main-nav', 'the button controls the menu');
  assert(!(await nav(page, 'Indbakke').isVisible()), 'the menu is folded away');
  await shot(page, 'd06-telefon-mine-opgaver');
  // By keyboard: Tab to the button, Enter opens, Tab to Indbakke, Enter.
  await page.evaluate(() => {
    document.body.setAttribute('tabindex', '-1');
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
  await tabTo(page, (i) => i.id === 'menu-button', 10, 'the menu button');
  assert(await focusVisible(page), 'the menu button shows its focus');
  await page.keyboard.press('Enter');
  assert(await button.getAttribute('aria-expanded') === 'true', 'Enter opens the menu');
  assert(await nav(page, 'Indbakke').isVisible(), 'the menu items show');
  await shot(page, 'd07-telefon-menu');
  await page.keyboard.press('Escape');
  await page.waitForTimeout(100);
  assert(await button.getAttribute('aria-expanded') === 'false', 'Escape closes the menu');
  await page.keyboard.press('Enter');
  await tabTo(page, (i) => i.tag === 'A' && i.text.startsWith('Indbakke'), 10, 'Indbakke in the menu');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Indbakke', level: 1 }).waitFor();
  assert(await button.getAttribute('aria-expanded') === 'false', 'the menu closes on going to a page');
  const row = page.locator('#incoming-table tbody tr').first();
  await row.waitFor();
  await page.waitForTimeout(300);
  for (const label of ['Status', 'Fra']) {
    const cell = row.locator(`td[data-label="${label}"]`);
    assert(await cell.isVisible(), `${label} is shown`);
    const box = await cell.boundingBox();
    assert(box && box.x >= 0 && box.x + box.width <= 391, `${label} lies inside the screen: ${JSON.stringify(box)}`);
  }
  await shot(page, 'd08-telefon-indbakke');
  for (const hash of ['#/indbakke', '#/opgaver', '#/udbakke', '#/kladder', '#/sog?q=mette', '#/modtager', '#/indstillinger']) {
    await page.goto(`${BASE}/${hash}`);
    await page.locator('main h1').waitFor();
    await page.waitForTimeout(500);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 1, `${hash}: the page scrolls sideways by ${overflow}px at 390 px`);
    await shot(page, `d09-telefon-${hash.replace(/^#\//, '').replace(/\?.*$/, '')}`);
  }
  await phone.context.close();
}, ['lands_on_mine_opgaver']);

await step('keyboard_only_day', async () => {
  const kb = await newUser(browser, 'keyboard', { width: 1366, height: 900 });
  const { page } = kb;
  await page.goto(`${BASE}/`);
  await page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  // The username field has the focus on arrival.
  assert(await page.evaluate(() => document.activeElement.name) === 'username', 'the username field has the focus');
  await page.keyboard.type('hve');
  await page.keyboard.press('Tab');
  await page.keyboard.type('demo');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Mine opgaver', level: 1 }).waitFor();
  await page.locator(`#task-list a[href="#/notater/${shared.returnedId}"]`).waitFor();
  assert(await page.evaluate(() => document.activeElement.tagName) === 'H1', 'the focus starts at the page heading');
  await tabTo(page, (i) => i.tag === 'A' && i.text.includes(shared.returnedRef), 40, 'the returned note on Mine opgaver');
  assert(await focusVisible(page), 'the task link shows its focus');
  await page.keyboard.press('Enter');
  await expectText(page.locator('main h1'), shared.returnedRef, 'the note opened by keyboard');
  assert(page.url().includes(`#/notater/${shared.returnedId}`), `the note: ${page.url()}`);
  await kb.context.close();
}, ['lands_on_mine_opgaver']);

await step('mine_opgaver_empty', async () => {
  // Thomas Lønborg leads BUF, above the units that file and receive: he
  // reads notes but acts on none, so nothing waits for him.
  const tlo = await newUser(browser, 'tlo', { width: 1366, height: 900 });
  const { page } = tlo;
  await page.goto(`${BASE}/`);
  await login(page, 'tlo');
  await page.getByRole('heading', { name: 'Mine opgaver', level: 1 }).waitFor();
  const empty = page.locator('.task-empty');
  await expectText(empty, 'Du har ingen opgaver lige nu.', 'the empty state');
  assert(await empty.getByRole('link', { name: 'Find modtageren af en sag' }).count() === 1, 'the empty state leads on');
  assert(await page.locator('#main-nav .nav-count:not([hidden])').count() === 0, 'no counts when nothing waits');
  await checkWords(page, 'Mine opgaver, tom');
  await shot(page, 'd10-mine-opgaver-tom');
  await tlo.context.close();
});

await finish(browser, [hve, akh, kmo]);
