// Opens command-line inputs (files, directories, '-') as event streams, whatever their format:
// NDJSON/JSON/ES hits (+gz) through the JSON reader, .evtx through the native EVTX reader and the
// Windows → ECS mapper. Windows events that are not ECS yet — raw Winlogbeat/Agent documents
// (winlog.* without ECS fields, which Elastic would map in an ingest pipeline), NXLog
// im_msvistalog documents and RawWindowsEvent JSON — are recognised per document and mapped on
// read, so rules see the same fields. Every input
// is batched (one promise per ~1,000 events) so the time-ordered merge stays cheap.
import type { LinePicker } from './line-picker.js';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { HostAddressBook, WindowsProfile } from './windows/index.js';
import { windowsShapeOf } from './windows/shape.js';
import { expandInputs, fileIdPrefix, getField, InputError, readEvents, STUB_SOURCE, type InputFile, type LineStub, type ReadOptions } from './sources.js';
import { lineFilter } from './prefilter.js';
import type { EventDoc, SkippedItem } from './types.js';
import { trackTempDir, untrackTempDir } from '../util/temp-dirs.js';

export { formatPosition } from './position.js';

/**
 * The machines' own addresses, or how to find them when first needed: the discovery pass
 * (events/host-discovery.ts) reads every input once more, and only documents mapped to ECS on
 * read receive them, so an input of ECS documents alone need not wait for it. Undefined from the
 * function: no address was found.
 */
export type HostAddresses = HostAddressBook | (() => Promise<HostAddressBook | undefined>);

/**
 * The book itself, from a lazy HostAddresses or a given one. Each input asks once; a lazy one
 * remembers its answer itself (hunt's and the worker's run the pass or ask for it once).
 */
function hostBook(h: HostAddresses | undefined): () => Promise<HostAddressBook | undefined> {
  return typeof h === 'function' ? h : () => Promise.resolve(h);
}

export interface OpenOptions {
  /** `--index NAME`: index for events that carry none. */
  index?: string;
  /** The stream read for the input '-' (default process.stdin). */
  stdin?: Readable;
  onSkip?: (item: SkippedItem) => void;
  /** Problems that lose no data (an EVTX checksum mismatch on records that still decode). */
  onWarning?: (message: string) => void;
  /** Windows mapping profile for EVTX and raw Winlogbeat documents. */
  profile?: WindowsProfile;
  /**
   * EVTX records as ECS documents (default), or as RawWindowsEvent objects (System + EventData as
   * Windows renders them, `eqlite convert --raw`) without the ECS mapping.
   */
  evtx?: 'ecs' | 'raw';
  /** Data stream namespace of the indexes Windows events are mapped to (default `default`). */
  namespace?: string;
  /** EVTX: stop at the first damaged chunk or record (an EvtxError) instead of skipping it. */
  strict?: boolean;
  /**
   * The machines' own addresses: mapped Windows events without host.ip get their host's (see
   * windows/host-ip.ts). A function is asked once, when the first document mapped to ECS on read
   * is met (HostAddresses).
   */
  hostAddresses?: HostAddresses;
  /**
   * Strings one of which any event a consumer can use contains in its JSON text (needles, see
   * engine/needles.ts): NDJSON lines holding none of them are not parsed but read as stubs (time,
   * id, position; `routed` empty). Null or absent: every line is parsed. Empty: only the lines
   * that must be parsed whatever the needles are (see events/prefilter.ts).
   */
  needles?: readonly string[] | null;
  /** Field holding the event time, for stubs and a number's text (default @timestamp; ReadOptions.timestampField). */
  timestampField?: string;
  /** JSON inputs: date fields whose numbers are read from their text (ReadOptions.numberTimeFields). */
  numberTimeFields?: readonly string[];
  /** JSON inputs: read only part of the file (see ReadOptions.range). */
  range?: ReadOptions['range'];
  /** JSON inputs: keep each plain NDJSON event's text (ReadOptions.keepText). */
  keepText?: boolean;
  /** JSON inputs: read lines into documents of these fields where it can (ReadOptions.pick). */
  pick?: LinePicker | null;
}

/**
 * What an input's documents looked like: how many were read, by shape, and how many carried no
 * event.category after mapping (for the "what to do" diagnostics of hunt and query).
 */
export interface InputShape {
  docs: number;
  noCategory: number;
  /** Documents by shape: `ECS`, `EVTX`, `Windows XML`, `NXLog JSON`, `Winlogbeat/Agent (winlog.*)`, `RawWindowsEvent JSON`, `JSON`. */
  shapes: Record<string, number>;
}

export function emptyShape(): InputShape {
  return { docs: 0, noCategory: 0, shapes: {} };
}

function hasCategory(source: Record<string, unknown>): boolean {
  const ev = source.event;
  const c = ev !== null && typeof ev === 'object' && !Array.isArray(ev) ? (ev as Record<string, unknown>).category : source['event.category'];
  return c !== undefined && c !== null && !(Array.isArray(c) && c.length === 0);
}

function countShape(shape: InputShape, label: string, source: Record<string, unknown>): void {
  shape.docs++;
  shape.shapes[label] = (shape.shapes[label] ?? 0) + 1;
  if (!hasCategory(source)) shape.noCategory++;
}

/** Labels of documents read as they are (every other label is a Windows shape mapped to ECS on read). */
const AS_READ = new Set(['ECS', 'JSON']);

/** Documents of an input that were mapped to ECS on read (EVTX, Windows XML, NXLog, Winlogbeat, RawWindowsEvent). */
export function mappedOnRead(shape: InputShape): number {
  let n = 0;
  for (const [label, count] of Object.entries(shape.shapes)) if (!AS_READ.has(label)) n += count;
  return n;
}

/** The main shape of an input, as a phrase for messages ("NXLog JSON", "EVTX and ECS"). */
export function describeShape(shape: InputShape): string {
  const labels = Object.entries(shape.shapes).sort((a, b) => b[1] - a[1]).map(([l]) => l);
  return labels.length === 0 ? 'no documents' : labels.slice(0, 2).join(' and ');
}

const SHAPE_LABEL = { nxlog: 'NXLog JSON', winlogbeat: 'Winlogbeat/Agent (winlog.*)', raw: 'RawWindowsEvent JSON' } as const;

/** One input as the merge consumes it: batches, plus counters for progress and summaries. */
export interface OpenedInput extends AsyncIterable<EventDoc> {
  /** Name used in messages (the path, or `<stdin>`). */
  readonly file: string;
  readonly kind: 'json' | 'evtx';
  /** Size on disk (0 for stdin or when unknown), for progress. */
  readonly size: number;
  batches(): AsyncGenerator<EventDoc[]>;
  /** Bytes consumed so far. */
  bytesRead(): number;
  /** Items read and skipped so far. */
  counts(): { read: number; skipped: number };
  /** The documents' shapes so far (see InputShape). */
  shape?(): InputShape;
  /** JSON inputs, once read: the splitter's state at the end (see EventReader.lineState). */
  lineState?(): { linesOnly: boolean; line: number };
}

export async function openInputs(paths: string[], opts: OpenOptions = {}): Promise<OpenedInput[]> {
  return (await expandInputs(paths, { onWarning: opts.onWarning })).map((f) => openInput(f, opts));
}

export function openInput(f: InputFile, opts: OpenOptions = {}): OpenedInput {
  return f.kind === 'evtx' ? openEvtx(f.path, opts) : openJson(f.path, opts);
}

function sizeOf(file: string): number {
  if (file === '-') return 0;
  try {
    return statSync(file).size;
  } catch {
    return 0; // the reader reports the problem
  }
}

/** The per-event iteration of a batched input (inputs are AsyncIterable as well). */
export function iterable(batches: () => AsyncGenerator<EventDoc[]>): AsyncIterable<EventDoc> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch;
    },
  };
}

// The EVTX reader and the Windows → ECS mapping are loaded the first time an input needs them: a
// hunt over ECS NDJSON never does, and start-up with every rule is mostly module loading.
type WindowsMapping = typeof import('./windows/index.js');
let windowsMapping: Promise<WindowsMapping> | null = null;
const loadWindowsMapping = (): Promise<WindowsMapping> => (windowsMapping ??= import('./windows/index.js'));

function openJson(file: string, opts: OpenOptions): OpenedInput {
  const reader = readEvents(file, {
    index: opts.index,
    onSkip: opts.onSkip,
    stdin: opts.stdin,
    onWarning: (w) => opts.onWarning?.(`${w.position.file} (offset ${w.position.offset ?? 0}): ${w.reason}`),
    lineFilter: lineFilter(opts.needles ?? null, opts.timestampField ?? '@timestamp'),
    ...(opts.range ? { range: opts.range } : {}),
    ...(opts.keepText ? { keepText: true } : {}),
    ...(opts.pick ? { pick: opts.pick } : {}),
    ...(opts.timestampField ? { timestampField: opts.timestampField } : {}),
    ...(opts.numberTimeFields && opts.numberTimeFields.length > 0 ? { numberTimeFields: opts.numberTimeFields } : {}),
  });
  const profile = opts.profile;
  const raw = opts.evtx === 'raw';
  const shapes = emptyShape();
  let mapFailures = 0;
  let mapping: WindowsMapping | null = null;
  const hosts = hostBook(opts.hostAddresses);
  let hostAddresses: HostAddressBook | undefined;
  async function* batches(): AsyncGenerator<EventDoc[]> {
    for await (const batch of reader.batches()) {
      let failed = false;
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i]!;
        if (ev.source === STUB_SOURCE) {
          // A line read unparsed (no Windows shape mapped on read, see events/prefilter.ts).
          const category = (ev as LineStub).hasCategory;
          shapes.docs++;
          const label = category ? 'ECS' : 'JSON';
          shapes.shapes[label] = (shapes.shapes[label] ?? 0) + 1;
          if (!category) shapes.noCategory++;
          continue;
        }
        const shape = windowsShapeOf(ev.source);
        const label = shape === null ? (hasCategory(ev.source) ? 'ECS' : 'JSON') : shape === 'raw' && reader.format === 'xml' ? 'Windows XML' : SHAPE_LABEL[shape];
        if (shape === null || raw) {
          countShape(shapes, label, ev.source);
          continue;
        }
        if (mapping === null) {
          mapping = await loadWindowsMapping();
          hostAddresses = await hosts();
        }
        try {
          const mapped = mapping.mapWindowsDocument(shape, ev.source, { profile, namespace: opts.namespace, hostAddresses });
          batch[i] = { ...ev, source: mapped.source, index: ev.index || mapped.index };
          // The text is the document before mapping: not this event's.
          delete batch[i]!.text;
          // Nor is a time read from that text, unless mapping kept the field it was read from.
          if (ev.time !== undefined && getField(mapped.source, ev.timeField!) !== getField(ev.source, ev.timeField!)) {
            delete batch[i]!.time;
            delete batch[i]!.timeField;
          }
          if (mapped.hostIpAdded) batch[i]!.derivedHostIp = true;
          countShape(shapes, label, mapped.source);
        } catch (err) {
          mapFailures++;
          failed = true;
          batch[i] = null as unknown as EventDoc;
          opts.onSkip?.({ position: ev.position ?? { file: reader.file }, reason: `cannot map Windows event: ${(err as Error).message}` });
        }
      }
      yield failed ? batch.filter((e) => e !== null) : batch;
    }
  }
  return {
    file: reader.file,
    kind: 'json',
    size: sizeOf(file),
    batches,
    ...iterable(batches),
    bytesRead: () => reader.counts.bytes,
    counts: () => ({ read: reader.counts.read, skipped: reader.counts.skipped + mapFailures }),
    shape: () => shapes,
    lineState: () => reader.lineState(),
  };
}

// Small batches: a mapped ECS document that is consumed before the next young-generation
// collection dies young, while a batch of 1,024 held across a yield gets promoted — that cost
// a third of the reading time in GC (measured: 64 per batch reads 135k records in 2.2 s, 1,024
// in 3.4 s).
const EVTX_BATCH = 64;

function openEvtx(file: string, opts: OpenOptions): OpenedInput {
  let skipped = 0;
  let read = 0;
  let done = false;
  const size = sizeOf(file);
  const prefix = fileIdPrefix(file);
  const raw = opts.evtx === 'raw';
  const shapes = emptyShape();
  async function* batches(): AsyncGenerator<EventDoc[]> {
    // The EVTX reader needs random access: a FIFO or device named on the command line (e.g.
    // `<(ssh host cat Security.evtx)`) is first copied to a temporary file, read, then removed.
    const spool = await spoolIfNotRegular(file);
    try {
      yield* evtxBatches(spool ?? file);
    } finally {
      if (spool) {
        await rm(path.dirname(spool), { recursive: true, force: true });
        untrackTempDir(path.dirname(spool));
      }
    }
    done = true;
  }
  async function* evtxBatches(readPath: string): AsyncGenerator<EventDoc[]> {
    const { EvtxError, readEvtx } = await import('../evtx/index.js');
    const { mapRawWindowsEvent } = raw ? { mapRawWindowsEvent: null } : await loadWindowsMapping();
    const hostAddresses = raw ? undefined : await hostBook(opts.hostAddresses)();
    const reader = readEvtx(readPath, {
      strict: opts.strict ?? false,
      onWarning: (w) => {
        // CRC mismatches are warnings about records that are still read; the rest lose data.
        if (w.kind.endsWith('crc')) {
          opts.onWarning?.(readPath === file ? w.message : w.message.split(readPath).join(file));
          return;
        }
        skipped++;
        opts.onSkip?.({
          position: { file, chunk: w.chunk ?? undefined, record: w.recordId ?? undefined, offset: w.offset },
          reason: w.reason,
        });
      },
    });
    let out: EventDoc[] = [];
    try {
      for await (const records of reader.chunks()) for (const record of records) {
        read++;
        const position = { file, chunk: record.chunk, record: record.recordId, offset: record.offset };
        try {
          const id = `${prefix}:r${record.recordId}`;
          if (raw) {
            out.push({ source: record.toRaw() as unknown as Record<string, unknown>, index: opts.index ?? '', id, derivedId: true, position });
          } else {
            const mapped = mapRawWindowsEvent!(record.toRaw(), { profile: opts.profile, namespace: opts.namespace, hostAddresses });
            countShape(shapes, 'EVTX', mapped.source);
            const ev: EventDoc = { source: mapped.source, index: mapped.index || (opts.index ?? ''), id, derivedId: true, position };
            if (mapped.hostIpAdded) ev.derivedHostIp = true;
            out.push(ev);
          }
        } catch (err) {
          skipped++;
          opts.onSkip?.({ position, reason: `cannot map EVTX record to ECS: ${(err as Error).message}` });
        }
        if (out.length >= EVTX_BATCH) {
          yield out;
          out = [];
        }
      }
    } catch (e) {
      // A file that is not EVTX at all is reported and skipped like a damaged record, so one
      // stray file does not stop a hunt over a directory; an unreadable file is an input error.
      if (!(e instanceof EvtxError) || e.kind === 'strict') throw e;
      const message = readPath === file ? e.message : e.message.split(readPath).join(file);
      if (e.kind === 'open') throw new InputError(`cannot read ${message.replace(': cannot open: ', ': ')}`);
      skipped++;
      opts.onSkip?.({ position: { file, offset: 0 }, reason: `${message.slice(file.length + 2).replace(/^offset 0x0: /, '')}; file skipped` });
    }
    if (out.length > 0) yield out;
  }
  return {
    file,
    kind: 'evtx',
    size,
    batches,
    ...iterable(batches),
    bytesRead: () => (done ? size : 0),
    counts: () => ({ read, skipped }),
    shape: () => shapes,
  };
}

/** A copy of `file` in a temporary directory when it is not a regular file (FIFO, device); else null. */
async function spoolIfNotRegular(file: string): Promise<string | null> {
  let st;
  try {
    st = await stat(file);
  } catch {
    return null; // the reader reports it
  }
  if (st.isFile()) return null;
  const dir = trackTempDir(await mkdtemp(path.join(tmpdir(), 'eqlite-spool-')));
  const copy = path.join(dir, 'input.evtx');
  try {
    await pipeline(createReadStream(file), createWriteStream(copy));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    untrackTempDir(dir);
    throw new InputError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return copy;
}
