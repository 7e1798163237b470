// The event store's writer thread (see protocol.ts). It owns the only write connection to
// `events.sqlite` and commits the items of every request waiting at that moment in one
// transaction (WAL). A transaction's requests are answered only once it is on disk: COMMIT writes
// its frames to the WAL file, and the WAL file is then fsynced (WalSync below) before the main
// thread learns the outcome, so it acknowledges only what is durable. It also enforces retention,
// and reports, rather than dies of, a full disk or a read-only directory (it keeps retrying to
// open and to write).
import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { parseInstant } from '../../events/time.js';
import { EVENTS_SCHEMA, EVENTS_SCHEMA_VERSION } from './schema.js';
import { scannedTime, scannedTimeRefusal, scanObject, timestampRefusal, TS_NONE, type ScanResult } from '../json-scan.js';
import { autoId } from './auto-id.js';
import { AUTO_ID_LENGTH, F, META, Op, Outcome, type FromWriter, type ItemRefusal, type RejectedLine, type ToWriter, type WriteBatch, type WriterConfig, type WriterFailure } from './protocol.js';

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
      // A new store gets 64 KiB pages (an existing one keeps its own): a 2–3 KB document is a
      // small part of a page, and a commit of many appended rows writes few, full pages. With
      // 4 KiB pages the same inserts took 3.8 times the CPU (bench of 40,000 events).
      db.pragma('page_size = 65536');
      db.pragma('journal_mode = WAL');
      // NORMAL: COMMIT writes the transaction's WAL frames without fsyncing them; WalSync fsyncs
      // the WAL file off this thread before the transaction's requests are answered (see there).
      // Checkpoints still fsync the WAL before copying it into the database, as under FULL.
      db.pragma('synchronous = NORMAL');
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
      // The document's bytes as sent, stored as text (CAST: no decoding, no copy into a JS string).
      insert: db.prepare('INSERT INTO events (idx, id, ts, ingested, routed, src) VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT)) ON CONFLICT (id, idx) DO NOTHING'),
      find: db.prepare('SELECT seq, src FROM events WHERE id = ? AND idx = ?'),
      remove: db.prepare('DELETE FROM events WHERE seq = ?'),
      mark: db.prepare('INSERT INTO ingest_marks (ingested, first_seq) VALUES (?, ?)'),
      reject: db.prepare('INSERT INTO rejected (at, idx, reason, line) VALUES (?, ?, ?, ?)'),
    };
    // The WAL file exists now (the write above made it): its directory entry is made durable
    // once, as SQLite does on a new WAL's first sync under FULL.
    walSync = new WalSync(cfg.path + '-wal');
    syncDirectory(path.dirname(cfg.path));
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

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fail(e: unknown): void {
  const f = classify(e);
  const message = (e as Error).message ?? String(e);
  const changed = failure === null || failure.failure !== f;
  failure = { failure: f, message };
  if (changed) send({ t: 'unavailable', failure: f, message });
  // A connection that failed on an I/O error may be unusable: start again from a fresh one.
  if (f !== 'full') dropConnection();
  scheduleReopen();
}

/** Closes the connection (it may be unusable) and its WAL syncer; the next reopen starts afresh. */
function dropConnection(): void {
  if (!conn) return;
  try {
    conn.db.close();
  } catch {
    /* already broken */
  }
  conn = null;
  walSync?.retire();
  walSync = null;
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

type Pending = { req: number } & WriteBatch;

let queue: Pending[] = [];
let scheduled = false;

function enqueue(p: Pending): void {
  queue.push(p);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

interface BatchResult {
  status: Int32Array;
  seq: Float64Array;
  autoIds: string;
  refused: ItemRefusal[];
}

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  if (!conn || failure) {
    // Fail fast while unavailable; a retry after the reopen may succeed.
    scheduleReopen();
    const f = failure ?? { failure: 'io' as WriterFailure, message: 'event store is not open' };
    for (const p of batch) send({ t: 'failed', req: p.req, failure: f.failure, message: f.message });
    return;
  }
  const c = conn;
  const now = Date.now();
  const ingested = now > lastIngested ? now : lastIngested;
  const results: BatchResult[] = [];
  try {
    c.db.transaction(() => {
      let first = 0;
      for (const p of batch) {
        const r = applyBatch(c, p, ingested);
        results.push(r);
        if (first === 0) for (let i = 0; i < r.seq.length && first === 0; i++) first = r.seq[i]!;
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
  const answers: Answer[] = batch.map((p, i) => {
    const r = results[i]!;
    // The bytes buffer goes back too: reused for a later request, it spares the main thread a
    // fresh allocation (and its page faults) per request.
    const spare = p.bytes.buffer instanceof ArrayBuffer && p.bytes.buffer.byteLength >= MIN_SPARE ? p.bytes.buffer : null;
    const transfer = [r.status.buffer as ArrayBuffer, r.seq.buffer as ArrayBuffer];
    if (spare) transfer.push(spare);
    return { m: { t: 'done', req: p.req, ingested, status: r.status, seq: r.seq, autoIds: r.autoIds, refused: r.refused, spare }, transfer };
  });
  // Answered once the WAL holding the commit is fsynced; the next transaction is built meanwhile.
  walSync!.committed(answers);
}

/** A committed request's answer, sent once the commit is on disk. */
interface Answer {
  m: Extract<FromWriter, { t: 'done' }>;
  transfer: ArrayBuffer[];
}

/**
 * Durability of commits. The connection runs synchronous=NORMAL: when COMMIT returns, the
 * transaction's frames (its commit frame last) are written to the WAL file, maybe not yet on disk.
 * Its answers wait here for an fsync of the WAL file that began after that COMMIT returned: an
 * fsync makes every write made to the file before it began durable, so the transaction, and every
 * one before it, is then on disk — what synchronous=FULL guarantees when COMMIT returns (SQLite
 * recovers a WAL up to its last valid commit frame). Under FULL this thread waited for the disk
 * in every COMMIT; here the fsync runs on libuv's thread pool while this thread builds the next
 * transaction. One fsync at a time, each covering every commit made before it began; answers go
 * out in commit order. If an fsync fails, its commits are not acknowledged (the requests fail as
 * a whole and the shippers retry them; what is stored answers as a duplicate by its id).
 */
class WalSync {
  private readonly fd: number;
  /** Answers of commits made since the running fsync began. */
  private waiting: Answer[] = [];
  /** Answers the running fsync covers (null: none running). */
  private syncing: Answer[] | null = null;
  private retired = false;
  private closed = false;
  private broken = false;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
  }

  committed(answers: Answer[]): void {
    if (this.broken) {
      syncFailed(answers, new Error('an earlier sync of this connection failed'));
      return;
    }
    for (const a of answers) this.waiting.push(a);
    this.kick();
  }

  private kick(): void {
    if (this.syncing !== null) return;
    if (this.waiting.length === 0) {
      if (this.retired) this.close();
      return;
    }
    const covered = (this.syncing = this.waiting);
    this.waiting = [];
    fsync(this.fd, (err) => {
      // (Already answered when the store was closed meanwhile: see drain.)
      if (this.syncing !== covered) return;
      this.syncing = null;
      if (err) {
        // What was written before a failed fsync may be lost (the kernel can drop the pages it
        // could not write): nothing committed on this connection is acknowledged any more.
        const all = [...covered, ...this.waiting];
        this.waiting = [];
        this.broken = true;
        syncFailed(all, err);
      } else deliver(covered);
      this.kick();
    });
  }

  /** Answers everything committed, after a synchronous fsync (the store is closing). */
  drain(): void {
    const all = [...(this.syncing ?? []), ...this.waiting];
    this.syncing = null;
    this.waiting = [];
    if (all.length === 0) return;
    try {
      if (this.broken) throw new Error('an earlier sync of this connection failed');
      fsyncSync(this.fd);
    } catch (e) {
      syncFailed(all, e);
      return;
    }
    deliver(all);
  }

  /** The connection is gone: the fd is closed once the commits made on it are answered. */
  retire(): void {
    this.retired = true;
    this.kick();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      /* closing anyway */
    }
  }
}

function deliver(answers: Answer[]): void {
  for (const a of answers) port.postMessage(a.m, a.transfer);
}

/**
 * Commits whose WAL could not be fsynced: not acknowledged (the requests fail as a whole), the
 * store is failed, and the connection is dropped whatever the cause, to be opened afresh.
 */
function syncFailed(answers: Answer[], e: unknown): void {
  const f = classify(e);
  const message = `the event store could not be synced to disk: ${(e as Error).message ?? String(e)}`;
  for (const a of answers) send({ t: 'failed', req: a.m.req, failure: f, message });
  fail(e);
  dropConnection();
}

let walSync: WalSync | null = null;

/** Bytes buffers smaller than this are not handed back (the pool keeps request-sized buffers). */
const MIN_SPARE = 64 * 1024;

const scan: ScanResult = { error: null, tsKind: TS_NONE, tsStart: 0, tsEnd: 0, picked: null };
const BLANK_ID = ' '.repeat(AUTO_ID_LENGTH);

/** Applies one request's items; refused documents and the parser's rejected lines go to `rejected`, in request order. */
function applyBatch(c: Conn, p: WriteBatch, ingested: number): BatchResult {
  const n = p.count;
  const m = p.meta;
  const bytes = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  const status = new Int32Array(n);
  const seq = new Float64Array(n);
  const ids: string[] = new Array<string>(n);
  const refused: ItemRefusal[] = [];
  const rejected: RejectedLine[] = [];
  /** Item i, the document doc of index idx, refused: its reason answered, its line kept in `rejected`. */
  const refuse = (i: number, idx: string, doc: Buffer, reason: string): void => {
    status[i] = Outcome.Invalid;
    refused.push({ i, reason });
    rejected.push({ reason, idx, line: doc.toString('utf8', 0, Math.min(doc.length, REJECTED_LINE_MAX)), at: m[i * META + F.line]! });
  };
  for (let i = 0; i < n; i++) {
    const o = i * META;
    const op = m[o + F.op]! as Op;
    const idx = p.names[m[o + F.index]!]!;
    const clientId = p.ids ? p.ids[i]! : null;
    const routed = m[o + F.routed]!;
    ids[i] = BLANK_ID;
    if (op === Op.Delete) {
      const r = remove(c, clientId!, idx);
      status[i] = r;
      continue;
    }
    const off = m[o + F.srcOff]!;
    const len = m[o + F.srcLen]!;
    const doc = bytes.subarray(off, off + len);
    // Documents the request parser checked come with their @timestamp; the others are checked here.
    const checked = m[o + F.checked] === 1 && op !== Op.Update;
    if (!checked && scanObject(doc, 0, len, scan).error !== null) {
      refuse(i, idx, doc, `failed to parse the document: ${scan.error}`);
      continue;
    }
    if (op === Op.Update) {
      const ul = m[o + F.upsertLen]!;
      const upsert = ul < 0 ? null : bytes.toString('utf8', m[o + F.upsertOff]!, m[o + F.upsertOff]! + ul);
      const r = update(c, clientId!, idx, doc.toString('utf8'), upsert, routed, ingested);
      status[i] = r.status;
      seq[i] = r.seq;
      if (r.refused !== undefined) refuse(i, idx, doc, r.refused);
      continue;
    }
    const ts = checked ? (Number.isNaN(m[o + F.ts]!) ? null : m[o + F.ts]!) : scannedTime(doc, 0, len, scan);
    const reason = checked ? null : scannedTimeRefusal(doc, scan, ts);
    if (reason !== null) {
      refuse(i, idx, doc, reason);
      continue;
    }
    let id = clientId;
    if (id === null) id = ids[i] = autoId(ts, doc);
    if (op === Op.Index) {
      const old = c.find.get(id, idx) as { seq: number } | undefined;
      if (old) c.remove.run(old.seq);
      seq[i] = insert(c, idx, id, ts, ingested, routed, doc);
      status[i] = old ? Outcome.Updated : Outcome.Created;
    } else {
      const s = insert(c, idx, id, ts, ingested, routed, doc);
      seq[i] = s;
      status[i] = s > 0 ? Outcome.Created : Outcome.Conflict;
    }
  }
  const all = rejected.length === 0 ? p.rejected : p.rejected.length === 0 ? rejected : [...p.rejected, ...rejected].sort((a, b) => a.at - b.at);
  for (const r of all) c.reject.run(ingested, r.idx, r.reason, r.line);
  return { status, seq, autoIds: ids.join(''), refused };
}

/** Longest line kept in the rejected table. */
const REJECTED_LINE_MAX = 64 * 1024;


function insert(c: Conn, idx: string, id: string, ts: number | null, ingested: number, routed: number, src: Uint8Array | string): number {
  const info = c.insert.run(idx, id, ts, ingested, routed, src);
  return info.changes > 0 ? Number(info.lastInsertRowid) : 0;
}

function remove(c: Conn, id: string, idx: string): number {
  const old = c.find.get(id, idx) as { seq: number } | undefined;
  if (!old) return Outcome.NotFound;
  c.remove.run(old.seq);
  return Outcome.Deleted;
}

/**
 * An update: the stored document merged with the patch, or the upsert when there is none. The
 * document it leaves is indexed as any other, so one whose @timestamp Elasticsearch would not read
 * is refused (400, `refused` says why) and the stored document is left as it was.
 */
function update(c: Conn, id: string, idx: string, patch: string, upsert: string | null, routed: number, ingested: number): { status: number; seq: number; refused?: string } {
  const old = c.find.get(id, idx) as { seq: number; src: string } | undefined;
  if (!old) {
    if (!upsert) return { status: Outcome.NotFound, seq: 0 };
    const t = timeOf(upsert);
    if (typeof t === 'string') return { status: Outcome.Invalid, seq: 0, refused: t };
    return { status: Outcome.Created, seq: insert(c, idx, id, t, ingested, routed, upsert) };
  }
  const merged = JSON.stringify(merge(JSON.parse(old.src) as unknown, JSON.parse(patch) as unknown));
  const t = timeOf(merged);
  if (typeof t === 'string') return { status: Outcome.Invalid, seq: 0, refused: t };
  c.remove.run(old.seq);
  return { status: Outcome.Updated, seq: insert(c, idx, id, t, ingested, routed, merged) };
}

/** The @timestamp (epoch ms) of a document to store, null when it has none, or why it is refused. */
function timeOf(json: string): number | null | string {
  const stamp = (JSON.parse(json) as Record<string, unknown>)['@timestamp'];
  const ms = parseInstant(stamp)?.ms ?? null;
  if (ms === null && stamp !== undefined && stamp !== null) return timestampRefusal(typeof stamp === 'string' || typeof stamp === 'number' ? String(stamp) : null);
  return ms;
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
      enqueue(m);
      break;
    case 'retention':
      maxAgeMs = m.maxAgeMs;
      maxBytes = m.maxBytes;
      retain();
      break;
    case 'close':
      closing = true;
      flush();
      walSync?.drain();
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
      walSync?.retire();
      walSync = null;
      conn = null;
      send({ t: 'closed' });
      port.close();
      break;
  }
});

const retentionTimer = setInterval(retain, cfg.retentionEveryMs);
open();
