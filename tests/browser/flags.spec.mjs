// flags.spec.mjs: flags beside the text (issue 20, problem 5), one loop on
// a note of its own. Søren Bøgh (sbo, BUR) files a BUR→UR note for Mette
// Hansen (mha, UR) through the API; Mette reads it and marks two sections
// with "Markér" beside their headings — no panel of checkboxes — and
// returns it; Søren sees each flag beside its section, answers one, fixes
// both and sends the note again; Mette sees, per section, what changed
// since the return (ins/del, words a screen reader reads), the reply
// beside the flag, and the unchanged sections marked as such; finally she
// marks a section and returns the note with the keyboard alone.
//
//   node tests/browser/flags.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]

import {
  BASE, iso, pad, addDays, addMonths, shared, newUser, shot, assert, step, login, expectText, tabTo, focusVisible,
  launch, finish,
} from './lib.mjs';

const today = new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate());
const planned = addDays(today, 28);
const born = addMonths(new Date(planned.getFullYear() - 17, planned.getMonth(), 16), -3);
const CPR = `${pad(born.getDate())}${pad(born.getMonth() + 1)}${String(born.getFullYear()).slice(2)}-4${String(100 + Math.floor(Math.random() * 900))}`;
const UNGEPLAN = iso(addMonths(new Date(born.getFullYear() + 16, born.getMonth(), born.getDate()), 2));

const GOALS_COMMENT = 'Målet for bolig mangler en konkret tidsramme.';
const ASSESS_COMMENT = 'Vurderingen siger ikke, hvad der skal ske først.';
const REPLY = 'Tidsrammen er tilføjet: senest 1. august, når uddannelsen starter.';
const OLD_ASSESSMENT = 'Gode ressourcer, men brug for støtte til struktur i hverdagen.';
const NEW_ASSESSMENT = 'Gode ressourcer, men brug for støtte til struktur i hverdagen. Først: en fast mødeplan med UR.';

const browser = await launch();
const sbo = await newUser(browser, 'sbo');
const mha = await newUser(browser, 'mha');

await step('flags_note_filed', async () => {
  await sbo.page.goto(`${BASE}/`);
  await login(sbo.page, 'sbo');
  const body = {
    route: 'BUR-UR',
    citizen: { cpr: CPR, name: 'Markering Testborger' },
    planned_date: iso(planned),
    sections: {
      situation: 'Den unge går i 10. klasse og skal starte på en erhvervsuddannelse efter sommerferien.',
      background: 'Sagen har været i BUR i fire år med en fast kontaktperson.',
      assessment: OLD_ASSESSMENT,
      youth_voice: 'Den unge vil selv på teknisk skole.',
      placed: false,
      goals: ['uddannelse', 'beskaeftigelse', 'bolig', 'oekonomi'].map((area) => ({ area, goal: `Mål for ${area}`, timeframe: 'inden for et år' })),
      ungeplan: { date: UNGEPLAN, text: 'Afgørelse om ungeplan truffet.' },
      consent: { basis: 'consent', date: iso(addDays(today, -5)), purpose: 'Overdragelse', recipients: 'Ungerådgivningen' },
      actions: [{ action: 'Møde med den unge', owner: 'Søren Bøgh', due: iso(addDays(planned, 7)) }],
      contingency: 'Hvis den unge ikke møder op, så ring til forældrene.',
    },
  };
  shared.flagNote = await sbo.page.evaluate(async (b) => {
    const p = await fetch('/api/v1/people?q=mha');
    const mette = (await p.json()).items.find((x) => x.username === 'mha');
    b.receiver = { unit: 'UR', person: mette.id };
    const r = await fetch('/api/v1/handovers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b) });
    const n = await r.json();
    if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(n)}`);
    const s = await fetch(`/api/v1/handovers/${n.id}/submit`, { method: 'POST' });
    if (s.status !== 200) throw new Error(`submit: ${s.status} ${await s.text()}`);
    return n.id;
  }, body);
  assert(/^[0-9a-f-]{36}$/.test(shared.flagNote), `a note id: ${shared.flagNote}`);
});

await step('mark_beside_section', async () => {
  const { page } = mha;
  await page.goto(`${BASE}/`);
  await login(page, 'mha');
  await page.goto(`${BASE}/#/notater/${shared.flagNote}`);
  await expectText(page.locator('.note-header'), 'Modtaget', 'opened by the receiver');
  // A "Markér" beside every section's heading, and no checkbox panel.
  const sections = await page.locator('.readonly-sections section.readonly-section').count();
  const marks = await page.locator('.readonly-sections section.readonly-section .section-head .mark-button').count();
  assert(sections >= 10 && marks === sections, `a Markér button beside each of the ${sections} sections (${marks})`);
  assert(await page.locator('input[type=checkbox][name=flag-section], .return-row').count() === 0, 'the checkbox panel is gone');
  await expectText(page.locator('#sec-goals .mark-button'), 'Markér', 'the button says Markér');
  await expectText(page.locator('#return-count'), 'Ingen afsnit markeret', 'nothing marked yet');

  // goals: imprecise, with a comment, right there
  await page.locator('#sec-goals .mark-button').click();
  const goals = page.locator('#sec-goals');
  await goals.locator('.mark-form').waitFor();
  await goals.getByRole('radio', { name: 'Upræcist' }).check();
  await goals.getByLabel('Hvad skal afsenderen rette?').fill(GOALS_COMMENT);
  await shot(page, 'flags-01-markering-ved-afsnittet');
  await goals.getByRole('button', { name: 'Gem markeringen' }).click();
  await expectText(goals.locator('.flag--draft'), GOALS_COMMENT, 'the mark shown beside the section');
  await expectText(goals.locator('.mark-button'), 'Ret markeringen', 'the button now edits the mark');
  // assessment: missing (the default)
  await page.locator('#sec-assessment .mark-button').click();
  const assess = page.locator('#sec-assessment');
  await assess.getByLabel('Hvad skal afsenderen rette?').fill(ASSESS_COMMENT);
  await assess.getByRole('button', { name: 'Gem markeringen' }).click();
  await expectText(assess.locator('.flag--draft'), 'Mangler', 'the second mark');
  await expectText(page.locator('#return-count'), '2 afsnit markeret', 'the summary beside Returnér');
  await expectText(page.locator('#return-count'), 'Handleplanens mål', 'the summary names the sections');

  await page.getByRole('button', { name: 'Returnér …' }).click();
  const panel = page.locator('#return-marks');
  await expectText(panel, GOALS_COMMENT, 'the marks collected in the return');
  await expectText(panel, ASSESS_COMMENT, 'both marks');
  await shot(page, 'flags-02-returner-med-markeringer');
  await page.getByRole('button', { name: 'Returnér til afsenderen' }).click();
  await expectText(page.locator('.flash .notice--success'), 'returneret til afsenderen med 2 markeringer', 'returned');
  await expectText(page.locator('.note-header'), 'Returneret', 'status');
}, ['flags_note_filed']);

await step('flag_beside_text_for_sender', async () => {
  const { page } = sbo;
  await page.goto(`${BASE}/#/notater/${shared.flagNote}`);
  await page.locator('#sec-goals .flag').waitFor();
  await expectText(page.locator('#sec-goals .flag'), GOALS_COMMENT, 'the goals flag beside its section');
  await expectText(page.locator('#sec-goals .flag'), 'Upræcist', 'its kind');
  await expectText(page.locator('#sec-assessment .flag'), ASSESS_COMMENT, 'the assessment flag beside its section');
  await expectText(page.locator('#sec-assessment .flag'), 'Mangler', 'its kind');
  assert(await page.locator('#sec-situation .flag').count() === 0, 'no flag beside an unflagged section');
  await shot(page, 'flags-03-markering-hos-afsender');
}, ['mark_beside_section']);

await step('reply_to_flag', async () => {
  const { page } = sbo;
  const flag = page.locator('#sec-goals .flag');
  await flag.getByRole('button', { name: 'Svar på markeringen' }).click();
  await flag.getByLabel('Dit svar til modtageren').fill(REPLY);
  await flag.getByRole('button', { name: 'Gem svaret' }).click();
  await expectText(page.locator('#sec-goals .flag__reply'), REPLY, 'the reply beside the flag');
  await expectText(page.locator('#sec-goals .flag .reply-button'), 'Ret dit svar', 'the reply can be changed');
  // fix both sections, then send again (the form saves on top of the reply's version)
  await page.locator('#sec-goals fieldset[data-area="bolig"]').getByLabel('Tidsramme').fill('senest 1. august, når uddannelsen starter');
  await page.locator('#sec-assessment .section__body textarea').first().fill(NEW_ASSESSMENT);
  await shot(page, 'flags-04-svar-og-rettelse');
  await page.locator('#submit-note').click();
  await expectText(page.locator('.flash .notice--success'), 'Notatet er sendt', 'resubmitted');
  await expectText(page.locator('.note-header'), 'Sendt', 'status');
}, ['flag_beside_text_for_sender']);

await step('diff_since_return', async () => {
  const { page } = mha;
  await page.goto(`${BASE}/#/indbakke`);
  await page.goto(`${BASE}/#/notater/${shared.flagNote}`);
  await expectText(page.locator('.note-header'), 'Modtaget', 'opened again');
  const review = page.locator('#review-changes');
  await expectText(review, 'Rettet siden returneringen', 'the review at the top');
  await expectText(review, REPLY, 'the reply in the review');
  // the flagged sections highlighted, changed, with their changes behind a toggle
  const goals = page.locator('#sec-goals');
  assert(await goals.evaluate((el) => el.classList.contains('readonly-section--flagged')), 'goals highlighted');
  await expectText(goals.locator('.change--changed'), 'Ændret siden returneringen', 'goals changed');
  await expectText(goals.locator('.flag__reply'), REPLY, 'the reply beside the flag');
  const toggle = goals.getByRole('button', { name: 'Vis ændringerne' });
  assert(await toggle.getAttribute('aria-expanded') === 'false', 'closed at first');
  await toggle.click();
  assert(await goals.getByRole('button', { name: 'Skjul ændringerne' }).getAttribute('aria-expanded') === 'true', 'open');
  await expectText(goals.locator('ins').first(), '1. august', 'the new words inserted');
  await expectText(goals.locator('del').first(), 'inden for et år', 'the old words deleted');
  const assess = page.locator('#sec-assessment');
  await assess.getByRole('button', { name: 'Vis ændringerne' }).click();
  await expectText(assess.locator('ins').first(), 'Først: en fast mødeplan med UR.', 'the added sentence');
  // not colour only: the words say what each mark is
  const words = await assess.locator('ins .visually-hidden').first().textContent();
  assert(words.includes('tilføjet'), `ins says »tilføjet« to a screen reader: ${words}`);
  const gone = await goals.locator('del .visually-hidden').first().textContent();
  assert(gone.includes('slettet'), `del says »slettet«: ${gone}`);
  const deco = await assess.locator('ins').first().evaluate((el) => getComputedStyle(el).textDecorationLine);
  assert(deco.includes('underline'), `inserted text is underlined (${deco})`);
  // the others marked as unchanged
  await expectText(page.locator('#sec-situation .change--same'), 'Uændret siden returneringen', 'an unchanged section');
  assert(await page.locator('#sec-situation .change--changed').count() === 0, 'no changes shown for it');
  await shot(page, 'flags-05-aendringer-siden-returneringen');
}, ['reply_to_flag']);

/**
 * axe-core's WCAG 2.1 A/AA rules on the page as it is, at 1366 and 390 px,
 * and at 390 px nothing may scroll sideways: the problems found.
 */
async function accessibility(page, name) {
  const { AxeBuilder } = await import('@axe-core/playwright');
  const found = [];
  for (const vp of [{ width: 1366, height: 900 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(250);
    const res = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    for (const v of res.violations) found.push(`${name} @${vp.width}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (wide > 1) found.push(`${name} @${vp.width}: scrolls sideways by ${wide} px`);
    await shot(page, `${name}-${vp.width}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  return found;
}

await step('flags_accessible', async () => {
  // The states this story adds: the sender's reply form open beside a flag
  // (on a note of its own, returned through the API), and the receiver's
  // mark form open with the changes since the return shown.
  const id = await sbo.page.evaluate(async (old) => {
    const o = await (await fetch(`/api/v1/handovers/${old}`)).json();
    const body = { route: o.route, citizen: { cpr: o.citizen.cpr.replace(/\d{3}$/, (d) => String((Number(d) + 7) % 1000).padStart(3, '0')), name: 'Tilgængelig Testborger' },
      planned_date: o.planned_date, sections: o.sections };
    const r = await fetch('/api/v1/handovers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const n = await r.json();
    if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(n)}`);
    const s = await fetch(`/api/v1/handovers/${n.id}/submit`, { method: 'POST' });
    if (s.status !== 200) throw new Error(`submit: ${s.status} ${await s.text()}`);
    return n.id;
  }, shared.flagNote);
  const returned = await mha.page.evaluate(async (nid) => {
    await fetch(`/api/v1/handovers/${nid}`);
    const r = await fetch(`/api/v1/handovers/${nid}/return`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ flags: [{ section: 'goals', kind: 'missing', comment: 'Målet for bolig mangler.' }] }) });
    return r.status;
  }, id);
  assert(returned === 200, `returned through the API (${returned})`);
  await sbo.page.goto(`${BASE}/#/notater/${id}`);
  await sbo.page.locator('#sec-goals .reply-button').click();
  const found = await accessibility(sbo.page, 'flags-07-svar');

  const { page } = mha;
  await page.locator('#sec-background .mark-button').click();
  await page.locator('#sec-background .mark-form').waitFor();
  found.push(...await accessibility(page, 'flags-08-markering-og-aendringer'));
  await page.locator('#sec-background .mark-form').getByRole('button', { name: 'Fortryd' }).click();
  assert(!found.length, `accessibility problems:\n${found.join('\n')}`);
}, ['diff_since_return']);

await step('mark_keyboard_only', async () => {
  const { page } = mha;
  // From the top of the sections, with the keyboard alone.
  await page.locator('#sec-situation h3').evaluate((el) => { el.setAttribute('tabindex', '-1'); el.focus(); });
  const first = await tabTo(page, (i) => i.tag === 'BUTTON' && i.text.startsWith('Markér'), 20, 'the first Markér button');
  assert(first.text.includes('Situation'), `the first Markér is the situation's (${first.text})`);
  assert(await focusVisible(page), 'the Markér button shows its focus');
  await page.keyboard.press('Enter');
  let active = await page.evaluate(() => ({ type: document.activeElement.type, value: document.activeElement.value }));
  assert(active.type === 'radio' && active.value === 'missing', `Enter opens the form at its first choice (${JSON.stringify(active)})`);
  await page.keyboard.press('ArrowDown');
  active = await page.evaluate(() => document.activeElement.value);
  assert(active === 'imprecise', `the arrow key chooses Upræcist (${active})`);
  await page.keyboard.press('Tab');
  await page.keyboard.type('Situationen nævner ikke skolens vurdering.');
  await page.keyboard.press('Tab');
  assert(await page.evaluate(() => document.activeElement.textContent) === 'Gem markeringen', 'Tab reaches Gem markeringen');
  await page.keyboard.press('Enter');
  const back = await page.evaluate(() => document.activeElement.textContent);
  assert(back.startsWith('Ret markeringen'), `the focus returns to the button (${back})`);
  await expectText(page.locator('#return-count'), '1 afsnit markeret: Situation', 'counted for the return');
  // Escape closes an open form without saving
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  assert((await page.evaluate(() => document.activeElement.textContent)).startsWith('Ret markeringen'), 'Escape returns to the button');
  await tabTo(page, (i) => i.tag === 'BUTTON' && i.text === 'Returnér …', 200, 'Returnér …');
  await page.keyboard.press('Enter');
  await tabTo(page, (i) => i.tag === 'BUTTON' && i.text === 'Returnér til afsenderen', 20, 'Returnér til afsenderen');
  await page.keyboard.press('Enter');
  await expectText(page.locator('.flash .notice--success'), 'returneret til afsenderen med 1 markering', 'returned by keyboard');
  await shot(page, 'flags-06-tastatur');
}, ['diff_since_return']);

await finish(browser, [sbo, mha]);
