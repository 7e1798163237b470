// The event log detection reads from. Two implementations:
//  * the embedded single-node log — `<data>/events.sqlite` (store/sqlite-log.ts), one partition;
//  * NATS JetStream (src/cluster/jetstream-log.ts), partitioned by the rules' join keys.
// A Kafka implementation would map onto it directly: publish = produce (acks=all), a partition is
// a topic partition, consume/replay = a consumer positioned with seek / offsetsForTimes, and
// committed/ack = the committed offset of the group, fenced by the group generation.
//
// What detection needs from a log, and nothing more:
//  * publish — ingest appends events and learns when they are durable (the HTTP answer waits);
//  * consume with ack — read one partition in order from a position, following new events, and
//    acknowledge (commit) how far the effects of the reading are durable, so that whoever reads
//    the partition next resumes there; a commit by a reader that lost the partition is refused
//    (fencing), never silently applied;
//  * replay from a position — read a bounded range again (state rebuild after a takeover,
//    windows re-run for late events).
import type { EventStore } from './store/event-store.js';

/** One event as read from a log partition. */
export interface LogEvent {
  /** Position in the log: increasing within a partition (not necessarily dense). */
  position: number;
  /** When the log stored it (epoch ms, the log's clock): what replay-from-time selects on. */
  storedAt: number;
  index: string;
  id: string;
  /** `event.ingested` (epoch ms), already set in `source`. */
  ingested: number;
  source: Record<string, unknown>;
  /**
   * EventDoc.numberTexts, when the process that stored it read them (the single-node log's live
   * tail: ingest's own); else readers find them in `text`.
   */
  numberTexts?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * The stored `_source` JSON (numbers as the client wrote them; without the `event.ingested`
   * that `source` has), when the log read it: where a rule's timestamp_override numbers are read
   * from their text (numberTextReader).
   */
  readonly text?: string;
  /**
   * Routing already computed for this event by the process that read it (the single-node log
   * hands ingest's own routing over): rule generation and rule indexes. Absent: route again.
   */
  routed?: { gen: number; routes: readonly number[] };
  /**
   * When the ingest request that stored it began (this process's clock; the single-node log's
   * live tail only): real time holds it while a request begun earlier is still being stored.
   */
  began?: number;
}

/** Where a read starts: a position (inclusive), or the first event stored at or after a time. */
export type LogStart = { position: number } | { time: number };

/** How far a partition's reader got: the last position whose effects (alerts) are durable. */
export interface Checkpoint {
  position: number;
  /** storedAt of that event (replay after a takeover starts from this time minus the state span). */
  storedAt: number;
  /**
   * The earliest store time of an event the reader's state may have held (only when earlier than
   * `storedAt`): a replay after a takeover starts no later than this, so that a sequence begun
   * by an event stored long before the checkpoint (a shipper's backlog) is rebuilt.
   */
  stateFrom?: number;
}

/** A commit refused because another reader took the partition over (its commit won). */
export class FencedError extends Error {
  constructor(readonly partition: number, message: string) {
    super(message);
  }
}

/**
 * How far a batch reaches when a log left events out of it (ReadOptions.routedGen): the last
 * position it covers (at or after its last event's), that position's storedAt, and how many
 * events of the range it left out. Events left out before an event of the batch share that
 * event's storedAt.
 */
export interface BatchTail {
  position: number;
  storedAt: number;
  skipped: number;
}

export type BatchHandler = (batch: LogEvent[], tail?: BatchTail) => Promise<void> | void;

export interface ReadOptions {
  signal: AbortSignal;
  /** Largest number of events per batch (default: the implementation's). */
  batch?: number;
  /**
   * The reader's rule generation: a log may leave out the events that ingest routed to no rule
   * of this generation (routed = { gen: routedGen, routes: [] }), saying so in the tail.
   */
  routedGen?: number;
  /**
   * Replay only: the reader needs just the events whose @timestamp (epoch ms) lies in
   * [start, end]; a log may leave the others out (an optimisation, never required).
   */
  eventTime?: { start: number; end: number };
}

/**
 * The publishing side, as ingest sees it: the single-node EventStore's own shape (write resolves
 * once every stored item is durable; `inFlight` counts items handed over and not yet durable;
 * `failure` is null while writable, otherwise why not, and ingest answers 429/503; bodyBuffer
 * gives the buffer a request body is read into, whose ArrayBuffer write() may take over). Defined
 * from the store so that the two cannot drift apart.
 */
export type EventSink = Pick<EventStore, 'write' | 'inFlight' | 'failure' | 'bodyBuffer'>;

/** A reader's hold on one partition: reads, and commits fenced against other readers. */
export interface PartitionReader {
  readonly partition: number;
  /**
   * Takes the partition over: returns its committed checkpoint (null when never committed) and
   * makes every later commit of a previous reader fail with FencedError.
   */
  claim(): Promise<Checkpoint | null>;
  /** Reads from `from`, in order, then follows new events until the signal aborts. */
  consume(from: LogStart, handler: BatchHandler, opts: ReadOptions): Promise<void>;
  /** Reads [from, through] (through: a position already seen) and returns. */
  replay(from: LogStart, through: number, handler: BatchHandler, opts: ReadOptions): Promise<void>;
  /**
   * Optional: reads [from, through] like replay, but in @timestamp order (then position), in
   * pages of at most `opts.page` events, each handed over before the next is read — so that a
   * reader can run a long window in bounded memory (repair runs). Events without a usable
   * @timestamp are left out. A page ends where a millisecond ends, unless one millisecond holds
   * more than a page: its events then span pages (`split` counts them), ordered by position
   * within it rather than by their sub-millisecond time.
   */
  replaySorted?(from: LogStart, through: number, handler: (page: LogEvent[]) => Promise<void> | void, opts: ReadOptions & { page: number }): Promise<{ split: number }>;
  /**
   * Optional: the events at these positions, in the order given (those no longer stored left
   * out), in pages of at most `opts.page`, each handed over before the next is read.
   */
  replayPositions?(positions: readonly number[], handler: (page: LogEvent[]) => Promise<void> | void, opts: { signal: AbortSignal; page: number }): Promise<void>;
  /** Acknowledges everything up to the checkpoint (durable when resolved); FencedError when taken over. */
  ack(c: Checkpoint): Promise<void>;
}

export interface EventLog {
  readonly partitions: number;
  /** The ingest side. */
  readonly sink: EventSink;
  /** A reader of partition p (one per partition per process; ownership is the caller's). */
  reader(p: number): PartitionReader;
}
