// File-system helpers shared by the input and rule readers.
import { closeSync, fstatSync, openSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';

/** What a non-regular file is, for messages ("a FIFO (named pipe)", "a socket", …). */
export function fileTypeName(st: Stats | BigIntStats | Dirent): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The reason of a file-system error in words ("no space left on device"), for one-line messages. */
export function ioReason(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'read-only file system';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a path component is not a directory';
    case 'EFBIG':
      return 'file too large';
    case 'EIO':
      return 'input/output error';
    case 'EPIPE':
      return 'the reading end of the pipe was closed';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Whether a write error means the reader is gone, which ends output quietly: EPIPE on a pipe
 * (`| head` read enough), and ECONNRESET when stdout is a socket — a program that started us with
 * a socket pair (Node's child_process does) and closed its end with our output still unread.
 */
export function readerGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

/**
 * Largest rule file, value list, test case file, mapping or configuration read whole (256 MiB):
 * Elastic's whole rule set as one NDJSON file is about 20 MiB. A device named by mistake
 * (`-r /dev/zero`) would otherwise be read until memory runs out.
 */
export const MAX_WHOLE_FILE_BYTES = 256 * 1024 * 1024;

/** A file too large to be read whole (see readFileCapped). */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
}

/**
 * Reads a whole file, as readFileSync does, but never more than `maxBytes`: a regular file larger
 * than that is refused before reading, and a FIFO or device (`-r <(…)`, `/dev/zero`) is read until
 * it ends or passes the cap. Throws FileTooLargeError naming the cap.
 */
export function readFileCapped(file: string, maxBytes = MAX_WHOLE_FILE_BYTES): Buffer {
  const tooLarge = () => new FileTooLargeError(`larger than ${Math.round(maxBytes / 1024 / 1024)} MiB (the limit for a file read whole)`);
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > maxBytes) throw tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(st.isFile() ? Math.min(Math.max(st.size - total, 0) + 1, 1 << 24) : 1 << 16);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // A FIFO opened without a writer yet, or a non-blocking descriptor: wait and read again.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw e;
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge();
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * Why FILE cannot be written as an output, checked before the work that produces it (a missing
 * directory must not cost a whole run), or null when it can be tried.
 */
export function outputProblem(file: string): string | null {
  const dir = path.dirname(path.resolve(file));
  try {
    if (!statSync(dir).isDirectory()) return `cannot write ${file}: ${path.dirname(file)} is not a directory`;
  } catch {
    return `cannot write ${file}: directory ${path.dirname(file)} does not exist`;
  }
  try {
    if (statSync(file).isDirectory()) return `cannot write ${file}: is a directory`;
  } catch {
    // not there yet: fine
  }
  return null;
}

/**
 * Writes FILE whole or not at all: the text goes to FILE.partial, renamed over FILE once written,
 * so a full disk or a crash never leaves FILE cut short (the partial file is removed on failure).
 */
export function writeFileAtomic(file: string, text: string): void {
  const partial = `${file}.partial`;
  try {
    writeFileSync(partial, text);
    renameSync(partial, file);
  } catch (e) {
    try {
      unlinkSync(partial);
    } catch {
      // never created
    }
    throw e;
  }
}
