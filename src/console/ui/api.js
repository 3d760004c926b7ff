// The admin API, same origin. The admin key lives in sessionStorage (this
// tab only, gone when it closes) and travels in the `x-api-key` header,
// never in a URL.

const KEY = 'gantry.console.admin-key';

export const session = {
  key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** A failed admin call: which route, the status, and the gateway's own words. */
export class ApiError extends Error {
  constructor(route, status, type, message, requestId, code) {
    super(message);
    this.route = route;
    this.status = status;
    this.type = type;
    this.requestId = requestId;
    this.code = code;
  }
  /** The route exists on neither this gateway nor its config (404 `route_not_found`). */
  get missing() {
    return this.status === 404 && this.code === 'route_not_found';
  }
}

const listeners = new Set();
/** Called with the error whenever the gateway refuses the admin key (401). */
export function onUnauthorized(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** URL of an admin route relative to the console's own (`/console/` → `/admin/…`), so a path prefix keeps working. */
export function adminUrl(path, params) {
  const url = new URL(`../admin/${path}`, document.baseURI);
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

/**
 * Calls an admin route and returns its JSON. Throws `ApiError` with the
 * envelope's message (or what went wrong on the way) when it fails.
 */
export async function api(path, { params, method = 'GET', body, signal, key = session.key() } = {}) {
  const url = adminUrl(path, params);
  const route = `${method} /admin/${path}`;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        'x-api-key': key ?? '',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(route, 0, 'network_error', 'The gateway did not answer (is it running?).');
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = json?.error;
    const error = new ApiError(
      route,
      res.status,
      e?.type ?? 'http_error',
      e?.message ?? `HTTP ${res.status}`,
      json?.request_id ?? res.headers.get('request-id'),
      e?.details?.gantry_code,
    );
    if (res.status === 401) for (const fn of listeners) fn(error);
    throw error;
  }
  if (json === null) throw new ApiError(route, res.status, 'invalid_json', 'The answer was not JSON.');
  return json;
}
