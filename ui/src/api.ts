// The pages' only way to the server: eqlite's JSON API, same origin, authenticated by the session
// cookie the login form set (scripts use API keys or basic auth on the same endpoints).
// State-changing requests carry `kbn-xsrf`, as Kibana's do: the server refuses cookie-authenticated
// writes without it, so another site cannot make a browser change alert status.

/** Where the server mounted us: the path before `/app/` (a reverse proxy may add a prefix). */
export const BASE = (() => {
  const p = location.pathname;
  const i = p.indexOf('/app/');
  return i > 0 ? p.slice(0, i) : p === '/app' || i === 0 ? '' : '';
})();

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Sends the browser to the login form, coming back to this page afterwards. */
export function toLogin(): void {
  const next = location.pathname + location.search + location.hash;
  location.assign(`${BASE}/app/login?next=${encodeURIComponent(next)}`);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const method = init.method ?? 'GET';
  if (method !== 'GET') headers['kbn-xsrf'] = 'eqlite-ui';
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const res = await fetch(BASE + path, { method, headers, body, credentials: 'same-origin', signal: init.signal });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status === 401) {
    toLogin();
    throw new ApiError(401, 'not signed in');
  }
  if (!res.ok) {
    const reason = (json as { error?: { reason?: string } } | null)?.error?.reason;
    throw new ApiError(res.status, reason ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
