// Messages between the event store (event-store.ts, main thread) and its writer thread
// (writer.ts). One thread owns the write connection: it commits what every pending bulk request
// brought in one transaction (group commit), so one fsync acknowledges many requests, and the
// main thread keeps parsing requests while the disk works.
//
// A request's items travel as one WriteBatch: the documents' bytes in one buffer (the request
// body as the shipper sent it, plus the few documents eqlite rewrote) and the per-item numbers in
// one Float64Array. Both buffers are transferred to the writer, not copied or cloned item by
// item; the writer checks each document (json-scan.ts), reads its @timestamp, derives its id and
// stores the bytes unchanged.

/** Operation of one bulk item, as the writer applies it. */
export const Op = {
  /** Insert; an existing (index, id) is a conflict. */
  Create: 0,
  /** Insert or replace (the old version is removed and the new one gets a new seq). */
  Index: 1,
  Delete: 2,
  /** Merge the source (a partial document) into the stored one; with an upsert, create when missing. */
  Update: 3,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Fields of an item in WriteBatch.meta (item i's field f is meta[i * META + f]). */
export const F = {
  op: 0,
  /** Position of the item's index in WriteBatch.names. */
  index: 1,
  /** The source's bytes in WriteBatch.bytes (length -1: none, e.g. delete). */
  srcOff: 2,
  srcLen: 3,
  /** Update only: the document to create when none exists (length -1: none). */
  upsertOff: 4,
  upsertLen: 5,
  /** Routing at ingest: rule generation G if some rule can use the event, -G if none, 0 unknown. */
  routed: 6,
  /** Line number of the source in the request (orders rejected lines). */
  line: 7,
  /**
   * 1: the request parser checked the source (one JSON object) and read its @timestamp into
   * `ts` (NaN: none); 0: the writer checks it.
   */
  checked: 8,
  ts: 9,
} as const;
export const META = 10;

/** The items of one request, ready for the writer (see WriteBatchBuilder). */
export interface WriteBatch {
  count: number;
  /** META numbers per item. */
  meta: Float64Array;
  /** The sources' bytes. */
  bytes: Uint8Array;
  /** Distinct index names of the items. */
  names: string[];
  /**
   * Per item: the client's `_id`, or null when the id is derived from the content (a
   * document without `_id`). Null when no item has a client id.
   */
  ids: (string | null)[] | null;
  /** Lines the request parser refused (kept in the rejected table). */
  rejected: RejectedLine[];
}

/** A bulk line that could not be used, kept for inspection (never silently dropped). */
export interface RejectedLine {
  reason: string;
  idx: string | null;
  /** The line, cut to a bounded length. */
  line: string;
  /** Line number in the request: rejected lines are stored in request order. */
  at: number;
}

export interface WriterConfig {
  path: string;
  /** Retention: events older than this (by ingest time) are deleted; 0 = no age limit. */
  maxAgeMs: number;
  /** Retention: the database's used pages are kept below this many bytes; 0 = no size limit. */
  maxBytes: number;
  /** How often retention runs (ms). */
  retentionEveryMs: number;
}

export type ToWriter =
  | ({ t: 'write'; req: number } & WriteBatch)
  | { t: 'retention'; maxAgeMs: number; maxBytes: number }
  | { t: 'close' };

/** Why the writer cannot write: `full` (disk or quota), `readonly` (permissions), `io` (other). */
export type WriterFailure = 'full' | 'readonly' | 'io';

/** Per-item outcome codes, the HTTP status of the bulk item. */
export const Outcome = { Created: 201, Updated: 200, Deleted: 200, Conflict: 409, NotFound: 404, Invalid: 400 } as const;

/** Length of a content-derived id (as Elasticsearch's generated ids). */
export const AUTO_ID_LENGTH = 20;

/** An item the writer refused (status 400): the document is not a JSON object. */
export interface ItemRefusal {
  /** Item position in the batch. */
  i: number;
  reason: string;
}

export type FromWriter =
  | { t: 'ready'; lastSeq: number }
  | { t: 'unavailable'; failure: WriterFailure; message: string }
  | {
      t: 'done';
      req: number;
      /** Commit time: `event.ingested` of every event this transaction stored. */
      ingested: number;
      /** Per item: an Outcome. */
      status: Int32Array;
      /** Per item: the stored row's seq (0 when nothing was stored). */
      seq: Float64Array;
      /** The content-derived ids, AUTO_ID_LENGTH characters per item (blanks for items with a client id). */
      autoIds: string;
      refused: ItemRefusal[];
      /** The request's bytes buffer, handed back for the next request (see EventStore.bodyBuffer). */
      spare: ArrayBuffer | null;
    }
  | { t: 'failed'; req: number; failure: WriterFailure; message: string }
  | { t: 'retained'; deleted: number; reason: 'age' | 'size'; oldestSeq: number }
  | { t: 'closed' };
