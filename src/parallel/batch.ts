// An input worker's batch (protocol.ts, EventBatch): every event's time, place and id as columns,
// the whole events' columns (forwarded.ts), written event by event into arrays kept from batch to
// batch and copied at the end into one ArrayBuffer, the batch's only transferred buffer.
import { getField } from '../engine/fields.js';
import type { EventDoc, SkippedItem } from '../events/types.js';
import { ColumnPack, ForwardedBuilder } from './forwarded.js';
import type { EventBatch } from './protocol.js';

export interface BatchOptions {
  /** Events a batch holds at most (WorkerConfig.batchEvents). */
  events: number;
  /** Whole events a batch holds at most (WorkerConfig.batchForwarded). */
  forwarded: number;
  /** EVTX records: positions are record, chunk and offset. */
  evtx: boolean;
  /** The reader's prefix of derived ids (EventBatch.idPrefix). */
  idPrefix: string;
  tiebreakerField: string | null;
  /** A hunt's: whole events carry their routes' answers (ForwardedColumns.answers). */
  answers: boolean;
  /** Values per whole event in ForwardedColumns.fv (0: none). */
  fields: number;
}

/** Where a whole event's line is (ForwardedBuilder.add copies it). */
const PLACE = { at: 0, bytes: 0, chars: 0 };

export class BatchBuilder {
  n = 0;
  private readonly ms: Float64Array;
  private readonly ns: Float64Array;
  private readonly pos: Float64Array;
  private readonly chunk: Float64Array | null;
  private readonly offset: Float64Array | null;
  /** The ids the main thread cannot make (EventBatch.ids), and their events' positions. */
  private ids: string[] = [];
  private readonly idAt: Int32Array;
  /** 1 where the id is derived (the input gave no `_id`): the merge orders ties by given ids only. */
  private readonly derived: Uint8Array;
  private tb: unknown[] | null;
  readonly fwd: ForwardedBuilder;
  skips: SkippedItem[] = [];

  constructor(private readonly o: BatchOptions) {
    const cap = o.events;
    this.idAt = new Int32Array(cap);
    this.ms = new Float64Array(cap);
    this.ns = new Float64Array(cap);
    this.pos = new Float64Array(cap);
    this.derived = new Uint8Array(cap);
    this.chunk = o.evtx ? new Float64Array(cap) : null;
    this.offset = o.evtx ? new Float64Array(cap) : null;
    this.tb = o.tiebreakerField === null ? null : [];
    this.fwd = new ForwardedBuilder(o.forwarded, o.answers, o.fields);
  }

  /** Whether the batch is to be sent before another event is added. */
  get full(): boolean {
    return this.n >= this.o.events || this.fwd.full;
  }

  /**
   * One event of the batch; whole (its document `json` or its source, `answers` and `fv`: see
   * ForwardedBuilder.add) when `routes` is not empty.
   */
  add(ev: EventDoc, ms: number, ns: number, routes: readonly number[], json: string | undefined, answers?: readonly unknown[], fv?: readonly unknown[]): void {
    const i = this.n++;
    this.ms[i] = ms;
    this.ns[i] = ns;
    this.derived[i] = ev.derivedId ? 1 : 0;
    const p = ev.position;
    const evtx = this.o.evtx;
    const line = evtx ? undefined : p?.line;
    this.pos[i] = (evtx ? p?.record : line) ?? Number.NaN;
    // A derived id that is `<prefix>:<line>` (checked, not assumed) is made by the main thread
    // from the line if it needs it; any other id travels.
    const id = ev.id;
    if (!(ev.derivedId === true && line !== undefined && id === `${this.o.idPrefix}:${line}`)) {
      this.idAt[this.ids.length] = i;
      this.ids.push(id);
    }
    if (evtx) {
      this.chunk![i] = p?.chunk ?? Number.NaN;
      this.offset![i] = p?.offset ?? Number.NaN;
    }
    // The merge orders by a number or string only (the first of several): send just that, so a
    // tiebreaker holding a deep object cannot break the message.
    if (this.tb) this.tb.push(tiebreakPrimitive(getField(ev.source, this.o.tiebreakerField!)));
    if (routes.length > 0) {
      let place: typeof PLACE | null = null;
      if (json !== undefined && json === ev.text && ev.textAt !== undefined) {
        // The main thread reads the line back from the file if it needs the document at all.
        place = PLACE;
        place.at = ev.textAt;
        place.bytes = ev.textBytes!;
        place.chars = json.length;
      }
      // The main thread's runs then read no field of the event, and parse its text only when
      // something else needs the document (an alert, a sequence that keeps it).
      this.fwd.add(i, ev.index, ev.derivedId === true, ev.derivedHostIp === true, routes, answers, fv, place, json, ev.source);
    }
  }

  /**
   * The batch to send and the one buffer to transfer with it (every typed column is a view of
   * it); the builder then starts the next batch.
   */
  take(id: number, b: number, sent: number, counts: { bytes: number; read: number; skipped: number }): { m: EventBatch; transfer: ArrayBuffer[] } {
    const n = this.n;
    const evtx = this.o.evtx;
    const fwd = this.fwd;
    const ids = this.ids.length;
    const pack = new ColumnPack((evtx ? 5 : 3) * n + fwd.f64, ids + fwd.i32, n + fwd.u8);
    const m: EventBatch = {
      t: 'batch',
      id,
      b,
      sent,
      n,
      ms: pack.f64(this.ms, n),
      ns: pack.f64(this.ns, n),
      ids: this.ids,
      idAt: pack.i32(this.idAt, ids),
      idPrefix: this.o.idPrefix,
      derived: pack.u8(this.derived, n),
      pos: pack.f64(this.pos, n),
      chunk: evtx ? pack.f64(this.chunk!, n) : null,
      offset: evtx ? pack.f64(this.offset!, n) : null,
      tb: this.tb,
      fwd: fwd.take(pack),
      skips: this.skips,
      ...counts,
    };
    this.n = 0;
    this.ids = [];
    if (this.tb !== null) this.tb = [];
    this.skips = [];
    return { m, transfer: [pack.buffer] };
  }
}

function tiebreakPrimitive(v: unknown): unknown {
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint' ? v : undefined;
}
