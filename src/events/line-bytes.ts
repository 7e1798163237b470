// Where each line of a part of a UTF-8 NDJSON file lies in the file's bytes (ReadOptions.range),
// so that an input worker can send a whole event as a byte range of the file instead of its JSON
// text (EventDoc.textAt; src/parallel/pool.ts reads the line back only when something reads the
// document). The reader decodes text in pieces and never knows byte offsets otherwise; newlines
// are found in the bytes before decoding (0x0A never occurs inside a UTF-8 sequence, so the n-th
// newline byte ends the same line as the splitter's n-th '\n').

/**
 * Lines kept whose event has not been emitted yet. NDJSON emits a line's event as soon as its
 * newline is read, so a few hundred at most are pending; input with many lines and no one-line
 * event (pretty-printed JSON, a long run of blank lines) turns the table off, and its events then
 * travel as text, as every other input's do.
 */
const MAX_PENDING = 1 << 16;

export class LineStarts {
  /** starts[k] is the byte offset (in the file) where line `first + k - head` begins. */
  private starts: number[];
  private head = 0;
  private first: number;
  /** Bytes seen so far: the end of the last line when the input has no final newline. */
  private end: number;
  /** Gave up (see MAX_PENDING): lineAt answers nothing from then on. */
  off = false;

  /** The part begins at byte `start`, which starts line `line` (1-based). */
  constructor(start: number, line: number) {
    this.starts = [start];
    this.first = line;
    this.end = start;
  }

  /** Takes the next bytes of the part, which begin at byte `at` of the file. */
  add(chunk: Uint8Array, at: number): void {
    if (this.off) return;
    const starts = this.starts;
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) starts.push(at + i + 1);
    this.end = at + chunk.length;
    if (starts.length - this.head > MAX_PENDING) {
      this.off = true;
      this.starts = [];
      this.head = 0;
    }
  }

  /**
   * The bytes of `line` without its newline, [at, at + bytes), written into `out`; false when not
   * known. The lines before it are forgotten: events are emitted in line order.
   */
  lineAt(line: number, out: { at: number; bytes: number }): boolean {
    if (this.off) return false;
    const k = this.head + line - this.first;
    const starts = this.starts;
    if (k < this.head || k >= starts.length) return false;
    const at = starts[k]!;
    // A line without a newline ends the input.
    out.at = at;
    out.bytes = (k + 1 < starts.length ? starts[k + 1]! - 1 : this.end) - at;
    if (k > this.head) {
      this.first = line;
      this.head = k;
      if (k >= 4096) {
        this.starts = starts.slice(k);
        this.head = 0;
      }
    }
    return true;
  }
}
