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

/** Receives what the splitter finds. Lines are 1-based. */
export interface SplitSink {
  /** A complete top-level value (or top-level array element) that starts on `line`. */
  value(v: unknown, line: number): void;
  /** A malformed item starting on `line`; it has been skipped. */
  bad(line: number, reason: string): void;
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

/** Default cap on one value (characters); a longer value is reported and skipped. */
export const DEFAULT_MAX_VALUE_CHARS = 64 * 1024 * 1024;

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
  /** Start of the value being scanned, -1 when between values; its line and column. */
  private valStart = -1;
  private valLine = 0;
  private valCol = 0;
  /** The value being scanned is a bare scalar inside an array (number, true, false, null). */
  private valScalar = false;
  private depth = 0;
  private inString = false;
  private started = false;

  constructor(
    private readonly sink: SplitSink,
    private readonly maxValueChars = DEFAULT_MAX_VALUE_CHARS,
  ) {}

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
    this.run(true);
    if (this.inArray) {
      this.sink.bad(this.arrayLine, "unterminated JSON array: end of input before the closing ']'");
      this.inArray = false;
    }
    this.buf = '';
    this.pos = 0;
  }

  /** Drops consumed text so memory holds at most the open value or partial line. */
  private compact(): void {
    const keep = this.valStart >= 0 ? this.valStart : this.pos;
    if (keep > 0) {
      this.buf = this.buf.slice(keep);
      this.base += keep;
      this.pos -= keep;
      if (this.valStart >= 0) this.valStart = 0;
    }
    if (this.buf.length > this.maxValueChars) this.tooLong();
  }

  /** A value or line beyond the size cap: report it and resynchronise. */
  private tooLong(): void {
    const max = this.maxValueChars;
    const size = max >= 1 << 20 ? `${+(max / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(max / 1024)} KB`;
    const reason = `item longer than ${size} (unterminated value or missing newline?)`;
    if (this.valStart >= 0 && this.buf.indexOf('\n', this.valStart) >= 0) {
      // Rescan from the line after the value's start (see abandonValue), then go on.
      this.abandonValue(reason);
      this.run(false);
      this.compact();
      return;
    }
    this.sink.bad(this.valStart >= 0 ? this.valLine : this.line, reason);
    this.base += this.buf.length;
    this.buf = '';
    this.pos = 0;
    this.resetValue();
    this.mode = Mode.SkipLine;
  }

  private resetValue(): void {
    this.valStart = -1;
    this.valScalar = false;
    this.depth = 0;
    this.inString = false;
  }

  private run(final: boolean): void {
    for (;;) {
      let more: boolean;
      if (this.mode === Mode.Line) more = this.lines(final);
      else if (this.mode === Mode.Scan) more = this.scan(final);
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

  /** NDJSON fast path. Returns true when the mode changed and another handler must run. */
  private lines(final: boolean): boolean {
    const buf = this.buf;
    const len = buf.length;
    const sink = this.sink;
    let pos = this.pos;
    for (;;) {
      let s = pos;
      let c = buf.charCodeAt(s);
      while (c === SPACE || c === TAB || c === CR) c = buf.charCodeAt(++s);
      if (s >= len) {
        this.pos = pos;
        return false;
      }
      if (c === NL) {
        pos = s + 1;
        this.newline(pos);
        continue;
      }
      if (c === LBRACKET) {
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
      if (c === LBRACE) {
        let v: unknown;
        let ok = true;
        try {
          // JSON whitespace includes '\r' and spaces, so the raw line parses as is.
          v = JSON.parse(buf.slice(s, nl));
        } catch {
          ok = false;
        }
        if (ok) {
          sink.value(v, this.line);
        } else {
          const text = trimEnd(buf, s, nl);
          const fault = findJsonError(text);
          if (fault.kind !== 'syntax') {
            // The object continues on the next lines (pretty-printed), or another value follows
            // it on this line: scan structurally.
            this.pos = s;
            this.mode = Mode.Scan;
            return true;
          }
          sink.bad(this.line, describeJsonError(text, this.line, s - pos + 1, fault));
        }
      } else {
        sink.bad(this.line, `expected a JSON object or array, found ${quoteSnippet(buf.slice(s, nl))}`);
      }
      if (nl >= len) {
        this.pos = len;
        return false;
      }
      pos = nl + 1;
      this.newline(pos);
    }
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
      if (this.inString) {
        const q = buf.indexOf('"', pos);
        if (nextNl !== -1 && nextNl < pos) nextNl = buf.indexOf('\n', pos);
        if (nextNl >= 0 && (q < 0 || nextNl < q)) {
          // A raw newline inside a string: the value is broken (typically a truncated line).
          this.pos = pos;
          this.abandonValue('invalid JSON: unterminated string (the line ends inside a string)');
          return true;
        }
        if (q < 0) {
          this.pos = len;
          if (final) return this.endOfInputInScan();
          return false;
        }
        let b = q - 1;
        while (buf.charCodeAt(b) === BACKSLASH) b--;
        pos = q + 1;
        if (((q - 1 - b) & 1) === 1) continue; // escaped quote
        this.inString = false;
        if (this.depth === 0) {
          // A string scalar at array level is complete.
          this.completeValue(pos);
        }
        continue;
      }
      const c = buf.charCodeAt(pos);
      if (this.valStart >= 0) {
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
        else if (c === LBRACE || c === LBRACKET) this.depth++;
        else if (c === RBRACE || c === RBRACKET) {
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
            this.sink.bad(this.valLine, `invalid JSON: unterminated object (line ${this.line + 1} starts a new object before it closed)`);
            this.resetValue();
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
      this.sink.bad(this.line, `expected a JSON object or array, found ${quoteSnippet(buf.slice(pos, lineEnd(buf, pos)))}`);
      this.pos = pos;
      this.mode = Mode.SkipLine;
      return true;
    }
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

  /** Parses and emits buf[valStart, end). */
  private completeValue(end: number): void {
    const text = this.buf.slice(this.valStart, end);
    const line = this.valLine;
    const col = this.valCol;
    this.resetValue();
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.sink.bad(line, describeJsonError(text, line, col));
      return;
    }
    this.sink.value(v, line);
  }

  /**
   * Gives up on the open value: reports it at its first line and rescans from the line after it.
   * Rescanning is what recovers an NDJSON file with one truncated line: the lines that the broken
   * value seemed to swallow are read again as values of their own.
   */
  private abandonValue(reason: string): void {
    const line = this.valLine;
    const start = this.valStart;
    this.sink.bad(line, reason);
    this.resetValue();
    const nl = this.buf.indexOf('\n', start);
    this.line = line;
    // SkipLine moves past that newline and counts it.
    this.pos = nl < 0 ? this.buf.length : nl;
    this.mode = Mode.SkipLine;
  }

  private endOfInputInScan(): boolean {
    if (this.valStart < 0) return false;
    if (this.valScalar) {
      this.completeValue(this.buf.length);
      return false;
    }
    const hadNl = this.buf.indexOf('\n', this.valStart) >= 0;
    this.abandonValue('invalid JSON: unterminated value (end of input before it closed)');
    return hadNl; // rescan the following lines, if any
  }
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

function quoteSnippet(s: string): string {
  const t = s.trim();
  return JSON.stringify(t.length > 40 ? t.slice(0, 40) + '…' : t);
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

/** Minimal JSON validator that reports the first fault's offset. */
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
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') unexpected('a property name in double quotes');
        str();
        ws();
        if (s[i] !== ':') unexpected("':'");
        i++;
        value();
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === '}') {
          i++;
          return;
        }
        unexpected("',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          return;
        }
        unexpected("',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|^true|^false|^null/.exec(s.slice(i, i + 400));
    if (!m) unexpected('a value');
    i += m![0].length;
  };
  try {
    value();
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
