// lib.mjs: what every browser spec shares — the command line
// (BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]), launching Debian's
// Chromium, users in their own contexts watched for console errors, page
// errors, CSP violations and requests to other origins, steps whose outcome
// goes to RESULTS_JSON, and small helpers (login, waiting for text, Tab
// until an element, the alert mails in the SMTP sink's maildir).

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [BASE_ARG, SHOTS = 'build/screenshots', MAILDIR = '', RESULTS = ''] = process.argv.slice(2);
if (!BASE_ARG) {
  console.error(`usage: node ${path.basename(process.argv[1])} BASE_URL SCREENSHOT_DIR [MAILDIR [RESULTS_JSON]]`);
  process.exit(2);
}
export { SHOTS, MAILDIR, RESULTS };
export const BASE = BASE_ARG.replace(/\/+$/, '');
export const PASSWORD = 'demo';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=da-DK'];
export const TIMEOUT = 15000;

fs.mkdirSync(SHOTS, { recursive: true });

// -- dates and the citizen ---------------------------------------------------------------------

export const pad = (n) => String(n).padStart(2, '0');
export const iso = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
export function addDays(d, n) {
  const x = new Date(d);
  x.setDate(x.getDate() + n);
  return x;
}
export function addMonths(d, n) {
  const x = new Date(d.getFullYear(), d.getMonth() + n, 1);
  x.setDate(Math.min(d.getDate(), new Date(x.getFullYear(), x.getMonth() + 1, 0).getDate()));
  return x;
}
// -- bookkeeping ----------------------------------------------------------------------------------

export const results = [];
export const problems = []; // console errors and CSP violations nobody expected
export const shared = {};

/** Console errors that the story causes on purpose. */
export const allowed = [];
/** A spec allows console errors its story causes on purpose: fn(status, url) -> bool. */
export function allowConsoleError(fn) {
  allowed.push(fn);
}

function expectedConsoleError(text, url) {
  const m = /status of (\d{3})/.exec(text);
  if (!/^Failed to load resource/.test(text) || !m) return false;
  const status = Number(m[1]);
  if (status === 401 && /\/api\/v1\/(me|session)$/.test(url)) return true; // not logged in yet, or a wrong password
  if (status === 422 && /\/api\/v1\/handovers\/[0-9a-f-]{36}\/submit$/.test(url)) return true; // submit blocked by errors
  return allowed.some((fn) => fn(status, url));
}

export function watch(page, who) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const url = (msg.location() && msg.location().url) || '';
    const text = msg.text();
    if (msg.type() === 'warning' && !/Content Security Policy|Refused to/i.test(text)) return;
    if (expectedConsoleError(text, url)) return;
    problems.push(`${who}: console ${msg.type()}: ${text} (${url})`);
  });
  page.on('pageerror', (err) => problems.push(`${who}: page error: ${err.message}`));
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !['data:', 'blob:'].includes(u.protocol)) {
      problems.push(`${who}: request to a foreign origin: ${req.url()}`);
    }
  });
}

export async function newUser(browser, who, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: 'da-DK', acceptDownloads: true });
  // CSP violations are also reported as DOM events: collect them.
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective}: ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || ''})`);
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  watch(page, who);
  return { context, page, who };
}

export async function cspViolations(page) {
  try {
    return await page.evaluate(() => window.__csp || []);
  } catch (e) {
    return [];
  }
}

export async function shot(page, name) {
  // From the top, so sticky parts sit where they belong in a full-page picture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export async function step(name, fn, needs = []) {
  const missing = needs.filter((n) => !results.find((r) => r.name === n && r.ok));
  const started = Date.now();
  if (missing.length) {
    results.push({ name, ok: false, ms: 0, error: `not run: needs ${missing.join(', ')}` });
    console.log(`SKIP ${name} (needs ${missing.join(', ')})`);
    return;
  }
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - started, error: String(e && e.stack ? e.stack : e) });
    console.log(`FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
}

export async function login(page, username) {
  await page.getByLabel('Brugernavn').fill(username);
  await page.getByLabel('Adgangskode').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log ind' }).click();
  await page.locator('#logout').waitFor();
}

export function nav(page, name) {
  return page.locator('#main-nav').getByRole('link', { name, exact: true });
}

/** Waits until the (first) element holds the text. */
export async function expectText(locator, text, what, timeout = TIMEOUT) {
  const el = locator.first();
  await el.waitFor({ timeout });
  const deadline = Date.now() + timeout;
  let t = '';
  for (;;) {
    t = await el.innerText().catch(() => '');
    if (t.includes(text) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert(t.includes(text), `${what}: expected »${text}« in »${t.slice(0, 300)}«`);
}

/** Presses Tab until the focused element matches pred (at most `max` times). */
export async function tabTo(page, pred, max = 60, what = 'element') {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const a = document.activeElement;
      return { tag: a.tagName, text: (a.innerText || a.value || '').trim(), id: a.id, name: a.getAttribute('name'), label: a.labels && a.labels[0] ? a.labels[0].innerText : '' };
    });
    if (pred(info)) return info;
  }
  throw new Error(`Tab never reached ${what}`);
}

export async function focusVisible(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    const s = getComputedStyle(a);
    return a.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  });
}

/** The mail to `rcpt` that links to the note, from the SMTP sink's maildir. */
export async function mailLink(rcpt, noteId, forbidden = [], timeoutMs = 15000) {
  const dir = path.join(MAILDIR, 'new');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fs.existsSync(dir)) {
      for (const f of fs.readdirSync(dir).sort()) {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        if (!new RegExp(`^X-RcptTo:.*${rcpt.replace('.', '\\.')}`, 'mi').test(text)) continue;
        const m = /(https?:\/\/\S+\/#\/notater\/([0-9a-f-]{36}))/.exec(text);
        if (m && m[2] === noteId) {
          assert(!forbidden.some((s) => text.includes(s)), 'the mail must not carry the CPR number or the name');
          return m[1];
        }
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${rcpt} with a link to note ${noteId}`);
}

/** Launches Chromium headless, as every spec does. */
export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
}

/** Console errors and CSP violations of these users, then the results
 * written and the process ended with the number of failed steps. */
export async function finish(browser, users = []) {
  for (const u of users.filter(Boolean)) {
    const v = await cspViolations(u.page);
    for (const x of v) problems.push(`${u.who}: CSP violation: ${x}`);
  }
  await browser.close();
  const failed = results.filter((r) => !r.ok);
  if (RESULTS) fs.writeFileSync(RESULTS, JSON.stringify({ results, problems }, null, 2));
  for (const f of failed) console.log(`\n--- ${f.name}\n${f.error}`);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(Math.min(failed.length, 100));
}
