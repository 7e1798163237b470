// Rendering of BinXML substitution values as Windows' EvtRender writes them (all strings).
// Each function reads straight from the chunk buffer at an absolute position and never
// allocates an intermediate copy of the bytes; callers have already checked that
// [pos, pos + size) lies inside the chunk.

/** Value type ids (MS-EVEN6 2.2.13 / libevtx). Bit 0x80 marks an array of the base type. */
export const VT = {
  Null: 0x00,
  String: 0x01,
  AnsiString: 0x02,
  Int8: 0x03,
  UInt8: 0x04,
  Int16: 0x05,
  UInt16: 0x06,
  Int32: 0x07,
  UInt32: 0x08,
  Int64: 0x09,
  UInt64: 0x0a,
  Real32: 0x0b,
  Real64: 0x0c,
  Bool: 0x0d,
  Binary: 0x0e,
  Guid: 0x0f,
  SizeT: 0x10,
  FileTime: 0x11,
  SystemTime: 0x12,
  Sid: 0x13,
  HexInt32: 0x14,
  HexInt64: 0x15,
  EvtHandle: 0x20,
  BinXml: 0x21,
  EvtXml: 0x23,
  Array: 0x80,
} as const;

export type GuidCase = 'upper' | 'lower';

/** Options that change how values are rendered. */
export interface RenderOptions {
  /**
   * GUID letter case. Windows Event Viewer and libevtx show upper case (the default here);
   * EvtRender on current Windows builds (what Winlogbeat stores in event.original) shows
   * lower case. Both are "Windows renderings"; pick one and apply it everywhere.
   */
  guidCase?: GuidCase;
}

export class ValueError extends Error {}

// ---------------------------------------------------------------------------------------
// Strings

const utf16Decoder = new TextDecoder('utf-16le');

// Windows-1252 differs from Latin-1 only in 0x80..0x9F. Node's TextDecoder maps the
// 'windows-1252' label to plain Latin-1, so the table is spelled out (0x81, 0x8D, 0x8F, 0x90,
// 0x9D are undefined in 1252 and kept as the C1 control, as MultiByteToWideChar does).
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/**
 * Decodes nChars UTF-16LE code units at pos. Short ASCII-heavy strings dominate event logs
 * (names, paths, numbers), and building them with String.fromCharCode avoids TextDecoder's
 * per-call setup cost; longer strings go to TextDecoder, which is faster per byte. Lone
 * surrogates are kept as-is by fromCharCode and replaced by U+FFFD by TextDecoder; we keep
 * the TextDecoder behaviour for both by routing any surrogate to it.
 */
export function decodeUtf16(buf: Buffer, pos: number, nChars: number): string {
  if (nChars <= 0) return '';
  // Node's native UTF-16 slice is several times faster than building the string in JS, but it
  // keeps lone surrogates; TextDecoder replaces them (U+FFFD) as Windows rendering does, so any
  // string holding a surrogate is decoded again by it.
  // ucs2Slice is what toString('utf16le') ends in, without its argument and encoding checks
  // (a tenth of the decoder's time went to those wrappers).
  const s = (buf as SliceBuffer).ucs2Slice(pos, pos + nChars * 2);
  return s.isWellFormed() ? s : utf16Decoder.decode(buf.subarray(pos, pos + nChars * 2));
}

declare global {
  interface String {
    /**
     * ES2024 (V8 11.1+, Node 20): false when the string holds a lone surrogate. Answered at
     * once for a string of one-byte characters, as nearly every string of a log is.
     */
    isWellFormed(): boolean;
  }
}

/** Buffer's native slice methods (undocumented but stable since Node 0.x; toString calls them). */
interface SliceBuffer extends Buffer {
  ucs2Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

/** A UTF-16 string value of `size` bytes: trailing NULs are padding and are dropped. */
export function renderUtf16String(buf: Buffer, pos: number, size: number): string {
  let n = size >>> 1;
  while (n > 0 && buf[pos + 2 * n - 2] === 0 && buf[pos + 2 * n - 1] === 0) n--;
  return decodeUtf16(buf, pos, n);
}

/**
 * Renders the UTF-16 string values first..last-1 of a template instance, which lie one after the
 * other in [start, end) and are each of an even size (descriptors at descPos: u16 size, u8
 * type, u8 0), into out[first..last-1], exactly as renderUtf16String renders each. The bytes are
 * decoded by one native call and each value is a substring of that: records hold many strings
 * in a row (Image, CommandLine, CurrentDirectory, User…), and the call, not the copying, is
 * what a string costs.
 */
export function renderUtf16Strings(
  buf: Buffer,
  descPos: number,
  first: number,
  last: number,
  start: number,
  end: number,
  out: unknown[],
  /** The same bytes as a DataView (a 16-bit read is one bounds check instead of two). */
  view: DataView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
): void {
  // One native call site for runs of one string and of several: with two, the JIT's code for
  // readValues (which inlines this) was compiled before the second had run and thrown away
  // when it did.
  const text = start === end ? '' : (buf as SliceBuffer).ucs2Slice(start, end);
  // Lone surrogates are replaced as decodeUtf16 does (TextDecoder's U+FFFD). A well-formed run
  // (nearly always: one-byte text, answered at once) can still hold a value that is not: one
  // whose first character is the low half of a pair whose high half ends the value before it,
  // or whose last character is the high half of a pair the next value completes. Its other
  // characters are paired within it, so its two ends decide.
  // `=== true`: the builtin's result is of no known type to the JIT, and a plain truth test of it
  // in the loop below was a generic check per value.
  const wellFormed = text.isWellFormed() === true;
  let pos = start;
  for (let k = first; k < last; k++) {
    const size = view.getUint16(descPos + 4 * k, true);
    let n = size >>> 1;
    while (n > 0 && view.getUint16(pos + 2 * n - 2, true) === 0) n--;
    const at = (pos - start) >>> 1;
    let s = n === 0 ? '' : n === text.length ? text : text.substring(at, at + n);
    // The ends' high bytes: 0xDC–0xDF starts a low surrogate, 0xD8–0xDB a high one.
    if (n !== 0 && (wellFormed ? (buf[pos + 1]! & 0xfc) === 0xdc || (buf[pos + 2 * n - 1]! & 0xfc) === 0xd8 : !s.isWellFormed()))
      s = utf16Decoder.decode(buf.subarray(pos, pos + n * 2));
    out[k] = s;
    pos += size;
  }
}

/** ANSI string: codepage 1252 (the usual system codepage), NUL bytes removed. */
export function renderAnsiString(buf: Buffer, pos: number, size: number): string {
  let plain = true;
  for (let i = pos; i < pos + size; i++) {
    const b = buf[i]!;
    if (b === 0 || (b >= 0x80 && b < 0xa0)) {
      plain = false;
      break;
    }
  }
  // Without NULs and 0x80..0x9F, 1252 and Latin-1 agree.
  if (plain) return (buf as SliceBuffer).latin1Slice(pos, pos + size);
  let s = '';
  for (let i = pos; i < pos + size; i++) {
    const b = buf[i]!;
    if (b === 0) continue;
    s += String.fromCharCode(b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80]! : b);
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// Numbers

/**
 * Hex texts rendered lately, by a hash of the value (one slot each): Keywords masks and the
 * other hex values of a log repeat record after record, but more than one per record (a log's
 * providers each have their own mask), so keeping only the last one missed about twice a
 * record, and `toString(16)` is a call into the runtime.
 */
const HEX_SLOTS = 64;
const hexLo = new Int32Array(HEX_SLOTS);
const hexHi = new Int32Array(HEX_SLOTS);
const hexText: string[] = new Array<string>(HEX_SLOTS).fill('');

/** Minimal lower-case hex of a u64 given as two u32 halves, with the 0x prefix. */
export function hex64(lo: number, hi: number): string {
  const l = lo | 0;
  const h = hi | 0;
  const slot = Math.imul(l ^ Math.imul(h, 0x9e3779b1), 0x85ebca6b) >>> 26;
  // An empty text marks a slot never filled (a hex text is never empty).
  if (hexLo[slot] === l && hexHi[slot] === h && hexText[slot] !== '') return hexText[slot]!;
  const text = hi === 0 ? '0x' + lo.toString(16) : '0x' + hi.toString(16) + lo.toString(16).padStart(8, '0');
  hexLo[slot] = l;
  hexHi[slot] = h;
  hexText[slot] = text;
  return text;
}

/**
 * Decimal text of 0–65,535, each made once: event ids, levels, tasks, versions, opcodes and
 * most process ids repeat record after record.
 */
const SMALL_DECIMALS = 0x10000;
const smallDecimals: string[] = new Array<string>(SMALL_DECIMALS).fill('');
function smallDecimal(n: number): string {
  let s = smallDecimals[n]!;
  if (s === '') smallDecimals[n] = s = String(n);
  return s;
}

/** "0000" … "9999", each made once when first needed. */
const PAD4: string[] = new Array<string>(10000).fill('');
function pad4(n: number): string {
  let s = PAD4[n]!;
  if (s === '') PAD4[n] = s = String(n).padStart(4, '0');
  return s;
}
/** "000" … "999". */
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * Decimal text of an integer 0 ≤ n < 2^53. Below 10^8 it is put together from kept pieces:
 * `String(n)` of a number not in V8's small cache of recent conversions is a call into the
 * runtime, and record ids, process ids and logon ids are new numbers record after record.
 */
export function decimal(n: number): string {
  if (n < SMALL_DECIMALS) return smallDecimal(n);
  if (n < 1e8) {
    // As an int32 (n < 10^8 < 2^31): the division and remainder are integer operations. A
    // number from a 64-bit value (record ids) is a double to the JIT, and `%` of doubles is a
    // call to the C library's fmod.
    const m = n | 0;
    const high = (m / 10000) | 0;
    return smallDecimal(high) + pad4(m - high * 10000);
  }
  return String(n);
}

function u64Decimal(lo: number, hi: number): string {
  // Below 2^53 the double is exact; beyond that use BigInt (rare: masks, sentinel values).
  if (hi < 0x200000) return decimal(hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function i64Decimal(lo: number, hi: number): string {
  if (hi & 0x80000000) {
    const big = (BigInt(hi) << 32n) | BigInt(lo);
    return (big - (1n << 64n)).toString();
  }
  return u64Decimal(lo, hi);
}

/**
 * Shortest decimal that reads back as the same float32: Windows prints floats compactly
 * (%g style), while String(Math.fround(x)) would show the float64 expansion (0.1 →
 * 0.10000000149011612).
 */
function renderReal32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}

// ---------------------------------------------------------------------------------------
// GUID, SID, times, binary

/** Character codes of hex digits 0–15, upper and lower case. */
const DIGIT_UPPER = Array.from('0123456789ABCDEF', (c) => c.charCodeAt(0));
const DIGIT_LOWER = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * GUIDs rendered lately, by a hash of their bytes (one slot each, per letter case): a log repeats
 * the same few (its providers' GUIDs, the GUIDs of the processes it is about), and comparing 16
 * bytes costs a tenth of writing the text.
 */
const GUID_SLOTS = 256;
const guidBytes = new Int32Array(2 * GUID_SLOTS * 4);
const guidText: string[] = new Array<string>(2 * GUID_SLOTS).fill('');

/**
 * {Data1-Data2-Data3-Data4[0..1]-Data4[2..7]}: the first three groups are little-endian. Built
 * by one fromCharCode (a flat string) rather than 38 concatenations (a rope flattened later).
 */
export function renderGuid(
  buf: Buffer,
  pos: number,
  guidCase: GuidCase = 'upper',
  /** The same bytes as a DataView (see renderScalar). */
  view: DataView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
): string {
  const w0 = view.getInt32(pos, true);
  const w1 = view.getInt32(pos + 4, true);
  const w2 = view.getInt32(pos + 8, true);
  const w3 = view.getInt32(pos + 12, true);
  const slot = (Math.imul(w0 ^ Math.imul(w1, 31) ^ Math.imul(w2, 961) ^ w3, 0x9e3779b1) >>> 24) + (guidCase === 'lower' ? GUID_SLOTS : 0);
  const at = slot * 4;
  // An empty text marks a slot never filled (a GUID's text is never empty).
  if (guidBytes[at] === w0 && guidBytes[at + 1] === w1 && guidBytes[at + 2] === w2 && guidBytes[at + 3] === w3 && guidText[slot] !== '') return guidText[slot]!;
  const text = guidTextOf(buf, pos, guidCase);
  guidBytes[at] = w0;
  guidBytes[at + 1] = w1;
  guidBytes[at + 2] = w2;
  guidBytes[at + 3] = w3;
  guidText[slot] = text;
  return text;
}

function guidTextOf(buf: Buffer, pos: number, guidCase: GuidCase): string {
  const d = guidCase === 'lower' ? DIGIT_LOWER : DIGIT_UPPER;
  const b0 = buf[pos]!, b1 = buf[pos + 1]!, b2 = buf[pos + 2]!, b3 = buf[pos + 3]!;
  const b4 = buf[pos + 4]!, b5 = buf[pos + 5]!, b6 = buf[pos + 6]!, b7 = buf[pos + 7]!;
  const b8 = buf[pos + 8]!, b9 = buf[pos + 9]!, b10 = buf[pos + 10]!, b11 = buf[pos + 11]!;
  const b12 = buf[pos + 12]!, b13 = buf[pos + 13]!, b14 = buf[pos + 14]!, b15 = buf[pos + 15]!;
  return String.fromCharCode(
    0x7b, d[b3 >> 4]!, d[b3 & 15]!, d[b2 >> 4]!, d[b2 & 15]!, d[b1 >> 4]!, d[b1 & 15]!, d[b0 >> 4]!, d[b0 & 15]!, 0x2d,
    d[b5 >> 4]!, d[b5 & 15]!, d[b4 >> 4]!, d[b4 & 15]!, 0x2d, d[b7 >> 4]!, d[b7 & 15]!, d[b6 >> 4]!, d[b6 & 15]!, 0x2d,
    d[b8 >> 4]!, d[b8 & 15]!, d[b9 >> 4]!, d[b9 & 15]!, 0x2d, d[b10 >> 4]!, d[b10 & 15]!, d[b11 >> 4]!, d[b11 & 15]!,
    d[b12 >> 4]!, d[b12 & 15]!, d[b13 >> 4]!, d[b13 & 15]!, d[b14 >> 4]!, d[b14 & 15]!, d[b15 >> 4]!, d[b15 & 15]!, 0x7d,
  );
}

/** Upper-case hex without separators, as Event Viewer shows <Binary>. */
export function renderBinary(buf: Buffer, pos: number, size: number): string {
  return (buf as SliceBuffer).hexSlice(pos, pos + size).toUpperCase();
}

/** Byte length of a SID at pos (8 + 4 × sub-authority count); no cap on the count (plaso #66). */
export function sidLength(buf: Buffer, pos: number): number {
  return 8 + 4 * buf[pos + 1]!;
}

/**
 * SIDs rendered lately, as GUIDs are (a log names the same few accounts again and again): per
 * slot the SID's bytes as up to SID_WORDS little-endian words (header, sub-authorities), their
 * count, and the text.
 */
const SID_SLOTS = 256;
const SID_WORDS = 8;
const sidWords = new Int32Array(SID_SLOTS * SID_WORDS);
const sidCount = new Int32Array(SID_SLOTS);
const sidText: string[] = new Array<string>(SID_SLOTS).fill('');

/** S-rev-authority-sub1-…: authority is 48-bit big-endian, sub-authorities u32 LE. */
export function renderSid(
  buf: Buffer,
  pos: number,
  size: number,
  /** The same bytes as a DataView (see renderScalar). */
  view: DataView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
): string {
  if (size < 8) throw new ValueError(`SID of ${size} bytes is shorter than its 8-byte header`);
  const n = buf[pos + 1]!;
  if (8 + 4 * n > size) throw new ValueError(`SID declares ${n} sub-authorities but has only ${size} bytes`);
  const words = 2 + n;
  if (words > SID_WORDS) return sidTextOf(buf, pos, n);
  let h = words;
  for (let i = 0; i < words; i++) h = Math.imul(h ^ view.getInt32(pos + 4 * i, true), 0x9e3779b1);
  const slot = h >>> 24;
  const at = slot * SID_WORDS;
  let same = sidCount[slot] === words;
  for (let i = 0; same && i < words; i++) same = sidWords[at + i] === view.getInt32(pos + 4 * i, true);
  if (same) return sidText[slot]!;
  const text = sidTextOf(buf, pos, n);
  for (let i = 0; i < words; i++) sidWords[at + i] = view.getInt32(pos + 4 * i, true);
  sidCount[slot] = words;
  sidText[slot] = text;
  return text;
}

function sidTextOf(buf: Buffer, pos: number, n: number): string {
  // 48-bit authority fits a double exactly.
  const auth = buf.readUIntBE(pos + 2, 6);
  let s = 'S-' + buf[pos]! + '-' + (auth >= 0x100000000 ? '0x' + auth.toString(16).toUpperCase() : auth);
  for (let i = 0; i < n; i++) s += '-' + u32le(buf, pos + 8 + 4 * i);
  return s;
}

/** The u32 at pos, little-endian (the caller has checked the bounds; inlined where Buffer's method may not be). */
export function u32le(buf: Buffer, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16)) + buf[pos + 3]! * 0x1000000;
}

const EPOCH_DIFF_SECONDS = 11644473600; // 1601-01-01 → 1970-01-01
let lastDay = NaN;
let lastDayText = '';
/** The last second rendered, as its text up to the decimal point. */
let lastSecond = NaN;
let lastSecondText = '';
/** "00" … "59". */
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/**
 * FILETIME (100 ns ticks since 1601-01-01 UTC) as ISO 8601 with 7 fractional digits, exact.
 * A double cannot hold the tick count (≈1.3e17 > 2^53), so seconds and the sub-second
 * remainder are computed from the two halves: hi·2^32 = hi·429·10^7 + hi·4967296.
 */
export function renderFiletime(lo: number, hi: number): string {
  let seconds: number;
  let frac: number;
  if (hi < 0x6b000000) {
    const rem = hi * 4967296 + lo; // < 2^53 for hi below this bound
    // rem - q·10^7 is exact (both below 2^53); the quotient's rounding can make q one too large
    // (rem just below a multiple of 10^7), which the remainder's sign shows. Not `rem % 1e7`:
    // `%` of doubles is a call to the C library's fmod, once per time rendered.
    let q = Math.floor(rem / 1e7);
    frac = rem - q * 1e7;
    if (frac < 0) {
      q--;
      frac += 1e7;
    }
    seconds = hi * 429 + q;
  } else {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    seconds = Number(t / 10000000n);
    frac = Number(t % 10000000n);
  }
  // Seven digits from kept pieces (String(frac) was a runtime call per time rendered).
  const f = PAD3[Math.floor(frac / 10000)]! + pad4(frac % 10000);
  // A log's records come in time order, many within one second (the record header's time and
  // System/TimeCreated of one record are two such): the text up to the fraction is kept.
  if (seconds === lastSecond) return lastSecondText + f + 'Z';
  // Records of a log mostly share the day: its date is formatted once (by Date, which knows
  // the calendar), the time of day by arithmetic (UTC has no leap seconds here, as in Date).
  const unix = seconds - EPOCH_DIFF_SECONDS;
  const day = Math.floor(unix / 86400);
  if (day !== lastDay) {
    const iso = new Date(day * 86400000).toISOString(); // YYYY-MM-DDT00:00:00.000Z (or ±YYYYYY-…)
    lastDayText = iso.slice(0, iso.indexOf('T') + 1);
    lastDay = day;
  }
  const t = unix - day * 86400;
  const h = Math.floor(t / 3600);
  const m = Math.floor((t - h * 3600) / 60);
  lastSecond = seconds;
  lastSecondText = lastDayText + TWO_DIGITS[h]! + ':' + TWO_DIGITS[m]! + ':' + TWO_DIGITS[t - h * 3600 - m * 60]! + '.';
  return lastSecondText + f + 'Z';
}

/** SYSTEMTIME: 8 × u16 (year, month, dayOfWeek, day, hour, minute, second, ms). */
export function renderSystemtime(buf: Buffer, pos: number): string {
  const y = buf.readUInt16LE(pos);
  const mo = buf.readUInt16LE(pos + 2);
  const d = buf.readUInt16LE(pos + 6);
  const h = buf.readUInt16LE(pos + 8);
  const mi = buf.readUInt16LE(pos + 10);
  const s = buf.readUInt16LE(pos + 12);
  const ms = buf.readUInt16LE(pos + 14);
  // All-zero SYSTEMTIME is the "unset" value; Windows shows it as the FILETIME epoch.
  if (y === 0 && mo === 0 && d === 0) return '1601-01-01T00:00:00.0000000Z';
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    String(y).padStart(4, '0') + '-' + p2(mo) + '-' + p2(d) + 'T' + p2(h) + ':' + p2(mi) + ':' + p2(s) + '.' +
    String(ms).padStart(3, '0') + '0000Z'
  );
}

// ---------------------------------------------------------------------------------------
// Dispatch

/** Fixed byte width of a scalar type, 0 when the type is sized by its descriptor. */
export function fixedWidth(type: number): number {
  switch (type) {
    case VT.Int8:
    case VT.UInt8:
      return 1;
    case VT.Int16:
    case VT.UInt16:
      return 2;
    case VT.Int32:
    case VT.UInt32:
    case VT.Real32:
    case VT.Bool:
    case VT.HexInt32:
      return 4;
    case VT.Int64:
    case VT.UInt64:
    case VT.Real64:
    case VT.FileTime:
    case VT.HexInt64:
      return 8;
    case VT.Guid:
      return 16;
    case VT.SystemTime:
      return 16;
    default:
      return 0;
  }
}

/** fixedWidth by type, looked up per value instead of a second switch. */
const WIDTH = new Uint8Array(256);
for (let t = 0; t < 256; t++) WIDTH[t] = fixedWidth(t);

/**
 * Renders one scalar value of `type` occupying [pos, pos+size). Throws ValueError when the
 * size cannot hold the type (the caller turns that into a record-level error). The types
 * Windows logs are full of are handled here; the others in renderRareScalar, so that this
 * function stays small for the JIT and a first rare value does not throw its optimized code
 * away.
 */
export function renderScalar(
  buf: Buffer,
  pos: number,
  size: number,
  type: number,
  guidCase: GuidCase,
  /** The same bytes as a DataView: a 32-bit read with one bounds check instead of four. */
  view: DataView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
): string {
  if (type === 0x01 /* VT.String */) return renderUtf16String(buf, pos, size);
  const w = WIDTH[type & 0xff]!;
  if (size < w) throw new ValueError(`value of type 0x${type.toString(16)} needs ${w} bytes, has ${size}`);
  switch (type) {
    case 0x04 /* VT.UInt8 */:
      return smallDecimal(buf[pos]!);
    case 0x06 /* VT.UInt16 */:
      return smallDecimal(view.getUint16(pos, true));
    case 0x08 /* VT.UInt32 */: {
      const n = view.getUint32(pos, true);
      return decimal(n);
    }
    case 0x0a /* VT.UInt64 */:
      return u64Decimal(view.getUint32(pos, true), view.getUint32(pos + 4, true));
    case 0x14 /* VT.HexInt32 */:
      return hex64(view.getUint32(pos, true), 0);
    case 0x15 /* VT.HexInt64 */:
      return hex64(view.getUint32(pos, true), view.getUint32(pos + 4, true));
    case 0x0f /* VT.Guid */:
      return renderGuid(buf, pos, guidCase, view);
    case 0x11 /* VT.FileTime */:
      return renderFiletime(view.getUint32(pos, true), view.getUint32(pos + 4, true));
    case 0x13 /* VT.Sid */:
      return renderSid(buf, pos, size, view);
    default:
      return renderRareScalar(buf, pos, size, type);
  }
}

function renderRareScalar(buf: Buffer, pos: number, size: number, type: number): string {
  switch (type) {
    case VT.Null:
      return '';
    case VT.AnsiString:
      return renderAnsiString(buf, pos, size);
    case VT.Int8:
      return String(buf.readInt8(pos));
    case VT.Int16:
      return String(buf.readInt16LE(pos));
    case VT.Int32:
      return String(buf.readInt32LE(pos));
    case VT.Int64:
      return i64Decimal(buf.readUInt32LE(pos), buf.readUInt32LE(pos + 4));
    case VT.Real32:
      return renderReal32(buf.readFloatLE(pos));
    case VT.Real64:
      return String(buf.readDoubleLE(pos));
    case VT.Bool:
      // Any non-zero i32 is true (omerbenamram/evtx sample-with-irregular-bool-values).
      return buf.readInt32LE(pos) !== 0 ? 'true' : 'false';
    case VT.Binary:
      return renderBinary(buf, pos, size);
    case VT.SizeT:
      // Pointer-sized: 4 or 8 bytes, shown as hex by EvtRender (MS-EVEN6); libevtx prints decimal.
      if (size === 4) return hex64(buf.readUInt32LE(pos), 0);
      if (size === 8) return hex64(buf.readUInt32LE(pos), buf.readUInt32LE(pos + 4));
      throw new ValueError(`SizeT value of ${size} bytes (expected 4 or 8)`);
    case VT.SystemTime:
      return renderSystemtime(buf, pos);
    default:
      throw new ValueError(`unsupported value type 0x${type.toString(16)}`);
  }
}

/**
 * Renders an array value (type | 0x80) into its items. Strings are NUL-terminated and packed;
 * SIDs are consecutive variable-size records; other types are size / width fixed items.
 */
export function renderArray(buf: Buffer, pos: number, size: number, type: number, guidCase: GuidCase): string[] {
  const base = type & 0x7f;
  const out: string[] = [];
  const end = pos + size;
  if (base === VT.String) {
    let start = pos;
    let p = pos;
    for (; p + 1 < end; p += 2) {
      if (buf[p] === 0 && buf[p + 1] === 0) {
        out.push(decodeUtf16(buf, start, (p - start) >>> 1));
        start = p + 2;
      }
    }
    // A last item without its terminator still counts (dirty producers omit it).
    if (start + 1 < end) out.push(decodeUtf16(buf, start, (end - start) >>> 1));
    return out;
  }
  if (base === VT.AnsiString) {
    let start = pos;
    for (let p = pos; p < end; p++) {
      if (buf[p] === 0) {
        out.push(renderAnsiString(buf, start, p - start));
        start = p + 1;
      }
    }
    if (start < end) out.push(renderAnsiString(buf, start, end - start));
    return out;
  }
  if (base === VT.Sid) {
    let p = pos;
    while (p + 8 <= end) {
      const len = sidLength(buf, p);
      if (p + len > end) throw new ValueError(`SID array item at +${p - pos} overruns the ${size}-byte value`);
      out.push(renderSid(buf, p, len));
      p += len;
    }
    return out;
  }
  let w = fixedWidth(base);
  if (base === VT.SizeT) w = 8; // no per-item size is recorded; 64-bit producers are the norm
  if (w === 0) throw new ValueError(`unsupported array type 0x${type.toString(16)}`);
  for (let p = pos; p + w <= end; p += w) out.push(renderScalar(buf, p, w, base, guidCase));
  return out;
}

// Type feedback for each branch of renderScalar before the JIT first optimizes it: a type first
// met after that (a log's first GUID, a first rare type) threw the optimized code away, and the
// decoder paid for compiling the function three times. Every call here renders zero bytes,
// whose texts are what those bytes render to wherever they are met (the kept-text caches stay
// exact).
{
  // V8 gives a function its feedback store after a few calls (8 in Node 20): hence the rounds.
  const zeros = Buffer.alloc(16);
  for (let round = 0; round < 12; round++) {
    for (const type of [VT.UInt8, VT.UInt16, VT.UInt32, VT.UInt64, VT.HexInt32, VT.HexInt64, VT.Guid, VT.FileTime, VT.Sid, VT.Int32, VT.Bool]) {
      renderScalar(zeros, 0, 16, type, 'upper');
    }
  }
}
