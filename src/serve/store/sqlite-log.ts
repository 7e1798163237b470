// The embedded single-node event log: `<data>/events.sqlite` (EventStore) behind the EventLog
// interface, one partition. Positions are the store's `seq`; store time is the commit time
// (`event.ingested`). The live tail takes the events ingest just committed, already parsed and
// routed (no second JSON.parse); when their positions do not follow the last one read (requests
// finishing out of order), the gap is read from the store instead. The checkpoint lives in
// `state.sqlite` (one process owns the data directory, so nothing can fence it).
import type { StoredEvent } from '../ingest.js';
import type { StateDb } from '../state.js';
import type { BatchHandler, Checkpoint, EventLog, LogEvent, LogStart, PartitionReader, ReadOptions } from '../event-log.js';
import { setIngested, type EventStore } from './event-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log_checkpoints (
  partition INTEGER PRIMARY KEY,
  position INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

const BATCH = 2000;

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
    // routed = -G: no rule of generation G could use the event.
    routed: r.routed < 0 ? { gen: -r.routed, routes: [] } : undefined,
  };
}

export class SqliteEventLog implements EventLog {
  readonly partitions = 1;
  private readonly tails = new Set<(evs: readonly StoredEvent[]) => void>();

  constructor(
    readonly store: EventStore,
    private readonly state: StateDb,
  ) {
    state.exec(SCHEMA);
  }

  get sink(): EventStore {
    return this.store;
  }

  /** Ingest's listener: events just committed, in the order their requests finished. */
  notify(events: readonly StoredEvent[]): void {
    for (const t of this.tails) t(events);
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

  /** Rows with from ≤ seq ≤ through, in batches. */
  *rows(from: number, through: number): Generator<LogEvent[]> {
    const stmt = this.store.db().prepare('SELECT seq, idx, id, ingested, src, routed FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?');
    let next = from;
    for (;;) {
      const rows = stmt.all(next, through, BATCH) as Row[];
      if (rows.length === 0) return;
      yield rows.map(rowEvent);
      next = rows[rows.length - 1]!.seq + 1;
    }
  }

  start(from: LogStart): number {
    return 'position' in from ? from.position : this.positionAt(from.time);
  }

  subscribe(tail: (evs: readonly StoredEvent[]) => void): () => void {
    this.tails.add(tail);
    return () => this.tails.delete(tail);
  }

  loadCheckpoint(p: number): Checkpoint | null {
    const r = this.state.prepare('SELECT position, stored_at FROM log_checkpoints WHERE partition = ?').get(p) as { position: number; stored_at: number } | undefined;
    return r ? { position: r.position, storedAt: r.stored_at } : null;
  }

  saveCheckpoint(p: number, c: Checkpoint): void {
    this.state.prepare('INSERT OR REPLACE INTO log_checkpoints (partition, position, stored_at, updated_at) VALUES (?, ?, ?, ?)').run(p, c.position, c.storedAt, Date.now());
  }
}

class SqliteReader implements PartitionReader {
  readonly partition = 0;

  constructor(private readonly log: SqliteEventLog) {}

  /** An event ingest did not keep parsed: its document is read from the store if a reader needs it. */
  private stubEvent(e: StoredEvent): LogEvent {
    const log = this.log;
    let source: Record<string, unknown> | null = null;
    return {
      position: e.seq,
      storedAt: e.ingested,
      index: e.index,
      id: e.id,
      ingested: e.ingested,
      get source() {
        if (source === null) {
          const r = log.store.db().prepare('SELECT src FROM events WHERE seq = ?').get(e.seq) as { src: string } | undefined;
          source = r ? (JSON.parse(r.src) as Record<string, unknown>) : {};
          setIngested(source, e.ingested);
        }
        return source;
      },
      routed: { gen: e.gen, routes: e.routes },
    };
  }

  async claim(): Promise<Checkpoint | null> {
    return this.log.loadCheckpoint(0);
  }

  async ack(c: Checkpoint): Promise<void> {
    this.log.saveCheckpoint(0, c);
  }

  async replay(from: LogStart, through: number, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    for (const batch of this.log.rows(this.log.start(from), through)) {
      if (opts.signal.aborted) return;
      await handler(batch);
    }
  }

  async consume(from: LogStart, handler: BatchHandler, opts: ReadOptions): Promise<void> {
    const { signal } = opts;
    // Listen first, so that nothing committed while the store is read is missed.
    let queue: StoredEvent[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = this.log.subscribe((evs) => {
      for (const e of evs) queue.push(e);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      let last = this.log.start(from) - 1;
      const catchUp = async (through: number) => {
        for (const batch of this.log.rows(last + 1, through)) {
          if (signal.aborted) return;
          last = batch[batch.length - 1]!.position;
          await handler(batch);
        }
      };
      await catchUp(Number.MAX_SAFE_INTEGER);
      while (!signal.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((r) => (wake = r));
          wake = null;
          continue;
        }
        const evs = queue;
        queue = [];
        evs.sort((a, b) => a.seq - b.seq);
        const fresh = evs.filter((e) => e.seq > last);
        if (fresh.length === 0) continue;
        // Positions that do not follow on (a request finished before an earlier one): read the
        // range from the store, which has everything committed.
        let contiguous = fresh[0]!.seq === last + 1;
        for (let i = 1; contiguous && i < fresh.length; i++) if (fresh[i]!.seq !== fresh[i - 1]!.seq + 1) contiguous = false;
        if (!contiguous) {
          await catchUp(fresh[fresh.length - 1]!.seq);
          continue;
        }
        last = fresh[fresh.length - 1]!.seq;
        await handler(fresh.map((e) => (e.stub ? this.stubEvent(e) : { position: e.seq, storedAt: e.ingested, index: e.index, id: e.id, ingested: e.ingested, source: e.source, routed: { gen: e.gen, routes: e.routes } })));
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
