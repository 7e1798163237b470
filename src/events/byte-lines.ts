// Raw bytes first: while a line filter is on (events/prefilter.ts), the lines of UTF-8 JSON input
// are examined in their bytes, and only the lines that must be parsed are decoded into strings.
//
// A read's complete lines are seen through one latin1 view of their bytes (one character per
// byte: a copy, no UTF-8 decoding), which the filter searches for its needles and markers
// exactly as it searches decoded text (LineFilter.skipLatin1 says why the decisions agree). A
// line the filter skips becomes a stub and is only counted by the splitter; every other line is
// decoded alone (decodeUtf8: Buffer.toString's text, cheaper for mostly-ASCII lines) and handed
// to the splitter, which then reads it as it always did — and while the splitter is not at the
// start of a line (inside a pretty-printed value, an array, a line to read again), lines are
// handed over without asking the filter, as the splitter would not offer them.
// So the filter sees the same lines in the same order, and skips and counts the same ones, as
// when whole reads are decoded first. The line a read ends in is carried over to the next read
// as bytes (joined with the next read's first line only); one longer than MAX_CARRY is handed to
// the splitter as text instead, whose caps apply to it.
// A line holding bytes that are not UTF-8 is never taken from its bytes: Elasticsearch's parser
// refuses such a document, so the reader is told (`bad`, before the line is handed over, decoded
// with U+FFFD) and skips what the splitter makes of it. One isUtf8 pass (SIMD) over each read's
// lines proves them valid; only a read it refuses is searched line by line.
// Without a filter, with a LinePicker (ReadOptions.pick): each line at a line start is offered to
// the picker, whose document of the wanted fields the reader takes (`pick`) in place of parsing
// the line; a line the picker or the reader declines is decoded and handed over as above.
import { isUtf8 } from 'node:buffer';
import type { JsonSplitter } from './json-split.js';
import { decodeUtf8, firstInvalidUtf8 } from '../util/utf8.js';
import type { LineFilter } from './prefilter.js';
import type { LinePicker } from './line-picker.js';
import type { Instant } from './time.js';

/** A partial line carried over longer than this goes to the splitter as text. */
export const MAX_CARRY = 1 << 20;

const NL = 10;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const LBRACE = 123;

export type TakeStub = (time: Instant, line: number, hasCategory: boolean) => void;
/**
 * A line holding bytes that are not UTF-8 (before it is handed to the splitter): the first bad
 * byte's value and place in the line (1-based).
 */
export type BadLine = (line: number, value: number, byte: number) => void;
/**
 * A line's document of the wanted fields (LinePicker), its line number and its length in UTF-16
 * units: whether the reader took it (else the line is parsed as usual).
 */
export type TakePicked = (doc: Record<string, unknown>, line: number, chars: number) => boolean;

export class ByteLines {
  /**
   * Bytes of the line the last reads ended in (its newline has not come yet), in pieces joined
   * once, when the newline comes, so a long line costs linear time.
   */
  private carry: Buffer[] = [];
  private carryLength = 0;
  /**
   * True while a line the filter has already refused (from its bytes) is handed to the splitter:
   * the reader's SplitSink.line must then not offer it to the filter a second time.
   */
  offered = false;

  constructor(
    private readonly splitter: JsonSplitter,
    /** Null: lines are offered to `picker` instead. */
    private readonly filter: LineFilter | null,
    /** The splitter's cap on a line (characters): a longer line is left to the splitter. */
    private readonly maxLineChars: number,
    private readonly take: TakeStub,
    private readonly bad: BadLine,
    private readonly picker: LinePicker | null = null,
    private readonly takePicked: TakePicked | null = null,
  ) {}

  /**
   * One read of input bytes, following a newline or the previous read. Returns null when all of
   * it was taken (or carried over), else the bytes from which the caller must go on decoding and
   * handing text to the splitter itself: the filter turned off, or a line grew past MAX_CARRY.
   * The splitter has then been handed everything before those bytes, and nothing is carried.
   */
  push(chunk: Buffer): Buffer | null {
    let from = 0;
    if (this.carryLength > 0) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) return this.keep(chunk);
      // The carried line, completed: examined alone, so the rest of the read is not copied.
      this.carry.push(chunk.subarray(0, nl + 1));
      const line = this.takeCarry()!;
      const stop = this.lines(line, 0, line.length);
      if (stop < line.length) return Buffer.concat([line.subarray(stop), chunk.subarray(nl + 1)]);
      from = nl + 1;
    }
    const end = chunk.lastIndexOf(NL) + 1;
    if (end > from) {
      const stop = this.lines(chunk, from, end);
      if (stop < end) return chunk.subarray(stop);
      from = end;
    }
    return from < chunk.length ? this.keep(chunk.subarray(from)) : null;
  }

  /** End of input: the bytes of an unfinished last line (for the caller to decode), or null. */
  end(): Buffer | null {
    return this.takeCarry();
  }

  /** Carries bytes over to the next read; past MAX_CARRY, returns them all instead. */
  private keep(bytes: Buffer): Buffer | null {
    this.carry.push(bytes);
    this.carryLength += bytes.length;
    return this.carryLength > MAX_CARRY ? this.takeCarry() : null;
  }

  private takeCarry(): Buffer | null {
    if (this.carry.length === 0) return null;
    const c = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
    this.carry = [];
    this.carryLength = 0;
    return c;
  }

  /**
   * The lines of buf[from, end), which ends with a newline. Returns where it stopped: `end`, or
   * the start of the line at which the filter turned off.
   */
  private lines(buf: Buffer, from: number, end: number): number {
    if (this.filter === null) return this.pickLines(buf, from, end);
    const view = buf.toString('latin1', from, end);
    const n = end - from;
    const splitter = this.splitter;
    const filter = this.filter;
    const valid = isUtf8(buf.subarray(from, end));
    let p = 0;
    while (p < n) {
      const nl = view.indexOf('\n', p);
      if (!valid) {
        const bad = firstInvalidUtf8(buf, from + p, from + nl);
        if (bad >= 0) {
          this.bad(splitter.nextTextLine, buf[bad]!, bad - from - p + 1);
          splitter.push(decodeUtf8(buf, from + p, from + nl + 1));
          p = nl + 1;
          continue;
        }
      }
      if (splitter.atLineStart) {
        // What the splitter's NDJSON path does: blanks, then a line starting with `{` is offered.
        let s = p;
        let c = view.charCodeAt(s);
        while (c === SPACE || c === TAB || c === CR) c = view.charCodeAt(++s);
        if (c === LBRACE && nl - s <= this.maxLineChars) {
          const time = filter!.skipLatin1(view, s, nl);
          if (time !== null) {
            this.take(time, splitter.lineNumber, filter!.lastHasCategory);
            splitter.tookLine(nl + 1 - p);
            p = nl + 1;
            continue;
          }
          if (filter!.off) return from + p;
          this.offered = true;
          try {
            splitter.push(decodeUtf8(buf, from + p, from + nl + 1));
          } finally {
            this.offered = false;
          }
          p = nl + 1;
          continue;
        }
      }
      splitter.push(decodeUtf8(buf, from + p, from + nl + 1));
      p = nl + 1;
    }
    return end;
  }

  /**
   * The lines of buf[from, end) (ending with a newline) offered to the picker: all of them are
   * taken or handed over. The picker validates what it takes (UTF-8 included); a line it declines
   * is checked for bytes that are not UTF-8 only then.
   */
  private pickLines(buf: Buffer, from: number, end: number): number {
    const splitter = this.splitter;
    const picker = this.picker!;
    const take = this.takePicked!;
    picker.load(buf, from, end);
    let p = from;
    while (p < end) {
      const nl = buf.indexOf(NL, p);
      // (A line's characters are at most its bytes: one within the cap in bytes is within it.)
      if (splitter.atLineStart && nl - p <= this.maxLineChars) {
        const doc = picker.pick(p - from, nl - from);
        if (doc !== null && take(doc, splitter.lineNumber, picker.lineChars)) {
          splitter.tookLine(nl + 1 - p);
          p = nl + 1;
          continue;
        }
      }
      const bad = isUtf8(buf.subarray(p, nl)) ? -1 : firstInvalidUtf8(buf, p, nl);
      if (bad >= 0) this.bad(splitter.nextTextLine, buf[bad]!, bad - p + 1);
      splitter.push(decodeUtf8(buf, p, nl + 1));
      p = nl + 1;
    }
    return end;
  }
}
