// The dashboard's API client: credentials from the sign-in form (kept for this tab only), every
// action sent as JSON (the server refuses anything else, which keeps it CSRF-safe).
export const config = JSON.parse(document.getElementById('pgsched-config').textContent);

const STORE = 'pgsched-auth';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
  }
}

export function credentials() {
  return sessionStorage.getItem(STORE);
}

export function signIn(value) {
  if (config.auth === 'token') sessionStorage.setItem(STORE, `Bearer ${value.token}`);
  else sessionStorage.setItem(STORE, `Basic ${btoa(`${value.username}:${value.password}`)}`);
}

export function signOut() {
  sessionStorage.removeItem(STORE);
}

const listeners = new Set();
/** Called with every 401, so the app can show its sign-in form. */
export function onUnauthorized(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { 'x-pgsched-ui': '1', accept: 'application/json' };
  const auth = credentials();
  if (auth) headers.authorization = auth;
  if (method !== 'GET') headers['content-type'] = 'application/json';
  const response = await fetch(`api/${path}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) for (const listener of listeners) listener();
    throw new ApiError(response.status, data);
  }
  return data;
}

/** A query string of the non-empty fields. */
export function query(fields) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields))
    if (v !== undefined && v !== null && v !== '') params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}
