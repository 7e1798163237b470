// Parallel inputs: files read, mapped and routed on worker threads (protocol.ts, worker.ts).
//
// Each file becomes an OpenedInput like the single-threaded ones, so the ordered merge and the
// consumers (hunt, query) do not change: its events come in file order, those a consumer needs
// whole and carrying `routed`, the others as light stubs (time, id, position, `routed` empty).
// Files are spread round-robin over the workers and all open at once (the merge needs the head of
// every file); a file whose batches the merge has not taken yet pauses after `credits` batches,
// so a merge that drains one file first never deadlocks and memory stays bounded.
import { markFirstEventRead } from '../util/startup-trace.js';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { emptyShape, iterable, type HostAddresses, type InputShape, type OpenedInput } from '../events/inputs.js';
import { InputError, type InputFile } from '../events/sources.js';
import type { EventDoc, SkippedItem, SourcePosition } from '../events/types.js';
import type { HostAddressBook, WindowsProfile } from '../events/windows/index.js';
import { workerEntry } from '../util/worker-entry.js';
import { partedInput, PART_BYTES, splittable, type LocalParts } from './chunks.js';
import { FWD_DERIVED_HOST_IP, FWD_DERIVED_ID, timestampOverrides, type ByteRange, type EventBatch, type FromWorker, type RouteSpec, type ToWorker, type WorkerConfig } from './protocol.js';
import type { TermAnswers } from '../engine/types.js';
import { readAnswers } from '../engine/answers.js';
import { FileLines } from './file-lines.js';
import { RouteLists } from './route-lists.js';
import { workersTakeDefaultYoungGeneration } from '../util/young-generation.js';

// node:worker_threads is loaded when the first worker starts: a hunt on the main thread (the
// default for one NDJSON file) does not pay for it at start-up.
let workerThreadsModule: typeof import('node:worker_threads') | undefined;
const workerThreads = (): typeof import('node:worker_threads') =>
  (workerThreadsModule ??= createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads'));

export type { RouteSpec } from './protocol.js';

export interface ParallelOptions {
  /** Worker threads (at least 1; at most one per file is used). */
  threads: number;
  route: RouteSpec;
  timestampField?: string;
  tiebreakerField?: string | null;
  index?: string;
  profile?: WindowsProfile;
  /** EVTX records as ECS (default) or RawWindowsEvent objects (see OpenOptions.evtx). */
  evtx?: 'ecs' | 'raw';
  /** The machines' own addresses, given to the Windows mapping (see OpenOptions.hostAddresses). */
  hostAddresses?: HostAddresses;
  onSkip?: (item: SkippedItem) => void;
  onWarning?: (message: string) => void;
  /** Events per batch (default 4,096). */
  batchEvents?: number;
  /** Whole events per batch (default 256). */
  batchForwarded?: number;
  /** Batches in flight per file (default 4). */
  credits?: number;
  /** Whole events nested deeper than this travel as JSON text (default 256; see WorkerConfig). */
  cloneDepth?: number;
  /** Tests only: see WorkerConfig.unclonableBatch. */
  unclonableBatch?: number;
  /**
   * Read a single file in parts on all the threads (chunks.ts): only for a file splittable() found
   * to be UTF-8 NDJSON, and only when the inputs are read without a line filter. `bytes`: the size
   * of a part; `ahead`: parts started and not yet consumed (default 3 per thread); `local`: the
   * main thread reads parts too whenever it would wait (chunks.ts, LocalParts).
   */
  parts?: { bytes: number; ahead?: number; local?: LocalParts };
}

export interface ParallelInput extends OpenedInput {
  /** The file's router counters once it has been read to the end (hunt: RouteCounters). */
  counters(): unknown;
  /** A file read in parts (chunks.ts): parts started so far, consumed, and read on the main thread. */
  parts?(): { started: number; consumed: number; local: number };
}

export interface ParallelInputs {
  inputs: ParallelInput[];
  /** Stops the workers; call it when done (also after an early stop or an error). */
  close(): Promise<void>;
}

const NOBODY: readonly number[] = [];

/**
 * Worker threads used when the caller does not say, from the sizes of the input files: workers
 * only when they pay. A worker costs about a quarter to half a second of CPU (start, compiling the
 * rules, passing every event's time to the main thread) whatever its file, so small files are
 * read faster on the main thread: 70 small EVTX files (26 MB) took 45% more CPU with 2 workers
 * and were slower; two 13 MB NDJSON files 26% more CPU and no faster; two 52 MB files were faster
 * with workers even on a loaded machine. So: workers when at least two files are WORKER_FILE_BYTES
 * or larger and those files hold WORKER_TOTAL_BYTES together; then one per core, up to one per
 * such file, at most MAX_DEFAULT_THREADS (each worker compiles the rules: ~160 MB with all 1,024
 * Elastic rules).
 */
export function defaultThreads(sizes: readonly number[]): number {
  const cores = availableParallelism();
  let big = 0;
  let bytes = 0;
  for (const s of sizes) {
    if (s >= WORKER_FILE_BYTES) {
      big++;
      bytes += s;
    }
  }
  return cores >= 2 && big >= 2 && bytes >= WORKER_TOTAL_BYTES ? Math.min(cores, big, MAX_DEFAULT_THREADS) : 0;
}

/**
 * Worker threads used when the caller does not say, for a single JSON file whose every line is
 * parsed (no line filter: every Elastic rule, say) and that holds SINGLE_FILE_BYTES or more: one
 * core fewer than there are, since the main thread then has a large share of its own (the rules'
 * windows, sequence state and alerts), and one per core from SINGLE_FILE_ALL_CORES_BYTES on. The
 * file is read in parts (chunks.ts), which the main thread reads too whenever it would wait for
 * the workers (a hunt gives openFiles its localParts). On the idle 2-core VM (eighth session,
 * every rule, the bench's 1,000,000 Agent events) one worker gave 18,149 events/s by the clock
 * against 14,199 on the main thread alone, for the same CPU time. Since whole events travel as a
 * place in the file and as columns (twelfth session) a second worker pays over long files: over
 * the same 1,000,000 events (2.7 GB) two workers took 34.5 and 38.6 s against 47.2 and 56.9 s
 * with one (idle VM, thirteenth session), and less CPU in all (per-thread CPU under load: main
 * 18.6 s and the workers 26.2 + 26.0, against main 26.7 and the worker 49.9), because the main
 * thread then seldom reads parts itself, which costs it more than a worker as its heap grows
 * over a long hunt (heap-growth.ts). Over 100,000 and 200,000 events (275 and 550 MB) the second
 * worker gained nothing by the clock for 10–15% more CPU (it compiles every rule too).
 */
export function defaultSingleFileThreads(size: number): number {
  const cores = availableParallelism();
  if (cores < 2 || size < SINGLE_FILE_BYTES) return 0;
  return Math.min(size >= SINGLE_FILE_ALL_CORES_BYTES ? cores : cores - 1, MAX_DEFAULT_THREADS);
}

/** Size from which a single file is read on one worker per core (see defaultSingleFileThreads). */
export const SINGLE_FILE_ALL_CORES_BYTES = 1 << 30;
/** Size from which a single file is read on workers by default (see defaultSingleFileThreads). */
export const SINGLE_FILE_BYTES = 64 << 20;
/**
 * Rules from which a hunt's main thread has enough of its own to do for a single file to be read
 * on workers by default. Measured (per-thread CPU, 100,000 Agent events): with 10 rules one worker
 * took 3.2 s while the main thread idled at 0.5 s, against 3.4 s on the main thread alone — no
 * gain; with 100 rules 4.1 s and 1.1 s against 5.7 s.
 */
export const SINGLE_FILE_MIN_RULES = 100;

/** A file smaller than this is not worth a worker of its own (see defaultThreads). */
export const WORKER_FILE_BYTES = 8 << 20;
/** What the files that are worth a worker must hold together before workers are started. */
export const WORKER_TOTAL_BYTES = 64 << 20;

export const MAX_DEFAULT_THREADS = 8;

/** An event no consumer needs: enough for the merge to place it and to name it in messages. */
class StubEvent implements EventDoc {
  readonly index = '';
  readonly routed = NOBODY;
  constructor(
    /** The id, or null for `<idPrefix>:<pos>` (EventBatch.ids). */
    private readonly given: string | null,
    private readonly idPrefix: string,
    readonly derivedId: boolean,
    readonly time: { ms: number; ns: number },
    readonly timeField: string,
    readonly source: Record<string, unknown>,
    private readonly file: string,
    private readonly pos: number,
    private readonly chunk: number,
    private readonly offset: number,
  ) {}
  get id(): string {
    return this.given ?? `${this.idPrefix}:${this.pos}`;
  }
  get position(): SourcePosition {
    return makePosition(this.file, this.pos, this.chunk, this.offset);
  }
}

/**
 * A whole event from a worker; its position is made only when asked for (messages, alerts), and
 * its document, when it came as JSON text, is parsed only when something reads it: with the
 * answers of its rules' queries (EventDoc.answers) the rules' runs read none of its fields, so
 * most such events — those a sequence's later term takes and no sequence keeps — are never parsed
 * on this thread.
 */
class WholeEvent implements EventDoc {
  derivedHostIp?: boolean;
  answers?: readonly (TermAnswers | null)[];
  fieldValues?: Readonly<Record<string, unknown>>;
  private doc: Record<string, unknown> | null;
  private json: string | null;
  constructor(
    source: Record<string, unknown> | null,
    json: string | null,
    readonly index: string,
    /** The id, or null for `<idPrefix>:<pos>` (EventBatch.ids). */
    private readonly given: string | null,
    private readonly idPrefix: string,
    readonly derivedId: boolean,
    readonly time: { ms: number; ns: number },
    readonly timeField: string,
    readonly routed: readonly number[],
    derivedHostIp: boolean,
    private readonly file: string,
    private readonly pos: number,
    private readonly chunk: number,
    private readonly offset: number,
  ) {
    this.doc = source;
    this.json = source === null ? json : null;
    if (derivedHostIp) this.derivedHostIp = true;
  }
  /** Where the text is in the file when it did not travel (ForwardedColumns.at). */
  private lines: FileLines | null = null;
  private at = 0;
  private bytes = 0;
  private chars = 0;
  /** The document is bytes [at, at + bytes) of the file (`lines`), its text `chars` long. */
  placed(lines: FileLines, at: number, bytes: number, chars: number): void {
    this.lines = lines;
    this.at = at;
    this.bytes = bytes;
    this.chars = chars;
  }
  get id(): string {
    return this.given ?? `${this.idPrefix}:${this.pos}`;
  }
  get source(): Record<string, unknown> {
    let d = this.doc;
    if (d === null) {
      // The worker parsed this very text: it parses here too.
      const json = this.json ?? this.lines!.text(this.at, this.bytes, this.chars, this.pos);
      d = this.doc = JSON.parse(json) as Record<string, unknown>;
      this.json = null;
      this.lines = null;
    }
    return d;
  }
  get position(): SourcePosition {
    return makePosition(this.file, this.pos, this.chunk, this.offset);
  }
}

/**
 * An event the main thread read from a part of a file through a LinePicker (EventDoc.picked) and
 * routed itself (detect/hunt.ts): it stands as a worker's whole event sent by its line's place
 * does. Its rules' runs take `answers` (what the router's queries said, as a worker's) and
 * `fieldValues` (the rules' timestamp_override fields) instead of reading its fields, and its
 * document is the line read back from the file when something reads it (an alert, a sequence
 * that keeps it): the picked document holds only the fields the router reads.
 */
export function placedEvent(
  ev: EventDoc,
  routed: readonly number[],
  answers: readonly (TermAnswers | null)[],
  fieldValues: Readonly<Record<string, unknown>> | undefined,
  lines: FileLines,
): EventDoc {
  const line = ev.position?.line ?? Number.NaN;
  const w = new WholeEvent(null, null, ev.index, ev.id, '', ev.derivedId === true, ev.time!, ev.timeField!, routed, ev.derivedHostIp === true, ev.position?.file ?? lines.path, line, Number.NaN, Number.NaN);
  w.placed(lines, ev.textAt!, ev.textBytes!, ev.textChars!);
  w.answers = answers;
  if (fieldValues !== undefined) w.fieldValues = fieldValues;
  return w;
}

function makePosition(file: string, pos: number, chunk: number, offset: number): SourcePosition {
  if (Number.isNaN(chunk)) return Number.isNaN(pos) ? { file } : { file, line: pos };
  const p: SourcePosition = { file, chunk };
  if (!Number.isNaN(pos)) p.record = pos;
  if (!Number.isNaN(offset)) p.offset = offset;
  return p;
}

const EMPTY_SOURCE: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

export interface Overrides {
  /** The fields whose values ForwardedColumns.fv carries. */
  fields: string[];
  /**
   * The fieldValues of an event that holds none of them (every field read, and absent), shared by
   * every such event: fieldValues are only read (EventDoc.fieldValues is Readonly), and most
   * events hold none — the Agent data has no `event.ingested`, the override of 918 Elastic rules —
   * so one object made per whole event was a tenth of what the main thread allocated per event
   * (sampling heap profile of a hunt of 200,000 Agent events with every rule).
   */
  absent: Readonly<Record<string, unknown>>;
}

const overrideFields = new WeakMap<WorkerConfig, Overrides>();

/** The Overrides of a hunt's timestamp_override fields (timestampOverrides), with their shared `absent`. */
export function overridesFor(fields: string[]): Overrides {
  const absent: Record<string, unknown> = {};
  for (const f of fields) absent[f] = undefined;
  return { fields, absent: Object.freeze(absent) };
}

/**
 * EventDoc.fieldValues of an event whose values of `o.fields` are values[from], values[from + 1],
 * …: the shared `o.absent` when it holds none of them.
 */
export function fieldValuesFrom(o: Overrides, values: ArrayLike<unknown>, from: number): Readonly<Record<string, unknown>> {
  const fields = o.fields;
  let k = 0;
  while (k < fields.length && values[from + k] === undefined) k++;
  if (k === fields.length) return o.absent;
  const known: Record<string, unknown> = {};
  for (k = 0; k < fields.length; k++) known[fields[k]!] = values[from + k];
  return known;
}

/** The whole events' route lists of a pool (route-lists.ts), shared by its files and parts. */
const routeListsOfPool = new WeakMap<WorkerConfig, RouteLists>();

function routeListsOf(cfg: WorkerConfig): RouteLists {
  let l = routeListsOfPool.get(cfg);
  if (l === undefined) routeListsOfPool.set(cfg, (l = new RouteLists()));
  return l;
}

/** timestampOverrides of a hunt's rules (what its workers send in ForwardedColumns.fv), once per pool. */
function overridesOf(cfg: WorkerConfig): Overrides {
  let o = overrideFields.get(cfg);
  if (o === undefined) {
    o = overridesFor(cfg.route.kind === 'hunt' ? timestampOverrides(cfg.route.rules) : []);
    overrideFields.set(cfg, o);
  }
  return o;
}

/** One file, or one part of a file (chunks.ts), read by one worker. */
export class FileChannel {
  private queue: EventBatch[] = [];
  private waiting: (() => void) | null = null;
  private done = false;
  private error: Error | null = null;
  private opened = false;
  private iterated = false;
  /** A part's `end`, accounted when the consumer reaches it (its skips then come in file order). */
  private deferredEnd: Extract<FromWorker, { t: 'end' }> | null = null;
  /** The splitter's state at the end of a JSON input (see EventReader.lineState). */
  lines: { linesOnly: boolean; line: number } | undefined;
  private readonly finished: Promise<void>;
  private settle!: () => void;
  bytes = 0;
  read = 0;
  skipped = 0;
  routeCounters: unknown = null;
  shape: InputShape | undefined;
  /** Gap detection: the next batch number expected, events received so far, and the last
   * position received (line or record id), to name where a lost batch was. */
  private nextBatch = 0;
  private received = 0;
  private lastPos = Number.NaN;
  private lostEvents = 0;
  /** Why the worker's last message could not be received (its `messageerror`). */
  lostReason = '';
  /** The fields whose values ForwardedColumns.fv carries. */
  private readonly overrides: Overrides;
  private readonly routeLists: RouteLists;

  constructor(
    readonly id: number,
    readonly file: InputFile,
    readonly worker: Worker,
    private readonly cfg: WorkerConfig,
    private readonly onSkip: ((item: SkippedItem) => void) | undefined,
    private readonly onDone: () => void,
    /** A part of the file (ToWorker 'open'), or the rest of it from a line start. */
    private readonly job: { range: ByteRange; part: boolean } | null = null,
    /** Reads back the lines whole events were sent as (ForwardedColumns.at); made when first needed. */
    private readonly fileLines: () => FileLines = () => new FileLines(file.path),
  ) {
    this.finished = new Promise<void>((r) => (this.settle = r));
    this.overrides = overridesOf(cfg);
    this.routeLists = routeListsOf(cfg);
  }

  /** Whether the worker is done with this file or part (whenDone has settled or is about to). */
  get isDone(): boolean {
    return this.done;
  }

  /** Settles when the worker is done with this file or part (or it failed: see batches()). */
  whenDone(): Promise<void> {
    return this.finished;
  }

  get failed(): Error | null {
    return this.error;
  }

  /** Asks the worker to start reading (batches() does it too); a part is started ahead of use. */
  start(): void {
    if (this.opened) return;
    this.opened = true;
    const m: ToWorker = { t: 'open', id: this.id, path: this.file.path, kind: this.file.kind };
    if (this.job) {
      m.range = this.job.range;
      if (this.job.part) m.part = true;
    }
    this.worker.postMessage(m);
  }

  push(b: EventBatch): void {
    if (b.b > this.nextBatch) this.lost(b.b - this.nextBatch, b.sent - b.n - this.received, b.n > 0 ? b.pos[0]! : Number.NaN);
    this.nextBatch = b.b + 1;
    this.received = b.sent;
    if (b.n > 0) this.lastPos = b.pos[b.n - 1]!;
    this.queue.push(b);
    this.wake();
  }

  /**
   * Batches the worker sent that never arrived (their deserialisation failed): never silent, the
   * events are reported as one skipped item naming where they were.
   */
  private lost(batches: number, events: number, nextPos: number): void {
    const unit = this.file.kind === 'evtx' ? 'record' : 'line';
    const after = Number.isNaN(this.lastPos) ? 'from the start of the file' : `after ${unit} ${this.lastPos}`;
    const before = Number.isNaN(nextPos) ? 'to its end' : `before ${unit} ${nextPos}`;
    this.lostEvents += events;
    this.skipped += events;
    this.onSkip?.({
      position: { file: this.file.path },
      reason: `${events} event(s) ${after} and ${before} lost: ${batches} batch(es) from the input worker could not be received (${this.lostReason || 'message could not be deserialised'})`,
    });
  }

  end(m: Extract<FromWorker, { t: 'end' }>): void {
    if (m.batches > this.nextBatch) this.lost(m.batches - this.nextBatch, m.sent - this.received, Number.NaN);
    if (this.job?.part) this.deferredEnd = m;
    else this.account(m);
    this.routeCounters = m.counters;
    this.shape = m.shape;
    this.lines = m.lines;
    this.finish(null);
  }

  finish(error: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.wake();
    this.settle();
    this.onDone();
  }

  /** Stops the worker's reading of this file or part (nothing more will be consumed). */
  cancel(): void {
    if (this.done) return;
    if (this.opened) this.worker.postMessage({ t: 'cancel', id: this.id } satisfies ToWorker);
    this.finish(null);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  /** Reports the skips a message carries and takes its progress counters. */
  private account(m: { skips: SkippedItem[]; bytes: number; read: number; skipped: number }): void {
    if (this.onSkip) for (const s of m.skips) this.onSkip(s);
    this.bytes = m.bytes;
    this.read = m.read;
    this.skipped = m.skipped + this.lostEvents;
  }

  private toEvents(m: EventBatch): EventDoc[] {
    this.account(m);
    const file = this.file.path;
    const tsField = this.cfg.timestampField;
    const tbField = this.cfg.tiebreakerField;
    const out = new Array<EventDoc>(m.n);
    const fwd = m.fwd;
    const whole = fwd === null ? 0 : fwd.n;
    // Cursors into fwd's columns: event f, its first route, answer, field value and document.
    let f = 0;
    let route = 0;
    let answer = 0;
    let value = 0;
    let doc = 0;
    // Cursor into the ids that travelled (EventBatch.ids); the others are made from idPrefix.
    const idAt = m.idAt;
    let given = 0;
    for (let i = 0; i < m.n; i++) {
      const time = { ms: m.ms[i]!, ns: m.ns[i]! };
      const id = given < idAt.length && idAt[given] === i ? m.ids[given++]! : null;
      const chunk = m.chunk ? m.chunk[i]! : Number.NaN;
      const offset = m.offset ? m.offset[i]! : Number.NaN;
      if (f < whole && fwd!.i[f] === i) {
        const x = fwd!;
        const end = x.routeEnd[f]!;
        const routes = this.routeLists.take(x.routes, route, end);
        route = end;
        const at = x.at[f]!;
        let source: Record<string, unknown> | null = null;
        let json: string | null = null;
        if (Number.isNaN(at)) {
          const d = x.docs[doc++]!;
          if (typeof d === 'string') json = d;
          else source = d;
        }
        const flags = x.flags[f]!;
        const ev = new WholeEvent(source, json, x.indexes[x.index[f]!]!, id, m.idPrefix, (flags & FWD_DERIVED_ID) !== 0, time, tsField, routes, (flags & FWD_DERIVED_HOST_IP) !== 0, file, m.pos[i]!, chunk, offset);
        if (!Number.isNaN(at)) ev.placed(this.fileLines(), at, x.bytes[f]!, x.chars[f]!);
        if (x.answers !== null) {
          const answers = new Array<TermAnswers | null>(routes.length);
          answer = readAnswers(x.answers, routes.length, answers, answer);
          ev.answers = answers;
        }
        if (x.fv !== null) {
          ev.fieldValues = fieldValuesFrom(this.overrides, x.fv, value);
          value += this.overrides.fields.length;
        }
        f++;
        out[i] = ev;
      } else {
        // The merge orders ties by the tiebreaker, so a stub keeps that one value.
        const source = m.tb && m.tb[i] !== undefined ? { [tbField!]: m.tb[i] } : EMPTY_SOURCE;
        out[i] = new StubEvent(id, m.idPrefix, m.derived[i] === 1, time, tsField, source, file, m.pos[i]!, chunk, offset);
      }
    }
    return out;
  }

  async *batches(): AsyncGenerator<EventDoc[]> {
    if (this.iterated) throw new Error(`${this.file.path}: a parallel input can be read only once`);
    this.iterated = true;
    this.start();
    try {
      for (;;) {
        const b = this.queue.shift();
        if (b) {
          if (!this.done) this.worker.postMessage({ t: 'credit', id: this.id } satisfies ToWorker);
          markFirstEventRead();
          yield this.toEvents(b);
          continue;
        }
        if (this.done) {
          if (this.error) throw this.error;
          const end = this.deferredEnd;
          this.deferredEnd = null;
          if (end) this.account(end);
          return;
        }
        await new Promise<void>((r) => (this.waiting = r));
      }
    } finally {
      // Consumer stopped early: let the worker drop the file.
      this.cancel();
    }
  }
}

/**
 * Opens files on `threads` worker threads. Each returned input starts reading when the merge
 * first asks it for events.
 */
export function openParallelInputs(files: readonly InputFile[], opts: ParallelOptions): ParallelInputs {
  // One file read in parts uses every thread; otherwise at most one per file.
  const parted = opts.parts !== undefined && files.length === 1;
  const n = Math.max(1, Math.min(Math.floor(opts.threads), parted ? Infinity : files.length || 1));
  const cfg: WorkerConfig = {
    route: opts.route,
    timestampField: opts.timestampField ?? '@timestamp',
    tiebreakerField: opts.tiebreakerField ?? null,
    index: opts.index,
    profile: opts.profile,
    evtx: opts.evtx,
    hostAddresses: opts.hostAddresses && typeof opts.hostAddresses !== 'function' && opts.hostAddresses.size > 0 ? opts.hostAddresses.entries() : undefined,
    batchEvents: Math.max(1, opts.batchEvents ?? 4096),
    batchForwarded: Math.max(1, opts.batchForwarded ?? 256),
    credits: Math.max(1, opts.credits ?? 4),
    cloneDepth: Math.max(1, opts.cloneDepth ?? 256),
  };
  if (opts.unclonableBatch !== undefined) cfg.unclonableBatch = opts.unclonableBatch;
  const later = opts.hostAddresses;
  if (typeof later === 'function') cfg.hostAddressesLater = true;
  const entry = workerEntry(import.meta.url, 'worker');
  const workers: Worker[] = [];
  const channels = new Map<number, FileChannel>();
  let nextId = 0;
  let closed = false;
  let open = files.length;

  // Per file: reads back the lines whole events were sent as (ForwardedColumns.at).
  const fileLines = new Map<string, FileLines>();
  const linesOf = (path: string) => (): FileLines => {
    let l = fileLines.get(path);
    if (l === undefined) fileLines.set(path, (l = new FileLines(path)));
    return l;
  };
  const stop = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const c of channels.values()) c.finish(new Error('parallel inputs closed'));
    await Promise.all(workers.map((w) => w.terminate()));
  };
  // The files whole events are read back from stay open until the caller closes the inputs: the
  // consumer may still read documents after the last batch (a file removed meanwhile included).
  const close = async (): Promise<void> => {
    for (const l of fileLines.values()) l.close();
    await stop();
  };
  // Workers stop by themselves once every file is done, so a forgotten close() cannot hang.
  const fileDone = () => {
    if (--open === 0) void stop();
  };

  if (files.length > 0 && n > 0) workersTakeDefaultYoungGeneration();
  for (let w = 0; w < (files.length === 0 ? 0 : n); w++) {
    const worker = new (workerThreads().Worker)(entry.entry, { workerData: cfg, eval: entry.eval });
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'hosts?') {
        // Found once (the function remembers its answer), sent to each worker that asks.
        void (later as () => Promise<HostAddressBook | undefined>)().then((book) => {
          if (!closed) worker.postMessage({ t: 'hosts', entries: book !== undefined && book.size > 0 ? book.entries() : null } satisfies ToWorker);
        });
        return;
      }
      const c = channels.get(m.id);
      if (!c) return;
      if (m.t === 'batch') c.push(m);
      else if (m.t === 'warn') opts.onWarning?.(m.message);
      else if (m.t === 'end') c.end(m);
      else c.finish(m.input ? new InputError(m.message) : new Error(m.message));
    });
    worker.on('messageerror', (e) => {
      // A message this worker sent could not be deserialised here. Only batches carry input data;
      // the file that lost one sees the gap in its batch numbers and reports it. Its credit never
      // comes back, so the worker is told to grant one more to every open file.
      for (const c of channels.values()) if (c.worker === worker) c.lostReason = (e as Error).message;
      worker.postMessage({ t: 'lost' } satisfies ToWorker);
    });
    worker.on('error', (e) => {
      // A crashed worker (e.g. its module failed to load) fails its files.
      for (const c of channels.values()) if (c.worker === worker) c.finish(new Error(`input worker failed: ${e.message}`));
    });
    worker.on('exit', (code) => {
      // Stopped without an error event (terminated, or out of memory): unfinished files fail
      // instead of waiting forever. After close() they are all finished already.
      for (const c of channels.values()) if (c.worker === worker) c.finish(new Error(`input worker exited (code ${code})`));
    });
    workers.push(worker);
  }

  const channel = (f: InputFile, worker: Worker, onDone: () => void, job: { range: ByteRange; part: boolean } | null = null): FileChannel => {
    const c = new FileChannel(nextId++, f, worker, cfg, opts.onSkip, onDone, job, linesOf(f.path));
    channels.set(c.id, c);
    return c;
  };
  if (parted && workers.length > 0) {
    const f = files[0]!;
    linesOf(f.path)().open();
    const input = partedInput(f, {
      workers,
      channel: (worker, range, part, onDone) => channel(f, worker, onDone, { range, part }),
      onDone: fileDone,
      release: (c) => channels.delete(c.id),
      size: sizeOf(f.path),
      partBytes: opts.parts!.bytes,
      ahead: opts.parts!.ahead,
      local: opts.parts!.local,
      onSkip: opts.onSkip,
      lines: linesOf(f.path),
    });
    return { inputs: [input], close };
  }

  const inputs: ParallelInput[] = files.map((f, id) => {
    const c = channel(f, workers[id % n]!, fileDone);
    const batches = () => c.batches();
    return {
      file: f.path,
      kind: f.kind,
      size: sizeOf(f.path),
      batches,
      ...iterable(batches),
      bytesRead: () => c.bytes,
      counts: () => ({ read: c.read, skipped: c.skipped }),
      shape: () => c.shape ?? emptyShape(),
      counters: () => c.routeCounters,
    };
  });
  return { inputs, close };
}

export interface FilesOptions extends Omit<ParallelOptions, 'threads' | 'parts'> {
  /**
   * Worker threads; default defaultThreads(the files' sizes); 0 reads all on the main thread.
   * Two or more over a single file that can be read in parts share it (see everyLine).
   */
  threads?: number;
  /**
   * The inputs are read without a line filter (every line is parsed: OpenOptions.needles gives
   * none): then a single NDJSON file can be read in parts on all the threads (chunks.ts).
   */
  everyLine?: boolean;
  /** Size of those parts (default PART_BYTES; tests use small ones). */
  partBytes?: number;
  /**
   * The consumer's own share of the work is large (a hunt with SINGLE_FILE_MIN_RULES rules or
   * more): a single large file whose every line is parsed then gets workers by default
   * (defaultSingleFileThreads). With few rules the main thread would wait for the worker.
   */
  busyMain?: boolean;
  /** Opens an input on the main thread (stdin always, and every file with 0 threads). */
  local: (file: InputFile) => OpenedInput;
  /**
   * Reads parts of a single file on the main thread too, whenever it would wait for the workers
   * (chunks.ts, LocalParts): then such a file is read in parts with one worker as well.
   */
  localParts?: (file: InputFile) => LocalParts;
}

export interface OpenedFiles {
  /** One input per file, in the given order (the merge's order for ties). */
  inputs: OpenedInput[];
  /** Those read on workers (their router counters are there at the end). */
  parallel: ParallelInput[];
  close(): Promise<void>;
}

/** The path of the one file of `files` when it is a JSON file on disk (not stdin), else null. */
function singleJsonFile(files: readonly InputFile[]): string | null {
  return files.length === 1 && files[0]!.path !== '-' && files[0]!.kind === 'json' ? files[0]!.path : null;
}

/**
 * The worker threads openFiles starts for `files`: `opts.threads` when given, else
 * defaultSingleFileThreads for a single JSON file whose every line is parsed by a busy consumer,
 * else defaultThreads. Also what a hunt sizes its heap budget by before it opens them.
 */
export function plannedThreads(files: readonly InputFile[], opts: Pick<FilesOptions, 'threads' | 'everyLine' | 'busyMain'>): number {
  if (opts.threads !== undefined) return opts.threads;
  const one = singleJsonFile(files);
  if (one !== null && opts.everyLine === true && opts.busyMain === true) return defaultSingleFileThreads(sizeOf(one));
  return defaultThreads(files.filter((f) => f.path !== '-').map((f) => sizeOf(f.path)));
}

/**
 * What `hunt` and `query` read: files on worker threads when there are threads to use, stdin
 * (which a worker cannot open) and everything else on the main thread through `local`.
 */
export function openFiles(files: readonly InputFile[], opts: FilesOptions): OpenedFiles {
  const onDisk = files.filter((f) => f.path !== '-');
  const partBytes = opts.partBytes ?? PART_BYTES;
  const one = singleJsonFile(files);
  const heavy = opts.everyLine === true && one !== null;
  const threads = plannedThreads(files, opts);
  if (threads < 1 || onDisk.length === 0) return { inputs: files.map(opts.local), parallel: [], close: async () => undefined };
  // One worker reads a single file whole; several share it in parts, and so do one worker and the
  // main thread when it reads parts too.
  const withMain = opts.localParts !== undefined;
  const parted = heavy && (threads >= 2 || withMain) && splittable(one, partBytes);
  const parts = parted ? { bytes: partBytes, ...(withMain ? { local: opts.localParts!(onDisk[0]!) } : {}) } : undefined;
  const pool = openParallelInputs(onDisk, { ...opts, threads, ...(parts ? { parts } : {}) });
  const queue = [...pool.inputs];
  return {
    inputs: files.map((f) => (f.path === '-' ? opts.local(f) : queue.shift()!)),
    parallel: pool.inputs,
    close: pool.close,
  };
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
