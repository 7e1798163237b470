// Building a WriteBatch (protocol.ts): the items of one bulk request as two transferable buffers.
// Sources are spans of the request body (the bytes the shipper sent, stored unchanged) or, for
// the few documents eqlite rewrites (raw Windows events mapped to ECS, partial updates), strings
// appended after the body.
import { scannedTime, scannedTimeRefusal, scanObject, type ScanResult } from '../json-scan.js';
import { autoId } from './auto-id.js';
import { AUTO_ID_LENGTH, F, META, Op as Ops, type Op, type RejectedLine, type WriteBatch } from './protocol.js';

const OpUpdate = Ops.Update;

/** A source: bytes [off, off + len) of the body, or a rewritten document. */
export type Source = { off: number; len: number } | string | null;

export class WriteBatchBuilder {
  private meta: Float64Array;
  private count = 0;
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private ids: (string | null)[] | null = null;
  private readonly extras: Buffer[] = [];
  private extraLen = 0;
  /** Whether some item refers to the body's bytes. */
  private usesBody = false;

  /**
   * `body`: the bytes that { off, len } sources refer to. `ownsBuffer`: the body's whole
   * ArrayBuffer belongs to it (EventStore.bodyBuffer), so it can be transferred as it is.
   * `expected`: how many items will be added, when known (the numbers are then allocated once,
   * not grown and trimmed: a request of a million items holds 80 MB of them).
   */
  constructor(
    private readonly body: Uint8Array | null,
    private readonly ownsBuffer = false,
    expected = 64,
  ) {
    this.meta = new Float64Array(META * Math.max(1, expected));
  }

  get size(): number {
    return this.count;
  }

  /** Adds an item; returns its position in the batch. */
  /** `ts`: the checked source's @timestamp (epoch ms, null: none); undefined: the writer checks the source. */
  add(op: Op, index: string, id: string | null, src: Source, upsert: string | null, routed: number, line: number, ts?: number | null): number {
    const i = this.count++;
    if ((i + 1) * META > this.meta.length) {
      const grown = new Float64Array(this.meta.length * 2);
      grown.set(this.meta);
      this.meta = grown;
    }
    const m = this.meta;
    const o = i * META;
    m[o + F.op] = op;
    let n = this.nameIndex.get(index);
    if (n === undefined) {
      n = this.names.push(index) - 1;
      this.nameIndex.set(index, n);
    }
    m[o + F.index] = n;
    this.place(o + F.srcOff, o + F.srcLen, src);
    this.place(o + F.upsertOff, o + F.upsertLen, upsert);
    m[o + F.routed] = routed;
    m[o + F.line] = line;
    m[o + F.checked] = ts === undefined ? 0 : 1;
    m[o + F.ts] = ts === undefined || ts === null ? Number.NaN : ts;
    if (id !== null) {
      if (!this.ids) this.ids = new Array<string | null>(i).fill(null);
      this.ids.push(id);
    } else if (this.ids) this.ids.push(null);
    return i;
  }

  private place(offField: number, lenField: number, src: Source): void {
    const m = this.meta;
    if (src === null) {
      m[offField] = 0;
      m[lenField] = -1;
    } else if (typeof src === 'string') {
      const b = Buffer.from(src, 'utf8');
      m[offField] = -1 - this.extraLen; // resolved in build(), once the body's length is final
      m[lenField] = b.length;
      this.extras.push(b);
      this.extraLen += b.length;
    } else {
      m[offField] = src.off;
      m[lenField] = src.len;
      this.usesBody = true;
    }
  }

  /**
   * The batch and the buffers to transfer with it. When nothing was rewritten and the body owns
   * its whole ArrayBuffer, the body itself is handed over (the caller must not read it after the
   * transfer); otherwise one buffer is made of the body and the rewritten documents.
   */
  build(rejected: RejectedLine[]): { batch: WriteBatch; transfer: ArrayBuffer[] } {
    const body = this.usesBody ? this.body : null;
    const bodyLen = body ? body.length : 0;
    let bytes: Uint8Array;
    if (this.extraLen === 0 && body && body.byteOffset === 0 && body.buffer instanceof ArrayBuffer && (this.ownsBuffer || body.byteLength === body.buffer.byteLength)) {
      bytes = body;
    } else {
      bytes = new Uint8Array(new ArrayBuffer(bodyLen + this.extraLen));
      if (body) bytes.set(body);
      let at = bodyLen;
      for (const e of this.extras) {
        bytes.set(e, at);
        at += e.length;
      }
    }
    const m = this.meta.length === this.count * META ? this.meta : this.meta.slice(0, this.count * META);
    if (this.extraLen > 0) {
      for (let o = 0; o < m.length; o += META) {
        if (m[o + F.srcOff]! < 0) m[o + F.srcOff] = bodyLen + (-1 - m[o + F.srcOff]!);
        if (m[o + F.upsertOff]! < 0) m[o + F.upsertOff] = bodyLen + (-1 - m[o + F.upsertOff]!);
      }
    }
    const batch: WriteBatch = { count: this.count, meta: m, bytes, names: this.names, ids: this.ids, rejected };
    const transfer: ArrayBuffer[] = [m.buffer as ArrayBuffer];
    if (bytes.buffer !== m.buffer && bytes.byteLength > 0) transfer.push(bytes.buffer as ArrayBuffer);
    return { batch, transfer };
  }
}

/** A simple item, for callers that have documents rather than a request body (tests, tools). */
export interface SimpleItem {
  op: Op;
  index: string;
  /** The client's `_id`; absent: derived from the content. */
  id?: string;
  /** The document as JSON text (absent for delete). */
  src?: string;
  upsert?: string | null;
  routed?: number;
}

export function batchOf(items: readonly SimpleItem[], rejected: RejectedLine[] = []): { batch: WriteBatch; transfer: ArrayBuffer[] } {
  const b = new WriteBatchBuilder(null);
  items.forEach((it, line) => b.add(it.op, it.index, it.id ?? null, it.src ?? null, it.upsert ?? null, it.routed ?? 0, line));
  return b.build(rejected);
}

/** One item of a WriteBatch read back, for event logs that are not the SQLite store (the cluster's). */
export interface DecodedItem {
  op: Op;
  idx: string;
  /** The client's `_id`, or the content-derived id (autoId) of a document sent without one. */
  id: string;
  autoId: boolean;
  /** The document (JSON text); null for delete. */
  src: string | null;
  upsert: string | null;
  routed: number;
  /** @timestamp (epoch ms) of a checked document. */
  ts: number | null;
  /** Why the document is refused (not one JSON object, or an @timestamp that is not a time), or null. */
  refused: string | null;
}

const decodeScan: ScanResult = { error: null, tsKind: 0, tsStart: 0, tsEnd: 0, picked: null };

/**
 * The items of a batch as the SQLite writer reads them: documents the request parser did not check
 * are checked here, and ids are derived from the content where the client gave none.
 */
export function decodeBatch(b: WriteBatch): DecodedItem[] {
  const m = b.meta;
  const bytes = Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength);
  const out: DecodedItem[] = [];
  for (let i = 0; i < b.count; i++) {
    const o = i * META;
    const op = m[o + F.op]! as Op;
    const len = m[o + F.srcLen]!;
    const off = m[o + F.srcOff]!;
    const doc = len < 0 ? null : bytes.subarray(off, off + len);
    const ul = m[o + F.upsertLen]!;
    const upsert = ul < 0 ? null : bytes.toString('utf8', m[o + F.upsertOff]!, m[o + F.upsertOff]! + ul);
    let ts: number | null = null;
    let refused: string | null = null;
    if (doc && op !== OpUpdate) {
      if (m[o + F.checked] === 1) ts = Number.isNaN(m[o + F.ts]!) ? null : m[o + F.ts]!;
      else if (scanObject(doc, 0, len, decodeScan).error !== null) refused = `failed to parse the document: ${decodeScan.error}`;
      else {
        ts = scannedTime(doc, 0, len, decodeScan);
        refused = scannedTimeRefusal(doc, decodeScan, ts);
      }
    }
    const clientId = b.ids ? b.ids[i]! : null;
    const id = clientId ?? (doc && refused === null ? autoId(ts, doc) : '');
    out.push({ op, idx: b.names[m[o + F.index]!]!, id, autoId: clientId === null, src: doc ? doc.toString('utf8') : null, upsert, routed: m[o + F.routed]!, ts, refused });
  }
  return out;
}

/** The autoIds string of a WriteResult (AUTO_ID_LENGTH characters per item, blanks for client ids). */
export function autoIdsOf(items: readonly DecodedItem[]): string {
  const blank = ' '.repeat(AUTO_ID_LENGTH);
  return items.map((it) => (it.autoId && it.id.length === AUTO_ID_LENGTH ? it.id : blank)).join('');
}
