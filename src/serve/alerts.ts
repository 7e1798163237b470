// The service's alerts: written to `<data>/alerts.sqlite` through the same alert store `eqlite
// hunt --db` writes (src/store/sqlite.ts), so one set of tools reads both. The ledger tells the
// detection engine which alert ids exist already (Kibana's create-only alert index), across the
// real-time and scheduled runs and across restarts. Workflow status (open, acknowledged, closed)
// lives beside the alerts (alert_status, with its history) and is mirrored into the document.
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Alert } from '../detect/alerts.js';
import type { AlertLedger } from '../detect/engine.js';
import { getField } from '../engine/fields.js';
import { parseInstant } from '../events/time.js';
import type { Rule } from '../rules/types.js';
import { openAlertStore, type AlertStore } from '../store/sqlite.js';

export type WorkflowStatus = 'open' | 'acknowledged' | 'closed';
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['open', 'acknowledged', 'closed'];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_status (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT
);
CREATE TABLE IF NOT EXISTS alert_status_history (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  status TEXT NOT NULL,
  at INTEGER NOT NULL,
  by TEXT
);
CREATE INDEX IF NOT EXISTS alert_status_history_id ON alert_status_history(id);
`;

export type AlertListener = (alerts: Alert[], rule: Rule, mode: 'realtime' | 'scheduled') => void;

export class ServedAlerts {
  readonly file: string;
  readonly db: Database.Database;
  private readonly store: AlertStore;
  private readonly recent = new Set<string>();
  private readonly listeners: AlertListener[] = [];
  readonly ledger: AlertLedger;

  /** `file`: another alert store than the data directory's (`eqlite ui` opens a `hunt --db` file). */
  constructor(dir: string, file = path.join(dir, 'alerts.sqlite')) {
    this.file = file;
    this.store = openAlertStore(this.file);
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    const exists = this.db.prepare('SELECT 1 FROM alerts WHERE id = ?');
    // An id counts as written once its write succeeded (write() records it), never before: a
    // group whose write failed is found and written again by whoever replays its events.
    this.ledger = {
      has: (id) => this.recent.has(id) || exists.get(id) !== undefined,
      add: () => undefined,
    };
  }

  onAlerts(l: AlertListener): void {
    this.listeners.push(l);
  }

  /** The engine's sink: stores a group (fsynced) and tells the listeners. */
  write(alerts: Alert[], rule: Rule, mode: 'realtime' | 'scheduled'): number {
    const n = this.store.write(alerts);
    if (this.recent.size > 200_000) this.recent.clear();
    for (const a of alerts) this.recent.add(String(a['kibana.alert.uuid']));
    this.notify(alerts, rule, mode);
    return n;
  }

  /** Tells the listeners (webhooks) about a new alert group written elsewhere (cluster mode). */
  notify(alerts: Alert[], rule: Rule, mode: 'realtime' | 'scheduled'): void {
    for (const l of this.listeners) l(alerts, rule, mode);
  }

  /** Stores alerts without telling the listeners (a replica of alerts written elsewhere). */
  insert(alerts: readonly Alert[]): number {
    const n = this.store.write(alerts);
    // A status may have reached this replica before its alert did: mirror it into the document.
    const status = this.db.prepare('SELECT status, updated_at FROM alert_status WHERE id = ?');
    const mirror = this.db.prepare(`UPDATE alerts SET doc = json_set(doc, '$."kibana.alert.workflow_status"', ?, '$."kibana.alert.workflow_status_updated_at"', ?), workflow_status = NULLIF(?, 'open') WHERE id = ?`);
    for (const a of alerts) {
      const id = String(a['kibana.alert.uuid']);
      const st = status.get(id) as { status: string; updated_at: number } | undefined;
      if (st) mirror.run(st.status, new Date(st.updated_at).toISOString(), st.status, id);
    }
    return n;
  }

  /**
   * Cluster mode: status changes go to the cluster (which applies them to every node's replica,
   * this one included, before resolving) instead of this file.
   */
  statusWriter: ((ids: readonly string[], status: WorkflowStatus, by: string) => Promise<number>) | null = null;

  count(): number {
    return this.store.count();
  }

  /** Sets the workflow status of alerts; returns how many exist. */
  setStatus(ids: readonly string[], status: WorkflowStatus, by: string): number | Promise<number> {
    if (this.statusWriter) return this.statusWriter(ids.filter((id) => this.exists(id)), status, by);
    const now = Date.now();
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) if (this.applyStatus(id, status, now, by)) n++;
    })();
    return n;
  }

  exists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM alerts WHERE id = ?').get(id) !== undefined;
  }

  /**
   * Records one status change of an alert; returns whether the alert exists. `seq` numbers the
   * history entry: a replica passes the cluster's (applying twice is harmless) and records the
   * status even when the alert has not reached it yet (insert() mirrors it into the document
   * then); without `seq` (this node's own change) an unknown alert is left alone.
   */
  applyStatus(id: string, status: WorkflowStatus, at: number, by: string | null, seq?: number): boolean {
    const exists = this.exists(id);
    if (!exists && seq === undefined) return false;
    this.db.prepare('INSERT INTO alert_status (id, status, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, updated_by = excluded.updated_by').run(id, status, at, by);
    if (seq === undefined) this.db.prepare('INSERT INTO alert_status_history (id, status, at, by) VALUES (?, ?, ?, ?)').run(id, status, at, by);
    else this.db.prepare('INSERT OR IGNORE INTO alert_status_history (seq, id, status, at, by) VALUES (?, ?, ?, ?, ?)').run(seq, id, status, at, by);
    // The document and the store's status column (src/store/sqlite.ts; NULL is open), which the alert list's indexes hold.
    if (exists) this.db.prepare(`UPDATE alerts SET doc = json_set(doc, '$."kibana.alert.workflow_status"', ?, '$."kibana.alert.workflow_status_updated_at"', ?), workflow_status = NULLIF(?, 'open') WHERE id = ?`).run(status, new Date(at).toISOString(), status, id);
    return exists;
  }

  close(): void {
    this.store.close();
    this.db.close();
  }
}

/** Latest `event.ingested` among an alert group's source events (epoch ms), for latency metrics. */
export function lastIngested(alerts: readonly Alert[]): number | null {
  let best: number | null = null;
  for (const a of alerts) {
    const t = parseInstant(getField(a, 'event.ingested'))?.ms;
    if (t !== undefined && (best === null || t > best)) best = t;
  }
  return best;
}
