// The main thread's reading back of a line an input worker sent as a byte range of its file
// (ForwardedColumns.at) instead of its JSON text: done only when something reads the event's
// document (an alert, a sequence that keeps it), for fewer than 1% of the whole events with every
// rule over Agent data, so one synchronous read of the (cached) file each time.
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from '../events/sources.js';
import { ioReason } from '../util/files.js';

/** Lines up to this size are read into one buffer kept for the purpose; longer ones into their own. */
const KEPT_BUFFER = 64 << 10;

export class FileLines {
  private fd = -1;
  private closed = false;
  private buf: Buffer | null = null;

  constructor(readonly path: string) {}

  /**
   * The JSON text of `line` (for messages), bytes [at, at + bytes) of the file: the line decoded,
   * its leading blanks kept (JSON whitespace). `chars` is the length of the text the worker parsed
   * there (the line after those blanks): a file rewritten meanwhile is reported, not misread.
   */
  text(at: number, bytes: number, chars: number, line: number): string {
    const buf = bytes <= KEPT_BUFFER ? (this.buf ??= Buffer.allocUnsafe(KEPT_BUFFER)) : Buffer.allocUnsafe(bytes);
    // After close() (a document read once the input is done) each read opens the file for itself.
    const once = this.closed;
    let fd = this.fd;
    try {
      if (fd < 0) fd = openSync(this.path, 'r');
      if (!once) this.fd = fd;
      let got = 0;
      while (got < bytes) {
        const n = readSync(fd, buf, got, bytes - got, at + got);
        if (n <= 0) break;
        got += n;
      }
      if (got < bytes) throw new InputError(`${this.path}: line ${line} is no longer where it was read (the file was changed while it was read)`);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`cannot read ${this.path} again (line ${line}): ${ioReason(e)}`);
    } finally {
      if (once && fd >= 0) closeSync(fd);
    }
    const s = buf.toString('utf8', 0, bytes);
    let blanks = 0;
    let c = s.charCodeAt(0);
    while (c === 0x20 || c === 0x09 || c === 0x0d) c = s.charCodeAt(++blanks);
    if (s.length - blanks !== chars) throw new InputError(`${this.path}: line ${line} is not what was read there (the file was changed while it was read)`);
    return s;
  }

  /**
   * Opens the file now, before the workers read it: a file removed or renamed during the hunt (log
   * rotation) is still read back from what was opened. A failure is left to the reader to report.
   */
  open(): void {
    if (this.fd >= 0 || this.closed) return;
    try {
      this.fd = openSync(this.path, 'r');
    } catch {
      // The input's reader reports an unreadable file.
    }
  }

  /** Releases the file; later reads (rare) open it for themselves. */
  close(): void {
    this.closed = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.buf = null;
  }
}
