// Real-time detection of one log partition: the shared driver of the detection engine's stream
// mode, used by `eqlite serve` (the single-node log, one partition) and by the cluster's workers
// (one detector per JetStream partition they hold a lease on). It reads the partition through the
// EventLog interface only, so a log implementation can be swapped without touching detection.
//
//   claim ─▶ consume from (checkpoint − state span) ─▶ route ─▶ reorder hold ─▶ stream engine ─▶ sink
//                 │ events ≤ checkpoint: silent (state only)                        │
//                 └──────────── ack(checkpoint) ◀── alerts durable ◀────────────────┘
//
//  * Claim: the partition's committed checkpoint — the last position whose alerts are durable —
//    and a fence against the previous reader (its later acks fail).
//  * Silent replay: sequences pending at the checkpoint are rebuilt by reading from the
//    checkpoint's store time minus the state span (2 × the longest maxspan, plus the reorder
//    hold): a partial sequence older than maxspan can never complete, and an event inside the last
//    maxspan may belong to a partial that began up to one maxspan earlier. Results completed by
//    events at or before the checkpoint are dropped (the previous reader alerted them); after it,
//    they are alerted. Alert ids are deterministic, so an alert found again is written once.
//  * Reorder: events are held `reorderMs` after they are read (on a single node, after they were
//    stored; there also while an ingest request that began before their own is still being stored, within a bound: requests
//    a shipper sends at once commit in any order) and pushed in time order. An event older than
//    one already pushed is late. A rule whose query is one event query without pipes judges each
//    event alone (its results do not depend on the order events come in): the late event is
//    pushed to it at once, as if on time. The other rules it concerns (sequences, samples, pipes)
//    get a repair run: the rule's scheduled windows that contain the late events are run again
//    over the events read back from the log (replay), routed by a router over just those rules —
//    for a sequence with a maxspan only the events within a maxspan of them — so the alerts do not
//    depend on the order events were stored in. Repairs are coalesced: while late events keep
//    coming, one starts twice as long as the last one took after the last one ended.
//  * Ack: every `checkpointEveryMs`, once the alert writes started so far are durable, the
//    position before the oldest event still held (or not yet repaired) is acknowledged.
import type { Logger } from 'pino';
import type { Alert } from '../detect/alerts.js';
import { DetectionEngine, type AlertLedger, type StreamRebuild, type WindowFeed } from '../detect/engine.js';
import { RuleRouter, ruleTimestampField, type PreparedRule } from '../detect/router.js';
import { RuleSchedule } from '../detect/schedule.js';
import type { QueryResult } from '../engine/index.js';
import type { Query } from '../eql/ast.js';
import { parse } from '../eql/index.js';
import { stampEventTime } from '../events/order.js';
import { numberTextReader, overrideTimes, serveNumberFields, type NumberTextReader } from '../events/number-time.js';
import type { EventDoc } from '../events/types.js';
import { fieldAccessor } from '../engine/fields.js';
import type { Rule } from '../rules/types.js';
import { FencedError, type BatchTail, type Checkpoint, type LogEvent, type LogStart, type PartitionReader } from './event-log.js';
import { DEBUG_HOLD } from './debug-hold.js';

/** The rules of one generation, as the detector runs them. */
export interface DetectorRules {
  gen: number;
  /** Rules as scheduled runs use them (repair runs). */
  prepared: readonly PreparedRule[];
  /** The same rules compiled without a size (stream mode); same order. */
  stream: readonly PreparedRule[];
  router: Pick<RuleRouter, 'route'>;
}

/** Which events and results of a generation a partition is responsible for. */
export interface PartitionScope {
  /** Of the rules that can use the event, those this partition runs it for. */
  rulesFor(ev: EventDoc, routes: readonly number[]): readonly number[];
  /** Whether a result of rule `rule` belongs to this partition. */
  owns(rule: number, result: QueryResult): boolean;
}

/** Every event and result (a log with one partition). */
export const WHOLE_LOG: PartitionScope = { rulesFor: (_ev, routes) => routes, owns: () => true };

/** Where alerts go. A promise: the write is durable when it resolves (acks wait for it). */
export type DetectorSink = (group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled') => void | Promise<void>;

export interface DetectorOptions {
  reader: PartitionReader;
  rules: DetectorRules;
  scope: PartitionScope;
  sink: DetectorSink;
  /** Ids already written (shared with other engines of this process). */
  ledger: AlertLedger;
  log: Logger;
  /** Hold before events are pushed in time order. */
  reorderMs: number;
  /**
   * The hold counts from when the log stored an event (its storedAt, on this process's clock:
   * a single node), not from when this detector read it. The time between the two is the
   * event loop's delay in handing a commit over — 0.2–0.3 s at the median with every rule at
   * full ingest (debug logs of the service bench at load 4 and 11) — and holding events a full `reorderMs` more
   * after that added it to every alert's latency. Events committed meanwhile are read meanwhile
   * (or are in a request in flight, waited for as `inFlightSince` says).
   */
  holdFromStored?: boolean;
  /**
   * When the oldest ingest request began that is still being stored, or that ended (its events
   * handed to this detector) after `after` (this detector's clock; Infinity or absent: none). An
   * event stored by a request that began after such a request (LogEvent.began; when not known,
   * an event read after it began) is held until that request is stored and its own events have
   * been held `reorderMs` too (requests begun up to BEGAN_SLACK_MS after its own count as begun
   * before: requests sent at once begin in any order), so that both are pushed together in time order (at most
   * `inFlightWaitMs` beyond the reorder hold): requests a shipper sends at once commit in any
   * order, and the older events of one committed later would otherwise be late, each costing its
   * rules a repair run. Requests that began later hold newer events and are not waited for, nor
   * are requests still being stored that began before `startedFrom` — the event's own request's
   * begin less inFlightWaitMs: one slow request (a slow client, a large body) does not hold up the
   * requests begun well after it, which are still put in order among themselves; but the last of
   * requests sent together is waited for however long it has been in flight (its companions'
   * events wait at most inFlightWaitMs after they were read, as any). Single node only (the
   * service sees its own ingest).
   */
  inFlightSince?: (after: number, startedFrom: number) => number;
  /** Longest extra hold for requests in flight (default: reorderMs); a function is asked at each release. */
  inFlightWaitMs?: number | (() => number);
  checkpointEveryMs: number;
  /** Upper bound of the state span replayed silently (rules without maxspan use their look-back). */
  maxReplayMs: number;
  /** Where to start when the partition has no checkpoint yet. */
  initialStart: () => LogStart;
  clock?: () => number;
  /** Observers (metrics). */
  onLate?: (n: number) => void;
  /** Repair runs done (one per rule run over a window read again). */
  onRepair?: (runs: number) => void;
  /**
   * Events a repair reads and holds at once (default REPAIR_PAGE): a repair reads its windows
   * from the log in time order, a page at a time (when the log can: replaySorted), and keeps only
   * its runs' own state, whatever the look-back and the flow.
   */
  repairPage?: number;
  /** A repair read a page of this many events (metrics: the largest). */
  onRepairPage?: (events: number) => void;
  /** Events of a millisecond that held more than a repair page, read over several pages (see replaySorted). */
  onRepairSplit?: (events: number) => void;
  onAlerts?: (group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled') => void;
  /** The detector stopped by itself: fenced (another reader took over) or a read failed. */
  onStopped?: (reason: 'fenced' | 'error', err?: Error) => void;
}

interface Held {
  ev: EventDoc;
  t: number;
  ns: number;
  position: number;
  /** When the log stored it: the replay after a takeover must start at or before it while it may be in the state. */
  storedAt: number;
  silent: boolean;
  routes: readonly number[];
  /** When its hold began: when it was read, or when it was stored (DetectorOptions.holdFromStored). */
  arrived: number;
  /** When the ingest request that stored it began (its arrival when not known). */
  began: number;
  /** The event read just before this one: the checkpoint while this one is not done. */
  prev: Checkpoint;
  /**
   * Per rule of `need`: the event's window time (NaN: none), noted when it goes to wait for a
   * repair — its document is let go then (see awaitRepair).
   */
  wt?: (number | readonly number[])[];
  /** Waiting for a repair (in `unrepaired`): the rules it needs one of. */
  need?: number[];
  /** Pushed on time, its results for `need` left to a repair (the stream lacked late events then). */
  again?: boolean;
}

export interface DetectorStatus {
  partition: number;
  state: 'starting' | 'replaying' | 'live' | 'stopped' | 'fenced' | 'failed';
  /** Last position read, and the last acknowledged checkpoint. */
  position: number;
  checkpoint: Checkpoint | null;
  /** Position the silent replay runs to (the checkpoint found at claim). */
  silentThrough: number;
  held: number;
  events: number;
  replayed: number;
  late: number;
  repairs: number;
  /** Rules whose stream state a repair rebuilt (see repairGroup). */
  rebuilds: number;
  /** The most events a repair held read at once (a page of its read; its whole read without replaySorted). */
  repairPeak: number;
  /** Events of a millisecond read over several repair pages, ordered by position within it (see replaySorted). */
  repairSplit: number;
  alerts: number;
  pendingWrites: number;
}

/** Largest number of alert writes in flight before reading pauses. */
const MAX_PENDING_WRITES = 2000;
/** Events held before a release is forced (memory bound while detection is behind). */
const MAX_HELD = 200_000;
/** Longest wait between two repair runs (see runRepairs). */
const REPAIR_GAP_MAX_MS = 30_000;
/** Repair routers kept per generation. */
const MAX_REPAIR_ROUTERS = 16;
/** Store-time slack of window reads (clocks of ingest nodes and the log differ). */
const WINDOW_READ_SLACK_MS = 60_000;
/** Event time one repair run covers at most (a longer backlog is repaired in several, oldest first). */
const REPAIR_SPAN_MAX_MS = 3_600_000;
/** Scheduled windows one repair runs a rule over at most. */
const REPAIR_WINDOWS_MAX = 1_000;

/**
 * Requests sent at once (a shipper's workers, after answers that came together) begin in any
 * order within a few tens of milliseconds: an event also waits for requests that began up to this
 * long after its own.
 */
const BEGAN_SLACK_MS = 100;

/** The document of an event waiting for a repair, once let go (see awaitRepair). */
const LET_GO: EventDoc = Object.freeze({ source: Object.freeze({}), index: '', id: '' }) as EventDoc;

/** Events a repair reads and holds at once, by default (DetectorOptions.repairPage). */
export const REPAIR_PAGE = 2_000;

/**
 * Events pushed to the rules whose stream states a repair rebuilds while it reads, noted to be
 * pushed to the rebuilt states too (see repairGroup): by store position when the log can read
 * events back by position (8 bytes each), else the events themselves. Beyond it the rebuilds are
 * dropped and their rules left to repair runs for now.
 */
const REBUILD_PENDING_MAX = 1_000_000;
const REBUILD_PENDING_DOCS_MAX = 50_000;
/** Reads back of the events pushed meanwhile before a rebuild gives up (events keep coming faster). */
const REBUILD_ROUNDS_MAX = 8;

/** An event read for a repair: its store position, and the repaired rules it is routed to. */
type RepairEvent = EventDoc & { pos: number; routes: readonly number[] };

/** The stream states a repair rebuilds while it reads (see repairGroup). */
interface Rebuilding {
  /** Per rule: its new state, and whether a late event of it came meanwhile (it stays with repairs then). */
  rules: Map<number, { run: StreamRebuild; late: boolean }>;
  /**
   * The on-time events pushed to those rules meanwhile, in push order: store positions (the log
   * reads them back: replayPositions) or the events (a log that cannot), with the rules pushed to.
   * Null: too many, the rebuilds are dropped.
   */
  pushed: { positions: number[]; docs: RepairEvent[] | null; routes: (readonly number[])[] } | null;
  /** Per rule: the positions of its events pushed on time whose results the stream left to a repair (what the rebuilds alert). */
  again: Map<number, Set<number>>;
}

/** One rule's repair: the scheduled windows it runs again and what it reads for them. */
interface RepairPlan {
  rule: number;
  /** The rule's window time: @timestamp, event.ingested (store time), or another field. */
  kind: 'timestamp' | 'ingested' | 'other';
  /** Results ending before this event time are not the repair's (−Infinity: all are). */
  from: number;
  /** Event time (@timestamp) the windows are run over, inclusive (±Infinity: unbounded). */
  runFrom: number;
  runTo: number;
  /** Event time read: the run's, and with `rebuild` everything from lastPushed − the rule's late span on. */
  readFrom: number;
  readTo: number;
  /**
   * The stream's state of the rule is rebuilt from the read after the repair (see rebuildStreams):
   * the late events can still combine with events to come.
   */
  rebuild: boolean;
  /** Store time the read starts from. */
  storedFrom: number;
  windows: { runTime: number; start: number; end: number }[];
}

export class PartitionDetector {
  private rules: DetectorRules;
  private scope: PartitionScope;
  private stream!: DetectionEngine;
  private scheduled!: DetectionEngine;
  private held: Held[] = [];
  private lastPushed = -Infinity;
  /** Results completed by the event being pushed are dropped (it is at or before the checkpoint). */
  private silent = false;
  private pushT = Infinity;
  private silentThrough = 0;
  private lastRead: Checkpoint = { position: 0, storedAt: 0 };
  private acked: Checkpoint | null = null;
  private pending = new Set<Promise<void>>();
  private repair = new Set<number>();
  /** Late events whose repair has not completed: the checkpoint stays before them. */
  private unrepaired: Held[] = [];
  /** The late events the repair in flight covers. */
  private inRepair: Held[] = [];
  private repairing = false;
  /** No repair run starts before this time (repairs of a burst of late events are coalesced). */
  private nextRepairAt = 0;
  /** While a repair reads: the rules whose stream state it rebuilds (see repairGroup). */
  private rebuilding: Rebuilding | null = null;
  /** Routers over the rule sets of recent repair runs, for this generation (see routerFor). */
  private repairRouters = new Map<string, { router: RuleRouter; rules: number[] }>();
  /**
   * Per rule (stream order): how long, in event time, a late event stays able to combine with
   * later ones (its maxspan or window; 0: the rule needs no order), and until when the late events
   * seen so far can: an on-time event before that time goes to a repair run too, since the stream
   * never saw the late events it may complete a sequence with.
   */
  private ruleSpan = new Float64Array(0);
  private lateUntil = new Float64Array(0);
  /** Per rule: its maxspan on @timestamp when it is a sequence with one (0: none; see repairPlans). */
  private maxspan = new Float64Array(0);
  /** Per rule: an event's window time (timestamp_override, with its fallback), or null. */
  private windowTimes: ((ev: EventDoc, t: number) => number | readonly number[] | null)[] = [];
  /** Reads the rules' timestamp_override numbers from a stored event's text (null: no rule needs it). */
  private numberTexts: NumberTextReader | null = null;
  /** While a repair runs a rule with a maxspan: results that end before this time are not its own. */
  private repairFrom = -Infinity;
  /** The silent replay's span (state span + reorder hold), set at start. */
  private span = 0;
  /**
   * Earliest store time of the events pushed in each second of event time: after a takeover the
   * state must be rebuilt from the earliest store time of an event it may hold, which a shipper's
   * backlog can put far before the checkpoint's own.
   */
  private pushedStoredAt = new Map<number, number>();
  private abort: AbortController | null = null;
  private running: Promise<void> | null = null;
  private releaseTimer: NodeJS.Timeout | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  private state: DetectorStatus['state'] = 'starting';
  private counts = { events: 0, replayed: 0, late: 0, repairs: 0, rebuilds: 0, repairPeak: 0, repairSplit: 0, alerts: 0 };
  private readonly clock: () => number;
  private writeError: Error | null = null;

  constructor(private readonly opts: DetectorOptions) {
    this.rules = opts.rules;
    this.scope = opts.scope;
    this.clock = opts.clock ?? Date.now;
    this.build();
  }

  get partition(): number {
    return this.opts.reader.partition;
  }

  /** Events read and not yet through detection: held for reordering, or late and not yet repaired. */
  get backlog(): number {
    return this.held.length + this.unrepaired.length + this.inRepair.length;
  }

  status(): DetectorStatus {
    return {
      partition: this.partition,
      state: this.state,
      position: this.lastRead.position,
      checkpoint: this.acked,
      silentThrough: this.silentThrough,
      held: this.held.length,
      ...this.counts,
      pendingWrites: this.pending.size,
    };
  }

  /** Claims the partition and starts reading (resolves once the claim succeeded). */
  async start(): Promise<void> {
    const ckpt = await this.opts.reader.claim();
    this.acked = ckpt;
    this.begin(ckpt);
  }

  private begin(ckpt: Checkpoint | null): void {
    const span = (this.span = stateSpanMs(this.rules.stream.map((p) => p.rule), this.opts.maxReplayMs) + this.opts.reorderMs);
    this.silentThrough = ckpt?.position ?? 0;
    this.pushedStoredAt.clear();
    const from: LogStart = ckpt ? { time: replayStart(ckpt, span, this.opts.reorderMs, this.opts.maxReplayMs) } : this.opts.initialStart();
    this.lastRead = ckpt ?? { position: 0, storedAt: 0 };
    this.state = ckpt && ckpt.position > 0 ? 'replaying' : 'live';
    const abort = (this.abort = new AbortController());
    // A fifth of the hold, at most 50 ms: an event waits at most that long past its due time (at
    // half the hold, 125 ms by default, the tick alone added 60 ms to the average alert and 125
    // to the slowest), and a look at held events with nothing due costs next to nothing.
    this.releaseTimer = setInterval(() => this.release(false), Math.max(10, Math.min(50, this.opts.reorderMs / 5)));
    this.releaseTimer.unref();
    this.ackTimer = setInterval(() => void this.checkpoint(), this.opts.checkpointEveryMs);
    this.ackTimer.unref();
    this.running = this.opts.reader
      .consume(from, (batch, tail) => this.accept(batch, tail), { signal: abort.signal, routedGen: this.rules.gen })
      .catch((e: Error) => {
        if (abort.signal.aborted) return;
        this.state = 'failed';
        this.opts.log.error({ partition: this.partition, err: e.message }, 'detection: reading the partition failed');
        this.halt();
        this.opts.onStopped?.('error', e);
      });
  }

  /** Stops reading; acknowledges what is done unless fenced. */
  async stop(): Promise<void> {
    const wasRunning = this.state !== 'fenced' && this.state !== 'failed' && this.state !== 'stopped';
    this.halt();
    await this.running;
    if (wasRunning) {
      try {
        await this.checkpoint(true);
      } catch {
        /* fenced or unreachable: the next reader replays from the last ack */
      }
      this.state = 'stopped';
    }
  }

  private halt(): void {
    this.abort?.abort();
    if (this.releaseTimer) clearInterval(this.releaseTimer);
    if (this.ackTimer) clearInterval(this.ackTimer);
    this.releaseTimer = this.ackTimer = null;
  }

  /** A new rule generation: stop, acknowledge, and start again from the checkpoint (state rebuilt). */
  async install(rules: DetectorRules, scope: PartitionScope = this.scope): Promise<void> {
    await this.stop();
    this.rules = rules;
    this.scope = scope;
    this.writeError = null;
    this.held = [];
    this.unrepaired = [];
    this.repair.clear();
    this.build();
    this.state = 'starting';
    await this.start();
  }

  private build(): void {
    const { ledger, log } = this.opts;
    const warn = (m: string) => log.warn({ partition: this.partition, warning: m }, 'detection');
    this.lastPushed = -Infinity;
    this.ruleSpan = Float64Array.from(this.rules.stream, (p) => (orderFree(p) ? 0 : lateSpanMs(p.rule)));
    this.maxspan = Float64Array.from(this.rules.prepared, (p) => maxspanMs(p.rule));
    this.windowTimes = this.rules.prepared.map((p) => windowTimeOf(p.rule));
    this.numberTexts = numberTextReader(serveNumberFields(this.rules.prepared.map((p) => p.rule.timestamp_override)));
    this.lateUntil = new Float64Array(this.rules.stream.length).fill(-Infinity);
    this.repairRouters = new Map();
    this.stream = new DetectionEngine({
      rules: this.rules.stream,
      mode: 'stream',
      now: this.clock(),
      clock: this.clock,
      ledger,
      onWarning: warn,
      accept: (i, r) => !this.silent && !this.repairOnly(i) && this.scope.owns(i, r),
      sink: (group, rule) => this.emit(group, rule, 'realtime'),
    });
    this.scheduled = new DetectionEngine({
      rules: this.rules.prepared,
      mode: 'schedule',
      now: this.clock(),
      ledger,
      onWarning: warn,
      accept: (i, r) => (this.repairFrom === -Infinity || endsAt(r) >= this.repairFrom) && this.scope.owns(i, r),
      sink: (group, rule) => this.emit(group, rule, 'scheduled'),
    });
  }

  /**
   * Whether the stream's results of rule i completed by the event being pushed are left to the
   * repair run it triggers: the stream lacks the late events that may belong in them (in time
   * order a late "a" replaces an earlier one a sequence would otherwise use). The repair runs the
   * windows around the event's own time, so this holds whatever the event's age.
   */
  private repairOnly(i: number): boolean {
    return this.pushT <= this.lateUntil[i]!;
  }

  private emit(group: Alert[], rule: Rule, mode: 'realtime' | 'scheduled'): void {
    this.counts.alerts += group.length;
    this.opts.onAlerts?.(group, rule, mode);
    let r: void | Promise<void>;
    try {
      r = this.opts.sink(group, rule, mode);
    } catch (e) {
      this.writeFailed(e as Error);
      return;
    }
    if (r) {
      const p: Promise<void> = r.then(
        () => void this.pending.delete(p),
        (e: Error) => {
          this.pending.delete(p);
          this.writeFailed(e);
        },
      );
      this.pending.add(p);
    }
  }

  /**
   * An alert write failed for good: the checkpoint must never move past it, so the partition
   * stops here; whoever reads it next (this process after a restart, or another worker)
   * replays from the last acknowledgement and writes the alert again (same id).
   */
  private writeFailed(e: Error): void {
    this.writeError ??= e;
    if (this.state === 'failed' || this.state === 'fenced' || this.state === 'stopped') return;
    this.state = 'failed';
    this.opts.log.error({ partition: this.partition, err: e.message }, 'detection: an alert write failed; stopping the partition (it resumes from the last acknowledgement)');
    this.halt();
    this.opts.onStopped?.('error', e);
  }

  // ---- reading ---------------------------------------------------------------------------------------

  /**
   * A batch read from the log. With a tail, the log left out events that ingest routed to no rule
   * of this generation: they are read (counted, and the checkpoint may pass them) but never seen.
   */
  private async accept(batch: LogEvent[], tail?: BatchTail): Promise<void> {
    const now = this.clock();
    const { router } = this.rules;
    const heldBefore = this.held.length;
    const holdFromStored = this.opts.holdFromStored === true;
    for (const e of batch) {
      // The checkpoint while this event is not done: the last position read, with its own store
      // time (a replay after a restart starts from it; events left out since are simply read again).
      const prev = this.lastRead;
      this.lastRead = { position: e.position, storedAt: e.storedAt };
      const silent = e.position <= this.silentThrough;
      if (silent) this.counts.replayed++;
      else this.counts.events++;
      // Routing known and empty: skip without touching `source` (a document no rule can use may
      // not be kept parsed; reading it would cost a store read and a parse).
      const known = e.routed && e.routed.gen === this.rules.gen ? e.routed.routes : null;
      if (known && known.length === 0) continue;
      const ev: EventDoc = { source: e.source, index: e.index, id: e.id };
      let routes: readonly number[] = known ?? router.route(ev).slice();
      if (routes.length === 0) continue;
      this.setNumberTexts(ev, e);
      routes = this.scope.rulesFor(ev, routes);
      if (routes.length === 0) continue;
      const time = stampEventTime(ev, '@timestamp');
      if (!time) continue;
      this.held.push({ ev, t: time.ms, ns: time.ns, position: e.position, storedAt: e.storedAt, silent, routes, arrived: holdFromStored ? Math.min(now, e.storedAt) : now, began: e.began ?? now, prev });
    }
    if (DEBUG_HOLD && batch.length > 0) this.opts.log.info({ hold: 'read', now, n: batch.length, tLo: Math.min(...this.held.slice(heldBefore).map((h) => h.t)), tHi: Math.max(...this.held.slice(heldBefore).map((h) => h.t)), from: batch[0]!.position, to: batch[batch.length - 1]!.position, began: [...new Set(batch.map((e) => e.began ?? -1))], held: this.held.length }, 'hold');
    if (tail && tail.position > this.lastRead.position) this.lastRead = { position: tail.position, storedAt: tail.storedAt };
    if (tail && tail.skipped > 0) {
      if (tail.position <= this.silentThrough) this.counts.replayed += tail.skipped;
      else this.counts.events += tail.skipped;
    }
    if (this.state === 'replaying' && this.lastRead.position >= this.silentThrough) {
      this.state = 'live';
      this.opts.log.info({ partition: this.partition, replayed: this.counts.replayed, checkpoint: this.silentThrough }, 'detection: partition state rebuilt, live');
    }
    if (this.held.length > MAX_HELD) this.release(true);
    // Back-pressure: reading waits while alert writes are behind.
    while (this.pending.size > MAX_PENDING_WRITES) await Promise.race(this.pending);
  }

  /**
   * An event goes to wait for a repair of `need` (late, or pushed on time while those rules lack
   * late events: `again`). What the repair needs of it is kept — its times, position, rules and
   * window times — but not its document: while a long repair runs, every event pushed within the
   * late events' span (a look-back, for rules without a maxspan) waits, and until the twelfth
   * session each kept its parsed document (a burst of the service bench: about 100,000 events).
   */
  private awaitRepair(h: Held, need: number[], again: boolean): void {
    h.need = need;
    if (again) h.again = true;
    h.wt = need.map((r) => this.windowTimes[r]!(h.ev, h.t) ?? Number.NaN);
    h.ev = LET_GO;
    this.unrepaired.push(h);
  }

  /**
   * A log event's EventDoc.numberTexts, so that its rules' timestamp_override numbers are read
   * from their text as in a hunt: ingest's (the live tail), or read from its stored text.
   */
  private setNumberTexts(ev: EventDoc, e: LogEvent): void {
    const texts = e.numberTexts ?? (e.text === undefined || this.numberTexts === null ? undefined : this.numberTexts(e.text, ev.source));
    if (texts !== undefined) ev.numberTexts = texts;
  }

  /** Pushes the events held long enough, in time order (`all`: everything held). */
  private release(all: boolean): void {
    if (this.held.length > 0) {
      let n = 0;
      if (all) n = this.held.length;
      else {
        // Held `reorderMs`, and while a request that began before theirs is still being stored
        // or its events are held (at most inFlightWaitMs more).
        const now = this.clock();
        const w = this.opts.inFlightWaitMs;
        const wait = typeof w === 'function' ? w() : (w ?? this.opts.reorderMs);
        const cutoff = now - this.opts.reorderMs;
        const forced = cutoff - wait;
        // The requests an event waits for: begun before its own (or within BEGAN_SLACK_MS after)
        // and at most `wait` before it. Counted from the event's own request, not from now: the
        // last of requests sent together commits last, often more than `wait` after they all
        // began (a debug log of a late burst at load 9: four requests begun within 4 ms, three
        // stored after 650 ms, the fourth after 1,242 ms, while `wait` was 1 s — its 843 events
        // were late). (Asked once per request: held events come a request at a time.)
        let askedFor = Number.NaN;
        let since = Infinity;
        while (n < this.held.length) {
          const h = this.held[n]!;
          if (h.arrived > cutoff) break;
          if (h.arrived > forced && this.opts.inFlightSince) {
            if (h.began !== askedFor) {
              askedFor = h.began;
              since = this.opts.inFlightSince(cutoff, h.began - wait);
            }
            if (h.began + BEGAN_SLACK_MS >= since) break;
          }
          n++;
        }
      }
      if (n > 0 && !all && n < this.held.length) n = this.watermark(n);
      if (n > 0) {
        const batch = this.held.slice(0, n);
        this.held = this.held.slice(n);
        batch.sort((a, b) => a.t - b.t || a.ns - b.ns || a.position - b.position);
        let late = 0;
        const pushedBefore = this.lastPushed;
        for (const h of batch) {
          if (h.t < this.lastPushed) {
            // Too late for the stream. Rules that need no order take it as it is; for the others a
            // repair run over their current windows finds what it completes. A silent one (at or
            // before the checkpoint) was handled by the previous reader; still, the stream lacks
            // it, so later events it may combine with go to a repair run.
            let ordered: number[] | null = null;
            let free: number[] | null = null;
            for (const r of h.routes) {
              const span = this.ruleSpan[r]!;
              if (span === 0) (free ??= []).push(r);
              else {
                (ordered ??= []).push(r);
                if (!h.silent) this.repair.add(r);
                if (h.t + span > this.lateUntil[r]!) this.lateUntil[r] = h.t + span;
                const b = this.rebuilding?.rules.get(r);
                if (b) b.late = true;
              }
            }
            if (h.silent) continue;
            late++;
            if (free) this.stream.push(h.ev, h.t, free);
            if (ordered) this.awaitRepair(h, ordered, false);
            continue;
          }
          this.lastPushed = h.t;
          this.notePushed(h);
          this.silent = h.silent;
          this.pushT = h.t;
          try {
            this.stream.push(h.ev, h.t, h.routes);
          } finally {
            this.silent = false;
          }
          if (this.rebuilding) this.notePushedWhileRebuilding(h);
          // On time, but maybe the next step of a sequence whose earlier events came late: the
          // stream lacks those, so a repair run (which reads this event too) must look again.
          if (!h.silent) {
            let need: number[] | null = null;
            for (const r of h.routes) {
              if (h.t <= this.lateUntil[r]!) {
                this.repair.add(r);
                (need ??= []).push(r);
              }
            }
            if (need) this.awaitRepair(h, need, true);
          }
        }
        if (DEBUG_HOLD) {
          const began = new Map<number, number>();
          for (const h of batch) began.set(h.began, (began.get(h.began) ?? 0) + 1);
          const lateBegan = new Map<number, number>();
          for (const h of batch) if (h.t < pushedBefore) lateBegan.set(h.began, (lateBegan.get(h.began) ?? 0) + 1);
          const w = this.opts.inFlightWaitMs;
          this.opts.log.info({ hold: 'release', now: this.clock(), all, n, left: this.held.length, late, pushedBefore, began: [...began], lateBegan: [...lateBegan], wait: typeof w === 'function' ? w() : w, since: this.opts.inFlightSince?.(this.clock() - this.opts.reorderMs, -Infinity), nextBegan: this.held[0]?.began, nextArrived: this.held[0]?.arrived }, 'hold');
        }
        if (late > 0) {
          this.counts.late += late;
          this.opts.onLate?.(late);
        }
      }
    }
    if (this.repair.size > 0 && !this.repairing && this.clock() >= this.nextRepairAt) void this.runRepairs();
  }

  /**
   * Of the first `n` held events (those due), how many go now: the due events newer than an event
   * still held would make it late once it is pushed, so they stay held with it — the ones held
   * longer than `reorder` + the in-flight wait excepted (a flow of ever older events, a backlog,
   * does not hold the others up longer than that). Until the eleventh session the due events were
   * pushed whatever was left held: a request begun 55 ms before two with older events, stored
   * with them, was pushed alone while they waited for a request in flight, and their 1,840 events
   * were late (a debug log at load 7). The held events are reordered: the ones that go first.
   */
  private watermark(n: number): number {
    const held = this.held;
    // (Late means older than the newest pushed, in ms: an equal time is not late.)
    let minT = Infinity;
    for (let k = n; k < held.length; k++) if (held[k]!.t < minT) minT = held[k]!.t;
    const w = this.opts.inFlightWaitMs;
    const wait = typeof w === 'function' ? w() : (w ?? this.opts.reorderMs);
    const forced = this.clock() - this.opts.reorderMs - wait;
    const go: Held[] = [];
    const stay: Held[] = [];
    for (let k = 0; k < n; k++) {
      const h = held[k]!;
      if (h.t <= minT || h.arrived <= forced) go.push(h);
      else stay.push(h);
    }
    if (stay.length === 0) return n;
    // (Kept in arrival order: the next release looks at them first again.)
    this.held = go.concat(stay, held.slice(n));
    return go.length;
  }

  // ---- repairs ---------------------------------------------------------------------------------------

  /**
   * Rules that got late events run again over the stored events around those events' own times,
   * in the rule's scheduled windows (the epoch grid every scheduled run and `hunt` use) that
   * contain them — not the rule's current window, which a late event older than the look-back
   * (a shipper's backlog) falls outside of. So the alerts real time writes do not depend on the
   * order requests commit: once every event is stored they are those of `hunt` over the stored
   * events. A sequence with a maxspan (on @timestamp) reads only [oldest − maxspan, newest +
   * maxspan] around the events it covers: a result that ends at or after the oldest holds no
   * earlier event, and partials begun earlier have expired by then, so those results are the
   * window's; results that end before it are left out (they hold no covered event: the stream
   * alerted them).
   * The other rules (samples, pipes, sequences without maxspan) read their windows whole.
   */
  private async runRepairs(): Promise<void> {
    this.repairing = true;
    const started = this.clock();
    const rules = [...this.repair];
    let covered = this.unrepaired;
    this.repair = new Set();
    this.unrepaired = [];
    // A backlog spanning hours is repaired an hour of event time at a time, oldest first (the
    // reads stay bounded); the rest waits for the next run.
    covered.sort((a, b) => a.t - b.t);
    const cut = covered.findIndex((h) => h.t > covered[0]!.t + REPAIR_SPAN_MAX_MS);
    if (cut > 0) {
      const rest = covered.slice(cut);
      covered = covered.slice(0, cut);
      const wanted = new Set(rules);
      for (const h of rest) for (const r of h.need ?? h.routes) if (wanted.has(r)) this.repair.add(r);
      this.unrepaired = rest;
    }
    this.inRepair = covered;
    const gen = this.rules.gen;
    try {
      const plans = this.repairPlans(rules, covered);
      // Rules that read alike share one read: by @timestamp or by store time, whole or by maxspan.
      const groups = new Map<string, RepairPlan[]>();
      for (const p of plans) {
        const key = `${p.kind}:${p.readFrom !== -Infinity}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = []));
        g.push(p);
      }
      for (const [key, g] of groups) {
        if (!(await this.repairGroup(key, g, gen, covered.length, started))) return;
      }
    } catch (e) {
      // Not repaired: keep the checkpoint before these events and try again on the next tick.
      if (this.rules.gen === gen) {
        for (const i of rules) this.repair.add(i);
        this.unrepaired.push(...covered);
      }
      if (!this.abort?.signal.aborted) this.opts.log.warn({ partition: this.partition, err: (e as Error).message }, 'detection: repair run could not read the partition; retrying');
    } finally {
      this.inRepair = [];
      this.repairing = false;
      this.rebuilding = null;
      // While late events keep coming, the next repair waits twice as long as this one took, so
      // that repairs take at most a third of the thread (the late events of the wait share one run).
      const end = this.clock();
      this.nextRepairAt = end + Math.min(REPAIR_GAP_MAX_MS, 2 * (end - started));
    }
  }

  /**
   * One read of a group of repaired rules (rules that read alike), in time order a page at a
   * time, fed as it goes to each rule's scheduled windows (each closed once the read is past it)
   * and, for the rules whose late events can still combine with events to come, to a new stream
   * state of the rule (below): nothing is kept of the read but the page at hand — until the
   * twelfth session the read was held whole, every event of a look-back for the rules windowed by
   * `event.ingested` (a burst on a busy flow: about 1 GB), and kept for the next repair.
   *
   * The rebuilt stream state: the rule's events in time order — the late ones among them, as if
   * they had come on time — so that its on-time events go to the stream again (lateUntil
   * cleared). Until then every on-time event within the late events' span (a look-back, for rules
   * without a maxspan: minutes) sent the rule to another repair over its whole windows. Built
   * apart from the live state while the read goes on, from the events read before it began except
   * those still held then; the events pushed to the rule meanwhile (newer than all of
   * those) are pushed to it after them, and it then takes the live state's place. Results found
   * while rebuilding are alerted only when they hold an event pushed on time whose results the
   * stream left to a repair (the others were alerted by the stream or by the repair). A late event
   * of the rule read meanwhile is not in it: the rule stays with repairs (lateUntil kept).
   * False: the generation changed or reading stopped.
   */
  private async repairGroup(key: string, g: readonly RepairPlan[], gen: number, covered: number, started: number): Promise<boolean> {
    // Everything read so far (the events pushed from here on are noted for the rebuilds).
    const through = this.lastRead.position;
    let tFrom = Infinity;
    let tTo = -Infinity;
    let storedFrom = Infinity;
    for (const p of g) {
      tFrom = Math.min(tFrom, p.readFrom);
      tTo = Math.max(tTo, p.readTo);
      storedFrom = Math.min(storedFrom, p.storedFrom);
    }
    const rules = new Set(g.map((p) => p.rule));
    // Each rule's windows, fed the events routed to it within the window's event time.
    type Feed = { plan: RepairPlan; lo: number; hi: number; run: WindowFeed };
    const feeds = new Map<number, Feed[]>();
    const failed = new Set<number>();
    const fail = (p: RepairPlan, e: unknown) => {
      if (failed.has(p.rule)) return;
      failed.add(p.rule);
      feeds.delete(p.rule);
      this.opts.log.error({ partition: this.partition, rule: this.rules.prepared[p.rule]!.rule.rule_id, err: (e as Error).message }, 'detection: repair run failed');
    };
    for (const p of g) {
      const list: Feed[] = [];
      for (const w of p.windows) {
        const lo = p.kind === 'timestamp' ? Math.max(w.start, p.runFrom) : p.runFrom;
        const hi = p.kind === 'timestamp' ? Math.min(w.end, p.runTo) : p.runTo;
        list.push({ plan: p, lo, hi, run: this.scheduled.openWindow(p.rule, w.runTime) });
      }
      feeds.set(p.rule, list);
    }
    const close = (f: Feed) => {
      if (failed.has(f.plan.rule)) return;
      // (Results that end before the plan's `from` are not the repair's: accept reads it.)
      this.repairFrom = f.plan.from;
      try {
        f.run.close();
      } catch (e) {
        fail(f.plan, e);
      } finally {
        this.repairFrom = -Infinity;
      }
    };
    /** Closes the windows the read is past (`t`: the newest event time read; null: all of them). */
    const closePast = (t: number | null) => {
      for (const [r, list] of feeds) {
        let k = 0;
        for (const f of list) {
          if (t === null || f.hi < t) close(f);
          else list[k++] = f;
        }
        list.length = k;
        if (k === 0) feeds.delete(r);
      }
    };
    // The stream states rebuilt, and what the rebuilds alert (see above).
    const rebuild = g.filter((p) => p.rebuild);
    let heldAtStart: Set<number> | null = null;
    if (rebuild.length > 0) {
      heldAtStart = new Set();
      for (const h of this.held) heldAtStart.add(h.position);
      const rb: Rebuilding = { rules: new Map(), pushed: { positions: [], docs: this.opts.reader.replayPositions ? null : [], routes: [] }, again: this.againPositions(rules) };
      for (const p of rebuild) {
        const r = p.rule;
        rb.rules.set(r, { run: this.stream.rebuild(r, (res) => holdsAny(res, rb.again.get(r)) && this.scope.owns(r, res)), late: false });
      }
      this.rebuilding = rb;
    }
    let read = 0;
    await this.streamWindow({ time: storedFrom }, through, rules, tFrom !== -Infinity ? { start: tFrom, end: tTo } : undefined, (events) => {
      if (this.rules.gen !== gen) return;
      read += events.length;
      for (const ev of events) {
        const t = ev.time!.ms;
        for (const r of ev.routes) {
          const list = feeds.get(r);
          if (list) {
            try {
              for (const f of list) if (t >= f.lo && t <= f.hi) f.run.push(ev);
            } catch (e) {
              fail(list[0]!.plan, e);
            }
          }
          const b = this.rebuilding?.rules.get(r);
          if (b && !heldAtStart!.has(ev.pos)) b.run.push(ev);
        }
      }
      if (events.length > 0) closePast(events[events.length - 1]!.time!.ms);
    });
    if (this.rules.gen !== gen || this.abort?.signal.aborted) return false;
    closePast(null);
    this.counts.repairs += g.length;
    this.opts.onRepair?.(g.length);
    const pending = this.rebuilding?.pushed?.positions.length ?? -1;
    if (this.rebuilding && !(await this.finishRebuilds(rules, failed, gen))) return false;
    if (DEBUG_HOLD) this.opts.log.info({ hold: 'repair', key, rules: g.length, read, pending, windows: g.reduce((a, p) => a + p.windows.length, 0), covered, ms: this.clock() - started }, 'hold');
    return true;
  }

  /** Per rule of `rules`: the positions of the events pushed on time whose results the stream left to a repair. */
  private againPositions(rules: Set<number>): Map<number, Set<number>> {
    const again = new Map<number, Set<number>>();
    for (const h of this.unrepaired) {
      if (!h.again) continue;
      for (const r of h.need!) {
        if (!rules.has(r)) continue;
        let set = again.get(r);
        if (!set) again.set(r, (set = new Set()));
        set.add(h.position);
      }
    }
    return again;
  }

  /** An on-time event pushed while stream states are rebuilt: pushed to the rebuilt ones too, after the read. */
  private notePushedWhileRebuilding(h: Held): void {
    const rb = this.rebuilding!;
    const p = rb.pushed;
    if (p === null || !h.routes.some((r) => rb.rules.has(r))) return;
    if (p.positions.length >= (p.docs ? REBUILD_PENDING_DOCS_MAX : REBUILD_PENDING_MAX)) {
      rb.pushed = null;
      return;
    }
    p.positions.push(h.position);
    p.routes.push(h.routes);
    // (With its position: a result holding it is alerted by the rebuild when the stream left it to a repair.)
    p.docs?.push({ ...h.ev, pos: h.position, routes: h.routes });
  }

  /**
   * The end of the rebuilds of a repair read: the events pushed to their rules meanwhile are
   * pushed to the new states too (read back from the log by position, until none came while they
   * were read; at most REBUILD_ROUNDS_MAX reads), and the new states take the live ones' place.
   * False: the generation changed or reading stopped.
   */
  private async finishRebuilds(rules: Set<number>, failed: Set<number>, gen: number): Promise<boolean> {
    const rb = this.rebuilding!;
    const feed = (ev: EventDoc, routes: readonly number[]) => {
      for (const r of routes) rb.rules.get(r)?.run.push(ev);
    };
    let done = 0;
    const reader = this.opts.reader;
    for (let round = 0; rb.pushed && done < rb.pushed.positions.length; round++) {
      const p = rb.pushed;
      // (The events pushed on time since, whose results the stream left to a repair, included.)
      rb.again = this.againPositions(rules);
      if (p.docs) {
        for (; done < p.docs.length; done++) feed(p.docs[done]!, p.routes[done]!);
        break;
      }
      if (round === REBUILD_ROUNDS_MAX) {
        rb.pushed = null;
        break;
      }
      const end = p.positions.length;
      const from = done;
      await reader.replayPositions!(p.positions.slice(from, end), (events) => {
        for (const e of events) {
          const k = p.positions.indexOf(e.position, done);
          if (k < 0 || k >= end) continue;
          done = k + 1;
          const ev = { source: e.source, index: e.index, id: e.id, pos: e.position } as RepairEvent;
          if (!stampEventTime(ev, '@timestamp')) continue;
          this.setNumberTexts(ev, e);
          feed(ev, p.routes[k]!);
        }
      }, { signal: this.abort!.signal, page: this.opts.repairPage ?? REPAIR_PAGE });
      if (this.rules.gen !== gen || this.abort?.signal.aborted) return false;
      done = end;
    }
    this.rebuilding = null;
    // Too many events came meanwhile: the rules stay with repairs for now (their live states as they were).
    if (rb.pushed === null) return true;
    // The on-time events pushed while the read went on, whose results the stream left to a
    // repair: the rebuilt state is the in-order one, so the results holding them were found
    // here, and those events need no repair of these rules any more.
    const again = rb.again;
    const cleared = new Set<number>();
    for (const [r, b] of rb.rules) {
      if (failed.has(r)) continue;
      b.run.commit();
      this.counts.rebuilds++;
      if (!b.late) {
        this.lateUntil[r] = -Infinity;
        cleared.add(r);
      }
    }
    if (cleared.size > 0 && [...again.keys()].some((r) => cleared.has(r))) {
      this.unrepaired = this.unrepaired.filter((h) => {
        if (!h.again) return true;
        const keep = h.need!.map((r) => !cleared.has(r));
        h.need = h.need!.filter((_, k) => keep[k]);
        h.wt = h.wt?.filter((_, k) => keep[k]);
        return h.need.length > 0;
      });
      this.repair = new Set();
      for (const h of this.unrepaired) for (const r of h.need!) this.repair.add(r);
    }
    return true;
  }

  /** What each repaired rule reads and runs, from the events its repair covers. */
  private repairPlans(rules: readonly number[], covered: readonly Held[]): RepairPlan[] {
    const plans: RepairPlan[] = [];
    for (const i of rules) {
      const prepared = this.rules.prepared[i];
      if (!prepared) continue;
      const rule = prepared.rule;
      const over = rule.timestamp_override;
      const kind: RepairPlan['kind'] = !over || over === '@timestamp' ? 'timestamp' : over === 'event.ingested' ? 'ingested' : 'other';
      const windowTime = this.windowTimes[i]!;
      let tLo = Infinity;
      let tHi = -Infinity;
      let wLo = Infinity;
      let wHi = -Infinity;
      let storedLo = Infinity;
      for (const h of covered) {
        if (!(h.need ?? h.routes).includes(i)) continue;
        if (h.t < tLo) tLo = h.t;
        if (h.t > tHi) tHi = h.t;
        if (h.storedAt < storedLo) storedLo = h.storedAt;
        const wt = h.wt ? h.wt[h.need!.indexOf(i)]! : windowTime(h.ev, h.t);
        if (wt === null) continue;
        // A multi-valued override's values ascend: the runs of its first and last cover the rest.
        const lo = typeof wt === 'number' ? wt : wt[0]!;
        const hi = typeof wt === 'number' ? wt : wt[wt.length - 1]!;
        if (Number.isNaN(lo)) continue;
        if (lo < wLo) wLo = lo;
        if (hi > wHi) wHi = hi;
      }
      if (wLo === Infinity) continue;
      const sched = new RuleSchedule(rule, { anchor: 0, firstRun: -Infinity });
      const first = sched.runsContaining(wLo).lo;
      let last = sched.runsContaining(wHi).hi;
      if (last - first + 1 > REPAIR_WINDOWS_MAX) {
        this.opts.log.warn({ partition: this.partition, rule: rule.rule_id, windows: last - first + 1 }, `detection: late events span more than ${REPAIR_WINDOWS_MAX} runs of the rule; the repair runs the first ${REPAIR_WINDOWS_MAX} (the scheduled runs cover the rule's current window)`);
        last = first + REPAIR_WINDOWS_MAX - 1;
      }
      const windows: RepairPlan['windows'] = [];
      for (let k = first; k <= last; k++) windows.push(sched.window(k));
      if (windows.length === 0) continue;
      const span = this.maxspan[i]!;
      // Event time (@timestamp) read: [oldest − maxspan, newest + maxspan] for a sequence with a
      // maxspan (a late event combines with events on either side, already pushed or not), cut to
      // the windows for a rule windowed by @timestamp; else its windows, or everything.
      const wStart = windows[0]!.start;
      const wEnd = windows[windows.length - 1]!.end;
      let runFrom = span > 0 ? tLo - span : -Infinity;
      let runTo = span > 0 ? tHi + span : Infinity;
      if (kind === 'timestamp') {
        runFrom = Math.max(runFrom, wStart);
        runTo = Math.min(runTo, wEnd);
      }
      // While the late events can combine with events to come (the same test lateUntil makes),
      // the stream's state of the rule is rebuilt after the repair: the read then also covers
      // every event from one late span before the newest pushed on, which that state needs.
      const lateSpan = this.ruleSpan[i]!;
      const rebuild = lateSpan > 0 && this.lastPushed !== -Infinity && tHi + lateSpan >= this.lastPushed;
      let readFrom = runFrom;
      let readTo = runTo;
      if (rebuild) {
        if (readFrom !== -Infinity) readFrom = Math.min(readFrom, this.lastPushed - lateSpan);
        readTo = Infinity;
      }
      // Store time read: events are stored after they happen (a minute of clock skew spared), and
      // never more than maxReplayMs before the oldest covered event was stored; by ingest time, the
      // windows themselves (and for a rebuild the last late span of store time).
      const floor = storedLo - this.opts.maxReplayMs;
      const wFrom = rebuild ? Math.min(wStart, this.lastRead.storedAt - lateSpan) : wStart;
      const storedFrom = kind === 'ingested' ? wFrom - WINDOW_READ_SLACK_MS : kind === 'timestamp' ? Math.max(readFrom - WINDOW_READ_SLACK_MS, floor) : readFrom !== -Infinity ? Math.max(readFrom - WINDOW_READ_SLACK_MS, floor) : floor;
      plans.push({ rule: i, kind, from: span > 0 ? tLo : -Infinity, runFrom, runTo, readFrom, readTo, rebuild, storedFrom, windows });
    }
    return plans;
  }

  /**
   * A router over just these rules (indexes into the generation's rules), kept for the next
   * repairs of the same rules: a repair reads its window again and must find the events its
   * rules can use, and routing each through the generation's router (every rule) costs many times
   * more than through one over the few rules repaired. A rule's routing does not depend on the
   * other rules, so both routers agree on these rules.
   */
  private routerFor(rules: readonly number[]): { router: RuleRouter; rules: number[] } {
    const sorted = [...rules].sort((a, b) => a - b);
    const key = sorted.join(',');
    let r = this.repairRouters.get(key);
    if (!r) {
      if (this.repairRouters.size >= MAX_REPAIR_ROUTERS) this.repairRouters.clear();
      r = { router: new RuleRouter(sorted.map((i) => this.rules.prepared[i]!)), rules: sorted };
      this.repairRouters.set(key, r);
    }
    return r;
  }

  /**
   * The events of the partition stored since `since` (through a position already read) that
   * these rules can use, in time order, handed to `onPage` a page at a time: read so from a log
   * that can (replaySorted), else read whole and sorted (a log without it: the cluster's).
   */
  private async streamWindow(since: LogStart, through: number, rules: Set<number>, eventTime: { start: number; end: number } | undefined, onPage: (events: RepairEvent[]) => void): Promise<void> {
    const sub = this.routerFor([...rules]);
    const take = (e: LogEvent, out: RepairEvent[]) => {
      const known = e.routed && e.routed.gen === this.rules.gen ? e.routed.routes : null;
      // Routed by ingest to none of these rules: skipped before `source` is touched (reading it
      // parses the stored document).
      let routes: readonly number[];
      if (known) {
        routes = known.filter((r) => rules.has(r));
        if (routes.length === 0) return;
      }
      const ev = { source: e.source, index: e.index, id: e.id, pos: e.position };
      routes ??= sub.router.route(ev).map((k) => sub.rules[k]!);
      if (routes.length === 0) return;
      // (The scope keeps or drops each rule alone: asking it about the repaired rules only is the same.)
      const mine = this.scope.rulesFor(ev, routes).filter((r) => rules.has(r));
      if (mine.length === 0) return;
      if (!stampEventTime(ev, '@timestamp')) return;
      this.setNumberTexts(ev, e);
      out.push({ ...ev, routes: mine });
    };
    const held = (n: number) => {
      if (n > this.counts.repairPeak) this.counts.repairPeak = n;
      this.opts.onRepairPage?.(n);
    };
    const signal = this.abort!.signal;
    const reader = this.opts.reader;
    const page = this.opts.repairPage ?? REPAIR_PAGE;
    if (reader.replaySorted) {
      const { split } = await reader.replaySorted(
        since,
        through,
        (events) => {
          held(events.length);
          const out: RepairEvent[] = [];
          for (const e of events) take(e, out);
          // A page ends where a millisecond does: sorted, it goes on from the last one.
          out.sort(byTime);
          onPage(out);
        },
        { signal, routedGen: this.rules.gen, eventTime, page },
      );
      if (split > 0) {
        this.counts.repairSplit += split;
        this.opts.onRepairSplit?.(split);
        this.opts.log.warn({ partition: this.partition, events: split, page }, 'detection: a millisecond held more events than a repair page; they were read over several pages, ordered by store position within it instead of by their sub-millisecond time');
      }
      return;
    }
    const all: RepairEvent[] = [];
    await reader.replay(since, through, (batch) => void batch.forEach((e) => take(e, all)), { signal, routedGen: this.rules.gen, eventTime });
    held(all.length);
    all.sort(byTime);
    for (let k = 0; k < all.length; k += page) onPage(all.slice(k, k + page));
  }

  // ---- acknowledgement -------------------------------------------------------------------------------

  /** Notes the store time of a pushed event under its second of event time. */
  private notePushed(h: Held): void {
    const sec = Math.floor(h.t / 1000);
    const cur = this.pushedStoredAt.get(sec);
    if (cur === undefined || h.storedAt < cur) this.pushedStoredAt.set(sec, h.storedAt);
  }

  /**
   * The earliest store time of a pushed event the state may still hold: events within the state
   * span before the newest event the checkpoint covers. That newest time is at least every late
   * event's time (one already pushed was newer, and was read before it), so the span is counted
   * from the oldest late event still unrepaired when there is one. Older seconds are forgotten.
   */
  private stateStoredFrom(): number | undefined {
    let newest = this.lastPushed;
    for (const h of this.unrepaired) if (h.t < newest) newest = h.t;
    for (const h of this.inRepair) if (h.t < newest) newest = h.t;
    const first = Math.floor((newest - this.span) / 1000) - 1;
    let min: number | undefined;
    for (const [sec, at] of this.pushedStoredAt) {
      if (sec < first) this.pushedStoredAt.delete(sec);
      else if (min === undefined || at < min) min = at;
    }
    return min;
  }

  /** The last position everything up to which is done. */
  private safePoint(): Checkpoint {
    let c = this.held.length > 0 ? this.held[0]!.prev : this.lastRead;
    for (const h of this.unrepaired) if (h.prev.position < c.position) c = h.prev;
    for (const h of this.inRepair) if (h.prev.position < c.position) c = h.prev;
    return c;
  }

  private acking = false;

  /** Acknowledges the safe point once the alert writes started so far are durable. */
  private async checkpoint(final = false): Promise<void> {
    if (this.acking && !final) return;
    this.acking = true;
    try {
      // An alert write failed for good: never move past it (the next reader redoes it).
      if (this.writeError) return;
      const safe = this.safePoint();
      // Never move the checkpoint before the end of the silent replay's range (that range is done).
      if (safe.position <= (this.acked?.position ?? 0)) return;
      const stateFrom = this.stateStoredFrom();
      const c: Checkpoint = stateFrom !== undefined && stateFrom < safe.storedAt ? { position: safe.position, storedAt: safe.storedAt, stateFrom } : { position: safe.position, storedAt: safe.storedAt };
      await Promise.all([...this.pending]);
      if (this.writeError) return;
      await this.opts.reader.ack(c);
      this.acked = c;
    } catch (e) {
      if (e instanceof FencedError) {
        this.state = 'fenced';
        this.opts.log.warn({ partition: this.partition }, 'detection: another reader took the partition over (fenced); stopping');
        this.halt();
        this.opts.onStopped?.('fenced', e);
        return;
      }
      if (final) throw e;
      this.opts.log.warn({ partition: this.partition, err: (e as Error).message }, 'detection: acknowledgement failed; retrying');
    } finally {
      this.acking = false;
    }
  }

  /** Pushes everything held and waits for the alert writes (tests, shutdown of a single node). */
  async drain(): Promise<void> {
    this.release(true);
    while (this.repairing || this.repair.size > 0) {
      if (!this.repairing) void this.runRepairs();
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all([...this.pending]);
  }
}

/**
 * A sequence rule's maxspan, when the sequence is ordered by @timestamp (the time repairs read by);
 * 0 for any other rule.
 */
export function maxspanMs(rule: Rule): number {
  if (ruleTimestampField(rule) !== undefined && ruleTimestampField(rule) !== '@timestamp') return 0;
  try {
    const q = parse(rule.query ?? '').query;
    return q.kind === 'sequence' && q.maxspan ? q.maxspan.millis : 0;
  } catch {
    return 0;
  }
}

/** A rule's window time of an event ordered at `t` (@timestamp): its timestamp_override, with the fallback. */
function windowTimeOf(rule: Rule): (ev: EventDoc, t: number) => number | readonly number[] | null {
  const over = rule.timestamp_override;
  if (!over || over === '@timestamp') return (_ev, t) => t;
  const get = fieldAccessor(over);
  const fallback = rule.timestamp_override_fallback_disabled !== true;
  return (ev, t) => {
    // As the hunt's windows (detect/engine.ts): no time there, or one the date field ignores as
    // malformed, falls back to @timestamp; a number is read from its text (setNumberTexts), every
    // value of a multi-valued field counting. (event.ingested is serve's own, an ISO string.)
    const w = overrideTimes(get(ev.source), ev.numberTexts?.[over]);
    if (w !== null) return w;
    return fallback ? t : null;
  };
}

/** Whether a result holds an event read back at one of these store positions (repair reads carry `pos`). */
function holdsAny(r: QueryResult, positions: Set<number> | undefined): boolean {
  if (!positions) return false;
  if (r.kind === 'event') return positions.has((r.event as { pos?: number }).pos ?? -1);
  for (const e of r.events) if (e && positions.has((e as { pos?: number }).pos ?? -1)) return true;
  return false;
}

/** The time of a result's last event (its completion), in ms. */
function endsAt(r: QueryResult): number {
  if (r.kind === 'event') return r.event.time?.ms ?? -Infinity;
  for (let i = r.events.length - 1; i >= 0; i--) {
    const t = r.events[i]?.time?.ms;
    if (t !== undefined) return t;
  }
  return -Infinity;
}

/** Order of repair reads: time, then store position. */
function byTime(a: EventDoc & { pos: number }, b: EventDoc & { pos: number }): number {
  return a.time!.ms - b.time!.ms || a.time!.ns - b.time!.ns || a.pos - b.pos;
}

/** A rule's look-back (to − from); 0 when its schedule cannot be read. */
function lookbackMs(rule: Rule): number {
  try {
    const w = new RuleSchedule(rule, { anchor: 0 }).windowAt(0);
    return w.end - w.start;
  } catch {
    return 0;
  }
}

/**
 * Whether a rule's results in stream mode are the same whatever order its events come in: one
 * event query without pipes alerts each matching event on its own (alert ids depend on the event,
 * not on when it came). Sequences and samples keep state across events, and pipes (`head`,
 * `tail`, `unique`, …) depend on order.
 */
export function orderFree(p: PreparedRule): boolean {
  if (p.query.type !== 'event') return false;
  try {
    return parse(p.rule.query ?? '').pipes.length === 0;
  } catch {
    return false;
  }
}

/**
 * How long, in event time, an event can combine with later ones in a rule that depends on order
 * (see orderFree): a sequence's maxspan; sequences without one, samples and piped event queries
 * keep state for their whole look-back (to − from).
 */
export function lateSpanMs(rule: Rule): number {
  try {
    return spanOf(rule, parse(rule.query ?? '').query);
  } catch {
    return 0;
  }
}

/** lateSpanMs of a rule whose query is parsed. */
function spanOf(rule: Rule, q: Query): number {
  return q.kind === 'sequence' && q.maxspan ? q.maxspan.millis : lookbackMs(rule);
}

/**
 * How far back state must be rebuilt: 2 × the longest span (lateSpanMs) of the stateful rules
 * (sequences and samples; event queries keep no state across events), at most `cap`.
 */
export function stateSpanMs(rules: readonly Rule[], cap: number): number {
  let span = 0;
  for (const rule of rules) {
    let q: Query;
    try {
      q = parse(rule.query ?? '').query;
    } catch {
      continue;
    }
    if (q.kind !== 'event') span = Math.max(span, 2 * spanOf(rule, q));
  }
  return Math.min(span, cap);
}

/**
 * The store time a takeover's silent replay starts from: the checkpoint's minus the state span,
 * or earlier when the previous reader's state held an event stored before that (less the reorder
 * hold, as store clocks of cluster servers differ), but never more than `cap` before the checkpoint.
 */
export function replayStart(ckpt: Checkpoint, span: number, reorderMs: number, cap: number): number {
  let t = ckpt.storedAt - span;
  if (ckpt.stateFrom !== undefined) t = Math.min(t, ckpt.stateFrom - reorderMs);
  return Math.max(t, ckpt.storedAt - cap);
}
