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

  constructor(dir: string) {
    this.file = path.join(dir, 'alerts.sqlite');
    this.store = openAlertStore(this.file);
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
    const exists = this.db.prepare('SELECT 1 FROM alerts WHERE id = ?');
    this.ledger = {
      has: (id) => this.recent.has(id) || exists.get(id) !== undefined,
      add: (id) => {
        if (this.recent.size > 200_000) this.recent.clear();
        this.recent.add(id);
      },
    };
  }

  onAlerts(l: AlertListener): void {
    this.listeners.push(l);
  }

  /** The engine's sink: stores a group (fsynced) and tells the listeners. */
  write(alerts: Alert[], rule: Rule, mode: 'realtime' | 'scheduled'): number {
    const n = this.store.write(alerts);
    for (const l of this.listeners) l(alerts, rule, mode);
    return n;
  }

  count(): number {
    return this.store.count();
  }

  /** Sets the workflow status of alerts; returns how many exist. */
  setStatus(ids: readonly string[], status: WorkflowStatus, by: string): number {
    const now = Date.now();
    const exists = this.db.prepare('SELECT 1 FROM alerts WHERE id = ?');
    const upsert = this.db.prepare('INSERT INTO alert_status (id, status, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, updated_by = excluded.updated_by');
    const hist = this.db.prepare('INSERT INTO alert_status_history (id, status, at, by) VALUES (?, ?, ?, ?)');
    const doc = this.db.prepare(`UPDATE alerts SET doc = json_set(doc, '$."kibana.alert.workflow_status"', ?, '$."kibana.alert.workflow_status_updated_at"', ?) WHERE id = ?`);
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) {
        if (!exists.get(id)) continue;
        upsert.run(id, status, now, by);
        hist.run(id, status, now, by);
        doc.run(status, new Date(now).toISOString(), id);
        n++;
      }
    })();
    return n;
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
