// Which sequences Elasticsearch returns when a sequence query keeps the LAST N (`result_position:
// tail`, the default, so every Kibana rule run that reaches max_signals): ES does not find all
// sequences and keep the last N. Its TumblingWindow reads the first stage's events backwards in
// pages of `fetch_size`, pairs each page with the later stages read forwards, and stops as soon as
// a page of results leaves it holding N completed sequences. Which sequences exist at that moment
// depends on the paging, so this module replays that executor over the run's buffered events:
//
//   * round r takes page P_r: the fetch_size newest first-stage events not read yet; in-flight
//     sequences are cleared (SequenceMatcher.trim(null)) and P_r's events start new ones;
//   * the second stage is then read forwards from the oldest event of P_r in pages of fetch_size,
//     filtered to the join keys that have in-flight sequences when the page is requested (the
//     StageToKeys set, which only shrinks when a key's group empties by a match, so keys of earlier
//     rounds stay in it); later stages are boxed into the window of the stage before, as in the
//     ascending executor (secondaryCriterion, rebaseWindow, tumbleWindow with trimToTail);
//   * a stage event advances the newest in-flight sequence of its key that is older than it and
//     drops the older ones (SequenceGroup.trimBefore); maxspan and `until` reject as in
//     SequenceMatcher.match;
//   * completed sequences are a set ordered by their last event (Sequence.compareTo), so the same
//     sequence found again in a later round counts once (several keys completed by one event, as
//     multi-valued keys give, stay apart: ES's QA suite expects them all); after every page
//     matched, ES stops when the set holds N or more (tailLimitReached) and returns its last N
//     (Limit.view).
// Ordinals are positions in the run's order (timestamp, tiebreaker, input order); ES's range
// bounds compare timestamps only, which can put events of equal timestamp on other pages.
// The HEAD direction needs no replay: ES stops at the N-th completion in ascending order, which
// is what streaming gives (src/engine/sequence.ts).
import type { EventDoc } from '../events/types.js';
import type { Instant } from '../events/time.js';
import type { JoinKey } from './join-keys.js';
import type { SequenceMatch, SequenceSpec } from './sequence.js';

/** Elasticsearch's default `fetch_size`. */
export const DEFAULT_FETCH_SIZE = 1000;
/** Events a run buffers for the replay at most; past it, the streaming selection is used. */
export const MAX_PAGED_EVENTS = 1_000_000;
/**
 * Events all live runs of the process buffer together at most (a hunt runs hundreds of rules at
 * once); a run that would pass it gives up its buffer the same way.
 */
export const MAX_PAGED_EVENTS_TOTAL = 2_000_000;
let liveBuffered = 0;
/** Event visits the replay may make (each round rereads later stages); past it, streaming is used. */
export const MAX_PAGED_WORK = 50_000_000;

interface Rec {
  ev: EventDoc;
  ord: number;
  ms: number;
  ns: number;
}

interface Hit {
  rec: Rec;
  keys: JoinKey[];
}

interface Seq {
  key: string;
  values: unknown[];
  events: Rec[];
  /** Ordinal of the last matched event. */
  last: number;
}

interface Entry {
  /** Per stage below the last: in-flight sequences in insertion (ascending) order; null = none. */
  groups: (Seq[] | null)[];
  until: number[] | null;
}

interface Request {
  from: number | null;
  after: number | null;
  to: number | null;
  keys: Set<string> | null;
}

interface Window {
  base: number;
  begin: number;
  end: number;
}

type Action = (() => Action) | null;

/** Buffers a run's events and replays ES's descending sequence executor at the end. */
export class PagedTailSequences {
  private readonly hits: Hit[][] = [];
  private readonly untilHits: Hit[] = [];
  private ordinal = 0;
  private buffered = 0;
  private lastEvent: EventDoc | null = null;
  private lastRec: Rec | null = null;
  /** Set when the run outgrew what the replay may hold; the caller then keeps streaming's answer. */
  overflow: string | null = null;

  constructor(
    private readonly spec: SequenceSpec,
    /** N: the tail size. */
    private readonly limit: number,
    private readonly fetchSize: number = DEFAULT_FETCH_SIZE,
  ) {
    for (let i = 0; i < spec.stages.length; i++) this.hits.push([]);
  }

  /** Whether a query can be replayed: only positive terms (missing-event checks are not paged here). */
  static supports(spec: SequenceSpec): boolean {
    return spec.stages.every((s) => !s.missing);
  }

  /**
   * SequenceSpec.onTerm: the streaming matcher tells each term an event passed, with its time and
   * join keys (stage -1 is until), so terms are evaluated once for both.
   */
  readonly onTerm = (stage: number, ev: EventDoc, ts: Instant, keys: JoinKey[]): void => {
    if (this.overflow) return;
    if (ev !== this.lastEvent) {
      this.lastEvent = ev;
      this.lastRec = { ev, ord: this.ordinal++, ms: ts.ms, ns: ts.ns };
      this.buffered++;
      liveBuffered++;
      if (this.buffered > MAX_PAGED_EVENTS) {
        this.dropBuffer(`more than ${MAX_PAGED_EVENTS.toLocaleString('en-US')} events matched its terms`);
        return;
      }
      if (liveBuffered > MAX_PAGED_EVENTS_TOTAL) {
        this.dropBuffer(`the runs in progress held more than ${MAX_PAGED_EVENTS_TOTAL.toLocaleString('en-US')} events together`);
        return;
      }
    }
    const hit: Hit = { rec: this.lastRec!, keys };
    if (stage < 0) this.untilHits.push(hit);
    else this.hits[stage]!.push(hit);
  };

  private dropBuffer(why: string): void {
    this.overflow = why;
    this.release();
  }

  /** Gives the buffer back (after the result, or when giving up). */
  private release(): void {
    for (const h of this.hits) h.length = 0;
    this.untilHits.length = 0;
    this.lastEvent = null;
    this.lastRec = null;
    liveBuffered -= this.buffered;
    this.buffered = 0;
  }

  /**
   * Whether paging can change the answer: when every term matched fewer events than a page, each
   * of ES's searches returns everything in one page, the executor completes every sequence the
   * streaming matcher finds before it looks at the limit, and the last N are the same.
   */
  get pagingMatters(): boolean {
    if (PagedTailSequences.alwaysReplay) return true;
    return this.hits.some((h) => h.length >= this.fetchSize) || this.untilHits.length >= this.fetchSize;
  }

  /** Tests: replay even where paging cannot matter, to check the replay against streaming there. */
  static alwaysReplay = false;

  /** The sequences ES returns, oldest last event first; null when the replay gave up (see overflow). */
  result(): SequenceMatch[] | null {
    if (this.overflow) return null;
    if (!this.pagingMatters) {
      this.release();
      return null;
    }
    const replay = new Replay(this.spec, this.hits, this.untilHits, this.limit, this.fetchSize);
    const seqs = replay.run();
    this.release();
    if (!seqs) {
      this.overflow = `replaying Elasticsearch's paging took more than ${MAX_PAGED_WORK.toLocaleString('en-US')} steps`;
      return null;
    }
    return seqs.map((s) => ({ keyValues: s.values, events: s.events.map((r) => r.ev) }));
  }
}

/** One replay of TumblingWindow + SequenceMatcher for a descending (tail) sequence. */
class Replay {
  private readonly n: number;
  private readonly req: Request[];
  private readonly untilReq: Request;
  private readonly entries = new Map<string, Entry>();
  /** StageToKeys: keys with in-flight sequences per stage (see the module comment). */
  private readonly stageKeys: Set<string>[] = [];
  /** Completed sequences by last event and key, in completion order. */
  private readonly completed = new Map<string, Seq>();
  private readonly hasKeys: boolean;
  private restart = true;
  private work = 0;

  constructor(
    private readonly spec: SequenceSpec,
    private readonly hits: Hit[][],
    private readonly untilHits: Hit[],
    private readonly limit: number,
    private readonly fetch: number,
  ) {
    this.n = spec.stages.length;
    this.req = spec.stages.map(() => ({ from: null, after: null, to: null, keys: null }));
    this.untilReq = { from: null, after: null, to: null, keys: null };
    for (let i = 0; i < this.n - 1; i++) this.stageKeys.push(new Set());
    this.hasKeys = spec.stages[0]!.keys.length > 0;
  }

  run(): Seq[] | null {
    if (this.limit <= 0) return [];
    let next: Action = () => this.tumbleWindow(0);
    while (next) {
      if (this.work > MAX_PAGED_WORK) return null;
      next = next();
    }
    const all = [...this.completed.values()].sort((a, b) => a.last - b.last);
    return all.slice(Math.max(0, all.length - this.limit));
  }

  // ---- the executor (TumblingWindow), each step returning the next one

  /** The end: ES answers with what it has completed. */
  private payload(): Action {
    return null;
  }

  private tumbleWindow(stage: number): Action {
    if (stage > 0 && !this.hasCandidates(0)) {
      if (!this.restart) return this.payload();
      stage = 0;
    }
    if (this.restart) {
      if (stage === 0) this.entries.clear();
    } else {
      const marker = this.req[stage]!.after;
      if (marker !== null) this.trimToTail(marker);
    }
    return () => this.advance(stage);
  }

  private advance(stage: number): Action {
    const r = this.req[stage]!;
    r.to = null;
    if (this.hasKeys) this.keyConstraints(stage - 1, r);
    const hits = stage === 0 ? this.queryDescending() : this.query(this.hits[stage]!, r);
    return () => this.baseCriterion(stage, hits);
  }

  private baseCriterion(stage: number, hits: Hit[]): Action {
    let info: Window | null = null;
    if (hits.length > 0) {
      info = { base: stage, begin: hits[0]!.rec.ord, end: hits[hits.length - 1]!.rec.ord };
      this.req[stage]!.after = info.end;
      if (this.spec.until && stage > 0) {
        const w = info;
        return this.untilCriterion(w, () => this.completeBase(stage, hits, w));
      }
    }
    return this.completeBase(stage, hits, info);
  }

  private completeBase(stage: number, hits: Hit[], info: Window | null): Action {
    // The descending first page is matched in ascending order (wrapValues reverses it).
    if (!this.match(stage, stage === 0 ? [...hits].reverse() : hits)) return this.payload();
    const next = stage + 1 < this.n ? stage + 1 : -1;
    const windowCompleted = hits.length < this.fetch;
    if (next > 0) {
      const descending = stage === 0;
      let then: Action;
      if (info) {
        if (descending) this.setupWindowFromTail(info.end);
        else this.boxQuery(info, this.req[next]!, false);
      }
      if (windowCompleted) {
        if (descending) {
          if (!info) return this.payload();
          this.restart = false;
          then = () => this.advance(1);
        } else if (this.hasCandidates(next - 1)) {
          then = () => this.advance(next);
        } else if (!this.restart) {
          return this.payload();
        } else {
          then = () => this.tumbleWindow(0);
        }
      } else if (descending) {
        then = () => this.advance(1);
      } else {
        const w = info!;
        then = () => this.secondaryCriterion(w, next);
      }
      if (this.spec.until && info && info.base === 0) return this.untilCriterion(info, then);
      return then;
    }
    if (windowCompleted) return this.restart ? () => this.tumbleWindow(0) : this.payload();
    return () => this.tumbleWindow(stage);
  }

  private untilCriterion(window: Window, next: Action): Action {
    const r = this.untilReq;
    this.boxQuery(window, r, true);
    if (r.after !== null && r.after > window.end) return next;
    const hits = this.query(this.untilHits, r);
    if (hits.length > 0) {
      r.after = hits[hits.length - 1]!.rec.ord;
      for (const h of hits) {
        for (const k of h.keys) {
          // KeyToSequences.until: markers only for keys that have an entry.
          const e = this.entries.get(k.key);
          if (e) (e.until ??= []).push(h.rec.ord);
        }
      }
    }
    if (hits.length === this.fetch && r.after !== null && r.after < window.end) return () => this.untilCriterion(window, next);
    return next;
  }

  private secondaryCriterion(window: Window, stage: number): Action {
    const r = this.req[stage]!;
    this.boxQuery(window, r, false);
    const hits = this.query(this.hits[stage]!, r);
    const next = stage + 1 < this.n ? stage + 1 : -1;
    if (hits.length > 0) {
      let tail = hits[hits.length - 1]!.rec.ord;
      const head = hits[0]!.rec.ord;
      if (tail > window.end) tail = window.end;
      r.after = tail;
      if (!this.match(stage, hits)) return this.payload();
      if (next > 0) {
        const nr = this.req[next]!;
        if (nr.from === null || nr.after === null) {
          nr.from = head;
          nr.after = head;
        }
      }
    }
    if (hits.length === this.fetch && r.after !== null && r.after < window.end) return () => this.secondaryCriterion(window, stage);
    if (next > 0 && this.hasCandidates(stage)) return () => this.secondaryCriterion(window, next);
    return () => this.tumbleWindow(window.base);
  }

  private boxQuery(window: Window, r: Request, isUntil: boolean): void {
    if (r.to !== window.end) r.to = window.end;
    if (r.from === null) {
      r.from = window.begin;
      r.after = window.begin;
    }
    if (this.hasKeys) this.keyConstraints(isUntil ? -2 : window.base, r);
  }

  private setupWindowFromTail(from: number): void {
    const r = this.req[1]!;
    if (r.from !== from) {
      r.from = from;
      r.after = from;
      if (this.spec.until) {
        this.untilReq.from = from;
        this.untilReq.after = from;
      }
      for (let i = 2; i < this.n; i++) this.req[i]!.from = null;
    }
  }

  /** Key filter of a request: keys in flight at `stage`, all stages for -2, none below 0. */
  private keyConstraints(stage: number, r: Request): void {
    if (stage === -2) {
      const all = new Set<string>();
      for (const s of this.stageKeys) for (const k of s) all.add(k);
      r.keys = all.size > 0 ? all : null;
    } else if (stage >= 0) {
      const s = this.stageKeys[stage];
      r.keys = s && s.size > 0 ? new Set(s) : null;
    } else r.keys = null;
  }

  private hasCandidates(from: number): boolean {
    for (let i = from; i < this.stageKeys.length; i++) if (this.stageKeys[i]!.size > 0) return true;
    return false;
  }

  // ---- the searches, over the buffered hits (ascending by ordinal)

  /** The next page of the first stage, newest first (search_after on a descending sort). */
  private queryDescending(): Hit[] {
    const list = this.hits[0]!;
    const r = this.req[0]!;
    let i = r.after === null ? list.length - 1 : lowerBound(list, r.after) - 1;
    const out: Hit[] = [];
    while (i >= 0 && out.length < this.fetch) {
      out.push(list[i]!);
      i--;
    }
    this.work += out.length;
    return out;
  }

  /** The next page of an ascending request: after < ordinal ≤ to, with a join key in the filter. */
  private query(list: Hit[], r: Request): Hit[] {
    let i = r.after === null ? 0 : lowerBound(list, r.after + 1);
    const out: Hit[] = [];
    const keys = r.keys;
    while (i < list.length && out.length < this.fetch) {
      const h = list[i++]!;
      this.work++;
      if (r.to !== null && h.rec.ord > r.to) break;
      if (keys && !h.keys.some((k) => keys.has(k.key))) continue;
      out.push(h);
    }
    return out;
  }

  // ---- the matcher (SequenceMatcher, KeyToSequences, SequenceGroup, UntilGroup)

  /** Matches a page of one stage; false once the tail limit is reached. */
  private match(stage: number, hits: Hit[]): boolean {
    for (const h of hits) {
      this.work += h.keys.length;
      for (const k of h.keys) {
        if (stage === 0) {
          const seq: Seq = { key: k.key, values: k.values, events: [h.rec], last: h.rec.ord };
          this.stageKeys[0]!.add(k.key);
          (this.entry(k.key).groups[0] ??= []).push(seq);
        } else this.advanceOne(stage, k.key, h.rec);
      }
    }
    return this.completed.size < this.limit;
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { groups: new Array<Seq[] | null>(this.n - 1).fill(null), until: null };
      this.entries.set(key, e);
    }
    return e;
  }

  private advanceOne(stage: number, key: string, rec: Rec): void {
    const prev = stage - 1;
    const e = this.entries.get(key);
    const group = e?.groups[prev];
    if (!e || !group || group.length === 0) return;
    // trimBefore: the newest sequence older than the event; it and everything before it leave.
    let at = -1;
    for (let i = 0; i < group.length; i++) {
      if (group[i]!.last < rec.ord) at = i;
      else break;
    }
    if (at < 0) return;
    const seq = group[at]!;
    group.splice(0, at + 1);
    if (group.length === 0) {
      e.groups[prev] = null;
      this.stageKeys[prev]!.delete(key);
    }
    const start = seq.events[0]!;
    const maxspan = this.spec.maxspanMs;
    if (maxspan !== null) {
      const d = rec.ms - start.ms;
      if (d > maxspan || (d === maxspan && rec.ns > start.ns)) return;
    }
    if (e.until) {
      let nearest = -1;
      for (const u of e.until) {
        if (u < rec.ord) nearest = u;
        else break;
      }
      if (nearest >= 0 && seq.last <= nearest && nearest <= rec.ord) return;
    }
    seq.events.push(rec);
    seq.last = rec.ord;
    if (stage === this.n - 1) {
      // A set ordered by the last event, then the key: an equal one is already there and stays.
      const id = `${seq.last}\u0000${key}`;
      if (!this.completed.has(id)) this.completed.set(id, seq);
    } else {
      this.stageKeys[stage]!.add(key);
      const g = this.entry(key).groups;
      (g[stage] ??= []).push(seq);
    }
  }

  /** KeyToSequences.trimToTail: per group keep the newest sequence before `ord` and what follows. */
  private trimToTail(ord: number): void {
    for (const [key, e] of this.entries) {
      let firstTail: Seq | null = null;
      let empty = true;
      for (const g of e.groups) {
        if (!g) continue;
        let at = -1;
        for (let i = 0; i < g.length; i++) {
          if (g[i]!.last < ord) at = i;
          else break;
        }
        const kept = at >= 0 ? g[at]! : null;
        if (at > 0) g.splice(0, at);
        if (firstTail === null) firstTail = kept;
        if (g.length > 0) empty = false;
      }
      if (empty) this.entries.delete(key);
      if (firstTail && e.until) {
        let at = -1;
        for (let i = 0; i < e.until.length; i++) {
          if (e.until[i]! < firstTail.last) at = i;
          else break;
        }
        if (at >= 0) e.until.splice(0, at + 1);
      }
    }
  }
}

/** First index whose ordinal is ≥ ord. */
function lowerBound(list: Hit[], ord: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.rec.ord < ord) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
