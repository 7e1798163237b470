// Which sequences Elasticsearch returns when a sequence query keeps the LAST N (`result_position:
// tail`, the default, so every Kibana rule run that reaches max_signals): ES does not find all
// sequences and keep the last N. Its TumblingWindow reads the first positive stage's events
// backwards in pages of `fetch_size`, pairs each page with the later stages read forwards, and
// stops as soon as a page of results leaves it holding N completed sequences. Which sequences exist
// at that moment depends on the paging, so this module replays that executor over the run's
// buffered events:
//
//   * round r takes page P_r: the fetch_size newest first-stage events not read yet; in-flight
//     sequences are cleared (SequenceMatcher.trim(null)) and P_r's events start new ones;
//   * the second stage is then read forwards from the oldest event of P_r in pages of fetch_size;
//     later stages are boxed into the window of the stage before, as in the ascending executor
//     (secondaryCriterion, rebaseWindow, tumbleWindow with trimToTail);
//   * each search is what BoxedQueryRequest sends: search_after the last ordinal read (timestamp,
//     tiebreaker, then the implicit tiebreaker, here the run's order), a RANGE ON THE TIMESTAMP
//     ALONE up to the window's end (`lte end.timestamp`, in milliseconds as a `date` field holds
//     them; sub-millisecond digits count only in the order), so a page can hold events of the end's
//     timestamp that come after it; the stage searches drop those from the page's tail (trim),
//     the `until` search keeps them. Join keys filter as term queries, one per key field, on the
//     values in flight (StageToKeys; a field with more than 128 distinct values, MAX_TERMS, drops
//     the key filter), so an event whose key values each occur in flight passes even when their
//     combination does not, and takes a place on the page;
//   * a stage event advances the newest in-flight sequence of its key that is older than it and
//     drops the older ones (SequenceGroup.trimBefore); maxspan and `until` reject as in
//     SequenceMatcher.match;
//   * missing-event terms (`![...]`) are not paged: a sequence whose positive terms are complete
//     waits in a set that is checked (checkMissingEvents) when the window tumbles or rebases and
//     before the answer, with ES's one-hit searches: the newest leading event before the first
//     event's millisecond, the oldest trailing event after the last event's millisecond, any event
//     strictly between the milliseconds of its neighbours; only sequences that pass become
//     completed and count towards N;
//   * completed sequences are a set ordered by their last event (Sequence.compareTo), so the same
//     sequence found again in a later round counts once (several keys completed by one event, as
//     multi-valued keys give, stay apart: ES's QA suite expects them all); after every page
//     matched, ES stops when the set holds N or more (tailLimitReached) and returns its last N
//     (Limit.view).
// Ordinals are positions in the run's order (timestamp, tiebreaker, input order); ES breaks the
// last ties by shard and document (`_shard_doc`), which for one file in order is input order.
// The HEAD direction needs no replay: ES stops at the N-th completion in ascending order, which
// is what streaming gives (src/engine/sequence.ts).
import type { EventDoc } from '../events/types.js';
import type { Instant } from '../events/time.js';
import type { JoinKey } from './join-keys.js';
import type { SequenceMatch, SequenceSpec } from './sequence.js';
import { encodeKeyValue } from './values.js';

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
  ord: number;
  ms: number;
  ns: number;
}

interface Hit {
  rec: Rec;
  keys: JoinKey[];
  /** Per key field, the encoded non-null values the event holds (built when a key filter asks). */
  fields?: Set<string>[];
}

interface Seq {
  key: string;
  values: unknown[];
  /** The events of the positive stages matched so far. */
  events: Rec[];
  /** Ordinal of the last matched event. */
  last: number;
}

interface Entry {
  /** Per stage below the last: in-flight sequences in insertion (ascending) order; null = none. */
  groups: (Seq[] | null)[];
  until: number[] | null;
}

/** One key field's term filter: the encoded values in flight, and whether a missing value passes. */
interface FieldTerms {
  values: Set<string>;
  missingPasses: boolean;
}

interface Request {
  /** Key fields that may be null (`?field`), for the missing-value clause. */
  optional: boolean[];
  /** Lower bound (an ordinal); always at or before `after`, so the range on it never cuts more. */
  from: number | null;
  after: number | null;
  /** Upper bound: the ordinal whose TIMESTAMP bounds the range (`lte`). */
  to: number | null;
  /** Per key field: its terms, or null when the field is not filtered; null: no key filter. */
  keys: (FieldTerms | null)[] | null;
}

interface Window {
  base: number;
  begin: number;
  end: number;
}

type Action = (() => Action) | null;

/** BoxedQueryRequest.MAX_TERMS: more distinct values of one key field and the keys do not filter. */
export const MAX_KEY_TERMS = 128;

/**
 * Buffers a run's events and replays ES's descending sequence executor at the end.
 *
 * With hundreds of rules the buffers together hold most of a window's events, and events held
 * that long are copied into the old generation by the collector: that copying was the largest
 * single cost of a hunt with every rule. So the buffer is compact. Times and ordinals live in
 * typed arrays, join keys are interned, and an event itself is kept only while the run may still
 * return it: every event of a returned sequence passed a positive stage and, past the first one,
 * carries a join key that a first-stage event had before it, within maxspan. Events that passed
 * only until or missing-event terms, or a later stage with no such first-stage event, keep their
 * place on the pages (time, ordinal, keys) without the event; so does a first-stage event once
 * maxspan has passed without a later-stage event of its key (prune). The replay's objects are built only
 * when paging can change the answer.
 */
export class PagedTailSequences {
  /** Per stage (then until): ordinals of the events that passed it and their key refs. */
  private readonly terms: HitColumn[] = [];
  private readonly untilTerm: HitColumn;
  /** Per buffered event, by ordinal: epoch millisecond and nanoseconds within it. */
  private readonly ms = new Column(f64);
  private readonly ns = new Column(i32);
  /** Per buffered event, by ordinal: the event, or null when no returned sequence can hold it. */
  private readonly bodies: (EventDoc | null)[] = [];
  /**
   * Interned join keys, shared by the runs (see KeyTable). A hit's ref ≥ 0 is the table's id of
   * its one key; a ref < 0 is multiKeys[-1 - ref] (several keys, or one whose values differ from
   * the interned ones).
   */
  private readonly table: KeyTable;
  private readonly multiKeys: JoinKey[][] = [];
  /** The table id of the one key of the event onTerm was last told (set by keyRef when it has one key). */
  private lastId = -1;
  /**
   * The keys of recent first-stage events: table id → a slot of the two columns below. Only the
   * keys whose latest first-stage event is within maxspan of the newest event are kept (sweep),
   * so the map stays small: a look-up in a map of every key a run saw (hundreds of thousands in
   * a hunt) costs a cache miss or more, and a hunt asks for every later-stage event of every run.
   */
  private readonly recent = new Map<number, number>();
  /** Slots of `recent` given back by sweepRecent, for reuse. */
  private readonly freeSlots: number[] = [];
  /** Per slot: the latest millisecond of a first-stage event with the key. */
  private readonly firstStageMs = new Column(f64);
  /**
   * Per slot: the latest millisecond of a later-stage event that a first-stage event with the key
   * could precede within maxspan (NONE: none yet). A first-stage event older than any such
   * continuation of its keys, and too old for any event still to come, cannot be in a returned
   * sequence (prune).
   */
  private readonly continuedMs = new Column(f64);
  /** Whether a positive stage follows the first one (else no event continues another: nothing to track). */
  private readonly hasLater: boolean;
  /** prune() calls since recent was last swept. */
  private prunesSinceSweep = 0;
  /** Whether release() has told the key table this run no longer uses it. */
  private tableReleased = false;
  /** Per buffered event, by ordinal: 1 when it is kept as a later stage's event. */
  private readonly keptLater = new Column(u8);
  /** The latest millisecond told so far (events come in time order). */
  private maxMs = -Infinity;
  /** Next entry of the first stage's hits that prune() looks at. */
  private pruneCursor = 0;
  /** Whether prune() has let an event go (the buffer then relies on the order of events). */
  private pruned = false;
  private readonly firstPos: number;
  private lastEvent: EventDoc | null = null;
  private lastOrd = -1;
  /** Set when the run outgrew what the replay may hold; the caller then keeps streaming's answer. */
  overflow: string | null = null;

  constructor(
    private readonly spec: SequenceSpec,
    /** N: the tail size. */
    private readonly limit: number,
    private readonly fetchSize: number = DEFAULT_FETCH_SIZE,
  ) {
    for (let i = 0; i < spec.stages.length; i++) this.terms.push(new HitColumn());
    this.untilTerm = new HitColumn();
    this.firstPos = spec.stages.findIndex((s) => !s.missing);
    this.hasLater = this.firstPos >= 0 && spec.stages.some((st, i) => i > this.firstPos && !st.missing);
    this.table = useKeyTable(this.firstPos >= 0 ? spec.stages[this.firstPos]!.keys.length : 0);
  }

  /**
   * SequenceSpec.onTerm: the streaming matcher tells each term an event passed, with its time and
   * join keys (stage -1 is until; missing-event stages too), so terms are evaluated once for both.
   * False for a later positive stage when no first-stage event with one of the keys came within
   * maxspan before the event (continues), so that no partial sequence can take it.
   */
  readonly onTerm = (stage: number, ev: EventDoc, ts: Instant, keys: JoinKey[]): boolean => {
    if (this.overflow) return true;
    if (ev !== this.lastEvent) {
      if (ts.ms < this.maxMs && this.pruned) {
        // Never in a hunt or a scheduled run (their events come in order); kept safe all the same.
        this.dropBuffer('its events came out of time order');
        return true;
      }
      if (ts.ms > this.maxMs) this.maxMs = ts.ms;
      this.lastEvent = ev;
      this.lastOrd = this.bodies.length;
      this.bodies.push(null);
      this.ms.push(ts.ms);
      this.ns.push(ts.ns);
      this.keptLater.push(0);
      if ((this.lastOrd & (PRUNE_EVERY - 1)) === 0) this.prune();
      liveBuffered++;
      if (this.bodies.length > MAX_PAGED_EVENTS) {
        this.dropBuffer(`more than ${MAX_PAGED_EVENTS.toLocaleString('en-US')} events matched its terms`);
        return true;
      }
      if (liveBuffered > MAX_PAGED_EVENTS_TOTAL) {
        this.dropBuffer(`the runs in progress held more than ${MAX_PAGED_EVENTS_TOTAL.toLocaleString('en-US')} events together`);
        return true;
      }
    }
    (stage < 0 ? this.untilTerm : this.terms[stage]!).push(this.lastOrd, this.keyRef(ev, keys));
    if (stage < 0 || this.spec.stages[stage]!.missing) return true;
    if (stage === this.firstPos) {
      this.bodies[this.lastOrd] = ev;
      if (!this.hasLater) return true;
      if (keys.length === 1) this.firstSeen(this.lastId, ts.ms);
      else for (const k of keys) this.firstSeen(this.table.id(ev, k), ts.ms);
    } else if (PagedTailSequences.keepAllEvents) {
      this.bodies[this.lastOrd] = ev;
    } else if (this.continues(ev, keys, ts.ms)) {
      this.bodies[this.lastOrd] = ev;
      this.keptLater.set(this.lastOrd, 1);
    } else return false;
    return true;
  };

  /**
   * Lets go of first-stage events that no returned sequence can hold: no later-stage event with
   * one of their keys came at or after them, and none can come any more (every event still to come
   * is more than maxspan after them, in whole milliseconds). With hundreds of rules most of what
   * the buffers held was such events, kept for the whole of a run's window. Their place on the
   * pages (time, ordinal, keys) stays.
   */
  private prune(): void {
    const maxspan = this.spec.maxspanMs;
    if (maxspan === null || maxspan <= 0 || PagedTailSequences.keepAllEvents || this.firstPos < 0) return;
    // With one positive term (the others missing-event terms) a first-stage event is a whole
    // sequence: no later stage continues it, and it may be returned however old it is.
    if (!this.hasLater) return;
    const first = this.terms[this.firstPos]!;
    const horizon = this.maxMs - maxspan;
    let i = this.pruneCursor;
    for (; i < first.length; i++) {
      const ord = first.ords.at(i);
      const at = this.ms.at(ord);
      if (at >= horizon) break;
      if (this.bodies[ord] === null || this.keptLater.at(ord) === 1) continue;
      const ref = first.keys.at(i);
      let continued = false;
      if (ref >= 0) continued = this.continuedAt(ref) >= at;
      else {
        for (const k of this.multiKeys[-1 - ref]!) {
          if (this.continuedAt(this.table.id(null, k)) >= at) {
            continued = true;
            break;
          }
        }
      }
      if (!continued) {
        this.bodies[ord] = null;
        this.pruned = true;
        PagedTailSequences.prunedEvents++;
      }
    }
    this.pruneCursor = i;
    if (++this.prunesSinceSweep >= PagedTailSequences.sweepEveryPrunes) {
      this.prunesSinceSweep = 0;
      this.sweepRecent(horizon);
    }
  }

  /**
   * Forgets the keys whose latest first-stage event is older than `horizon` (maxspan before the
   * newest event): every event still to come is more than maxspan after it, so continuesSlot()
   * would answer false for it as for a key never seen, and prune() has passed every first-stage
   * event up to the horizon, so it asks about none of them again. Forgetting relies on the order
   * of events, as letting events go does (pruned).
   */
  private sweepRecent(horizon: number): void {
    for (const [id, slot] of this.recent) {
      if (this.firstStageMs.at(slot) < horizon) {
        this.recent.delete(id);
        this.freeSlots.push(slot);
        this.pruned = true;
      }
    }
  }

  /** The latest continuation of a key (NONE when no first-stage event with it is remembered). */
  private continuedAt(id: number): number {
    const slot = this.recent.get(id);
    return slot === undefined ? NONE : this.continuedMs.at(slot);
  }

  /** A first-stage event with key `id` came at `ms`. */
  private firstSeen(id: number, ms: number): void {
    let slot = this.recent.get(id);
    if (slot === undefined) {
      const free = this.freeSlots.pop();
      if (free === undefined) {
        slot = this.firstStageMs.length;
        this.firstStageMs.push(ms);
        this.continuedMs.push(NONE);
      } else {
        slot = free;
        this.firstStageMs.set(slot, ms);
        this.continuedMs.set(slot, NONE);
      }
      this.recent.set(id, slot);
    } else if (ms > this.firstStageMs.at(slot)) this.firstStageMs.set(slot, ms);
  }

  /**
   * Whether a later-stage event can continue a sequence: a first-stage event came before it with
   * one of its keys, no more than maxspan earlier (in whole milliseconds: a superset of what
   * exceedsMaxspan lets through). The matcher tells an event's stages last to first, so a first
   * stage passed by this same event is not yet counted (a sequence's events are distinct).
   */
  private continues(ev: EventDoc, keys: JoinKey[], ms: number): boolean {
    if (keys.length === 1) return this.continuesKey(this.lastId, ms);
    let continues = false;
    // Every key is recorded (not only the first that continues): prune() asks about each.
    for (const k of keys) if (this.continuesKey(this.table.id(ev, k), ms)) continues = true;
    return continues;
  }

  private continuesKey(id: number, ms: number): boolean {
    const slot = this.recent.get(id);
    if (slot === undefined) return false;
    const maxspan = this.spec.maxspanMs;
    const first = this.firstStageMs.at(slot);
    if (!(maxspan === null || maxspan <= 0 || ms - first <= maxspan)) return false;
    if (ms > this.continuedMs.at(slot)) this.continuedMs.set(slot, ms);
    return true;
  }

  /**
   * The interned reference of an event's keys. A key is interned with the values it first came
   * with; values that encode the same but are not the same (0 and -0, equal objects) stay apart,
   * so every hit keeps exactly its own values.
   */
  private keyRef(ev: EventDoc, keys: JoinKey[]): number {
    if (keys.length === 1) {
      const k = keys[0]!;
      const id = (this.lastId = this.table.id(ev, k));
      // Equal encodings of one string are equal strings (values.ts): no need to read the interned
      // key's values, which sit in the old generation (a cache miss per event and term).
      if ((k.values.length === 1 && typeof k.values[0] === 'string') || sameValues(this.table.key(id).values, k.values)) return id;
    }
    this.multiKeys.push(keys);
    return -this.multiKeys.length;
  }

  private dropBuffer(why: string): void {
    this.overflow = why;
    this.release();
  }

  /** Gives the buffer back (after the result, or when giving up). */
  private release(): void {
    if (!this.tableReleased) {
      this.tableReleased = true;
      leaveKeyTable(this.table);
    }
    for (const t of this.terms) t.clear();
    this.untilTerm.clear();
    liveBuffered -= this.bodies.length;
    this.bodies.length = 0;
    this.ms.clear();
    this.ns.clear();
    this.multiKeys.length = 0;
    this.recent.clear();
    this.freeSlots.length = 0;
    this.firstStageMs.clear();
    this.continuedMs.clear();
    this.lastId = -1;
    this.keptLater.clear();
    this.maxMs = -Infinity;
    this.pruneCursor = 0;
    this.pruned = false;
    this.lastEvent = null;
    this.lastOrd = -1;
  }

  /**
   * Whether paging can change the answer: when every paged term (positive and until) matched
   * fewer events than a page, each of ES's searches returns everything in one page, the executor
   * completes every sequence the streaming matcher finds before it looks at the limit, and the last
   * N are the same. (Missing-event searches are never paged.)
   */
  get pagingMatters(): boolean {
    if (PagedTailSequences.alwaysReplay) return true;
    const paged = this.spec.stages.some((s, i) => !s.missing && this.terms[i]!.length >= this.fetchSize);
    return paged || this.untilTerm.length >= this.fetchSize;
  }

  /** Tests: replay even where paging cannot matter, to check the replay against streaming there. */
  static alwaysReplay = false;
  /** Tests: keep every buffered event, to check that the events left out are never returned. */
  static keepAllEvents = false;
  /** prune() passes between two sweeps of the recent first-stage keys (tests sweep at every one). */
  static sweepEveryPrunes = 4;
  /** Key tables the module holds (tests: none once every run has given its buffer back). */
  static get keyTablesHeld(): number {
    return keyTables.size;
  }
  /** First-stage events prune() let go of, over the process (tests check that it happens). */
  static prunedEvents = 0;

  /** The sequences ES returns, oldest last event first; null when the replay gave up (see overflow). */
  result(): SequenceMatch[] | null {
    if (this.overflow) return null;
    if (!this.pagingMatters) {
      this.release();
      return null;
    }
    const recs: Rec[] = [];
    for (let i = 0; i < this.bodies.length; i++) recs.push({ ord: i, ms: this.ms.at(i), ns: this.ns.at(i) });
    const hitsOf = (t: HitColumn): Hit[] => {
      const out: Hit[] = [];
      for (let i = 0; i < t.length; i++) {
        const ref = t.keys.at(i);
        out.push({ rec: recs[t.ords.at(i)]!, keys: ref >= 0 ? this.table.list(ref) : this.multiKeys[-1 - ref]! });
      }
      return out;
    };
    const replay = new Replay(this.spec, this.terms.map(hitsOf), hitsOf(this.untilTerm), recs, this.limit, this.fetchSize);
    const seqs = replay.run();
    if (!seqs) {
      this.release();
      this.overflow = `replaying Elasticsearch's paging took more than ${MAX_PAGED_WORK.toLocaleString('en-US')} steps`;
      return null;
    }
    const stages = this.spec.stages;
    const out = seqs.map((s) => {
      const events: (EventDoc | null)[] = [];
      let p = 0;
      for (const st of stages) {
        if (st.missing) {
          events.push(null);
          continue;
        }
        const ev = this.bodies[s.events[p++]!.ord];
        // Unreachable by the rule above (continues); a bug if it is ever reached.
        if (!ev) throw new Error('sequence replay: a returned event was not kept');
        events.push(ev);
      }
      return { keyValues: s.values, events };
    });
    this.release();
    return out;
  }
}

/**
 * Join keys interned once for every run: an id per distinct encoding, with the one-key list it
 * first came with. A hunt runs hundreds of rules, and most of their keys are the same few fields
 * (process.entity_id, host.id): each run interning its own keys made a map per run of every key
 * it saw, and a look-up per run and term, each a cache miss in a large map. Runs that take the same
 * event ask the table one after the other, so the ids of the event's keys are remembered for it
 * (compared by content: each rule's answers carry their own copy of a string).
 *
 * A table takes new keys until it holds KEY_TABLE_LIMIT; runs that start after that get a new
 * one, and a table is let go with the last run that uses it, so a long hunt holds at most the
 * keys of the runs in progress (and of the table being filled).
 */
class KeyTable {
  /** Runs that use the table and have not released their buffer. */
  users = 0;
  constructor(readonly width: number) {}
  private readonly ids = new Map<string, number>();
  private readonly lists: JoinKey[][] = [];
  private memoEvent: EventDoc | null = null;
  private memoCount = 0;
  private readonly memoKeys: string[] = [];
  private readonly memoIds: number[] = [];

  get size(): number {
    return this.lists.length;
  }

  /** The id of a key, interned on its first sight; `ev` (null: none) is the event it came with, for the memo. */
  id(ev: EventDoc | null, k: JoinKey): number {
    const key = k.key;
    if (ev !== null) {
      if (ev !== this.memoEvent) {
        this.memoEvent = ev;
        this.memoCount = 0;
      } else {
        for (let i = 0; i < this.memoCount; i++) if (this.memoKeys[i] === key) return this.memoIds[i]!;
      }
    }
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.ids.set(key, id);
      this.lists.push([k]);
    }
    if (ev !== null && this.memoCount < KEY_MEMO) {
      this.memoKeys[this.memoCount] = key;
      this.memoIds[this.memoCount++] = id;
    }
    return id;
  }

  key(id: number): JoinKey {
    return this.lists[id]![0]!;
  }

  list(id: number): JoinKey[] {
    return this.lists[id]!;
  }
}

/** Keys a table takes before runs that start get a new one. */
const KEY_TABLE_LIMIT = 1 << 19;
/** Distinct keys of one event whose ids a table remembers. */
const KEY_MEMO = 8;
/**
 * The tables being filled, by the number of key fields: keys of different widths may encode the
 * same (one field holding "a\u0001b" and two holding "a" and "b"), and a run reads an interned
 * one-string key's values without comparing them (keyRef).
 */
const keyTables = new Map<number, KeyTable>();

function useKeyTable(width: number): KeyTable {
  let t = keyTables.get(width);
  if (t === undefined || t.size >= KEY_TABLE_LIMIT) keyTables.set(width, (t = new KeyTable(width)));
  t.users++;
  return t;
}

/**
 * A run is done with its table: once no run uses the table being filled, it is let go, so a
 * long-lived process (a service's scheduled runs) does not keep the keys of runs long finished.
 */
function leaveKeyTable(t: KeyTable): void {
  if (--t.users === 0 && keyTables.get(t.width) === t) keyTables.delete(t.width);
}

function sameValues(a: unknown[], b: unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * A growable column of numbers in a typed array: no object per element for the collector to copy.
 * Doubles for times, 32-bit integers for ordinals and key references.
 */
class Column<A extends Float64Array | Int32Array | Uint8Array> {
  private data: A;
  length = 0;

  constructor(private readonly make: (n: number) => A) {
    this.data = make(0);
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(Math.max(256, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  at(i: number): number {
    return this.data[i]!;
  }

  set(i: number, v: number): void {
    this.data[i] = v;
  }

  clear(): void {
    this.data = this.make(0);
    this.length = 0;
  }
}

const f64 = (n: number) => new Float64Array(n);
/** A key slot's millisecond before any event set it (below every event's time). */
const NONE = -Infinity;
const i32 = (n: number) => new Int32Array(n);
const u8 = (n: number) => new Uint8Array(n);
/** New buffered events between two prune() passes (a power of two). */
const PRUNE_EVERY = 256;

/** The events that passed one term: their ordinals and key refs, in order. */
class HitColumn {
  readonly ords = new Column(i32);
  readonly keys = new Column(i32);

  get length(): number {
    return this.ords.length;
  }

  push(ord: number, keyRef: number): void {
    this.ords.push(ord);
    this.keys.push(keyRef);
  }

  clear(): void {
    this.ords.clear();
    this.keys.clear();
  }
}

/** One replay of TumblingWindow + SequenceMatcher for a descending (tail) sequence. */
class Replay {
  private readonly n: number;
  private readonly req: Request[];
  private readonly untilReq: Request;
  private readonly entries = new Map<string, Entry>();
  /** StageToKeys: keys with in-flight sequences per stage, with their values (module comment). */
  private readonly stageKeys: Map<string, unknown[]>[] = [];
  /** Completed sequences by last event and key, in completion order. */
  private readonly completed = new Map<string, Seq>();
  /** Sequences whose positive stages are complete, waiting for the missing-event check. */
  private readonly toCheck = new Map<string, Seq>();
  private readonly hasKeys: boolean;
  private readonly missing: boolean[];
  private readonly firstPos: number;
  private readonly lastPos: number;
  private readonly anyMissing: boolean;
  /** Missing-event stages' events by join key, ascending (built on the first check). */
  private missingByKey: Map<string, Rec[]>[] | null = null;
  private restart = true;
  private work = 0;

  constructor(
    private readonly spec: SequenceSpec,
    private readonly hits: Hit[][],
    private readonly untilHits: Hit[],
    private readonly recs: Rec[],
    private readonly limit: number,
    private readonly fetch: number,
  ) {
    this.n = spec.stages.length;
    this.req = spec.stages.map((s) => ({ optional: s.keyOptional, from: null, after: null, to: null, keys: null }));
    this.untilReq = { optional: spec.until?.keyOptional ?? [], from: null, after: null, to: null, keys: null };
    for (let i = 0; i < this.n - 1; i++) this.stageKeys.push(new Map());
    this.missing = spec.stages.map((s) => s.missing);
    this.firstPos = this.missing.indexOf(false);
    this.lastPos = this.missing.lastIndexOf(false);
    this.anyMissing = this.missing.includes(true);
    this.hasKeys = spec.stages[this.firstPos]!.keys.length > 0;
  }

  run(): Seq[] | null {
    if (this.limit <= 0 || this.firstPos < 0) return [];
    let next: Action = () => this.tumbleWindow(this.firstPos);
    while (next) {
      if (this.work > MAX_PAGED_WORK) return null;
      next = next();
    }
    const all = [...this.completed.values()].sort((a, b) => a.last - b.last);
    return all.slice(Math.max(0, all.length - this.limit));
  }

  private nextPos(stage: number): number {
    for (let i = stage + 1; i < this.n; i++) if (!this.missing[i]) return i;
    return -1;
  }

  private prevPos(stage: number): number {
    for (let i = stage - 1; i >= 0; i--) if (!this.missing[i]) return i;
    return -1;
  }

  // ---- the executor (TumblingWindow), each step returning the next one

  /** The end: the pending missing-event checks, then ES answers with what it has completed. */
  private payload(): Action {
    return this.checkMissing(null);
  }

  private tumbleWindow(stage: number): Action {
    if (stage > this.firstPos && !this.hasCandidates(0)) {
      if (!this.restart) return this.payload();
      stage = this.firstPos;
    }
    if (this.restart) {
      if (stage === this.firstPos) this.entries.clear();
    } else {
      const marker = this.req[stage]!.after;
      if (marker !== null) this.trimToTail(marker);
    }
    return this.checkMissing(() => this.advance(stage));
  }

  private advance(stage: number): Action {
    const r = this.req[stage]!;
    r.to = null;
    if (this.hasKeys) this.keyConstraints(this.prevPos(stage), r);
    const hits = stage === this.firstPos ? this.queryDescending() : this.query(this.hits[stage]!, r);
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
    } else if (stage === this.firstPos && stage === this.lastPos) {
      // One positive term, the others missing events: nothing left to read.
      return this.payload();
    }
    return this.completeBase(stage, hits, info);
  }

  private completeBase(stage: number, hits: Hit[], info: Window | null): Action {
    // The descending first page is matched in ascending order (wrapValues reverses it).
    const descending = stage === this.firstPos;
    if (!this.match(stage, descending ? [...hits].reverse() : hits)) return this.payload();
    const next = this.nextPos(stage);
    const windowCompleted = hits.length < this.fetch;
    if (next > 0) {
      let then: Action;
      if (info) {
        if (descending) this.setupWindowFromTail(info.end);
        else this.boxQuery(info, this.req[next]!, false);
      }
      if (windowCompleted) {
        if (descending) {
          if (!info) return this.payload();
          this.restart = false;
          const second = this.nextPos(this.firstPos);
          then = () => this.checkMissing(() => this.advance(second));
        } else if (this.hasCandidates(this.prevPos(next))) {
          // rebaseWindow
          then = () => this.checkMissing(() => this.advance(next));
        } else if (!this.restart) {
          return this.payload();
        } else {
          then = () => this.tumbleWindow(this.firstPos);
        }
      } else if (descending) {
        const second = this.nextPos(this.firstPos);
        then = () => this.advance(second);
      } else {
        const w = info!;
        then = () => this.secondaryCriterion(w, next);
      }
      if (this.spec.until && info && info.base === this.firstPos) return this.untilCriterion(info, then);
      return then;
    }
    if (windowCompleted) return this.restart ? () => this.tumbleWindow(this.firstPos) : this.payload();
    return () => this.tumbleWindow(stage);
  }

  private untilCriterion(window: Window, next: Action): Action {
    const r = this.untilReq;
    this.boxQuery(window, r, true);
    if (r.after !== null && r.after > window.end) return next;
    // The until search is not trimmed: events of the window end's timestamp after it are kept.
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
    const page = this.query(this.hits[stage]!, r);
    // trim: events of the end's timestamp that come after the window end leave the page's tail.
    let keep = page.length;
    while (keep > 0 && page[keep - 1]!.rec.ord > window.end) keep--;
    const hits = keep === page.length ? page : page.slice(0, keep);
    const next = this.nextPos(stage);
    if (hits.length > 0) {
      const tail = hits[hits.length - 1]!.rec.ord;
      const head = hits[0]!.rec.ord;
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
    const second = this.nextPos(this.firstPos);
    const r = this.req[second]!;
    if (r.from !== from) {
      r.from = from;
      r.after = from;
      if (this.spec.until) {
        this.untilReq.from = from;
        this.untilReq.after = from;
      }
      for (let i = second + 1; i < this.n; i++) this.req[i]!.from = null;
    }
  }

  /**
   * Key filter of a request (BoxedQueryRequest.keys): the keys in flight at `stage`, at every
   * stage for -2, none below 0; one term filter per key field over the values in flight, dropped
   * entirely when a field has more than MAX_KEY_TERMS distinct values.
   */
  private keyConstraints(stage: number, r: Request): void {
    let sets: Map<string, unknown[]>[];
    if (stage === -2) sets = this.stageKeys;
    else if (stage >= 0 && this.stageKeys[stage]) sets = [this.stageKeys[stage]!];
    else sets = [];
    const width = this.spec.stages[this.firstPos]!.keys.length;
    const terms: FieldTerms[] = [];
    for (let i = 0; i < width; i++) terms.push({ values: new Set(), missingPasses: false });
    let any = false;
    for (const m of sets) {
      for (const values of m.values()) {
        any = true;
        for (let i = 0; i < width; i++) {
          const v = values[i];
          if (v === null || v === undefined) terms[i]!.missingPasses = true;
          else terms[i]!.values.add(encodeKeyValue(v));
        }
      }
    }
    if (!any) {
      r.keys = null;
      return;
    }
    const filters: (FieldTerms | null)[] = [];
    for (let i = 0; i < width; i++) {
      const t = terms[i]!;
      if (t.values.size > MAX_KEY_TERMS) {
        r.keys = null;
        return;
      }
      // A null value filters only on an optional key (`must_not exists`); a field whose values
      // in flight are all null on a required key gets no filter.
      t.missingPasses &&= r.optional[i] === true;
      filters.push(t.values.size === 0 && !t.missingPasses ? null : t);
    }
    r.keys = filters;
  }

  private hasCandidates(from: number): boolean {
    for (let i = Math.max(0, from); i < this.stageKeys.length; i++) if (this.stageKeys[i]!.size > 0) return true;
    return false;
  }

  // ---- the searches, over the buffered hits (ascending by ordinal)

  /** The next page of the first stage, newest first (search_after on a descending sort). */
  private queryDescending(): Hit[] {
    const list = this.hits[this.firstPos]!;
    const r = this.req[this.firstPos]!;
    let i = r.after === null ? list.length - 1 : lowerBound(list, r.after) - 1;
    const out: Hit[] = [];
    while (i >= 0 && out.length < this.fetch) {
      out.push(list[i]!);
      i--;
    }
    this.work += out.length;
    return out;
  }

  /**
   * The next page of an ascending request: ordinal after `after`, timestamp at or before the
   * timestamp of `to`, passing the key filter.
   */
  private query(list: Hit[], r: Request): Hit[] {
    let i = r.after === null ? 0 : lowerBound(list, r.after + 1);
    const out: Hit[] = [];
    const keys = r.keys;
    const to = r.to === null ? null : this.recs[r.to]!;
    while (i < list.length && out.length < this.fetch) {
      const h = list[i++]!;
      this.work++;
      if (to !== null && h.rec.ms > to.ms) break;
      if (keys && !passesKeys(h, keys)) continue;
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
        if (stage === this.firstPos) {
          const seq: Seq = { key: k.key, values: k.values, events: [h.rec], last: h.rec.ord };
          if (stage === this.lastPos) this.tryComplete(seq);
          else {
            this.stageKeys[stage]!.set(k.key, k.values);
            (this.entry(k.key).groups[stage] ??= []).push(seq);
          }
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
    const prev = this.prevPos(stage);
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
    if (this.exceedsMaxspan(start, rec)) return;
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
    if (stage === this.lastPos) {
      // A set ordered by the last event, then the key: an equal one is already there and stays.
      if (!this.completed.has(seqId(seq))) this.tryComplete(seq);
    } else {
      this.stageKeys[stage]!.set(key, seq.values);
      const g = this.entry(key).groups;
      (g[stage] ??= []).push(seq);
    }
  }

  private tryComplete(seq: Seq): void {
    const id = seqId(seq);
    const into = this.anyMissing ? this.toCheck : this.completed;
    if (!into.has(id)) into.set(id, seq);
  }

  private exceedsMaxspan(from: { ms: number; ns: number }, to: { ms: number; ns: number }): boolean {
    const maxspan = this.spec.maxspanMs;
    if (maxspan === null || maxspan <= 0) return false;
    const d = to.ms - from.ms;
    return d > maxspan || (this.spec.nanos === true && d === maxspan && to.ns > from.ns);
  }

  /**
   * checkMissingEvents: each sequence waiting for its missing-event check gets ES's one-hit
   * searches (per missing term, filtered on the sequence's key; the ranges compare epoch
   * milliseconds); the ones that pass join the completed set. Then `next` (null: the end).
   */
  private checkMissing(next: Action): Action {
    if (this.toCheck.size === 0) return next;
    const byKey = (this.missingByKey ??= this.indexMissing());
    for (const seq of this.toCheck.values()) {
      this.work += this.n;
      if (this.passesMissing(seq, byKey)) {
        const id = seqId(seq);
        if (!this.completed.has(id)) this.completed.set(id, seq);
      }
    }
    this.toCheck.clear();
    return next;
  }

  private indexMissing(): Map<string, Rec[]>[] {
    return this.hits.map((list, i) => {
      const m = new Map<string, Rec[]>();
      if (!this.missing[i]) return m;
      for (const h of list) {
        for (const k of h.keys) {
          const l = m.get(k.key);
          if (l) l.push(h.rec);
          else m.set(k.key, [h.rec]);
        }
      }
      return m;
    });
  }

  /** TumblingWindow.doCheckMissingEvents for one sequence. */
  private passesMissing(seq: Seq, byKey: Map<string, Rec[]>[]): boolean {
    let leading = true;
    let lastLeading: Rec | null = null;
    let firstTrailing: Rec | null = null;
    // The positive events by stage, for the in-between ranges.
    const at = new Array<Rec | null>(this.n).fill(null);
    let p = 0;
    for (let i = 0; i < this.n; i++) if (!this.missing[i]) at[i] = seq.events[p++]!;
    const start = seq.events[0]!;
    const end = seq.events[seq.events.length - 1]!;
    for (let i = 0; i < this.n; i++) {
      if (!this.missing[i]) {
        leading = false;
        continue;
      }
      const list = byKey[i]!.get(seq.key) ?? [];
      if (leading) {
        // The newest event before the first event's millisecond.
        const j = firstAtOrAfterMs(list, start.ms) - 1;
        if (j >= 0 && (lastLeading === null || laterThan(list[j]!, lastLeading))) lastLeading = list[j]!;
      } else if (this.nextPos(i - 1) < 0) {
        // Trailing: the oldest event after the last event's millisecond.
        const j = firstAfterMs(list, end.ms);
        if (j < list.length && (firstTrailing === null || laterThan(firstTrailing, list[j]!))) firstTrailing = list[j]!;
      } else {
        // In between: any event strictly between its neighbours' milliseconds rejects.
        const lo = at[this.prevPos(i)]!.ms;
        const hi = at[this.nextPos(i)]!.ms;
        const j = firstAfterMs(list, lo);
        if (j < list.length && list[j]!.ms < hi) return false;
      }
    }
    const leadMissing = this.missing[0]!;
    const trailMissing = this.missing[this.n - 1]!;
    const bigger = (a: Rec | null, b: Rec | null) => a === null || b === null || this.exceedsMaxspan(a, b);
    return (
      (firstTrailing === null && lastLeading === null) ||
      (lastLeading === null && leadMissing) ||
      (firstTrailing === null && trailMissing) ||
      (leadMissing && trailMissing && bigger(lastLeading, firstTrailing)) ||
      (leadMissing && !trailMissing && bigger(lastLeading, end)) ||
      (!leadMissing && trailMissing && bigger(start, firstTrailing))
    );
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

function seqId(seq: Seq): string {
  return `${seq.last}\u0000${seq.key}`;
}

function laterThan(a: Rec, b: Rec): boolean {
  return a.ms > b.ms || (a.ms === b.ms && a.ns > b.ns);
}

/** Whether the event passes every key field's term filter (any of its values in the terms). */
function passesKeys(h: Hit, keys: (FieldTerms | null)[]): boolean {
  const fields = (h.fields ??= fieldValues(h, keys.length));
  for (let i = 0; i < keys.length; i++) {
    const t = keys[i];
    if (!t) continue;
    const mine = fields[i]!;
    if (mine.size === 0) {
      if (!t.missingPasses) return false;
      continue;
    }
    let hit = false;
    for (const v of mine) {
      if (t.values.has(v)) {
        hit = true;
        break;
      }
    }
    if (!hit) return false;
  }
  return true;
}

function fieldValues(h: Hit, width: number): Set<string>[] {
  const out: Set<string>[] = [];
  for (let i = 0; i < width; i++) out.push(new Set());
  for (const k of h.keys) {
    for (let i = 0; i < width; i++) {
      const v = k.values[i];
      if (v !== null && v !== undefined) out[i]!.add(encodeKeyValue(v));
    }
  }
  return out;
}

/** First index whose millisecond is ≥ ms (the list is ascending in time). */
function firstAtOrAfterMs(list: Rec[], ms: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.ms < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose millisecond is after `ms` (`gt` ms on a `date` field, which holds milliseconds). */
function firstAfterMs(list: Rec[], ms: number): number {
  return firstAtOrAfterMs(list, ms + 1);
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
