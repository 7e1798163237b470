// SQLite alert store (`--db alerts.sqlite`). Alerts are keyed by their deterministic id and the
// store is create-only, like Kibana's writes to `.alerts-security.alerts-*` (a bulk `create` per
// alert after filtering out ids that already exist): writing the same hunt twice, or overlapping
// hunts, leaves one row per alert, and a row once written is never rewritten — its first
// `@timestamp`, and whatever a triager changed in it, stay. The full alert document is kept as
// JSON next to a few columns for querying and indexing.
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';

// The native SQLite module is loaded when a store is opened: a hunt without --db does not pay it.
const require = createRequire(import.meta.url);
import type { Alert } from '../detect/alerts.js';

export interface AlertStore {
  /** Inserts the alerts whose ids are not stored yet, in one transaction; returns how many. */
  write(alerts: readonly Alert[]): number;
  count(): number;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  rule_name TEXT NOT NULL,
  severity TEXT NOT NULL,
  risk_score REAL,
  "@timestamp" TEXT NOT NULL,
  original_time TEXT,
  host_name TEXT,
  user_name TEXT,
  building_block INTEGER NOT NULL,
  group_id TEXT,
  reason TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_rule_id ON alerts(rule_id);
CREATE INDEX IF NOT EXISTS alerts_timestamp ON alerts("@timestamp");
CREATE INDEX IF NOT EXISTS alerts_group ON alerts(group_id) WHERE group_id IS NOT NULL;
`;

function str(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.length > 0 ? String(v[0]) : null;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function field(a: Alert, dotted: string): unknown {
  if (dotted in a) return a[dotted];
  let cur: unknown = a;
  for (const p of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** A write to the store failed (locked for too long, disk full…): one line for the user. */
export class StoreError extends Error {
  override name = 'StoreError';
}

export interface AlertStoreOptions {
  /**
   * How long a write waits for another process's write lock (two hunts into one --db) before it
   * fails (default 300 s).
   */
  lockWaitMs?: number;
  /** Told once when a write has to wait for another process's lock. */
  onWait?: (message: string) => void;
}

const DEFAULT_LOCK_WAIT_MS = 300_000;

/**
 * The alert's workflow status as a column (NULL: open, as written), kept by the service's status
 * writer beside the document's `kibana.alert.workflow_status`, so that status filters and counts
 * are answered by an index at millions of alerts. Stores made before it get the column (an
 * ALTER TABLE that does not rewrite the table) and their recorded statuses copied in, once.
 */
function ensureStatusColumn(db: Database.Database): void {
  const cols = db.prepare('PRAGMA table_info(alerts)').all() as { name: string }[];
  if (!cols.some((c) => c.name === 'workflow_status')) {
    db.transaction(() => {
      db.exec('ALTER TABLE alerts ADD COLUMN workflow_status TEXT');
      const hasStatus = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alert_status'").get();
      if (hasStatus) db.exec("UPDATE alerts SET workflow_status = s.status FROM alert_status s WHERE s.id = alerts.id AND s.status != 'open'");
    })();
  }
  // For the alerts API and web UI at millions of alerts: a list walks one of these in its order
  // (time, then id) and stops after a page, whatever the filter on status, host, user, severity or
  // rule (and status with any of them); counts, facets and the histogram read them without touching
  // the documents; the severity and risk orders have their own.
  const status = "COALESCE(workflow_status, 'open')";
  db.exec(`
    CREATE INDEX IF NOT EXISTS alerts_list ON alerts(building_block, "@timestamp", id);
    CREATE INDEX IF NOT EXISTS alerts_status_time ON alerts(building_block, ${status}, "@timestamp", id);
    CREATE INDEX IF NOT EXISTS alerts_host_status ON alerts(building_block, host_name, ${status}, "@timestamp", id);
    CREATE INDEX IF NOT EXISTS alerts_user_status ON alerts(building_block, user_name, ${status}, "@timestamp", id);
    CREATE INDEX IF NOT EXISTS alerts_severity_status ON alerts(building_block, severity, ${status}, "@timestamp", id);
    CREATE INDEX IF NOT EXISTS alerts_rule_status ON alerts(building_block, rule_id, ${status}, "@timestamp", id);
    CREATE INDEX IF NOT EXISTS alerts_severity_rank ON alerts(building_block, (CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END), "@timestamp", id);
    CREATE INDEX IF NOT EXISTS alerts_risk ON alerts(building_block, COALESCE(risk_score, -1), "@timestamp", id);`);
}

/** Opens (creating if needed) an alert database. */
export function openAlertStore(file: string, opts: AlertStoreOptions = {}): AlertStore {
  const lockWait = opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  // Opening waits like a write does: another hunt may be in the middle of one.
  const open = require('better-sqlite3') as typeof Database;
  const db = new open(file, { timeout: lockWait });
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA);
  ensureStatusColumn(db);
  const insert = db.prepare(`
    INSERT INTO alerts (id, rule_id, rule_name, severity, risk_score, "@timestamp", original_time, host_name, user_name, building_block, group_id, reason, doc)
    VALUES (@id, @rule_id, @rule_name, @severity, @risk_score, @ts, @original_time, @host_name, @user_name, @building_block, @group_id, @reason, @doc)
    ON CONFLICT(id) DO NOTHING`);
  const write = db.transaction((alerts: readonly Alert[]) => {
    let added = 0;
    for (const a of alerts) {
      const info = insert.run({
        id: String(a['kibana.alert.uuid']),
        rule_id: String(a['kibana.alert.rule.rule_id']),
        rule_name: String(a['kibana.alert.rule.name']),
        severity: String(a['kibana.alert.severity']),
        risk_score: typeof a['kibana.alert.risk_score'] === 'number' ? a['kibana.alert.risk_score'] : null,
        ts: String(a['@timestamp']),
        original_time: str(a['kibana.alert.original_time']),
        host_name: str(field(a, 'host.name')),
        user_name: str(field(a, 'user.name')),
        building_block: a['kibana.alert.building_block_type'] !== undefined ? 1 : 0,
        group_id: str(a['kibana.alert.group.id']),
        reason: str(a['kibana.alert.reason']),
        doc: JSON.stringify(a),
      });
      added += info.changes;
    }
    return added;
  });
  const count = db.prepare('SELECT COUNT(*) AS n FROM alerts');
  // Each write takes the write lock up front (BEGIN IMMEDIATE), so a concurrent writer makes it
  // wait for the lock instead of failing half-way. First without waiting, to say that we wait.
  let told = false;
  const writeWaiting = (alerts: readonly Alert[]): number => {
    db.pragma('busy_timeout = 0');
    try {
      return write.immediate(alerts);
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
    } finally {
      db.pragma(`busy_timeout = ${lockWait}`);
    }
    if (!told) {
      told = true;
      opts.onWait?.(`${file} is being written by another process; waiting for its lock (up to ${Math.round(lockWait / 1000)} s)`);
    }
    return write.immediate(alerts);
  };
  return {
    write: (alerts) => {
      try {
        return writeWaiting(alerts);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'SQLITE_BUSY') throw new StoreError(`cannot store alerts in ${file}: still locked by another process after ${Math.round(lockWait / 1000)} s; ${alerts.length} alert(s) not stored (rerun to add them)`);
        if (typeof code === 'string' && code.startsWith('SQLITE_')) throw new StoreError(`cannot store alerts in ${file}: ${(e as Error).message} (${code}); ${alerts.length} alert(s) not stored`);
        throw e;
      }
    },
    count: () => (count.get() as { n: number }).n,
    close: () => db.close(),
  };
}
