// Text encodings of input files. Windows tools (PowerShell's `>` and Out-File in Windows
// PowerShell 5, Notepad's "Unicode") write UTF-16 with a byte order mark; reading that as UTF-8
// makes every line fail. UTF-16 is decoded (with a BOM, or recognised from a JSON/TOML start such
// as `{\0`), UTF-32 is refused with a message naming it, anything else is read as UTF-8.
import { Utf8Chunks, type Utf8Fault } from './utf8.js';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export type Sniffed = { encoding: TextEncoding } | { refused: string };

/** Bytes needed to decide (fewer only at end of input). */
export const SNIFF_BYTES = 4;

/** Decides the encoding from the first bytes of a text input. */
export function sniffEncoding(b: Uint8Array): Sniffed {
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) {
    return { refused: 'UTF-32 little-endian text (byte order mark FF FE 00 00) is not supported; convert it to UTF-8' };
  }
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) {
    return { refused: 'UTF-32 big-endian text (byte order mark 00 00 FE FF) is not supported; convert it to UTF-8' };
  }
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le' };
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be' };
  // No BOM: an ASCII character followed (LE) or preceded (BE) by a zero byte is UTF-16, since
  // UTF-8 text never holds NUL bytes.
  if (b.length >= 2 && b[0] !== 0 && b[0]! < 0x80 && b[1] === 0) return { encoding: 'utf-16le' };
  if (b.length >= 2 && b[0] === 0 && b[1] !== 0 && b[1]! < 0x80) return { encoding: 'utf-16be' };
  return { encoding: 'utf-8' };
}

/** Incremental decoder for one input; UTF-16 byte order marks are dropped. */
export interface TextChunks {
  write(b: Buffer): string;
  end(): string;
  /** UTF-8 only: the lines of the last write (or end) holding bytes that are not UTF-8. */
  readonly faults?: readonly Utf8Fault[];
}

export function textDecoder(encoding: TextEncoding): TextChunks {
  // UTF-8 input (nearly all of it): StringDecoder's results, cheaper on mostly-ASCII text (utf8.ts).
  if (encoding === 'utf-8') return new Utf8Chunks();
  const d = new TextDecoder(encoding);
  return {
    write: (b) => d.decode(b, { stream: true }),
    end: () => d.decode(),
  };
}

/** An encoding problem that makes a whole input unreadable (UTF-32). */
export class EncodingError extends Error {
  override name = 'EncodingError';
}

/** A whole file's text (rule files, value lists): UTF-8 or UTF-16, BOM removed. */
export function decodeText(b: Buffer): string {
  const s = sniffEncoding(b.subarray(0, SNIFF_BYTES));
  if ('refused' in s) throw new EncodingError(s.refused);
  const d = textDecoder(s.encoding);
  const text = d.write(b) + d.end();
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
