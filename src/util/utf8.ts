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
import { isAscii } from 'node:buffer';
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

/** b[s, e) decoded as UTF-8: exactly b.toString('utf8', s, e). */
export function decodeUtf8(b: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n <= 0) return '';
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
  if (k === 0) return isAscii(b.subarray(s, e)) ? view : b.toString('utf8', s, e);
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
  return text;
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

  write(b: Buffer): string {
    const len = b.length;
    let s = 0;
    let head = '';
    if (this.open) {
      while (s < len && b[s]! >= 0x80) s++;
      if (s === len) return this.decoder.write(b);
      s++; // through the first ASCII byte: the decoder then holds nothing
      head = this.decoder.write(b.subarray(0, s));
      this.open = false;
    }
    let e = len;
    while (e > s && b[e - 1]! >= 0x80) e--;
    let text = e > s ? decodeUtf8(b, s, e) : '';
    if (head !== '') text = head + text;
    if (e < len) {
      text += this.decoder.write(b.subarray(e));
      this.open = true;
    }
    return text;
  }

  end(): string {
    this.open = false;
    return this.decoder.end();
  }
}
