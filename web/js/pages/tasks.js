// tasks.js: "Mine opgaver", the page a caseworker lands on: what needs
// them, most urgent first (GET /me/tasks, API.md 1.1): notes to receive,
// returned notes to fix, drafts, deadlines due and notices to acknowledge,
// each with its due date and how soon, and the counts with links to the
// lists they come from.

import { ApiError } from '../api.js';
import { loadTasks } from '../counts.js';
import { h, notice } from '../dom.js';
import { dateText, daysUntil, dueText, routeShortName } from '../labels.js';
import { canSend, loadRoutes, routeByCode } from '../state.js';

// The kinds of task, in Danish (API.md: items[].kind).
export const TASK_KIND = {
  to_receive: 'Skal modtages',
  receive: 'Skal modtages',
  to_fix: 'Skal rettes',
  fix: 'Skal rettes',
  returned: 'Skal rettes',
  draft: 'Kladde',
  drafts: 'Kladde',
  due_soon: 'Frist nærmer sig',
  deadline: 'Frist nærmer sig',
  due: 'Frist nærmer sig',
  notice: 'Varsel skal kvitteres',
  notice_to_acknowledge: 'Varsel skal kvitteres',
  notices_to_acknowledge: 'Varsel skal kvitteres',
  acknowledge: 'Varsel skal kvitteres',
  milestone: 'Milepæl',
  notice_milestone: 'Milepæl',
};

// The counts, their words and where they lead (API.md: counts).
const COUNTS = [
  { key: 'to_receive', one: 'notat at modtage', many: 'notater at modtage', href: '#/indbakke' },
  { key: 'to_fix', one: 'returneret notat at rette', many: 'returnerede notater at rette', href: '#/udbakke?status=returned' },
  { key: 'drafts', one: 'kladde', many: 'kladder', href: '#/kladder' },
  { key: 'due_soon', one: 'frist, der nærmer sig eller er overskredet', many: 'frister, der nærmer sig eller er overskredet', href: null },
  { key: 'notices_to_acknowledge', one: 'varsel at kvittere for', many: 'varsler at kvittere for', href: '#/varsler/kommende?status=open' },
];

function kindText(kind, due) {
  const n = daysUntil(due);
  if ((kind === 'due_soon' || kind === 'deadline' || kind === 'due') && n !== null && n < 0) return 'Frist overskredet';
  return TASK_KIND[kind] || 'Opgave';
}

function dueLine(due, kind) {
  if (!due) return null;
  // A notice's date is when the citizen is expected, not a deadline.
  if (kind === 'notice_to_acknowledge') return h('p', { class: 'task__due' }, 'Forventet overdragelse ', h('time', { datetime: due }, dateText(due)));
  const n = daysUntil(due);
  const cls = ['task__due', n !== null && n < 0 ? 'task__due--late' : null, n !== null && n >= 0 && n <= 7 ? 'task__due--soon' : null];
  return h('p', { class: cls }, 'Frist ', h('time', { datetime: due }, dateText(due)), ` (${dueText(due)})`);
}

function taskItem(t) {
  const route = routeByCode(t.route);
  // A note's task opens the note; a notice's (notice_id: to acknowledge, a milestone) the notice.
  const target = t.handover_id ? `#/notater/${encodeURIComponent(t.handover_id)}`
    : t.notice_id ? `#/varsler/${encodeURIComponent(t.notice_id)}` : null;
  const name = [t.title || kindText(t.kind, t.due), t.ref ? [' ', h('span', { class: 'task__ref' }, `(${t.ref})`)] : null];
  return h('li', { class: ['task', `task--${String(t.kind || 'other').replace(/[^a-z_]/g, '')}`] },
    h('span', { class: ['badge', 'task__kind', t.kind === 'to_fix' ? 'badge--error' : 'badge--info'] }, kindText(t.kind, t.due)),
    h('h2', { class: 'task__title' }, target ? h('a', { href: target }, name) : name),
    t.route ? h('p', { class: 'task__meta muted' }, route ? routeShortName(route) : 'Rute ukendt') : null,
    dueLine(t.due, t.kind));
}

function countList(counts) {
  const items = COUNTS.filter((c) => Number(counts[c.key]) > 0).map((c) => {
    const n = Number(counts[c.key]);
    const body = [h('span', { class: 'task-count__n' }, String(n)), ' ', n === 1 ? c.one : c.many];
    return h('li', {}, c.href ? h('a', { class: 'task-count', href: c.href }, body) : h('span', { class: 'task-count' }, body));
  });
  if (!items.length) return null;
  return h('section', { class: 'task-counts', 'aria-labelledby': 'task-counts-h' },
    h('h2', { id: 'task-counts-h', class: 'visually-hidden' }, 'Antal'),
    h('ul', { class: 'task-counts__list' }, items));
}

function emptyState(sendable) {
  return h('div', { class: 'task-empty' },
    h('p', {}, 'Du har ingen opgaver lige nu. Der er ingen notater, der venter på dig, og ingen frister, der nærmer sig.'),
    h('ul', { class: 'link-list' },
      sendable ? h('li', {}, h('a', { href: '#/notater/ny' }, 'Skriv et nyt overdragelsesnotat')) : null,
      h('li', {}, h('a', { href: '#/modtager' }, 'Find modtageren af en sag')),
      h('li', {}, h('a', { href: '#/indbakke' }, 'Se alle notater i indbakken')),
      h('li', {}, h('a', { href: '#/udbakke' }, 'Se alle notater i udbakken'))));
}

export async function render(el, { isCurrent }) {
  el.append(
    h('h1', { class: 'page-title' }, 'Mine opgaver'),
    h('p', { class: 'lead' }, 'Det, der venter på dig: notater at modtage eller rette, kladder og frister — det mest presserende først.'),
  );
  const holder = h('div', { class: 'tasks' }, h('p', { role: 'status' }, 'Henter dine opgaver …'));
  el.append(holder);
  const routes = await loadRoutes().catch(() => []);
  let tasks;
  try {
    tasks = await loadTasks({ force: true });
  } catch (e) {
    if (!isCurrent()) return undefined;
    holder.replaceChildren(
      notice(e instanceof ApiError && e.status !== 404 ? 'error' : 'info',
        e instanceof ApiError && e.status !== 404 ? e.userMessage : 'Stafet kan ikke vise din opgaveliste lige nu.'),
      h('p', {}, 'Se i stedet ', h('a', { href: '#/indbakke' }, 'indbakken'), ', ',
        h('a', { href: '#/udbakke' }, 'udbakken'), ' og ', h('a', { href: '#/kladder' }, 'dine kladder'), '.'));
    return undefined;
  }
  if (!isCurrent()) return undefined;
  const items = tasks.items || [];
  if (!items.length) {
    holder.replaceChildren(countList(tasks.counts) || '', emptyState(routes.some((r) => canSend(r))));
    return undefined;
  }
  holder.replaceChildren(
    countList(tasks.counts) || '',
    h('p', { class: 'visually-hidden', role: 'status' }, `${items.length} ${items.length === 1 ? 'opgave' : 'opgaver'}.`),
    h('ol', { class: 'task-list', id: 'task-list', 'aria-label': 'Opgaver, de mest presserende først' }, items.map(taskItem)));
  return undefined;
}
