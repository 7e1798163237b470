// The web UI's routes: the pages under /app/ (one HTML shell; the bundled script draws the page
// the URL names and talks to the JSON API), their static assets (built by `npm run build` into
// dist/ui), the login form and sign-out, and `GET /_security/_authenticate` (who am I, as
// Elasticsearch answers it). Once credentials exist, only the login form and its stylesheet are
// served without them; a page request without a valid session goes to the login form.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialStore } from './auth.js';
import { readTextBody, sendJson } from './http.js';
import type { Metrics } from './metrics.js';
import { SESSION_COOKIE, readCookie, type Sessions } from './sessions.js';

export interface UiDeps {
  credentials: CredentialStore;
  sessions: Sessions;
  metrics: Metrics;
  /** URL path prefix the server is mounted under ('' or '/something'). */
  prefix: string;
  tls: boolean;
  /** serve: live detection; ui: a hunt --db store opened by `eqlite ui`. */
  mode: 'serve' | 'ui';
}

/** Where `npm run build` put the UI: dist/ui beside dist/serve, or (running from src/) ../../dist/ui. */
export function uiDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const d of [path.resolve(here, '../ui'), path.resolve(here, '../../dist/ui')]) if (existsSync(path.join(d, 'index.html'))) return d;
  return null;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
};

/** Assets anyone may fetch: what the login form itself needs. */
const PUBLIC_ASSETS = new Set(['login.css', 'favicon.svg']);

// No script but our own bundle, no inline script, no framing, no plugins; connections only back
// to this server. Styles: uPlot positions its elements with style attributes.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function registerUi(app: FastifyInstance, deps: UiDeps): void {
  const { prefix } = deps;
  const dir = uiDir();
  const assets = new Map<string, { body: Buffer; etag: string }>();
  if (dir) {
    for (const f of readdirSync(path.join(dir, 'assets'))) {
      const body = readFileSync(path.join(dir, 'assets', f));
      assets.set(f, { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
    }
  }
  const page = (name: string) => (dir ? readFileSync(path.join(dir, name), 'utf8').replaceAll('__BASE__', prefix) : null);
  const indexHtml = page('index.html');
  const loginHtml = page('login.html');
  const cookiePath = prefix || '/';

  /** A path to come back to after signing in: only pages of this app (no open redirect). */
  const safeNext = (v: unknown): string => {
    const s = typeof v === 'string' ? v : '';
    return s.startsWith(`${prefix}/app/`) && !s.startsWith('//') && !/[\\\r\n]/.test(s) && !s.startsWith(`${prefix}/app/login`) ? s : `${prefix}/app/alerts`;
  };

  const sendPage = (reply: FastifyReply, html: string | null) => {
    securityHeaders(reply).header('content-type', 'text/html; charset=utf-8');
    if (html === null) return reply.code(503).send('<!doctype html><title>eqlite</title><p>The web UI is not built: run <code>npm run build</code>.</p>');
    return reply.code(200).send(html);
  };

  app.get('/app', { config: { privilege: 'public' } }, (_req, reply) => reply.redirect(`${prefix}/app/alerts`, 302));

  app.get('/app/login', { config: { privilege: 'public' } }, (req, reply) => {
    const q = (req.query ?? {}) as Record<string, string>;
    if (!deps.credentials.required()) return reply.redirect(safeNext(q.next), 303);
    const html = loginHtml
      ?.replace('__NEXT__', escapeHtml(safeNext(q.next)))
      .replace(' __ERROR_HIDDEN__', q.error ? '' : ' hidden');
    return sendPage(reply, html ?? null);
  });

  app.post('/app/login', { config: { privilege: 'public' } }, async (req, reply) => {
    const form = new URLSearchParams(await readTextBody(req, 64 * 1024));
    const next = safeNext(form.get('next'));
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    // The same verification as basic auth; API keys cannot sign in to a browser session.
    const principal = username && password && !username.includes(':') ? await deps.credentials.authenticate(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`) : null;
    if (!principal || principal.kind !== 'user') {
      deps.metrics.authFailures.inc();
      return reply.redirect(`${prefix}/app/login?error=1&next=${encodeURIComponent(next)}`, 303);
    }
    const token = deps.sessions.create(principal);
    reply.header('set-cookie', deps.sessions.cookie(token, { path: cookiePath, secure: deps.tls }));
    return reply.redirect(next, 303);
  });

  app.post('/app/logout', { config: { privilege: 'public' } }, (req, reply) => {
    deps.sessions.destroy(req);
    reply.header('set-cookie', deps.sessions.cookie('', { path: cookiePath, secure: deps.tls }));
    return reply.redirect(`${prefix}/app/login`, 303);
  });

  app.get('/app/assets/:file', { config: { privilege: 'public' } }, async (req: FastifyRequest, reply) => {
    const { file } = req.params as { file: string };
    const a = assets.get(file);
    if (!PUBLIC_ASSETS.has(file) && deps.credentials.required()) {
      // The app's own code and styles are for signed-in users only.
      const ok = readCookie(req, SESSION_COOKIE) !== null ? deps.sessions.principal(req) : await deps.credentials.authenticate(req.headers.authorization);
      if (!ok) return sendJson(reply.code(401), 401, { error: { type: 'security_exception', reason: 'sign in first' }, status: 401 });
    }
    if (!a) return reply.code(404).header('content-type', 'text/plain').send('not found');
    securityHeaders(reply).header('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream').header('etag', a.etag);
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.send(a.body);
  });

  // Every other page of the app: the same shell (the script routes on the URL).
  app.get('/app/*', { config: { privilege: 'read', page: true } }, (_req, reply) => sendPage(reply, indexHtml));

  // Who is asking, in Elasticsearch's shape, plus whether credentials are in force at all.
  app.get('/_security/_authenticate', { config: { privilege: 'info' } }, (req, reply) => {
    const p = req.principal;
    const type = !p || !deps.credentials.required() ? 'anonymous' : p.kind === 'api_key' ? 'api_key' : readCookie(req, SESSION_COOKIE) && !req.headers.authorization ? 'token' : 'realm';
    sendJson(reply, 200, {
      username: p?.name ?? 'anonymous',
      roles: [p?.role ?? 'admin'],
      full_name: null,
      email: null,
      metadata: {},
      enabled: true,
      authentication_realm: { name: p?.kind === 'api_key' ? '_es_api_key' : 'eqlite', type: p?.kind === 'api_key' ? '_es_api_key' : 'native' },
      lookup_realm: { name: p?.kind === 'api_key' ? '_es_api_key' : 'eqlite', type: p?.kind === 'api_key' ? '_es_api_key' : 'native' },
      authentication_type: type,
      ...(p?.kind === 'api_key' ? { api_key: { id: p.id, name: p.name } } : {}),
      auth_required: deps.credentials.required(),
      mode: deps.mode,
    });
  });
}
