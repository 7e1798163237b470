// Alerts in cluster mode: written once to JetStream, read on every node.
//
// Writing — KV `<name>_alerts`, one key per alert id, created with "expected last subject
// sequence 0" (KV create): the server refuses a second create of the same id for as long as the
// key exists, so an alert found twice — by a new owner replaying a partition, by a stale owner
// before it is fenced, by a repair run and the real-time run — is stored once, however far apart
// the two writes are. A stream with `Nats-Msg-Id` deduplication would only catch a second write
// within its duplicate window (minutes), while a repair or a catch-up can find an alert again
// much later; hence KV create. A sequence's building blocks are created before its shell, so a
// stored shell means the whole group is stored (a group cut by a crash is completed by the next
// writer: the blocks already there are "exists", the rest are created).
//
// Reading — every node keeps a replica in its own `<data>/alerts.sqlite` (the format `hunt --db`
// writes), fed by an ordered consumer on the bucket's stream from the last sequence it applied;
// the alert API, the Elasticsearch `_search`/`_count` on alerts and the UI read that file as in
// single-node mode. Workflow status changes go to KV `<name>_alert_status` (its history is the
// status history) and reach every replica the same way; the node that took the change waits
// until its own replica has it before answering.
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Alert } from '../detect/alerts.js';
import type { AlertLedger } from '../detect/engine.js';
import type { Rule } from '../rules/types.js';
import type { ServedAlerts, WorkflowStatus } from '../serve/alerts.js';
import { isTransient, ORDERED_CONSUME, restartOnRecovery, sleep, type ClusterResources } from './nats.js';

const REPLICA_SCHEMA = `
CREATE TABLE IF NOT EXISTS cluster_replica (
  stream TEXT PRIMARY KEY,
  created TEXT NOT NULL,
  last_seq INTEGER NOT NULL
);
`;

export interface AlertWriteStats {
  onWrite?: (created: number, existed: number) => void;
  onRetry?: () => void;
}

export class ClusterAlerts {
  private readonly bucketSubject: string;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly applied: Record<string, number> = {};
  private readonly waiters: { stream: string; seq: number; resolve: () => void }[] = [];
  private replicas: Promise<void>[] = [];
  /** Alert groups this process stored (bounded; the replica and KV create are the real guards). */
  private written = new Set<string>();

  /**
   * The detection engine's ledger: a group counts as written once it is durably stored — by this
   * process, or by anyone (the replica has it). An id is never recorded before its write
   * succeeded, so a group whose write failed is found and written again by whoever replays.
   */
  readonly ledger: AlertLedger = {
    has: (id) => this.written.has(id) || this.served.exists(id),
    add: () => undefined,
  };

  constructor(
    private readonly res: ClusterResources,
    private readonly served: ServedAlerts,
    private readonly log: Logger,
    private readonly stats: AlertWriteStats = {},
  ) {
    this.bucketSubject = `$KV.${res.cfg.name}_alerts`;
    served.db.exec(REPLICA_SCHEMA);
    served.statusWriter = (ids, status, by) => this.setStatus(ids, status, by);
  }

  // ---- writing ---------------------------------------------------------------------------------------

  /** The detectors' sink: creates the group's alerts (blocks, then the shell); resolves once stored. */
  async write(group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled'): Promise<void> {
    let created = 0;
    const blocks = group.slice(0, -1);
    const shell = group[group.length - 1]!;
    const results = await Promise.all(blocks.map((a) => this.create(a)));
    for (const r of results) if (r) created++;
    const shellNew = await this.create(shell);
    if (shellNew) created++;
    if (this.written.size >= 200_000) this.written = new Set();
    this.written.add(String(shell['kibana.alert.uuid']));
    this.stats.onWrite?.(created, group.length - created);
    // Notifications (webhooks) come from the node that created the group.
    if (shellNew) this.served.notify(group, rule, mode);
  }

  /** Creates one alert; true when created, false when it existed. Retries until stored or stopped. */
  private async create(a: Alert): Promise<boolean> {
    const id = String(a['kibana.alert.uuid']);
    const data = Buffer.from(JSON.stringify(a));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.res.js.publish(`${this.bucketSubject}.${id}`, data, { expect: { lastSubjectSequence: 0 }, timeout: 5000 });
        return true;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 10071) return false;
        if (this.stopped) throw new Error('stopping: alert not written');
        if (!isTransient(e)) throw e;
        this.stats.onRetry?.();
        if (attempt === 5) this.log.warn({ alert: id, err: (e as Error).message }, 'cluster: writing an alert keeps failing; retrying');
        await sleep(Math.min(2000, 50 * 2 ** attempt));
      }
    }
  }

  // ---- replica ---------------------------------------------------------------------------------------

  /** Starts the replicas of alerts and statuses; resolves once both have caught up with the cluster. */
  async startReplica(): Promise<void> {
    const alerts = this.res.bucketStreams.alerts;
    const status = this.res.bucketStreams.status;
    const caughtUp = [this.replicate(alerts, (batch) => this.applyAlerts(batch)), this.replicate(status, (batch) => this.applyStatuses(batch))];
    await Promise.all(caughtUp.map((p) => p.ready));
    this.replicas = caughtUp.map((p) => p.done);
  }

  private replicate(stream: string, apply: (batch: JsMsg[]) => void): { ready: Promise<void>; done: Promise<void> } {
    const db = this.served.db;
    let ready!: () => void;
    const readyP = new Promise<void>((r) => (ready = r));
    const run = async () => {
      let failures = 0;
      while (!this.stopped) {
        try {
          const info = await this.res.jsm.streams.info(stream);
          const row = db.prepare('SELECT created, last_seq FROM cluster_replica WHERE stream = ?').get(stream) as { created: string; last_seq: number } | undefined;
          let from = 1;
          if (row && row.created === info.created) from = row.last_seq + 1;
          else {
            // A replica of another cluster (or of a bucket since re-created): start over.
            if (row || stream === this.res.bucketStreams.alerts) this.wipe(stream);
            db.prepare('INSERT OR REPLACE INTO cluster_replica (stream, created, last_seq) VALUES (?, ?, 0)').run(stream, info.created);
          }
          this.applied[stream] = from - 1;
          if (info.state.last_seq < from) ready();
          const c = await this.res.js.consumers.get(stream, { opt_start_seq: from, inactive_threshold: 60_000 });
          const msgs = await c.consume({ max_messages: 1000, ...ORDERED_CONSUME });
          restartOnRecovery(msgs, (reason) => this.log.info({ stream, reason, applied: this.applied[stream] }, 'cluster: alert replica restarts its consumer'));
          const onAbort = () => void msgs.close();
          this.abort.signal.addEventListener('abort', onAbort, { once: true });
          let batch: JsMsg[] = [];
          try {
            for await (const m of msgs) {
              failures = 0;
              batch.push(m);
              if (batch.length >= 500 || m.info.pending === 0) {
                const last = batch[batch.length - 1]!.seq;
                db.transaction(() => {
                  apply(batch);
                  db.prepare('UPDATE cluster_replica SET last_seq = ? WHERE stream = ?').run(last, stream);
                })();
                batch = [];
                this.applied[stream] = last;
                this.wake();
                if (m.info.pending === 0) ready();
              }
            }
          } finally {
            this.abort.signal.removeEventListener('abort', onAbort);
            await msgs.close().catch(() => undefined);
            c.delete().catch(() => undefined);
          }
        } catch (e) {
          if (this.stopped) return;
          failures++;
          if (failures === 1 || failures % 20 === 0) this.log.warn({ stream, err: (e as Error).message }, 'cluster: alert replica cannot read; retrying');
          await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
        }
      }
    };
    const done = run();
    return { ready: Promise.race([readyP, done]), done };
  }

  private wipe(stream: string): void {
    const db = this.served.db;
    if (stream === this.res.bucketStreams.alerts) db.exec('DELETE FROM alerts; DELETE FROM alert_status; DELETE FROM alert_status_history;');
    else db.exec('DELETE FROM alert_status; DELETE FROM alert_status_history;');
  }

  private applyAlerts(batch: JsMsg[]): void {
    const alerts: Alert[] = [];
    for (const m of batch) {
      if (m.headers?.get('KV-Operation')) continue;
      try {
        alerts.push(JSON.parse(Buffer.from(m.data).toString('utf8')) as Alert);
      } catch {
        this.log.warn({ subject: m.subject }, 'cluster: an alert in the bucket is not JSON; skipped');
      }
    }
    if (alerts.length > 0) this.served.insert(alerts);
  }

  private applyStatuses(batch: JsMsg[]): void {
    for (const m of batch) {
      if (m.headers?.get('KV-Operation')) continue;
      const id = m.subject.slice(`$KV.${this.res.cfg.name}_alert_status.`.length);
      try {
        const v = JSON.parse(Buffer.from(m.data).toString('utf8')) as { status: WorkflowStatus; at: number; by: string | null };
        this.served.applyStatus(id, v.status, v.at, v.by, m.seq);
      } catch {
        this.log.warn({ subject: m.subject }, 'cluster: a status in the bucket is not JSON; skipped');
      }
    }
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if ((this.applied[w.stream] ?? 0) >= w.seq) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Resolves once this node's replica of `stream` applied `seq` (or after `ms`). */
  private caughtUp(stream: string, seq: number, ms = 10_000): Promise<void> {
    if ((this.applied[stream] ?? 0) >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { stream, seq, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, ms).unref();
    });
  }

  /** Cluster-wide status change; resolves once this node's replica shows it. */
  async setStatus(ids: readonly string[], status: WorkflowStatus, by: string): Promise<number> {
    const at = Date.now();
    const value = JSON.stringify({ status, at, by });
    let last = 0;
    for (const id of ids) last = Math.max(last, await this.res.buckets.status.put(id, value));
    if (last > 0) await this.caughtUp(this.res.bucketStreams.status, last);
    return ids.length;
  }

  /** Resolves once the alert replica has applied everything stored so far (tests, status API). */
  async sync(ms = 30_000): Promise<void> {
    const info = await this.res.jsm.streams.info(this.res.bucketStreams.alerts);
    await this.caughtUp(this.res.bucketStreams.alerts, info.state.last_seq, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all(this.replicas);
  }
}
