// `<data>/state.sqlite`: the service's own small, durable state — credentials, the index
// templates, pipelines and data streams shippers create at start-up, rule state (enabled, runs,
// gaps), imported rules, and the webhook outbox. Each module creates its tables here. Writes are
// rare and fsynced (WAL, synchronous=FULL), on the main thread.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type StateDb = Database.Database;

export function openStateDb(dir: string): StateDb {
  mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, 'state.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  return db;
}
