// Public contract of the EQL engine. The engine is pure: it consumes events already ordered by
// (timestamp, tiebreaker) and emits results; it knows nothing about files, rules or alerts.
import type { EventDoc } from '../events/types.js';
import type { Anchor } from './anchors.js';

export type { Anchor };

export interface TermOutline {
  category: string | null;
  anchors: Anchor[] | null;
  /**
   * The term's test of host.os.type (engine/anchors.ts eventGate): alternatives, one of which the
   * event's value must equal. Absent when the term has none.
   */
  gate?: Anchor[];
}

export interface EngineOptions {
  /** Field holding the event time (default `@timestamp`). */
  timestampField?: string;
  /** Field that orders events with equal timestamps (default none). */
  tiebreakerField?: string | null;
  /** Field holding the event category (default `event.category`). */
  eventCategoryField?: string;
  /** Maximum number of results (events, sequences or samples); ES's `size`. Default: unlimited. */
  size?: number;
  /**
   * Which results `size` keeps (ES `result_position`): `tail` (default, as Elasticsearch) the most
   * recent, `head` the earliest. Samples are ordered by join key, not time: `size` keeps the first
   * samples whichever the position (as Elasticsearch returns them).
   */
  resultPosition?: 'head' | 'tail';
  /** Samples returned per join key (ES `max_samples_per_key`, default 1). */
  maxSamplesPerKey?: number;
  /**
   * ES's `fetch_size` (default 1,000): the page size of the sequence executor, which decides
   * which sequences a tail selection keeps (see src/engine/sequence-paged.ts).
   */
  fetchSize?: number;
}

export interface EventResult {
  kind: 'event';
  event: EventDoc;
}

export interface SequenceResult {
  kind: 'sequence' | 'sample';
  /** Join key values in order: the query-level `by` keys, then the terms' own keys. */
  joinKeys: unknown[];
  /** One entry per term (runs expanded); null for a missing-event placeholder. */
  events: (EventDoc | null)[];
}

export type QueryResult = EventResult | SequenceResult;

/**
 * What a query's terms say about one event, worked out where the event was parsed (an input
 * worker) so that the thread running the query need not read the event's fields again — nor
 * parse it, when nothing else reads them (CompiledQuery.writeAnswers, QueryRun.push).
 */
export interface TermAnswers {
  /** Bit j: the query's term filter j passed (its terms in order: positive and missing ones once each, then until). */
  mask: number;
  /**
   * Sequences only, per term filter j that passed: the values of its join keys (query-level keys,
   * then the term's), or null when a required key is missing. Undefined where the filter did not
   * pass, or where a key held several values (the run then reads them from the event).
   */
  keys?: (unknown[] | null | undefined)[];
}

/** Incremental execution of one compiled query over one ordered stream. */
export interface QueryRun {
  /**
   * Feed the next event (in order). Results that become final may be passed to the run's callback.
   * `answers`: what writeAnswers() said about this event, when the caller has it (the run then
   * reads none of the event's fields for its terms and keys).
   */
  push(event: EventDoc, answers?: TermAnswers): void;
  /** End of input: returns all results in final order, after pipes and size. */
  finish(): QueryResult[];
  /** True when no further input can change the results (e.g. `| head N` already filled). */
  readonly done: boolean;
  /**
   * Results found so far, before `size` and pipes cut them (a head stops counting one past its
   * limit, when the run is done). `found > finish().length` means results were dropped.
   */
  readonly found: number;
  /**
   * Work the run left out to stay within its per-event bounds (join-key combinations of
   * multi-valued keys, see MAX_JOIN_KEY_COMBINATIONS), one line each; empty when nothing was cut.
   */
  warnings(): string[];
}

export interface CompiledQuery {
  readonly type: 'event' | 'sequence' | 'sample';
  /** Categories the query can match; null when any event may match (`any`). */
  readonly categories: ReadonlySet<string> | null;
  /**
   * Necessary conditions for an event to matter to the query, one per term: an event that meets
   * none of them can be skipped. Null when the query must see every event of its categories.
   */
  readonly anchors: readonly Anchor[] | null;
  /**
   * The same per term (positive, missing and `until`; repeated terms once): the term's category
   * (null for `any`) and its anchors (null when it has none). An event matters to the query only
   * if, for some term, it is of the term's category and meets one of the term's anchors.
   */
  readonly terms: readonly TermOutline[];
  /**
   * Strings the raw JSON text of any event that passes a term's filter contains (lower-cased,
   * JSON-escaped; see engine/needles.ts); null when the query has a term without such a string.
   */
  readonly needles: readonly string[] | null;
  /**
   * True when the event passes the filter of at least one term (positive, missing-event or
   * `until`). Runs give the same results whether or not the other events are pushed, so a
   * caller may route only relevant events (hunt does, and its worker threads do it in parallel).
   */
  relevant(event: EventDoc): boolean;
  /**
   * relevant(), and for a relevant event also what the query's terms say about it — every term
   * filter's answer and, for sequences, each passing term's join keys —, appended to `out` in the
   * flat form of engine/answers.ts (readAnswers gives the TermAnswers back; nothing is appended for
   * an event that is not relevant). Pure: the same event gives the same answers on any thread.
   */
  writeAnswers(event: EventDoc, out: unknown[]): boolean;
  /**
   * Starts a run. With `onResult`, results that are final as they are found (no `tail` pipe) are
   * delivered to it immediately and `finish()` returns only what had to be buffered.
   */
  createRun(onResult?: (result: QueryResult) => void): QueryRun;
  run(events: Iterable<EventDoc>): QueryResult[];
  runAsync(events: AsyncIterable<EventDoc>): Promise<QueryResult[]>;
}
