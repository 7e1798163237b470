// File-system helpers shared by the input and rule readers.
import type { BigIntStats, Dirent, Stats } from 'node:fs';

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
