// dom.js: building the page with DOM APIs only. No innerHTML with data and
// no inline style (the Content-Security-Policy forbids it): classes and
// attributes only.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, child) {
  if (child === null || child === undefined || child === false || child === true) return;
  if (Array.isArray(child)) {
    for (const c of child) append(el, c);
    return;
  }
  el.append(child instanceof Node ? child : document.createTextNode(String(child)));
}

function setAttrs(el, attrs, isSvg) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'text') {
      el.textContent = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (!isSvg && (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate')) {
      el[k] = v;
    } else if (k === 'style') {
      throw new Error('inline styles are not allowed (CSP)');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/** h('p', {class: 'x'}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  setAttrs(el, attrs, false);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs, true);
  append(el, children);
  return el;
}

/** el.append that skips null, undefined and booleans (the DOM's append writes "null"). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let uid = 0;
/** A fresh id for label/for and aria-describedby pairs. */
export function newId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Tells screen readers something (the polite live region). */
export function announce(message) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  // a new text node after a tick, so the same message is read again
  setTimeout(() => { el.textContent = message; }, 50);
}

export function debounce(fn, ms) {
  let t = null;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  wrapped.flush = (...args) => {
    clearTimeout(t);
    return fn(...args);
  };
  return wrapped;
}

/** Dates as Danes write them (dd-mm-åååå, labels.js); ISO stays in the API and in date inputs. */
export { dateText as fmtDate, dateTimeText as fmtDateTime } from './labels.js';

/** Today as YYYY-MM-DD in local time. */
export function todayIso() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A labelled form field: returns {wrap, input, id}. */
export function field(label, input, { help, hint, wrapClass } = {}) {
  const id = input.id || newId('f');
  input.id = id;
  const described = [];
  // Det Fælles Designsystem's names (form-*) beside our own.
  const tag = input.tagName;
  const textual = tag === 'TEXTAREA' || (tag === 'INPUT' && !['checkbox', 'radio', 'hidden', 'file'].includes(input.type));
  if (tag === 'SELECT') input.classList.add('form-select');
  else if (textual) input.classList.add('form-input');
  const parts = [h('label', { for: id, class: 'field__label form-label' }, label)];
  if (hint) {
    const hid = newId('hint');
    described.push(hid);
    parts.push(h('span', { id: hid, class: 'field__hint form-hint' }, hint));
  }
  if (help) {
    const hid = newId('help');
    described.push(hid);
    parts.push(h('span', { id: hid, class: 'field__help form-hint' }, help));
  }
  if (described.length) input.setAttribute('aria-describedby', described.join(' '));
  parts.push(input);
  const err = h('span', { class: 'field__error form-error-message', id: newId('err'), hidden: true });
  parts.push(err);
  const wrap = h('div', { class: ['field', 'form-group', wrapClass] }, parts);
  return { wrap, input, id, error: err };
}

/** Shows (or with null hides) a field's error message and marks the input invalid. */
export function setFieldError(f, message) {
  if (!f || !f.error) return;
  if (message) {
    f.error.textContent = message;
    f.error.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
    const d = (f.input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!d.includes(f.error.id)) d.push(f.error.id);
    f.input.setAttribute('aria-describedby', d.join(' '));
    if (f.wrap) f.wrap.classList.add('form-error');
  } else {
    f.error.textContent = '';
    f.error.hidden = true;
    f.input.removeAttribute('aria-invalid');
    if (f.wrap) f.wrap.classList.remove('form-error');
  }
}

/** A message box: kind is info, success, warning or error. */
export function notice(kind, ...children) {
  const role = kind === 'error' ? 'alert' : 'status';
  return h('div', { class: ['notice', `notice--${kind}`, 'alert', `alert-${kind}`], role }, ...children);
}

/** A wrapper that lets a wide table scroll sideways (and be scrolled by keyboard). */
export function tableWrap(label, table) {
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}
