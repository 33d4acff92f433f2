// api.js: talking to stafetd's JSON API (../shared/API.md). The session is
// the HttpOnly cookie the daemon sets at login; the browser sends it, and
// an Origin header with every state-changing request, by itself. The token
// in the login answer is never kept.

export const BASE = '/api/v1';

/** A problem answer (RFC 9457) or a network failure. */
export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem || {};
    super(p.detail || p.title || (status ? `HTTP ${status}` : 'Ingen forbindelse'));
    this.status = status;
    this.problem = p;
    this.errors = Array.isArray(p.errors) ? p.errors : [];
  }

  /** A Danish sentence for the caseworker. */
  get userMessage() {
    if (this.status === 0) return 'Stafet svarer ikke. Tjek forbindelsen, og prøv igen.';
    if (this.status === 404) return 'Det, du leder efter, findes ikke, eller du har ikke adgang til det.';
    if (this.status === 503) return this.problem.detail || 'Stafet er ikke klar lige nu. Prøv igen om lidt.';
    if (this.status >= 500) return 'Der skete en fejl i Stafet. Prøv igen om lidt.';
    if (this.errors.length) return this.errors.map((e) => e.message).filter(Boolean).join(' ');
    return this.problem.detail || this.message;
  }
}

let onUnauthorized = () => {};
/** Called when a request answers 401: the session has ended. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

let onChange = () => {};
/** Called after every successful request that changes something (not GET/HEAD). */
export function setChangeHandler(fn) {
  onChange = fn;
}

/**
 * api('GET', '/people', {query: {q}}) → {status, data, etag, response}.
 * Throws ApiError for 4xx/5xx and for a failed connection.
 */
export async function api(method, path, opts = {}) {
  const url = new URL(BASE + path, window.location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: opts.accept || 'application/json', ...(opts.headers || {}) };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  if (opts.signal) init.signal = opts.signal;
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  const type = response.headers.get('Content-Type') || '';
  let data = null;
  if (opts.blob && response.ok) {
    data = await response.blob();
  } else if (type.includes('json')) {
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
  } else if (response.status !== 204) {
    data = await response.text();
  }
  if (!response.ok) {
    const err = new ApiError(response.status, data && typeof data === 'object' ? data : null);
    if (response.status === 401 && !opts.noAuthRedirect) onUnauthorized(err);
    throw err;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    try {
      onChange(method, path);
    } catch (e) { /* a listener must not break the request */ }
  }
  return { status: response.status, data, etag: response.headers.get('ETag'), response };
}

export const get = (path, opts) => api('GET', path, opts);
export const post = (path, body, opts = {}) => api('POST', path, { ...opts, body });
export const patch = (path, body, opts = {}) => api('PATCH', path, { ...opts, body });
export const put = (path, body, opts = {}) => api('PUT', path, { ...opts, body });
export const del = (path, opts) => api('DELETE', path, opts);

/** encodeURIComponent for one path segment. */
export const seg = (s) => encodeURIComponent(s);
