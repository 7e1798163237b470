// One NDJSON file on several workers: the file is cut into parts of about PART_BYTES at line
// starts, the workers read, parse and route parts (each its next one when it is done), and the
// main thread takes the parts' results strictly in file order. So a single large file — the usual
// hunt over one export, or every rule over one log — uses every core, while the events, their
// order, positions, ids, skipped lines and counters are exactly those of reading it in one piece:
//
//   - a part is read as the rest of the file from a line start (ReadOptions.range), numbering its
//     lines from the line it starts: the main thread finds where each part ends (the first line
//     start past PART_BYTES) and counts its newlines as it plans the next part, so positions,
//     derived ids and every message name the line in the whole file;
//   - that is the same as reading on from the previous part's end only when the splitter was, at
//     that line start, in the state a fresh one is in: true when the previous part ended at a line
//     start with nothing open (JsonSplitter.linesOnly after its end) — every item in it one line
//     of its own, or a pretty-printed object, an array, an object cut short that the scanner
//     followed past its line, all closed or abandoned before the part's end. A part that ended
//     inside such an item is not used: the rest of the file, from that part's start, is read in
//     one piece on one worker, which is what the single reader would have read from there;
//   - only when no line filter is used (OpenOptions.needles): a filter decides from the first
//     lines of an input whether it stays on, which a part cannot know;
//   - the main thread holds at most `ahead` parts from the workers that it has not consumed
//     (back-pressure), and at most LOCAL_AHEAD of its own; each worker reads one part at a time;
//   - the main thread reads parts too (LocalParts), whenever the part it must consume next is not
//     done yet: with every rule one worker is the bottleneck while the main thread, which runs the
//     rules' windows and sequences, waits for it about half the time. A part read here is routed
//     here, by a router of its own, and held (events, skipped items, counters) until its turn, so
//     what the merge receives is still in file order and the same as from a worker. Only while
//     the workers leave a core to spare (mainReadsParts): with as many workers as cores the main
//     thread's parts take a core from a worker, at a higher cost per event than there.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { emptyShape, iterable, type InputShape } from '../events/inputs.js';
import { InputError, type InputFile } from '../events/sources.js';
import { ioReason } from '../util/files.js';
import type { EventDoc, SkippedItem } from '../events/types.js';
import type { OpenedInput } from '../events/inputs.js';
import { sniffEncoding } from '../util/text.js';
import type { FileChannel, ParallelInput } from './pool.js';
import type { ByteRange } from './protocol.js';
import { FileLines } from './file-lines.js';

/** Size of a part: about 1,500 Agent events; small enough to hold a few per worker in memory. */
export const PART_BYTES = 4 << 20;

/**
 * Parts the main thread reads ahead of its turn (see LocalParts). They do not count against the
 * workers' `ahead`: a worker held back by the main thread's own parts left the main thread more
 * parts to wait for, which it then read itself (with every rule over 200,000 Agent events it
 * took 11.2 s of CPU against the worker's 6.7 s).
 */
const LOCAL_AHEAD = 2;

/**
 * Whether the main thread reads parts itself (LocalParts) beside `workers` workers on `cores`
 * cores: with one worker, or while a core is left over. With as many workers as cores every core
 * already reads, and an event read here costs more than on a worker (it is routed in the main
 * thread's larger heap, and its rules' runs evaluate their terms again instead of taking a
 * worker's answers): every rule over 200,000 Agent events with two workers on 2 cores, five
 * alternating pairs, took 16.4–20.7 s of CPU without the main thread's parts against 19.1–21.9 s
 * with them (the main thread 2.3–2.7 s against 4.0–4.9 s).
 */
export function mainReadsParts(workers: number, cores: number): boolean {
  return workers <= 1 || workers < cores;
}

/** Bytes looked at to decide that a file is UTF-8 NDJSON, and read at a time to measure a part. */
const PROBE = 64 << 10;

/**
 * Whether `path` can be read in parts: a regular file of at least two parts whose text starts,
 * after an optional UTF-8 byte order mark and blanks, with `{` — not gzip, not ZIP, not UTF-16 or
 * UTF-32. (A file that then holds multi-line JSON is still read right: see the fallback above.)
 */
export function splittable(path: string, partBytes: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false; // the reader reports it
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size < 2 * partBytes) return false;
    const head = Buffer.alloc(Math.min(PROBE, st.size));
    const n = readSync(fd, head, 0, head.length, 0);
    const b = head.subarray(0, n);
    if (b.length < 4 || (b[0] === 0x1f && b[1] === 0x8b) || b.readUInt32LE(0) === 0x04034b50) return false;
    const enc = sniffEncoding(b.subarray(0, 4));
    if ('refused' in enc || enc.encoding !== 'utf-8') return false;
    let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d || b[i] === 0x0a)) i++;
    return b[i] === 0x7b;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * Measures the part that starts at `start`: it ends at the first line start at or after
 * `start + min` (just past a newline), or at the end of the file (end -1); `newlines` are the
 * newlines in it, so the next part starts at line `line + newlines`. Reads the part's bytes once
 * (a few milliseconds for 4 MiB): lines are then numbered on the workers as in one piece.
 */
function measurePart(fd: number, start: number, min: number, buf: Buffer): { end: number; newlines: number } {
  let at = start;
  let newlines = 0;
  const target = start + min;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, at);
    if (n <= 0) return { end: -1, newlines };
    const b = n === buf.length ? buf : buf.subarray(0, n);
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) {
      newlines++;
      if (at + i + 1 >= target) return { end: at + i + 1, newlines };
    }
    at += n;
  }
}

export interface PartOptions {
  workers: readonly Worker[];
  /** A channel reading `range` of the file on `worker`; `part` false: the rest of the file, streamed. */
  channel: (worker: Worker, range: ByteRange, part: boolean, onDone: () => void) => FileChannel;
  /** Called once the file is read to its end, failed or was stopped. */
  onDone: () => void;
  /** A channel that has been consumed (the pool forgets it). */
  release: (c: FileChannel) => void;
  size: number;
  partBytes?: number;
  /** Parts started on the workers and not yet consumed (default 3 per worker). */
  ahead?: number;
  /**
   * The main thread's own reading of parts; absent: only the workers read them. Used only when
   * mainReadsParts says so on this machine.
   */
  local?: LocalParts;
  /** Receives the skipped items of the parts read on the main thread, in file order. */
  onSkip?: (item: SkippedItem) => void;
  /** Reads lines of the file back (LocalParts.open); kept open until the pool is closed. */
  lines?: () => FileLines;
}

/**
 * Reading parts of the file on the main thread (see the top of this file): `open` reads a range as
 * a worker would — every event timed and routed, those without a time reported to `onSkip` —, and
 * `take` gives the routing counters of what was opened since the last call, which start again
 * from zero (as a worker's part router does).
 */
export interface LocalParts {
  /**
   * `lines` reads lines of the file back (FileLines): an event read through a LinePicker holds
   * only some fields and stands for its line, read back when its document is needed.
   */
  open(range: ByteRange, onSkip: (item: SkippedItem) => void, lines: () => FileLines): OpenedInput;
  take(): unknown;
}

/** A part read on the main thread, held until its turn. */
interface LocalRead {
  batches: (EventDoc[] | null)[];
  /** skips[i]: the items skipped before batches[i]; the last entry, those after the last batch. */
  skips: SkippedItem[][];
  bytes: number;
  read: number;
  skipped: number;
  counters: unknown;
  shape: InputShape | undefined;
  linesOnly: boolean;
}

interface Part {
  /** The worker's channel; null for a part read on the main thread (`local`). */
  channel: FileChannel | null;
  worker: Worker | null;
  local: LocalRead | null;
  start: number;
  /** The line it starts (1-based). */
  line: number;
}

/** Adds counters of the same shape: numbers, and arrays of numbers, field by field. */
function addCounts(into: unknown, c: unknown): unknown {
  if (into === null || into === undefined) return c === null || c === undefined ? c : structuredClone(c);
  if (c === null || c === undefined) return into;
  const a = into as Record<string, unknown>;
  for (const [k, v] of Object.entries(c as Record<string, unknown>)) {
    if (typeof v === 'number') a[k] = ((a[k] as number | undefined) ?? 0) + v;
    else if (Array.isArray(v)) {
      const arr = a[k] as number[];
      for (let i = 0; i < v.length; i++) arr[i] = (arr[i] ?? 0) + (v[i] as number);
    }
  }
  return a;
}

function addShape(into: InputShape, s: InputShape | undefined): void {
  if (!s) return;
  into.docs += s.docs;
  into.noCategory += s.noCategory;
  for (const [k, v] of Object.entries(s.shapes)) into.shapes[k] = (into.shapes[k] ?? 0) + v;
}

/** One file read in parts (see the top of this file), as one input of the merge. */
export function partedInput(file: InputFile, opts: PartOptions): ParallelInput {
  const partBytes = Math.max(1, opts.partBytes ?? PART_BYTES);
  const local = mainReadsParts(opts.workers.length, availableParallelism()) ? (opts.local ?? null) : null;
  const ahead = Math.max(1, opts.ahead ?? 3 * opts.workers.length);
  // The main thread's parts are smaller: it starts one whenever the part it must consume next is
  // not done, and a smaller one overshoots that moment less. Every rule over 200,000 Agent events,
  // the busiest thread's CPU in four alternating pairs: 6.1–7.5 s with an eighth of a part (512
  // KiB), 7.3–8.4 s with a quarter; with a sixteenth the worker took 9.6–11.3 s (the main thread
  // then waited more than it read).
  const localBytes = Math.max(1, Math.floor(partBytes / 8));
  const lines = opts.lines ?? (() => (ownLines ??= new FileLines(file.path)));
  let ownLines: FileLines | null = null;
  const idle = new Set<Worker>(opts.workers);
  const parts: Part[] = [];
  let fd = -1;
  const probe = Buffer.alloc(PROBE);
  /** Start and first line of the next part to plan; start -1 once the last part (to the end of the file) is planned. */
  let next = 0;
  let nextLine = 1;
  let consumed = 0;
  /** Parts planned and not yet consumed: the workers', and this thread's. */
  let workerWaiting = 0;
  let localWaiting = 0;
  let stopped = false;
  let doneCalled = false;
  // Totals of the parts consumed so far, plus the current one's running counts.
  let bytesBefore = 0;
  let readBefore = 0;
  let skippedBefore = 0;
  let current: FileChannel | null = null;
  let counters: unknown = null;
  const shape = emptyShape();
  let started = false;

  const done = () => {
    if (doneCalled) return;
    doneCalled = true;
    if (fd >= 0) closeSync(fd);
    fd = -1;
    // (Documents read after the input's end open the file for themselves: FileLines.close.)
    ownLines?.close();
    opts.onDone();
  };

  /** Plans the next part of about `bytes`; null when none can be. */
  let planError: Error | null = null;
  const plan = (bytes: number): { start: number; line: number; range: ByteRange } | null => {
    if (stopped || planError !== null || next < 0) return null;
    const start = next;
    const line = nextLine;
    let m: { end: number; newlines: number };
    try {
      m = measurePart(fd, start, bytes, probe);
    } catch (e) {
      planError = new InputError(`cannot read ${file.path}: ${ioReason(e)}`);
      return null;
    }
    next = m.end;
    nextLine = line + m.newlines;
    const range: ByteRange = m.end < 0 ? { start, line, continued: start > 0 } : { start, end: m.end, line, continued: start > 0 };
    return { start, line, range };
  };

  /** Starts parts on idle workers while fewer than `ahead` wait to be consumed. */
  const schedule = () => {
    while (idle.size > 0 && workerWaiting < ahead) {
      const p = plan(partBytes);
      if (p === null) return;
      workerWaiting++;
      const worker = idle.values().next().value as Worker;
      idle.delete(worker);
      const part: Part = { worker, local: null, start: p.start, line: p.line, channel: null };
      part.channel = opts.channel(worker, p.range, true, () => {
        idle.add(worker);
        // Called from the channel's finish(): schedule after it has settled.
        queueMicrotask(schedule);
      });
      parts.push(part);
      part.channel.start();
    }
  };

  /**
   * Reads the next part on this thread and holds what it gave until its turn; false when no part
   * can be planned now (too many wait to be consumed, or the file is planned to its end).
   */
  const readLocal = async (): Promise<boolean> => {
    if (localWaiting >= LOCAL_AHEAD) return false;
    const p = plan(localBytes);
    if (p === null) return false;
    localWaiting++;
    const part: Part = { worker: null, local: null, start: p.start, line: p.line, channel: null };
    parts.push(part);
    let pending: SkippedItem[] = [];
    const input = local!.open(p.range, (s) => pending.push(s), lines);
    const batches: EventDoc[][] = [];
    const skips: SkippedItem[][] = [];
    for await (const b of input.batches()) {
      skips.push(pending);
      pending = [];
      batches.push(b);
    }
    skips.push(pending);
    const counts = input.counts();
    part.local = {
      batches,
      skips,
      bytes: input.bytesRead(),
      read: counts.read,
      skipped: counts.skipped,
      counters: local!.take(),
      shape: input.shape?.(),
      linesOnly: input.lineState?.().linesOnly ?? false,
    };
    return true;
  };

  const stop = () => {
    stopped = true;
    for (let k = consumed; k < parts.length; k++) parts[k]!.channel?.cancel();
  };

  async function* batches(): AsyncGenerator<EventDoc[]> {
    if (started) throw new Error(`${file.path}: a parallel input can be read only once`);
    started = true;
    try {
      try {
        fd = openSync(file.path, 'r');
      } catch (e) {
        throw new InputError(`cannot read ${file.path}: ${ioReason(e)}`);
      }
      schedule();
      while (consumed < parts.length) {
        const part = parts[consumed]!;
        const c = part.channel;
        if (c !== null) {
          // The main thread would wait for the worker: it reads a later part itself meanwhile.
          while (local !== null && !c.isDone && (await readLocal()));
          await c.whenDone();
          if (c.failed) throw c.failed;
        }
        const linesOnly = c !== null ? c.lines?.linesOnly === true : part.local!.linesOnly;
        if (!linesOnly) {
          // Not one item per line: from this part's start, read the rest in one piece.
          stop();
          const rest = opts.channel(part.worker ?? opts.workers[0]!, { start: part.start, line: part.line, continued: part.start > 0 }, false, () => undefined);
          current = rest;
          yield* rest.batches();
          take(rest);
          return;
        }
        if (c !== null) {
          current = c;
          yield* c.batches();
          take(c);
        } else {
          yield* localBatches(part.local!);
        }
        consumed++;
        if (c !== null) workerWaiting--;
        else localWaiting--;
        schedule();
      }
      if (planError) throw planError;
    } finally {
      stop();
      done();
    }
  }

  /** A part read on this thread, handed on in its turn: its skipped items before the events that follow them. */
  async function* localBatches(r: LocalRead): AsyncGenerator<EventDoc[]> {
    bytesBefore += r.bytes;
    readBefore += r.read;
    skippedBefore += r.skipped;
    counters = addCounts(counters, r.counters);
    addShape(shape, r.shape);
    for (let i = 0; i < r.batches.length; i++) {
      for (const s of r.skips[i]!) opts.onSkip?.(s);
      const b = r.batches[i]!;
      // Let go of what was handed on (a part holds a few hundred parsed events).
      r.batches[i] = null;
      yield b;
    }
    for (const s of r.skips[r.batches.length]!) opts.onSkip?.(s);
  }

  const take = (c: FileChannel) => {
    opts.release(c);
    bytesBefore += c.bytes;
    readBefore += c.read;
    skippedBefore += c.skipped;
    current = null;
    counters = addCounts(counters, c.routeCounters);
    addShape(shape, c.shape);
  };

  return {
    file: file.path,
    kind: file.kind,
    size: opts.size,
    batches,
    ...iterable(batches),
    bytesRead: () => bytesBefore + (current?.bytes ?? 0),
    counts: () => ({ read: readBefore + (current?.read ?? 0), skipped: skippedBefore + (current?.skipped ?? 0) }),
    shape: () => shape,
    counters: () => counters,
    parts: () => ({ started: parts.length, consumed, local: parts.filter((p) => p.channel === null).length }),
  };
}
