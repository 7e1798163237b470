// Credentials of `eqlite serve`: Elasticsearch-style API keys (`Authorization: ApiKey
// base64(id:key)`, what Beats, Agent, Logstash and Fluent Bit send) and users with passwords
// (HTTP Basic). Secrets are stored as scrypt hashes in state.sqlite; `eqlite serve keys …`
// manages them, also while the service runs.
//
// Once the first credential has been created, every endpoint except /healthz needs one, even if
// all were revoked later (revoking the last key must not open the service). A wrong credential
// gets 401 with the same message whatever was wrong (unknown id, wrong secret, revoked, expired).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash } from 'node:crypto';
import type { StateDb } from './state.js';

export type Role = 'ingest' | 'read' | 'admin';
export const ROLES: readonly Role[] = ['ingest', 'read', 'admin'];

/**
 * What a request needs: `info` (cluster info, licence, health: every role), `ingest` (bulk and
 * the shippers' start-up calls), `read` (searches, alerts, rules, metrics), `write` (alert
 * workflow, rule changes and imports).
 */
export type Privilege = 'info' | 'ingest' | 'read' | 'write';

const GRANTS: Record<Role, ReadonlySet<Privilege>> = {
  ingest: new Set(['info', 'ingest']),
  read: new Set(['info', 'read']),
  admin: new Set(['info', 'ingest', 'read', 'write']),
};

export function allows(role: Role, p: Privilege): boolean {
  return GRANTS[role].has(p);
}

export interface Principal {
  kind: 'api_key' | 'user';
  /** API key id or user name. */
  id: string;
  name: string;
  role: Role;
}

export interface CredentialInfo extends Principal {
  created: string;
  expires: string | null;
  revoked: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS credentials (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  salt BLOB NOT NULL,
  hash BLOB NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER,
  revoked INTEGER,
  PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS auth_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
`;

// scrypt cost: about 50 ms and 16 MiB per verification. Verified credentials are cached (by a
// digest of the header), so a shipper pays it once, not per bulk request.
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;

function scrypt(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(secret, salt, KEYLEN, SCRYPT, (e, k) => (e ? reject(e) : resolve(k))));
}

export class CredentialStore {
  private readonly cache = new Map<string, { principal: Principal; expires: number | null }>();
  private cacheVersion = -1;
  private readonly gate = new Gate(2, 256);

  constructor(private readonly db: StateDb) {
    db.exec(SCHEMA);
  }

  /** True once any credential was ever created (or `auth.required` set it). */
  required(): boolean {
    return this.db.prepare("SELECT 1 FROM auth_meta WHERE k = 'required' AND v = '1'").get() !== undefined;
  }

  setRequired(): void {
    this.db.prepare("INSERT OR REPLACE INTO auth_meta (k, v) VALUES ('required', '1')").run();
  }

  /** Creates an API key; the secret is returned once and never stored. */
  async createApiKey(name: string, role: Role, expiresMs?: number): Promise<{ id: string; api_key: string; encoded: string; name: string; role: Role; expiration?: number }> {
    const id = randomBytes(15).toString('base64url');
    const key = randomBytes(16).toString('base64url');
    const salt = randomBytes(16);
    const hash = await scrypt(key, salt);
    const now = Date.now();
    const expires = expiresMs !== undefined ? now + expiresMs : null;
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO credentials (kind, id, name, role, salt, hash, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('api_key', id, name, role, salt, hash, now, expires);
      this.setRequired();
    })();
    const out: { id: string; api_key: string; encoded: string; name: string; role: Role; expiration?: number } = {
      id,
      api_key: key,
      encoded: Buffer.from(`${id}:${key}`).toString('base64'),
      name,
      role,
    };
    if (expires !== null) out.expiration = expires;
    return out;
  }

  /** Creates or replaces a user. */
  async setUser(username: string, password: string, role: Role): Promise<void> {
    if (username === '' || username.includes(':')) throw new Error('a user name must be non-empty and must not contain ":"');
    if (password.length < 8) throw new Error('a password needs at least 8 characters');
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt);
    this.db.transaction(() => {
      this.db
        .prepare('INSERT OR REPLACE INTO credentials (kind, id, name, role, salt, hash, created, expires, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)')
        .run('user', username, username, role, salt, hash, Date.now());
      this.setRequired();
    })();
    this.cache.clear();
  }

  /** Revokes an API key (by id or name) or removes a user; returns how many were affected. */
  revoke(idOrName: string): number {
    const keys = this.db.prepare("UPDATE credentials SET revoked = ? WHERE kind = 'api_key' AND revoked IS NULL AND (id = ? OR name = ?)").run(Date.now(), idOrName, idOrName).changes;
    const users = this.db.prepare("DELETE FROM credentials WHERE kind = 'user' AND id = ?").run(idOrName).changes;
    // data_version only tells about other connections' changes: forget this one's verifications.
    this.cache.clear();
    return keys + users;
  }

  list(): CredentialInfo[] {
    const rows = this.db.prepare('SELECT kind, id, name, role, created, expires, revoked FROM credentials ORDER BY created').all() as {
      kind: 'api_key' | 'user';
      id: string;
      name: string;
      role: Role;
      created: number;
      expires: number | null;
      revoked: number | null;
    }[];
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return rows.map((r) => ({ kind: r.kind, id: r.id, name: r.name, role: r.role, created: iso(r.created)!, expires: iso(r.expires), revoked: iso(r.revoked) }));
  }

  /**
   * The principal an Authorization header proves, or null (missing, malformed, unknown, wrong
   * secret, revoked or expired — the caller answers all of them the same way).
   */
  async authenticate(header: string | undefined): Promise<Principal | null> {
    if (!header) return null;
    const m = /^(ApiKey|Basic)\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
    if (!m) return null;
    const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return null;
    const kind = m[1]!.toLowerCase() === 'apikey' ? 'api_key' : 'user';
    const id = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    // Another process (`eqlite serve keys revoke`) may have changed the table: data_version
    // changes then, and every cached verification is dropped.
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = version;
    }
    const digest = createHash('sha256').update(kind).update('\0').update(decoded).digest('base64');
    const hit = this.cache.get(digest);
    const now = Date.now();
    if (hit && (hit.expires === null || hit.expires > now)) return hit.principal;
    const row = this.db.prepare('SELECT id, name, role, salt, hash, expires, revoked FROM credentials WHERE kind = ? AND id = ?').get(kind, id) as
      | { id: string; name: string; role: Role; salt: Buffer; hash: Buffer; expires: number | null; revoked: number | null }
      | undefined;
    // Unknown ids still cost one scrypt, so that timing does not tell which part was wrong.
    const salt = row ? row.salt : DUMMY_SALT;
    // At most a few verifications run at once: a flood of made-up credentials costs bounded CPU.
    if (!(await this.gate.enter())) return null;
    let computed: Buffer;
    try {
      computed = await scrypt(secret, salt);
    } finally {
      this.gate.leave();
    }
    if (!row || !timingSafeEqual(computed, row.hash)) return null;
    if (row.revoked !== null || (row.expires !== null && row.expires <= now)) return null;
    const principal: Principal = { kind, id: row.id, name: row.name, role: ROLES.includes(row.role) ? row.role : 'read' };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(digest, { principal, expires: row.expires });
    return principal;
  }
}

const DUMMY_SALT = randomBytes(16);

/** A counting semaphore with a bounded queue (enter() resolves false when the queue is full). */
class Gate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueue: number,
  ) {}

  enter(): Promise<boolean> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(true);
    }
    if (this.queue.length >= this.maxQueue) return Promise.resolve(false);
    return new Promise((resolve) => this.queue.push(() => resolve(true)));
  }

  leave(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}

export function parseRole(s: string): Role {
  const r = s === 'ingest-only' ? 'ingest' : s;
  if ((ROLES as readonly string[]).includes(r)) return r as Role;
  throw new Error(`unknown role "${s}": expected ingest, read or admin`);
}
