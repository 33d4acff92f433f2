// exports.spec.mjs: a colleague and one's deadlines leave Stafet (issue 21).
// Mette Hansen (mha, UR) finds Søren Bøgh on Søg kollega, calls or mails
// him from the card (tel:, mailto:) and saves him as a contact (a vCard
// download); in Indstillinger she subscribes to her deadlines, gets the
// address to paste into Outlook with a »Kopiér« button, the feed at that
// address is a calendar, a new address stops the old one, and »Stop
// abonnementet« stops it.
//
//   node tests/browser/exports.spec.mjs BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]

import fs from 'node:fs';

import { BASE, newUser, shot, assert, step, login, expectText, launch, finish } from './lib.mjs';

const browser = await launch();
const mha = await newUser(browser, 'mha', { width: 1280, height: 900 });

/** What the page's own session gets from a URL (status and text). */
async function fetchText(page, url) {
  return page.evaluate(async (u) => {
    const r = await fetch(u, { cache: 'no-store' });
    return { status: r.status, type: r.headers.get('Content-Type'), text: await r.text() };
  }, url);
}

await step('save_contact', async () => {
  const page = mha.page;
  await page.goto(`${BASE}/`);
  await login(page, 'mha');
  await page.goto(`${BASE}/#/sog?q=${encodeURIComponent('Søren Bøgh')}`);
  const card = page.locator('.person-card', { has: page.getByRole('link', { name: 'Søren Bøgh', exact: true }) }).first();
  await card.waitFor();
  const tel = card.locator('a[href^="tel:"]').first();
  assert(/^tel:\+45\d{8}$/.test(await tel.getAttribute('href')), `a tel: link without spaces: ${await tel.getAttribute('href')}`);
  assert(await card.locator('a[href="mailto:sbo@stafet.example"]').count() === 1, 'a mailto: link');
  const save = card.getByRole('link', { name: 'Gem kontakt' });
  await expectText(save, 'Gem kontakt', 'the link names what it does');
  const [download] = await Promise.all([page.waitForEvent('download'), save.click()]);
  assert(download.suggestedFilename() === 'sbo.vcf', `the file name: ${download.suggestedFilename()}`);
  const file = await download.path();
  const vcf = fs.readFileSync(file, 'utf8');
  assert(vcf.startsWith('BEGIN:VCARD\r\nVERSION:4.0\r\n'), `a vCard 4.0: ${vcf.slice(0, 60)}`);
  assert(vcf.includes('\r\nFN:Søren Bøgh\r\n'), `the name with its Danish letters: ${vcf}`);
  assert(vcf.includes('\r\nEMAIL;TYPE=work:sbo@stafet.example\r\n'), 'the mail address');
  // The person page has the link too.
  await card.getByRole('link', { name: 'Søren Bøgh', exact: true }).click();
  await page.getByRole('heading', { name: 'Søren Bøgh', level: 1 }).waitFor();
  assert(await page.getByRole('link', { name: 'Gem kontakt' }).count() === 1, 'Gem kontakt on the person page');
  await shot(page, 'exports-person');
});

await step('calendar_subscribe', async () => {
  const page = mha.page;
  await mha.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await page.goto(`${BASE}/#/indstillinger`);
  await page.getByRole('heading', { name: 'Mine frister i kalenderen' }).waitFor();
  await expectText(page.locator('main'), 'aldrig CPR-numre', 'what the calendar never shows');
  await page.getByRole('button', { name: 'Abonnér på mine frister' }).click();
  const field = page.getByLabel('Adressen til din kalender');
  await field.waitFor();
  const url = await field.inputValue();
  assert(/\/cal\/[A-Za-z0-9_-]{43}\.ics$/.test(url), `the address: ${url}`);
  await expectText(page.locator('main'), 'Fra internettet', 'how to add it in Outlook');
  await page.getByRole('button', { name: 'Kopiér' }).click();
  await expectText(page.locator('main [role="status"]').last(), 'kopieret', 'the copy is confirmed');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert(copied === url, `the clipboard holds the address: ${copied}`);
  const feed = await fetchText(page, url);
  assert(feed.status === 200 && /^text\/calendar/.test(feed.type), `the feed: ${feed.status} ${feed.type}`);
  assert(feed.text.includes('BEGIN:VCALENDAR') && feed.text.includes('TZID:Europe/Copenhagen'), 'a calendar in Copenhagen time');
  await shot(page, 'exports-calendar');
  // A new address stops the old one.
  await page.getByRole('button', { name: 'Lav en ny adresse' }).click();
  await page.waitForFunction((old) => {
    const i = document.querySelector('.calendar-feed input');
    return i && i.value && i.value !== old;
  }, url);
  const url2 = await field.inputValue();
  assert((await fetchText(page, url)).status === 404, 'the old address is gone');
  assert((await fetchText(page, url2)).status === 200, 'the new address works');
  // Stop.
  await page.getByRole('button', { name: 'Stop abonnementet' }).click();
  await expectText(page.locator('main [role="status"]').last(), 'Abonnementet er stoppet', 'the stop is confirmed');
  assert(await page.locator('.calendar-feed input').count() === 0, 'the address is no longer shown');
  assert((await fetchText(page, url2)).status === 404, 'the address answers 404 after the stop');
}, ['save_contact']);

await finish(browser, [mha]);
