// External merge sort of events, for inputs whose disorder exceeds what the merge's reorder
// buffers repair. Events are added in any order; they come out in the merge's order
// (order.ts: time, tiebreaker, input-given `_id`, then input and position), so a sorted hunt sees
// exactly what it would have seen had every input been in order.
//
// Memory is bounded by a budget: events are kept serialised (one JSON line each, with their sort
// key in front) and counted by size; when the budget is full they are sorted and written to a
// temporary file as one sorted run. At the end the runs are merged with a heap of per-run
// readers (read in chunks of a few hundred KiB), in several passes when there are more runs than
// can be open at once. Input that fits the budget is sorted in memory and never touches the disk.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Heap } from '../util/heap.js';
import { compareKeyed, type SortKey } from './order.js';
import type { EventDoc, SourcePosition } from './types.js';
import { trackTempDir, untrackTempDir } from '../util/temp-dirs.js';

/** Default memory budget of a sort (bytes of serialised events held before spilling). */
export const DEFAULT_SORT_MEMORY = 512 * 1024 * 1024;
/** Runs merged at once; more are first merged in groups of this many. */
const FAN_IN = 64;
/** Bookkeeping per held event beyond its serialised size (key object, array slot, string header). */
const ENTRY_OVERHEAD = 96;

export interface SortStats {
  /** Events sorted. */
  events: number;
  /** Sorted runs written to disk (0 when everything fit in memory). */
  runs: number;
  /** Bytes written to temporary files (all merge passes). */
  spilledBytes: number;
  /** Merge passes over the runs before the final one. */
  mergePasses: number;
}

interface Entry extends SortKey {
  line: string;
}

/** A run line: the sort key, then the event (JSON never holds a raw newline). */
type Line = [number, number, number | string | null, string, number, number, EventRecord];

interface EventRecord {
  s: Record<string, unknown>;
  x: string;
  i: string;
  d?: 1;
  p?: SourcePosition;
  f?: string;
  r?: number[];
  /** EventDoc.numberTexts and fieldValues: the source's JSON numbers lose their text here. */
  n?: Readonly<Record<string, string | readonly string[]>>;
  v?: Readonly<Record<string, unknown>>;
}

function toEntry(line: string): Entry & { rec: EventRecord } {
  const a = JSON.parse(line) as Line;
  return { ms: a[0], ns: a[1], tb: a[2] ?? undefined, idk: a[3], src: a[4], seq: a[5], line, rec: a[6] };
}

function toEvent(e: SortKey & { rec: EventRecord }): EventDoc {
  const r = e.rec;
  const ev: EventDoc = { source: r.s, index: r.x, id: r.i, time: { ms: e.ms, ns: e.ns } };
  if (r.d) ev.derivedId = true;
  if (r.p) ev.position = r.p;
  if (r.f !== undefined) ev.timeField = r.f;
  if (r.r) ev.routed = r.r;
  if (r.n) ev.numberTexts = r.n;
  if (r.v) ev.fieldValues = r.v;
  return ev;
}

export class ExternalSorter {
  readonly stats: SortStats = { events: 0, runs: 0, spilledBytes: 0, mergePasses: 0 };
  private held: Entry[] = [];
  private heldBytes = 0;
  private dir: string | null = null;
  private runFiles: string[] = [];
  private fileSeq = 0;

  /**
   * `memory`: budget in bytes (held events, and the merge's read buffers); `tmpDir`: where the
   * runs go (default: the OS temporary directory, e.g. $TMPDIR).
   */
  constructor(
    private readonly memory = DEFAULT_SORT_MEMORY,
    private readonly tmpDir = tmpdir(),
    private readonly fanIn = FAN_IN,
  ) {}

  /** The directory holding this sort's temporary files (null when none exist). */
  get directory(): string | null {
    return this.dir;
  }

  /** Adds an event with its sort key (its time must be known: `key.ms`, `key.ns`). */
  add(ev: EventDoc, key: SortKey): void {
    const rec: EventRecord = { s: ev.source, x: ev.index, i: ev.id };
    if (ev.derivedId) rec.d = 1;
    if (ev.position) rec.p = { ...ev.position };
    if (ev.timeField !== undefined) rec.f = ev.timeField;
    if (ev.routed !== undefined) rec.r = [...ev.routed];
    if (ev.numberTexts !== undefined) rec.n = ev.numberTexts;
    // Only the values held: an absent one is read from the source again.
    if (ev.fieldValues !== undefined) {
      const held = Object.entries(ev.fieldValues).filter(([, x]) => x !== undefined);
      if (held.length > 0) rec.v = Object.fromEntries(held);
    }
    const line = JSON.stringify([key.ms, key.ns, key.tb ?? null, key.idk, key.src, key.seq, rec], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    this.held.push({ ms: key.ms, ns: key.ns, tb: key.tb, idk: key.idk, src: key.src, seq: key.seq, line });
    this.heldBytes += line.length + ENTRY_OVERHEAD;
    this.stats.events++;
    if (this.heldBytes >= this.memory) this.spill();
  }

  /** The events in order, in batches; removes the temporary files when done (or abandoned). */
  async *sorted(batchSize = 1024): AsyncGenerator<EventDoc[]> {
    try {
      if (this.runFiles.length === 0) {
        // Everything fit in the budget: sort in memory.
        const held = this.held;
        this.held = [];
        held.sort(compareKeyed);
        for (let i = 0; i < held.length; i += batchSize) {
          const out: EventDoc[] = [];
          for (let j = i; j < Math.min(held.length, i + batchSize); j++) {
            out.push(toEvent(toEntry(held[j]!.line)));
            held[j] = undefined as unknown as Entry;
          }
          yield out;
        }
        return;
      }
      this.spill();
      while (this.runFiles.length > this.fanIn) this.mergePass();
      let out: EventDoc[] = [];
      for (const e of this.merge(this.runFiles)) {
        out.push(toEvent(e));
        if (out.length >= batchSize) {
          yield out;
          out = [];
        }
      }
      if (out.length > 0) yield out;
    } finally {
      this.dispose();
    }
  }

  /** Removes the temporary files (also when the sort is abandoned before sorted() ends). */
  dispose(): void {
    this.held = [];
    if (this.dir) {
      rmSync(this.dir, { recursive: true, force: true });
      untrackTempDir(this.dir);
    }
    this.dir = null;
    this.runFiles = [];
  }

  private newFile(): { file: string; fd: number } {
    this.dir ??= trackTempDir(mkdtempSync(path.join(this.tmpDir, 'eqlite-sort-')));
    const file = path.join(this.dir, `run-${++this.fileSeq}.ndjson`);
    return { file, fd: openSync(file, 'w') };
  }

  /** Sorts the held events and writes them as one run. */
  private spill(): void {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    held.sort(compareKeyed);
    const { file, fd } = this.newFile();
    try {
      const w = new LineWriter(fd);
      for (let i = 0; i < held.length; i++) {
        w.write(held[i]!.line);
        held[i] = undefined as unknown as Entry;
      }
      this.stats.spilledBytes += w.close();
    } finally {
      closeSync(fd);
    }
    this.runFiles.push(file);
    this.stats.runs++;
  }

  /** Merges the runs in groups of FAN_IN into fewer, longer runs. */
  private mergePass(): void {
    this.stats.mergePasses++;
    const next: string[] = [];
    for (let i = 0; i < this.runFiles.length; i += this.fanIn) {
      const group = this.runFiles.slice(i, i + this.fanIn);
      if (group.length === 1) {
        next.push(group[0]!);
        continue;
      }
      const { file, fd } = this.newFile();
      try {
        const w = new LineWriter(fd);
        for (const e of this.merge(group)) w.write(e.line);
        this.stats.spilledBytes += w.close();
      } finally {
        closeSync(fd);
      }
      for (const f of group) rmSync(f, { force: true });
      next.push(file);
    }
    this.runFiles = next;
  }

  /** k-way merge of sorted run files. */
  private *merge(files: string[]): Generator<Entry & { rec: EventRecord }> {
    // Read buffers share the budget; a few hundred KiB each keeps reads efficient.
    const chunk = Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(this.memory / (2 * files.length))));
    const readers = files.map((f) => new LineReader(f, chunk));
    type Head = { e: Entry & { rec: EventRecord }; r: LineReader };
    const heap = new Heap<Head>((a, b) => compareKeyed(a.e, b.e) < 0);
    try {
      for (const r of readers) {
        const line = r.next();
        if (line !== null) heap.push({ e: toEntry(line), r });
      }
      while (heap.size > 0) {
        const h = heap.pop()!;
        yield h.e;
        const line = h.r.next();
        if (line !== null) heap.push({ e: toEntry(line), r: h.r });
      }
    } finally {
      for (const r of readers) r.close();
    }
  }
}

/** Buffered line output to a file descriptor. */
class LineWriter {
  private parts: string[] = [];
  private size = 0;
  private total = 0;
  constructor(private readonly fd: number) {}
  write(line: string): void {
    this.parts.push(line);
    this.size += line.length + 1;
    if (this.size >= 1 << 20) this.flush();
  }
  private flush(): void {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join('\n') + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.total += buf.length;
    this.parts = [];
    this.size = 0;
  }
  /** Flushes; returns the bytes written. */
  close(): number {
    this.flush();
    return this.total;
  }
}

/** Reads a file's lines in chunks (UTF-8; lines never contain a raw newline). */
class LineReader {
  private readonly fd: number;
  private readonly buf: Buffer;
  private lines: string[] = [];
  private li = 0;
  /** Bytes after the last newline read so far (copied: the read buffer is reused). */
  private rest: Buffer[] = [];
  private eof = false;
  constructor(file: string, chunk: number) {
    this.fd = openSync(file, 'r');
    this.buf = Buffer.allocUnsafe(chunk);
  }
  next(): string | null {
    while (this.li >= this.lines.length) {
      if (this.eof) return null;
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      this.li = 0;
      if (n === 0) {
        this.eof = true;
        const last = Buffer.concat(this.rest).toString('utf8');
        this.lines = last === '' ? [] : [last];
        this.rest = [];
        continue;
      }
      // Decode up to the last newline only, so that no multi-byte character is split.
      const end = this.buf.lastIndexOf(10, n - 1);
      if (end < 0) {
        this.rest.push(Buffer.from(this.buf.subarray(0, n)));
        this.lines = [];
        continue;
      }
      const head = this.buf.subarray(0, end);
      const text = this.rest.length > 0 ? Buffer.concat([...this.rest, head]).toString('utf8') : head.toString('utf8');
      this.rest = end + 1 < n ? [Buffer.from(this.buf.subarray(end + 1, n))] : [];
      this.lines = text.split('\n');
    }
    return this.lines[this.li++]!;
  }
  close(): void {
    closeSync(this.fd);
  }
}
