// The embedded single-node event log: `<data>/events.sqlite` (EventStore) behind the EventLog
// interface, one partition. Positions are the store's `seq`; store time is the commit time
// (`event.ingested`). The live tail takes the events ingest just committed, already parsed and
// routed (no second JSON.parse); when their positions do not follow the last one read (requests
// finishing out of order), the gap is read from the store instead. Events ingest routed to no rule
// of the reader's generation are left out of the batches (ReadOptions.routedGen): the live tail
// never makes an object for them, and store reads skip them in SQL. The checkpoint lives in
// `state.sqlite` (one process owns the data directory, so nothing can fence it).
import type { StoredBatch } from '../ingest.js';
import type { StateDb } from '../state.js';
import type { BatchHandler, BatchTail, Checkpoint, EventLog, LogEvent, LogStart, PartitionReader, ReadOptions } from '../event-log.js';
import { setIngested, type EventStore } from './event-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log_checkpoints (
  partition INTEGER PRIMARY KEY,
  position INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  state_from INTEGER,
  updated_at INTEGER NOT NULL
);
`;

const BATCH = 2000;

/** Resolves after the event loop's next turn (I/O and timers run in between). */
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

type Row = { seq: number; idx: string; id: string; ingested: number; src: string; routed: number };

/** A stored row as a log event; `_source` is parsed on first use (most rows routed to no rule are never read). */
function rowEvent(r: Row): LogEvent {
  let source: Record<string, unknown> | null = null;
  return {
    position: r.seq,
    storedAt: r.ingested,
    index: r.idx,
    id: r.id,
    ingested: r.ingested,
    get source() {
      if (source === null) {
        source = JSON.parse(r.src) as Record<string, unknown>;
        setIngested(source, r.ingested);
      }
      return source;
    },
    text: r.src,
    // routed = -G: no rule of generation G could use the event.
    routed: r.routed < 0 ? { gen: -r.routed, routes: [] } : undefined,
  };
}

export class SqliteEventLog implements EventLog {
  readonly partitions = 1;
  private readonly tails = new Set<(batch: StoredBatch) => void>();

  constructor(
    readonly store: EventStore,
    private readonly state: StateDb,
  ) {
    state.exec(SCHEMA);
    // Data directories written before the state's store time was kept get the column.
    const cols = state.prepare('PRAGMA table_info(log_checkpoints)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'state_from')) state.exec('ALTER TABLE log_checkpoints ADD COLUMN state_from INTEGER');
  }

  get sink(): EventStore {
    return this.store;
  }

  /** Ingest's listener: what a request just committed, in the order requests finished. */
  notify(batch: StoredBatch): void {
    for (const t of this.tails) t(batch);
  }

  reader(p: number): PartitionReader {
    if (p !== 0) throw new Error(`the single-node log has one partition (asked for ${p})`);
    return new SqliteReader(this);
  }

  /** First seq whose commit time is at or after t (or the next seq to come). */
  positionAt(t: number): number {
    const db = this.store.db();
    const m = db.prepare('SELECT first_seq FROM ingest_marks WHERE ingested >= ? ORDER BY ingested LIMIT 1').get(t) as { first_seq: number } | undefined;
    if (m) return m.first_seq;
    return this.lastPosition() + 1;
  }

  lastPosition(): number {
    const r = this.store.db().prepare('SELECT MAX(seq) AS s FROM events').get() as { s: number | null };
    return r.s ?? 0;
  }

  /**
   * Rows with from ≤ seq ≤ through, in batches, each with its tail: the last position it covers
   * and how many positions before it it left out. With `skipGen`, rows ingest routed to no rule of
   * that generation are left out (in SQL: their documents are not even read). Positions of rows
   * deleted since (replaced documents, retention) count as left out.
   */
  *rows(from: number, through: number, skipGen?: number, eventTime?: { start: number; end: number }): Generator<{ events: LogEvent[]; tail: BatchTail }> {
    const db = this.store.db();
    let where = 'seq >= ? AND seq <= ?';
    const extra: number[] = [];
    if (skipGen !== undefined) {
      where += ' AND routed <> ?';
      extra.push(-skipGen);
    }
    if (eventTime) {
      // `ts` is the @timestamp as parseInstant reads it (the rules' window time), in ms.
      where += ' AND ts BETWEEN ? AND ?';
      extra.push(Math.floor(eventTime.start), Math.ceil(eventTime.end));
    }
    const stmt = db.prepare(`SELECT seq, idx, id, ingested, src, routed FROM events WHERE ${where} ORDER BY seq LIMIT ?`);
    const lastStored = db.prepare('SELECT seq, ingested FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT 1');
    let next = from;
    for (;;) {
      const rows = stmt.all(next, through, ...extra, BATCH) as Row[];
      let tail: { seq: number; ingested: number } | undefined = rows[rows.length - 1];
      if (rows.length < BATCH) {
        // The range's last row may have been left out: the tail reaches it.
        const end = lastStored.get(through) as { seq: number; ingested: number } | undefined;
        if (end && end.seq >= next) tail = end;
      }
      if (!tail) return;
      yield { events: rows.map(rowEvent), tail: { position: tail.seq, storedAt: tail.ingested, skipped: tail.seq - next + 1 - rows.length } };
      if (rows.length < BATCH) return;
      next = tail.seq + 1;
    }
  }

  /**
   * Rows with from ≤ seq ≤ through in @timestamp order (the `ts` column, then seq), in pages of at
   * most `page` rows, walking the `ts` index by key (each page's query starts after the last row
   * of the one before), so nothing but a page is held. A page ends where a millisecond ends (the
   * next page's rows are newer), so that its reader may order a page's events by their
   * sub-millisecond time as well; a millisecond with more than a page of rows is the exception
   * (`split` of the next yield counts its rows). Rows without a `ts` are left out. Without an
   * event-time range the range's own (its oldest and newest `ts`) is looked up first, one pass
   * over the rows' headers: a walk of the index from its start would cross every older event.
   */
  *sortedRows(from: number, through: number, page: number, skipGen?: number, eventTime?: { start: number; end: number }): Generator<{ events: LogEvent[]; split: number }> {
    const db = this.store.db();
    const extra: number[] = [];
    let skip = '';
    if (skipGen !== undefined) {
      skip = ' AND routed <> ?';
      extra.push(-skipGen);
    }
    let lo: number;
    let hi: number;
    if (eventTime) {
      lo = Math.floor(eventTime.start);
      hi = Math.ceil(eventTime.end);
    } else {
      const r = db.prepare(`SELECT MIN(ts) AS lo, MAX(ts) AS hi FROM events WHERE seq >= ? AND seq <= ?${skip}`).get(from, through, ...extra) as { lo: number | null; hi: number | null };
      if (r.lo === null || r.hi === null) return;
      lo = r.lo;
      hi = r.hi;
    }
    const stmt = db.prepare(
      `SELECT seq, idx, id, ingested, src, routed, ts FROM events INDEXED BY events_ts WHERE ts >= ? AND ts <= ? AND (ts > ? OR seq > ?) AND seq >= ? AND seq <= ?${skip} ORDER BY ts, seq LIMIT ?`,
    );
    page = Math.max(1, Math.floor(page));
    let lastTs = lo;
    let lastSeq = from - 1;
    let carry: (Row & { ts: number })[] = [];
    // A millisecond emitted whole as a page of its own, which the next rows may continue.
    let open: { ts: number; n: number } | null = null;
    for (;;) {
      const want = Math.max(1, page - carry.length);
      const rows = stmt.all(lastTs, hi, lastTs, lastSeq, from, through, ...extra, want) as (Row & { ts: number })[];
      const done = rows.length < want;
      let split = 0;
      if (rows.length > 0) {
        const last = rows[rows.length - 1]!;
        lastTs = last.ts;
        lastSeq = last.seq;
        if (open && rows[0]!.ts === open.ts) {
          // That millisecond goes on here: its rows span pages.
          split += open.n;
          let k = 0;
          while (k < rows.length && rows[k]!.ts === open.ts) k++;
          split += k;
          open.n = 0;
          if (k < rows.length) open = null;
        } else open = null;
      }
      const chunk = carry.length === 0 ? rows : carry.concat(rows);
      let emit = chunk;
      carry = [];
      if (!done && chunk.length > 0) {
        // The last millisecond may go on in the next rows: kept for the next page.
        const t = chunk[chunk.length - 1]!.ts;
        let cut = chunk.length;
        while (cut > 0 && chunk[cut - 1]!.ts === t) cut--;
        if (cut > 0) {
          emit = chunk.slice(0, cut);
          carry = chunk.slice(cut);
        } else if (!open) open = { ts: t, n: chunk.length };
      }
      if (emit.length > 0) yield { events: emit.map(rowEvent), split };
      else if (split > 0) yield { events: [], split };
      if (done) return;
    }
  }

  /** The rows at these positions, in the order given (rows no longer stored left out), `page` at a time. */
  *rowsAt(positions: readonly number[], page: number): Generator<LogEvent[]> {
    const stmt = this.store.db().prepare('SELECT seq, idx, id, ingested, src, routed FROM events WHERE seq IN (SELECT value FROM json_each(?))');
    page = Math.max(1, Math.floor(page));
    for (let k = 0; k < positions.length; k += page) {
      const want = positions.slice(k, k + page);
      const bySeq = new Map<number, Row>();
      for (const r of stmt.all(JSON.stringify(want)) as Row[]) bySeq.set(r.seq, r);
      const out: LogEvent[] = [];
      for (const p of want) {
        const r = bySeq.get(p);
        if (r) out.push(rowEvent(r));
      }
      yield out;
    }
  }

  start(from: LogStart): number {
    return 'position' in from ? from.position : this.positionAt(from.time);
  }

  subscribe(tail: (batch: StoredBatch) => void): () => void {
    this.tails.add(tail);
    return () => this.tails.delete(tail);
  }

  loadCheckpoint(p: number): Checkpoint | null {
    const r = this.state.prepare('SELECT position, stored_at, state_from FROM log_checkpoints WHERE partition = ?').get(p) as { position: number; stored_at: number; state_from: number | null } | undefined;
    if (!r) return null;
    return r.state_from === null ? { position: r.position, storedAt: r.stored_at } : { position: r.position, storedAt: r.stored_at, stateFrom: r.state_from };
  }

  saveCheckpoint(p: number, c: Checkpoint): void {
    this.state.prepare('INSERT OR REPLACE INTO log_checkpoints (partition, position, stored_at, state_from, updated_at) VALUES (?, ?, ?, ?, ?)').run(p, c.position, c.storedAt, c.stateFrom ?? null, Date.now());
  }
}

class SqliteReader implements PartitionReader {
  readonly partition = 0;

  constructor(private readonly log: SqliteEventLog) {}

  async claim(): Promise<Checkpoint | null> {
    return this.log.loadCheckpoint(0);
  }

  async ack(c: Checkpoint): Promise<void> {
    this.log.saveCheckpoint(0, c);
  }

  async replay(from: LogStart, through: number, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    let first = true;
    for (const b of this.log.rows(this.log.start(from), through, opts.routedGen, opts.eventTime)) {
      // A replay (a repair run's window: tens of thousands of rows read, parsed and routed) gives
      // the event loop a turn between batches, as a log read over the network does: otherwise it
      // holds the thread for seconds, no socket is read meanwhile, and the bulk requests waiting
      // finish late and out of order — their events late for real-time detection in turn.
      if (!first) await yieldToLoop();
      first = false;
      if (opts.signal.aborted) return;
      if (b.events.length > 0 || opts.routedGen !== undefined) await handler(b.events, opts.routedGen === undefined ? undefined : b.tail);
    }
  }

  async replaySorted(from: LogStart, through: number, handler: (page: LogEvent[]) => Promise<void> | void, opts: ReadOptions & { page: number }): Promise<{ split: number }> {
    let split = 0;
    let first = true;
    for (const p of this.log.sortedRows(this.log.start(from), through, opts.page, opts.routedGen, opts.eventTime)) {
      // (A turn of the event loop between pages, as replay gives between batches.)
      if (!first) await yieldToLoop();
      first = false;
      if (opts.signal.aborted) return { split };
      split += p.split;
      if (p.events.length > 0) await handler(p.events);
    }
    return { split };
  }

  async replayPositions(positions: readonly number[], handler: (page: LogEvent[]) => Promise<void> | void, opts: { signal: AbortSignal; page: number }): Promise<void> {
    let first = true;
    for (const events of this.log.rowsAt(positions, opts.page)) {
      if (!first) await yieldToLoop();
      first = false;
      if (opts.signal.aborted) return;
      if (events.length > 0) await handler(events);
    }
  }

  async consume(from: LogStart, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    const { signal, routedGen } = opts;
    // Listen first, so that nothing committed while the store is read is missed.
    let queue: StoredBatch[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = this.log.subscribe((b) => {
      queue.push(b);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      let last = this.log.start(from) - 1;
      // (`known`: batches of the live tail the rows read come from, for when their requests began.)
      const catchUp = async (through: number, known: readonly StoredBatch[] = []) => {
        for (const b of this.log.rows(last + 1, through, routedGen)) {
          if (signal.aborted) return;
          last = b.tail.position;
          if (known.length > 0) {
            for (const e of b.events) {
              const from = known.find((k) => k.count > 0 && e.position >= k.seqs[0]! && e.position <= k.seqs[k.count - 1]!);
              if (from) e.began = from.began;
            }
          }
          await handler(b.events, routedGen === undefined ? undefined : b.tail);
        }
      };
      await catchUp(this.log.lastPosition());
      while (!signal.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((r) => (wake = r));
          wake = null;
          continue;
        }
        const batches = queue;
        queue = [];
        if (batches.length > 1) batches.sort((a, b) => a.seqs[0]! - b.seqs[0]!);
        for (let bi = 0; bi < batches.length && !signal.aborted; bi++) {
          const b = batches[bi]!;
          const lastSeq = b.seqs[b.count - 1]!;
          if (lastSeq <= last) continue;
          // Positions that do not follow on (a request finished before an earlier one), or
          // events this reader cannot take from the batch (routed by another generation, or
          // not kept parsed without a generation to skip them by): read from the store, which
          // has everything committed.
          let direct = b.seqs[0] === last + 1 && (b.events.length === b.count || (routedGen !== undefined && b.gen === routedGen));
          for (let k = 1; direct && k < b.count; k++) if (b.seqs[k] !== b.seqs[k - 1]! + 1) direct = false;
          if (!direct) {
            let through = lastSeq;
            for (let k = bi + 1; k < batches.length; k++) through = Math.max(through, batches[k]!.seqs[batches[k]!.count - 1]!);
            await catchUp(through, batches.slice(bi));
            break;
          }
          last = lastSeq;
          const events = b.events.map(
            (e): LogEvent => ({ position: e.seq, storedAt: e.ingested, index: e.index, id: e.id, ingested: e.ingested, source: e.source, numberTexts: e.numberTexts, routed: { gen: e.gen, routes: e.routes }, began: b.began }),
          );
          await handler(events, routedGen === undefined ? undefined : { position: lastSeq, storedAt: b.ingested, skipped: b.count - b.events.length });
        }
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
