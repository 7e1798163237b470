// Inputs that are not text at all: an image, an executable, an archive or compressed data other
// than gzip, a database, an EVTX file given under another name. Read line by line, such a file
// gave thousands of "invalid JSON" lines; it is recognised from its first bytes instead and
// skipped as one item that says what it looks like (sources.ts), and a regular file holding an
// EVTX log is read as EVTX whatever its name (expandInputs).
import { openSync, readSync, closeSync } from 'node:fs';
import { sniffEncoding } from '../util/text.js';

/** What a binary start is, and what to do instead (when something can be done). */
interface Magic {
  bytes: readonly number[];
  /** Where the bytes are (default 0). */
  at?: number;
  what: string;
  /** What to do instead, for a file (`f`) or stdin (null). */
  hint?: (f: string | null) => string;
  /** Short magic that text could start with too: only taken with a NUL byte near the start. */
  weak?: boolean;
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

const MAGICS: readonly Magic[] = [
  { bytes: ascii('ElfFile\0'), what: 'an EVTX file (Windows event log)', hint: () => 'save it to a file and name that file (EVTX is read with random access)' },
  { bytes: [0x89, ...ascii('PNG\r\n'), 0x1a, 0x0a], what: 'a PNG image' },
  { bytes: [0xff, 0xd8, 0xff], what: 'a JPEG image' },
  { bytes: ascii('GIF8'), what: 'a GIF image' },
  { bytes: ascii('%PDF-'), what: 'a PDF document' },
  { bytes: [0x7f, ...ascii('ELF')], what: 'an ELF executable' },
  { bytes: ascii('SQLite format 3\0'), what: 'an SQLite database' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7-Zip archive', hint: (f) => `extract it first${f ? ` (7z x ${f})` : ''}` },
  { bytes: [0xfd, ...ascii('7zXZ'), 0x00], what: 'xz-compressed data', hint: (f) => `decompress it first (${f ? `xz -dc ${f} | eqlite hunt -` : 'xz -dc'})` },
  { bytes: ascii('BZh'), weak: true, what: 'bzip2-compressed data', hint: (f) => `decompress it first (${f ? `bzip2 -dc ${f} | eqlite hunt -` : 'bzip2 -dc'})` },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed data', hint: (f) => `decompress it first (${f ? `zstd -dc ${f} | eqlite hunt -` : 'zstd -dc'})` },
  { bytes: ascii('ustar'), at: 257, what: 'a tar archive', hint: (f) => `extract it first${f ? ` (tar -xf ${f})` : ''}` },
  { bytes: [0xd4, 0xc3, 0xb2, 0xa1], what: 'a packet capture (pcap)' },
  { bytes: [0xa1, 0xb2, 0xc3, 0xd4], what: 'a packet capture (pcap)' },
  { bytes: [0x4d, 0x5a], weak: true, what: 'a Windows executable (MZ)' },
];

/** The name stdin's items are reported under (sources.ts STDIN_NAME). */
const STDIN = '<stdin>';

/** Bytes of the start searched for a NUL byte. */
const NUL_WINDOW = 4096;

/**
 * Whether `head`, the first bytes read of an input (all of it when `ended`), is enough for
 * binaryReason to decide as it would on the input's first NUL_WINDOW bytes: reads are joined until
 * it is, so that the decision does not depend on read sizes (a NUL byte at byte 7 is seen by reads
 * of 3 bytes too). From stdin a start that looks like JSON or XML text (`{`, `[` or `<` after an
 * optional byte order mark and blanks) is decided at once: events arriving one by one on a pipe
 * are not held back for 4 KiB. (Only a tar archive whose first member's name starts so is then
 * missed: its magic lies at byte 257.)
 */
export function headDecides(head: Uint8Array, ended: boolean, stdin: boolean): boolean {
  if (ended || head.length >= NUL_WINDOW) return true;
  if (!stdin) return false;
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  // (A byte order mark cut short, or nothing but blanks so far: more is needed.)
  if (i >= head.length || (i === 0 && head[0] === 0xef && head.length < 3)) return false;
  const c = head[i];
  return c === 0x7b || c === 0x5b || c === 0x3c;
}

function matches(b: Uint8Array, m: Magic): boolean {
  const at = m.at ?? 0;
  if (b.length < at + m.bytes.length) return false;
  for (let i = 0; i < m.bytes.length; i++) if (b[at + i] !== m.bytes[i]) return false;
  return true;
}

/** Whether the first bytes are an EVTX file header ("ElfFile\0"). */
export function isEvtxStart(b: Uint8Array): boolean {
  return matches(b, MAGICS[0]!);
}

/**
 * Why an input whose first bytes (after gzip) are `head` is not read as text, or null when it may
 * be text: a known binary format by its magic bytes, or a NUL byte in its first 4 KiB when the
 * text does not start like JSON or XML (UTF-8 JSON never holds a raw NUL; UTF-16 and UTF-32 text,
 * which does, is left to the decoder; a JSON file damaged further on keeps its good lines).
 */
export function binaryReason(head: Uint8Array, file: string): string | null {
  const nul = head.subarray(0, NUL_WINDOW).indexOf(0);
  for (const m of MAGICS) {
    if (!matches(head, m) || (m.weak && nul < 0)) continue;
    const hint = m.hint?.(file === STDIN ? null : file);
    return `binary file: ${m.what}, not NDJSON, JSON or XML text${hint ? `: ${hint}` : ''}; file skipped`;
  }
  const sniffed = sniffEncoding(head.subarray(0, 4));
  if (!('encoding' in sniffed) || sniffed.encoding !== 'utf-8') return null;
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  const c = head[i];
  if (c === 0x7b || c === 0x5b || c === 0x3c || nul < 0) return null;
  return `binary file: a NUL byte at byte ${nul + 1}, not NDJSON, JSON or XML text; file skipped`;
}

/** Whether the regular file at `path` starts with an EVTX header (false when it cannot be read: the reader reports that). */
export function fileStartsAsEvtx(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(8);
    return readSync(fd, b, 0, 8, 0) === 8 && isEvtxStart(b);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
