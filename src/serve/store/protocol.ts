// Messages between the event store (event-store.ts, main thread) and its writer thread
// (writer.ts). One thread owns the write connection: it commits what every pending bulk request
// brought in one transaction (group commit), so one fsync acknowledges many requests, and the
// main thread keeps parsing requests while the disk works.

/** Operation of one bulk item, as the writer applies it. */
export const Op = {
  /** Insert; an existing (index, id) is a conflict. */
  Create: 0,
  /** Insert or replace (the old version is removed and the new one gets a new seq). */
  Index: 1,
  Delete: 2,
  /** Merge `src` (a partial document) into the stored one; with `upsert`, create when missing. */
  Update: 3,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export interface WriteItem {
  op: Op;
  idx: string;
  id: string;
  /** @timestamp in epoch ms (null when absent or unparseable). */
  ts: number | null;
  /** `_source` JSON (the partial document for Update; null for Delete). */
  src: string | null;
  /** Routing at ingest: rule generation G if some rule can use the event, -G if none, 0 unknown. */
  routed?: number;
  /** Update only: the document to create when none exists (JSON), or null. */
  upsert?: string | null;
}

/** A bulk line that could not be used, kept for inspection (never silently dropped). */
export interface RejectedLine {
  reason: string;
  idx: string | null;
  /** The line, cut to a bounded length. */
  line: string;
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
  | { t: 'write'; req: number; items: WriteItem[]; rejected: RejectedLine[] }
  | { t: 'retention'; maxAgeMs: number; maxBytes: number }
  | { t: 'close' };

/** Why the writer cannot write: `full` (disk or quota), `readonly` (permissions), `io` (other). */
export type WriterFailure = 'full' | 'readonly' | 'io';

/** Per-item outcome codes, the HTTP status of the bulk item. */
export const Outcome = { Created: 201, Updated: 200, Deleted: 200, Conflict: 409, NotFound: 404 } as const;

export type FromWriter =
  | { t: 'ready'; lastSeq: number }
  | { t: 'unavailable'; failure: WriterFailure; message: string }
  | {
      t: 'done';
      req: number;
      /** Commit time: `event.ingested` of every event this transaction stored. */
      ingested: number;
      /** Per item: an Outcome. */
      status: number[];
      /** Per item: the stored row's seq (0 when nothing was stored). */
      seq: number[];
    }
  | { t: 'failed'; req: number; failure: WriterFailure; message: string }
  | { t: 'retained'; deleted: number; reason: 'age' | 'size'; oldestSeq: number }
  | { t: 'closed' };
