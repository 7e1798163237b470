// The event store's writer thread (see protocol.ts). It owns the only write connection to
// `events.sqlite` and commits the items of every request waiting at that moment in one
// transaction: WAL with synchronous=FULL, so a transaction is on disk (fsynced) when COMMIT returns
// and the main thread may acknowledge its items. It also enforces retention, and reports, rather
// than dies of, a full disk or a read-only directory (it keeps retrying to open and to write).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { parseInstant } from '../../events/time.js';
import { EVENTS_SCHEMA, EVENTS_SCHEMA_VERSION } from './schema.js';
import { Op, Outcome, type FromWriter, type RejectedLine, type ToWriter, type WriteItem, type WriterConfig, type WriterFailure } from './protocol.js';

const port = parentPort!;
const cfg = workerData as WriterConfig;
let maxAgeMs = cfg.maxAgeMs;
let maxBytes = cfg.maxBytes;

type Stmt = Database.Statement;
interface Conn {
  db: Database.Database;
  insert: Stmt;
  find: Stmt;
  remove: Stmt;
  mark: Stmt;
  reject: Stmt;
}

let conn: Conn | null = null;
let lastIngested = 0;
let failure: { failure: WriterFailure; message: string } | null = null;
let reopenTimer: NodeJS.Timeout | null = null;
let closing = false;

const send = (m: FromWriter) => port.postMessage(m);
/** The failure state (a function, so that control-flow narrowing does not assume it unchanged). */
const currentFailure = () => failure;

/** Classifies an error from SQLite or the file system. */
function classify(e: unknown): WriterFailure {
  const code = String((e as { code?: unknown }).code ?? '');
  const msg = String((e as Error).message ?? '');
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || /disk is full|no space/i.test(msg)) return 'full';
  if (
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_AUTH' ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    code === 'EROFS' ||
    /readonly|read-only|permission denied/i.test(msg)
  ) {
    return 'readonly';
  }
  return 'io';
}

function open(): boolean {
  try {
    mkdirSync(path.dirname(cfg.path), { recursive: true });
    const db = new Database(cfg.path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 10000');
      // Index pages of a large store stay in memory (64 MiB), so inserts do not re-read them.
      db.pragma('cache_size = -65536');
      // Keep the WAL file from staying large after a burst (it is reused, not grown, otherwise).
      db.pragma('journal_size_limit = 67108864');
      db.exec(EVENTS_SCHEMA);
      db.prepare('INSERT OR IGNORE INTO meta (k, v) VALUES (?, ?)').run('schema_version', EVENTS_SCHEMA_VERSION);
      // A write proves the directory is writable now (opening alone does not).
      db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run('opened_at', String(Date.now()));
    } catch (e) {
      db.close();
      throw e;
    }
    conn = {
      db,
      insert: db.prepare('INSERT INTO events (idx, id, ts, ingested, routed, src) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id, idx) DO NOTHING'),
      find: db.prepare('SELECT seq, src FROM events WHERE id = ? AND idx = ?'),
      remove: db.prepare('DELETE FROM events WHERE seq = ?'),
      mark: db.prepare('INSERT INTO ingest_marks (ingested, first_seq) VALUES (?, ?)'),
      reject: db.prepare('INSERT INTO rejected (at, idx, reason, line) VALUES (?, ?, ?, ?)'),
    };
    const last = db.prepare('SELECT MAX(ingested) AS t FROM ingest_marks').get() as { t: number | null };
    lastIngested = Math.max(lastIngested, last.t ?? 0);
    const seq = db.prepare('SELECT MAX(seq) AS s FROM events').get() as { s: number | null };
    failure = null;
    send({ t: 'ready', lastSeq: seq.s ?? 0 });
    return true;
  } catch (e) {
    conn = null;
    fail(e);
    return false;
  }
}

function fail(e: unknown): void {
  const f = classify(e);
  const message = (e as Error).message ?? String(e);
  const changed = failure === null || failure.failure !== f;
  failure = { failure: f, message };
  if (changed) send({ t: 'unavailable', failure: f, message });
  // A connection that failed on an I/O error may be unusable: start again from a fresh one.
  if (f !== 'full' && conn) {
    try {
      conn.db.close();
    } catch {
      /* already broken */
    }
    conn = null;
  }
  scheduleReopen();
}

function scheduleReopen(): void {
  if (reopenTimer || closing) return;
  reopenTimer = setTimeout(() => {
    reopenTimer = null;
    if (!conn) open();
    else if (failure) probe();
  }, 2000);
  reopenTimer.unref();
}

/** After a full disk: try a small write; success means space is back. */
function probe(): void {
  try {
    conn!.db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run('probe_at', String(Date.now()));
    failure = null;
    send({ t: 'ready', lastSeq: 0 });
  } catch (e) {
    fail(e);
  }
}

// ---- writing -----------------------------------------------------------------------------------

interface Pending {
  req: number;
  items: WriteItem[];
  rejected: RejectedLine[];
}

let queue: Pending[] = [];
let scheduled = false;

function enqueue(p: Pending): void {
  queue.push(p);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  if (!conn || failure) {
    // Fail fast while unavailable; a retry after the reopen may succeed.
    if (!conn) scheduleReopen();
    else if (failure) scheduleReopen();
    const f = failure ?? { failure: 'io' as WriterFailure, message: 'event store is not open' };
    for (const p of batch) send({ t: 'failed', req: p.req, failure: f.failure, message: f.message });
    return;
  }
  const c = conn;
  const now = Date.now();
  const ingested = now > lastIngested ? now : lastIngested;
  const results: { status: number[]; seq: number[] }[] = [];
  try {
    c.db.transaction(() => {
      let first = 0;
      for (const p of batch) {
        const status = new Array<number>(p.items.length);
        const seqs = new Array<number>(p.items.length).fill(0);
        for (let i = 0; i < p.items.length; i++) {
          const r = apply(c, p.items[i]!, ingested);
          status[i] = r.status;
          seqs[i] = r.seq;
          if (r.seq > 0 && first === 0) first = r.seq;
        }
        for (const r of p.rejected) c.reject.run(ingested, r.idx, r.reason, r.line);
        results.push({ status, seq: seqs });
      }
      if (first > 0) c.mark.run(ingested, first);
    }).immediate();
  } catch (e) {
    fail(e);
    const f = currentFailure() ?? { failure: classify(e), message: String(e) };
    for (const p of batch) send({ t: 'failed', req: p.req, failure: f.failure, message: f.message });
    return;
  }
  lastIngested = ingested;
  batch.forEach((p, i) => send({ t: 'done', req: p.req, ingested, status: results[i]!.status, seq: results[i]!.seq }));
}

function insert(c: Conn, it: WriteItem, src: string, ts: number | null, ingested: number): number {
  const info = c.insert.run(it.idx, it.id, ts, ingested, it.routed ?? 0, src);
  return info.changes > 0 ? Number(info.lastInsertRowid) : 0;
}

function apply(c: Conn, it: WriteItem, ingested: number): { status: number; seq: number } {
  switch (it.op) {
    case Op.Create: {
      const seq = insert(c, it, it.src!, it.ts, ingested);
      return seq > 0 ? { status: Outcome.Created, seq } : { status: Outcome.Conflict, seq: 0 };
    }
    case Op.Index: {
      const old = c.find.get(it.id, it.idx) as { seq: number } | undefined;
      if (old) c.remove.run(old.seq);
      return { status: old ? Outcome.Updated : Outcome.Created, seq: insert(c, it, it.src!, it.ts, ingested) };
    }
    case Op.Delete: {
      const old = c.find.get(it.id, it.idx) as { seq: number } | undefined;
      if (!old) return { status: Outcome.NotFound, seq: 0 };
      c.remove.run(old.seq);
      return { status: Outcome.Deleted, seq: 0 };
    }
    case Op.Update: {
      const old = c.find.get(it.id, it.idx) as { seq: number; src: string } | undefined;
      if (!old) {
        if (!it.upsert) return { status: Outcome.NotFound, seq: 0 };
        return { status: Outcome.Created, seq: insert(c, it, it.upsert, timeOf(it.upsert), ingested) };
      }
      const merged = JSON.stringify(merge(JSON.parse(old.src) as unknown, JSON.parse(it.src!) as unknown));
      c.remove.run(old.seq);
      return { status: Outcome.Updated, seq: insert(c, it, merged, timeOf(merged), ingested) };
    }
  }
}

function timeOf(json: string): number | null {
  const doc = JSON.parse(json) as Record<string, unknown>;
  return parseInstant(doc['@timestamp'])?.ms ?? null;
}

/** Elasticsearch's partial-document merge: objects merge recursively, anything else replaces. */
function merge(into: unknown, patch: unknown): unknown {
  if (!isObject(into) || !isObject(patch)) return patch;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(into)) define(out, k, into[k]);
  for (const k of Object.keys(patch)) define(out, k, Object.hasOwn(out, k) ? merge(out[k], patch[k]) : patch[k]);
  return out;
}

/** Assignment that never reaches a prototype, whatever the key (`__proto__` included). */
function define(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// ---- retention -----------------------------------------------------------------------------------

/** Rows deleted per transaction, so that a large clean-up never stalls writes for long. */
const DELETE_CHUNK = 20_000;
const MAX_REJECTED = 100_000;

function retain(): void {
  if (!conn || failure) return;
  const db = conn.db;
  try {
    if (maxAgeMs > 0) {
      const cutoff = Date.now() - maxAgeMs;
      const keep = db.prepare('SELECT first_seq FROM ingest_marks WHERE ingested >= ? ORDER BY ingested LIMIT 1').get(cutoff) as { first_seq: number } | undefined;
      const bound = keep ? keep.first_seq : Number.MAX_SAFE_INTEGER;
      const n = deleteBelow(bound);
      db.prepare('DELETE FROM ingest_marks WHERE ingested < ?').run(cutoff);
      db.prepare('DELETE FROM rejected WHERE at < ?').run(cutoff);
      if (n > 0) send({ t: 'retained', deleted: n, reason: 'age', oldestSeq: oldestSeq() });
    }
    // Rejected lines are kept for inspection, but never more than this many.
    db.prepare('DELETE FROM rejected WHERE seq <= (SELECT MAX(seq) FROM rejected) - ?').run(MAX_REJECTED);
    if (maxBytes > 0) {
      let deleted = 0;
      for (let round = 0; round < 50; round++) {
        const used = usedBytes();
        if (used <= maxBytes) break;
        const oldest = oldestSeq();
        const newest = (db.prepare('SELECT MAX(seq) AS s FROM events').get() as { s: number | null }).s ?? 0;
        const rows = newest - oldest + 1;
        if (rows <= 0) break;
        // Free a little more than the excess (5% of the limit) so this does not run every tick.
        const perRow = used / rows;
        const want = Math.min(DELETE_CHUNK, Math.max(1, Math.ceil((used - maxBytes * 0.95) / perRow)));
        const n = deleteBelow(oldest + want);
        if (n === 0) break;
        deleted += n;
      }
      if (deleted > 0) {
        // Ingest marks and rejected lines older than the oldest kept event go too.
        const oldest = oldestSeq();
        db.prepare('DELETE FROM ingest_marks WHERE rowid IN (SELECT rowid FROM ingest_marks WHERE first_seq < ? ORDER BY first_seq DESC LIMIT -1 OFFSET 1)').run(oldest);
        send({ t: 'retained', deleted, reason: 'size', oldestSeq: oldest });
      }
    }
  } catch (e) {
    fail(e);
  }
}

function oldestSeq(): number {
  return (conn!.db.prepare('SELECT MIN(seq) AS s FROM events').get() as { s: number | null }).s ?? 0;
}

function usedBytes(): number {
  const db = conn!.db;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const size = db.pragma('page_size', { simple: true }) as number;
  return (pages - free) * size;
}

/** Deletes events with seq < bound, in chunks; returns how many. */
function deleteBelow(bound: number): number {
  const db = conn!.db;
  const del = db.prepare('DELETE FROM events WHERE seq < ?');
  let total = 0;
  for (;;) {
    const oldest = oldestSeq();
    if (oldest === 0 || oldest >= bound) return total;
    const upTo = Math.min(bound, oldest + DELETE_CHUNK);
    total += del.run(upTo).changes;
  }
}

// ---- messages ------------------------------------------------------------------------------------

port.on('message', (m: ToWriter) => {
  switch (m.t) {
    case 'write':
      enqueue({ req: m.req, items: m.items, rejected: m.rejected });
      break;
    case 'retention':
      maxAgeMs = m.maxAgeMs;
      maxBytes = m.maxBytes;
      retain();
      break;
    case 'close':
      closing = true;
      flush();
      clearInterval(retentionTimer);
      if (reopenTimer) clearTimeout(reopenTimer);
      try {
        if (conn) {
          conn.db.pragma('wal_checkpoint(TRUNCATE)');
          conn.db.close();
        }
      } catch {
        /* closing anyway */
      }
      conn = null;
      send({ t: 'closed' });
      port.close();
      break;
  }
});

const retentionTimer = setInterval(retain, cfg.retentionEveryMs);
open();
