// The event store's SQLite schema (`<data>/events.sqlite`).
//
// `events` holds every stored document in arrival order (`seq`). `src` is the `_source` as the
// client sent it (or as the Windows mapping produced it); `event.ingested` is not written into it
// but kept in the `ingested` column and added when the document is read (eventSource()), so the
// hot path never re-serialises a document. Ingest times only grow with `seq` (the writer makes
// them monotonic), so `ingest_marks` — one row per transaction — turns an `event.ingested` range
// into a `seq` range without a second index on the events.
//
// `routed` records what routing decided when the event arrived, under rule generation G: G when
// some enabled rule could use the event, -G when none could, 0 when unknown. Scheduled runs skip
// events no rule of the current generation can use without parsing them again.
export const EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  idx TEXT NOT NULL,
  id TEXT NOT NULL,
  ts INTEGER,
  ingested INTEGER NOT NULL,
  routed INTEGER NOT NULL DEFAULT 0,
  src TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events(id, idx);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS ingest_marks (
  ingested INTEGER NOT NULL,
  first_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ingest_marks_time ON ingest_marks(ingested);
CREATE TABLE IF NOT EXISTS rejected (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  idx TEXT,
  reason TEXT NOT NULL,
  line TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
`;

export const EVENTS_SCHEMA_VERSION = '1';
