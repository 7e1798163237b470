// Browser sessions of the web UI. The login form checks a user's password once (the same scrypt
// verification as HTTP basic auth) and sets a random session token in an HttpOnly, SameSite=Strict
// cookie; only the token's SHA-256 is stored (state.sqlite), so a copy of the database cannot be
// replayed. A session ends after 8 hours idle or 7 days, on sign-out, and as soon as its user is
// removed or given a new password (`eqlite serve keys`), also from another process. Scripts keep
// using API keys or basic auth on the same endpoints.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ROLES, type Principal, type Role } from './auth.js';
import type { StateDb } from './state.js';

export const SESSION_COOKIE = 'eqlite_session';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ui_sessions (
  hash TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  user_created INTEGER NOT NULL,
  created INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ui_sessions_user ON ui_sessions(user);
`;

export interface SessionOptions {
  idleMs?: number;
  lifetimeMs?: number;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The value of one cookie in a request, or null. */
export function readCookie(req: FastifyRequest, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

export class Sessions {
  private readonly idleMs: number;
  private readonly lifetimeMs: number;

  constructor(
    private readonly db: StateDb,
    opts: SessionOptions = {},
  ) {
    db.exec(SCHEMA);
    this.idleMs = opts.idleMs ?? 8 * 3_600_000;
    this.lifetimeMs = opts.lifetimeMs ?? 7 * 86_400_000;
  }

  /** Starts a session for a user who just proved their password; returns the token for the cookie. */
  create(user: Principal): string {
    const row = this.db.prepare("SELECT created FROM credentials WHERE kind = 'user' AND id = ?").get(user.id) as { created: number } | undefined;
    if (!row) throw new Error(`no user ${user.id}`);
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    this.db.prepare('DELETE FROM ui_sessions WHERE last_seen < ? OR created < ?').run(now - this.idleMs, now - this.lifetimeMs);
    this.db.prepare('INSERT INTO ui_sessions (hash, user, user_created, created, last_seen) VALUES (?, ?, ?, ?, ?)').run(digest(token), user.id, row.created, now, now);
    return token;
  }

  /** The signed-in user a request's session cookie stands for, or null (none, unknown, expired, user gone). */
  principal(req: FastifyRequest): Principal | null {
    const token = readCookie(req, SESSION_COOKIE);
    if (!token || token.length > 200) return null;
    const now = Date.now();
    const row = this.db
      .prepare(
        `SELECT s.hash, s.user, s.created, s.last_seen, c.role FROM ui_sessions s
         JOIN credentials c ON c.kind = 'user' AND c.id = s.user AND c.created = s.user_created AND c.revoked IS NULL
         WHERE s.hash = ?`,
      )
      .get(digest(token)) as { hash: string; user: string; created: number; last_seen: number; role: Role } | undefined;
    if (!row || row.last_seen < now - this.idleMs || row.created < now - this.lifetimeMs) return null;
    // Activity keeps the session alive; written at most once a minute.
    if (now - row.last_seen > 60_000) this.db.prepare('UPDATE ui_sessions SET last_seen = ? WHERE hash = ?').run(now, row.hash);
    return { kind: 'user', id: row.user, name: row.user, role: ROLES.includes(row.role) ? row.role : 'read' };
  }

  /** Ends the session of a request's cookie. */
  destroy(req: FastifyRequest): void {
    const token = readCookie(req, SESSION_COOKIE);
    if (token) this.db.prepare('DELETE FROM ui_sessions WHERE hash = ?').run(digest(token));
  }

  /** The Set-Cookie value for a token (an empty token clears the cookie). */
  cookie(token: string, opts: { path: string; secure: boolean }): string {
    const parts = [`${SESSION_COOKIE}=${token}`, `Path=${opts.path}`, 'HttpOnly', 'SameSite=Strict'];
    if (opts.secure) parts.push('Secure');
    if (token === '') parts.push('Max-Age=0');
    return parts.join('; ');
  }
}
