// The detection engine: ordered events in, alerts out. The one implementation of rule runs that
// `hunt` (files), `serve` (HTTP ingest and stored events) and the cluster mode (JetStream
// partitions) drive; they differ only in where events come from and where alerts go.
//
//   driver ── routed events, in (time, tiebreaker) order ──▶ DetectionEngine ──▶ AlertSink
//                                                              │  ▲
//                                                              └──┴── AlertLedger (ids written)
//
// What the engine owns (and nobody else re-implements):
//  * windows — a rule runs in windows, each a QueryRun with its own max_signals budget
//    (Kibana's `size`, keeping the most recent matches as Elasticsearch's default
//    result_position tail): either the rule's schedule replayed (`schedule`, the default of
//    hunt: run k at anchor + k·interval searches [from, to] evaluated at the run's time, by the
//    rule's timestamp_override; see RuleSchedule), or ONE window over everything (`single`);
//    the run grid is aligned to the epoch unless a range start is given, so the same event
//    falls in the same runs whatever else is hunted with it;
//  * exceptions with an expire_time — applied to the runs that start before they expire (the
//    others are applied before the engine, by the router);
//  * tie order — events with equal time are ordered by the rule's tiebreaker_field before the
//    rule sees them;
//  * a rule's own `timestamp_field` — Kibana passes it to the EQL search, which orders the
//    rule's events by it; when it is not the field the pushed stream is ordered by, the rule's
//    events are held per window and sorted by it (then the tiebreaker) when the window closes;
//  * alerts — built from each closed window's results, deduplicated by their deterministic id
//    against the ledger (Kibana's idempotent create: overlapping windows, a rerun, or a real-time
//    run and the scheduled run finding the same match write it once), handed to the sink;
//  * per-rule statistics.
// What it does not own: reading inputs and ordering them (src/events), routing — which rules an
// event can matter to, including index patterns and exceptions (router.ts, stateless, run on
// worker threads or in the ingest path) — and storing alerts (the sink).
//
// Driving it:
//  * push(ev, t, rules)  — the next event in order (t = its ordering time in ms) and the indexes of
//                          the rules that need it; windows that ended before t close first;
//  * advance(t)          — the clock passed t with no event (a live service's timer, after the
//                          allowed lateness): windows ending before t close and alert;
//  * finish()            — end of input: every open window closes;
//  * runWindow(r, at, events) — one scheduled run of rule r at time `at` over events a store
//                          returned for its window (a service's scheduled execution);
//  * mode 'stream'       — a live service's real-time detection: each rule has one unbounded run
//                          whose results are alerted as soon as they are final (prepare the rules
//                          with maxSignals: Infinity, i.e. no size); max_signals becomes a budget per rule interval,
//                          and the alert's run time is the clock's (opts.clock).
import { createHash } from 'node:crypto';
import type { QueryResult, QueryRun, TermAnswers } from '../engine/index.js';
import { fieldAccessor, getField, remarkPlain, type Accessor } from '../engine/fields.js';
import type { EventDoc } from '../events/types.js';
import { eventInstant, parseInstant } from '../events/time.js';
import { overrideTimes } from '../events/number-time.js';
import type { Rule } from '../rules/types.js';
import { buildEventAlert, buildSequenceAlerts, ruleUuid, type Alert, type AlertContext } from './alerts.js';
import { ruleTimestampField, type PreparedRule } from './router.js';
import { parseInterval, RuleSchedule, type ScheduleGrid, type ScheduledWindow } from './schedule.js';

export interface RuleStats {
  rule_id: string;
  name: string;
  severity: string;
  /** Events handed to the rule by the dispatcher (index and category matched). */
  dispatched: number;
  /** Of those, events withheld by the rule's exceptions. */
  excepted: number;
  /** Of those, events the rule's `filters` rejected. */
  filtered: number;
  /** Events outside every run window (schedule replay only). */
  outsideWindows: number;
  /** Runs (windows) executed. */
  runs: number;
  /** Query results (events or sequences) before deduplication. */
  results: number;
  alerts: number;
  /** Alerts found again by an overlapping window and not emitted twice. */
  duplicates: number;
  /** Runs that hit max_signals. */
  maxSignalsReached: number;
  /**
   * Matches cut by max_signals, summed over runs (older matches beyond the most recent
   * max_signals of a run; an overlapping run may still have alerted some of them).
   */
  dropped: number;
}

/** Ids of alerts already written (Kibana's alert index refuses a second create with the same id). */
export interface AlertLedger {
  has(id: string): boolean;
  add(id: string): void;
}

/** Receives each new alert group (one event alert, or a sequence's building blocks and shell). */
export type AlertSink = (alerts: Alert[], rule: Rule) => void;

export interface DetectionEngineOptions {
  rules: readonly PreparedRule[];
  /**
   * `single`: one window over all events; `schedule`: each rule's schedule replayed; `stream`:
   * results alerted as they are found (real time).
   */
  mode: 'single' | 'schedule' | 'stream';
  /** Stream mode: the current time (epoch ms) for alerts' run time and the max_signals budget. */
  clock?: () => number;
  /**
   * The range (epoch ms). Schedule: runs start at `from` + interval and windows are clipped to
   * [from, to]; without `from` the run grid is aligned to the epoch (runs at multiples of the
   * interval) and starts with the data. Single: the one window searches [from, to].
   */
  from?: number;
  to?: number;
  /**
   * Run time of a single window that saw no event, and the time at which a single window
   * evaluates exception expiry (its run time, the last event's, is only known at the end).
   */
  now: number;
  /** The field the pushed events are ordered by (default `@timestamp`). */
  timestampField?: string;
  sink: AlertSink;
  /** Default: an in-memory set (ids written by this engine). */
  ledger?: AlertLedger;
  /**
   * Results the driver owns (default: all). A partitioned driver drops the results that belong
   * to another partition (a multi-valued join key reaches several partitions) or that a previous
   * owner already alerted (state rebuilt by replay), before max_signals counts them.
   */
  accept?: (ruleIndex: number, result: QueryResult) => boolean;
  onWarning?: (message: string) => void;
}

/**
 * The time(s) a rule's window filter finds in an event (ms): one number — nearly always —, or the
 * ascending values of a multi-valued timestamp_override (a run's window holds the event when any
 * is in it, as Elasticsearch's range query matches a document by any value); null for none.
 */
type WindowTime = number | readonly number[] | null;

/** placeRuns' answer: some run holds the event; an expiring exception kept it from some run. */
const PLACED = 1;
const EXCEPTED = 2;

/** Whether a window time is in [start, end] (any of its values). */
function timeIn(wt: WindowTime, start: number, end: number): boolean {
  if (wt === null) return false;
  if (typeof wt === 'number') return wt >= start && wt <= end;
  for (const t of wt) if (t >= start && t <= end) return true;
  return false;
}

/** A rule's open window: its run and where it searches. */
interface OpenWindow extends ScheduledWindow {
  run: QueryRun;
  /** Events held for a rule ordered by its own timestamp_field (RuleState.ownOrder). */
  held?: EventDoc[];
}

interface RuleState {
  /** Position in the engine's rules. */
  index: number;
  prepared: PreparedRule;
  rule: Rule;
  /** Window time of an event: timestamp_override with fallback (schedule replay); several for a multi-valued override. */
  windowTime: (ev: EventDoc) => WindowTime;
  tiebreaker: Accessor | null;
  /** Events with the same ordering time, held to be sorted by the rule's tiebreaker. */
  tieGroup: EventDoc[];
  /** The rule's own timestamp_field, when it differs from the stream's ordering field. */
  ownOrder: { field: string; get: Accessor; missing: number } | null;
  tieTime: number;
  /** The rule's schedule on the engine's grid (null for a single window until runWindow needs it). */
  schedule: RuleSchedule | null;
  /** Stream mode: the current budget interval (start, alert groups so far). */
  budget: { start: number; used: number; interval: number } | null;
  windows: Map<number, OpenWindow>;
  /** Windows k ≤ closedThrough are finished; late events for them are ignored. */
  closedThrough: number;
  nextClose: number;
  stats: RuleStats;
}

/** One scheduled run fed event by event (DetectionEngine.openWindow). */
export interface WindowFeed {
  push(ev: EventDoc): void;
  /** Ends the run: its results become alerts. */
  close(): void;
}

/** A stream run being rebuilt apart from the live one (DetectionEngine.rebuild). */
export interface StreamRebuild {
  push(ev: EventDoc): void;
  /** The rebuilt run takes the live one's place. */
  commit(): void;
}

/** The single window's key and bounds. */
const ALL = 0;

export class DetectionEngine {
  readonly stats: RuleStats[];
  private readonly states: RuleState[];
  private readonly ledger: AlertLedger;
  private readonly replay: boolean;
  private readonly stream: boolean;
  private readonly grid: ScheduleGrid;
  private nextClose = Infinity;
  private firstTime = Infinity;
  private lastTime = -Infinity;
  /** Events excepted by expiring exception items from at least one of their windows, per rule. */
  private readonly expiringExcepted: number[];
  /** place()'s runs of the event's window time (Schedule.runsContaining), reused. */
  private readonly runRange = { lo: 0, hi: 0 };
  /** push(): a rule held the event among ties, to place it later (deliver). */
  private tied = false;

  constructor(private readonly opts: DetectionEngineOptions) {
    this.replay = opts.mode === 'schedule';
    this.stream = opts.mode === 'stream';
    this.ledger = opts.ledger ?? new Set<string>();
    const grid =
      opts.from !== undefined ? { anchor: opts.from, firstRun: 1, clipStart: opts.from, clipEnd: opts.to } : { anchor: 0, firstRun: -Infinity, clipEnd: opts.to };
    this.states = opts.rules.map((p, i) => newRuleState(p, i, this.replay ? grid : null, opts.timestampField ?? '@timestamp'));
    this.grid = grid;
    this.stats = this.states.map((s) => s.stats);
    this.expiringExcepted = this.states.map(() => 0);
  }

  /** The replayed range (ISO), once known; undefined for a single window. */
  get range(): { from: string; to: string | null } | undefined {
    if (!this.replay) return undefined;
    const from = this.opts.from ?? (this.firstTime === Infinity ? undefined : this.firstTime);
    if (from === undefined) return undefined;
    const to = this.opts.to ?? (this.lastTime === -Infinity ? null : this.lastTime);
    return { from: new Date(from).toISOString(), to: to === null ? null : new Date(to).toISOString() };
  }

  /** Per rule: events withheld by exception items with an expire_time, in at least one run. */
  get exceptedPerRun(): readonly number[] {
    return this.expiringExcepted;
  }

  /** The next event in order: `t` is its ordering time (ms), `rules` the indexes of the rules that need it. */
  push(ev: EventDoc, t: number, rules: readonly number[]): void {
    if (t > this.lastTime) this.lastTime = t;
    if (t < this.firstTime) this.firstTime = t;
    if (t > this.nextClose) this.advance(t);
    if (ev.plain !== undefined) remarkPlain(ev.source, ev.plain);
    this.tied = false;
    for (let i = 0; i < rules.length; i++) this.deliver(this.states[rules[i]!]!, ev, t);
    // The answers are read when the event is placed in its rules' windows, and never after: an
    // event kept by a run (a sequence's first stage, a rule's last matches) would keep them too,
    // and they were most of what such an event holds (the join keys of each of its rules' terms).
    // Only an event held among ties (placed later, by flushTies) keeps them until then.
    if (!this.tied && ev.answers !== undefined) ev.answers = undefined;
  }

  /**
   * Closes the windows that ended before `t` (ordering time): no later event can fall in them
   * unless its window time precedes its ordering time, which ingest pipelines do not produce.
   */
  advance(t: number): void {
    if (!this.replay) return;
    this.nextClose = Infinity;
    for (const s of this.states) {
      if (s.nextClose < t) {
        // Held ties older than t may belong to the closing windows; ties AT t cannot (their time
        // is past every closing window's end) and stay held so their order is kept.
        if (s.tieTime < t) this.flushTies(s);
        const done = [...s.windows.values()].filter((w) => w.end < t).sort((a, b) => a.k - b.k);
        for (const w of done) {
          s.windows.delete(w.k);
          this.closeWindow(s, w);
          if (w.k > s.closedThrough) s.closedThrough = w.k;
        }
        s.nextClose = Infinity;
        for (const w of s.windows.values()) if (w.end < s.nextClose) s.nextClose = w.end;
      }
      if (s.nextClose < this.nextClose) this.nextClose = s.nextClose;
    }
  }

  /** End of input: every open window closes, oldest first; a single window runs at the last event's time. */
  finish(): void {
    for (const s of this.states) {
      this.flushTies(s);
      const rest = [...s.windows.values()].sort((a, b) => a.k - b.k);
      s.windows.clear();
      for (const w of rest) {
        if (!this.replay) w.runTime = this.opts.to ?? (this.lastTime === -Infinity ? this.opts.now : this.lastTime);
        this.closeWindow(s, w);
      }
      const own = s.ownOrder;
      if (own && own.missing > 0) {
        this.opts.onWarning?.(`rule "${s.rule.name}": ${own.missing} event(s) without a ${own.field} (the rule's timestamp_field) cannot be ordered and were not searched`);
        own.missing = 0;
      }
    }
    this.nextClose = Infinity;
  }

  /**
   * One scheduled run of rule `ruleIndex` at `runTime` over `events` (in order; typically read from
   * a store for the window's range): the rule's index patterns, filters, exceptions and window are applied
   * here, and the alerts go to the sink as for pushed events. Independent of push()'s windows.
   */
  runWindow(ruleIndex: number, runTime: number, events: Iterable<EventDoc>): void {
    const w = this.openWindow(ruleIndex, runTime);
    for (const ev of events) w.push(ev);
    w.close();
  }

  /**
   * runWindow fed one event at a time (in order), for a driver that reads the window's events in
   * pages instead of holding them all (a live service's repair runs): close() ends the run and
   * alerts. Only the run's own state is kept (and, for a rule ordered by its own timestamp_field,
   * the window's events, which it must sort).
   */
  openWindow(ruleIndex: number, runTime: number): WindowFeed {
    const s = this.states[ruleIndex]!;
    s.schedule ??= new RuleSchedule(s.rule, this.grid);
    const { start, end } = s.schedule.windowAt(runTime);
    const w: OpenWindow = { k: Number.NaN, runTime, start, end, run: s.prepared.query.createRun() };
    if (s.ownOrder) w.held = [];
    const p = s.prepared;
    const inWindow = (ev: EventDoc) => {
      if (!p.matchIndex(ev.index) || (p.filter && !p.filter(ev.source)) || (p.excepted && p.excepted(ev.source))) return false;
      if (p.expiring.length > 0 && runTime < expiringUntil(p, ev)) return false;
      return timeIn(s.windowTime(ev), start, end);
    };
    let ties: EventDoc[] = [];
    let tieTime = Number.NaN;
    const flush = () => {
      if (ties.length > 1 && s.tiebreaker) sortTies(ties, s.tiebreaker);
      for (const ev of ties) if (!w.run.done) w.run.push(ev);
      ties = [];
    };
    let closed = false;
    return {
      push: (ev) => {
        if (closed || !inWindow(ev)) return;
        if (w.held) {
          w.held.push(ev);
          return;
        }
        const t = ev.time?.ms ?? firstTime(s.windowTime(ev));
        if (t !== tieTime) {
          flush();
          tieTime = t;
        }
        ties.push(ev);
      },
      close: () => {
        if (closed) return;
        closed = true;
        flush();
        this.closeWindow(s, w);
      },
    };
  }

  /**
   * Stream mode: rule `ruleIndex`'s run starts again from nothing and `events` (in time order,
   * each with its time) are pushed to it alone: its state rebuilt as if those events had come in
   * that order (a live service whose real time read some of them late). Their results go through
   * `accept` and the sink as any: the caller turns them away when they were alerted already.
   */
  restream(ruleIndex: number, events: Iterable<EventDoc>): void {
    const b = this.rebuild(ruleIndex);
    for (const ev of events) b.push(ev);
    b.commit();
  }

  /**
   * Stream mode: a new run of rule `ruleIndex` built apart from the one in use, fed events in
   * time order while the rule's live run goes on (a driver that reads them in pages, between
   * which events keep being pushed); commit() puts it in the old one's place, with its pending
   * ties. Its results go through `accept` (when given, in place of the engine's) and the sink.
   */
  rebuild(ruleIndex: number, accept?: (result: QueryResult) => boolean): StreamRebuild {
    if (!this.stream) throw new Error('rebuild: stream mode only');
    const s = this.states[ruleIndex]!;
    // (Once committed, the run's results go through the engine's accept, as the live run's.)
    let own = accept;
    const w: OpenWindow = { k: ALL, runTime: 0, start: -Infinity, end: Infinity, run: s.prepared.query.createRun((r) => this.streamResult(s, r, own)) };
    let ties: EventDoc[] = [];
    let tieTime = Number.NaN;
    const place = (ev: EventDoc) => w.run.push(ev, ev.answers === undefined ? undefined : answersFor(ev, s.index));
    let done = false;
    return {
      push: (ev) => {
        if (done) throw new Error('rebuild: already committed');
        if (ev.plain !== undefined) remarkPlain(ev.source, ev.plain);
        if (!s.tiebreaker || s.ownOrder) {
          place(ev);
          return;
        }
        const t = ev.time!.ms;
        if (t !== tieTime) {
          if (ties.length > 1) sortTies(ties, s.tiebreaker);
          for (const x of ties) place(x);
          ties = [];
          tieTime = t;
        }
        ties.push(ev);
      },
      commit: () => {
        if (done) return;
        done = true;
        own = undefined;
        s.windows.set(ALL, w);
        s.tieGroup = ties;
        s.tieTime = tieTime;
      },
    };
  }

  private deliver(s: RuleState, ev: EventDoc, t: number): void {
    if (s.tiebreaker && !s.ownOrder) {
      if (t !== s.tieTime) {
        this.flushTies(s);
        s.tieTime = t;
      }
      s.tieGroup.push(ev);
      this.tied = true;
      return;
    }
    this.place(s, ev);
  }

  private flushTies(s: RuleState): void {
    const g = s.tieGroup;
    if (g.length === 0) return;
    if (g.length > 1) sortTies(g, s.tiebreaker!);
    for (const ev of g) this.place(s, ev);
    s.tieGroup = [];
  }

  /** Hands an event to the windows it falls in, opening them as needed. */
  private place(s: RuleState, ev: EventDoc): void {
    // What the rule's query says about the event, when a worker worked it out (EventDoc.answers).
    const a = ev.answers === undefined ? undefined : answersFor(ev, s.index);
    if (this.stream) {
      let w = s.windows.get(ALL);
      if (!w) s.windows.set(ALL, (w = { k: ALL, runTime: 0, start: -Infinity, end: Infinity, run: s.prepared.query.createRun((r) => this.streamResult(s, r)) }));
      w.run.push(ev, a);
      return;
    }
    const p = s.prepared;
    // Exception items with an expire_time apply to the runs that start before it.
    const exceptedUntil = p.expiring.length > 0 ? expiringUntil(p, ev) : -Infinity;
    if (!this.replay) {
      if (this.opts.from !== undefined || this.opts.to !== undefined) {
        if (!timeIn(s.windowTime(ev), this.opts.from ?? -Infinity, this.opts.to ?? Infinity)) {
          s.stats.outsideWindows++;
          return;
        }
      }
      if ((this.opts.to ?? this.opts.now) < exceptedUntil) {
        this.expiringExcepted[s.index]!++;
        return;
      }
      let w = s.windows.get(ALL);
      if (!w) s.windows.set(ALL, (w = this.newWindow(s, { k: ALL, runTime: 0, start: this.opts.from ?? -Infinity, end: this.opts.to ?? Infinity })));
      if (w.held) w.held.push(ev);
      else if (!w.run.done) w.run.push(ev, a);
      return;
    }
    const wt = s.windowTime(ev);
    if (wt === null) {
      s.stats.outsideWindows++;
      return;
    }
    const sched = s.schedule!;
    let got = 0;
    if (typeof wt === 'number') {
      // The common case, inline (the hot path: every routed event of every rule).
      const { lo, hi } = sched.runsContaining(wt, this.runRange);
      for (let k = Math.max(lo, s.closedThrough + 1); k <= hi; k++) {
        let w = s.windows.get(k);
        if (!w) {
          w = this.newWindow(s, sched.window(k));
          if (w.start > wt || w.end < wt) continue; // clipped away
          s.windows.set(k, w);
          if (w.end < s.nextClose) s.nextClose = w.end;
          if (w.end < this.nextClose) this.nextClose = w.end;
        }
        got |= PLACED;
        if (w.runTime < exceptedUntil) {
          got |= EXCEPTED;
          continue;
        }
        if (w.held) w.held.push(ev);
        else if (!w.run.done) w.run.push(ev, a);
      }
    } else {
      // Every run whose window holds one of the values, each once: the values ascend, so do their
      // runs' ranges, and each range starts past the runs already given the event.
      let next = s.closedThrough + 1;
      for (const t of wt) {
        const { lo, hi } = sched.runsContaining(t, this.runRange);
        const from = Math.max(lo, next);
        if (from > hi) continue;
        got |= this.placeRuns(s, ev, a, t, from, hi, exceptedUntil);
        next = hi + 1;
      }
    }
    if ((got & PLACED) === 0) s.stats.outsideWindows++;
    if ((got & EXCEPTED) !== 0) this.expiringExcepted[s.index]!++;
  }

  /**
   * Hands an event whose window time `wt` runs k = lo…hi contain to those runs, opening them as
   * needed: PLACED when a run holds it, | EXCEPTED when an expiring exception kept it from one.
   * (The loop place() runs inline for a single window time.)
   */
  private placeRuns(s: RuleState, ev: EventDoc, a: TermAnswers | undefined, wt: number, lo: number, hi: number, exceptedUntil: number): number {
    const sched = s.schedule!;
    let got = 0;
    for (let k = lo; k <= hi; k++) {
      let w = s.windows.get(k);
      if (!w) {
        w = this.newWindow(s, sched.window(k));
        if (w.start > wt || w.end < wt) continue; // clipped away
        s.windows.set(k, w);
        if (w.end < s.nextClose) s.nextClose = w.end;
        if (w.end < this.nextClose) this.nextClose = w.end;
      }
      got |= PLACED;
      if (w.runTime < exceptedUntil) {
        got |= EXCEPTED;
        continue;
      }
      if (w.held) w.held.push(ev);
      else if (!w.run.done) w.run.push(ev, a);
    }
    return got;
  }

  private newWindow(s: RuleState, at: ScheduledWindow): OpenWindow {
    const w: OpenWindow = { ...at, run: s.prepared.query.createRun() };
    if (s.ownOrder) w.held = [];
    return w;
  }

  /**
   * Feeds a window held for a rule with its own timestamp_field its events in that field's order
   * (then the tiebreaker, then arrival). Events without that time cannot be placed: counted.
   */
  private pushInOwnOrder(s: RuleState, w: OpenWindow): void {
    const own = s.ownOrder!;
    const held = w.held!;
    w.held = undefined;
    const keyed: { ev: EventDoc; ms: number; ns: number; i: number }[] = [];
    for (let i = 0; i < held.length; i++) {
      const t = parseInstant(own.get(held[i]!.source));
      if (t === null) own.missing++;
      else keyed.push({ ev: held[i]!, ms: t.ms, ns: t.ns, i });
    }
    const tb = s.tiebreaker;
    keyed.sort((a, b) => a.ms - b.ms || a.ns - b.ns || (tb ? compareTb(tb(a.ev.source), tb(b.ev.source)) : 0) || a.i - b.i);
    for (const k of keyed) {
      if (w.run.done) break;
      w.run.push(k.ev);
    }
  }

  /** Ends a window's run: its results become alerts (new ids only) for the sink. */
  private closeWindow(s: RuleState, w: OpenWindow): void {
    if (w.held) this.pushInOwnOrder(s, w);
    const st = s.stats;
    const maxSignals = s.prepared.maxSignals;
    st.runs++;
    const results: QueryResult[] = w.run.finish();
    const runIso = new Date(w.runTime).toISOString();
    const scheduled = this.replay || Number.isNaN(w.k);
    // Overlapping scheduled runs see the same events: naming the run tells their warnings apart.
    const inRun = scheduled && this.replay ? ` (run at ${runIso})` : '';
    for (const m of w.run.warnings()) this.opts.onWarning?.(`rule "${s.rule.name}"${inRun}: ${m}`);
    st.results += results.length;
    if (results.length >= maxSignals) {
      st.maxSignalsReached++;
      const dropped = w.run.found - results.length;
      st.dropped += dropped;
      const where = scheduled ? `run at ${runIso} (window ${new Date(w.start).toISOString()} – ${new Date(w.end).toISOString()})` : 'the single window';
      this.opts.onWarning?.(
        `rule "${s.rule.name}": max_signals (${maxSignals}) reached in ${where}` +
          (dropped > 0 ? `; ${dropped} older match${dropped === 1 ? ' was' : 'es were'} not alerted by this run` : ''),
      );
    }
    const ctx: AlertContext = {
      runTime: runIso,
      executionUuid: sha256Uuid(`${ruleUuid(s.rule)}:${scheduled ? w.k : 'all'}:${runIso}`),
    };
    const accept = this.opts.accept;
    for (const r of results) if (!accept || accept(s.index, r)) this.alert(s, r, ctx);
  }

  /**
   * Stream mode: one result found by a rule's unbounded run. At most max_signals alert groups per
   * rule interval are written (the same cap a scheduled run has); a result beyond it is left to
   * the scheduled runs, which find it again in their windows.
   */
  private streamResult(s: RuleState, r: QueryResult, accept?: (result: QueryResult) => boolean): void {
    if (accept ? !accept(r) : this.opts.accept && !this.opts.accept(s.index, r)) return;
    const now = this.opts.clock ? this.opts.clock() : Date.now();
    s.stats.results++;
    const b = (s.budget ??= { start: now, used: 0, interval: parseInterval(s.rule.interval) });
    if (now - b.start >= b.interval) {
      b.start = now;
      b.used = 0;
    }
    if (b.used >= s.rule.max_signals) {
      if (b.used++ === s.rule.max_signals) {
        s.stats.maxSignalsReached++;
        this.opts.onWarning?.(`rule "${s.rule.name}": max_signals (${s.rule.max_signals}) reached in real time within one interval; further matches are left to the scheduled runs`);
      }
      return;
    }
    const group = this.group(s, r, { runTime: new Date(now).toISOString(), executionUuid: sha256Uuid(`${ruleUuid(s.rule)}:stream:${b.start}`) });
    // A group already written (replayed after a restart or a takeover) costs no budget: only new
    // groups count towards max_signals.
    if (group.length > 0 && this.emit(s, group)) b.used++;
  }

  /** The alert group of a result; empty when the matched events are this rule's own alerts (Kibana drops those). */
  private group(s: RuleState, r: QueryResult, ctx: AlertContext): Alert[] {
    return r.kind === 'event' ? [buildEventAlert(s.rule, r.event, ctx)].filter((a) => a !== null) : buildSequenceAlerts(s.rule, r.events, ctx);
  }

  private alert(s: RuleState, r: QueryResult, ctx: AlertContext): void {
    const group = this.group(s, r, ctx);
    if (group.length > 0) this.emit(s, group);
  }

  /** Writes a group unless the ledger has it; true when written. */
  private emit(s: RuleState, group: Alert[]): boolean {
    // A group (sequence) is emitted whole or not at all: its ids all derive from the same events.
    const id = group[group.length - 1]!['kibana.alert.uuid'] as string;
    if (this.ledger.has(id)) {
      s.stats.duplicates += group.length;
      return false;
    }
    this.ledger.add(id);
    s.stats.alerts += group.length;
    this.opts.sink(group, s.rule);
    return true;
  }
}

/** The latest expire_time of the rule's expiring exception items that match the event (-Infinity: none). */
function expiringUntil(p: PreparedRule, ev: EventDoc): number {
  let until = -Infinity;
  for (const x of p.expiring) if (x.expireMs > until && x.predicate(ev.source)) until = x.expireMs;
  return until;
}

/** The answers a worker gave for rule `rule` (EventDoc.answers, beside EventDoc.routed). */
function answersFor(ev: EventDoc, rule: number): TermAnswers | undefined {
  const routed = ev.routed!;
  for (let k = 0; k < routed.length; k++) if (routed[k] === rule) return ev.answers![k] ?? undefined;
  return undefined;
}

function newRuleState(p: PreparedRule, index: number, grid: ScheduleGrid | null, orderField: string): RuleState {
  const rule = p.rule;
  const own = ruleTimestampField(rule);
  const override = rule.timestamp_override ? fieldAccessor(rule.timestamp_override) : null;
  const fallback = rule.timestamp_override_fallback_disabled !== true;
  const tsAcc = fieldAccessor('@timestamp');
  // Called for every (event, rule) pair: @timestamp comes from the time the ordering stage read
  // (EventDoc.time, when it was read from that field) instead of being parsed once per rule.
  const overrideField = rule.timestamp_override;
  const windowTime = (ev: EventDoc): WindowTime => {
    if (override) {
      const known = ev.fieldValues;
      // A worker sends a number whose text it found as that text (parallel/worker.ts).
      const v = known !== undefined && Object.hasOwn(known, overrideField!) ? known[overrideField!] : override(ev.source);
      const t = overrideTimes(v, ev.numberTexts?.[overrideField!]);
      if (t !== null) return t;
      // No time there (absent, null, or one the date field ignores as malformed): Kibana's filter
      // takes @timestamp then, unless the fallback is disabled.
      if (!fallback) return null;
    }
    return eventInstant(ev, '@timestamp', tsAcc)?.ms ?? null;
  };
  return {
    index,
    prepared: p,
    rule,
    windowTime,
    tiebreaker: rule.tiebreaker_field ? fieldAccessor(rule.tiebreaker_field) : null,
    tieGroup: [],
    tieTime: Number.NaN,
    ownOrder: own !== undefined && own !== orderField ? { field: own, get: fieldAccessor(own), missing: 0 } : null,
    schedule: grid ? new RuleSchedule(rule, grid) : null,
    windows: new Map(),
    budget: null,
    closedThrough: -Infinity,
    nextClose: Infinity,
    stats: {
      rule_id: rule.rule_id,
      name: rule.name,
      severity: rule.severity,
      dispatched: 0,
      excepted: 0,
      filtered: 0,
      outsideWindows: 0,
      runs: 0,
      results: 0,
      alerts: 0,
      duplicates: 0,
      maxSignalsReached: 0,
      dropped: 0,
    },
  };
}

/** The first (earliest) of a window time's values: an event's time when it has none of its own. */
function firstTime(wt: WindowTime): number {
  return typeof wt === 'number' ? wt : wt![0]!;
}

/** Stable sort of equal-time events by a tiebreaker: numbers numerically, strings by code unit, missing last (as the merge does). */
function sortTies(g: EventDoc[], tb: Accessor): void {
  g.sort((a, b) => compareTb(tb(a.source), tb(b.source)));
}

function compareTb(a: unknown, b: unknown): number {
  const am = a === undefined || a === null;
  const bm = b === undefined || b === null;
  if (am || bm) return am === bm ? 0 : am ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** A UUID-shaped digest, for deterministic execution ids. */
function sha256Uuid(s: string): string {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The first host.name of an alert, for summaries ('(no host)' when absent). */
export function alertHost(a: Alert): string {
  const v = getField(a, 'host.name');
  const x = Array.isArray(v) ? v[0] : v;
  return x === undefined || x === null || x === '' ? '(no host)' : String(x);
}
