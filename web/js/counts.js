// counts.js: what needs the user (GET /me/tasks, API.md 1.1 "Drafts,
// tasks"), fetched once and shared: the menu shows the counts, Mine
// opgaver the items. Fetched again after navigation and after a change
// (at most every few seconds), when the tab comes back into view, and
// slowly in the background — never a fast poll.

import { ApiError, get } from './api.js';

const MIN_GAP_MS = 4000; // navigation and changes: at most one fetch per 4 s
const BACKGROUND_MS = 120000; // an open tab: once every two minutes

let last = null; // {counts, items} or null
let lastAt = 0;
let inflight = null;
let timer = null;
const listeners = new Set();

/** The tasks last fetched, or null. */
export function lastTasks() {
  return last;
}

/** fn(tasks | null) after each fetch; null when the list is not available. */
export function onTasks(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function tell(tasks) {
  for (const fn of listeners) {
    try {
      fn(tasks);
    } catch (e) { /* one listener must not stop the others */ }
  }
}

/**
 * The user's tasks. force: fetch now (Mine opgaver always does); else a
 * fetch within the last few seconds is answered from memory. Throws
 * ApiError only when force is set. quiet: a 401 does not show the login.
 */
export async function loadTasks({ force = false, quiet = false } = {}) {
  if (!force && last && Date.now() - lastAt < MIN_GAP_MS) return last;
  if (inflight) return inflight;
  inflight = (async () => {
    try {
      // quiet (the menu's refresh): an ended session is left to the user's next action
      const { data } = await get('/me/tasks', { noAuthRedirect: quiet });
      last = { counts: data.counts || {}, items: data.items || [] };
      lastAt = Date.now();
      tell(last);
      return last;
    } catch (e) {
      lastAt = Date.now();
      if (!(e instanceof ApiError) || e.status !== 401) tell(null);
      if (force) throw e;
      return null;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

let pending = null;
/**
 * Refresh soon (after navigation or a change); cheap when called often:
 * one fetch at most every few seconds, and always one after the last call.
 */
export function refreshTasks() {
  if (pending) return;
  const wait = Math.max(0, MIN_GAP_MS - (Date.now() - lastAt));
  pending = setTimeout(() => {
    pending = null;
    loadTasks({ force: true, quiet: true }).catch(() => null);
  }, wait);
}

/** Starts the slow background refresh and the refresh on coming back to the tab. */
export function startTaskRefresh() {
  stopTaskRefresh();
  timer = setInterval(() => {
    if (document.visibilityState === 'visible') refreshTasks();
  }, BACKGROUND_MS);
  document.addEventListener('visibilitychange', onVisible);
}

export function stopTaskRefresh() {
  if (timer) clearInterval(timer);
  timer = null;
  if (pending) clearTimeout(pending);
  pending = null;
  document.removeEventListener('visibilitychange', onVisible);
  last = null;
  lastAt = 0;
}

function onVisible() {
  if (document.visibilityState === 'visible') refreshTasks();
}
