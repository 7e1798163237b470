// Streaming splitter for JSON event files: turns text chunks into top-level JSON values without
// ever holding more than one value (plus one read chunk) in memory.
//
// It accepts, in one state machine:
//   - NDJSON (one value per line; the fast path: split on '\n' by hand, one JSON.parse per line),
//   - pretty-printed objects spanning lines, anywhere in the file (a line whose object does not
//     close on that line is continued with a structural scanner until the object closes),
//   - top-level JSON arrays, whose elements are yielded one by one (a 10 GB array is fine),
//   - concatenated values (`{..}{..}`, `[..][..]`).
// JSON strings cannot contain raw newlines, which gives two cheap invariants: line numbers can be
// counted outside strings only, and a value whose string runs past the end of a line is broken
// (a truncated line) and can be abandoned at once.
//
// Bounds (hostile input must not hang, overflow the stack or balloon memory):
//   - every character is looked at a bounded number of times: text already searched is never
//     searched again, and the text of an item that spans reads is kept as a list of pieces
//     (joined once, when the item is complete), so a long item costs linear time;
//   - an item longer than `maxValueChars` (64 MiB) is reported as soon as it grows past the cap,
//     its pieces are dropped and the rest of its line is skipped without being kept;
//   - an item nested deeper than MAX_JSON_DEPTH is reported and skipped: nothing downstream (field
//     access, alert building, structured clone to the worker threads, JSON output) recurses deeper;
//   - after an abandoned value, the lines it swallowed are read again, each as one NDJSON line, so
//     no text is rescanned twice.

/** Receives what the splitter finds. Lines are 1-based. */
export interface SplitSink {
  /** A complete top-level value (or top-level array element) that starts on `line`. */
  /** `text`: for an object that was one NDJSON line of its own, the text it was parsed from. */
  /**
   * `scanned`: otherwise, the text of the value alone (pretty-printed, an array's element, one of
   * several values on a line), for the few readers that need more than the parsed value (a number
   * is read from its text: src/events/number-time.ts).
   */
  value(v: unknown, line: number, text?: string, scanned?: string): void;
  /** A malformed item starting on `line`; it has been skipped. */
  bad(line: number, reason: string): void;
  /**
   * Optional: offered each NDJSON line text[start, end) that starts an object, before it is
   * parsed; returning true takes the line as it is (it is not parsed and `value` is not called).
   */
  line?(text: string, start: number, end: number, line: number): boolean;
}

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;

const enum Mode {
  /** At the start of a line, at top level, outside any array: the NDJSON fast path. */
  Line,
  /** Character scanner: inside a multi-line value or a top-level array, or between values. */
  Scan,
  /** Discarding up to the next newline after an error, then back to `Line` (or `Scan` in an array). */
  SkipLine,
}

/** Default cap on one value or line (characters); a longer one is reported and skipped. */
export const DEFAULT_MAX_VALUE_CHARS = 64 * 1024 * 1024;
/**
 * Deepest nesting of objects and arrays accepted in one item: Jackson's default
 * (StreamReadConstraints), which Elasticsearch's JSON parser enforces on documents too.
 */
export const MAX_JSON_DEPTH = 1000;

/** valStart when the open value's text begins in `head` (earlier reads). */
const IN_HEAD = -2;

export class JsonSplitter {
  private buf = '';
  private pos = 0;
  /** Absolute offset (in characters) of buf[0], and of the start of the current line. */
  private base = 0;
  private lineStart = 0;
  /** Line number of the character at `pos`. */
  private line = 1;
  private mode = Mode.Line;
  /** Inside a top-level array: elements are the items. */
  private inArray = false;
  private arrayLine = 0;
  /** Start of the value being scanned (IN_HEAD: in `head`), -1 when between values; its line and column. */
  private valStart = -1;
  private valLine = 0;
  private valCol = 0;
  /** The value being scanned is a bare scalar inside an array (number, true, false, null). */
  private valScalar = false;
  private depth = 0;
  private inString = false;
  private started = false;
  /**
   * Text of the open item that arrived in earlier reads (already searched or scanned): the value
   * being scanned, or in Line mode the line whose newline has not come yet. Joined once, when the
   * item is complete.
   */
  private head: string[] = [];
  private headLen = 0;
  /** Line mode: line number, column and absolute start of the line held in `head`; -1 when none. */
  private headLine = -1;
  private headCol = 0;
  private headAt = 0;
  /**
   * Absolute offset up to which lines are being read again after an abandoned value. There, each
   * line is taken on its own (never continued as a multi-line value), so nothing is rescanned twice.
   */
  private rescanEnd = 0;
  /** The open value grew past the size cap: it is scanned to its end without keeping its text. */
  private discarding = false;

  /** Whether the structural scanner ever ran (see linesOnly). */
  private scanned = false;
  /** Set by end(): whether the input ended at a line start with nothing open (see linesOnly). */
  private endedClean: boolean | null = null;

  constructor(
    private readonly sink: SplitSink,
    private readonly maxValueChars = DEFAULT_MAX_VALUE_CHARS,
    /**
     * The text continues an input at the start of line `line` (a part of an NDJSON file read on
     * its own, src/parallel/chunks.ts): lines are numbered from there, and a byte order mark there
     * is text, not a mark to drop.
     */
    from?: { line: number },
  ) {
    if (from) {
      this.started = true;
      this.line = from.line;
    }
  }

  /**
   * While reading: true while every item so far was one line on its own (the NDJSON fast path, and
   * lines skipped as malformed). After end(): whether the input ended at a line start with nothing
   * open — no value being scanned, no array, no line being skipped or read again. Either way the
   * splitter is then in the state a fresh one is in, which lets parts of a file be split
   * independently (src/parallel/chunks.ts): a part that held a multi-line value, a truncated line
   * or a skipped array, all closed or abandoned before its end, still ends as a fresh splitter
   * starts the next part.
   */
  get linesOnly(): boolean {
    if (this.endedClean !== null) return this.endedClean;
    return !this.scanned && this.mode !== Mode.Scan;
  }

  /** Number of the line the splitter has reached (1-based; after the input's end, 1 + its newlines). */
  get currentLine(): number {
    return this.line;
  }

  /**
   * True while the splitter only looks for the next newline (after an item it skipped) and holds
   * nothing: the reader may then drop input bytes that hold no newline without decoding them.
   */
  get skipping(): boolean {
    return this.mode === Mode.SkipLine && this.buf.length === 0;
  }

  /**
   * True when the splitter stands at the start of a line on the NDJSON fast path and holds
   * nothing (no partial line, no open value, no array, no line to read again): the next line is
   * one it would offer to `SplitSink.line` if it starts with `{`. The reader may then take such a
   * line itself, from its bytes, and say so with tookLine.
   */
  get atLineStart(): boolean {
    return this.started && this.mode === Mode.Line && this.buf.length === 0 && this.headLine < 0 && !this.inArray && this.base >= this.rescanEnd;
  }

  /** Number of the line the next text starts (1-based). */
  get lineNumber(): number {
    return this.line;
  }

  /**
   * Between pushes, the number of the line the next text pushed starts in (1-based), wherever
   * the splitter stands: lineNumber, or one more while the scanner stands on the newline that ended
   * the last text, waiting for the next character before counting it (see scan).
   */
  get nextTextLine(): number {
    return this.mode === Mode.Scan && this.pos < this.buf.length && this.buf.charCodeAt(this.pos) === NL ? this.line + 1 : this.line;
  }

  /**
   * A whole line, newline included, that the reader took without handing it over (only while
   * atLineStart): counted as the splitter counts lines. `length` need not be in characters (the
   * reader may only know bytes): positions are only compared within text handed over.
   */
  tookLine(length: number): void {
    this.base += length;
    this.line++;
    this.lineStart = this.base;
  }

  /** Feeds decoded text. The first chunk may start with a byte order mark. */
  push(text: string): void {
    if (!this.started) {
      if (text.length === 0) return;
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buf = this.buf.length === 0 ? text : this.buf + text;
    this.run(false);
    this.compact();
  }

  /** End of input: flushes the last line and reports anything left open. */
  end(): void {
    // Before the flush: a value it reports as cut short was open here.
    this.endedClean = this.mode === Mode.Line && this.buf.length === 0 && this.headLine < 0 && !this.inArray && this.base >= this.rescanEnd;
    this.run(true);
    if (this.inArray) {
      this.sink.bad(this.arrayLine, "unterminated JSON array: end of input before the closing ']'");
      this.inArray = false;
    }
    this.buf = '';
    this.pos = 0;
    this.dropHead();
  }

  /**
   * Moves the open item's searched text out of `buf` into `head`, and drops consumed text, so the
   * next read is searched alone and memory holds at most the open item plus one read.
   */
  private compact(): void {
    let scanned = this.pos;
    let keepFrom = -1;
    if (this.mode === Mode.Line) {
      // lines() stops at the start of a line without its newline: that text has been searched.
      scanned = this.buf.length;
      if (this.headLine >= 0) keepFrom = 0;
      else {
        const s = skipBlanks(this.buf, this.pos);
        if (s < scanned) {
          keepFrom = s;
          this.headLine = this.line;
          this.headAt = this.base + s;
          this.headCol = this.headAt - this.lineStart + 1;
        }
      }
    } else if (this.mode === Mode.Scan) {
      if (this.valStart === IN_HEAD) keepFrom = 0;
      else if (this.valStart >= 0) {
        keepFrom = this.valStart;
        this.valStart = IN_HEAD;
      }
    }
    if (keepFrom >= 0 && scanned > keepFrom) {
      if (this.discarding) {
        // Only a trailing run of backslashes matters (it may escape a quote in the next read).
        let k = scanned;
        while (k > keepFrom && this.buf.charCodeAt(k - 1) === BACKSLASH) k--;
        if (k > keepFrom) this.head = [];
        if (scanned > k) this.head.push(this.buf.slice(k, scanned));
      } else {
        this.head.push(this.buf.slice(keepFrom, scanned));
        this.headLen += scanned - keepFrom;
      }
    }
    if (scanned > 0) {
      this.buf = this.buf.slice(scanned);
      this.base += scanned;
    }
    this.pos = 0;
    if (this.headLen > this.maxValueChars) this.tooLong();
  }

  private dropHead(): void {
    this.head = [];
    this.headLen = 0;
    this.headLine = -1;
  }

  private headText(): string {
    const t = this.head.length === 1 ? this.head[0]! : this.head.join('');
    this.dropHead();
    return t;
  }

  /**
   * An item beyond the size cap: report it and forget its text. A line is skipped to its end; a
   * value being scanned is followed to its end without keeping its text.
   */
  private tooLongReason(): string {
    const max = this.maxValueChars;
    const size = max >= 1 << 20 ? `${+(max / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(max / 1024)} KB`;
    return `item longer than ${size} (unterminated value or missing newline?)`;
  }

  private tooLong(): void {
    const inLine = this.mode === Mode.Line;
    this.sink.bad(inLine ? this.headLine : this.valLine, this.tooLongReason());
    this.dropHead();
    if (inLine) {
      this.mode = Mode.SkipLine;
    } else {
      this.discarding = true;
    }
    this.run(false);
    this.compact();
  }

  private resetValue(): void {
    this.discarding = false;
    this.valStart = -1;
    this.valScalar = false;
    this.depth = 0;
    this.inString = false;
  }

  private run(final: boolean): void {
    for (;;) {
      let more: boolean;
      if (this.mode === Mode.Line) more = this.headLine >= 0 ? this.headLineEnd(final) : this.lines(final);
      else if (this.mode === Mode.Scan) {
        this.scanned = true;
        more = this.scan(final);
      }
      else more = this.skipLine(final);
      if (!more) return;
    }
  }

  private newline(posAfter: number): void {
    this.line++;
    this.lineStart = this.base + posAfter;
  }

  /** Skips past the next newline. Returns false when more input is needed. */
  private skipLine(final: boolean): boolean {
    const nl = this.buf.indexOf('\n', this.pos);
    if (nl < 0) {
      this.pos = this.buf.length;
      if (final) this.mode = this.inArray ? Mode.Scan : Mode.Line;
      return false;
    }
    this.pos = nl + 1;
    this.newline(nl + 1);
    this.mode = this.inArray ? Mode.Scan : Mode.Line;
    return true;
  }

  /**
   * Line mode with a line begun in earlier reads (in `head`): looks for its newline in the new
   * text only, then handles the whole line. Returns true when another handler must run.
   */
  private headLineEnd(final: boolean): boolean {
    const chunk = this.buf;
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      if (!final) {
        this.pos = 0;
        return false;
      }
      nl = chunk.length;
    }
    const line = this.headLine;
    const col = this.headCol;
    const at = this.headAt;
    const base = this.base;
    const text = this.headText() + chunk.slice(0, nl);
    // The line is handled alone first, as if it had arrived whole (buf = the line): nearly always
    // it is a whole value. Joined with the rest of the read as well, the first look at that text
    // would copy (flatten) all of it, once per read.
    this.buf = text;
    this.base = at;
    this.pos = 0;
    const savedLine = this.line;
    this.line = line;
    if (this.oneLine(0, text.length, col)) {
      // Continued as a multi-line value by the scanner, from pos 0: it reads on into the rest.
      this.buf = text + chunk.slice(nl);
      return true;
    }
    this.line = savedLine;
    this.buf = chunk;
    this.base = base;
    if (nl >= chunk.length) {
      this.pos = chunk.length;
      return false;
    }
    this.pos = nl + 1;
    this.newline(this.pos);
    return true;
  }

  /** NDJSON fast path. Returns true when the mode changed and another handler must run. */
  private lines(final: boolean): boolean {
    const buf = this.buf;
    const len = buf.length;
    let pos = this.pos;
    for (;;) {
      let s = pos;
      let c = buf.charCodeAt(s);
      while (c === SPACE || c === TAB || c === CR) {
        c = buf.charCodeAt(++s);
        if (s - pos > 64) {
          // A long blank run (padding, a decompression bomb of spaces): search it natively.
          s = skipBlanks(buf, s);
          c = buf.charCodeAt(s);
          break;
        }
      }
      if (s >= len) {
        this.pos = len; // blank so far: nothing to keep
        return false;
      }
      if (c === NL) {
        pos = s + 1;
        this.newline(pos);
        continue;
      }
      if (c === LBRACKET && this.base + s >= this.rescanEnd) {
        // A top-level array: decided on its first character, so a huge one-line array streams.
        this.pos = s;
        this.mode = Mode.Scan;
        return true;
      }
      let nl = buf.indexOf('\n', s);
      if (nl < 0) {
        if (!final) {
          this.pos = pos;
          return false;
        }
        nl = len;
      }
      if (this.oneLine(s, nl, this.base + s - this.lineStart + 1)) {
        this.pos = s;
        return true;
      }
      if (nl >= len) {
        this.pos = len;
        return false;
      }
      pos = nl + 1;
      this.newline(pos);
    }
  }

  /**
   * One line of buf, [s, nl), starting with a non-blank character at column `col`. Returns true
   * when the line opens a value that continues past it (the scanner takes over at s).
   */
  private oneLine(s: number, nl: number, col: number): boolean {
    const buf = this.buf;
    const c = buf.charCodeAt(s);
    const rescanning = this.base + s < this.rescanEnd;
    if (nl - s > this.maxValueChars) {
      this.sink.bad(this.line, this.tooLongReason());
      return false;
    }
    // Taken unparsed when the sink says so (see SplitSink.line).
    if (c === LBRACE && !rescanning && this.sink.line !== undefined && this.sink.line(buf, s, nl, this.line)) return false;
    if (c === LBRACE || (c === LBRACKET && rescanning)) {
      let v: unknown;
      let ok = true;
      // JSON whitespace includes '\r' and spaces, so the raw line parses as is.
      const line = buf.slice(s, nl);
      try {
        v = JSON.parse(line);
      } catch {
        ok = false;
      }
      if (ok) {
        if (parsedDeeperThan(buf, s, nl, MAX_JSON_DEPTH)) {
          this.sink.bad(this.line, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
        } else if (c === LBRACKET) {
          // (A line read again after an abandoned value: rare, so its elements' texts are found
          // by one more pass over it.)
          const els = v as unknown[];
          const texts = arrayElementTexts(line);
          for (let i = 0; i < els.length; i++) this.sink.value(els[i], this.line, undefined, texts[i]);
        } else {
          this.sink.value(v, this.line, line);
        }
        return false;
      }
      const text = trimEnd(buf, s, nl);
      const fault = findJsonError(text);
      if (fault.kind !== 'syntax' && !rescanning) {
        // The object continues on the next lines (pretty-printed), or another value follows
        // it on this line: scan structurally.
        this.mode = Mode.Scan;
        return true;
      }
      this.sink.bad(this.line, describeJsonError(text, this.line, col, fault));
      return false;
    }
    this.sink.bad(this.line, `expected a JSON object or array, found ${quoteSnippet(buf.slice(s, nl))}`);
    return false;
  }

  /** Structural scanner. Returns true when the mode changed and another handler must run. */
  private scan(final: boolean): boolean {
    const buf = this.buf;
    const len = buf.length;
    let pos = this.pos;
    // Position of the next newline at or after pos (-1: none in this buffer); kept across strings
    // so that checking "does this string cross a line end" stays linear.
    let nextNl = -2;
    for (;;) {
      if (pos >= len) {
        this.pos = pos;
        if (final) return this.endOfInputInScan();
        return false;
      }
      // The size cap applies at the first position beyond it, wherever reads split the text.
      if (this.valStart !== -1 && !this.discarding && this.overLimit(pos)) this.startTooLong();
      if (this.inString) {
        const q = buf.indexOf('"', pos);
        if (nextNl !== -1 && nextNl < pos) nextNl = buf.indexOf('\n', pos);
        if (!this.discarding) {
          const next = nextNl >= 0 && (q < 0 || nextNl < q) ? nextNl : q < 0 ? len : q;
          if (this.overLimit(next)) this.startTooLong();
        }
        if (nextNl >= 0 && (q < 0 || nextNl < q)) {
          // A raw newline inside a string: the value is broken (typically a truncated line).
          this.pos = nextNl;
          this.abandonValue('invalid JSON: unterminated string (the line ends inside a string)');
          return true;
        }
        if (q < 0) {
          this.pos = len;
          if (final) return this.endOfInputInScan();
          return false;
        }
        pos = q + 1;
        if ((this.backslashesBefore(q) & 1) === 1) continue; // escaped quote
        this.inString = false;
        if (this.depth === 0) {
          // A string scalar at array level is complete.
          this.completeValue(pos);
        }
        continue;
      }
      const c = buf.charCodeAt(pos);
      if (this.valStart !== -1) {
        if (this.valScalar) {
          if (c === COMMA || c === RBRACKET || c === RBRACE || c === NL || c === SPACE || c === TAB || c === CR) {
            this.completeValue(pos);
            continue;
          }
          pos++;
          continue;
        }
        // Inside an object or array value.
        if (c === QUOTE) this.inString = true;
        else if (c === LBRACE || c === LBRACKET) {
          if (++this.depth > MAX_JSON_DEPTH && !this.discarding) {
            // Reported now; the value is followed to its end without keeping its text.
            this.sink.bad(this.valLine, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
            this.discarding = true;
            this.dropHead();
            if (this.valStart >= 0) this.valStart = IN_HEAD;
          }
        } else if (c === RBRACE || c === RBRACKET) {
          if (--this.depth === 0) {
            pos++;
            this.completeValue(pos);
            if (!this.inArray && this.restOfLineBlank(pos)) {
              // Back to the NDJSON fast path at the next line.
              this.pos = pos;
              this.mode = Mode.SkipLine;
              return true;
            }
            continue;
          }
        } else if (c === NL) {
          if (pos + 1 === len && !final && !this.inArray) {
            // Need the next character to apply the check below.
            this.pos = pos;
            return false;
          }
          if (!this.inArray && buf.charCodeAt(pos + 1) === LBRACE) {
            // Pretty printers indent nested values, so an object opening at column 0 while a
            // top-level object is still open means that object was cut short: report it and
            // resume at the new object instead of swallowing it.
            if (!this.discarding) {
              this.sink.bad(this.valLine, `invalid JSON: unterminated object (line ${this.line + 1} starts a new object before it closed)`);
            }
            this.resetValue();
            this.dropHead();
            pos++;
            this.newline(pos);
            this.pos = pos;
            this.mode = Mode.Line;
            return true;
          }
          this.newline(pos + 1);
        }
        pos++;
        continue;
      }
      // Between values.
      if (c === SPACE || c === TAB || c === CR || c === COMMA) {
        pos++;
        continue;
      }
      if (c === NL) {
        pos++;
        this.newline(pos);
        if (!this.inArray) {
          this.pos = pos;
          this.mode = Mode.Line;
          return true;
        }
        continue;
      }
      if (this.inArray) {
        if (c === RBRACKET) {
          this.inArray = false;
          pos++;
          continue;
        }
        this.startValue(pos);
        if (c === QUOTE) this.inString = true;
        else if (c === LBRACE || c === LBRACKET) this.depth = 1;
        else this.valScalar = true;
        pos++;
        continue;
      }
      if (c === LBRACE) {
        this.startValue(pos);
        this.depth = 1;
        pos++;
        continue;
      }
      if (c === LBRACKET) {
        this.inArray = true;
        this.arrayLine = this.line;
        pos++;
        continue;
      }
      // The report quotes the start of the line: wait until its end or 41 characters are here,
      // so that it does not depend on where a read ended.
      const end = lineEnd(buf, pos);
      if (end === len && end - pos <= SNIPPET && !final) {
        this.pos = pos;
        return false;
      }
      this.sink.bad(this.line, `expected a JSON object or array, found ${quoteSnippet(buf.slice(pos, Math.min(end, pos + SNIPPET + 1)))}`);
      this.pos = pos;
      this.mode = Mode.SkipLine;
      return true;
    }
  }

  /** Whether the open value, up to buf[p], is longer than the size cap. */
  private overLimit(p: number): boolean {
    const length = this.valStart === IN_HEAD ? this.headLen + p : p - this.valStart;
    return length > this.maxValueChars;
  }

  /** Reports the open value as too long; it is followed to its end without keeping its text. */
  private startTooLong(): void {
    this.sink.bad(this.valLine, this.tooLongReason());
    this.discarding = true;
    this.dropHead();
    if (this.valStart >= 0) this.valStart = IN_HEAD;
  }

  /** Number of backslashes right before buf[q], continuing into `head` for a value begun earlier. */
  private backslashesBefore(q: number): number {
    const buf = this.buf;
    let b = q - 1;
    while (b >= 0 && buf.charCodeAt(b) === BACKSLASH) b--;
    let n = q - 1 - b;
    if (b >= 0 || this.valStart !== IN_HEAD) return n;
    for (let i = this.head.length - 1; i >= 0; i--) {
      const part = this.head[i]!;
      let k = part.length - 1;
      while (k >= 0 && part.charCodeAt(k) === BACKSLASH) k--;
      n += part.length - 1 - k;
      if (k >= 0) break;
    }
    return n;
  }

  private startValue(pos: number): void {
    this.valStart = pos;
    this.valLine = this.line;
    this.valCol = this.base + pos - this.lineStart + 1;
    this.valScalar = false;
    this.depth = 0;
  }

  private restOfLineBlank(pos: number): boolean {
    const buf = this.buf;
    for (let i = pos; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c === NL) return true;
      if (c !== SPACE && c !== TAB && c !== CR) return false;
    }
    // End of the buffer without a newline: stay in the scanner, which handles either case.
    return false;
  }

  /** The open value's text up to buf[end). */
  private valueText(end: number): string {
    if (this.valStart === IN_HEAD) return this.headText() + this.buf.slice(0, end);
    return this.buf.slice(this.valStart, end);
  }

  /** Parses and emits the open value, ending at buf[end). */
  private completeValue(end: number): void {
    if (this.discarding) {
      this.dropHead();
      this.resetValue();
      return;
    }
    const text = this.valueText(end);
    const line = this.valLine;
    const col = this.valCol;
    this.resetValue();
    if (text.length > this.maxValueChars) {
      this.sink.bad(line, this.tooLongReason());
      return;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.sink.bad(line, describeJsonError(text, line, col));
      return;
    }
    this.sink.value(v, line, undefined, text);
  }

  /**
   * Gives up on the open value: reports it at its first line and reads the lines after that line
   * again, up to where the value was abandoned (this.pos). Reading them again is what recovers an
   * NDJSON file with one truncated line: the lines that the broken value seemed to swallow are
   * read as values of their own. They are read as single lines, so this happens once per text.
   */
  private abandonValue(reason: string): void {
    const line = this.valLine;
    if (this.discarding) {
      // Already reported as too long, and its text is gone: go on after this line.
      this.dropHead();
      this.resetValue();
      this.mode = Mode.SkipLine;
      return;
    }
    this.sink.bad(line, reason);
    if (this.valStart === IN_HEAD) {
      // Bring the value's earlier text back into buf (bounded by the size cap).
      const headLen = this.headLen;
      this.buf = this.headText() + this.buf;
      this.base -= headLen;
      this.pos += headLen;
      this.valStart = 0;
    }
    const start = this.valStart;
    this.rescanEnd = Math.max(this.rescanEnd, this.base + this.pos);
    this.resetValue();
    const nl = this.buf.indexOf('\n', start);
    if (nl >= 0 && nl < this.pos) {
      // Line numbers restart at the value's first line; SkipLine moves past its newline.
      this.line = line;
      this.pos = nl;
    }
    this.mode = Mode.SkipLine;
  }

  private endOfInputInScan(): boolean {
    if (this.valStart === -1) return false;
    if (this.valScalar) {
      this.completeValue(this.buf.length);
      return false;
    }
    this.pos = this.buf.length;
    const hadNl = this.buf.indexOf('\n', Math.max(0, this.valStart)) >= 0 || this.head.some((t) => t.includes('\n'));
    this.abandonValue('invalid JSON: unterminated value (end of input before it closed)');
    return hadNl; // read the following lines again, if any
  }
}

const NON_BLANK = /[^ \t\r]/g;

/** Index of the first character at or after `from` that is not a space, tab or CR (or buf.length). */
function skipBlanks(buf: string, from: number): number {
  NON_BLANK.lastIndex = from;
  const m = NON_BLANK.exec(buf);
  return m ? m.index : buf.length;
}

/**
 * Whether the JSON text buf[s, e) nests objects and arrays deeper than `max`. Most lines have far
 * fewer than `max` brackets in all, which a few indexOf calls establish; only lines with more are
 * scanned character by character (skipping strings).
 */
export function nestedDeeperThan(buf: string, s: number, e: number, max: number): boolean {
  // Two plain loops: iterating over a list of the two characters cost about a fifth more, and
  // this runs for every line over 2,000 characters (most Agent events).
  let open = 0;
  for (let i = buf.indexOf('{', s); i >= 0 && i < e; i = buf.indexOf('{', i + 1)) if (++open > max) break;
  if (open <= max) for (let i = buf.indexOf('[', s); i >= 0 && i < e; i = buf.indexOf('[', i + 1)) if (++open > max) break;
  if (open <= max) return false;
  let depth = 0;
  for (let i = s; i < e; i++) {
    const c = buf.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < e; i++) {
        const d = buf.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === LBRACE || c === LBRACKET) {
      if (++depth > max) return true;
    } else if (c === RBRACE || c === RBRACKET) depth--;
  }
  return false;
}

/**
 * nestedDeeperThan for text that JSON.parse accepted, where most lines are settled by their length
 * and their `[` alone. Along the deepest path of a JSON value, its `a` arrays and `o` objects
 * each have an opening and a closing bracket, and each object but the innermost holds the next
 * container under a key (`"…":`, at least 3 characters); so the text is at least 2a + 5o - 3
 * characters long, and its depth a + o is at most (3a + length + 3) / 5. With `a` bounded by the
 * number of `[` in the text, a line whose length and `[` keep that bound within `max` cannot be
 * deeper: an Agent event (about 2,700 characters, 10–20 `[`) is settled by counting its `[`
 * (0.20 µs per line, against 0.49 for counting every `{` and `[`; 20,000 Agent lines, 26
 * alternating rounds in one process). Only for text that is one valid JSON value: the bound
 * needs every bracket closed and every member keyed.
 */
export function parsedDeeperThan(buf: string, s: number, e: number, max: number): boolean {
  const len = e - s;
  // Each level takes two brackets.
  if (len <= 2 * max) return false;
  // 3a + len + 3 <= 5 max keeps the depth at most max.
  const room = 5 * max - len - 3;
  if (room >= 0) {
    let a = 0;
    let i = buf.indexOf('[', s);
    for (; i >= 0 && i < e; i = buf.indexOf('[', i + 1)) if (3 * ++a > room) break;
    if (i < 0 || i >= e) return false;
  }
  return nestedDeeperThan(buf, s, e, max);
}

/**
 * The texts of the elements of the JSON array `text` (which JSON.parse accepted), in order; one
 * pass, nesting counted, strings skipped.
 */
export function arrayElementTexts(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  const n = text.length;
  const close = (end: number) => {
    if (start >= 0) out.push(text.slice(start, end).trimEnd());
    start = -1;
  };
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (depth === 1 && start < 0 && c !== SPACE && c !== TAB && c !== CR && c !== NL && c !== COMMA && c !== RBRACKET) start = i;
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === LBRACE || c === LBRACKET) depth++;
    else if (c === RBRACE || c === RBRACKET) {
      if (--depth === 0) close(i);
    } else if (c === COMMA && depth === 1) close(i);
  }
  return out;
}

function trimEnd(buf: string, s: number, e: number): string {
  while (e > s && (buf.charCodeAt(e - 1) === CR || buf.charCodeAt(e - 1) === SPACE)) e--;
  return buf.slice(s, e);
}

function lineEnd(buf: string, pos: number): number {
  const nl = buf.indexOf('\n', pos);
  return nl < 0 ? buf.length : nl;
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Characters of a bad line quoted in its report. */
const SNIPPET = 40;

/**
 * Quotes the start of a bad line. Only its first SNIPPET + 1 characters are looked at (a longer
 * line is cut there), so the scanner can quote a line whose end has not been read yet.
 */
function quoteSnippet(s: string): string {
  if (s.length > SNIPPET + 1) return JSON.stringify(s.slice(0, SNIPPET).trimStart() + '…');
  const t = s.trim();
  return JSON.stringify(t.length > SNIPPET ? t.slice(0, SNIPPET) + '…' : t);
}

/**
 * Explains why `text` (which starts at `line`, column `col`) is not valid JSON, with the line and
 * column of the fault. V8's messages do not always carry a position (and sometimes quote the whole
 * input), so the position comes from a small validator run only on failing items.
 */
export function describeJsonError(text: string, line: number, col: number, fault?: JsonFault): string {
  const err = fault ?? findJsonError(text);
  const off = err.pos;
  const before = text.lastIndexOf('\n', off - 1);
  const errLine = line + countNewlines(text, 0, off);
  const errCol = before < 0 ? col + off : off - before;
  return `invalid JSON at line ${errLine} column ${errCol}: ${err.message}`;
}

export interface JsonFault {
  pos: number;
  message: string;
  /**
   * 'eof': valid so far but incomplete (a value spanning lines); 'trailing': a complete value
   * followed by another one; 'syntax': anything else.
   */
  kind: 'eof' | 'trailing' | 'syntax';
}

/**
 * Minimal JSON validator that reports the first fault's offset. Iterative (an explicit stack of
 * open containers), so a line nested 100,000 levels deep is explained, not a stack overflow.
 */
export function findJsonError(s: string): JsonFault {
  let i = 0;
  const n = s.length;
  const ws = () => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === SPACE || c === TAB || c === NL || c === CR) i++;
      else break;
    }
  };
  const fault = (message: string, kind: JsonFault['kind'] = i >= n ? 'eof' : 'syntax'): never => {
    throw { pos: i, message, kind } satisfies JsonFault;
  };
  const unexpected = (what: string): never =>
    i >= n ? fault(`unexpected end of input, expected ${what}`) : fault(`unexpected ${JSON.stringify(s[i])}, expected ${what}`);
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fault('unterminated string', 'syntax');
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return;
      }
      if (c === BACKSLASH) {
        const e = s[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) fault('invalid \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fault('invalid escape in string');
      } else if (c < 0x20) fault('control character in string (unescaped newline or tab?)');
      else i++;
    }
  };
  /** Open containers: LBRACE or LBRACKET. */
  const open: number[] = [];
  /**
   * Reads one value. A non-empty container is opened (pushed) and its first member read in the
   * same loop; the caller's loop reads the rest.
   */
  const value = (): void => {
    for (;;) {
      ws();
      const c = s[i];
      if (c === '{') {
        i++;
        ws();
        if (s[i] === '}') {
          i++;
          return;
        }
        open.push(LBRACE);
        key();
        continue;
      }
      if (c === '[') {
        i++;
        ws();
        if (s[i] === ']') {
          i++;
          return;
        }
        open.push(LBRACKET);
        continue;
      }
      if (c === '"') return str();
      const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|^true|^false|^null/.exec(s.slice(i, i + 400));
      if (!m) unexpected('a value');
      i += m![0].length;
      return;
    }
  };
  /** Inside an object: a property name and its colon. */
  const key = (): void => {
    ws();
    if (s[i] !== '"') unexpected('a property name in double quotes');
    str();
    ws();
    if (s[i] !== ':') unexpected("':'");
    i++;
  };
  try {
    value();
    while (open.length > 0) {
      // After a member: a comma and the next member, or the container's end.
      ws();
      const inObject = open[open.length - 1] === LBRACE;
      if (s[i] === ',') {
        i++;
        if (inObject) key();
        value();
        continue;
      }
      if (s[i] === (inObject ? '}' : ']')) {
        i++;
        open.pop();
        continue;
      }
      unexpected(inObject ? "',' or '}'" : "',' or ']'");
    }
    ws();
    if (i < n) {
      if (s[i] === '{' || s[i] === '[') fault(`unexpected ${JSON.stringify(s[i])} after the end of a value`, 'trailing');
      unexpected('end of value');
    }
  } catch (e) {
    if (e && typeof e === 'object' && 'pos' in e) return e as JsonFault;
    throw e;
  }
  return { pos: 0, message: 'invalid JSON', kind: 'syntax' };
}
