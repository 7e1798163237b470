// Time ordering: EQL sequences need events in (timestamp, tiebreaker) order across all inputs.
//
// The order is a function of the data: (timestamp, tiebreaker, `_id` for events whose input gave
// one), and only for events equal in all of these, the inputs' order and the position in the
// input. So hunting files together, one by one or concatenated in any order sees the same order.
//
// mergeOrdered is a k-way merge over a binary heap of per-input heads. Each input gets a bounded
// reorder buffer (itself a heap) so local disorder (a few events out of place, as log shippers
// produce) is repaired without sorting the whole input. An event older than what the merge has
// already emitted cannot be placed any more: by default it is dropped, counted and reported,
// never emitted out of order, because the engine's sequence state assumes a monotonic clock; with
// `onLate: 'throw'` the merge stops with an OutOfOrderError instead, so that a caller can sort the
// inputs (external-sort.ts) and start again.
import { getField } from '../engine/fields.js';
import { Heap } from '../util/heap.js';
import type { EventDoc, SkippedItem } from './types.js';
import { formatInstant, parseInstant, type Instant } from './time.js';

export interface OrderOptions {
  /** Field holding the event time (default `@timestamp`). */
  timestampField?: string;
  /** Field ordering events with equal timestamps; numbers numerically, strings by code unit, missing last. */
  tiebreakerField?: string | null;
  /**
   * Events held for reordering, shared by all inputs: each input's buffer holds
   * max(MIN_WINDOW, ceil(reorderWindow / inputs)) events. 0 disables reordering. Default 4,000.
   * Without an explicit value an input starts with a small window (START_WINDOW) that grows to
   * the full one at its first sign of disorder: holding thousands of parsed events costs far
   * more (they outlive the young generation) than a sorted input needs.
   */
  reorderWindow?: number;
  /**
   * Optional time window in milliseconds: an input's buffered event is also released as soon as
   * an event of that input more than this much newer has been read. Bounds latency for inputs
   * that are known to be only slightly out of order.
   */
  reorderWindowMs?: number;
  /** Events without a parseable timestamp and late events are reported here. */
  onSkip?: (item: SkippedItem) => void;
  /** Called once per input the first time it delivers a late event, with advice. */
  onWarning?: (message: string) => void;
  /** A late event is skipped and reported (default), or stops the merge with an OutOfOrderError. */
  onLate?: 'skip' | 'throw';
}

/** An input is out of order beyond what the reorder buffers repair (mergeOrdered with onLate: 'throw'). */
export class OutOfOrderError extends Error {
  override name = 'OutOfOrderError';
}

export interface MergeStats {
  emitted: number;
  /** Events without a parseable timestamp (skipped). */
  noTimestamp: number;
  /** Events that arrived after newer events had been emitted (skipped). */
  late: number;
  /** Late events per input name. */
  lateByInput: Map<string, number>;
}

// 4,000 events repair the local disorder shippers produce (a bulk batch or two) while keeping the
// held parsed events (~20 KB of heap each for ECS documents) near 80 MB; a larger window is an option.
export const DEFAULT_REORDER_WINDOW = 4_000;
/** Initial per-input window while an input has shown no disorder (default window only). */
export const START_WINDOW = 256;
/** Smallest per-input buffer when the window is shared by many inputs. */
export const MIN_WINDOW = 1_000;

/** An event with its precomputed sort key. */
interface Keyed {
  doc: EventDoc;
  ms: number;
  ns: number;
  /** Tiebreaker: a number, a string, or undefined (sorts last). */
  tb: number | string | undefined;
  /** The `_id` the input gave the event ('' for derived ids, which then keep input order). */
  idk: string;
  /** Input index, then sequence within the input: stable order for full ties. */
  src: number;
  seq: number;
}

function compareTb(a: number | string | undefined, b: number | string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  const ta = typeof a;
  if (ta !== typeof b) return ta === 'number' ? -1 : 1; // numbers before strings
  return a < b ? -1 : 1;
}

/** The data's order: time, tiebreaker, then the input-given `_id`. */
export function compareData(a: SortKey, b: SortKey): number {
  return a.ms - b.ms || a.ns - b.ns || compareTb(a.tb, b.tb) || (a.idk === b.idk ? 0 : a.idk < b.idk ? -1 : 1);
}

/** Full order: the data's, then input order. */
export function compareKeyed(a: SortKey, b: SortKey): number {
  return compareData(a, b) || a.src - b.src || a.seq - b.seq;
}

/** The fields events are ordered by (see Keyed). */
export type SortKey = Pick<Keyed, 'ms' | 'ns' | 'tb' | 'idk' | 'src' | 'seq'>;

function tiebreakValue(v: unknown): number | string | undefined {
  if (Array.isArray(v)) v = v[0];
  if (typeof v === 'number') return Number.isNaN(v) ? undefined : v;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

const lessKeyed = (x: Keyed, y: Keyed) => compareKeyed(x, y) < 0;

/**
 * A reorder buffer tuned for mostly-sorted input: events that arrive in order go to a FIFO run
 * (O(1) in and out), only stragglers go to a heap. For a sorted file that costs one comparison per
 * event instead of two heap walks.
 */
class RunBuffer {
  private run: Keyed[] = [];
  private head = 0;
  private readonly stragglers = new Heap<Keyed>(lessKeyed);

  get size(): number {
    return this.run.length - this.head + this.stragglers.size;
  }

  /** Adds an event; false when it arrived out of order (it went to the stragglers). */
  push(e: Keyed): boolean {
    const run = this.run;
    if (run.length === this.head || compareKeyed(run[run.length - 1]!, e) <= 0) {
      run.push(e);
      return true;
    }
    this.stragglers.push(e);
    return false;
  }

  peek(): Keyed | undefined {
    const a = this.head < this.run.length ? this.run[this.head] : undefined;
    const b = this.stragglers.peek();
    if (a === undefined) return b;
    if (b === undefined) return a;
    return compareKeyed(b, a) < 0 ? b : a;
  }

  pop(): Keyed | undefined {
    const a = this.head < this.run.length ? this.run[this.head] : undefined;
    const b = this.stragglers.peek();
    if (a !== undefined && (b === undefined || compareKeyed(a, b) <= 0)) {
      this.run[this.head++] = undefined as unknown as Keyed;
      // Compact once the consumed prefix dominates, keeping pops amortised O(1).
      if (this.head > 1024 && this.head * 2 > this.run.length) {
        this.run = this.run.slice(this.head);
        this.head = 0;
      }
      return a;
    }
    return this.stragglers.pop();
  }
}

/** Builds Keyed entries; reports and drops events whose timestamp is missing or unparseable. */
export class Keyer {
  private readonly tsField: string;
  private readonly tbField: string | null;
  constructor(
    opts: OrderOptions,
    private readonly stats: MergeStats = newStats(),
  ) {
    this.tsField = opts.timestampField ?? '@timestamp';
    this.tbField = opts.tiebreakerField ?? null;
    this.onSkip = opts.onSkip;
  }
  private readonly onSkip: OrderOptions['onSkip'];

  key(doc: EventDoc, src: number, seq: number): Keyed | null {
    // A worker thread may have parsed the time already (parallel inputs).
    let t = doc.timeField === this.tsField ? doc.time : undefined;
    if (t === undefined) {
      t = stampEventTime(doc, this.tsField) ?? undefined;
      if (t === undefined) {
        this.stats.noTimestamp++;
        this.onSkip?.({ position: doc.position ?? { file: '' }, reason: timelessReason(doc, this.tsField) });
        return null;
      }
    }
    const tb = this.tbField === null ? undefined : tiebreakValue(getField(doc.source, this.tbField));
    return { doc, ms: t.ms, ns: t.ns, tb, idk: doc.derivedId ? '' : doc.id, src, seq };
  }
}

/** Parses the event's time from `tsField` and records it on the event; null when it has none. */
export function stampEventTime(doc: EventDoc, tsField: string): Instant | null {
  const t = parseInstant(getField(doc.source, tsField));
  if (t) {
    doc.time = t;
    doc.timeField = tsField;
  }
  return t;
}

/**
 * The input stage's time check: stamps the event's time, or reports the event as skipped (as the
 * merge would) and returns null. Parallel workers and hunt's routing stage use it before routing.
 */
export function timeOrSkip(doc: EventDoc, tsField: string, onSkip: ((item: SkippedItem) => void) | undefined): Instant | null {
  // The reader may have read it already, from the text (a number @timestamp: number-time.ts).
  if (doc.time !== undefined && doc.timeField === tsField) return doc.time;
  const t = stampEventTime(doc, tsField);
  if (!t) onSkip?.({ position: doc.position ?? { file: '' }, reason: timelessReason(doc, tsField) });
  return t;
}

/** Why an event without a usable time is skipped (the same words wherever it is detected). */
export function timelessReason(doc: EventDoc, tsField: string): string {
  const raw = getField(doc.source, tsField);
  if (raw !== undefined) return `event ${doc.id} has an unparseable ${tsField} ${JSON.stringify(raw)}; skipped`;
  const other = timeFieldOf(doc.source, tsField);
  return `event ${doc.id} has no ${tsField}; skipped` + (other ? ` (its time may be ${other}: give --timestamp-field ${other})` : '');
}

const TIME_NAME = /(^|[._@])(time|timestamp|date|datetime|ts|eventtime|utctime|created)$|time$|Time$|Date$/i;

/** A field (top level or one level down) whose name and value look like the event's time. */
export function timeFieldOf(source: Record<string, unknown>, except: string): string | undefined {
  const visit = (o: Record<string, unknown>, prefix: string, depth: number): string | undefined => {
    for (const [k, v] of Object.entries(o)) {
      const name = prefix + k;
      if (name === except) continue;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        if (depth > 0) {
          const inner = visit(v as Record<string, unknown>, name + '.', depth - 1);
          if (inner) return inner;
        }
      } else if ((typeof v === 'string' || typeof v === 'number') && TIME_NAME.test(k) && parseInstant(v)) return name;
    }
    return undefined;
  };
  return visit(source, '', 1);
}

/** Sorts events in memory by (timestamp, tiebreaker, input order); timeless events are reported. */
export function sortEvents(events: readonly EventDoc[], opts: OrderOptions = {}): EventDoc[] {
  const stats = newStats();
  const keyer = new Keyer(opts, stats);
  const keyed: Keyed[] = [];
  for (let i = 0; i < events.length; i++) {
    const k = keyer.key(events[i]!, 0, i);
    if (k) keyed.push(k);
  }
  keyed.sort(compareKeyed);
  return keyed.map((k) => k.doc);
}

function newStats(): MergeStats {
  return { emitted: 0, noTimestamp: 0, late: 0, lateByInput: new Map() };
}

/** An AsyncIterable that may also deliver batches (EventReader does). */
interface MaybeBatched extends AsyncIterable<EventDoc> {
  batches?: () => AsyncIterable<EventDoc[]>;
}

/** One input: its iterator, reorder buffer and bookkeeping. */
class Cursor {
  readonly buffer = new RunBuffer();
  private it: AsyncIterator<EventDoc[]> | AsyncIterator<EventDoc>;
  private readonly batched: boolean;
  private batch: EventDoc[] = [];
  private bi = 0;
  ended = false;
  seq = 0;
  /** Current reorder window of this input (events). */
  window = 0;
  /** Newest timestamp read from this input (for the time window). */
  maxMs = -Infinity;
  name: string;

  constructor(
    stream: MaybeBatched,
    readonly src: number,
  ) {
    this.batched = typeof stream.batches === 'function';
    this.it = this.batched ? stream.batches!()[Symbol.asyncIterator]() : stream[Symbol.asyncIterator]();
    const file = (stream as { file?: unknown }).file;
    this.name = typeof file === 'string' ? file : `input ${src + 1}`;
  }

  /** Next raw event, or null at the end. */
  async next(): Promise<EventDoc | null> {
    if (this.bi < this.batch.length) return this.batch[this.bi++]!;
    if (this.ended) return null;
    if (this.batched) {
      for (;;) {
        const r = await (this.it as AsyncIterator<EventDoc[]>).next();
        if (r.done) {
          this.ended = true;
          return null;
        }
        if (r.value.length === 0) continue;
        this.batch = r.value;
        this.bi = 1;
        return r.value[0]!;
      }
    }
    const r = await (this.it as AsyncIterator<EventDoc>).next();
    if (r.done) {
      this.ended = true;
      return null;
    }
    return r.value;
  }

  /** Synchronous next from the current batch, to avoid an await per event. */
  nextSync(): EventDoc | undefined {
    return this.bi < this.batch.length ? this.batch[this.bi++] : undefined;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/**
 * Merges inputs into one stream ordered by (timestamp, tiebreaker); ties keep input order (the
 * inputs' order in `streams`, then each input's own order). The returned object is iterable once
 * and exposes `stats` (complete when the iteration ends).
 */
export function mergeOrdered(streams: AsyncIterable<EventDoc>[], opts: OrderOptions = {}): MergedStream {
  return new MergedStream(streams, opts);
}

export class MergedStream implements AsyncIterable<EventDoc> {
  readonly stats: MergeStats = newStats();
  constructor(
    private readonly streams: AsyncIterable<EventDoc>[],
    private readonly opts: OrderOptions,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<EventDoc> {
    for await (const batch of this.batches()) yield* batch;
  }

  /**
   * The merged events in batches: consumers on the hot path iterate these to pay one promise per
   * batch rather than per event.
   */
  async *batches(maxBatch = 1024): AsyncGenerator<EventDoc[]> {
    const opts = this.opts;
    const stats = this.stats;
    const keyer = new Keyer(opts, stats);
    const total = opts.reorderWindow ?? DEFAULT_REORDER_WINDOW;
    const k = this.streams.length;
    const perInput = total <= 0 ? 0 : Math.max(Math.min(MIN_WINDOW, total), Math.ceil(total / Math.max(1, k)));
    const windowMs = opts.reorderWindowMs;
    const adaptive = opts.reorderWindow === undefined;
    const startWindow = adaptive ? Math.min(START_WINDOW, perInput) : perInput;
    const cursors = this.streams.map((s, i) => new Cursor(s as MaybeBatched, i));
    for (const c of cursors) c.window = startWindow;
    // Heap of inputs by their buffer's smallest event.
    const heads = new Heap<Cursor>((x, y) => compareKeyed(x.buffer.peek()!, y.buffer.peek()!) < 0);
    let last: Keyed | null = null;
    const warned = new Set<number>();

    const late = (c: Cursor, e: Keyed, prev: Keyed) => {
      if (opts.onLate === 'throw') {
        throw new OutOfOrderError(
          `input ${c.name} is not in time order beyond the reorder window (${c.window} events): event ${e.doc.id} at ${formatInstant(e)} comes after ${formatInstant(prev)}`,
        );
      }
      stats.late++;
      stats.lateByInput.set(c.name, (stats.lateByInput.get(c.name) ?? 0) + 1);
      const hint =
        `input ${c.name} is not sorted by ${opts.timestampField ?? '@timestamp'} beyond the reorder window ` +
        `(${c.window} events); sort it by time first, or raise --reorder-window`;
      opts.onSkip?.({
        position: e.doc.position ?? { file: c.name },
        reason: `late event ${e.doc.id}: ${formatInstant(e)} is older than ${formatInstant(prev)} already emitted; ${hint}`,
      });
      if (!warned.has(c.src)) {
        warned.add(c.src);
        opts.onWarning?.(hint);
      }
    };

    /**
     * Reads from `c` until its buffer holds a releasable event: the buffer is full, the input
     * ended, or (time window) the newest read event is far enough ahead of the oldest buffered.
     */
    const add = (c: Cursor, doc: EventDoc): void => {
      const e = keyer.key(doc, c.src, c.seq++);
      if (!e) return;
      if (last !== null && compareData(e, last) < 0) {
        late(c, e, last);
        c.window = perInput;
        return;
      }
      if (e.ms > c.maxMs) c.maxMs = e.ms;
      if (!c.buffer.push(e)) c.window = perInput;
    };
    const releasable = (c: Cursor): boolean => {
      const buf = c.buffer;
      return buf.size > c.window || (windowMs !== undefined && buf.size > 0 && c.maxMs - buf.peek()!.ms > windowMs);
    };
    /** Fills from the current batch; true when the input must be awaited for more. */
    const fillSync = (c: Cursor): boolean => {
      while (!releasable(c)) {
        const doc = c.nextSync();
        if (doc === undefined) return !c.ended;
        add(c, doc);
      }
      return false;
    };
    const fill = async (c: Cursor): Promise<void> => {
      while (fillSync(c)) {
        const doc = await c.next();
        if (doc === null) return;
        add(c, doc);
      }
    };

    let out: EventDoc[] = [];
    try {
      for (const c of cursors) {
        await fill(c);
        if (c.buffer.size > 0) heads.push(c);
      }
      while (heads.size > 0) {
        const c = heads.pop()!;
        const e = c.buffer.pop()!;
        last = e;
        stats.emitted++;
        out.push(e.doc);
        if (fillSync(c)) {
          // About to wait for input: hand over what is ready first.
          if (out.length > 0) {
            yield out;
            out = [];
          }
          await fill(c);
        } else if (out.length >= maxBatch) {
          yield out;
          out = [];
        }
        if (c.buffer.size > 0) heads.push(c);
      }
      if (out.length > 0) yield out;
    } finally {
      await Promise.all(cursors.map((c) => c.close()));
    }
  }
}
