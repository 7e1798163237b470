// EVTX file reader: file header, 64 KiB chunks, event records (see shared docs/evtx-format.md).
//
// The file is read a block of chunks at a time through a file handle, so memory does not grow
// with file size. Each chunk is parsed synchronously into records whose values are already
// rendered strings, so the read buffer can be reused as soon as the chunk's records exist.

import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { BinXmlError, CHUNK_SIZE, ChunkBudgetError, ChunkContext, Instance, parseRecord, type XNode } from './binxml.js';
import { renderInstance } from './direct.js';
import { toRawEvent, toXmlText } from './render.js';
import type { RawWindowsEvent } from './types.js';
import { renderFiletime, u32le, type GuidCase } from './values.js';

export const FILE_HEADER_SIZE = 0x1000;
const CHUNK_HEADER_SIZE = 512;
const RECORD_MAGIC = 0x00002a2a;
const MIN_RECORD_SIZE = 28;

export type EvtxWarningKind =
  | 'file-header' // bad magic or CRC of the file header
  | 'chunk-crc' // chunk header CRC mismatch
  | 'data-crc' // CRC of the chunk's record data mismatch
  | 'chunk' // chunk slot skipped (no ElfChnk magic) or chunk header inconsistent
  | 'record' // record skipped (bad magic, size, or BinXml that cannot be decoded)
  | 'file' // file-level oddity (trailing partial chunk)
  | 'transform'; // the caller's transform threw for this record (parallel reader)

export interface EvtxWarning {
  kind: EvtxWarningKind;
  file: string;
  /** Chunk slot index (0-based), null for file-level warnings. */
  chunk: number | null;
  /** Record identifier from the record header, when known. */
  recordId: number | null;
  /** Absolute file offset of the problem. */
  offset: number;
  reason: string;
  /** One line naming file, chunk, record and offset, for logs and error messages. */
  message: string;
}

export interface EvtxStats {
  recordsRead: number;
  recordsSkipped: number;
  /** Chunks with a valid ElfChnk magic that were walked. */
  chunksRead: number;
  /** Non-empty chunk slots without the ElfChnk magic (garbage, overwritten). */
  chunksSkipped: number;
  /** All-zero chunk slots (pre-allocated, never written). */
  chunksEmpty: number;
  warnings: number;
}

export interface ReadOptions {
  /** Reject the file (throw EvtxError) on the first CRC mismatch or corruption. */
  strict?: boolean;
  onWarning?: (w: EvtxWarning) => void;
  guidCase?: GuidCase;
  /** Chunks read per I/O call (default 16 = 1 MiB). */
  readAheadChunks?: number;
}

/** A fatal problem (unreadable file, or any warning in strict mode). Message has no stack noise. */
export class EvtxError extends Error {
  constructor(
    message: string,
    readonly warning?: EvtxWarning,
    /** open: the file cannot be read; format: it is not an EVTX file; strict: a warning in strict mode. */
    readonly kind: 'open' | 'format' | 'strict' = 'strict',
  ) {
    super(message);
    this.name = 'EvtxError';
  }
}

export class EvtxRecord {
  private resolved: XNode[] | null;
  /** The record's template instance, unresolved, when the record is exactly one (most are). */
  readonly instance: Instance | null;
  constructor(
    /** Record identifier from the record header (may differ from System/EventRecordID in saved logs). */
    readonly recordId: number,
    /** Written time from the record header as a FILETIME's two halves (rendered when asked for). */
    private readonly writtenLo: number,
    private readonly writtenHi: number,
    /** Chunk slot index. */
    readonly chunk: number,
    /** Absolute file offset of the record header. */
    readonly offset: number,
    /** The record's XML: resolved, or its template instance (resolved when first asked for). */
    parsed: XNode[] | Instance,
  ) {
    this.instance = parsed instanceof Instance ? parsed : null;
    this.resolved = parsed instanceof Instance ? null : parsed;
  }
  /**
   * Written time from the record header, ISO 8601 UTC with 7 fractional digits. Rendered on
   * demand: events carry System/TimeCreated, and nothing on the reading path asks for this.
   */
  get timestamp(): string {
    return renderFiletime(this.writtenLo, this.writtenHi);
  }
  /** Resolved XML tree (shared subtrees: treat as read-only). */
  get nodes(): XNode[] {
    return (this.resolved ??= this.instance!.resolve());
  }
  toRaw(): RawWindowsEvent {
    // The usual record: its shape's compiled renderer. Everything else (a renderer still to
    // compile, a record walked or resolved) is one call away, so a caller's loop that the JIT
    // inlines toRaw into does not take in (and recompile for) the rare paths.
    const inst = this.instance;
    const render = inst !== null && inst.shape !== null ? inst.shape.render : null;
    if (render) return render(inst!.values);
    return RAW_OTHERWISE(this);
  }
  toXml(): string {
    return toXmlText(this.nodes);
  }
}

/**
 * rawOtherwise called through a Proxy, which the JIT never inlines: a caller's loop that inlines
 * toRaw (as the bench's and hunt's do) took in the renderer compiler and the template walk
 * through it, since every record of a new shape goes this way while the loop warms up, and
 * compiled all of that into the loop, twice (a sixth of the JIT's work on the bench). The
 * indirection costs a fraction of a microsecond on the rare records that take it.
 */
const RAW_OTHERWISE: (record: EvtxRecord) => RawWindowsEvent = new Proxy(rawOtherwise, {});

/** toRaw() of a record without a compiled renderer. */
function rawOtherwise(record: EvtxRecord): RawWindowsEvent {
  const inst = record.instance;
  if (inst) {
    const raw = renderInstance(inst);
    if (raw) return raw;
  }
  return toRawEvent(record.nodes);
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}

function u64(buf: Buffer, pos: number): number {
  return u32le(buf, pos) + u32le(buf, pos + 4) * 4294967296;
}

function isAllZero(buf: Buffer): boolean {
  // Compare 8 bytes at a time; unused slots are 64 KiB of zeros.
  for (let i = 0; i + 8 <= buf.length; i += 8) if (buf.readBigUInt64LE(i) !== 0n) return false;
  for (let i = buf.length & ~7; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Collects warnings, counts them, and turns them into errors in strict mode. */
export class Reporter {
  constructor(
    readonly file: string,
    readonly stats: EvtxStats,
    readonly opts: ReadOptions,
  ) {}
  warn(kind: EvtxWarningKind, chunk: number | null, recordId: number | null, offset: number, reason: string): void {
    const where = [this.file];
    if (chunk !== null) where.push(`chunk ${chunk}`);
    if (recordId !== null) where.push(`record ${recordId}`);
    where.push(`offset ${hex(offset)}`);
    const message = `${where.join(', ')}: ${reason}`;
    const w: EvtxWarning = { kind, file: this.file, chunk, recordId, offset, reason, message };
    this.stats.warnings++;
    if (this.opts.strict) throw new EvtxError(message, w);
    this.opts.onWarning?.(w);
  }
}

/** Checks the file header; returns false when it is not an EVTX header at all. */
function checkFileHeader(h: Buffer, rep: Reporter): boolean {
  if (h.toString('latin1', 0, 8) !== 'ElfFile\0') {
    rep.warn('file-header', null, null, 0, 'file header magic is not ElfFile');
    return false;
  }
  const flags = h.readUInt32LE(120);
  // Flag 0x4 (no-CRC32): the producer does not maintain checksums, so a mismatch means nothing.
  if (!(flags & 0x4)) {
    const crc = crc32(h.subarray(0, 120));
    const stored = h.readUInt32LE(124);
    if (crc !== stored) rep.warn('file-header', null, null, 124, `file header CRC32 ${hex(stored)} != computed ${hex(crc)}`);
  }
  return true;
}

/**
 * Walks one chunk (buf is exactly the chunk; buffer offsets are chunk offsets) and returns its
 * records. Corrupt records are reported and skipped; the walk stops only when the record
 * framing itself is lost (bad magic or size), since nothing after that can be located safely.
 */
export function parseChunk(
  buf: Buffer,
  chunkIndex: number,
  fileOffset: number,
  rep: Reporter,
  guidCase: GuidCase,
): EvtxRecord[] {
  const stats = rep.stats;
  const records: EvtxRecord[] = [];
  const flags = u32le(buf, 120);
  const checkCrc = !(flags & 0x4);
  if (checkCrc) {
    let crc = crc32(buf.subarray(0, 120));
    crc = crc32(buf.subarray(128, CHUNK_HEADER_SIZE), crc);
    const stored = u32le(buf, 124);
    if (crc !== stored)
      rep.warn('chunk-crc', chunkIndex, null, fileOffset + 124, `chunk header CRC32 ${hex(stored)} != computed ${hex(crc)}`);
  }
  let free = u32le(buf, 48);
  if (free < CHUNK_HEADER_SIZE || free > CHUNK_SIZE) {
    rep.warn('chunk', chunkIndex, null, fileOffset + 48, `free-space offset ${hex(free)} outside the chunk; scanning to the chunk end`);
    free = CHUNK_SIZE;
  } else if (checkCrc) {
    const crc = crc32(buf.subarray(CHUNK_HEADER_SIZE, free));
    const stored = u32le(buf, 52);
    if (crc !== stored)
      rep.warn('data-crc', chunkIndex, null, fileOffset + 52, `record data CRC32 ${hex(stored)} != computed ${hex(crc)}`);
  }
  const lastId = u64(buf, 32);
  const ctx = new ChunkContext(buf, guidCase);
  // The record headers' fields as 32-bit reads of the chunk (one bounds check each).
  const view = ctx.view;
  let off = CHUNK_HEADER_SIZE;
  while (off + 24 <= free) {
    const magic = view.getUint32(off, true);
    // Zeros: the clean end of the data, even when free-space offset claims more (evtx #197).
    if (magic === 0) break;
    if (magic !== RECORD_MAGIC) {
      rep.warn('record', chunkIndex, null, fileOffset + off, `bad record magic ${hex(magic)}; rest of chunk skipped`);
      break;
    }
    const size = view.getUint32(off + 4, true);
    const id = view.getUint32(off + 8, true) + view.getUint32(off + 12, true) * 4294967296;
    if (size < MIN_RECORD_SIZE || off + size > CHUNK_SIZE || view.getUint32(off + size - 4, true) !== size) {
      // The frame is unreliable, so the following records cannot be located: count this one
      // as skipped and end the chunk (libevtx drops such a truncated record too).
      stats.recordsSkipped++;
      const why =
        size < MIN_RECORD_SIZE || off + size > CHUNK_SIZE
          ? `record size ${size} invalid (chunk has ${CHUNK_SIZE - off} bytes left)`
          : `record size ${size} does not match its trailing copy ${buf.readUInt32LE(off + size - 4)} (truncated record)`;
      rep.warn('record', chunkIndex, id, fileOffset + off, `${why}; rest of chunk skipped`);
      break;
    }
    let nodes: XNode[] | Instance | null = null;
    try {
      nodes = parseRecord(ctx, off + 24, off + size - 4);
    } catch (e) {
      if (!(e instanceof BinXmlError)) throw e;
      if (e instanceof ChunkBudgetError) {
        // The chunk's budget is spent: every later record would be refused the same way, so
        // they are counted and reported together instead of being resolved one by one.
        const rest = countRecords(buf, off + size, free, lastId);
        stats.recordsSkipped += 1 + rest.count;
        const more = rest.count > 0 ? `; the chunk's ${rest.count} later record(s) (up to record ${rest.lastId}) are skipped too` : '';
        rep.warn('record', chunkIndex, id, fileOffset + e.chunkOffset, `record skipped: ${e.message}${more}`);
        break;
      }
      stats.recordsSkipped++;
      rep.warn('record', chunkIndex, id, fileOffset + e.chunkOffset, `record skipped: ${e.message}`);
    }
    if (nodes) {
      records.push(new EvtxRecord(id, view.getUint32(off + 16, true), view.getUint32(off + 20, true), chunkIndex, fileOffset + off, nodes));
      stats.recordsRead++;
    }
    off += size;
    if (id === lastId) break;
  }
  return records;
}

/** Counts the well-framed records from `off` on (same framing rules as parseChunk). */
function countRecords(buf: Buffer, off: number, free: number, lastId: number): { count: number; lastId: number | null } {
  let count = 0;
  let last: number | null = null;
  while (off + 24 <= free && buf.readUInt32LE(off) === RECORD_MAGIC) {
    const size = buf.readUInt32LE(off + 4);
    if (size < MIN_RECORD_SIZE || off + size > CHUNK_SIZE || buf.readUInt32LE(off + size - 4) !== size) break;
    const id = u64(buf, off + 8);
    count++;
    last = id;
    off += size;
    if (id === lastId) break;
  }
  return { count, lastId: last };
}

/** A zeroed buffer of `size` bytes whose first byte is at an odd address (see iterateEvtxChunks). */
export function oddBlock(size: number): Buffer {
  const whole = Buffer.alloc(size + 1);
  return whole.subarray(whole.byteOffset & 1 ? 0 : 1, (whole.byteOffset & 1 ? 0 : 1) + size);
}

export function emptyStats(): EvtxStats {
  return { recordsRead: 0, recordsSkipped: 0, chunksRead: 0, chunksSkipped: 0, chunksEmpty: 0, warnings: 0 };
}

/**
 * Streams the records of one file in file order. `stats` is updated as records are produced
 * and is final once iteration ends.
 */
export async function* iterateEvtx(path: string, opts: ReadOptions, stats: EvtxStats): AsyncGenerator<EvtxRecord> {
  for await (const recs of iterateEvtxChunks(path, opts, stats)) yield* recs;
}

/**
 * The records of one file, a chunk at a time (one promise per chunk instead of one per record:
 * at a few microseconds per record, per-record async iteration is a measurable share).
 */
export async function* iterateEvtxChunks(path: string, opts: ReadOptions, stats: EvtxStats): AsyncGenerator<EvtxRecord[]> {
  const rep = new Reporter(path, stats, opts);
  const guidCase = opts.guidCase ?? 'upper';
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new EvtxError(`${path}: cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, undefined, 'open');
  }
  try {
    const size = (await fh.stat()).size;
    if (size < FILE_HEADER_SIZE) throw new EvtxError(`${path}: offset 0x0: file of ${size} bytes is too short for an EVTX header`, undefined, 'format');
    const header = Buffer.alloc(FILE_HEADER_SIZE);
    await fh.read(header, 0, FILE_HEADER_SIZE, 0);
    const slots = Math.floor((size - FILE_HEADER_SIZE) / CHUNK_SIZE);
    const per = Math.max(1, Math.min(opts.readAheadChunks ?? 16, 256));
    // Two blocks: the next is read while the current one is decoded. Records keep nothing of
    // the chunk buffer (values are decoded and templates compiled when the chunk is parsed).
    // Each block starts one byte into its allocation, at an odd address: string values mostly
    // lie at odd chunk offsets (after the one-byte values a System template starts with), and
    // Node copies a UTF-16 string at an odd address into an aligned buffer before V8 copies it
    // again (a malloc, a memcpy and a free per string value otherwise).
    const blocks = [oddBlock(per * CHUNK_SIZE), oddBlock(per * CHUNK_SIZE)] as const;
    const readBlock = async (first: number, block: Buffer): Promise<number> => {
      const want = Math.min(per, slots - first) * CHUNK_SIZE;
      const pos = FILE_HEADER_SIZE + first * CHUNK_SIZE;
      let got = 0;
      while (got < want) {
        const r = await fh.read(block, got, want - got, pos + got);
        if (r.bytesRead === 0) break;
        got += r.bytesRead;
      }
      return got;
    };
    if (header.toString('latin1', 0, 8) !== 'ElfFile\0') {
      // Not an EVTX header: go on only if the first chunk looks real (a damaged header in an
      // otherwise intact log); a file of another type is an error, not an empty log. Checked
      // before the header's own warnings, which would only repeat it.
      const probe = Buffer.alloc(8);
      if (slots > 0) await fh.read(probe, 0, 8, FILE_HEADER_SIZE);
      if (slots === 0 || probe.toString('latin1') !== 'ElfChnk\0')
        throw new EvtxError(`${path}: offset 0x0: not an EVTX file (no ElfFile or ElfChnk magic)`, undefined, 'format');
    }
    checkFileHeader(header, rep);
    const rest = (size - FILE_HEADER_SIZE) % CHUNK_SIZE;
    if (rest !== 0)
      rep.warn('file', null, null, FILE_HEADER_SIZE + slots * CHUNK_SIZE, `${rest} trailing bytes after the last whole chunk ignored`);
    let pending: Promise<number> | null = null;
    try {
      for (let first = 0, cur = 0; first < slots; first += per, cur ^= 1) {
        const n = Math.min(per, slots - first);
        const pos = FILE_HEADER_SIZE + first * CHUNK_SIZE;
        const block = blocks[cur]!;
        const got = await (pending ?? readBlock(first, block));
        pending = null;
        if (first + per < slots) {
          pending = readBlock(first + per, blocks[cur ^ 1]!);
          // Awaited on the next turn, or in the finally below; never an unhandled rejection.
          pending.catch(() => undefined);
        }
        const whole = Math.floor(got / CHUNK_SIZE);
        for (let k = 0; k < whole; k++) {
          const idx = first + k;
          const chunkOff = pos + k * CHUNK_SIZE;
          const buf = block.subarray(k * CHUNK_SIZE, (k + 1) * CHUNK_SIZE);
          if (buf.toString('latin1', 0, 8) !== 'ElfChnk\0') {
            if (isAllZero(buf)) stats.chunksEmpty++;
            else {
              stats.chunksSkipped++;
              rep.warn('chunk', idx, null, chunkOff, 'no ElfChnk magic; chunk slot skipped');
            }
            continue;
          }
          stats.chunksRead++;
          const recs = parseChunk(buf, idx, chunkOff, rep, guidCase);
          if (recs.length > 0) yield recs;
        }
        if (whole < n) {
          // The file shrank while being read.
          rep.warn('file', null, null, pos + got, 'file ended before the expected chunk end');
          break;
        }
      }
    } finally {
      // A read still in flight (the caller stopped early, or an error) ends before the close.
      if (pending) await pending.catch(() => undefined);
    }
  } finally {
    await fh.close();
  }
}
