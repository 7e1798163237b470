// The sequence state machine, as Elasticsearch's SequenceMatcher behaves, run event by event:
// for each (stage, join key) only the newest pending sequence can advance (older ones would be
// trimmed by ES), an event is tried against stages from last to first, maxspan is inclusive,
// `until` kills a pending sequence when an until-event with its key falls after its last event,
// and missing-event terms are checked after the positive terms complete (TumblingWindow's
// post-check). State is pruned as maxspan expires, so memory follows live partial sequences.
import type { EventDoc } from '../events/types.js';
import type { Instant } from '../events/time.js';
import type { PredicateFn, ValueFn } from './expr.js';
import type { TermAnswers } from './types.js';
import { encodeKeyValue } from './values.js';
import { joinKeys, keysOfValues, KeyCuts, type JoinKey } from './join-keys.js';

export interface StageSpec {
  /** Category check and condition together. */
  filter: (ev: EventDoc) => boolean;
  /** Query-level keys then the term's own keys. */
  keys: ValueFn[];
  /** Per key: null allowed (`?field`). */
  keyOptional: boolean[];
  /** The key expressions as written, for reports. */
  keyNames: string[];
  missing: boolean;
  /** The filter's bit in TermAnswers.mask (absent: the stage is never answered ahead). */
  bit?: number;
}

export interface SequenceSpec {
  stages: StageSpec[];
  until: StageSpec | null;
  maxspanMs: number | null;
  /**
   * The timestamp field is a `date_nanos`: maxspan counts the digits below the millisecond. A
   * `date` field holds milliseconds, so events 5,000.9 ms apart are 5,000 ms apart (maxspan=5s).
   */
  nanos?: boolean;
  /** The event's time (null when it has none). */
  time: (ev: EventDoc) => Instant | null;
  /** Observer of partial sequences (`eqlite explain`); absent in normal runs. */
  trace?: SequenceTrace;
  /**
   * Told each term (positive, missing-event or until) an event passed, with its time and join keys, as the matcher
   * computes them (sequence-paged.ts replays ES's paging from these); `stage` is -1 for until. May answer false
   * for a positive stage after the first when it knows that no first-stage event with one of the keys came within
   * maxspan before this one: no partial sequence of these keys can then take the event (any waiting one would
   * exceed maxspan), and the matcher skips looking them up.
   */
  onTerm?: (stage: number, ev: EventDoc, ts: Instant, keys: JoinKey[]) => boolean;
}

/**
 * What happened to partial sequences, told as it happens (src/explain builds its account of why a
 * rule did not fire from this). `k` indexes the positive stages; keys are encoded as in the state.
 */
export interface SequenceTrace {
  /** Stage k took the event: a partial sequence of k+1 events now exists for `key`. */
  advanced(k: number, key: string, keyValues: unknown[], events: readonly EventDoc[], times: readonly number[]): void;
  /** A newer partial sequence for `key` replaced the one that waited after stage k. */
  replaced(k: number, key: string, events: readonly EventDoc[]): void;
  /** The event passed stage k (k ≥ 1), but no partial sequence with its key waited for it. */
  unmatched(k: number, key: string, keyValues: unknown[], ev: EventDoc, ms: number): void;
  /** The partial sequence waiting for stage k is dropped: the stage-k event came `overMs` after maxspan. */
  expired(k: number, key: string, events: readonly EventDoc[], ev: EventDoc, overMs: number): void;
  /** The partial sequence waiting for stage k is dropped: an until event (at `untilMs`) ended it. */
  untilKilled(k: number, key: string, events: readonly EventDoc[], ev: EventDoc, untilMs: number): void;
  /** A complete sequence was rejected by a missing-event (`![…]`) term. */
  rejectedByMissing(key: string, keyValues: unknown[], events: readonly EventDoc[]): void;
}

interface Pending {
  events: EventDoc[];
  startMs: number;
  startNs: number;
  /** Millisecond timestamps of the positive events. */
  times: number[];
  lastOrdinal: number;
  keyValues: unknown[];
}

interface Candidate {
  seq: Pending;
  key: string;
  /** Ordinal of the completing event: the output order. */
  ordinal: number;
  state: 'waiting' | 'keep' | 'drop';
  /** Trailing missing check: the latest time after which the decision is known. */
  deadlineMs: number;
  leadingMs: number | null;
}

export interface SequenceMatch {
  keyValues: unknown[];
  /** One per stage; null for missing-event terms. */
  events: (EventDoc | null)[];
}

/**
 * Join keys of an event for a stage (see join-keys.ts: the Cartesian product of multi-valued keys,
 * bounded per event); for callers outside a run, such as `explain`, which report no cuts.
 */
export function stageKeys(stage: StageSpec, src: Record<string, unknown>): JoinKey[] | null {
  return joinKeys(stage, { source: src, index: '', id: '' }, encodeKeyValue, new KeyCuts());
}

/**
 * The join keys of a term's answered key values (TermAnswers.keys), made once per event for all
 * the runs that take it: a rule's overlapping windows (each a run of its own) are handed the same
 * TermAnswers one after the other, and shared keys are also one string to hash — every run looks
 * its key up in maps, and a key of several fields is a concatenation that the first look-up must
 * flatten and hash. The keys and their values are read, never changed, by the runs.
 */
let lastAnswered: unknown[] | null = null;
let lastAnsweredKeys: JoinKey[] = [];
function keysOfAnswer(values: unknown[]): JoinKey[] {
  if (values !== lastAnswered) {
    lastAnsweredKeys = keysOfValues(values, encodeKeyValue);
    lastAnswered = values;
  }
  return lastAnsweredKeys;
}

export class SequenceMatcher {
  private readonly positives: number[] = [];
  /** pending[k]: sequences whose last matched positive stage is k (index into positives). */
  private readonly pending: Map<string, Pending>[] = [];
  private readonly untilLatest = new Map<string, { ordinal: number; ms: number }>();
  /** Per missing stage: key → ascending millisecond timestamps of matching events. */
  private readonly missingHistory: Map<string, number[]>[] = [];
  private readonly missingIndexes: number[] = [];
  private readonly leading: number[] = [];
  private readonly trailing: number[] = [];
  /** Per stage: whether it is a missing-event term after the last positive one. */
  private readonly isTrailing: boolean[] = [];
  /** For each gap between positives i and i+1: the missing stages lying in it. */
  private readonly between: number[][] = [];
  private readonly candidates: Candidate[] = [];
  private ordinal = 0;
  private nowMs = -Infinity;
  private sinceSweep = 0;
  /** Key combinations left out (see join-keys.ts). */
  readonly cuts = new KeyCuts();
  /** The current event's keys per stage spec (a term with `runs = N` is N stages with one spec). */
  private keysFor: StageSpec | null = null;
  private keysMemo: JoinKey[] | null = null;
  /** The current event's TermAnswers, when the caller gave them. */
  private answers: TermAnswers | undefined;

  constructor(
    private readonly spec: SequenceSpec,
    private readonly emit: (m: SequenceMatch) => void,
  ) {
    spec.stages.forEach((s, i) => {
      if (s.missing) this.missingIndexes.push(i);
      else this.positives.push(i);
    });
    for (let k = 0; k < this.positives.length; k++) this.pending.push(new Map());
    for (let i = 0; i < spec.stages.length; i++) this.missingHistory.push(new Map());
    const first = this.positives[0]!;
    const last = this.positives[this.positives.length - 1]!;
    for (const m of this.missingIndexes) {
      if (m < first) this.leading.push(m);
      else if (m > last) this.trailing.push(m);
    }
    for (let i = 0; i < spec.stages.length; i++) this.isTrailing.push(this.trailing.includes(i));
    for (let k = 0; k + 1 < this.positives.length; k++) {
      const a = this.positives[k]!;
      const b = this.positives[k + 1]!;
      this.between.push(this.missingIndexes.filter((m) => m > a && m < b));
    }
  }

  /** Number of live partial sequences (for memory accounting and tests). */
  get liveSequences(): number {
    let n = 0;
    for (const m of this.pending) n += m.size;
    return n;
  }

  private curEvent: EventDoc | null = null;
  private curTime: Instant | null | undefined;

  /** The current event's time, read at most once per event and only when something needs it. */
  private time(): Instant | null {
    if (this.curTime === undefined) this.curTime = this.spec.time(this.curEvent!);
    return this.curTime;
  }

  private stageKeys(stage: StageSpec): JoinKey[] | null {
    if (stage !== this.keysFor) {
      this.keysFor = stage;
      const given = this.answers !== undefined && stage.bit !== undefined ? this.answers.keys?.[stage.bit] : undefined;
      this.keysMemo = given === undefined ? joinKeys(stage, this.curEvent!, encodeKeyValue, this.cuts) : given === null ? null : keysOfAnswer(given);
    }
    return this.keysMemo;
  }

  /** Whether the current event passes the stage's filter (answered ahead when it can be). */
  private passes(stage: StageSpec, ev: EventDoc): boolean {
    const a = this.answers;
    const bit = stage.bit;
    return a !== undefined && bit !== undefined ? ((a.mask >>> bit) & 1) === 1 : stage.filter(ev);
  }

  push(ev: EventDoc, answers?: TermAnswers): void {
    const ord = ++this.ordinal;
    const stages = this.spec.stages;
    this.curEvent = ev;
    this.curTime = undefined;
    this.keysFor = null;
    this.answers = answers;

    for (const m of this.missingIndexes) {
      const stage = stages[m]!;
      if (!this.passes(stage, ev)) continue;
      const ts = this.time();
      if (!ts) continue;
      const keys = this.stageKeys(stage);
      if (!keys) continue;
      this.spec.onTerm?.(m, ev, ts, keys);
      if (this.isTrailing[m]) {
        // A trailing term's events only decide waiting candidates; complete() never reads their
        // history (only in-between and leading terms'), so none is kept — a trailing term such as
        // "telemetry of any kind" matches most events.
        if (this.candidates.length > 0) for (const k of keys) this.onTrailingEvent(k.key, ts.ms);
        continue;
      }
      const hist = this.missingHistory[m]!;
      for (const k of keys) {
        const list = hist.get(k.key);
        if (list) list.push(ts.ms);
        else hist.set(k.key, [ts.ms]);
      }
    }

    for (let k = this.positives.length - 1; k >= 0; k--) {
      const stage = stages[this.positives[k]!]!;
      if (!this.passes(stage, ev)) continue;
      const ts = this.time();
      if (!ts) continue;
      const keys = this.stageKeys(stage);
      if (!keys) continue;
      const continuable = this.spec.onTerm?.(this.positives[k]!, ev, ts, keys);
      const trace = this.spec.trace;
      // A waiting sequence that would take the event exceeds maxspan and is dropped when looked
      // up; left unread, it is replaced by its key's next first-stage event or swept, with the same
      // outcome. (A trace reports the expiry, so it looks.)
      if (continuable === false && k > 0 && trace === undefined) continue;
      for (const key of keys) {
        if (k === 0) {
          const seq: Pending = { events: [ev], startMs: ts.ms, startNs: ts.ns, times: [ts.ms], lastOrdinal: ord, keyValues: key.values };
          if (trace) this.traceAdvance(trace, 0, key.key, seq);
          if (this.positives.length === 1) this.complete(seq, key.key, ord);
          else this.pending[0]!.set(key.key, seq);
          continue;
        }
        const prev = this.pending[k - 1]!;
        const seq = prev.get(key.key);
        if (!seq) {
          trace?.unmatched(k, key.key, key.values, ev, ts.ms);
          continue;
        }
        prev.delete(key.key);
        if (this.spec.maxspanMs !== null && exceeds(ts, seq, this.spec.maxspanMs, this.spec.nanos === true)) {
          trace?.expired(k, key.key, seq.events, ev, ts.ms - seq.startMs - this.spec.maxspanMs);
          continue;
        }
        const u = this.untilLatest.get(key.key);
        if (u && u.ordinal >= seq.lastOrdinal) {
          trace?.untilKilled(k, key.key, seq.events, ev, u.ms);
          continue;
        }
        const next: Pending = {
          events: [...seq.events, ev],
          startMs: seq.startMs,
          startNs: seq.startNs,
          times: [...seq.times, ts.ms],
          lastOrdinal: ord,
          keyValues: seq.keyValues,
        };
        if (trace) this.traceAdvance(trace, k, key.key, next);
        if (k === this.positives.length - 1) this.complete(next, key.key, ord);
        else this.pending[k]!.set(key.key, next);
      }
    }

    // Until events are recorded after the stages: ES looks for the nearest until event strictly
    // before the current one, and kills the sequence when it is at or after the sequence's last
    // event (Ordinal.between is inclusive), so an until event that is also a sequence's last event
    // ends it.
    const until = this.spec.until;
    if (until && this.passes(until, ev)) {
      const ts = this.time();
      const keys = ts ? this.stageKeys(until) : null;
      if (keys && ts) {
        this.spec.onTerm?.(-1, ev, ts, keys);
        for (const k of keys) this.untilLatest.set(k.key, { ordinal: ord, ms: ts.ms });
      }
    }

    // The clock only matters for waiting missing-event checks and for pruning, so events that
    // matched nothing do not pay for reading their time.
    const sweepDue = ++this.sinceSweep >= 4096;
    if (sweepDue || this.candidates.length > 0 || this.curTime !== undefined) {
      const ts = this.time();
      if (ts && ts.ms > this.nowMs) {
        this.nowMs = ts.ms;
        if (this.candidates.length > 0) this.resolveByTime();
      }
    }
    if (sweepDue) {
      this.sinceSweep = 0;
      this.sweep();
    }
  }

  private traceAdvance(trace: SequenceTrace, k: number, key: string, seq: Pending): void {
    const waiting = k < this.positives.length - 1 ? this.pending[k]!.get(key) : undefined;
    if (waiting) trace.replaced(k, key, waiting.events);
    trace.advanced(k, key, seq.keyValues, seq.events, seq.times);
  }

  /** End of input: every waiting candidate is decided (no trailing event can come any more). */
  finish(): void {
    for (const c of this.candidates) if (c.state === 'waiting') c.state = 'keep';
    this.release();
  }

  private complete(seq: Pending, key: string, ord: number): void {
    if (this.missingIndexes.length === 0) {
      this.emit(this.toMatch(seq));
      return;
    }
    const maxspan = this.spec.maxspanMs ?? Infinity;
    // In-between terms: any such event strictly between the two positive events rejects.
    for (let g = 0; g < this.between.length; g++) {
      for (const m of this.between[g]!) {
        const list = this.missingHistory[m]!.get(key);
        if (list && list.some((t) => t > seq.times[g]! && t < seq.times[g + 1]!)) {
          this.spec.trace?.rejectedByMissing(key, seq.keyValues, seq.events);
          return;
        }
      }
    }
    let leadingMs: number | null = null;
    for (const m of this.leading) {
      const list = this.missingHistory[m]!.get(key);
      if (!list) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i]! < seq.startMs) {
          if (leadingMs === null || list[i]! > leadingMs) leadingMs = list[i]!;
          break;
        }
      }
    }
    const lastMs = seq.times[seq.times.length - 1]!;
    const cand: Candidate = { seq, key, ordinal: ord, state: 'waiting', deadlineMs: Infinity, leadingMs };
    if (this.trailing.length === 0) {
      cand.state = leadingMs === null || lastMs - leadingMs > maxspan ? 'keep' : 'drop';
    } else if (this.leading.length > 0 && leadingMs === null) {
      cand.state = 'keep';
    } else {
      // Wait for the earliest trailing event T: the sequence survives if there is none in time.
      const anchor = this.leading.length > 0 ? leadingMs! : seq.startMs;
      cand.deadlineMs = anchor + maxspan;
    }
    this.candidates.push(cand);
    this.release();
  }

  private onTrailingEvent(key: string, ms: number): void {
    let changed = false;
    for (const c of this.candidates) {
      if (c.state !== 'waiting' || c.key !== key) continue;
      const lastMs = c.seq.times[c.seq.times.length - 1]!;
      if (ms <= lastMs) continue;
      // The earliest trailing event decides: beyond the deadline keeps, within it drops.
      c.state = ms > c.deadlineMs ? 'keep' : 'drop';
      changed = true;
    }
    if (changed) this.release();
  }

  private resolveByTime(): void {
    let changed = false;
    for (const c of this.candidates) {
      if (c.state === 'waiting' && this.nowMs > c.deadlineMs) {
        c.state = 'keep';
        changed = true;
      }
    }
    if (changed) this.release();
  }

  /** Emits decided candidates in completion order; a waiting one holds back those after it. */
  private release(): void {
    let i = 0;
    while (i < this.candidates.length && this.candidates[i]!.state !== 'waiting') {
      const c = this.candidates[i]!;
      if (c.state === 'keep') this.emit(this.toMatch(c.seq));
      else this.spec.trace?.rejectedByMissing(c.key, c.seq.keyValues, c.seq.events);
      i++;
    }
    if (i > 0) this.candidates.splice(0, i);
  }

  private toMatch(seq: Pending): SequenceMatch {
    const events: (EventDoc | null)[] = [];
    let p = 0;
    for (const s of this.spec.stages) events.push(s.missing ? null : seq.events[p++]!);
    return { keyValues: seq.keyValues, events };
  }

  /** Drops state that can no longer matter once maxspan has passed. */
  private sweep(): void {
    const maxspan = this.spec.maxspanMs;
    if (maxspan === null) return;
    const horizon = this.nowMs - maxspan;
    for (const m of this.pending) {
      for (const [k, seq] of m) if (seq.startMs < horizon) m.delete(k);
    }
    for (const [k, u] of this.untilLatest) if (u.ms < horizon) this.untilLatest.delete(k);
    const histHorizon = this.nowMs - 2 * maxspan;
    for (const hist of this.missingHistory) {
      for (const [k, list] of hist) {
        let drop = 0;
        while (drop < list.length && list[drop]! < histHorizon) drop++;
        if (drop === list.length) hist.delete(k);
        else if (drop > 0) list.splice(0, drop);
      }
    }
  }
}

function exceeds(ts: Instant, seq: Pending, maxspanMs: number, nanos: boolean): boolean {
  const d = ts.ms - seq.startMs;
  return d > maxspanMs || (nanos && d === maxspanMs && ts.ns > seq.startNs);
}

export type { PredicateFn };
