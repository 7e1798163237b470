// Messages between the main thread and the input workers (pool.ts ↔ worker.ts).
//
// A worker reads whole files (any format openInput reads), parses each event's time and asks a
// router which consumers need the event. Events somebody needs travel whole; all the others travel
// as columns (time, id, position) only, so that the main thread's ordered merge sees every event
// — its order, late-event checks and counts stay exactly those of a single-threaded read — while
// the expensive part (parsing, ECS mapping, rule filters) runs on the workers.
import type { PrepareOptions } from '../detect/router.js';
import type { InputShape } from '../events/inputs.js';
import type { SkippedItem } from '../events/types.js';
import type { WindowsProfile } from '../events/windows/index.js';
import type { Rule } from '../rules/types.js';


/** What the workers route events to. */
export type RouteSpec =
  /** Nobody: every event travels as columns only (measures reading and mapping). */
  | { kind: 'none' }
  /** Everybody: every event travels whole, routed to consumer 0. */
  | { kind: 'all' }
  /** One EQL query (consumer 0): events passing one of its terms' filters. */
  | { kind: 'query'; query: string; timestampField: string; tiebreakerField: string | null; eventCategoryField: string }
  /** A hunt: the rules (already known to prepare) are the consumers, in this order. */
  | { kind: 'hunt'; rules: Rule[]; prepare: PrepareOptions };

export interface WorkerConfig {
  route: RouteSpec;
  timestampField: string;
  /** Field the merge orders ties by; its value travels with every event. */
  tiebreakerField: string | null;
  index?: string;
  profile?: WindowsProfile;
  evtx?: 'ecs' | 'raw';
  /** The machines' own addresses ([host.id, addresses] pairs; see events/windows/host-ip.ts). */
  hostAddresses?: [string, string[]][];
  /**
   * The addresses are found when first needed (OpenOptions.hostAddresses as a function): the
   * worker asks the main thread ('hosts?') when it meets its first document mapped on read.
   */
  hostAddressesLater?: boolean;
  /** A batch is sent when it holds this many events … */
  batchEvents: number;
  /** … or this many whole events. */
  batchForwarded: number;
  /** Batches a file may have in flight before its worker waits for the main thread. */
  credits: number;
  /**
   * Whole events nested deeper than this travel as JSON text instead of structured-clone objects:
   * the main thread's deserialiser recurses on a smaller stack than the worker's serialiser and
   * fails on documents about 2,000 levels deep (a `messageerror`, the whole batch lost).
   */
  cloneDepth: number;
  /**
   * Fault injection for tests: the file's batch with this number carries a value the main thread
   * cannot deserialise, to exercise the `messageerror` path that no bounded input reaches.
   */
  unclonableBatch?: number;
}

/**
 * A batch's whole events, as columns: entry k (0 ≤ k < n) is the k-th whole event of the batch.
 * One object per event cost about 1 µs to serialise on the worker and 2–3 to deserialise on the
 * main thread (node:v8's serializer, which postMessage uses, on Agent-shaped batches of 256: keys
 * and small arrays per event); typed columns, transferred, cost a tenth of that.
 */
export interface ForwardedColumns {
  n: number;
  /** Position in the batch. */
  i: Int32Array;
  /** FWD_DERIVED_ID: the input gave no `_id` (see documentId in events/ids.ts); FWD_DERIVED_HOST_IP: host.ip was added by the mapping (EventDoc.derivedHostIp). */
  flags: Uint8Array;
  /** The event's index is indexes[index[k]]. */
  index: Int32Array;
  indexes: string[];
  /** The event's routes are routes[routeEnd[k - 1] (0 for the first), routeEnd[k]). */
  routes: Int32Array;
  routeEnd: Int32Array;
  /**
   * A hunt's: its routes' queries' answers, in the flat form of engine/answers.ts (EventDoc.answers),
   * one event's after the other's; null otherwise.
   */
  answers: unknown[] | null;
  /**
   * A hunt's: the values of timestampOverrides(rules) in each event (EventDoc.fieldValues), that
   * many per event; null when the rules have none.
   */
  fv: unknown[] | null;
  /**
   * Where the document is, when it is one line of a part of the file (EventDoc.textAt): bytes
   * [at, at + bytes) of the file, its JSON text (the line after its leading blanks) `chars` UTF-16
   * units long. The main thread parses fewer than 1% of the whole events it receives (with every
   * rule over Agent data), so most texts need not travel at all; it reads the line back from the
   * file when something reads the document. NaN in `at`: the document travels in `docs`.
   */
  at: Float64Array;
  bytes: Float64Array;
  chars: Float64Array;
  /**
   * The documents that travel, in order, one per event whose `at` is NaN: a string is its JSON
   * text, which the main thread parses when something reads it (see WorkerConfig.cloneDepth and
   * forward-form.ts), an object the document itself (a structured clone).
   */
  docs: (string | Record<string, unknown>)[];
}

export const FWD_DERIVED_ID = 1;
export const FWD_DERIVED_HOST_IP = 2;

/**
 * The rules' timestamp_override fields, in the order ForwardedColumns.fv carries their values: the
 * detection engine reads them for every (event, rule) pair (a rule's window time).
 */
export function timestampOverrides(rules: readonly Rule[]): string[] {
  const fields = new Set<string>();
  for (const r of rules) if (r.timestamp_override) fields.add(r.timestamp_override);
  return [...fields];
}

export interface EventBatch {
  t: 'batch';
  id: number;
  /** The file's batch number (0, 1, …) and events sent in this and the earlier batches: a batch the
   * main thread could not receive shows as a gap, reported with its size and place. */
  b: number;
  sent: number;
  n: number;
  ms: Float64Array;
  ns: Float64Array;
  /**
   * The ids of the events at positions idAt[k] (ascending). Every other event's id is derived and
   * is `<idPrefix>:<pos>`, which the main thread makes when it is asked for: sending that string
   * for every event cost about 0.1–0.3 µs of the worker's serialiser and 0.03–0.14 µs of the main
   * thread's deserialiser per event (node:v8, batches of 1,000 such ids).
   */
  ids: string[];
  idAt: Int32Array;
  /** The reader's prefix of derived ids for this file (fileIdPrefix). */
  idPrefix: string;
  /** 1 where the id is derived (see ForwardedColumns.flags). */
  derived: Uint8Array;
  /** NDJSON: line; EVTX: record id (NaN when the event has no such position). */
  pos: Float64Array;
  /** EVTX only: chunk number and byte offset. */
  chunk: Float64Array | null;
  offset: Float64Array | null;
  /** Tiebreaker values (only with a tiebreaker field). */
  tb: unknown[] | null;
  /** The whole events (null: none). */
  fwd: ForwardedColumns | null;
  skips: SkippedItem[];
  /** Only with WorkerConfig.unclonableBatch. */
  probe?: unknown;
  bytes: number;
  read: number;
  skipped: number;
}

export type FromWorker =
  | EventBatch
  | { t: 'warn'; id: number; message: string }
  | {
      t: 'end';
      id: number;
      batches: number;
      sent: number;
      skips: SkippedItem[];
      bytes: number;
      read: number;
      skipped: number;
      counters: unknown;
      shape?: InputShape;
      /** JSON inputs: the splitter's state at the end (EventReader.lineState). */
      lines?: { linesOnly: boolean; line: number };
    }
  /** input: an InputError (unreadable file), reported as such on the main thread. */
  | { t: 'fail'; id: number; message: string; input: boolean }
  /** The machines' own addresses are needed now (WorkerConfig.hostAddressesLater). */
  | { t: 'hosts?' };

/** A line-aligned part of an NDJSON file (see ReadOptions.range and src/parallel/chunks.ts). */
export interface ByteRange {
  start: number;
  /** Exclusive; absent: to the end of the file. */
  end?: number;
  /** The line `start` begins (1-based, in the whole file). */
  line: number;
  continued: boolean;
}

export type ToWorker =
  /**
   * Read a file, or with `range` a part of one (read without a line filter). A `part` (one of the
   * small pieces a file is cut into) is read without flow control, by one router the worker keeps
   * for all its parts, whose counters each part's `end` carries and resets; parts are sent to a
   * worker one at a time.
   */
  | { t: 'open'; id: number; path: string; kind: 'json' | 'evtx'; range?: ByteRange; part?: boolean }
  | { t: 'credit'; id: number }
  | { t: 'cancel'; id: number }
  /** The answer to 'hosts?': [host.id, addresses] pairs, null when none were found. */
  | { t: 'hosts'; entries: [string, string[]][] | null }
  /** A message of this worker could not be received: its batch's credit will never come back, so
   * every open file gets one more (the file that lost it reports the gap). */
  | { t: 'lost' };
