// note.spec.mjs: the note form that helps and loses nothing (issue 20,
// problems 1–3). Karina Nissen (kni, BUR) opens a new BUR→UR note: no
// errors before she has done anything; the first send shows one entry per
// problem in an error summary that takes the focus and links to the
// fields; passed checks read as facts; a section navigation. Her draft is
// saved as she types (reload: the text is there); her session expires in
// the middle of a new note and of a draft, and after logging in again
// every character is back (kept encrypted on the computer meanwhile); the
// connection drops and comes back; a second tab edits the same draft and
// the conflict is shown, nothing lost; she deletes a draft.
//
//   node tests/browser/note.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]

import {
  BASE, iso, pad, addDays, addMonths, newUser, shot, assert, step, login, expectText, launch, finish, allowConsoleError, TIMEOUT,
} from './lib.mjs';

const today = new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate());
const planned = addDays(today, 30);
/** A CPR number for a 17-year-old on the planned date, with random last digits. */
function cpr(day) {
  const born = addMonths(new Date(planned.getFullYear() - 17, planned.getMonth(), day), -2);
  return `${pad(born.getDate())}${pad(born.getMonth() + 1)}${String(born.getFullYear()).slice(2)}-${4000 + Math.floor(Math.random() * 999)}`;
}
const CPR_A = cpr(3);
const CPR_B = cpr(5);
const CPR_C = cpr(7);
const NAME_A = 'Anna Autogem';
const NAME_B = 'Bo Udløbsen';
const SITUATION_B = 'Bo bor hjemme og går i 9. klasse; æøå ÆØÅ « » – tegn, der skal komme tilbage præcis som skrevet.';

// What this story causes on purpose: the expired session (401 on the note's
// calls and the menu's counts), the second tab's stale version (412).
allowConsoleError((status, url) => status === 401 && /\/api\/v1\//.test(url));
allowConsoleError((status, url) => status === 412 && /\/api\/v1\/handovers\/[0-9a-f-]{36}$/.test(url));

const browser = await launch();
const kni = await newUser(browser, 'kni', { width: 1366, height: 900 });
const { page, context } = kni;
let noteA = null;

const text = (key) => page.locator(`#sec-${key} textarea`).first();
const saved = (p = page) => p.waitForFunction(() => /^Gemt kl\./.test(document.querySelector('#save-state')?.textContent || ''), null, { timeout: TIMEOUT });

async function openNew(p = page) {
  await p.goto(`${BASE}/#/notater/ny`);
  await p.getByRole('heading', { name: 'Nyt overdragelsesnotat', level: 1 }).waitFor();
  await p.locator('#sec-situation').waitFor();
  // the live checks have answered: the navigation knows each section's state
  await p.waitForFunction(() => [...document.querySelectorAll('.section-nav__state')].every((s) => s.textContent));
}

/** The form stays where it was (above the actions and the history) when it is built again. */
async function formInPlace(p) {
  return p.evaluate(() => {
    const form = document.querySelector('.note-layout');
    const after = document.querySelector('.history-section');
    return !!form && !!after && !!(form.compareDocumentPosition(after) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
}

async function visibleErrors(p = page) {
  return p.evaluate(() => [...document.querySelectorAll('.check-item--error, .section--error, .field__error:not([hidden]), [aria-invalid=true]')]
    .filter((e) => e.offsetParent !== null).length);
}

await step('new_note_no_errors_on_arrival', async () => {
  await page.goto(`${BASE}/`);
  await login(page, 'kni');
  await openNew();
  const counts = await page.locator('#check-counts').innerText();
  assert(!/fejl/.test(counts), `no count of errors on arrival: »${counts}«`);
  assert(await visibleErrors() === 0, 'nothing red on arrival');
  // The facts that switch sections on come first: CPR number, birthdate, planned date.
  const order = await page.evaluate(() => [...document.querySelectorAll('.note-form input, .note-form select, .note-form textarea')].slice(0, 3).map((e) => e.name));
  assert(order.join(',') === 'cpr,birthdate,planned_date', `the deciding facts first: ${order}`);
  await page.locator('input[name=planned_date]').fill(iso(planned));
  await page.waitForTimeout(900);
  assert(!/fejl/.test(await page.locator('#check-counts').innerText()), 'entering the planned date raises no error count');
  assert(await visibleErrors() === 0, 'and nothing red');
  await shot(page, 'note-01-nyt-notat-uden-fejl');
});

await step('errors_after_first_send', async () => {
  await page.locator('input[name=cpr]').fill(CPR_A);
  await page.locator('input[name=citizen-name]').fill(NAME_A);
  // Leaving a field after typing in it shows its section's errors only.
  await text('situation').fill('Kort.');
  await text('background').focus();
  await page.locator('#checks-situation .check-item--error').waitFor();
  assert(await page.locator('#checks-assessment .check-item--error').count() === 0, 'an untouched section shows no error');
  await page.locator('#submit-note').click();
  const summary = page.locator('#form-messages .error-summary');
  await summary.waitFor();
  await expectText(summary, 'Notatet kan ikke sendes endnu', 'the summary heading');
  assert(await page.evaluate(() => document.activeElement.classList.contains('error-summary')), 'the focus moves to the summary');
  const keys = await summary.locator('a').evaluateAll((as) => as.map((a) => a.dataset.key));
  assert(keys.length >= 3, `problems listed: ${keys}`);
  assert(new Set(keys).size === keys.length, `one entry per section: ${keys}`);
  const labels = await summary.locator('a').allInnerTexts();
  for (const word of ['Samtykke', 'Handlinger']) {
    const n = labels.filter((l) => l.startsWith(word)).length;
    assert(n <= 1, `${word} listed ${n} times`);
  }
  assert(/fejl/.test(await page.locator('#check-counts').innerText()), 'after a send attempt the errors are counted');
  await shot(page, 'note-02-fejlopsummering');
  // A link moves the focus to its field.
  await summary.locator('a[data-key="background"]').click();
  assert(await page.evaluate(() => !!document.activeElement.closest('#sec-background')), 'the link puts the focus in Baggrund');
  noteA = /#\/notater\/([0-9a-f-]{36})/.exec(page.url())[1];
});

await step('passed_checks_are_facts', async () => {
  await text('situation').fill('Anna går i 10. klasse og skal begynde på en erhvervsuddannelse efter sommerferien.');
  await page.locator('#checks-situation .check-item--ok').waitFor();
  const ok = await page.locator('.check-item--ok').allInnerTexts();
  assert(ok.length >= 3, `passed checks shown: ${ok.length}`);
  for (const t of ok) {
    assert(!/\bskal\b/i.test(t), `a passed check reads as an order: »${t}«`);
    assert(!/\bOK\b/.test(t), `a passed check says OK: »${t}«`);
  }
});

await step('section_navigation', async () => {
  const nav = page.locator('nav.section-nav');
  const links = nav.locator('a');
  const n = await links.count();
  const sections = await page.locator('.note-form section.section').count();
  assert(n === sections && n >= 12, `a link per section (${n} links, ${sections} sections)`);
  const states = await nav.locator('.section-nav__state').allInnerTexts();
  assert(states.every((s) => /^\((udfyldt|mangler|advarsel|valgfri)\)$/.test(s)), `each section's state: ${states}`);
  await expectText(nav.locator('a[data-key="situation"]'), 'udfyldt', 'Situation is filled in');
  await expectText(nav.locator('a[data-key="assessment"]'), 'mangler', 'Vurdering is missing');
  // by keyboard: to the navigation's link for Vurdering, Enter: the focus is at the section
  await nav.locator('a').first().focus();
  for (let i = 0; i < n; i++) {
    if (await page.evaluate(() => document.activeElement.dataset.key) === 'assessment') break;
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Enter');
  assert(await page.evaluate(() => document.activeElement.id) === 'sec-assessment-h', 'Enter moves the focus to the section');
  assert(page.url().includes(`#/notater/${noteA}`), 'the address stays the note\'s');
});

await step('near_identical_text_is_a_warning', async () => {
  // The same sentence pasted into two sections: a warning (yellow) beside both, not an error.
  const same = 'Den unge har brug for støtte til struktur i hverdagen og til at møde op i skolen hver dag.';
  await text('assessment').fill(same);
  await text('youth_voice').fill(same);
  await page.locator('#checks-youth_voice .check-item--warning').waitFor();
  await page.locator('#checks-assessment .check-item--warning').waitFor();
  const errors = await page.locator('#checks-assessment .check-item--error, #checks-youth_voice .check-item--error').allInnerTexts();
  assert(!errors.some((t) => /samme tekst/.test(t)), `near-identical text is no error: ${errors}`);
  await expectText(page.locator('nav.section-nav a[data-key="assessment"]'), 'advarsel', 'the navigation says advarsel');
  await shot(page, 'note-06-naesten-samme-tekst');
  await text('youth_voice').fill('Anna vil selv på teknisk skole og har skrevet med på handleplanen.');
  await page.waitForFunction(() => !document.querySelector('#checks-youth_voice .check-item--warning'));
}, ['errors_after_first_send']);

await step('autosave_to_server', async () => {
  const words = `Baggrund skrevet ${Date.now()}: sagen har været i BUR i fire år med en fast kontaktperson.`;
  await text('background').fill(words);
  await saved();
  await page.reload();
  await page.locator('#sec-background').waitFor();
  assert(await text('background').inputValue() === words, 'the text is there after a reload');
  assert(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('stafet.kladde.')).length) === 0,
    'no local copy once the server has the text');
}, ['errors_after_first_send']);

/** Ends the session as if it had expired: the cookie is gone. */
async function expire() {
  await context.clearCookies();
}

async function loginAgain() {
  await page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  // While logged out the copy on this computer is there, and unreadable.
  const stored = await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('stafet.kladde.')).map(([, v]) => v).join('\n'));
  assert(stored.length > 0, 'the unsaved text is kept on this computer');
  for (const secret of [CPR_B, NAME_B, 'Bo bor hjemme', CPR_B.slice(0, 6)]) {
    assert(!stored.includes(secret), 'the local copy is encrypted');
  }
  await login(page, 'kni');
}

await step('expired_session_keeps_every_character', async () => {
  // A new note, never saved: CPR number, name and situation, then the session ends.
  await openNew();
  await page.locator('input[name=cpr]').fill(CPR_B);
  await page.locator('input[name=citizen-name]').fill(NAME_B);
  await text('situation').fill(SITUATION_B);
  await expire();
  await page.locator('#save-draft').click();
  await loginAgain();
  await page.locator('#sec-situation').waitFor();
  assert(await page.locator('input[name=cpr]').inputValue() === CPR_B, 'the CPR number is back');
  assert(await page.locator('input[name=citizen-name]').inputValue() === NAME_B, 'the name is back');
  assert(await text('situation').inputValue() === SITUATION_B, 'every character of the situation is back');
  await expectText(page.locator('#form-messages'), 'Din tekst er hentet tilbage', 'says so');
  await shot(page, 'note-03-tekst-hentet-tilbage');
  // ... and then saved as a draft
  await page.waitForFunction(() => /#\/notater\/[0-9a-f-]{36}/.test(window.location.hash), null, { timeout: TIMEOUT });
  await saved();

  // An existing draft: more text, the session ends while typing.
  const more = 'Vurdering: gode ressourcer, brug for støtte til struktur – skrevet lige før sessionen udløb.';
  await text('assessment').fill(more);
  await expire();
  await page.locator('#save-draft').click();
  await loginAgain();
  await page.locator('#sec-assessment').waitFor();
  assert(await text('assessment').inputValue() === more, 'the draft\'s new text is back');
  assert(await formInPlace(page), 'the form keeps its place above the history');
  assert(await text('situation').inputValue() === SITUATION_B, 'and the saved text with it');
  await saved();
  await page.reload();
  await page.locator('#sec-assessment').waitFor();
  assert(await text('assessment').inputValue() === more, 'and the server has it');
});

await step('offline_keeps_text', async () => {
  await page.goto(`${BASE}/#/notater/${noteA}`);
  await page.locator('#sec-youth_voice').waitFor();
  await context.setOffline(true);
  const words = 'Anna vil selv på teknisk skole – skrevet uden forbindelse.';
  await text('youth_voice').fill(words);
  await expectText(page.locator('#save-state'), 'ingen forbindelse', 'the quiet status', TIMEOUT);
  await expectText(page.locator('#save-state'), 'gemt på denne computer', 'kept locally');
  await shot(page, 'note-04-ingen-forbindelse');
  await context.setOffline(false);
  await saved();
  await page.reload();
  await page.locator('#sec-youth_voice').waitFor();
  assert(await text('youth_voice').inputValue() === words, 'saved once the connection was back');
}, ['errors_after_first_send']);

await step('second_tab_conflict', async () => {
  await page.goto(`${BASE}/#/notater/${noteA}`);
  await page.locator('#sec-situation').waitFor();
  const tab2 = await context.newPage();
  tab2.setDefaultTimeout(TIMEOUT);
  await tab2.goto(`${BASE}/#/notater/${noteA}`);
  await tab2.locator('#sec-situation').waitFor();
  // different sections in the two tabs: put together, nothing lost
  await text('contingency').fill('Beredskab fra fane 1: ring til forældrene samme dag.');
  await saved();
  await tab2.locator('#sec-background textarea').fill('Baggrund fra fane 2: kendt i BUR siden 2019, fast kontaktperson.');
  await expectText(tab2.locator('#form-messages'), 'lagt sammen', 'the two tabs\' changes put together');
  await saved(tab2);
  assert(await formInPlace(tab2), 'the form keeps its place above the history');
  // the same section in both tabs: the second save shows the conflict
  const mine = 'Situation fra fane 2: Anna er startet på grundforløbet.';
  await text('situation').fill('Situation fra fane 1: Anna venter på svar fra skolen.');
  await saved();
  await tab2.locator('#sec-situation textarea').fill(mine);
  const conflict = tab2.locator('#conflict');
  await conflict.waitFor();
  await expectText(conflict, 'Situation fra fane 1', 'the stored version is shown');
  await expectText(conflict, 'Situation fra fane 2', 'and mine');
  assert(await tab2.locator('#sec-situation textarea').inputValue() === mine, 'nothing lost in the second tab');
  await shot(tab2, 'note-05-konflikt');
  await conflict.getByRole('button', { name: 'Behold min udgave' }).click();
  await saved(tab2);
  await page.reload();
  await page.locator('#sec-situation').waitFor();
  assert(await text('situation').inputValue() === mine, 'the chosen version is stored');
  assert((await text('contingency').inputValue()).startsWith('Beredskab fra fane 1'), 'the first tab\'s other change is kept');
  assert((await text('background').inputValue()).startsWith('Baggrund fra fane 2'), 'and the second tab\'s');
  await tab2.close();
}, ['errors_after_first_send']);

await step('delete_draft', async () => {
  // A fresh draft to delete.
  await openNew();
  await page.locator('input[name=cpr]').fill(CPR_C);
  await page.locator('input[name=citizen-name]').fill('Dorte Slettesen');
  await page.waitForFunction(() => /#\/notater\/[0-9a-f-]{36}/.test(window.location.hash), null, { timeout: TIMEOUT });
  await saved();
  const id = /#\/notater\/([0-9a-f-]{36})/.exec(page.url())[1];
  await page.reload();
  await page.locator('#sec-situation').waitFor();
  assert(await page.getByRole('button', { name: /Træk notatet tilbage/ }).count() === 0, 'a draft is not withdrawn');
  await page.getByRole('button', { name: 'Slet kladde …' }).click();
  await page.getByRole('button', { name: 'Ja, slet kladden' }).click();
  await page.waitForFunction((x) => !window.location.hash.includes(x), id, { timeout: TIMEOUT });
  const drafts = await page.evaluate(async () => (await (await fetch('/api/v1/handovers?box=drafts')).json()).items.map((x) => x.id));
  assert(!drafts.includes(id), 'the draft is gone from the drafts');
  if (noteA) assert(drafts.includes(noteA), 'other drafts stay');
});

await finish(browser, [kni]);
