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
//    JetStream partitions: committed events are held REORDER_MS, pushed in time order into a
//    stream-mode engine whose rules alert as soon as a match is final, and the position whose
//    alerts are written is acknowledged (state.sqlite). Alert ids are the same the scheduled run
//    computes, and the shared ledger (the alert store) makes whichever comes second find it
//    written. Events arriving after later events were pushed get repair runs over their rules'
//    windows. After a restart, sequences pending at the last acknowledgement are rebuilt by a
//    silent replay and detection continues from it.
import type { Logger } from 'pino';
import type { Alert } from '../detect/alerts.js';
import { DetectionEngine } from '../detect/engine.js';
import { parseInterval } from '../detect/schedule.js';
import { RuleSchedule } from '../detect/schedule.js';
import { stampEventTime } from '../events/order.js';
import type { EventDoc } from '../events/types.js';
import type { Rule } from '../rules/types.js';
import { lastIngested, type ServedAlerts } from './alerts.js';
import type { ServeConfig } from './config.js';
import type { Metrics } from './metrics.js';
import { PartitionDetector, WHOLE_LOG } from './realtime.js';
import type { RuleGeneration, RuleSet } from './rules.js';
import type { StateDb } from './state.js';
import { eventSource, type EventStore } from './store/event-store.js';
import type { SqliteEventLog } from './store/sqlite-log.js';

/** The run grid: runs at multiples of the interval since the epoch. */
const EPOCH = { anchor: 0 };

/** How long committed events wait to be put in time order before real-time rules see them. */
export const REORDER_MS = 250;

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

/** Run history kept per rule. */
const RUNS_KEPT = 200;

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
}

export interface RunRecord {
  run_time: string;
  window: { start: string; end: string };
  kind: 'scheduled' | 'catch-up' | 'manual';
  status: 'succeeded' | 'failed';
  error: string | null;
  duration_ms: number;
  events: number;
  alerts: number;
  executed_at: string;
}

export class Detection {
  private gen!: RuleGeneration;
  private scheduled!: DetectionEngine;
  private realtime: PartitionDetector | null = null;
  /** Generation changes are applied to the real-time detector one at a time. */
  private installing: Promise<void> = Promise.resolve();
  private tickTimer: NodeJS.Timeout | null = null;
  private running = false;
  /** Alerts written by the current scheduled run (for its record). */
  private runAlerts = 0;
  lateForRealtime = 0;

  constructor(private readonly deps: DetectionDeps) {
    deps.state.exec(SCHEMA);
  }

  /** Events waiting for real-time detection. */
  backlog(): number {
    return this.realtime?.backlog ?? 0;
  }

  /** Starts both modes: installs the current rules, starts real time (from its checkpoint) and the scheduler. */
  start(): void {
    this.install(this.deps.rules.current);
    this.tickTimer = setInterval(() => this.tick(), this.deps.config.detection.tickMs);
    this.tickTimer.unref();
    setImmediate(() => this.tick());
  }

  async stop(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    await this.installing;
    await this.realtime?.stop();
  }

  /** Real time is through everything read so far (tests). */
  async settle(): Promise<void> {
    await this.installing;
    await this.realtime?.drain();
  }

  /** A new rule generation (reload, import, enable/disable). */
  install(g: RuleGeneration): void {
    this.gen = g;
    const { alerts, log, metrics, config } = this.deps;
    const warn = (m: string) => log.warn({ warning: m }, 'detection');
    this.scheduled = new DetectionEngine({
      rules: g.prepared,
      mode: 'schedule',
      now: Date.now(),
      ledger: alerts.ledger,
      onWarning: warn,
      sink: (group, rule) => {
        this.runAlerts += group.length;
        this.written(group, rule, 'scheduled');
      },
    });
    if (config.detection.realtime) {
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
              reorderMs: REORDER_MS,
              checkpointEveryMs: 1000,
              maxReplayMs: 3_600_000,
              // No checkpoint yet (first start, or a store from before checkpoints): the recent
              // past (the longest rule look-back, at most 1 h) is run again.
              initialStart: () => ({ time: Date.now() - this.lookBack() }),
              sink: (group, rule, mode) => this.written(group, rule, mode),
              onLate: (n) => (this.lateForRealtime += n),
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

  private written(group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled'): void {
    const { alerts, metrics } = this.deps;
    alerts.write(group, rule, mode);
    metrics.alertsWritten.inc({ severity: rule.severity, mode }, group.length);
    if (mode === 'realtime') {
      const t = lastIngested(group);
      if (t !== null) metrics.realtimeLatency.observe(Math.max(0, Date.now() - t) / 1000);
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

  /** The stored events of a window, parsed and in time order (rules' routing applied). */
  private readWindow(start: number, end: number, byIngested: boolean): EventDoc[] {
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
    for (const r of rows) {
      const ev = { source: eventSource(r), index: r.idx, id: r.id, seq: r.seq };
      if (stampEventTime(ev, '@timestamp')) out.push(ev);
    }
    out.sort((a, b) => a.time!.ms - b.time!.ms || a.time!.ns - b.time!.ns || a.seq - b.seq);
    return out;
  }

  /** Runs what is due. */
  tick(now = Date.now()): void {
    if (this.running) return;
    this.running = true;
    try {
      this.runDue(now);
    } finally {
      this.running = false;
    }
  }

  private runDue(now: number): void {
    const { config, state, metrics } = this.deps;
    const effective = now - config.detection.latenessMs;
    const getState = state.prepare('SELECT last_run FROM rule_schedule WHERE uuid = ?');
    type Due = { i: number; runTime: number; kind: 'scheduled' | 'catch-up' };
    const due: Due[] = [];
    let lag = 0;
    this.gen.prepared.forEach((p, i) => {
      const rule = p.rule;
      const uuid = this.uuidOf(i);
      const interval = parseInterval(rule.interval);
      const latest = Math.floor(effective / interval) * interval;
      const row = getState.get(uuid) as { last_run: number | null } | undefined;
      const last = row?.last_run ?? null;
      if (last === null) {
        due.push({ i, runTime: latest, kind: 'scheduled' });
        return;
      }
      if (latest <= last) return;
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
          this.recordGap(uuid, w.start, gapEnd, 'unfilled');
          first = skippedTo;
        }
        this.recordGap(uuid, new RuleSchedule(rule, EPOCH).windowAt(first).start, new RuleSchedule(rule, EPOCH).windowAt(latest - interval).end, 'filled');
      }
      for (let t = first; t <= latest; t += interval) due.push({ i, runTime: t, kind: t === latest ? 'scheduled' : 'catch-up' });
    });
    metrics.ruleLag.set(lag);
    if (due.length === 0) return;
    // Group runs with the same window (and time field): one read of the store each.
    const groups = new Map<string, { start: number; end: number; byIngested: boolean; runs: Due[] }>();
    for (const d of due) {
      const rule = this.gen.prepared[d.i]!.rule;
      const w = new RuleSchedule(rule, EPOCH).windowAt(d.runTime);
      const byIngested = rule.timestamp_override === 'event.ingested';
      const key = `${w.start}:${w.end}:${byIngested}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { start: w.start, end: w.end, byIngested, runs: [] }));
      g.runs.push(d);
    }
    const ordered = [...groups.values()].sort((a, b) => a.end - b.end);
    for (const g of ordered) {
      let events: EventDoc[];
      try {
        events = this.readWindow(g.start, g.end, g.byIngested);
      } catch (e) {
        for (const d of g.runs) this.recordRun(d.i, d.runTime, g.start, g.end, d.kind, 0, 0, 0, (e as Error).message);
        continue;
      }
      for (const d of g.runs) this.runOne(d.i, d.runTime, g.start, g.end, d.kind, events);
    }
  }

  private runOne(i: number, runTime: number, start: number, end: number, kind: 'scheduled' | 'catch-up' | 'manual', events: EventDoc[]): void {
    const t0 = performance.now();
    this.runAlerts = 0;
    let error: string | null = null;
    try {
      this.scheduled.runWindow(i, runTime, events);
    } catch (e) {
      error = (e as Error).message;
      this.deps.log.error({ rule: this.gen.prepared[i]!.rule.rule_id, err: error }, 'detection: rule run failed');
    }
    const ms = performance.now() - t0;
    this.deps.metrics.ruleRunDuration.observe(ms / 1000);
    this.deps.metrics.ruleRuns.inc({ status: error ? 'failed' : 'succeeded' });
    this.recordRun(i, runTime, start, end, kind, ms, events.length, this.runAlerts, error);
  }

  private uuidOf(i: number): string {
    const p = this.gen.prepared[i]!;
    return this.gen.all.find((r) => r.rule === p.rule)!.uuid;
  }

  private recordRun(i: number, runTime: number, start: number, end: number, kind: string, ms: number, events: number, alerts: number, error: string | null): void {
    const { state } = this.deps;
    const uuid = this.uuidOf(i);
    const rule = this.gen.prepared[i]!.rule;
    const now = Date.now();
    const status = error ? 'failed' : 'succeeded';
    state.transaction(() => {
      if (kind !== 'manual') {
        state
          .prepare(
            `INSERT INTO rule_schedule (uuid, rule_id, last_run, last_status, last_error, last_duration_ms, last_events, last_alerts, last_executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (uuid) DO UPDATE SET rule_id = excluded.rule_id, last_run = MAX(COALESCE(rule_schedule.last_run, 0), excluded.last_run), last_status = excluded.last_status,
             last_error = excluded.last_error, last_duration_ms = excluded.last_duration_ms, last_events = excluded.last_events, last_alerts = excluded.last_alerts, last_executed_at = excluded.last_executed_at`,
          )
          .run(uuid, rule.rule_id, runTime, status, error, ms, events, alerts, now);
      }
      state.prepare('INSERT INTO rule_runs (uuid, run_time, window_start, window_end, kind, status, error, duration_ms, events, alerts, executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(uuid, runTime, start, end, kind, status, error, ms, events, alerts, now);
      state.prepare('DELETE FROM rule_runs WHERE uuid = ? AND seq <= (SELECT MAX(seq) FROM rule_runs WHERE uuid = ?) - ?').run(uuid, uuid, RUNS_KEPT);
    })();
  }

  private recordGap(uuid: string, start: number, end: number, status: 'filled' | 'unfilled'): void {
    if (end <= start) return;
    this.deps.state.prepare('INSERT INTO rule_gaps (uuid, gap_start, gap_end, status, detected_at) VALUES (?, ?, ?, ?, ?)').run(uuid, start, end, status, Date.now());
    if (status === 'unfilled') this.deps.metrics.gaps.inc();
    this.deps.log.warn({ rule: uuid, start: new Date(start).toISOString(), end: new Date(end).toISOString(), status }, status === 'filled' ? 'detection: missed runs after downtime, caught up' : 'detection: gap not covered by any run');
  }

  /**
   * Kibana's manual run: the rule's runs over [from, to] (one per interval, windows as
   * scheduled), e.g. to fill a reported gap. Returns the alerts written.
   */
  manualRun(ruleId: string, from: number, to: number): { runs: number; alerts: number } | null {
    const i = this.gen.prepared.findIndex((p) => p.rule.rule_id === ruleId);
    if (i < 0) return null;
    const rule = this.gen.prepared[i]!.rule;
    const interval = parseInterval(rule.interval);
    let runs = 0;
    let alerts = 0;
    for (let t = Math.ceil(from / interval) * interval; t <= to + interval; t += interval) {
      const w = new RuleSchedule(rule, EPOCH).windowAt(t);
      if (w.start > to) break;
      const events = this.readWindow(w.start, w.end, rule.timestamp_override === 'event.ingested');
      this.runOne(i, t, w.start, w.end, 'manual', events);
      runs++;
      alerts += this.runAlerts;
      if (runs > 10_000) break;
    }
    if (runs > 0) this.deps.state.prepare("UPDATE rule_gaps SET status = 'filled' WHERE uuid = ? AND status = 'unfilled' AND gap_start >= ? AND gap_end <= ?").run(this.uuidOf(i), from - interval, to + interval);
    return { runs, alerts };
  }

  /** Schedule state of a rule for the API. */
  ruleState(uuid: string): { last_run: RunRecord | null; runs: RunRecord[]; gaps: { start: string; end: string; status: string; detected_at: string }[] } {
    const { state } = this.deps;
    type RunRow = { run_time: number; window_start: number; window_end: number; kind: RunRecord['kind']; status: RunRecord['status']; error: string | null; duration_ms: number; events: number; alerts: number; executed_at: number };
    const runs = (state.prepare('SELECT * FROM rule_runs WHERE uuid = ? ORDER BY seq DESC LIMIT 50').all(uuid) as RunRow[]).map((r) => ({
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
    const gaps = (state.prepare('SELECT gap_start, gap_end, status, detected_at FROM rule_gaps WHERE uuid = ? ORDER BY seq DESC LIMIT 100').all(uuid) as { gap_start: number; gap_end: number; status: string; detected_at: number }[]).map(
      (g) => ({ start: iso(g.gap_start), end: iso(g.gap_end), status: g.status, detected_at: iso(g.detected_at) }),
    );
    return { last_run: runs.find((r) => r.kind !== 'manual') ?? null, runs, gaps };
  }
}

function iso(t: number): string {
  return new Date(t).toISOString();
}
