// UTF-8 decoding for event input, cheaper for text that is mostly ASCII with a few Latin-1
// characters (Agent data: "Microsoft® Windows®" in 63% of the lines), with the very same result
// as Node's decoder (Buffer.toString('utf8'), StringDecoder).
//
// Why: V8 decodes UTF-8 byte by byte, twice (length, then copy), from the first non-ASCII byte
// of what it is given to its end; only a leading ASCII run is skipped word by word. A 64 KiB read
// of Agent data holds its first "®" within a few kilobytes, so nearly all of it took the slow path:
// 1.2 ns per byte, against 0.1 for a latin1 copy (one character per byte). Here a region is copied
// as latin1 (`view`), the two-byte sequences of U+0080–U+00FF (lead byte C2 or C3) are found with
// String.indexOf (memchr), and the text is the view with each such pair replaced by its character
// — provided that every other byte is ASCII, which one `isAscii` (simdutf) over a copy with those
// pairs blanked establishes. Anything else (other scripts, invalid sequences, a dense run of
// non-ASCII characters) is decoded by V8 as before.
import { isAscii, isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';

/** Largest region decoded through the scratch copy; longer ones are decoded by V8. */
const MAX_FAST_BYTES = 1 << 20;
/**
 * More pairs than one per this many bytes: left to V8 (each pair costs two String.indexOf steps
 * and two pieces of the result). With a pair every 66 bytes V8 was the faster (2.0 against 2.6 ns
 * per byte), every 128 bytes this path (1.6 against 2.2), every 512 bytes 0.4 against 2.0.
 */
const MAX_LEAD_SPACING = 128;

const LEAD_C2 = '\u00c2';
const LEAD_C3 = '\u00c3';

/** The scratch copy used to check that only the pairs found are not ASCII (grown when needed). */
let scratch: Buffer | null = null;
/** Start of each pair found in the region, relative to the region (reused). */
let leads = new Int32Array(256);
/** The result's pieces (reused). */
const pieces: string[] = [];

/**
 * Set by each decodeUtf8: true when its bytes were proved valid UTF-8 on the way (the latin1
 * path), false when V8 decoded them (they may hold sequences it replaced with U+FFFD).
 */
let provedValid = false;

/** b[s, e) decoded as UTF-8: exactly b.toString('utf8', s, e). */
export function decodeUtf8(b: Buffer, s: number, e: number): string {
  provedValid = false;
  const n = e - s;
  if (n <= 0) {
    provedValid = true;
    return '';
  }
  if (n > MAX_FAST_BYTES) return b.toString('utf8', s, e);
  const view = b.toString('latin1', s, e);
  const most = n / MAX_LEAD_SPACING;
  let k = 0;
  let c2 = view.indexOf(LEAD_C2);
  let c3 = view.indexOf(LEAD_C3);
  while (c2 >= 0 || c3 >= 0) {
    let p: number;
    if (c3 < 0 || (c2 >= 0 && c2 < c3)) {
      p = c2;
      c2 = view.indexOf(LEAD_C2, p + 2);
    } else {
      p = c3;
      c3 = view.indexOf(LEAD_C3, p + 2);
    }
    // The second byte must continue the sequence (80–BF); a lead at the end is cut short.
    const t = view.charCodeAt(p + 1);
    if (!(t >= 0x80 && t <= 0xbf) || k >= most) return b.toString('utf8', s, e);
    if (k === leads.length) {
      const grown = new Int32Array(k * 2);
      grown.set(leads);
      leads = grown;
    }
    leads[k++] = p;
  }
  if (k === 0) {
    if (!isAscii(b.subarray(s, e))) return b.toString('utf8', s, e);
    provedValid = true;
    return view;
  }
  if (scratch === null || scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, 1 << 16));
  b.copy(scratch, 0, s, e);
  for (let i = 0; i < k; i++) {
    const p = leads[i]!;
    scratch[p] = 0x20;
    scratch[p + 1] = 0x20;
  }
  if (!isAscii(scratch.subarray(0, n))) return b.toString('utf8', s, e);
  // C2 xx is U+00xx (xx in 80–BF); C3 xx is U+00xx + 0x40 (U+00C0–U+00FF).
  let from = 0;
  for (let i = 0; i < k; i++) {
    const p = leads[i]!;
    const t = view.charCodeAt(p + 1);
    pieces.push(view.slice(from, p), String.fromCharCode(view.charCodeAt(p) === 0xc2 ? t : t + 0x40));
    from = p + 2;
  }
  pieces.push(view.slice(from));
  const text = pieces.join('');
  pieces.length = 0;
  provedValid = true;
  return text;
}

/**
 * Offset of the first byte of [start, end) that is not part of a well-formed UTF-8 sequence
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or -1. Meant for bytes
 * that Buffer's isUtf8 (SIMD) refused, so it may be simple.
 *
 * A sequence broken by a byte that cannot continue it (a Latin-1 "é", 0xe9, followed by `"`) is
 * wrong at its lead byte: that is the byte the user has to find and fix, while the byte after it
 * is usually plain ASCII and valid on its own.
 */
export function firstInvalidUtf8(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      // A sequence cut by the end is wrong at its first byte.
      if (i + k >= end) return i;
      const x = b[i + k]!;
      if (x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/**
 * Why bytes are refused, in the words used for a bulk document and an input line alike: the byte
 * firstInvalidUtf8 found and its place, 1-based, in `what` ('the document', 'the line', 'line 9'),
 * which starts at `start`.
 */
export function invalidUtf8Reason(byte: number, at: number, start: number, what: string): string {
  return `invalid UTF-8 byte 0x${byte.toString(16).padStart(2, '0')} at byte ${at - start + 1} of ${what}`;
}

/**
 * A line holding bytes that are not UTF-8, found by Utf8Chunks: `newlines` newline bytes of the
 * write lie before the bad byte (0 for one found at end(), or in a sequence begun in earlier
 * writes), which is byte `byte` (1-based) of its line and has the value `value`.
 */
export interface Utf8Fault {
  newlines: number;
  byte: number;
  value: number;
}

/**
 * An incremental UTF-8 decoder with StringDecoder's results (a character split between two
 * writes is decoded whole; a sequence cut short by the end is one U+FFFD; a byte order mark is
 * kept), that decodes the bulk of each write with decodeUtf8. A write is cut right after ASCII
 * bytes — where no sequence can continue and StringDecoder holds nothing — so that only its edges
 * (the bytes up to its first ASCII byte while a character is open, and those after its last ASCII
 * byte) go through a StringDecoder.
 */
export class Utf8Chunks {
  private readonly decoder = new StringDecoder('utf8');
  /** Whether the StringDecoder may hold the start of a character (its last bytes were not ASCII). */
  private open = false;
  /** Offset in the input of the next write's first byte, and of the start of the line it is in. */
  private at = 0;
  private lineStart = 0;
  /**
   * The open run of non-ASCII bytes (the bytes the StringDecoder decodes, which may span writes):
   * its last sequence while that may still be completed by the next write, and where it starts.
   */
  private held: Buffer | null = null;
  private heldAt = 0;
  /** The open run already holds a fault (one per run: a run holds no newline, so one line). */
  private runFaulted = false;
  /**
   * After each write() and end(): the lines of what they decoded that hold bytes that are not
   * UTF-8 (each line once, in order), which the text has as U+FFFD (see Utf8Fault).
   * Elasticsearch's JSON parser refuses such a document; the reader skips it (events/sources.ts).
   * Proving the bytes valid costs nothing where decodeUtf8 decoded them through latin1, one
   * isUtf8 (SIMD) pass where V8 did, and a few bytes at the edges of each write.
   */
  readonly faults: Utf8Fault[] = [];

  write(b: Buffer): string {
    if (this.faults.length > 0) this.faults.length = 0;
    const len = b.length;
    const at = this.at;
    this.at += len;
    let s = 0;
    let head = '';
    if (this.open) {
      while (s < len && b[s]! >= 0x80) s++;
      if (s === len) {
        this.runAdd(b, at, b);
        return this.decoder.write(b);
      }
      this.runAdd(b.subarray(0, s), at, b);
      this.runClose(b, b[s]!);
      s++; // through the first ASCII byte: the decoder then holds nothing
      head = this.decoder.write(b.subarray(0, s));
      this.open = false;
    }
    let e = len;
    while (e > s && b[e - 1]! >= 0x80) e--;
    let text = '';
    if (e > s) {
      text = decodeUtf8(b, s, e);
      // [s, e) starts and ends at ASCII bytes (or the input's start), so it is checked alone.
      if (!provedValid && !isUtf8(b.subarray(s, e))) this.scan(b, s, e);
    }
    if (head !== '') text = head + text;
    if (e < len) {
      this.runAdd(b.subarray(e), at + e, b);
      text += this.decoder.write(b.subarray(e));
      this.open = true;
    }
    const nl = b.lastIndexOf(10);
    if (nl >= 0) this.lineStart = at + nl + 1;
    return text;
  }

  end(): string {
    if (this.faults.length > 0) this.faults.length = 0;
    this.open = false;
    this.runClose(null, -1);
    return this.decoder.end();
  }

  /**
   * Records the first bad byte of each line of b[s, e), which isUtf8 refused. Each line is
   * searched without its newline, as a whole line is (a sequence the newline cuts short is wrong
   * at its lead byte, as at the end of a bulk document).
   */
  private scan(b: Buffer, s: number, e: number): void {
    // The lines are walked in order, so each fault's line is counted as the walk goes: fault()
    // would count the write's newlines from its start for every bad line, quadratic in a read of
    // many short bad lines (2,000,000 lines of 12 bytes took 77 s). Before s lies at most the
    // open run's end and the ASCII byte after it (see write).
    const at = this.at - b.length;
    let newlines = 0;
    let lineStart = this.lineStart;
    for (let i = b.indexOf(10); i >= 0 && i < s; i = b.indexOf(10, i + 1)) {
      newlines++;
      lineStart = at + i + 1;
    }
    for (let i = s; i < e; ) {
      let nl = b.indexOf(10, i);
      if (nl < 0 || nl > e) nl = e;
      const bad = firstInvalidUtf8(b, i, nl);
      if (bad >= 0) this.faults.push({ newlines, byte: at + bad - lineStart + 1, value: b[bad]! });
      i = nl + 1;
      newlines++;
      lineStart = at + i;
    }
  }

  /**
   * A fault at input offset `off` (in the write b, or earlier in an open run when b is null or
   * `off` is before b).
   */
  private fault(off: number, value: number, b: Buffer | null): void {
    let newlines = 0;
    let lineStart = this.lineStart;
    if (b !== null) {
      const at = this.at - b.length;
      const o = off - at;
      if (o > 0) {
        for (let i = b.indexOf(10); i >= 0 && i < o; i = b.indexOf(10, i + 1)) {
          newlines++;
          lineStart = at + i + 1;
        }
      }
    }
    this.faults.push({ newlines, byte: off - lineStart + 1, value });
  }

  /** Adds the bytes p (all non-ASCII), at input offset `off`, to the open run; b is the write. */
  private runAdd(p: Buffer, off: number, b: Buffer): void {
    if (this.runFaulted || p.length === 0) return;
    const all = this.held === null ? p : Buffer.concat([this.held, p]);
    const allAt = this.held === null ? off : this.heldAt;
    // The last sequence is held back while the next write may complete it: a lead byte within
    // the last three bytes whose sequence is longer than what follows it.
    let cut = all.length;
    for (let j = all.length - 1; j >= 0 && j >= all.length - 3; j--) {
      const c = all[j]!;
      if (c >= 0xc0) {
        if (all.length - j < (c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2)) cut = j;
        break;
      }
    }
    this.held = null;
    if (cut > 0 && !isUtf8(all.subarray(0, cut))) {
      // Searched through the held sequence too, so that the byte named is the one the whole line
      // would name (a sequence broken by the lead byte held is wrong at that lead byte).
      const bad = Math.max(0, firstInvalidUtf8(all, 0, all.length));
      this.runFaulted = true;
      this.fault(allAt + bad, all[bad]!, allAt + bad >= this.at - b.length ? b : null);
      return;
    }
    if (cut < all.length) {
      this.held = Buffer.from(all.subarray(cut));
      this.heldAt = allAt + cut;
    }
  }

  /**
   * The open run ends, at the ASCII byte `next` of the write b, or at the input's end (b null):
   * a sequence still held is cut short, wrong where firstInvalidUtf8 over the whole line says.
   */
  private runClose(b: Buffer | null, next: number): void {
    const held = this.held;
    if (held !== null && !this.runFaulted) {
      // (The line ends at a newline: the sequence is cut short by the line's end.)
      const seq = next >= 0 && next !== 10 ? Buffer.concat([held, Buffer.of(next)]) : held;
      const bad = Math.max(0, firstInvalidUtf8(seq, 0, seq.length));
      const off = this.heldAt + bad;
      this.fault(off, seq[bad]!, b !== null && off >= this.at - b.length ? b : null);
    }
    this.held = null;
    this.runFaulted = false;
  }
}
