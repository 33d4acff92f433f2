// localcopy.js: the copy of a note's unsaved text that the browser keeps
// while the server cannot take it (no connection, an expired session, a
// CPR number not complete yet), so that nothing typed is lost (issue 20).
//
// The text is about children: it is written to localStorage only encrypted
// (AES-GCM, a fresh IV each time) under the user's own key, which the
// daemon hands to the logged-in user in GET /me (`draft_key`, random per
// user, kept server side). Another user of the same computer sees that a
// record exists, never what it holds; the same user reads it after logging
// in again. Without the key (an old daemon, no WebCrypto) nothing is kept.
// The record's name carries a digest of the key, not the user's name, and
// the note's id or "ny" for a note not yet created on the server. A record
// is deleted as soon as the server has the text.

import { state } from '../state.js';

const PREFIX = 'stafet.kladde.';
let cached = null; // {raw, key: CryptoKey, tag}

function b64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The logged-in user's key for local copies, or null when there is none. */
export async function userKey() {
  const raw = state.me && state.me.draft_key;
  if (!raw || !window.crypto || !window.crypto.subtle || !window.localStorage) return null;
  if (cached && cached.raw === raw) return cached;
  try {
    const bytes = unb64(raw);
    const key = await crypto.subtle.importKey('raw', bytes, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const tag = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
    bytes.fill(0);
    cached = { raw, key, tag };
    return cached;
  } catch (e) {
    return null;
  }
}

const nameOf = (k, slot) => `${PREFIX}${k.tag}.${slot}`;
const enc = new TextEncoder();

/** Encrypts and stores payload (an object) in the slot; true when kept. */
export async function keepLocal(k, slot, payload) {
  if (!k) return false;
  try {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc.encode(slot) }, k.key,
      enc.encode(JSON.stringify(payload)));
    localStorage.setItem(nameOf(k, slot), JSON.stringify({ v: 1, iv: b64(iv), ct: b64(new Uint8Array(ct)) }));
    return true;
  } catch (e) {
    return false;
  }
}

/** The slot's payload, or null (none, or not readable with this key). */
export async function readLocal(k, slot) {
  if (!k) return null;
  try {
    const rec = JSON.parse(localStorage.getItem(nameOf(k, slot)) || 'null');
    if (!rec || rec.v !== 1) return null;
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(rec.iv), additionalData: enc.encode(slot) },
      k.key, unb64(rec.ct));
    return JSON.parse(new TextDecoder().decode(plain));
  } catch (e) {
    return null;
  }
}

export function dropLocal(k, slot) {
  if (!k) return;
  try {
    localStorage.removeItem(nameOf(k, slot));
  } catch (e) { /* storage off: nothing was kept */ }
}

/**
 * The slots of this user's local copies ("ny" or a note's id): text that
 * has not reached the server yet, for a page that wants to point to it.
 */
export async function localSlots() {
  const k = await userKey();
  if (!k) return [];
  const head = `${PREFIX}${k.tag}.`;
  const out = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const name = localStorage.key(i);
      if (name && name.startsWith(head)) out.push(name.slice(head.length));
    }
  } catch (e) { /* storage off */ }
  return out;
}
