// The JSON API as the admin web app calls it: same origin, the session cookie, and the
// session's CSRF token on every request that changes something.

let csrfToken = '';
let session = null;

/** The signed-in session (or null): its CSRF token goes with every change. */
export function setSession(current) {
  session = current || null;
  csrfToken = (current && current.csrfToken) || '';
}

/** Whether the session may do this: "read", "write", "root" (token management, backups). */
export function can(scope) {
  return Boolean(session && session.scopes && session.scopes.includes(scope));
}

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || (status ? `The server answered ${status}` : 'The server could not be reached'));
    this.status = status;
    this.code = (error && error.code) || (status ? 'HTTP_ERROR' : 'NETWORK_ERROR');
    this.fields = (error && error.fields) || {};
    this.retryAfter = error && error.retryAfter;
    this.requestId = error && error.requestId;
  }
}

function urlOf(path, query) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '' && value !== false) {
      url.searchParams.set(name, String(value));
    }
  }
  return url;
}

/** One request; resolves to the parsed JSON body, throws ApiError for any non-2xx answer. */
export async function request(method, path, options = {}) {
  try {
    return await send(method, path, options);
  } catch (error) {
    // Signing in again (in another tab) replaces the cookie, and with it the session whose CSRF
    // token this page holds: learn the current one and try once more.
    if (error.status === 403 && error.code === 'FORBIDDEN' && method !== 'GET' && !options.retried) {
      const current = await send('GET', SESSION, {});
      if (current && current.data && current.data.csrfToken !== csrfToken) {
        setSession(current.data);
        return request(method, path, { ...options, retried: true });
      }
    }
    throw error;
  }
}

async function send(method, path, { query, body, headers } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['X-CSRF-Token'] = csrfToken;
  }
  let response;
  try {
    response = await fetch(urlOf(path, query), init);
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let payload = null;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, payload && payload.error);
    if (response.status === 401 && !path.endsWith('/admin/session')) {
      // The session ended on the server (expired, signed out elsewhere, key rotated).
      window.dispatchEvent(new CustomEvent('folionaut:session-ended', { detail: { reason: 'expired' } }));
    }
    throw error;
  }
  return payload;
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body, query) => request('POST', path, { body, query }),
  put: (path, body) => request('PUT', path, { body }),
  delete: (path, query) => request('DELETE', path, { query }),
};

export const CONTENT = '/api/v1/admin/content';
export const SESSION = '/api/v1/admin/session';
