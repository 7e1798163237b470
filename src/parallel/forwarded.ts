// The whole events of a batch as columns (protocol.ts, ForwardedColumns): written on an input
// worker, one event after the other, into arrays the builder keeps from batch to batch, and copied
// at the end of a batch into the batch's one transferred buffer (ColumnPack).
import { KEYS_MISSING, KEYS_UNKNOWN, MAX_ANSWERED_TERMS, NOT_ANSWERED, PASSED } from '../engine/answers.js';
import type { TermAnswers } from '../engine/types.js';
import { FWD_DERIVED_HOST_IP, FWD_DERIVED_ID, type ForwardedColumns } from './protocol.js';

/**
 * One ArrayBuffer holding every typed column of a batch: a batch used to transfer a dozen buffers,
 * each allocated at its full capacity (4,096 events) and then cut to size — half a megabyte of
 * zeroed memory per batch of a few hundred events, outside the heap, which the worker's GC also
 * has to account. Float64 columns come first, then Int32 ones, then bytes, so every view is
 * aligned whatever the lengths; `f64`, `i32` and `u8` are the element counts to hold.
 */
export class ColumnPack {
  readonly buffer: ArrayBuffer;
  private f: number;
  private i: number;
  private u: number;
  constructor(f64: number, i32: number, u8: number) {
    this.buffer = new ArrayBuffer(f64 * 8 + i32 * 4 + u8);
    this.f = 0;
    this.i = f64 * 8;
    this.u = this.i + i32 * 4;
  }
  /** The first `n` values of `src`, copied into the next Float64 place. */
  f64(src: Float64Array, n: number): Float64Array {
    const v = new Float64Array(this.buffer, this.f, n);
    if (n > 0) v.set(n === src.length ? src : src.subarray(0, n));
    this.f += n * 8;
    return v;
  }
  i32(src: Int32Array, n: number): Int32Array {
    const v = new Int32Array(this.buffer, this.i, n);
    if (n > 0) v.set(n === src.length ? src : src.subarray(0, n));
    this.i += n * 4;
    return v;
  }
  u8(src: Uint8Array, n: number): Uint8Array {
    const v = new Uint8Array(this.buffer, this.u, n);
    if (n > 0) v.set(n === src.length ? src : src.subarray(0, n));
    this.u += n;
    return v;
  }
}

/** A growing Int32 column, kept from batch to batch. */
class Ints {
  a = new Int32Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
}

export class ForwardedBuilder {
  n = 0;
  private readonly i: Int32Array;
  private readonly flags: Uint8Array;
  private readonly index: Int32Array;
  private indexes: string[] = [];
  /** The batch's index names and their numbers: a batch names a handful of data streams. */
  private readonly indexIds = new Map<string, number>();
  private readonly routes = new Ints();
  private readonly routeEnd: Int32Array;
  /** The answers, packed (ForwardedColumns.answers), and their join-key values. */
  private readonly answers: Ints | null;
  private values: unknown[] = [];
  /** The batch's string values and their places in `values`. */
  private readonly valueIds = new Map<string, number>();
  private fv: unknown[] | null;
  private readonly at: Float64Array;
  private readonly bytes: Float64Array;
  private readonly chars: Float64Array;
  private docs: (string | Record<string, unknown>)[] = [];

  /**
   * `cap`: whole events a batch holds at most (WorkerConfig.batchForwarded); `answers`: a hunt's
   * (the answers column is kept); `fields`: values per event in the fv column (0: none).
   */
  constructor(
    private readonly cap: number,
    answers: boolean,
    private readonly fields: number,
  ) {
    this.i = new Int32Array(cap);
    this.flags = new Uint8Array(cap);
    this.index = new Int32Array(cap);
    this.routeEnd = new Int32Array(cap);
    this.at = new Float64Array(cap);
    this.bytes = new Float64Array(cap);
    this.chars = new Float64Array(cap);
    this.answers = answers ? new Ints() : null;
    this.fv = fields > 0 ? [] : null;
  }

  get full(): boolean {
    return this.n >= this.cap;
  }

  /**
   * One whole event at position `i` of its batch. Its document: `place` (bytes of the file, see
   * ForwardedColumns.at), else `json` (its text), else `source` (cloned). `answers`: the flat
   * answers (engine/answers.ts) of exactly `routes.length` queries, packed here (the router's
   * reused array); `fv` must hold `fields` values.
   */
  add(
    i: number,
    index: string,
    derivedId: boolean,
    derivedHostIp: boolean,
    routes: readonly number[],
    answers: readonly unknown[] | undefined,
    fv: readonly unknown[] | undefined,
    place: { at: number; bytes: number; chars: number } | null,
    json: string | undefined,
    source: Record<string, unknown>,
  ): void {
    const k = this.n++;
    this.i[k] = i;
    this.flags[k] = (derivedId ? FWD_DERIVED_ID : 0) | (derivedHostIp ? FWD_DERIVED_HOST_IP : 0);
    let id = this.indexIds.get(index);
    if (id === undefined) {
      id = this.indexes.length;
      this.indexes.push(index);
      this.indexIds.set(index, id);
    }
    this.index[k] = id;
    const r = this.routes;
    for (let j = 0; j < routes.length; j++) r.push(routes[j]!);
    this.routeEnd[k] = r.n;
    if (this.answers !== null && answers !== undefined) this.pack(answers, routes.length);
    if (this.fv !== null) {
      const f = this.fv;
      for (let j = 0; j < this.fields; j++) f.push(fv === undefined ? undefined : fv[j]);
    }
    if (place !== null) {
      this.at[k] = place.at;
      this.bytes[k] = place.bytes;
      this.chars[k] = place.chars;
    } else {
      this.at[k] = Number.NaN;
      this.bytes[k] = 0;
      this.chars[k] = 0;
      this.docs.push(json ?? source);
    }
  }

  /**
   * Appends the flat answers of `count` queries in their packed form: every number of the flat
   * form as it is, and each join-key value as its place in `values`. One event's rules mostly join
   * on the same few fields (process.entity_id, host.id), so its strings repeat from rule to rule and
   * from event to event of a batch: each distinct string travels once, and the main thread keeps
   * one copy of it. Other values (numbers, booleans, null) are not shared (a Map would take 0 for
   * -0).
   */
  private pack(flat: readonly unknown[], count: number): void {
    const out = this.answers!;
    let at = 0;
    for (let q = 0; q < count; q++) {
      const mask = flat[at++] as number;
      const keyed = flat[at++] as number;
      out.push(mask);
      out.push(keyed);
      if (mask === NOT_ANSWERED || keyed !== 1) continue;
      for (let j = 0; j < MAX_ANSWERED_TERMS; j++) {
        if (((mask >>> j) & 1) === 0) {
          if (mask >>> j === 0) break;
          continue;
        }
        const n = flat[at++] as number;
        out.push(n);
        for (let v = 0; v < n; v++) out.push(this.valueId(flat[at++]));
      }
    }
    // The flat form says its own length only through the routes' count: a mismatch would shift
    // every later answer of the batch onto the wrong rule.
    if (at !== flat.length) throw new Error(`answers of ${count} queries hold ${flat.length} values, ${at} read`);
  }

  private valueId(v: unknown): number {
    if (typeof v === 'string') {
      const id = this.valueIds.get(v);
      if (id !== undefined) return id;
      this.valueIds.set(v, this.values.length);
    }
    return this.values.push(v) - 1;
  }

  /** Typed values take(pack) writes: Float64, Int32 and bytes (see ColumnPack). */
  get f64(): number {
    return 3 * this.n;
  }
  get i32(): number {
    return 3 * this.n + this.routes.n + (this.answers?.n ?? 0);
  }
  get u8(): number {
    return this.n;
  }

  /** The columns to send (null when no whole event was added), written into `pack`; starts a new batch. */
  take(pack: ColumnPack): ForwardedColumns | null {
    const n = this.n;
    if (n === 0) return null;
    const a = this.answers;
    const cols: ForwardedColumns = {
      n,
      i: pack.i32(this.i, n),
      flags: pack.u8(this.flags, n),
      index: pack.i32(this.index, n),
      indexes: this.indexes,
      routes: pack.i32(this.routes.a, this.routes.n),
      routeEnd: pack.i32(this.routeEnd, n),
      answers: a === null ? null : pack.i32(a.a, a.n),
      values: a === null ? null : this.values,
      fv: this.fv,
      at: pack.f64(this.at, n),
      bytes: pack.f64(this.bytes, n),
      chars: pack.f64(this.chars, n),
      docs: this.docs,
    };
    this.n = 0;
    this.indexes = [];
    this.indexIds.clear();
    this.routes.n = 0;
    if (a !== null) a.n = 0;
    this.values = [];
    this.valueIds.clear();
    if (this.fv !== null) this.fv = [];
    this.docs = [];
    return cols;
  }
}

/**
 * Reads the answers of `count` queries from a batch's packed answers (ForwardedColumns.answers
 * and .values), starting at `at`, into `out`: the TermAnswers readAnswers gives for the flat form
 * they were packed from. Returns where they end.
 */
export function readPackedAnswers(packed: Int32Array, values: readonly unknown[], count: number, out: (TermAnswers | null)[], at: number): number {
  for (let q = 0; q < count; q++) {
    const mask = packed[at++]!;
    const keyed = packed[at++] === 1;
    if (mask === NOT_ANSWERED) {
      out[q] = null;
      continue;
    }
    if (!keyed) {
      out[q] = mask === 1 ? PASSED : { mask };
      continue;
    }
    const keys: (unknown[] | null | undefined)[] = [];
    for (let j = 0; j < MAX_ANSWERED_TERMS; j++) {
      if (((mask >>> j) & 1) === 0) {
        if (mask >>> j === 0) break;
        keys.push(undefined);
        continue;
      }
      const n = packed[at++]!;
      if (n === KEYS_MISSING) keys.push(null);
      else if (n === KEYS_UNKNOWN) keys.push(undefined);
      else {
        const v = new Array<unknown>(n);
        for (let i = 0; i < n; i++) v[i] = values[packed[at++]!];
        keys.push(v);
      }
    }
    out[q] = { mask, keys };
  }
  return at;
}
