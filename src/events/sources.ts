// Event sources: files, directories and stdin holding NDJSON, JSON arrays, pretty-printed JSON or
// Elasticsearch hits (plain or gzip-compressed), turned into a stream of EventDoc.
//
// The format is detected from the content, not the file name: gzip by its magic bytes, then
// Windows XML events (`<`, see windows-xml.ts) or the JSON shape by the first non-blank character
// (see json-split.ts). Each value is then classified:
// a search response (`{"hits":{"hits":[…]}}`) gives its hits, an EQL search response
// (`{"hits":{"events":[…]}}` or `{"hits":{"sequences":[{"events":[…]}]}}`) its events, a hit
// (`_source`) gives its source with `_index`/`_id`, any other object is the event itself.
import { createHash } from 'node:crypto';
import { promises as fsp, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { fieldAccessor, getField } from '../engine/fields.js';
import { DEFAULT_MAX_VALUE_CHARS, JsonSplitter } from './json-split.js';
import { ByteLines } from './byte-lines.js';
import type { LinePicker } from './line-picker.js';
import { windowsShapeOf } from './windows/shape.js';
import { looksLikeXml, XmlEventSplitter } from './windows-xml.js';
import { LineStarts } from './line-bytes.js';
import { SNIFF_BYTES, sniffEncoding, textDecoder, type TextChunks } from '../util/text.js';
import { invalidUtf8Reason } from '../util/utf8.js';
import { fileTypeName, ioReason } from '../util/files.js';
import { binaryReason, fileStartsAsEvtx, headDecides } from './binary.js';
import type { LineFilter } from './prefilter.js';
import type { EventDoc, SkippedItem, SourcePosition } from './types.js';
import type { Instant } from './time.js';
import { eqlHitStarts, fieldNumberTime, holdsNumberValue, numberTextsOf, searchHitStarts, timeNumber } from './number-time.js';
import { drained } from '../util/drained.js';

// node:zlib is loaded for the first gzip input, not at start-up (this module is part of every
// command's start-up).
let zlibModule: typeof import('node:zlib') | undefined;
const zlib = (): typeof import('node:zlib') => (zlibModule ??= createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib'));

export { getField };

/** A user-facing input problem (missing file, unreadable input). Print `message`; no stack. */
export class InputError extends Error {
  override name = 'InputError';
}

export interface ReadOptions {
  /** Index for events that carry none (`--index NAME`); see inferIndex for the precedence. */
  index?: string;
  /** Called for every malformed item; the item is skipped and reading goes on. */
  onSkip?: (item: SkippedItem) => void;
  /** Stream read for the input '-' (default: process.stdin). */
  stdin?: Readable;
  /** Largest single JSON value accepted, in characters (default 64 MiB). */
  maxEventChars?: number;
  /** Read size for files (default 64 KiB). */
  chunkSize?: number;
  /** Problems that lose no data (a gzip member expanding absurdly); reading goes on. */
  onWarning?: (item: SkippedItem) => void;
  /**
   * Lines this filter says no consumer can use are not parsed: they become stub events holding
   * only their time, id and position, with `routed` empty (see events/prefilter.ts).
   */
  lineFilter?: LineFilter | null;
  /**
   * While a line filter is on, UTF-8 lines are examined in their bytes and only those parsed are
   * decoded (events/byte-lines.ts): the default. False decodes every read first (the same
   * events, decisions and counts; kept to compare the two).
   */
  byteLines?: boolean;
  /**
   * Read only bytes [start, end) of the file (end absent: to its end), which the caller found to
   * start line `line` of a UTF-8 NDJSON file (src/parallel/chunks.ts). A part other than the
   * file's first (`continued`) is read as the rest of that file: UTF-8 JSON text, no gzip, ZIP or
   * byte order mark looked for.
   */
  range?: { start: number; end?: number; line: number; continued: boolean };
  /** Keep on each event that was one NDJSON line of its own the text it was parsed from (EventDoc.text). */
  keepText?: boolean;
  /**
   * The field holding the event time (default: the line filter's, else @timestamp). A number
   * there is read from its text, as a number @timestamp always is (number-time.ts).
   */
  timestampField?: string;
  /**
   * Date fields (the rules' timestamp_override) whose JSON numbers are read from their text, as
   * Elasticsearch's date field reads them: each event holding one gets its text in
   * EventDoc.numberTexts.
   */
  numberTimeFields?: readonly string[];
  /**
   * A part of a file other than its first (range.continued) read with keepText and no line
   * filter: lines are read into documents of the picker's fields (events/line-picker.ts), which
   * must hold every field read from these events (PICK_READER_FIELDS for the reader's own reads).
   * Such events carry `picked`, textAt, textBytes and textChars, and no text. Lines it declines,
   * search hits, Windows documents mapped on read and number times read from their text are
   * parsed as without it.
   */
  pick?: LinePicker | null;
}

/**
 * What the reader and openInput read of a document themselves (inferIndex, searchHits, `_source`,
 * windowsShapeOf, hasCategory): a picker's fields must include these (ReadOptions.pick), and the
 * time fields the reader is given. (A key such as `winlog` or `agent` stays in a picked document
 * whenever the line has it, emptied of what is not wanted: its presence is what is read.)
 */
export const PICK_READER_FIELDS: readonly string[] = [
  '@timestamp', '_source', 'hits', 'data_stream', 'agent.type', 'agent.version', 'event.category', 'event.type',
  'EventID', 'Channel', 'Hostname', 'SourceName', 'System', 'winlog.event_id', 'winlog.channel', 'winlog.provider_name',
];

/** The source of a stub event (a line not parsed, see ReadOptions.lineFilter): empty, frozen. */
export const STUB_SOURCE: Record<string, unknown> = Object.freeze({});
const NOBODY: readonly number[] = Object.freeze([]) as readonly number[];

/** An NDJSON line read unparsed: its time, and its id and position made only when asked for. */
export class LineStub implements EventDoc {
  readonly source = STUB_SOURCE;
  readonly index = '';
  readonly routed = NOBODY;
  readonly derivedId = true;
  constructor(
    readonly time: Instant,
    readonly timeField: string,
    private readonly file: string,
    private readonly idPrefix: string,
    private readonly line: number,
    /** Whether the line holds an event.category key (see LineFilter.lastHasCategory). */
    readonly hasCategory: boolean,
  ) {}
  get id(): string {
    return `${this.idPrefix}:${this.line}`;
  }
  get position(): SourcePosition {
    return { file: this.file, line: this.line };
  }
}

/**
 * A gzip input whose output passes both bounds is reported (once) as a likely decompression
 * bomb. Event data compresses 5–20×; deflate cannot exceed about 1,032×.
 */
export const GZIP_WARN_RATIO = 100;
export const GZIP_WARN_BYTES = 256 * 1024 * 1024;

/** Blank text held while the format (JSON or XML) is undecided. */
const MAX_BLANK_LEAD = 1 << 20;

export interface ReadCounts {
  /** Events produced. */
  read: number;
  /** Items reported through onSkip. */
  skipped: number;
  /** Bytes consumed from the input (compressed size for gzip). */
  bytes: number;
  /** Missing-event placeholders of saved EQL search responses passed over (no document; see eqlResponse). */
  missing: number;
  /** Hits of a saved EQL search response passed over as a document it listed before (same `_index` and `_id`). */
  repeated: number;
}

/** Name used in positions and ids for the input '-'. */
export const STDIN_NAME = '<stdin>';

// 64 KiB reads (~25 ECS documents per batch): parsed documents handed on before the next
// young-generation collection die young. 1 MiB batches (~400 documents) were promoted and cost
// ~15% of the ordered read of 1M events (12.2 s vs 14.1 s) and 70 MB of peak memory.
const DEFAULT_CHUNK = 1 << 16;
/**
 * Size of a file read while lines are examined in their bytes (a line filter is on): mostly
 * skipped lines, so larger reads, which cost fewer calls through the file stream (a CPU profile
 * of the seed rule's query put a tenth of it in the stream's per-read work); each read is still
 * handled in pieces of DEFAULT_CHUNK. Also the size of a part's reads (ReadOptions.range: a few
 * parts are open at a time, where a hunt over a directory holds every file open): reading and
 * parsing 100,000 Agent events took 1,616–1,781 ms of CPU in 1 MiB reads against 1,831–1,888 ms
 * in 64 KiB reads (one process, alternating, load average 5–7).
 */
const BYTE_PATH_READ = 1 << 20;

function readSize(opts: ReadOptions): number {
  return opts.chunkSize ?? ((opts.lineFilter && opts.byteLines !== false) || opts.range !== undefined ? BYTE_PATH_READ : DEFAULT_CHUNK);
}

/**
 * Reads the events of one input (a file path, or '-' for stdin). The result is iterable once;
 * `counts` is updated as the iteration proceeds. A missing or unreadable input throws InputError
 * from the first `next()`.
 */
export function readEvents(input: string, opts: ReadOptions = {}): EventReader {
  return new EventReader(input, opts);
}

export class EventReader implements AsyncIterable<EventDoc> {
  readonly counts: ReadCounts = { read: 0, skipped: 0, bytes: 0, missing: 0, repeated: 0 };
  /** What the content turned out to be (known once reading has started). */
  format: 'json' | 'xml' | undefined;
  /** The name used in positions ('<stdin>' for '-'). */
  readonly file: string;
  private used = false;
  private splitter: JsonSplitter | null = null;

  constructor(
    readonly input: string,
    private readonly opts: ReadOptions,
  ) {
    this.file = input === '-' ? STDIN_NAME : input;
  }

  /**
   * The JSON splitter's state once reading is done: whether it ended at a line start with nothing
   * open, as a fresh splitter starts (JsonSplitter.linesOnly; false for XML), and the line it
   * reached. See src/parallel/chunks.ts.
   */
  lineState(): { linesOnly: boolean; line: number } {
    const s = this.splitter;
    return { linesOnly: this.format !== 'xml' && (s === null || s.linesOnly), line: s === null ? 1 : s.currentLine };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<EventDoc> {
    for await (const batch of this.batches()) {
      for (let i = 0; i < batch.length; i++) yield batch[i]!;
    }
  }

  /**
   * The events in batches (one per read chunk). Consumers on the hot path should prefer this:
   * it costs one promise per chunk instead of one per event.
   */
  async *batches(): AsyncGenerator<EventDoc[]> {
    if (this.used) throw new Error(`${this.file}: events can only be read once`);
    this.used = true;
    const opts = this.opts;
    const counts = this.counts;
    const file = this.file;
    const idPrefix = fileIdPrefix(file);
    const fallbackIndex = opts.index;
    const onSkip = opts.onSkip;
    let out: EventDoc[] = [];
    let lastLine = 0;
    let sameLine = 0;

    const skip = (line: number, reason: string) => {
      counts.skipped++;
      onSkip?.({ position: { file, line }, reason });
    };
    // Lines holding bytes that are not UTF-8 (ascending, each once), with the first bad byte's
    // value and place in its line: Elasticsearch's JSON parser refuses such a document, so an
    // item on such a line is skipped, naming the byte, instead of read with U+FFFD in place of
    // the bytes. Found in the bytes before their text is handed to the splitter (the decoder's
    // faults, ByteLines), looked up when an item is complete.
    let badLines: number[] = [];
    let badBytes: number[] = [];
    let badNext = 0;
    const markBad = (line: number, value: number, byte: number) => {
      if (badLines.length > badNext && badLines[badLines.length - 1]! >= line) return;
      if (badNext > 1024 && badNext * 2 > badLines.length) {
        badLines = badLines.slice(badNext);
        badBytes = badBytes.slice(2 * badNext);
        badNext = 0;
      }
      badLines.push(line);
      badBytes.push(value, byte);
    };
    /** Why an item on lines [first, last] is refused, or null. Items come in line order. */
    const badIn = (first: number, last: number): string | null => {
      while (badNext < badLines.length && badLines[badNext]! < first) badNext++;
      if (badNext === badLines.length) return null;
      const l = badLines[badNext]!;
      if (l > last) return null;
      return invalidUtf8Reason(badBytes[2 * badNext]!, badBytes[2 * badNext + 1]!, 1, l === first ? 'the line' : `line ${l}`);
    };
    const keepText = opts.keepText === true;
    // A part of a file: each kept text's line is also located in the file's bytes (EventDoc.textAt),
    // so that a worker can send the place instead of the text. Not the first line of a file's
    // first part, whose bytes may begin with a byte order mark its text lacks.
    const lineStarts = keepText && opts.range !== undefined ? new LineStarts(opts.range.start, opts.range.line) : null;
    const firstPlaced = opts.range === undefined ? 0 : opts.range.continued ? opts.range.line : opts.range.line + 1;
    /** Where `line` is in the file's bytes (into `where`); false when not known. */
    const placeLine = (line: number): boolean => line >= firstPlaced && lineStarts!.lineAt(line, where);
    let byteAt = opts.range?.start ?? 0;
    const where = { at: 0, bytes: 0 };
    const emit = (source: Record<string, unknown>, line: number, index: unknown, id: unknown) => {
      let docId: string;
      let derivedId = false;
      if (typeof id === 'string' && id !== '') docId = id;
      else if (typeof id === 'number') docId = String(id);
      else {
        derivedId = true;
        docId = line === lastLine ? `${idPrefix}:${line}.${++sameLine}` : `${idPrefix}:${line}`;
      }
      if (line !== lastLine) {
        lastLine = line;
        sameLine = 0;
      }
      out.push({
        source,
        index: typeof index === 'string' && index !== '' ? index : inferIndex(source, fallbackIndex),
        id: docId,
        derivedId,
        position: { file, line },
      });
      counts.read++;
    };
    const filter = opts.lineFilter ?? null;
    const tsField = filter?.timestampField;
    // The time field, when not @timestamp: its number is read from its text too (below).
    const timeField = opts.timestampField ?? tsField ?? '@timestamp';
    const otherTime = timeField === '@timestamp' ? null : fieldAccessor(timeField);
    const numberFields = opts.numberTimeFields ?? [];
    const numberGets = numberFields.map((f) => fieldAccessor(f));
    /** Whether a field of numberTimeFields holds a number in `o` (then its text is looked up). */
    const holdsNumber = (o: Record<string, unknown>): boolean => {
      for (const get of numberGets) {
        const v = get(o);
        if (typeof v === 'number' || (typeof v === 'object' && v !== null && holdsNumberValue(v))) return true;
      }
      return false;
    };
    /** A document is its whole text. */
    const ZERO = (): number => 0;
    const takeStub = (time: Instant, line: number, hasCategory: boolean) => {
      // A line skipped starts a value of its own: the first on its line.
      lastLine = line;
      sameLine = 0;
      out.push(new LineStub(time, tsField!, file, idPrefix, line, hasCategory));
      counts.read++;
    };
    // The byte path (byte-lines.ts), while the filter is on; made when first entered.
    let bytes: ByteLines | null = null;
    // Lines read by the picker (ReadOptions.pick): only where the reader finds the lines' bytes.
    const picker = opts.pick != null && lineStarts !== null && filter === null ? opts.pick : null;
    /**
     * A picked line's document, taken as the value sink would take its parsed document, unless
     * the sink would need what picking left out: the line's text (a number time), a search hit's
     * or response's shape, or the whole document (a Windows shape mapped on read, inputs.ts).
     */
    const takePicked = (doc: Record<string, unknown>, line: number, chars: number): boolean => {
      const walked = picker!.takeWalk();
      // (A document with a `hits` member may be a saved search or EQL search response: parsed.)
      if (doc._source !== undefined || doc.hits !== undefined || windowsShapeOf(doc) !== null) return false;
      // (emitTimed's test for reading a number from the text, on the same fields.)
      const at = timeNumber(doc['@timestamp']);
      const other = otherTime === null ? undefined : timeNumber(otherTime(doc));
      if (typeof at === 'number' || typeof other === 'number' || (numberGets.length > 0 && holdsNumber(doc))) return false;
      if (!placeLine(line)) return false;
      emit(doc, line, undefined, undefined);
      const ev = out[out.length - 1]!;
      ev.picked = true;
      ev.textAt = where.at;
      ev.textBytes = where.bytes;
      ev.textChars = chars;
      if (walked !== null) ev.walked = walked;
      return true;
    };
    const maxChars = opts.maxEventChars ?? DEFAULT_MAX_VALUE_CHARS;
    /**
     * Emits the event `o` whose JSON text is `itemText` (`path` + a field is where the field is in
     * it: '' for a document, `_source.` for a hit), or skips it; whether it was emitted. A number
     * time is read from its text (number-time.ts), whatever the document's shape: @timestamp's
     * (refused when Elasticsearch cannot read it, whatever the time field), and the time field's
     * when another (`--timestamp-field event.ingested`), where the field access finds it (nested
     * or dotted keys; in or through an array, the first value's, which is the one read); so are the numbers of
     * numberTimeFields (EventDoc.numberTexts). `start()`: where the document is in `itemText`
     * (asked only for a number; undefined when not found: the numbers are left to their values).
     */
    const emitTimed = (
      o: Record<string, unknown>,
      text: string | undefined,
      path: string,
      line: number,
      index: unknown,
      id: unknown,
      start: () => number | undefined,
    ): boolean => {
      // The number an event's time is read from: the field's, or its first value's (parseInstant).
      const at = timeNumber(o['@timestamp']);
      const other = otherTime === null ? undefined : timeNumber(otherTime(o));
      // Where the document is in `text`, looked up only when one of its numbers is to be read.
      const from =
        text !== undefined && (typeof at === 'number' || typeof other === 'number' || (numberGets.length > 0 && holdsNumber(o))) ? start() : undefined;
      let time: Instant | string | null = null;
      let timeFrom = '@timestamp';
      if (from !== undefined) {
        if (typeof at === 'number') time = fieldNumberTime(text!, '@timestamp', at, path + '@timestamp', from);
        if (typeof time !== 'string' && typeof other === 'number') {
          const t = fieldNumberTime(text!, timeField, other, path + timeField, from);
          if (t !== null) {
            time = t;
            timeFrom = timeField;
          }
        }
      }
      if (typeof time === 'string') {
        skip(line, time);
        return false;
      }
      emit(o, line, index, id);
      const ev = out[out.length - 1]!;
      if (time !== null) {
        ev.time = time;
        ev.timeField = timeFrom;
      }
      if (from !== undefined && numberGets.length > 0) {
        const texts = numberTextsOf(text!, o, numberFields, numberGets, path, from);
        if (texts !== undefined) ev.numberTexts = texts;
      }
      return true;
    };
    /**
     * The events of a saved EQL search response (`GET <index>/_eql/search`, see EqlHits), read
     * as a `_search` response's hits are: each `_source` is an event with the hit's `_index` and
     * `_id`, its numbers read from the hit's own text, a hit without a `_source` object skipped
     * with the reason. Two kinds of element are no document and are passed over, neither read
     * nor skipped (counted in ReadCounts.missing): the placeholders of a sequence's missing
     * events (`!` stages: `{"_index":"","_id":"","_source":{},"missing":true}`; before 8.10 without
     * `missing`, an empty `_index` and `_id`, which no stored document has). And one document can
     * be listed in several sequences of a response (an event that ends one sequence and starts
     * the next): it is read once, at its first place (ReadCounts.repeated counts the others),
     * since a response lists stored documents, and one `_index` + `_id` is one document there:
     * read twice, it would be two events with one id (a sequence could be matched from the same
     * event twice, an event rule alerts once per copy). Documents are not merged across
     * responses or files, as a `_search` response's hits are not.
     */
    const eqlResponse = (response: EqlHits, itemText: string | undefined, line: number): void => {
      let starts: number[][] | null | undefined = itemText === undefined ? null : undefined;
      const seen = new Set<string>();
      const read = (group: unknown[], g: number, where: (j: number) => string) => {
        for (let j = 0; j < group.length; j++) {
          const h = group[j];
          const hr = h !== null && typeof h === 'object' && !Array.isArray(h) ? (h as Record<string, unknown>) : null;
          if (hr !== null && (hr.missing === true || (hr._index === '' && hr._id === ''))) {
            counts.missing++;
            continue;
          }
          const id = hr?._id;
          if (typeof id === 'string' || typeof id === 'number') {
            const index = typeof hr!._index === 'string' ? hr!._index : '';
            // The length first: no index name and id can then make the same key as another pair.
            const key = `${index.length}:${index}${typeof id}${id}`;
            if (seen.has(key)) {
              counts.repeated++;
              continue;
            }
            seen.add(key);
          }
          const hs = hr?._source;
          if (hs === null || typeof hs !== 'object' || Array.isArray(hs)) {
            // The kind first, the place after the colon: the summary groups items by the kind.
            skip(line, `EQL search response event without a _source object (was _source disabled?): ${where(j)}`);
            continue;
          }
          emitTimed(hs as Record<string, unknown>, itemText, '_source.', line, hr!._index, id, () => {
            if (starts === undefined) starts = eqlHitStarts(itemText!);
            return starts?.[g]?.[j];
          });
        }
      };
      if (response.events !== null) read(response.events, 0, (j) => `hits.events[${j}]`);
      const sequences = response.sequences;
      if (sequences === null) return;
      for (let s = 0; s < sequences.length; s++) {
        const q = sequences[s];
        const events = q !== null && typeof q === 'object' && !Array.isArray(q) ? (q as Record<string, unknown>).events : undefined;
        // A sequence without events: Elasticsearch leaves the member out when the list is empty.
        if (events === undefined) continue;
        if (!Array.isArray(events)) {
          skip(line, `EQL search response sequence whose events are not an array: hits.sequences[${s}]`);
          continue;
        }
        read(events, s + 1, (j) => `hits.sequences[${s}].events[${j}]`);
      }
    };
    const splitter = new JsonSplitter(
      {
        line:
          filter === null
            ? undefined
            : (text, start, end, line) => {
                // A line that is not UTF-8 is never a stub: it is parsed and refused (badIn).
                if (badNext < badLines.length && badIn(line, line) !== null) return false;
                // A line refused from its bytes is not offered twice (the filter counts lines).
                if (bytes !== null && bytes.offered) return false;
                const time = filter.skip(text, start, end);
                if (time === null) return false;
                takeStub(time, line, filter.lastHasCategory);
                return true;
              },
        value(v, line, text, scanned) {
          if (badNext < badLines.length) {
            // A one-line object (`text`): its line holds bad bytes. A value the scanner read
            // (pretty-printed, in an array, several on a line) ends on the line the splitter stands
            // on, whose bytes after the value may not have been read yet: it is refused when it
            // holds the U+FFFD its own bad bytes became, so that reads of any size agree.
            const why = text !== undefined ? badIn(line, line) : badIn(line, splitter.currentLine);
            if (why !== null && (text !== undefined || holdsReplacement(v))) {
              skip(line, why);
              return;
            }
          }
          if (v === null || typeof v !== 'object' || Array.isArray(v)) {
            skip(line, `expected a JSON object, found ${describeType(v)}`);
            return;
          }
          let o = v as Record<string, unknown>;
          const src = o._source;
          const itemText = text ?? scanned;
          // A search hit: its `_source` is the event, whose numbers are found in the hit's text
          // below `_source` (`path`), read as for a plain document.
          let path = '';
          let hitIndex: unknown;
          let hitId: unknown;
          if (src !== undefined) {
            if (src === null || typeof src !== 'object' || Array.isArray(src)) {
              skip(line, 'Elasticsearch hit whose _source is not an object');
              return;
            }
            hitIndex = o._index;
            hitId = o._id;
            o = src as Record<string, unknown>;
            path = '_source.';
          }
          // A saved response (`_search` or `_eql/search`): only a value with a `hits` member is
          // looked at further, so an ordinary event costs one property read here.
          const response = path === '' && o.hits !== undefined ? savedResponse(o) : null;
          if (response !== null && !Array.isArray(response)) {
            eqlResponse(response, itemText, line);
            return;
          }
          const hits = response;
          if (hits) {
            // Where each hit is in the response's text, for its numbers: found when a hit first
            // holds one (null when the text is not at hand or holds no such array).
            let starts: number[] | null | undefined = itemText === undefined ? null : undefined;
            const startOf = (i: number): number | undefined => {
              if (starts === undefined) starts = searchHitStarts(itemText!);
              return starts?.[i];
            };
            for (let i = 0; i < hits.length; i++) {
              const h = hits[i];
              const hs = h !== null && typeof h === 'object' ? (h as Record<string, unknown>)._source : undefined;
              if (hs === null || typeof hs !== 'object' || Array.isArray(hs)) {
                skip(line, `search response hit ${i} has no _source object (was _source disabled?)`);
                continue;
              }
              const hr = h as Record<string, unknown>;
              emitTimed(hs as Record<string, unknown>, itemText, '_source.', line, hr._index, hr._id, () => startOf(i));
            }
            return;
          }
          if (!emitTimed(o, itemText, path, line, hitIndex, hitId, ZERO)) return;
          // A hit's text is not its event's (`_source`'s): only a plain document's is kept.
          if (keepText && text !== undefined && path === '') {
            const ev = out[out.length - 1]!;
            ev.text = text;
            if (lineStarts !== null && placeLine(line)) {
              ev.textAt = where.at;
              ev.textBytes = where.bytes;
            }
          }
        },
        bad: skip,
      },
      maxChars,
      opts.range?.continued ? { line: opts.range.line } : undefined,
    );
    this.splitter = splitter;
    const continued = opts.range?.continued === true;

    const damaged = (offset: number, reason: string) => {
      counts.skipped++;
      onSkip?.({ position: { file, offset }, reason });
    };
    const warn = (offset: number, reason: string) => opts.onWarning?.({ position: { file, offset }, reason });
    // The text encoding is decided on the first bytes (after gzip): UTF-8, or UTF-16 (see
    // util/text.ts); UTF-32 is refused as one skipped item naming the encoding.
    let decoder: TextChunks | null = null;
    let utf8 = false;
    let head: Buffer | null = null;
    if (continued) {
      // The rest of a UTF-8 NDJSON file (see ReadOptions.range): its encoding and format are known.
      decoder = textDecoder('utf-8');
      utf8 = true;
    }
    const decode = (chunk: Buffer, last: boolean): string | null => {
      if (!decoder) {
        head = head ? Buffer.concat([head, chunk]) : chunk;
        if (head.length < SNIFF_BYTES && !last) return '';
        const sniffed = sniffEncoding(head.subarray(0, SNIFF_BYTES));
        if ('refused' in sniffed) return null;
        decoder = textDecoder(sniffed.encoding);
        utf8 = sniffed.encoding === 'utf-8';
        chunk = head;
        head = null;
      }
      return checked(decoder.write(chunk));
    };
    // After each write to the decoder (before its text is fed): its UTF-8 faults, by line.
    const checked = (t: string): string => {
      const faults = decoder!.faults;
      // (Only JSON documents are refused: Windows XML events are eqlite's own to map.)
      if (faults !== undefined && faults.length > 0 && (text === null || jsonInput)) {
        // The line the write starts in: the splitter's, past the blank text held undecided.
        let line = splitter.nextTextLine;
        if (text === null) for (let i = lead.indexOf('\n'); i >= 0; i = lead.indexOf('\n', i + 1)) line++;
        for (const f of faults) markBad(line + f.newlines, f.value, f.byte);
      }
      return t;
    };
    // JSON, or Windows XML events (decided by the first non-blank character; see windows-xml.ts).
    let text: { push(s: string): void; end(): void } | null = null;
    let jsonInput = false;
    let lead = '';
    if (continued) {
      this.format = 'json';
      jsonInput = true;
      text = splitter;
    }
    const feed = (s: string) => {
      if (text === null) {
        lead += s;
        // A blank prefix decides nothing yet; past 1 MiB of it (a decompression bomb of spaces)
        // the input is read as JSON, whose scanner skips blank runs without keeping them.
        if (lead.length <= MAX_BLANK_LEAD && !/\S/.test(lead.replace(/\uFEFF/g, ''))) return;
        this.format = looksLikeXml(lead) ? 'xml' : 'json';
        jsonInput = this.format === 'json';
        text = this.format === 'xml'
          ? new XmlEventSplitter({ event: (raw, line) => emit(raw as unknown as Record<string, unknown>, line, undefined, undefined), bad: skip }, opts.maxEventChars ?? DEFAULT_MAX_VALUE_CHARS)
          : splitter;
        s = lead;
        lead = '';
      }
      text.push(s);
    };
    let refused = false;
    // On the byte path: the decoder holds no partial character, and `bytes` takes the reads.
    let inBytes = false;
    const byteLines = opts.byteLines !== false;
    // Reads are cut into pieces of DEFAULT_CHUNK bytes (views, not copies): a read that is larger
    // (see readSize) costs fewer calls, while every piece is decoded, split and handed on alone,
    // so batches and the strings made per piece stay small.
    reads: for await (const read of openBytes(this.input, file, opts, counts, damaged, warn)) {
      for (let at = 0; at < read.length; at += DEFAULT_CHUNK) {
        let chunk = read.length <= DEFAULT_CHUNK ? read : read.subarray(at, at + DEFAULT_CHUNK);
        if (lineStarts !== null) {
          lineStarts.add(chunk, byteAt);
          byteAt += chunk.length;
        }
        if (!inBytes && byteLines && ((filter !== null && !filter.off) || picker !== null) && (text === null || (jsonInput && utf8))) {
          // The byte path is entered at a newline: the text up to it is decoded and handed over as
          // before (deciding the format and encoding on the first read), so that the decoder then
          // holds nothing and the splitter stands at a line start or inside a value it reads on.
          const nl = chunk.indexOf(10);
          if (nl >= 0 && nl + 1 < chunk.length) {
            const decoded = decode(chunk.subarray(0, nl + 1), false);
            if (decoded === null) {
              refused = true;
              break reads;
            }
            feed(decoded);
            chunk = chunk.subarray(nl + 1);
            if (jsonInput && utf8 && decoder !== null) {
              bytes ??= new ByteLines(splitter, filter, maxChars, takeStub, markBad, picker, takePicked);
              inBytes = true;
            }
          }
        }
        if (inBytes) {
          const rest = bytes!.push(chunk);
          if (rest === null) {
            if (out.length > 0) {
              const b = out;
              out = [];
              yield b;
            }
            continue;
          }
          // The filter turned off, or a line too long to carry: decoded from here on.
          inBytes = false;
          chunk = rest;
        }
        if (jsonInput && utf8 && splitter.skipping) {
          // The rest of a skipped item (a line beyond the size cap): find its end in the bytes,
          // without decoding what is thrown away. '\n' never occurs inside a UTF-8 sequence (UTF-16
          // input is decoded and skipped by the splitter).
          const nl = chunk.indexOf(10);
          if (nl < 0) continue;
          chunk = chunk.subarray(nl);
          decoder = textDecoder('utf-8');
        }
        const decoded = decode(chunk, false);
        if (decoded === null) {
          refused = true;
          break;
        }
        feed(decoded);
        if (out.length > 0) {
          const b = out;
          out = [];
          yield b;
        }
      }
    }
    if (!refused && !decoder && head) {
      // Fewer than SNIFF_BYTES in the whole input.
      const decoded = decode(Buffer.alloc(0), true);
      if (decoded === null) refused = true;
      else feed(decoded);
    }
    if (refused) {
      damaged(0, `${(sniffEncoding(head!.subarray(0, SNIFF_BYTES)) as { refused: string }).refused}; file skipped`);
      return;
    }
    if (inBytes) {
      const last = bytes!.end();
      if (last) feed(checked((decoder as TextChunks | null)!.write(last)));
    }
    const rest = decoder === null ? undefined : checked((decoder as TextChunks).end());
    if (rest) feed(rest);
    (text ?? splitter).end();
    if (out.length > 0) yield out;
    // `zcat missing.gz | eqlite hunt -` must not look like a clean run over no events.
    if (this.input === '-' && counts.bytes === 0) {
      throw new InputError('stdin is empty: nothing was piped in (did the command before "|" fail?)');
    }
  }
}

/** Whether a parsed value holds U+FFFD in a string or a key (walked without recursion). */
function holdsReplacement(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') {
      if (x.includes('\ufffd')) return true;
    } else if (Array.isArray(x)) {
      for (const y of x) stack.push(y);
    } else if (x !== null && typeof x === 'object') {
      for (const [k, y] of Object.entries(x)) {
        if (k.includes('\ufffd')) return true;
        stack.push(y);
      }
    }
  }
  return false;
}

/**
 * The hits of an EQL search response (`GET <index>/_eql/search`, EqlSearchResponse in
 * Elasticsearch's x-pack/plugin/eql): `{"is_partial","is_running","took","timed_out","hits":{
 * "total", "events":[hit…]}}` for an event query, `"sequences":[{"join_keys":[…],"events":[hit…]}]`
 * for a sequence or sample query (members left out when empty). Null member: absent or no array.
 */
interface EqlHits {
  events: unknown[] | null;
  sequences: unknown[] | null;
}

/**
 * The hits of a saved response held by `o`: a search (or scroll) response's `hits.hits` list, an
 * EQL search response's EqlHits, or null when `o` is no response (an event).
 */
function savedResponse(o: Record<string, unknown>): unknown[] | EqlHits | null {
  const h = o.hits;
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return null;
  const arr = (h as Record<string, unknown>).hits;
  if (!Array.isArray(arr)) return eqlHits(h as Record<string, unknown>);
  // An event with its own `hits.hits` field is unlikely, but only treat the value as a response
  // when the hits look like hits.
  if (arr.length > 0 && (arr[0] === null || typeof arr[0] !== 'object' || !('_source' in arr[0] || '_id' in arr[0]))) {
    return null;
  }
  return arr;
}

/**
 * `hits` as an EQL search response's: an `events` or `sequences` array, whose first element looks
 * like an EQL hit (`_source`, `_id` or `missing`) or a sequence (`events` or `join_keys`). As for a
 * `_search` response, an event holding such a `hits` field is unlikely, but only a value that
 * looks so is taken as a response.
 */
function eqlHits(h: Record<string, unknown>): EqlHits | null {
  const events = Array.isArray(h.events) ? (h.events as unknown[]) : null;
  const sequences = Array.isArray(h.sequences) ? (h.sequences as unknown[]) : null;
  if (events === null && sequences === null) return null;
  if (events !== null && events.length > 0 && !hasKey(events[0], '_source', '_id', 'missing')) return null;
  if (sequences !== null && sequences.length > 0 && !hasKey(sequences[0], 'events', 'join_keys')) return null;
  return { events, sequences };
}

/** Whether `v` is an object (not an array) with one of the two or three keys. */
function hasKey(v: unknown, a: string, b: string, c?: string): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  return a in v || b in v || (c !== undefined && c in v);
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 30 ? v.slice(0, 30) + '…' : v)}`;
  return `a ${typeof v} ${String(v)}`;
}

/**
 * Prefix of the placeholder ids of events without `_id` (8 hex digits of sha1 of the normalized
 * path): it only tells events apart in messages. Their real ids do not depend on the path; see
 * documentId() in ids.ts.
 */
export function fileIdPrefix(file: string): string {
  const norm = file === STDIN_NAME ? file : path.normalize(file).split(path.sep).join('/');
  return createHash('sha1').update(norm).digest('hex').slice(0, 8);
}

/** Opens the input and yields its (decompressed) bytes. */
async function* openBytes(
  input: string,
  file: string,
  opts: ReadOptions,
  counts: ReadCounts,
  damaged: (offset: number, reason: string) => void,
  warn: (offset: number, reason: string) => void,
): AsyncGenerator<Buffer> {
  let stream: Readable;
  if (input === '-') {
    stream = opts.stdin ?? process.stdin;
  } else {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(input, 'r');
      const st: Stats = await handle.stat();
      if (st.isDirectory()) {
        await handle.close();
        throw new InputError(`${input}: is a directory (expand it with expandInputs)`);
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`cannot read ${input}: ${ioReason(e)}`);
    }
    const range = opts.range;
    stream = handle.createReadStream({
      highWaterMark: readSize(opts),
      ...(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end - 1 } : {}) } : {}),
    });
    if (range?.continued) {
      // Plain bytes of a file whose start was already looked at: no gzip or ZIP magic here.
      try {
        yield* plainBytes(stream, file, counts);
      } finally {
        stream.destroy();
      }
      return;
    }
  }

  try {
    yield* bytesOf(stream, file, counts, damaged, warn);
  } finally {
    // Early exit by the consumer, or an error: release the file descriptor now.
    if (input !== '-') stream.destroy();
  }
}

async function* plainBytes(stream: Readable, file: string, counts: ReadCounts): AsyncGenerator<Buffer> {
  try {
    for await (const b of stream as AsyncIterable<Buffer>) {
      counts.bytes += b.length;
      yield b;
    }
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${ioReason(e)}`);
  }
}

async function* bytesOf(
  stream: Readable,
  file: string,
  counts: ReadCounts,
  damaged: (offset: number, reason: string) => void,
  warn: (offset: number, reason: string) => void,
): AsyncGenerator<Buffer> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const next = async (): Promise<Buffer | null> => {
    let r: IteratorResult<Buffer | string>;
    try {
      r = await it.next();
    } catch (e) {
      throw new InputError(`cannot read ${file}: ${ioReason(e)}`);
    }
    if (r.done) return null;
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    counts.bytes += b.length;
    return b;
  };

  let first = await next();
  // A gzip member needs its 2 magic bytes; a first chunk of 1 byte is possible on stdin.
  while (first && first.length < 2) {
    const more = await next();
    if (!more) break;
    first = Buffer.concat([first, more]);
  }
  if (!first) return;
  const stdin = file === STDIN_NAME;
  if (first[0] !== 0x1f || first[1] !== 0x8b) {
    // The start is judged on as many bytes whatever the read size (binary.ts headDecides).
    let ended = false;
    while (!headDecides(first, ended, stdin)) {
      const more = await next();
      if (more) first = Buffer.concat([first, more]);
      else ended = true;
    }
    // A ZIP archive (how the OTRF Security-Datasets / Mordor ship their JSON) is not read member by
    // member: one clear item instead of its compressed bytes reported as broken JSON lines.
    if (first.length >= 4 && first.readUInt32LE(0) === 0x04034b50) {
      damaged(0, `a ZIP archive, not read: unzip it first (its JSON members can be piped: unzip -p ${file} | eqlite hunt -)`);
      return;
    }
    // An image, an executable, other compressed data…: one item saying what it looks like, not
    // thousands of broken lines.
    const binary = binaryReason(first, file);
    if (binary !== null) {
      damaged(0, binary);
      return;
    }
    yield first;
    for (let b = await next(); b; b = await next()) yield b;
    return;
  }

  // gzip: the compressed chunks are written into zlib by a pump that waits for 'drain', and the
  // output is read one chunk at a time (paused mode), so zlib stops inflating while the consumer
  // is busy: memory stays at a few chunks even for a member that inflates 1,000-fold. Read errors
  // and gzip errors stay distinguishable, and a truncated archive keeps the events before the
  // damage.
  const gunzip = zlib().createGunzip({ chunkSize: 1 << 16 });
  let readError: unknown = null;
  const pump = (async () => {
    try {
      for (let b: Buffer | null = first; b; b = await next()) {
        if (gunzip.destroyed) return; // the consumer stopped early, or zlib failed
        if (!gunzip.write(b)) await drained(gunzip);
      }
      if (!gunzip.destroyed) gunzip.end();
    } catch (e) {
      if (e instanceof InputError) {
        readError = e;
        gunzip.destroy(e);
      }
      // otherwise zlib failed: the reader below sees the same error
    }
  })();
  let out = 0;
  let warned = false;
  let failed: Error | null = null;
  // What was compressed may be binary too (a .tar.gz, a gzip of an EVTX file): its start is judged
  // as a plain input's, on as many bytes whatever the sizes zlib hands them out in.
  let head: Buffer | null = Buffer.alloc(0);
  const judge = (): boolean => {
    const binary = binaryReason(head!, file);
    if (binary === null) return true;
    damaged(0, binary.replace(/^binary file: /, 'binary file (gzip-compressed): '));
    return false;
  };
  try {
    for await (const chunk of gunzip) {
      let d = chunk as Buffer;
      if (head !== null) {
        head = head.length === 0 ? d : Buffer.concat([head, d]);
        if (!headDecides(head, false, stdin)) continue;
        if (!judge()) return;
        d = head;
        head = null;
      }
      out += d.length;
      if (!warned && out > GZIP_WARN_BYTES && out > GZIP_WARN_RATIO * counts.bytes) {
        warned = true;
        warn(
          counts.bytes,
          `gzip data expands more than ${GZIP_WARN_RATIO}× (${(out / 2 ** 20).toFixed(0)} MiB from ${(counts.bytes / 2 ** 20).toFixed(1)} MiB so far): a decompression bomb? reading on`,
        );
      }
      yield d;
    }
  } catch (e) {
    if (!readError) failed = e as Error;
  } finally {
    // Also on an early exit by the consumer: free zlib's native state now.
    gunzip.destroy();
  }
  void pump; // ends by itself: it sees the destroyed stream at its next chunk
  // A decompressed input shorter than the head, whole or cut short by damage: judged now, and
  // what it holds read before the damage is told.
  if (head !== null && head.length > 0) {
    if (!judge()) return;
    yield head;
  }
  if (readError) throw readError;
  if (failed) {
    damaged(counts.bytes, `gzip data is damaged or truncated (${failed.message}); the rest of the file was not read`);
  }
}

// ---------------------------------------------------------------------------------------------
// Index inference

const BEATS = new Set(['winlogbeat', 'filebeat', 'auditbeat', 'packetbeat', 'metricbeat', 'heartbeat', 'journalbeat', 'functionbeat']);

/**
 * The index of an event that has no `_index`. Precedence (first that applies):
 *  1. the data stream named by `data_stream.type`-`data_stream.dataset`-`data_stream.namespace`
 *     (namespace defaults to `default`), e.g. `logs-endpoint.events.process-default`;
 *  2. `fallback` (the `--index NAME` given for this input);
 *  3. Beats: `agent.type` (winlogbeat, filebeat, auditbeat, packetbeat, …) with `agent.version`
 *     gives `<type>-<version>`, e.g. `winlogbeat-8.12.0`, the Beats' default data stream;
 *  4. '' (unknown: only rules with a match-all index pattern see the event).
 * A hit's own `_index` comes before all of these; readEvents applies it.
 */
export function inferIndex(source: Record<string, unknown>, fallback?: string): string {
  // Runs once per event: skip the general field lookup unless a data_stream key exists at all.
  const ds = source.data_stream;
  if (ds !== null && typeof ds === 'object' && !Array.isArray(ds)) {
    // A `data_stream` object holding both names (every Agent event): what getField reads for
    // each field is then that object's value (a nested value found is taken before any dotted
    // key), so it is read directly; getField only for a namespace it lacks.
    const o = ds as Record<string, unknown>;
    const type = o.type;
    const dataset = o.dataset;
    if (typeof type === 'string' && type !== '' && typeof dataset === 'string' && dataset !== '') {
      const v = o.namespace !== undefined ? o.namespace : getField(source, 'data_stream.namespace');
      return dataStreamName(type, dataset, typeof v === 'string' && v !== '' ? v : 'default');
    }
  }
  const hasDs = ds !== undefined || hasKeyWithPrefix(source, 'data_stream.');
  const type = hasDs ? getField(source, 'data_stream.type') : undefined;
  const dataset = hasDs ? getField(source, 'data_stream.dataset') : undefined;
  if (typeof type === 'string' && type !== '' && typeof dataset === 'string' && dataset !== '') {
    const v = getField(source, 'data_stream.namespace');
    return dataStreamName(type, dataset, typeof v === 'string' && v !== '' ? v : 'default');
  }
  if (fallback) return fallback;
  if (source.agent === undefined && !hasKeyWithPrefix(source, 'agent.')) return '';
  const agent = getField(source, 'agent.type');
  const version = getField(source, 'agent.version');
  if (typeof agent === 'string' && BEATS.has(agent.toLowerCase()) && typeof version === 'string' && version !== '') {
    return `${agent}-${version}`.toLowerCase();
  }
  return '';
}

/** A data stream's name as last made for a dataset: its type and namespace, and the name. */
interface StreamName {
  type: string;
  namespace: string;
  name: string;
}

/** dataStreamName's memo: dataset → the names made for it (a file names a handful of streams). */
const streamNames = new Map<string, StreamName[]>();
/** Datasets remembered at most: input naming a new one per event must not grow the memo. */
const MAX_STREAM_DATASETS = 256;
/** Names remembered per dataset at most (one type and namespace each). */
const MAX_STREAM_NAMES = 8;

/**
 * `type-dataset-namespace`, lower-cased, remembered per (type, dataset, namespace): every event
 * made and lower-cased the same name again (a new string of five pieces, which the router then
 * hashed to find the index's rules) — about 0.4 µs per Agent event of inferIndex's 0.6 (20,000
 * parsed Agent events in a loop). The memo gives the very string made the first time, and its
 * hash with it; the name depends on nothing but the three strings it is keyed by.
 */
function dataStreamName(type: string, dataset: string, namespace: string): string {
  let names = streamNames.get(dataset);
  if (names !== undefined) {
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      if (n.type === type && n.namespace === namespace) return n.name;
    }
  } else {
    if (streamNames.size >= MAX_STREAM_DATASETS) streamNames.clear();
    streamNames.set(dataset, (names = []));
  }
  const name = `${type}-${dataset}-${namespace}`.toLowerCase();
  if (names.length >= MAX_STREAM_NAMES) names.length = 0;
  names.push({ type, namespace, name });
  return name;
}

/** True when a flat dotted key starting with `prefix` exists (`{"data_stream.type": …}`). */
function hasKeyWithPrefix(o: Record<string, unknown>, prefix: string): boolean {
  for (const k in o) if (k.startsWith(prefix)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Input expansion

export type InputKind = 'json' | 'evtx';

export interface InputFile {
  /** Path as given (directory + relative path for files found in a directory); '-' for stdin. */
  path: string;
  /** 'json' covers NDJSON, JSON arrays, ES hits, search and EQL search responses and their .gz; 'evtx' is for the EVTX reader. */
  kind: InputKind;
}

const JSON_EXT = ['.ndjson', '.jsonl', '.json', '.gz'];

/** Classifies a file name found in a directory; null when it is not an input. */
export function classifyInput(name: string): InputKind | null {
  const lower = name.toLowerCase();
  if (lower.endsWith('.evtx')) return 'evtx';
  for (const ext of JSON_EXT) if (lower.endsWith(ext)) return 'json';
  return null;
}

export interface ExpandOptions {
  /**
   * Entries of a directory that are not read: subdirectories that cannot be listed, and entries
   * with an input's name that are not regular files (FIFOs, sockets, devices: reading them could
   * block forever) or are broken links. Each is reported once; the walk goes on.
   */
  onWarning?: (message: string) => void;
}

/**
 * Expands command-line inputs: files are taken as given (any name; `.evtx` ones are EVTX; a FIFO
 * named explicitly is streamed), '-' is stdin, directories are walked recursively for
 * .ndjson/.jsonl/.json/.gz/.evtx regular files. Within a directory, entries are visited in
 * code-unit order of their names, so the result does not depend on the file system or locale. A
 * file reached twice (two arguments, or a symlink) is listed once.
 */
export async function expandInputs(paths: string[], opts: ExpandOptions = {}): Promise<InputFile[]> {
  const out: InputFile[] = [];
  const seen = new Set<string>();
  const add = async (p: string, kind: InputKind) => {
    let key = p;
    try {
      key = await fsp.realpath(p);
    } catch {
      // keep the path as its key
    }
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ path: p, kind });
  };
  const warn = opts.onWarning ?? (() => undefined);
  // Directories named on the command line that held no input file (a folder of .log files, an
  // empty one): when other inputs remain they are named in a warning; when nothing remains the
  // caller refuses the run with noInputFilesMessage, rather than report a clean run over nothing.
  const fruitless: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ path: '-', kind: 'json' });
      continue;
    }
    let st: Stats;
    try {
      st = await fsp.stat(p);
    } catch (e) {
      throw new InputError(`cannot read ${p}: ${ioReason(e)}`);
    }
    if (st.isDirectory()) {
      // The directory named on the command line must be readable; below it, one unreadable
      // subdirectory is reported and skipped.
      try {
        await fsp.readdir(p);
      } catch (e) {
        throw new InputError(`cannot read directory ${p}: ${ioReason(e)}`);
      }
      const before = out.length;
      await walk(p, add, new Set(), warn);
      if (out.length === before) fruitless.push(p);
    } else await add(p, classifyInput(p) === 'evtx' || (st.isFile() && fileStartsAsEvtx(p)) ? 'evtx' : 'json');
  }
  if (out.length > 0) for (const p of fruitless) warn(noInputFilesMessage([p]));
  return out;
}

/**
 * Why named inputs gave no file to read: only files with an input's extension are picked up in
 * directories (XML exports and .log files are often something else), so the message says which
 * and how to read another file.
 */
export function noInputFilesMessage(paths: readonly string[]): string {
  return `no input files found in ${paths.join(', ')}: directories are searched for .ndjson, .jsonl, .json, .gz and .evtx files (name any other file on the command line to read it)`;
}

async function walk(dir: string, add: (p: string, k: InputKind) => Promise<void>, active: Set<string>, warn: (m: string) => void): Promise<void> {
  let real: string;
  let entries;
  try {
    real = await fsp.realpath(dir);
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    warn(`cannot read directory ${dir}: ${ioReason(e)}; skipped`);
    return;
  }
  if (active.has(real)) return; // a symlink loop
  active.add(real);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const ent of entries) {
    const p = path.join(dir, ent.name);
    let kind: Stats | Dirent = ent;
    if (ent.isSymbolicLink()) {
      try {
        kind = await fsp.stat(p);
      } catch (e) {
        if (classifyInput(ent.name)) warn(`skipped ${p}: ${(e as NodeJS.ErrnoException).code === 'ELOOP' ? 'symbolic link loop' : 'broken symbolic link'}`);
        continue;
      }
    }
    if (kind.isDirectory()) await walk(p, add, active, warn);
    else {
      const input = classifyInput(ent.name);
      if (!input) continue;
      // (A .json or .ndjson file holding an EVTX log is read as EVTX: the content decides.)
      if (kind.isFile()) await add(p, input === 'json' && fileStartsAsEvtx(p) ? 'evtx' : input);
      else warn(`skipped ${p}: ${fileTypeName(kind)}; only regular files are read from directories (name it on the command line to stream it)`);
    }
  }
  active.delete(real);
}
