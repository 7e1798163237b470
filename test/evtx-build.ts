// Test helper: builds small synthetic EVTX files byte by byte (file header, chunks, records,
// BinXml with inline names, inline template definitions and substitution values), so the
// reader can be tested without the shared corpus and with exactly known content.

import { crc32 } from 'node:zlib';

export type Part = string | { sub: number; opt?: boolean };
export interface ElSpec {
  name: string;
  attrs?: [string, Part[]][];
  children?: (ElSpec | Part)[];
}
export interface ValueSpec {
  type: number;
  bytes: Buffer;
  /** BinXml value (0x21) written in place, since its names/templates are chunk offsets. */
  nested?: (w: ChunkWriter) => void;
}

const enc16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

/** Writes BinXml at known chunk offsets (names and templates are chunk-relative). */
export class ChunkWriter {
  readonly buf = Buffer.alloc(0x10000);
  pos = 512;
  private names = new Map<string, number>();
  private templates = new Map<string, number>();
  private lastRecord = 0;
  firstId = 0;
  lastId = 0;

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }
  bytes(b: Buffer): void {
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  name(n: string): void {
    const known = this.names.get(n);
    if (known !== undefined) return this.u32(known);
    const at = this.pos + 4;
    this.names.set(n, at);
    this.u32(at);
    this.u32(0); // next in bucket
    let h = 0;
    for (let i = 0; i < n.length; i++) h = (Math.imul(h, 65599) + n.charCodeAt(i)) >>> 0;
    this.u16(h & 0xffff);
    this.u16(n.length);
    this.bytes(enc16(n));
    this.u16(0);
  }

  private part(p: Part): void {
    if (typeof p === 'string') {
      this.u8(0x05);
      this.u8(0x01);
      this.u16(p.length);
      this.bytes(enc16(p));
    } else {
      this.u8(p.opt ? 0x0e : 0x0d);
      this.u16(p.sub);
      this.u8(0x01);
    }
  }

  element(e: ElSpec, depId: boolean): void {
    const attrs = e.attrs ?? [];
    this.u8(attrs.length ? 0x41 : 0x01);
    if (depId) this.u16(0xffff);
    const sizeAt = this.pos;
    this.u32(0);
    this.name(e.name);
    let listAt = -1;
    if (attrs.length) {
      listAt = this.pos;
      this.u32(0);
    }
    const listStart = this.pos;
    attrs.forEach(([n, parts], i) => {
      this.u8(i < attrs.length - 1 ? 0x46 : 0x06);
      this.name(n);
      for (const p of parts) this.part(p);
    });
    if (listAt >= 0) this.buf.writeUInt32LE(this.pos - listStart, listAt);
    const children = e.children ?? [];
    if (children.length === 0) this.u8(0x03);
    else {
      this.u8(0x02);
      for (const c of children) {
        if (typeof c === 'object' && 'name' in c) this.element(c, depId);
        else this.part(c);
      }
      this.u8(0x04);
    }
    this.buf.writeUInt32LE(this.pos - sizeAt - 4, sizeAt);
  }

  /** TemplateInstance: inline definition the first time `key` is used in this chunk. */
  templateInstance(key: string, body: ElSpec, values: ValueSpec[]): void {
    this.u8(0x0c);
    this.u8(0x01);
    this.u32(0x1234);
    const known = this.templates.get(key);
    if (known !== undefined) this.u32(known);
    else {
      const at = this.pos + 4;
      this.templates.set(key, at);
      this.u32(at);
      this.u32(0); // next template
      this.bytes(Buffer.alloc(16, 0xab)); // GUID
      const sizeAt = this.pos;
      this.u32(0);
      const start = this.pos;
      this.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      this.element(body, true);
      this.u8(0x00);
      this.buf.writeUInt32LE(this.pos - start, sizeAt);
    }
    this.u32(values.length);
    const descAt = this.pos;
    for (const v of values) {
      this.u16(v.bytes.length);
      this.u8(v.type);
      this.u8(0);
    }
    values.forEach((v, i) => {
      if (!v.nested) return this.bytes(v.bytes);
      const start = this.pos;
      v.nested(this);
      this.buf.writeUInt16LE(this.pos - start, descAt + 4 * i);
    });
  }

  /** A record: header, fragment header + template instance (or raw BinXml via `write`), trailer. */
  record(id: number, filetime: bigint, write: (w: ChunkWriter) => void): number {
    const start = this.pos;
    this.u32(0x2a2a);
    this.u32(0);
    this.buf.writeBigUInt64LE(BigInt(id), this.pos);
    this.pos += 8;
    this.buf.writeBigUInt64LE(filetime, this.pos);
    this.pos += 8;
    write(this);
    const size = this.pos - start + 4;
    this.u32(size);
    this.buf.writeUInt32LE(size, start + 4);
    if (!this.firstId) this.firstId = id;
    this.lastId = id;
    this.lastRecord = start;
    return start;
  }

  /** Fills the chunk header, with correct CRCs unless told otherwise. */
  finish(opts: { badHeaderCrc?: boolean; badDataCrc?: boolean } = {}): Buffer {
    const b = this.buf;
    b.write('ElfChnk\0', 0, 'latin1');
    b.writeBigUInt64LE(BigInt(this.firstId), 8);
    b.writeBigUInt64LE(BigInt(this.lastId), 16);
    b.writeBigUInt64LE(BigInt(this.firstId), 24);
    b.writeBigUInt64LE(BigInt(this.lastId), 32);
    b.writeUInt32LE(128, 40);
    b.writeUInt32LE(this.lastRecord, 44);
    b.writeUInt32LE(this.pos, 48);
    b.writeUInt32LE((crc32(b.subarray(512, this.pos)) ^ (opts.badDataCrc ? 1 : 0)) >>> 0, 52);
    const hc = crc32(b.subarray(128, 512), crc32(b.subarray(0, 120)));
    b.writeUInt32LE((hc ^ (opts.badHeaderCrc ? 1 : 0)) >>> 0, 124);
    return b;
  }
}

export function fileHeader(chunks: number): Buffer {
  const h = Buffer.alloc(4096);
  h.write('ElfFile\0', 0, 'latin1');
  h.writeBigUInt64LE(0n, 8);
  h.writeBigUInt64LE(BigInt(Math.max(0, chunks - 1)), 16);
  h.writeUInt32LE(128, 32);
  h.writeUInt16LE(1, 36);
  h.writeUInt16LE(3, 38);
  h.writeUInt16LE(4096, 40);
  h.writeUInt16LE(chunks, 42);
  h.writeUInt32LE(crc32(h.subarray(0, 120)), 124);
  return h;
}

// Value encoders.
export const v = {
  str: (s: string): ValueSpec => ({ type: 0x01, bytes: enc16(s) }),
  u8: (n: number): ValueSpec => ({ type: 0x04, bytes: Buffer.from([n]) }),
  u16: (n: number): ValueSpec => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return { type: 0x06, bytes: b };
  },
  u32: (n: number): ValueSpec => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return { type: 0x08, bytes: b };
  },
  u64: (n: bigint, type = 0x0a): ValueSpec => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return { type, bytes: b };
  },
  hex32: (n: number): ValueSpec => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return { type: 0x14, bytes: b };
  },
  bool: (n: number): ValueSpec => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return { type: 0x0d, bytes: b };
  },
  null: (size = 0): ValueSpec => ({ type: 0x00, bytes: Buffer.alloc(size) }),
  raw: (type: number, bytes: Buffer): ValueSpec => ({ type, bytes }),
  nested: (write: (w: ChunkWriter) => void): ValueSpec => ({ type: 0x21, bytes: Buffer.alloc(0), nested: write }),
  strArray: (items: string[]): ValueSpec => ({ type: 0x81, bytes: enc16(items.map((s) => s + '\0').join('')) }),
};

/** The standard outer Event/System template used by the synthetic files. */
export const EVENT_TEMPLATE: ElSpec = {
  name: 'Event',
  attrs: [['xmlns', ['http://schemas.microsoft.com/win/2004/08/events/event']]],
  children: [
    {
      name: 'System',
      children: [
        { name: 'Provider', attrs: [['Name', [{ sub: 0, opt: true }]], ['Guid', [{ sub: 1, opt: true }]]] },
        { name: 'EventID', children: [{ sub: 2 }] },
        { name: 'TimeCreated', attrs: [['SystemTime', [{ sub: 3, opt: true }]]] },
        { name: 'EventRecordID', children: [{ sub: 4, opt: true }] },
        { name: 'Correlation', attrs: [['ActivityID', [{ sub: 5, opt: true }]]] },
        { name: 'Channel', children: [{ sub: 6 }] },
        { name: 'Computer', children: [{ sub: 7 }] },
      ],
    },
    { sub: 8, opt: true },
  ],
};

/** Builds a whole file from chunk buffers (and optional raw slots). */
export function buildFile(chunks: Buffer[], headerChunks = chunks.length): Buffer {
  return Buffer.concat([fileHeader(headerChunks), ...chunks]);
}
