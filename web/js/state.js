// state.js: what the pages share while the tab is open: who is logged in,
// the routes, the unit tree, templates, and the facts handed from "Find
// modtager" to a new note. Nothing here is written to storage: a CPR
// number must never end up in localStorage or in a URL.

import { get, seg } from './api.js';

export const state = {
  me: null,
  routes: null, // [{code, name, from_unit, to_unit, template, template_version, kle, rules}]
  units: null, // the tree from GET /units
  unitIndex: null, // code → {unit, parent}
  templates: new Map(), // route code → template
  seed: null, // {route, citizen, receiver, sections} for #/notater/ny
  flash: null, // {id, text}: a message for the next view of a note
};

export function resetState() {
  state.me = null;
  state.routes = null;
  state.units = null;
  state.unitIndex = null;
  state.templates.clear();
  state.seed = null;
  state.flash = null;
}

export async function loadRoutes() {
  if (!state.routes) {
    const { data } = await get('/routes');
    state.routes = data.items || [];
  }
  return state.routes;
}

export function routeByCode(code) {
  return (state.routes || []).find((r) => r.code === code) || null;
}

/** A route's name, or its code while the routes are not known. */
export function routeName(code) {
  const r = routeByCode(code);
  return r ? r.name : code;
}

export async function loadUnits() {
  if (!state.units) {
    const { data } = await get('/units');
    state.units = data.items || [];
    state.unitIndex = new Map();
    const walk = (u, parent) => {
      state.unitIndex.set(u.code, { unit: u, parent });
      for (const c of u.children || []) walk(c, u.code);
    };
    for (const u of state.units) walk(u, null);
  }
  return state.units;
}

export function unitName(code) {
  const e = state.unitIndex && state.unitIndex.get(code);
  return e ? e.unit.name : code;
}

/** Is unit `code` the unit `top` or below it? */
export function unitWithin(code, top) {
  if (!code || !top) return false;
  let c = code;
  for (let hops = 0; c && hops < 1000; hops++) {
    if (c === top) return true;
    const e = state.unitIndex && state.unitIndex.get(c);
    c = e ? e.parent : null;
  }
  return false;
}

export function roles() {
  return (state.me && state.me.roles) || [];
}

export function hasRole(role) {
  return roles().some((r) => r.role === role);
}

/** The quality page is for the quality role and for unit leads. */
export function canSeeQuality() {
  return hasRole('quality') || hasRole('lead');
}

/** May the user file notes on this route (as the daemon decides it)? */
export function canSend(route) {
  const me = state.me;
  if (!me || !route) return false;
  if (!route.from_unit) return true;
  if (me.unit && unitWithin(me.unit.code, route.from_unit)) return true;
  return roles().some((r) => r.role === 'lead' && r.unit && unitWithin(r.unit, route.from_unit));
}

export async function loadTemplate(route) {
  if (!state.templates.has(route)) {
    const { data } = await get(`/templates/${seg(route)}`);
    state.templates.set(route, data);
  }
  return state.templates.get(route);
}

/** A section's label from a route's template, if it is loaded. */
export function sectionLabel(route, key) {
  const fixed = { citizen: 'Borgeren', planned_date: 'Planlagt overdragelsesdato', receiver: 'Modtager' };
  if (fixed[key]) return fixed[key];
  const t = state.templates.get(route);
  const s = t && (t.sections || []).find((x) => x.key === key);
  return s ? s.label : key;
}
