// Detection in `eqlite serve`, driving the shared detection engine (src/detect/engine.ts) two ways:
//
//  * Scheduled (Kibana's semantics): every enabled rule runs every `interval`, on a grid aligned
//    to the epoch (run times k·interval), `lateness` after its run time, searching
//    [run + from, run + to] of the stored events by timestamp_override (event.ingested for most
//    prebuilt rules) or @timestamp, with max_signals, exceptions and idempotent ids — the engine's
//    runWindow(). Each rule's last run is kept in state.sqlite, so after downtime the missed runs
//    are caught up, oldest first (at most `max_catchup_runs`; anything older is a gap, reported).
//    Runs due at the same tick with the same window share one read of the store.
//  * Real time (on by default): the store is read as an event log (store/sqlite-log.ts) by the
//    shared partition detector (realtime.ts) — the same driver the cluster's workers run on
//    JetStream partitions: committed events are held `detection.reorder` (default 250 ms), pushed in time order into a
//    stream-mode engine whose rules alert as soon as a match is final, and the position whose
//    alerts are written is acknowledged (state.sqlite). Alert ids are the same the scheduled run
//    computes, and the shared ledger (the alert store) makes whichever comes second find it
//    written. Events arriving after later events were pushed get repair runs of their rules'
//    scheduled windows that contain them. After a restart, sequences pending at the last acknowledgement are rebuilt by a
//    silent replay and detection continues from it.
//
// Where the scheduled runs read and keep their state is plugged in: a single node reads its SQLite
// event store and keeps rule state in state.sqlite (SqliteScheduleStore); a cluster node reads the
// JetStream event stream and keeps rule state in a KV bucket every node mirrors, and runs only
// while it holds the cluster's scheduler lease (src/cluster/scheduler.ts). The due runs, gaps,
// catch-up, grouping and the engine's runWindow are this file's, for both.
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Alert } from '../detect/alerts.js';
import { DetectionEngine, type AlertLedger } from '../detect/engine.js';
import { parseInterval } from '../detect/schedule.js';
import { RuleSchedule } from '../detect/schedule.js';
import { stampEventTime } from '../events/order.js';
import type { EventDoc } from '../events/types.js';
import type { Rule } from '../rules/types.js';
import { lastIngested, type ServedAlerts } from './alerts.js';
import type { ServeConfig } from './config.js';
import type { Metrics } from './metrics.js';
import { PartitionDetector, WHOLE_LOG, type DetectorStatus } from './realtime.js';
import type { RuleGeneration, RuleSet } from './rules.js';
import type { RuleGap, RunRecord } from './rule-runs.js';
import type { StateDb } from './state.js';
import { eventSource, type EventStore } from './store/event-store.js';
import type { SqliteEventLog } from './store/sqlite-log.js';
import { DEBUG_HOLD } from './debug-hold.js';

/** Shortest and longest wait of real time for a bulk request begun before an event's own (beyond the reorder hold). */
const IN_FLIGHT_WAIT_MS = 1000;
const IN_FLIGHT_WAIT_MAX_MS = 5000;

/** The run grid: runs at multiples of the interval since the epoch. */
const EPOCH = { anchor: 0 };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rule_schedule (
  uuid TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  last_run INTEGER,
  last_status TEXT,
  last_error TEXT,
  last_duration_ms REAL,
  last_events INTEGER,
  last_alerts INTEGER,
  last_executed_at INTEGER
);
CREATE TABLE IF NOT EXISTS rule_runs (
  seq INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL,
  run_time INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  duration_ms REAL NOT NULL,
  events INTEGER NOT NULL,
  alerts INTEGER NOT NULL,
  executed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rule_runs_uuid ON rule_runs(uuid, seq);
CREATE TABLE IF NOT EXISTS rule_gaps (
  seq INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL,
  gap_start INTEGER NOT NULL,
  gap_end INTEGER NOT NULL,
  status TEXT NOT NULL,
  detected_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rule_gaps_uuid ON rule_gaps(uuid, seq);
`;

export interface DetectionDeps {
  config: ServeConfig;
  store: EventStore;
  /** The store read as an event log (real time). */
  eventLog: SqliteEventLog;
  rules: RuleSet;
  alerts: ServedAlerts;
  metrics: Metrics;
  state: StateDb;
  log: Logger;
  /** Cluster mode: scheduled runs over the cluster's event stream, state shared (null: single node). */
  cluster?: ClusterScheduling | null;
  /**
   * When the oldest bulk request began that is still being stored, or that ended after `after`
   * (Date.now; Infinity: none): real time waits for it (Ingest.oldestInFlight).
   */
  inFlightSince?: (after: number, startedFrom: number) => number;
  /** How long a bulk request takes these days (ms; Ingest.typicalDuration). */
  typicalRequestMs?: () => number;
}

/** What a cluster node plugs into the scheduled runs. */
export interface ClusterScheduling {
  /** Rule run state shared by every node. */
  store: ScheduleStore;
  /** The events of a window (every partition, each event once), in time order. */
  readWindow: (start: number, end: number, byIngested: boolean) => Promise<EventDoc[]>;
  /** True while this node holds the scheduler lease (only it runs scheduled and catch-up runs). */
  active: () => boolean;
  /** Alerts of scheduled and manual runs: resolves once they are durable. */
  sink: (group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled') => Promise<void>;
  ledger: AlertLedger;
}

/** One run as recorded. */
export interface RunRow {
  uuid: string;
  rule_id: string;
  run_time: number;
  window_start: number;
  window_end: number;
  kind: 'scheduled' | 'catch-up' | 'manual';
  status: 'succeeded' | 'failed';
  error: string | null;
  duration_ms: number;
  events: number;
  alerts: number;
  executed_at: number;
}

export interface GapRow {
  gap_start: number;
  gap_end: number;
  status: 'filled' | 'unfilled';
  detected_at: number;
}

/** Where rule run state (last run, run history, gaps) is kept. */
export interface ScheduleStore {
  /** Run time of the rule's last scheduled or catch-up run (null: never ran). */
  lastRun(uuid: string): number | null;
  /**
   * Records a run; `advance`: it moves the rule's last run (scheduled and catch-up runs). Returns
   * false when the run was already recorded (a cluster's other scheduler did it): nothing written.
   */
  recordRun(row: RunRow, advance: boolean): boolean | Promise<boolean>;
  recordGap(uuid: string, rule_id: string, gap: GapRow): void | Promise<void>;
  /** Marks the unfilled gaps inside [from, to] filled (a manual run covered them). */
  fillGaps(uuid: string, from: number, to: number): void | Promise<void>;
  /** Most recent runs first (at most 50) and gaps (at most 100). */
  runs(uuid: string): RunRow[];
  gaps(uuid: string): GapRow[];
  /** Writes what is recorded and not yet written (see SqliteScheduleStore). */
  flush?(): void;
}

/** Run history kept per rule. */
export const RUNS_KEPT = 200;

/**
 * Rule state in `<data>/state.sqlite` (single node). Runs are recorded together: the runs of one
 * tick (a thousand rules run in the same few milliseconds) are written in one transaction when
 * the tick yields, not one fsynced transaction each (1,024 rules: seconds of the main thread per
 * tick). A run whose record is lost in a crash runs again after the restart, with the same alert
 * ids, as a run whose record could not be written always did.
 */
export class SqliteScheduleStore implements ScheduleStore {
  private pending: { r: RunRow; advance: boolean }[] = [];
  private flushing: NodeJS.Immediate | null = null;
  /** Last runs read or written (this store is the only writer of its file): the scheduler asks for every rule every tick. */
  private readonly last = new Map<string, number | null>();
  private readonly selectLast: Database.Statement;
  private readonly upsert: Database.Statement;
  private readonly insertRun: Database.Statement;
  private readonly trimRuns: Database.Statement;

  constructor(
    private readonly state: StateDb,
    private readonly onError: (message: string, runs: number) => void = () => {},
  ) {
    state.exec(SCHEMA);
    this.upsert = state.prepare(
      `INSERT INTO rule_schedule (uuid, rule_id, last_run, last_status, last_error, last_duration_ms, last_events, last_alerts, last_executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (uuid) DO UPDATE SET rule_id = excluded.rule_id, last_run = MAX(COALESCE(rule_schedule.last_run, 0), excluded.last_run), last_status = excluded.last_status,
       last_error = excluded.last_error, last_duration_ms = excluded.last_duration_ms, last_events = excluded.last_events, last_alerts = excluded.last_alerts, last_executed_at = excluded.last_executed_at`,
    );
    this.selectLast = state.prepare('SELECT last_run FROM rule_schedule WHERE uuid = ?');
    this.insertRun = state.prepare('INSERT INTO rule_runs (uuid, run_time, window_start, window_end, kind, status, error, duration_ms, events, alerts, executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.trimRuns = state.prepare('DELETE FROM rule_runs WHERE uuid = ? AND seq <= (SELECT MAX(seq) FROM rule_runs WHERE uuid = ?) - ?');
  }

  lastRun(uuid: string): number | null {
    this.flush();
    const known = this.last.get(uuid);
    if (known !== undefined) return known;
    const row = this.selectLast.get(uuid) as { last_run: number | null } | undefined;
    const last = row?.last_run ?? null;
    this.last.set(uuid, last);
    return last;
  }

  recordRun(r: RunRow, advance: boolean): boolean {
    this.pending.push({ r, advance });
    this.flushing ??= setImmediate(() => this.flush());
    return true;
  }

  flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = null;
    if (this.pending.length === 0) return;
    const runs = this.pending;
    this.pending = [];
    try {
      this.state.transaction(() => {
        for (const { r, advance } of runs) {
          if (advance) this.upsert.run(r.uuid, r.rule_id, r.run_time, r.status, r.error, r.duration_ms, r.events, r.alerts, r.executed_at);
          this.insertRun.run(r.uuid, r.run_time, r.window_start, r.window_end, r.kind, r.status, r.error, r.duration_ms, r.events, r.alerts, r.executed_at);
        }
        // Run history trimmed once per rule.
        for (const uuid of new Set(runs.map((x) => x.r.uuid))) this.trimRuns.run(uuid, uuid, RUNS_KEPT);
      })();
      // Committed: the last runs as the upsert left them (the later of the stored and the new).
      for (const { r, advance } of runs) {
        if (!advance) continue;
        const known = this.last.get(r.uuid);
        // (Not read yet: the next read asks the file.)
        if (known !== undefined) this.last.set(r.uuid, Math.max(known ?? 0, r.run_time));
      }
    } catch (e) {
      // Not recorded: the rules' last runs stay where they were, so these runs are made again.
      this.onError((e as Error).message, runs.length);
    }
  }

  recordGap(uuid: string, _ruleId: string, g: GapRow): void {
    this.flush();
    this.state.prepare('INSERT INTO rule_gaps (uuid, gap_start, gap_end, status, detected_at) VALUES (?, ?, ?, ?, ?)').run(uuid, g.gap_start, g.gap_end, g.status, g.detected_at);
  }

  fillGaps(uuid: string, from: number, to: number): void {
    this.flush();
    this.state.prepare("UPDATE rule_gaps SET status = 'filled' WHERE uuid = ? AND status = 'unfilled' AND gap_start >= ? AND gap_end <= ?").run(uuid, from, to);
  }

  runs(uuid: string): RunRow[] {
    this.flush();
    return this.state.prepare('SELECT * FROM rule_runs WHERE uuid = ? ORDER BY seq DESC LIMIT 50').all(uuid) as RunRow[];
  }

  gaps(uuid: string): GapRow[] {
    this.flush();
    return this.state.prepare('SELECT gap_start, gap_end, status, detected_at FROM rule_gaps WHERE uuid = ? ORDER BY seq DESC LIMIT 100').all(uuid) as GapRow[];
  }
}

/** A window's events could not be read for a reason a retry will not fix (too many): the run fails for good. */
export class WindowReadError extends Error {}

/** Largest number of events one scheduled window reads (the run fails beyond, and says so). */
export const MAX_WINDOW_EVENTS = 2_000_000;

export class Detection {
  private gen!: RuleGeneration;
  private scheduled!: DetectionEngine;
  private realtime: PartitionDetector | null = null;
  /** Generation changes are applied to the real-time detector one at a time. */
  private installing: Promise<void> = Promise.resolve();
  private tickTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Alerts written by the current scheduled run (for its record), and their writes in flight. */
  private runAlerts = 0;
  /** The most events a real-time repair held read at once (the metric eqlite_detection_repair_page_peak_events). */
  private repairPagePeak = 0;
  private runWrites: Promise<void>[] = [];
  private readonly store: ScheduleStore;

  constructor(private readonly deps: DetectionDeps) {
    this.store = deps.cluster?.store ?? new SqliteScheduleStore(deps.state, (err, runs) => deps.log.error({ err, runs }, 'detection: cannot record rule runs (they run again)'));
  }

  /** Events waiting for real-time detection. */
  backlog(): number {
    return this.realtime?.backlog ?? 0;
  }

  /** Real-time detection's reading position and counts (null while it is not running). */
  realtimeStatus(): DetectorStatus | null {
    return this.realtime?.status() ?? null;
  }

  /** Starts both modes: installs the current rules, starts real time (from its checkpoint) and the scheduler. */
  start(): void {
    this.install(this.deps.rules.current);
    this.tickTimer = setInterval(() => void this.tick(), this.deps.config.detection.tickMs);
    this.tickTimer.unref();
    setImmediate(() => void this.tick());
  }

  async stop(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    await this.running;
    await this.installing;
    await this.realtime?.stop();
    this.store.flush?.();
  }

  /** Real time is through everything read so far (tests). */
  async settle(): Promise<void> {
    await this.installing;
    await this.realtime?.drain();
  }

  /** A new rule generation (reload, import, enable/disable). */
  install(g: RuleGeneration): void {
    this.gen = g;
    const { alerts, log, metrics, config, cluster } = this.deps;
    const warn = (m: string) => log.warn({ warning: m }, 'detection');
    this.scheduled = new DetectionEngine({
      rules: g.prepared,
      mode: 'schedule',
      now: Date.now(),
      ledger: cluster?.ledger ?? alerts.ledger,
      onWarning: warn,
      sink: (group, rule) => {
        this.runAlerts += group.length;
        this.written(group, rule, 'scheduled');
      },
    });
    // Cluster mode: real time runs on the workers' partitions (src/cluster/worker.ts).
    if (config.detection.realtime && !cluster) {
      const rules = { gen: g.gen, prepared: g.prepared, stream: g.stream, router: g.router };
      this.installing = this.installing.then(async () => {
        try {
          if (this.realtime) await this.realtime.install(rules);
          else {
            this.realtime = new PartitionDetector({
              reader: this.deps.eventLog.reader(0),
              rules,
              scope: WHOLE_LOG,
              ledger: alerts.ledger,
              log,
              reorderMs: config.detection.reorderMs,
              // The store's commit times are this process's clock.
              holdFromStored: true,
              inFlightSince: this.deps.inFlightSince,
              // Only requests begun before an event's own are waited for (older events), so this
              // hold is rare and short in a steady flow. A request is waited for while it is
              // not much slower than requests are these days (twice their median, at least a
              // second), at most 5 s — the most until the first requests have ended: after a
              // start they come at once, while the code is still cold, and commit out of order.
              inFlightWaitMs: () => Math.min(IN_FLIGHT_WAIT_MAX_MS, Math.max(IN_FLIGHT_WAIT_MS, config.detection.reorderMs, 2 * (this.deps.typicalRequestMs?.() ?? 0))),
              checkpointEveryMs: 1000,
              maxReplayMs: 3_600_000,
              // No checkpoint yet (first start, or a store from before checkpoints): the recent
              // past (the longest rule look-back, at most 1 h) is run again.
              initialStart: () => ({ time: Date.now() - this.lookBack() }),
              // Every group real time writes is observed, a repair run's too (written as
              // 'scheduled'): its latency is what a late event costs, as cluster mode counts it.
              sink: (group, rule, mode) => this.written(group, rule, mode, true),
              onLate: (n) => metrics.lateEvents.inc(n),
              onRepair: (n) => metrics.repairRuns.inc(n),
              repairPage: config.detection.repairPage,
              onRepairPage: (n) => {
                if (n > this.repairPagePeak) metrics.repairPagePeak.set((this.repairPagePeak = n));
              },
              onRepairSplit: (n) => metrics.repairSplit.inc(n),
              // An alert write failed (the alert store is not writable): start again from the
              // last acknowledgement a little later.
              onStopped: (reason) => {
                if (reason !== 'error') return;
                setTimeout(() => {
                  if (this.tickTimer === null) return;
                  const g = this.gen;
                  this.installing = this.installing.then(() => this.realtime?.install({ gen: g.gen, prepared: g.prepared, stream: g.stream, router: g.router })).catch((e: Error) => log.error({ err: e.message }, 'detection: real-time detection could not restart'));
                }, 5000).unref();
              },
            });
            await this.realtime.start();
          }
        } catch (e) {
          log.error({ err: (e as Error).message }, 'detection: real-time detection could not start');
        }
      });
    }
    metrics.rulesLoaded.set({ state: 'enabled' }, g.prepared.length);
    metrics.rulesLoaded.set({ state: 'disabled' }, g.all.filter((r) => !r.enabled && !r.skip).length);
    metrics.rulesLoaded.set({ state: 'not_runnable' }, g.all.filter((r) => r.skip).length);
  }

  /** The longest rule look-back (to − from), at most 1 h. */
  private lookBack(): number {
    let span = 0;
    for (const p of this.gen.prepared) {
      const s = new RuleSchedule(p.rule, EPOCH).windowAt(Date.now());
      span = Math.max(span, s.end - s.start);
    }
    return Math.min(span, 3_600_000);
  }

  /** `realtime`: written by real-time detection (its stream or a repair run), for the latency histogram. */
  private written(group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled', realtime = false): void {
    const { alerts, metrics, cluster } = this.deps;
    if (cluster) {
      // Durable once the promise resolves: the run is recorded only after its alerts are.
      this.runWrites.push(cluster.sink(group, rule, mode));
    } else alerts.write(group, rule, mode);
    metrics.alertsWritten.inc({ severity: rule.severity, mode }, group.length);
    if (realtime) {
      const t = lastIngested(group);
      if (t !== null) metrics.realtimeLatency.observe(Math.max(0, Date.now() - t) / 1000);
      if (DEBUG_HOLD) this.deps.log.info({ hold: 'alert', mode, ingested: t, now: Date.now(), alerts: group.length }, 'hold');
    }
  }

  // ---- schedule -----------------------------------------------------------------------------------

  /** First seq whose ingest time is at or after t (or the next seq to come). */
  private seqAtIngested(t: number): number {
    const db = this.deps.store.db();
    const m = db.prepare('SELECT first_seq FROM ingest_marks WHERE ingested >= ? ORDER BY ingested LIMIT 1').get(t) as { first_seq: number } | undefined;
    if (m) return m.first_seq;
    const max = db.prepare('SELECT MAX(seq) AS s FROM events').get() as { s: number | null };
    return (max.s ?? 0) + 1;
  }

  /** The events of a window, parsed and in time order: the cluster's stream, or the local store. */
  private async readWindow(start: number, end: number, byIngested: boolean): Promise<EventDoc[]> {
    const { cluster } = this.deps;
    return cluster ? cluster.readWindow(start, end, byIngested) : this.readStoredWindow(start, end, byIngested);
  }

  /** The stored events of a window, parsed and in time order (rules' routing applied). */
  private readStoredWindow(start: number, end: number, byIngested: boolean): EventDoc[] {
    const db = this.deps.store.db();
    type Row = { seq: number; idx: string; id: string; ingested: number; src: string };
    let rows: Row[];
    const notOurs = -this.gen.gen;
    if (byIngested) {
      const lo = this.seqAtIngested(start);
      const hi = this.seqAtIngested(end + 1) - 1;
      rows = db.prepare('SELECT seq, idx, id, ingested, src FROM events WHERE seq BETWEEN ? AND ? AND routed > ?').all(lo, hi, notOurs) as Row[];
    } else {
      rows = db.prepare('SELECT seq, idx, id, ingested, src FROM events WHERE ts BETWEEN ? AND ? AND routed > ?').all(start, end, notOurs) as Row[];
    }
    const out: (EventDoc & { seq: number })[] = [];
    // A rule's timestamp_override numbers are read from the stored text (EventDoc.numberTexts).
    const numberTexts = this.gen.numberTexts;
    for (const r of rows) {
      const ev: EventDoc & { seq: number } = { source: eventSource(r), index: r.idx, id: r.id, seq: r.seq };
      if (!stampEventTime(ev, '@timestamp')) continue;
      const texts = numberTexts?.(r.src, ev.source);
      if (texts !== undefined) ev.numberTexts = texts;
      out.push(ev);
    }
    out.sort((a, b) => a.time!.ms - b.time!.ms || a.time!.ns - b.time!.ns || a.seq - b.seq);
    return out;
  }

  /**
   * Runs what is due (one tick at a time; a tick while one runs waits for it). In cluster mode,
   * only on the node holding the scheduler lease.
   */
  tick(now = Date.now()): Promise<void> {
    if (this.running) return this.running;
    if (this.deps.cluster && !this.deps.cluster.active()) return Promise.resolve();
    this.running = this.runDue(now)
      .catch((e: Error) => this.deps.log.error({ err: e.message }, 'detection: scheduled runs failed'))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async runDue(now: number): Promise<void> {
    const { config, metrics, cluster } = this.deps;
    const { store } = this;
    const effective = now - config.detection.latenessMs;
    type Due = { i: number; runTime: number; kind: 'scheduled' | 'catch-up' };
    const due: Due[] = [];
    let lag = 0;
    const gen = this.gen;
    for (let i = 0; i < gen.prepared.length; i++) {
      const rule = gen.prepared[i]!.rule;
      const uuid = this.uuidOf(i);
      const interval = parseInterval(rule.interval);
      const latest = Math.floor(effective / interval) * interval;
      const last = store.lastRun(uuid);
      if (last === null) {
        due.push({ i, runTime: latest, kind: 'scheduled' });
        continue;
      }
      if (latest <= last) continue;
      const missed = Math.round((latest - last) / interval);
      lag = Math.max(lag, (effective - latest) / 1000);
      let first = last + interval;
      if (missed > 1) {
        // Downtime: the runs between were not made. Catch up on them (oldest first), at most
        // max_catchup_runs; anything older is a gap that stays reported.
        const cap = config.detection.maxCatchupRuns;
        const w = new RuleSchedule(rule, EPOCH).windowAt(first);
        if (missed - 1 > cap) {
          const skippedTo = latest - cap * interval;
          const gapEnd = new RuleSchedule(rule, EPOCH).windowAt(skippedTo).start;
          await this.recordGap(i, w.start, gapEnd, 'unfilled');
          first = skippedTo;
        }
        await this.recordGap(i, new RuleSchedule(rule, EPOCH).windowAt(first).start, new RuleSchedule(rule, EPOCH).windowAt(latest - interval).end, 'filled');
      }
      for (let t = first; t <= latest; t += interval) due.push({ i, runTime: t, kind: t === latest ? 'scheduled' : 'catch-up' });
    }
    metrics.ruleLag.set(lag);
    if (due.length === 0) return;
    // Group runs with the same window (and time field): one read of the events each.
    const groups = new Map<string, { start: number; end: number; byIngested: boolean; runs: Due[] }>();
    for (const d of due) {
      const rule = gen.prepared[d.i]!.rule;
      const w = new RuleSchedule(rule, EPOCH).windowAt(d.runTime);
      const byIngested = rule.timestamp_override === 'event.ingested';
      const key = `${w.start}:${w.end}:${byIngested}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { start: w.start, end: w.end, byIngested, runs: [] }));
      g.runs.push(d);
    }
    const ordered = [...groups.values()].sort((a, b) => a.end - b.end);
    for (const g of ordered) {
      // A new rule generation or a lost lease: the rest waits for the next tick.
      if (this.gen !== gen || (cluster && !cluster.active())) return;
      let events: EventDoc[];
      try {
        events = await this.readWindow(g.start, g.end, g.byIngested);
      } catch (e) {
        // Single node: a store that cannot be read fails the run. Cluster: an unreachable stream
        // is retried at the next tick (the run is recorded as failed, the rule's last run stays).
        const retry = cluster !== undefined && cluster !== null && !(e instanceof WindowReadError);
        for (const d of g.runs) await this.recordRun(d.i, d.runTime, g.start, g.end, d.kind, 0, 0, 0, (e as Error).message, !retry);
        continue;
      }
      if (this.gen !== gen) return;
      for (const d of g.runs) await this.runOne(d.i, d.runTime, g.start, g.end, d.kind, events);
    }
  }

  private async runOne(i: number, runTime: number, start: number, end: number, kind: 'scheduled' | 'catch-up' | 'manual', events: EventDoc[]): Promise<number> {
    const t0 = performance.now();
    this.runAlerts = 0;
    this.runWrites = [];
    let error: string | null = null;
    let advance = kind !== 'manual';
    try {
      this.scheduled.runWindow(i, runTime, events);
    } catch (e) {
      error = (e as Error).message;
      this.deps.log.error({ rule: this.gen.prepared[i]!.rule.rule_id, err: error }, 'detection: rule run failed');
    }
    const alerts = this.runAlerts;
    // Cluster: the run counts once its alerts are stored; a write that failed for good leaves the
    // rule's last run where it was, so the next tick runs it again (same ids, written once).
    const writes = await Promise.allSettled(this.runWrites);
    this.runWrites = [];
    const failed = writes.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed && !error) {
      error = `alerts not stored: ${(failed.reason as Error).message}`;
      advance = false;
    }
    const ms = performance.now() - t0;
    this.deps.metrics.ruleRunDuration.observe(ms / 1000);
    this.deps.metrics.ruleRuns.inc({ status: error ? 'failed' : 'succeeded' });
    await this.recordRun(i, runTime, start, end, kind, ms, events.length, alerts, error, advance);
    return alerts;
  }

  /** Uuids of the prepared rules of a generation (the scheduler asks for every rule every tick). */
  private readonly uuids = new WeakMap<RuleGeneration, string[]>();

  private uuidOf(i: number): string {
    const g = this.gen;
    let list = this.uuids.get(g);
    if (!list) {
      const byRule = new Map(g.all.map((r) => [r.rule, r.uuid] as const));
      this.uuids.set(g, (list = g.prepared.map((p) => byRule.get(p.rule)!)));
    }
    return list[i]!;
  }

  private async recordRun(i: number, runTime: number, start: number, end: number, kind: RunRow['kind'], ms: number, events: number, alerts: number, error: string | null, advance = kind !== 'manual'): Promise<void> {
    const rule = this.gen.prepared[i]!.rule;
    const row: RunRow = {
      uuid: this.uuidOf(i),
      rule_id: rule.rule_id,
      run_time: runTime,
      window_start: start,
      window_end: end,
      kind,
      status: error ? 'failed' : 'succeeded',
      error,
      duration_ms: ms,
      events,
      alerts,
      executed_at: Date.now(),
    };
    try {
      await this.store.recordRun(row, advance && kind !== 'manual');
    } catch (e) {
      this.deps.log.error({ rule: rule.rule_id, err: (e as Error).message }, 'detection: cannot record a rule run (it runs again)');
    }
  }

  private async recordGap(i: number, start: number, end: number, status: 'filled' | 'unfilled'): Promise<void> {
    if (end <= start) return;
    const uuid = this.uuidOf(i);
    await this.store.recordGap(uuid, this.gen.prepared[i]!.rule.rule_id, { gap_start: start, gap_end: end, status, detected_at: Date.now() });
    if (status === 'unfilled') this.deps.metrics.gaps.inc();
    this.deps.log.warn({ rule: uuid, start: new Date(start).toISOString(), end: new Date(end).toISOString(), status }, status === 'filled' ? 'detection: missed runs after downtime, caught up' : 'detection: gap not covered by any run');
  }

  /**
   * Kibana's manual run: the rule's runs over [from, to] (one per interval, windows as
   * scheduled), e.g. to fill a reported gap. Returns the alerts written. (In cluster mode it runs
   * on the node asked, over the cluster's stream; its alerts are written once as any others.)
   */
  async manualRun(ruleId: string, from: number, to: number): Promise<{ runs: number; alerts: number } | null> {
    const i = this.gen.prepared.findIndex((p) => p.rule.rule_id === ruleId);
    if (i < 0) return null;
    // One run at a time on this node: a scheduled tick in progress finishes first.
    while (this.running) await this.running;
    let release!: () => void;
    this.running = new Promise<void>((r) => (release = r));
    try {
      const rule = this.gen.prepared[i]!.rule;
      const interval = parseInterval(rule.interval);
      let runs = 0;
      let alerts = 0;
      for (let t = Math.ceil(from / interval) * interval; t <= to + interval; t += interval) {
        const w = new RuleSchedule(rule, EPOCH).windowAt(t);
        if (w.start > to) break;
        const events = await this.readWindow(w.start, w.end, rule.timestamp_override === 'event.ingested');
        alerts += await this.runOne(i, t, w.start, w.end, 'manual', events);
        runs++;
        if (runs > 10_000) break;
      }
      if (runs > 0) await this.store.fillGaps(this.uuidOf(i), from - interval, to + interval);
      return { runs, alerts };
    } finally {
      this.running = null;
      release();
    }
  }

  /** Schedule state of a rule for the API. */
  ruleState(uuid: string): { last_run: RunRecord | null; runs: RunRecord[]; gaps: RuleGap[] } {
    const runs = this.store.runs(uuid).map((r) => ({
      run_time: iso(r.run_time),
      window: { start: iso(r.window_start), end: iso(r.window_end) },
      kind: r.kind,
      status: r.status,
      error: r.error,
      duration_ms: Math.round(r.duration_ms * 100) / 100,
      events: r.events,
      alerts: r.alerts,
      executed_at: iso(r.executed_at),
    }));
    const gaps = this.store.gaps(uuid).map((g) => ({ start: iso(g.gap_start), end: iso(g.gap_end), status: g.status, detected_at: iso(g.detected_at) }));
    return { last_run: runs.find((r) => r.kind !== 'manual') ?? null, runs, gaps };
  }
}

function iso(t: number): string {
  return new Date(t).toISOString();
}
