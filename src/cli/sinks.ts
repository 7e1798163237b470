// Output sinks of the commands that write NDJSON (`hunt --out`, `convert -o`, stdout).
//
// Promises kept here:
//  * an output is checked before any input is read: a missing directory or a read-only file fails
//    at once, with one line;
//  * a file never ends in a half line: lines are written to FILE.partial in the same directory
//    and renamed to FILE when the command ends (also when it is interrupted, or when a write
//    fails: the partial file is first cut back to its last whole line). After a crash (SIGKILL,
//    power loss) FILE is untouched and FILE.partial holds what was written;
//  * memory stays flat however much is written: file writes are synchronous (the kernel's page
//    cache is the buffer), stdout waits for 'drain' between input batches;
//  * any write error is one line naming the file and the reason (OutputError), never a stack.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ioReason, readerGone } from '../util/files.js';
import { drained } from '../util/drained.js';

/** Where lines go: a file (NdjsonFile) or a stream (LineStream). */
export interface LineSink {
  /** Appends one line (without its newline); OutputError when the output failed. */
  write(line: string): void;
  /** A promise while the output is full (the producer awaits it between batches), else null. */
  drain(): Promise<void> | null;
  /** The reader went away (a closed pipe): later lines are dropped. */
  readonly closed: boolean;
}

/** A failed output: printed as `error: <message>`; the command exits 2. */
export class OutputError extends Error {
  override name = 'OutputError';
}

const FLUSH_BYTES = 256 * 1024;

/**
 * NDJSON lines to a file through FILE.partial (see the header). Lines are collected up to 256 KiB
 * and written synchronously, so a failure loses at most that chunk, which is then cut off.
 */
export class NdjsonFile implements LineSink {
  /** FILE.partial; null when FILE is not a regular file (a FIFO, /dev/stdout) and is written directly. */
  readonly partial: string | null;
  readonly closed = false;
  private fd: number | null;
  private chunks: string[] = [];
  private pending = 0;
  /** Bytes on disk that end with a whole line, and the lines they hold. */
  private durable = 0;
  private durableLines = 0;
  private bufferedLines = 0;
  private failed: OutputError | null = null;
  private done = false;

  private constructor(
    readonly file: string,
    fd: number,
    partial: string | null,
  ) {
    this.fd = fd;
    this.partial = partial;
  }

  /** Creates FILE.partial now (before any input is read); OutputError when that is impossible. */
  static open(file: string): NdjsonFile {
    const dir = path.dirname(path.resolve(file));
    if (!existsSync(dir)) throw new OutputError(`cannot write ${file}: directory ${path.dirname(file)} does not exist`);
    let special = false;
    try {
      const st = statSync(file);
      if (st.isDirectory()) throw new OutputError(`cannot write ${file}: is a directory`);
      special = !st.isFile();
    } catch (e) {
      if (e instanceof OutputError) throw e;
      // no such file yet: fine
    }
    if (special) {
      // `--out /dev/stdout`, `--out >(gzip > a.gz)`: written as a stream, never renamed over.
      try {
        return new NdjsonFile(file, openSync(file, 'w'), null);
      } catch (e) {
        throw new OutputError(`cannot write ${file}: ${ioReason(e)}`);
      }
    }
    const partial = `${file}.partial`;
    let fd: number;
    try {
      // A partial file left by a killed run is replaced; created anew (not opened through a
      // symbolic link someone put in its place).
      try {
        unlinkSync(partial);
      } catch {
        // none
      }
      fd = openSync(partial, 'wx');
    } catch (e) {
      throw new OutputError(`cannot write ${file}: ${ioReason(e)}`);
    }
    return new NdjsonFile(file, fd, partial);
  }

  /** Lines in the file so far (whole lines only). */
  get lines(): number {
    return this.durableLines;
  }

  /** Lines given to write() so far, written or still buffered. */
  get written(): number {
    return this.durableLines + this.bufferedLines;
  }

  /** Appends one line (without its newline). Throws OutputError when the file cannot be written. */
  write(line: string): void {
    if (this.failed) throw this.failed;
    this.chunks.push(line, '\n');
    this.pending += line.length + 1;
    this.bufferedLines++;
    if (this.pending >= FLUSH_BYTES) this.flush();
  }

  drain(): null {
    return null;
  }

  /** Writes what is buffered. */
  flush(): void {
    if (this.failed) throw this.failed;
    if (this.pending === 0 || this.fd === null) return;
    const buf = Buffer.from(this.chunks.join(''));
    this.chunks = [];
    this.pending = 0;
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off, this.partial === null ? null : this.durable + off);
    } catch (e) {
      // Part of the chunk may be on disk: keep its whole lines, cut the rest.
      this.failed = new OutputError(`cannot write ${this.file}: ${ioReason(e)}`);
      const keep = off > 0 ? buf.lastIndexOf(0x0a, off - 1) + 1 : 0;
      for (let i = 0; i < keep; i++) if (buf[i] === 0x0a) this.durableLines++;
      this.durable += keep;
      if (this.partial !== null) {
        try {
          ftruncateSync(this.fd, this.durable);
        } catch {
          // close() cuts the file to its last newline before renaming it
        }
      }
      throw this.failed;
    }
    this.durable += buf.length;
    this.durableLines += this.bufferedLines;
    this.bufferedLines = 0;
  }

  /**
   * Ends the file: writes what is buffered (unless a write failed), closes it and renames it to
   * its name. Returns the error of a failed write, if any; never throws for a failed write.
   */
  close(): OutputError | null {
    if (this.done) return this.failed;
    this.done = true;
    if (!this.failed) {
      try {
        this.flush();
      } catch {
        // this.failed is set; the file is cut back to whole lines
      }
    }
    if (this.partial === null) {
      if (this.fd !== null) {
        try {
          closeSync(this.fd);
        } catch {
          // a stream: nothing to keep
        }
        this.fd = null;
      }
      return this.failed;
    }
    if (this.fd !== null) {
      try {
        cutToLastNewline(this.fd);
        closeSync(this.fd);
      } catch {
        // closing a file we wrote cannot lose more than the failed write already reported
      }
      this.fd = null;
    }
    try {
      renameSync(this.partial, this.file);
    } catch (e) {
      this.failed ??= new OutputError(`cannot write ${this.file}: ${ioReason(e)} (the alerts are in ${this.partial})`);
    }
    return this.failed;
  }

  /** Removes the partial file without touching FILE (the command failed before producing output). */
  abandon(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // nothing was promised
      }
      this.fd = null;
    }
    if (this.partial === null) return;
    try {
      unlinkSync(this.partial);
    } catch {
      // already gone
    }
  }
}

/** Makes sure a file ends with a newline (or is empty): cuts a trailing partial line. */
function cutToLastNewline(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const tail = Buffer.alloc(Math.min(size, 1 << 16));
  let end = size;
  while (end > 0) {
    const n = Math.min(tail.length, end);
    readSync(fd, tail, 0, n, end - n);
    const nl = tail.lastIndexOf(0x0a, n - 1);
    if (nl >= 0) {
      const keep = end - n + nl + 1;
      if (keep !== size) ftruncateSync(fd, keep);
      return;
    }
    end -= n;
  }
  ftruncateSync(fd, 0);
}


/**
 * Lines to a stream (stdout): `write` never blocks; `drain()` is awaited by the producer between
 * input batches, so a slow reader slows the command instead of filling memory. A closed pipe
 * (EPIPE: `| head` has read enough) ends the sink quietly: `closed` becomes true and later lines
 * are dropped. Any other write error is an OutputError.
 */
export class LineStream implements LineSink {
  closed = false;
  private waiting: Promise<void> | null = null;
  private error: Error | null = null;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly name = 'stdout',
  ) {
    // A bare object with only write() (a test's capture) has no events to listen to.
    if (typeof out.on === 'function') out.on('error', (e: NodeJS.ErrnoException) => this.failed(e));
  }

  private failed(e: NodeJS.ErrnoException): void {
    if (readerGone(e) || e.code === 'ERR_STREAM_DESTROYED') this.closed = true;
    else this.error ??= e;
  }

  private check(): void {
    if (this.error) throw new OutputError(`cannot write ${this.name}: ${ioReason(this.error)}`);
  }

  write(line: string): void {
    this.check();
    if (this.closed) return;
    let room: boolean;
    try {
      room = this.out.write(line + '\n');
    } catch (e) {
      // process.stdout on a pipe writes synchronously and can throw EPIPE from write() itself.
      this.failed(e as NodeJS.ErrnoException);
      this.check();
      return;
    }
    if (!room && !this.waiting) this.waiting = drained(this.out).then(() => void (this.waiting = null));
  }

  /** A promise while the stream is full, null when it has room (or is closed). */
  drain(): Promise<void> | null {
    this.check();
    return this.closed ? null : this.waiting;
  }

  /** Waits until everything written has been handed to the system (or the stream failed). */
  async end(): Promise<void> {
    while (this.waiting && !this.closed) await this.waiting;
    // A write's error is emitted on a later tick: let it arrive before saying all went well.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.check();
  }
}
