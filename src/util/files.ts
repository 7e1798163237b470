// File-system helpers shared by the input and rule readers.
import type { Dirent, Stats } from 'node:fs';

/** What a non-regular file is, for messages ("a FIFO (named pipe)", "a socket", …). */
export function fileTypeName(st: Stats | Dirent): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
