// a11y.spec.mjs: accessible by law (issue 20). Danish public bodies' web
// applications must meet WCAG 2.1 AA: axe-core (@axe-core/playwright, the
// rules tagged wcag2a, wcag2aa, wcag21a, wcag21aa) runs on every page and
// key state, at 1366 × 900 and at 390 × 844 (a phone), and any violation
// fails the step, listed with its targets. At 390 px nothing may scroll
// sideways; no visible text may read "null", "undefined", "NaN" or an
// English UI word. A screenshot of every page at both widths lands in
// SCREENSHOT_DIR as a11y-<width>-<page>.png.
//
// Users: Søren Bøgh (sbo, BUR), Mette Hansen (mha, UR), Kirsten Mølgaard
// (kmo, lead and quality). A page reached from the menu is visited only
// when its menu link exists; a page left out is logged ("a11y: skipped").
//
//   node tests/browser/a11y.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]

import { AxeBuilder } from '@axe-core/playwright';
import {
  BASE, iso, pad, addDays, addMonths, newUser, shot, assert, step, login, launch, finish,
} from './lib.mjs';

const WIDE = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
// Visible words that betray a leaked value or English where Danish belongs.
const LEAKS = [/\bnull\b/i, /\bundefined\b/i, /\bNaN\b/];
const ENGLISH = ['Submit', 'Cancel', 'Save', 'Delete', 'Loading', 'Error', 'Back', 'Next', 'Previous', 'Search',
  'Settings', 'Inbox', 'Outbox', 'Drafts?', 'Log ?in', 'Log ?out', 'Sign in', 'Password', 'Username', 'Edit', 'Close',
  'Yes', 'Required', 'Optional', 'Warning', 'Success', 'Failed', 'Unknown', 'Submitted', 'Received', 'Returned',
  'Accepted', 'Withdrawn', 'Tasks', 'Quality', 'Accessibility', 'Help'];
const ENGLISH_RE = new RegExp(`(^|[^\\p{L}\\p{N}_-])(${ENGLISH.join('|')})($|[^\\p{L}\\p{N}_-])`, 'iu');
const OK_RE = /(^|[^\p{L}\p{N}_-])OK($|[^\p{L}\p{N}_-])/u;

// -- the citizens: unique CPR numbers, 17 at the planned date ------------------------------------

const today = new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate());
const planned = addDays(today, 10);
const born = addMonths(new Date(planned.getFullYear() - 17, planned.getMonth(), 14), -2);
const rnd = () => String(100 + Math.floor(Math.random() * 900));
const cpr = () => `${pad(born.getDate())}${pad(born.getMonth() + 1)}${String(born.getFullYear()).slice(2)}-4${rnd()}`;
const UNGEPLAN = iso(addMonths(new Date(born.getFullYear() + 16, born.getMonth(), born.getDate()), 2));

function fullNote(citizenCpr, name) {
  return {
    route: 'BUR-UR',
    citizen: { cpr: citizenCpr, name },
    planned_date: iso(planned),
    sections: {
      situation: 'Den unge går i 10. klasse og skal starte på en erhvervsuddannelse efter sommerferien.',
      background: 'Sagen har været i BUR i tre år med en fast kontaktperson og familiebehandling i hjemmet.',
      assessment: 'Den unge har gode ressourcer, men har brug for støtte til at møde op og holde struktur.',
      youth_voice: 'Den unge vil gerne gå på teknisk skole og har selv været med til at skrive planen.',
      placed: false,
      goals: [['uddannelse', 'Starte på en erhvervsuddannelse'], ['beskaeftigelse', 'Fritidsjob i weekenderne'],
        ['bolig', 'Bo hjemme, til uddannelsen er i gang'], ['oekonomi', 'Lægge et budget sammen med UR']]
        .map(([area, goal]) => ({ area, goal, timeframe: 'inden for et år' })),
      ungeplan: { date: UNGEPLAN, text: 'Afgørelse om ungeplan er truffet og sendt til den unge.' },
      consent: { basis: 'consent', date: iso(addDays(today, -5)), purpose: 'Overdragelse', recipients: 'Ungerådgivningen' },
      actions: [{ action: 'Overdragelsesmøde med den unge', owner: 'Søren Bøgh', due: iso(addDays(planned, 7)) }],
      contingency: 'Hvis den unge ikke møder op i skolen, så ring til forældrene samme dag.',
    },
  };
}

/** A call to the API from the user's page (the session cookie goes along). */
async function call(page, method, path, body = null, headers = {}) {
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
    return { status: r.status, etag: r.headers.get('ETag'), data };
  }, [method, path, body, headers]);
}

// -- the audit of one page ------------------------------------------------------------------------

const audited = [];
const skipped = [];

/** Waits until the page has drawn its heading and its data settled. */
async function settle(page) {
  await page.locator('main h1').first().waitFor();
  await page.waitForFunction(() => !document.getElementById('boot'));
  await page.waitForTimeout(400);
}

function describeViolations(violations) {
  return violations.map((v) => {
    const targets = v.nodes.slice(0, 6).map((n) => n.target.join(' ')).join(' | ');
    const more = v.nodes.length > 6 ? ` (+${v.nodes.length - 6} more)` : '';
    return `${v.id} [${v.impact}] ${v.help}: ${targets}${more}`;
  });
}

/** What sticks out to the right at this width (the culprits of a sideways scroll). */
async function sideways(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= w + 1) return [];
    const name = (el) => {
      const id = el.id ? `#${el.id}` : '';
      const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${id}${cls}`;
    };
    const sticksOut = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > w + 1; };
    const out = [];
    // The outermost elements that stick out, each with the ancestors that name it.
    for (const el of document.querySelectorAll('body *')) {
      if (!sticksOut(el) || (el.parentElement && el.parentElement !== document.body && sticksOut(el.parentElement))) continue;
      const path = [];
      for (let a = el; a && a !== document.body && path.length < 4; a = a.parentElement) path.unshift(name(a));
      out.push(`${path.join(' > ')} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`);
      if (out.length >= 6) break;
    }
    return [`page ${document.documentElement.scrollWidth} px wide at ${w} px`, ...out];
  });
}

async function words(page) {
  const text = await page.evaluate(() => document.body.innerText);
  const found = [];
  for (const re of LEAKS) {
    const m = re.exec(text);
    if (m) found.push(m[0]);
  }
  const e = ENGLISH_RE.exec(text);
  if (e) found.push(e[2]);
  const ok = OK_RE.exec(text);
  if (ok) found.push('OK');
  if (!found.length) return [];
  const at = text.search(new RegExp(found[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return [`visible words ${found.map((w) => `»${w}«`).join(', ')} (…${text.slice(Math.max(0, at - 80), at + 80).replace(/\s+/g, ' ')}…)`];
}

/**
 * Audits the page as it is now at each width: axe's A/AA rules, sideways
 * scrolling at the phone width, leaked values and English words, and a
 * screenshot a11y-<width>-<name>.png. Returns the problems found (empty:
 * none). `after(viewport)` runs at each width before its audit (e.g. open the menu).
 */
async function audit(page, name, { widths = [WIDE, PHONE], after = null } = {}) {
  const problems = [];
  let rulesPassed = 0;
  for (const vp of widths) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(250);
    if (after) await after(vp);
    const res = await new AxeBuilder({ page }).withTags(TAGS).analyze();
    rulesPassed = Math.max(rulesPassed, res.passes.length);
    for (const v of describeViolations(res.violations)) problems.push(`${name} @${vp.width}: axe ${v}`);
    if (vp.width <= 400) for (const s of await sideways(page)) problems.push(`${name} @${vp.width}: scrolls sideways: ${s}`);
    for (const w of await words(page)) problems.push(`${name} @${vp.width}: ${w}`);
    await shot(page, `a11y-${vp.width}-${name}`);
  }
  await page.setViewportSize(WIDE);
  audited.push(name);
  console.log(`a11y: ${name}: ${problems.length ? `${problems.length} problem(s)` : 'no violation'} (${rulesPassed} axe rules passed)`);
  return problems;
}

/** Loads the app afresh at a hash route (a page left with unsaved changes would ask first). */
async function go(page, hash) {
  await page.goto('about:blank');
  await page.goto(`${BASE}/${hash}`);
}

/** Goes to a hash route, if the menu offers it (else logs it as skipped and returns false). */
async function visit(page, hash, name, { needsNav = true } = {}) {
  if (needsNav && await page.locator(`#main-nav a[href="${hash}"]`).count() === 0) {
    skipped.push(`${name} (${hash}): no menu link`);
    console.log(`a11y: skipped ${name}: the menu has no link to ${hash}`);
    return false;
  }
  await go(page, hash);
  await settle(page);
  return true;
}

/** Logs the user in unless the page has a session already. */
async function ensureLogin(user) {
  const { page, who } = user;
  if (await page.locator('#logout').count() === 0 || await page.locator('#logout').isHidden()) {
    await page.goto(`${BASE}/`);
    await page.getByLabel('Brugernavn').waitFor();
    await login(page, who);
  }
  await page.locator('#main-nav a').first().waitFor({ state: 'attached' });
}

function verdict(problems) {
  assert(!problems.length, `${problems.length} accessibility problem(s):\n${problems.join('\n')}`);
}

// -- the story ------------------------------------------------------------------------------------

const browser = await launch();
const sbo = await newUser(browser, 'sbo', WIDE);
const mha = await newUser(browser, 'mha', WIDE);
const kmo = await newUser(browser, 'kmo', WIDE);
const notes = {};

await step('a11y_logged_out', async () => {
  const { page } = sbo;
  const problems = [];
  await page.goto(`${BASE}/`);
  await page.getByRole('heading', { name: 'Log ind i Stafet' }).waitFor();
  problems.push(...await audit(page, 'log-ind'));
  await page.getByLabel('Brugernavn').fill('sbo');
  await page.getByLabel('Adgangskode').fill('forkert');
  await page.getByRole('button', { name: 'Log ind' }).click();
  await page.locator('#login-status .notice--error').waitFor();
  problems.push(...await audit(page, 'log-ind-fejl'));
  // The statement needs no login, and the footer links to it.
  await page.locator('.site-footer').getByRole('link', { name: 'Tilgængelighed' }).click();
  await page.getByRole('heading', { name: 'Tilgængelighedserklæring for Stafet', level: 1 }).waitFor();
  assert(await page.locator('#main-nav').isHidden(), 'no menu without a login');
  problems.push(...await audit(page, 'tilgaengelighed-uden-login'));
  verdict(problems);
});

await step('a11y_caseworker_lists', async () => {
  const { page } = sbo;
  await ensureLogin(sbo);
  const problems = [];
  const listed = [['#/opgaver', 'mine-opgaver'], ['#/indbakke', 'indbakke'], ['#/udbakke', 'udbakke'],
    ['#/kladder', 'kladder'], ['#/varsler', 'varsler'], ['#/indstillinger', 'indstillinger']];
  for (const [hash, name] of listed) {
    if (await visit(page, hash, name)) problems.push(...await audit(page, name));
  }
  // The notices' form (issue 22), where Varsler is on the menu.
  if (await page.locator('#main-nav a[href="#/varsler"]').count()) {
    await visit(page, '#/varsler/ny', 'nyt-varsel', { needsNav: false });
    problems.push(...await audit(page, 'nyt-varsel'));
  }
  // Any other page on the menu that this list does not know yet (the search
  // and Find modtager have their own steps below).
  const known = new Set([...listed.map(([hash]) => hash), '#/sog', '#/modtager', '#/kvalitet']);
  const others = (await page.locator('#main-nav a[href^="#/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href'))))
    .filter((href) => !known.has(href));
  for (const hash of others) {
    const name = `menu-${hash.slice(2).replace(/[^a-z0-9]+/gi, '-')}`;
    if (await visit(page, hash, name)) problems.push(...await audit(page, name));
  }
  // The phone's menu, opened.
  await visit(page, '#/indbakke', 'indbakke');
  problems.push(...await audit(page, 'menu-aaben', {
    widths: [PHONE],
    after: async () => {
      const button = page.locator('#menu-button');
      assert(await button.isVisible(), 'a menu button at 390 px');
      await button.click();
      await page.locator('#main-nav a').first().waitFor({ state: 'visible' });
    },
  }));
  await go(page, `#/tilgaengelighed`);
  await page.getByRole('heading', { name: 'Tilgængelighedserklæring for Stafet', level: 1 }).waitFor();
  await settle(page);
  problems.push(...await audit(page, 'tilgaengelighed'));
  verdict(problems);
});

await step('a11y_search_person_unit', async () => {
  const { page } = sbo;
  await ensureLogin(sbo);
  const problems = [];
  assert(await visit(page, '#/sog', 'sog'), 'Søg kollega is on the menu');
  await page.getByLabel('Søg efter navn, titel, enhed eller e-mail').fill('hansen');
  await page.locator('#search-results .person-card').first().waitFor();
  await page.waitForTimeout(300);
  problems.push(...await audit(page, 'sog-resultater'));
  await page.locator('#search-results .person-card a').first().click();
  await page.locator('main dl').first().waitFor();
  await settle(page);
  problems.push(...await audit(page, 'kollega'));
  await visit(page, '#/sog', 'sog');
  await page.locator('.unit-tree').getByRole('link', { name: 'Ungerådgivningen', exact: true }).click();
  await page.getByRole('heading', { name: 'Ungerådgivningen (UR)', level: 1 }).waitFor();
  await settle(page);
  problems.push(...await audit(page, 'enhed'));
  verdict(problems);
});

await step('a11y_counterpart_answer', async () => {
  const { page } = sbo;
  await ensureLogin(sbo);
  assert(await visit(page, '#/modtager', 'find-modtager'), 'Find modtager is on the menu');
  await page.locator('input[name=cpr]').fill(cpr());
  await page.locator('input[name=cpr]').press('Enter');
  await page.locator('#cp-result-heading').waitFor();
  await page.waitForTimeout(300);
  verdict(await audit(page, 'find-modtager-svar'));
});

await step('a11y_new_note_errors', async () => {
  const { page } = sbo;
  await ensureLogin(sbo);
  await go(page, `#/notater/ny`);
  await settle(page);
  await page.locator('input[name=cpr]').fill(cpr());
  await page.locator('input[name=citizen-name]').fill('Tilgængelig Testborger');
  const problems = [...await audit(page, 'notat-nyt')];
  await page.locator('#submit-note').click();
  await page.locator('#form-messages .notice--error, #form-messages [role=alert]').first().waitFor();
  await page.waitForTimeout(300);
  problems.push(...await audit(page, 'notat-fejl'));
  verdict(problems);
});

await step('a11y_submitted_note', async () => {
  const { page } = sbo;
  await ensureLogin(sbo);
  const made = await call(page, 'POST', '/handovers', fullNote(cpr(), 'Sendt Testborger'));
  assert(made.status === 201, `a complete note could not be made: ${made.status} ${JSON.stringify(made.data).slice(0, 400)}`);
  const sent = await call(page, 'POST', `/handovers/${made.data.id}/submit`, null, { 'If-Match': made.etag });
  assert(sent.status === 200, `the note could not be sent: ${sent.status} ${JSON.stringify(sent.data).slice(0, 600)}`);
  notes.sent = made.data.id;
  await go(page, `#/notater/${notes.sent}`);
  await page.locator('.note-header').waitFor();
  await settle(page);
  verdict(await audit(page, 'notat-sendt'));
});

await step('a11y_receiver', async () => {
  const { page } = mha;
  assert(notes.sent, 'no sent note to receive (a11y_submitted_note)');
  await ensureLogin(mha);
  const problems = [];
  for (const [hash, name] of [['#/opgaver', 'modtager-mine-opgaver'], ['#/indbakke', 'modtager-indbakke']]) {
    if (await visit(page, hash, name)) problems.push(...await audit(page, name));
  }
  if (await page.locator('#main-nav a[href="#/varsler"]').count()) {
    await visit(page, '#/varsler/kommende', 'kommende-overdragelser', { needsNav: false });
    problems.push(...await audit(page, 'kommende-overdragelser'));
  }
  await go(page, `#/notater/${notes.sent}`);
  await page.locator('.note-header').waitFor();
  await settle(page);
  problems.push(...await audit(page, 'notat-modtaget'));
  // The return dialog open, then the note returned with a flag.
  const ret = page.getByRole('button', { name: /^Returnér/ }).first();
  if (await ret.count()) {
    await ret.click();
    await page.waitForTimeout(300);
    problems.push(...await audit(page, 'notat-returner'));
  } else {
    skipped.push('notat-returner: no »Returnér« button');
    console.log('a11y: skipped notat-returner: no »Returnér« button');
  }
  const cur = await call(page, 'GET', `/handovers/${notes.sent}`);
  const back = await call(page, 'POST', `/handovers/${notes.sent}/return`,
    { flags: [{ section: 'goals', kind: 'imprecise', comment: 'Målet for bolig mangler en konkret tidsramme.' }] },
    { 'If-Match': cur.etag });
  assert(back.status === 200, `the note could not be returned: ${back.status} ${JSON.stringify(back.data).slice(0, 400)}`);
  notes.returned = notes.sent;
  verdict(problems);
});

await step('a11y_returned_note', async () => {
  const { page } = sbo;
  assert(notes.returned, 'no returned note (a11y_receiver)');
  await ensureLogin(sbo);
  await go(page, `#/notater/${notes.returned}`);
  await page.locator('.note-header').waitFor();
  await page.locator('.section--flagged').first().waitFor({ state: 'attached' });
  await settle(page);
  verdict(await audit(page, 'notat-returneret'));
});

await step('a11y_quality_lead', async () => {
  const { page } = kmo;
  await ensureLogin(kmo);
  const problems = [];
  for (const [hash, name] of [['#/opgaver', 'leder-mine-opgaver'], ['#/kvalitet', 'kvalitet']]) {
    if (await visit(page, hash, name)) problems.push(...await audit(page, name));
  }
  assert(audited.includes('kvalitet'), 'kmo sees Kvalitet on the menu');
  verdict(problems);
});

await step('a11y_pages_covered', async () => {
  console.log(`a11y: audited ${audited.length} pages at ${WIDE.width} and ${PHONE.width} px: ${audited.join(', ')}`);
  if (skipped.length) console.log(`a11y: skipped: ${skipped.join('; ')}`);
  // The pages every caseworker has must all have been audited.
  const must = ['log-ind', 'log-ind-fejl', 'tilgaengelighed-uden-login', 'indbakke', 'udbakke', 'indstillinger',
    'sog-resultater', 'kollega', 'enhed', 'find-modtager-svar', 'notat-fejl', 'tilgaengelighed'];
  const missing = must.filter((n) => !audited.includes(n));
  assert(!missing.length, `not audited: ${missing.join(', ')}`);
});

await finish(browser, [sbo, mha, kmo]);
