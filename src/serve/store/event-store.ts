// The durable event store of `eqlite serve` (`<data>/events.sqlite`, schema.ts).
//
// Writes go to the writer thread (writer.ts), which commits the items of all pending requests in
// one transaction; write() resolves only after that commit is on disk (the WAL fsynced after it),
// so whoever acknowledges a bulk item after write() resolved acknowledges what is on disk. Reads use a separate connection on
// this thread (WAL readers never block the writer).
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { workerEntry } from '../../util/worker-entry.js';
import type { FromWriter, ItemRefusal, ToWriter, WriteBatch, WriterConfig, WriterFailure } from './protocol.js';

export type { WriteBatch, RejectedLine, WriterFailure, ItemRefusal } from './protocol.js';
export { Op, Outcome, AUTO_ID_LENGTH } from './protocol.js';
export { WriteBatchBuilder, batchOf, decodeBatch, autoIdsOf, type SimpleItem, type DecodedItem } from './batch.js';

export interface EventStoreOptions {
  /** Data directory; the store is `<dir>/events.sqlite`. */
  dir: string;
  maxAgeMs?: number;
  maxBytes?: number;
  retentionEveryMs?: number;
  onUnavailable?: (failure: WriterFailure, message: string) => void;
  onAvailable?: () => void;
  onRetention?: (deleted: number, reason: 'age' | 'size', oldestSeq: number) => void;
}

export interface WriteResult {
  /** Commit time (epoch ms): `event.ingested` of the stored events. */
  ingested: number;
  /**
   * Per item: bulk item status (201 created, 200 replaced/deleted, 409 conflict, 404 missing,
   * 400 not a JSON object — see `refused`).
   */
  status: Int32Array;
  /** Per item: seq of the stored row (0 when none). */
  seq: Float64Array;
  /** Content-derived ids, AUTO_ID_LENGTH characters per item (blanks where the client gave one). */
  autoIds: string;
  /** Items refused as malformed, with the reason. */
  refused: ItemRefusal[];
}

/** The store cannot take writes now; `failure` says why (the HTTP layer answers 429 or 503). */
export class StoreUnavailableError extends Error {
  constructor(
    readonly failure: WriterFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface StoredRow {
  seq: number;
  idx: string;
  id: string;
  ts: number | null;
  ingested: number;
  src: string;
}

/** Smallest body buffer kept for reuse, and the most bytes kept in all. */
const SPARE_MIN = 64 * 1024;
const SPARE_MAX_BYTES = 64 * 1024 * 1024;

export class EventStore {
  readonly file: string;
  /** Null while writable; otherwise why not. */
  failure: { failure: WriterFailure; message: string } | null = null;
  /** Items handed to the writer and not yet committed. */
  inFlight = 0;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: WriteResult) => void; reject: (e: Error) => void; n: number }>();
  private nextReq = 1;
  private readDb: Database.Database | null = null;
  private closed = false;
  /** The writer thread has ended (after close(), or on its own). */
  private exited = false;
  private closeWait: (() => void) | null = null;
  /** Body buffers handed back by the writer, by capacity (see bodyBuffer). */
  private readonly spares = new Map<number, ArrayBuffer[]>();
  private spareBytes = 0;

  private constructor(
    private readonly opts: EventStoreOptions,
    ready: (ok: boolean) => void,
  ) {
    this.file = path.join(opts.dir, 'events.sqlite');
    const cfg: WriterConfig = {
      path: this.file,
      maxAgeMs: opts.maxAgeMs ?? 0,
      maxBytes: opts.maxBytes ?? 0,
      retentionEveryMs: opts.retentionEveryMs ?? 5000,
    };
    const entry = workerEntry(import.meta.url, 'writer');
    this.worker = new Worker(entry.entry, { workerData: cfg, eval: entry.eval });
    let first = true;
    this.worker.on('message', (m: FromWriter) => {
      switch (m.t) {
        case 'ready':
          if (this.failure) opts.onAvailable?.();
          this.failure = null;
          if (first) {
            first = false;
            ready(true);
          }
          break;
        case 'unavailable':
          this.failure = { failure: m.failure, message: m.message };
          opts.onUnavailable?.(m.failure, m.message);
          if (first) {
            first = false;
            ready(false);
          }
          break;
        case 'done': {
          const w = this.waiting.get(m.req);
          if (!w) break;
          this.waiting.delete(m.req);
          this.inFlight -= w.n;
          if (m.spare) this.keepSpare(m.spare);
          w.resolve({ ingested: m.ingested, status: m.status, seq: m.seq, autoIds: m.autoIds, refused: m.refused });
          break;
        }
        case 'failed': {
          const w = this.waiting.get(m.req);
          if (!w) break;
          this.waiting.delete(m.req);
          this.inFlight -= w.n;
          w.reject(new StoreUnavailableError(m.failure, m.message));
          break;
        }
        case 'retained':
          opts.onRetention?.(m.deleted, m.reason, m.oldestSeq);
          break;
        case 'closed':
          this.closeWait?.();
          break;
      }
    });
    // Every request waits for its commit's reply: when replies can no longer come, the waiting
    // requests fail (503, nothing acknowledged; a shipper's retry of a document that was committed
    // is answered as a duplicate by its content id) instead of hanging.
    const failWaiting = (message: string) => {
      for (const [req, w] of this.waiting) {
        this.waiting.delete(req);
        w.reject(new StoreUnavailableError('io', message));
      }
      this.inFlight = 0;
    };
    let dead = false;
    // The writer died (a bug, out of memory) or exited on its own: the store is unavailable.
    const writerFailed = (why: string) => {
      if (dead) return;
      dead = true;
      this.failure = { failure: 'io', message: `event store writer failed: ${why}` };
      opts.onUnavailable?.('io', this.failure.message);
      failWaiting(this.failure.message);
      if (first) {
        first = false;
        ready(false);
      }
      this.closeWait?.();
    };
    this.worker.on('error', (e) => writerFailed(e.message));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.closeWait?.();
      if (!this.closed) writerFailed(`it exited (code ${code})`);
    });
    // A reply that could not be received cannot be matched to its request: fail those waiting
    // (the writer goes on; later requests are answered as usual).
    this.worker.on('messageerror', (e) => failWaiting(`event store writer: a reply could not be received (${e.message})`));
  }

  /** Starts the writer; resolves once it opened the store or reported why it cannot. */
  static open(opts: EventStoreOptions): Promise<EventStore> {
    return new Promise((resolve) => {
      const s: EventStore = new EventStore(opts, () => resolve(s));
    });
  }

  /**
   * A buffer of `size` bytes for a request body that will be handed to write() whole (its
   * ArrayBuffer is transferred to the writer, which hands it back after the commit). Bodies are
   * copied into reused buffers: a fresh multi-megabyte buffer per request costs its page faults.
   */
  bodyBuffer(size: number): Buffer {
    const cap = Math.max(SPARE_MIN, 2 ** Math.ceil(Math.log2(Math.max(size, 1))));
    const list = this.spares.get(cap);
    const ab = list?.pop();
    if (ab) this.spareBytes -= ab.byteLength;
    return Buffer.from(ab ?? new ArrayBuffer(cap), 0, size);
  }

  private keepSpare(ab: ArrayBuffer): void {
    const cap = ab.byteLength;
    // Only the sizes bodyBuffer() makes, and a bounded total.
    if (cap < SPARE_MIN || (cap & (cap - 1)) !== 0 || this.spareBytes + cap > SPARE_MAX_BYTES) return;
    let list = this.spares.get(cap);
    if (!list) this.spares.set(cap, (list = []));
    list.push(ab);
    this.spareBytes += cap;
  }

  /**
   * Stores a request's items (and its rejected lines); resolves after the commit is on disk.
   * The batch's buffers are transferred to the writer thread: the caller must not use them after.
   */
  write(b: { batch: WriteBatch; transfer: ArrayBuffer[] }): Promise<WriteResult> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('io', 'event store is closed'));
    if (this.failure) return Promise.reject(new StoreUnavailableError(this.failure.failure, this.failure.message));
    const req = this.nextReq++;
    const n = b.batch.count;
    this.inFlight += n;
    return new Promise((resolve, reject) => {
      this.waiting.set(req, { resolve, reject, n });
      this.worker.postMessage({ t: 'write', req, ...b.batch } satisfies ToWriter, b.transfer);
    });
  }

  setRetention(maxAgeMs: number, maxBytes: number): void {
    this.worker.postMessage({ t: 'retention', maxAgeMs, maxBytes } satisfies ToWriter);
  }

  /** The read connection (opened on first use; throws when the store cannot be opened). */
  db(): Database.Database {
    if (!this.readDb) {
      const db = new Database(this.file, { fileMustExist: true });
      db.pragma('busy_timeout = 10000');
      db.pragma('query_only = ON');
      this.readDb = db;
    }
    return this.readDb;
  }

  /**
   * The oldest and newest seq stored (null: none). Two subqueries: SQLite answers MIN or MAX of
   * the rowid from the b-tree's ends only when it is a query's one aggregate; `SELECT MIN(seq),
   * MAX(seq)` reads the whole table (on a large store, seconds per /metrics scrape).
   */
  seqSpan(): { lo: number | null; hi: number | null } {
    return this.db().prepare(SEQ_SPAN_SQL).get() as { lo: number | null; hi: number | null };
  }

  /** Used bytes of the store file (pages in use), and the file sizes on disk. */
  size(): { used: number; file: number } {
    const db = this.db();
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    return { used: (pages - free) * pageSize, file: pages * pageSize };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.exited) {
      const done = new Promise<void>((r) => (this.closeWait = r));
      this.worker.postMessage({ t: 'close' } satisfies ToWriter);
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    await this.worker.terminate();
    this.readDb?.close();
    this.readDb = null;
  }
}

/**
 * A stored row's `_source` as Elasticsearch would return it: the stored document with
 * `event.ingested` set to the commit time (what Elastic's final ingest pipeline does).
 */
export function eventSource(row: Pick<StoredRow, 'src' | 'ingested'>): Record<string, unknown> {
  const doc = JSON.parse(row.src) as Record<string, unknown>;
  setIngested(doc, row.ingested);
  return doc;
}

/** Sets `event.ingested` (nested, replacing a flat `event.ingested` key if the document had one). */
export function setIngested(doc: Record<string, unknown>, ingested: number): void {
  const iso = new Date(ingested).toISOString();
  if (Object.hasOwn(doc, 'event.ingested')) delete doc['event.ingested'];
  const ev = doc.event;
  if (ev !== null && typeof ev === 'object' && !Array.isArray(ev)) (ev as Record<string, unknown>).ingested = iso;
  else Object.defineProperty(doc, 'event', { value: { ingested: iso }, enumerable: true, writable: true, configurable: true });
}

export const SEQ_SPAN_SQL = 'SELECT (SELECT MIN(seq) FROM events) AS lo, (SELECT MAX(seq) FROM events) AS hi';
