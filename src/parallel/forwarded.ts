// The whole events of a batch as columns (protocol.ts, ForwardedColumns): written on an input
// worker, one event after the other, and sent with their typed arrays transferred.
import { FWD_DERIVED_HOST_IP, FWD_DERIVED_ID, type ForwardedColumns } from './protocol.js';

export class ForwardedBuilder {
  n = 0;
  private i: Int32Array;
  private flags: Uint8Array;
  private index: Int32Array;
  private readonly indexes: string[] = [];
  /** The batch's index names and their numbers: a batch names a handful of data streams. */
  private readonly indexIds = new Map<string, number>();
  private routes: number[] = [];
  private routeEnd: Int32Array;
  private answers: unknown[] | null;
  private fv: unknown[] | null;
  private at: Float64Array;
  private bytes: Float64Array;
  private chars: Float64Array;
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
    this.answers = answers ? [] : null;
    this.fv = fields > 0 ? [] : null;
  }

  get full(): boolean {
    return this.n >= this.cap;
  }

  /**
   * One whole event at position `i` of its batch. Its document: `place` (bytes of the file, see
   * ForwardedColumns.at), else `json` (its text), else `source` (cloned). `answers` are appended
   * whole (the router's reused array); `fv` must hold `fields` values.
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
    this.routeEnd[k] = r.length;
    if (this.answers !== null && answers !== undefined) {
      const a = this.answers;
      for (let j = 0; j < answers.length; j++) a.push(answers[j]);
    }
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
      this.docs.push(json ?? source);
    }
  }

  /** The columns to send (null when no whole event was added) and the buffers to transfer. */
  take(transfer: ArrayBuffer[]): ForwardedColumns | null {
    const n = this.n;
    if (n === 0) return null;
    const cut = <T extends Int32Array | Uint8Array | Float64Array>(a: T): T => {
      const c = (n === this.cap ? a : a.slice(0, n)) as T;
      transfer.push(c.buffer as ArrayBuffer);
      return c;
    };
    const routes = Int32Array.from(this.routes);
    transfer.push(routes.buffer);
    return {
      n,
      i: cut(this.i),
      flags: cut(this.flags),
      index: cut(this.index),
      indexes: this.indexes,
      routes,
      routeEnd: cut(this.routeEnd),
      answers: this.answers,
      fv: this.fv,
      at: cut(this.at),
      bytes: cut(this.bytes),
      chars: cut(this.chars),
      docs: this.docs,
    };
  }
}
