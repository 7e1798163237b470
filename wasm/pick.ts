// AssemblyScript (compiled to WebAssembly by bench/wasm-scan.ts with the `assemblyscript`
// devDependency; not part of the TypeScript build). One NDJSON line's bytes in, the fields the
// rules read out: the scanner validates the whole line as JSON.parse of its UTF-8 text would, and
// emits only the values on the way to and under the wanted fields (a trie of their dotted names),
// either as a tape of values (FORM_TAPE, built into objects by JavaScript) or as the compact JSON
// text of the pruned document (FORM_TEXT, for JSON.parse). Anything it does not settle exactly —
// invalid JSON or UTF-8, escaped keys on the way to a field, lone surrogates, deep nesting, a tape
// too long — returns FALLBACK, and the caller parses the line with JSON.parse as before: so what
// it accepts is a subset of what JSON.parse accepts, and for that subset the pruned document holds
// the same keys (nested or dotted, as the line has them) and values as the whole parsed one.
//
// Memory (laid out by the caller, see setup): the trie's nodes and children, the tape (8 i32 per
// entry) and its numbers (one f64 per entry), a scratch area for unescaped strings, the text
// output, and the input bytes anywhere above them (16 readable bytes past a line's end: SIMD).

export const FALLBACK: i32 = -1;

// Tape kinds (entry word 0, low byte); bit 8: the string's bytes are all ASCII.
const K_OBJ: i32 = 1;
const K_ARR: i32 = 2;
const K_END: i32 = 3;
const K_STR: i32 = 4; // bytes a..b of the input (no escapes)
const K_ESC: i32 = 5; // bytes a..b of the scratch area (unescaped)
const K_NUM: i32 = 6; // value in the numbers column
const K_NUMT: i32 = 7; // bytes a..b of the input, the number's text
const K_TRUE: i32 = 8;
const K_FALSE: i32 = 9;
const K_NULL: i32 = 10;
const ASCII: i32 = 256;

// Key of an entry (word 1): >= 0 a trie child's name id, -1 none (array element), -2 raw key
// (words 6, 7: its bytes in the input; word 0 bit 9: the key is all ASCII).
const KEY_NONE: i32 = -1;
const KEY_RAW: i32 = -2;
const KEY_ASCII: i32 = 512;

const MODE_SKIP: i32 = 0;
const MODE_PICK: i32 = 1;
const MODE_WHOLE: i32 = 2;

const FORM_TAPE: i32 = 1;
const FORM_TEXT: i32 = 2;

/** Deepest nesting settled here (the reader's own limits apply to what falls back). */
const MAX_DEPTH: i32 = 64;

let nodes: usize = 0; // per node 16 bytes: first child, child count, terminal
let kids: usize = 0; // per child 16 bytes: name offset, name length, node, name id
let tape: usize = 0;
let tapeMax: i32 = 0;
let nums: usize = 0;
let scratch: usize = 0;
let out: usize = 0;
let form: i32 = FORM_TAPE;

let n: i32 = 0; // tape entries written
let sp: usize = 0; // scratch write position
let op: usize = 0; // text output write position
let end: usize = 0; // the input's end (no line goes past it)
let ascii: bool = true; // the last string scanned is all ASCII
let esc: bool = false; // the last string scanned holds an escape
let dot: bool = false; // the last key scanned holds a dot
/** Input bytes minus UTF-16 units from the line's start so far: for slicing its decoded text. */
let adjust: i32 = 0;
let lineStart: usize = 0;
/** Where the last line scanned ends (its newline, or the input's end). */
let lineEnd: usize = 0;

export function setup(nodesAt: usize, kidsAt: usize, tapeAt: usize, entries: i32, numsAt: usize, scratchAt: usize, outAt: usize, f: i32): void {
  nodes = nodesAt;
  kids = kidsAt;
  tape = tapeAt;
  tapeMax = entries;
  nums = numsAt;
  scratch = scratchAt;
  out = outAt;
  form = f;
}

export function lastLineEnd(): usize {
  return lineEnd;
}
export function outEnd(): usize {
  return op;
}
/** The last line's length in UTF-16 units after its leading blanks (the length of its decoded text from its first `{`). */
export function lineChars(): i32 {
  return <i32>(lineEnd - lineStart) - adjust;
}

/**
 * Scans the line starting at `start` (blanks allowed around one object, ending at a newline or
 * `limit`). Returns the number of tape entries (FORM_TAPE) or the text's length (FORM_TEXT), or
 * FALLBACK; lastLineEnd() is where the line ends when it did not fall back.
 */
export function scan(start: usize, limit: usize): i32 {
  end = limit;
  n = 0;
  sp = scratch;
  op = out;
  adjust = 0;
  let p = blanks(start);
  // (The line's text, as its length and offsets count it, starts after its leading blanks.)
  lineStart = p;
  if (p >= end || load<u8>(p) != 0x7b) return FALLBACK;
  if (form == FORM_TEXT) store<u8>(op++, 0x7b);
  p = object(p, 0, 0, MODE_PICK);
  if (p == 0) return FALLBACK;
  p = blanks(p);
  if (p < end && load<u8>(p) != 0x0a) return FALLBACK;
  lineEnd = p;
  if (form == FORM_TEXT) {
    store<u8>(op++, 0x7d);
    return <i32>(op - out);
  }
  return n;
}

// @ts-ignore: decorator
@inline function blanks(p: usize): usize {
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x09 && c != 0x0d) break;
    p++;
  }
  return p;
}

/** Appends a tape entry; false when the tape is full. */
function entry(kind: i32, key: i32, a: usize, b: usize, ka: usize, kb: usize): bool {
  if (n >= tapeMax) return false;
  const e = tape + (<usize>n << 5);
  store<i32>(e, kind);
  store<i32>(e, key, 4);
  store<i32>(e, <i32>a, 8);
  store<i32>(e, <i32>b, 12);
  store<i32>(e, 0, 16);
  store<i32>(e, 0, 20);
  store<i32>(e, <i32>ka, 24);
  store<i32>(e, <i32>kb, 28);
  n++;
  return true;
}

/**
 * The child of `node` named by key bytes ka..kb (no escapes), as an index into the children, or
 * -1. Keys with a dot that spell a path from `node` are resolved by resolveDotted.
 */
function child(node: i32, ka: usize, kb: usize): i32 {
  const at = nodes + (<usize>node << 4);
  const first = load<i32>(at);
  const count = load<i32>(at, 4);
  const len = <i32>(kb - ka);
  const c0 = len > 0 ? load<u8>(ka) : 0;
  for (let i = 0; i < count; i++) {
    const k = kids + (<usize>(first + i) << 4);
    if (load<i32>(k, 4) != len) continue;
    const name = <usize>load<i32>(k);
    if (len > 0 && load<u8>(name) != c0) continue;
    if (memory.compare(name, ka, len) == 0) return first + i;
  }
  return -1;
}

/**
 * The node a dotted key (ka..kb) leads to from `node` through one child per segment, or -1. A
 * key that reaches a wanted field before its last segment (`"data_stream.type"` where all of
 * `data_stream` is wanted) is under that field: its node is returned, the value kept whole.
 */
function resolveDotted(node: i32, ka: usize, kb: usize): i32 {
  let s = ka;
  let cur = node;
  for (let p = ka; p <= kb; p++) {
    if (p == kb || load<u8>(p) == 0x2e) {
      const c = child(cur, s, p);
      if (c < 0) return -1;
      cur = load<i32>(kids + (<usize>c << 4), 8);
      if (load<i32>(nodes + (<usize>cur << 4), 8) != 0) return cur;
      s = p + 1;
    }
  }
  return cur;
}

/** `{` at p: the object's members; returns the position after `}`, or 0 to fall back. */
function object(p: usize, node: i32, depth: i32, mode: i32): usize {
  if (depth > MAX_DEPTH) return 0;
  p = blanks(p + 1);
  if (p >= end) return 0;
  if (load<u8>(p) == 0x7d) return p + 1;
  const text = form == FORM_TEXT && mode == MODE_PICK;
  let written = false;
  while (true) {
    if (p >= end || load<u8>(p) != 0x22) return 0;
    const ka = p + 1;
    const kb = str(p);
    if (kb == 0) return 0;
    const keyAscii = ascii;
    const keyEsc = esc;
    p = blanks(kb + 1);
    if (p >= end || load<u8>(p) != 0x3a) return 0;
    p = blanks(p + 1);
    if (p >= end) return 0;
    if (mode == MODE_SKIP) {
      p = value(p, 0, depth, MODE_SKIP, KEY_NONE, 0, 0, 0);
    } else if (mode == MODE_WHOLE) {
      // A whole value's keys are anything: kept as they are (an escaped one falls back).
      if (keyEsc) return 0;
      p = value(p, 0, depth, MODE_WHOLE, KEY_RAW, ka, kb, keyAscii ? KEY_ASCII : 0);
    } else {
      if (keyEsc) return 0;
      let key = KEY_NONE;
      let next = -1;
      const c = child(node, ka, kb);
      if (c >= 0) {
        const k = kids + (<usize>c << 4);
        next = load<i32>(k, 8);
        key = load<i32>(k, 12);
      } else if (hasDot(ka, kb)) {
        next = resolveDotted(node, ka, kb);
        key = KEY_RAW;
      }
      if (next < 0) {
        p = value(p, 0, depth, MODE_SKIP, KEY_NONE, 0, 0, 0);
      } else {
        if (text) {
          if (written) store<u8>(op++, 0x2c);
          written = true;
          const len = kb - ka + 2;
          memory.copy(op, ka - 1, len);
          op += len;
          store<u8>(op++, 0x3a);
        }
        const terminal = load<i32>(nodes + (<usize>next << 4), 8) != 0;
        p = value(p, next, depth, terminal ? MODE_WHOLE : MODE_PICK, key, ka, kb, keyAscii ? KEY_ASCII : 0);
      }
    }
    if (p == 0) return 0;
    p = blanks(p);
    if (p >= end) return 0;
    const c = load<u8>(p);
    if (c == 0x2c) {
      p = blanks(p + 1);
      continue;
    }
    if (c == 0x7d) return p + 1;
    return 0;
  }
  return 0;
}

function hasDot(a: usize, b: usize): bool {
  for (let p = a; p < b; p++) if (load<u8>(p) == 0x2e) return true;
  return false;
}

/** `[` at p; elements at `node` (arrays along a path are flattened by the accessors). */
function array(p: usize, node: i32, depth: i32, mode: i32): usize {
  if (depth > MAX_DEPTH) return 0;
  p = blanks(p + 1);
  if (p >= end) return 0;
  if (load<u8>(p) == 0x5d) return p + 1;
  const text = form == FORM_TEXT && mode == MODE_PICK;
  while (true) {
    p = value(p, node, depth, mode, KEY_NONE, 0, 0, 0);
    if (p == 0) return 0;
    p = blanks(p);
    if (p >= end) return 0;
    const c = load<u8>(p);
    if (c == 0x2c) {
      if (text) store<u8>(op++, 0x2c);
      p = blanks(p + 1);
      if (p >= end) return 0;
      continue;
    }
    if (c == 0x5d) return p + 1;
    return 0;
  }
  return 0;
}

/**
 * The value at p (not a blank), reached with `key`, in `mode`; returns the position after it, or
 * 0 to fall back. In FORM_TEXT a whole value is validated as skipped, then copied as it is.
 */
function value(p: usize, node: i32, depth: i32, mode: i32, key: i32, ka: usize, kb: usize, keyFlags: i32): usize {
  const c = load<u8>(p);
  if (mode == MODE_SKIP || (form == FORM_TEXT && mode == MODE_WHOLE)) {
    const from = p;
    let q: usize = 0;
    if (c == 0x22) {
      q = str(p);
      q = q == 0 ? 0 : q + 1;
    } else if (c == 0x7b) q = object(p, 0, depth + 1, MODE_SKIP);
    else if (c == 0x5b) q = array(p, 0, depth + 1, MODE_SKIP);
    else q = scalar(p, false, key, ka, kb, keyFlags);
    if (q != 0 && mode == MODE_WHOLE) {
      memory.copy(op, from, q - from);
      op += q - from;
    }
    return q;
  }
  if (c == 0x7b) {
    if (form == FORM_TEXT) {
      store<u8>(op++, 0x7b);
      const q = object(p, node, depth + 1, mode);
      store<u8>(op++, 0x7d);
      return q;
    }
    if (!entry(K_OBJ | keyFlags, key, 0, 0, ka, kb)) return 0;
    const q = object(p, node, depth + 1, mode);
    if (q == 0 || !entry(K_END, KEY_NONE, 0, 0, 0, 0)) return 0;
    return q;
  }
  if (c == 0x5b) {
    if (form == FORM_TEXT) {
      store<u8>(op++, 0x5b);
      const q = array(p, node, depth + 1, mode);
      store<u8>(op++, 0x5d);
      return q;
    }
    if (!entry(K_ARR | keyFlags, key, 0, 0, ka, kb)) return 0;
    const q = array(p, node, depth + 1, mode);
    if (q == 0 || !entry(K_END, KEY_NONE, 0, 0, 0, 0)) return 0;
    return q;
  }
  if (c == 0x22) {
    if (form == FORM_TEXT) {
      const q = str(p);
      if (q == 0) return 0;
      memory.copy(op, p, q + 1 - p);
      op += q + 1 - p;
      return q + 1;
    }
    const a = p + 1;
    const adj0 = adjust;
    const q = str(p);
    if (q == 0) return 0;
    if (!esc) {
      if (!entry(K_STR | (ascii ? ASCII : 0) | keyFlags, key, a, q, ka, kb)) return 0;
      // Its UTF-16 offsets in the line's decoded text (words 4, 5).
      const e = tape + (<usize>(n - 1) << 5);
      store<i32>(e, <i32>(a - lineStart) - adj0, 16);
      store<i32>(e, <i32>(q - lineStart) - adjust, 20);
      return q + 1;
    }
    const s0 = sp;
    if (!unescape(a, q)) return 0;
    if (!entry(K_ESC | (ascii ? ASCII : 0) | keyFlags, key, s0, sp, ka, kb)) return 0;
    return q + 1;
  }
  if (form == FORM_TEXT) {
    const q = scalar(p, false, key, ka, kb, keyFlags);
    if (q == 0) return 0;
    memory.copy(op, p, q - p);
    op += q - p;
    return q;
  }
  return scalar(p, true, key, ka, kb, keyFlags);
}

/** A number or literal at p; with `emit`, its tape entry. */
function scalar(p: usize, emit: bool, key: i32, ka: usize, kb: usize, keyFlags: i32): usize {
  const c = load<u8>(p);
  if (c == 0x74) {
    if (p + 4 > end || load<u32>(p) != 0x65757274) return 0;
    if (emit && !entry(K_TRUE | keyFlags, key, 0, 0, ka, kb)) return 0;
    return p + 4;
  }
  if (c == 0x66) {
    if (p + 5 > end || load<u32>(p + 1) != 0x65736c61 || c != 0x66) return 0;
    if (emit && !entry(K_FALSE | keyFlags, key, 0, 0, ka, kb)) return 0;
    return p + 5;
  }
  if (c == 0x6e) {
    if (p + 4 > end || load<u32>(p) != 0x6c6c756e) return 0;
    if (emit && !entry(K_NULL | keyFlags, key, 0, 0, ka, kb)) return 0;
    return p + 4;
  }
  // -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
  const a = p;
  let neg = false;
  if (c == 0x2d) {
    neg = true;
    p++;
  }
  if (p >= end) return 0;
  let d = load<u8>(p);
  let whole: u64 = 0;
  let digits = 0;
  if (d == 0x30) {
    p++;
  } else if (d >= 0x31 && d <= 0x39) {
    while (p < end) {
      d = load<u8>(p);
      if (d < 0x30 || d > 0x39) break;
      whole = whole * 10 + <u64>(d - 0x30);
      digits++;
      p++;
    }
  } else return 0;
  let exact = true;
  if (p < end && load<u8>(p) == 0x2e) {
    exact = false;
    p++;
    const f = p;
    while (p < end && load<u8>(p) >= 0x30 && load<u8>(p) <= 0x39) p++;
    if (p == f) return 0;
  }
  if (p < end && (load<u8>(p) | 0x20) == 0x65) {
    exact = false;
    p++;
    if (p < end && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) p++;
    const f = p;
    while (p < end && load<u8>(p) >= 0x30 && load<u8>(p) <= 0x39) p++;
    if (p == f) return 0;
  }
  if (!emit) return p;
  // An integer of up to 15 digits is the double its text names; anything else is parsed from
  // its text by JavaScript (Number() rounds as JSON.parse does).
  if (exact && digits <= 15) {
    if (!entry(K_NUM | keyFlags, key, a, p, ka, kb)) return 0;
    const v = <f64>whole;
    store<f64>(nums + (<usize>(n - 1) << 3), neg ? -v : v);
  } else if (!entry(K_NUMT | keyFlags, key, a, p, ka, kb)) return 0;
  return p;
}

/**
 * The string whose opening quote is at p: returns the position of its closing quote, or 0 when
 * it is not one JSON.parse takes as it is (a control character, a bad escape, bytes that are not
 * UTF-8: those lines fall back). Sets `ascii`, `esc`, and `adjust` for its multi-byte characters.
 */
function str(p: usize): usize {
  let q = p + 1;
  let isAscii = true;
  let hasEsc = false;
  const quote = i8x16.splat(0x22);
  const slash = i8x16.splat(0x5c);
  const space = i8x16.splat(0x20);
  while (true) {
    // 16 bytes at a time while none is special (the caller leaves 16 readable bytes past `end`).
    while (q + 16 <= end) {
      const v = v128.load(q);
      const special = v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, slash)), i8x16.lt_u(v, space));
      const high = i8x16.bitmask(v);
      const m = i8x16.bitmask(special) | high;
      if (m == 0) {
        q += 16;
        continue;
      }
      q += <usize>ctz(m);
      break;
    }
    if (q >= end) return 0;
    const c = load<u8>(q);
    if (c == 0x22) break;
    if (c == 0x5c) {
      hasEsc = true;
      if (q + 1 >= end) return 0;
      const e = load<u8>(q + 1);
      if (e == 0x75) {
        if (q + 6 > end) return 0;
        for (let i: usize = 2; i < 6; i++) if (hex(load<u8>(q + i)) < 0) return 0;
        q += 6;
      } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
        q += 2;
      } else return 0;
      continue;
    }
    if (c < 0x20) return 0;
    if (c < 0x80) {
      q++;
      continue;
    }
    isAscii = false;
    const len = utf8(q);
    if (len == 0) return 0;
    // Units of UTF-16 per sequence: one, or two (a surrogate pair) for four bytes.
    adjust += len == 4 ? 2 : len - 1;
    q += len;
  }
  ascii = isAscii;
  esc = hasEsc;
  return q;
}

/** Length of the well-formed UTF-8 sequence at q (lead byte >= 0x80), or 0. */
function utf8(q: usize): i32 {
  const c = <u32>load<u8>(q);
  if (c >= 0xc2 && c <= 0xdf) {
    if (q + 2 > end) return 0;
    return (load<u8>(q + 1) & 0xc0) == 0x80 ? 2 : 0;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (q + 3 > end) return 0;
    const c1 = <u32>load<u8>(q + 1);
    const lo: u32 = c == 0xe0 ? 0xa0 : 0x80;
    const hi: u32 = c == 0xed ? 0x9f : 0xbf;
    if (c1 < lo || c1 > hi || (load<u8>(q + 2) & 0xc0) != 0x80) return 0;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (q + 4 > end) return 0;
    const c1 = <u32>load<u8>(q + 1);
    const lo: u32 = c == 0xf0 ? 0x90 : 0x80;
    const hi: u32 = c == 0xf4 ? 0x8f : 0xbf;
    if (c1 < lo || c1 > hi || (load<u8>(q + 2) & 0xc0) != 0x80 || (load<u8>(q + 3) & 0xc0) != 0x80) return 0;
    return 4;
  }
  return 0;
}

function hex(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return <i32>(l - 0x61 + 10);
  return -1;
}

/** The string's contents a..b (validated by str) unescaped into the scratch area as UTF-8; false on a lone surrogate. */
function unescape(a: usize, b: usize): bool {
  let q = a;
  let w = sp;
  let isAscii = true;
  while (q < b) {
    const c = load<u8>(q);
    if (c != 0x5c) {
      if (c >= 0x80) isAscii = false;
      store<u8>(w++, c);
      q++;
      continue;
    }
    const e = load<u8>(q + 1);
    if (e != 0x75) {
      let o: u8 = e;
      if (e == 0x62) o = 0x08;
      else if (e == 0x66) o = 0x0c;
      else if (e == 0x6e) o = 0x0a;
      else if (e == 0x72) o = 0x0d;
      else if (e == 0x74) o = 0x09;
      store<u8>(w++, o);
      q += 2;
      continue;
    }
    let u = <u32>((hex(load<u8>(q + 2)) << 12) | (hex(load<u8>(q + 3)) << 8) | (hex(load<u8>(q + 4)) << 4) | hex(load<u8>(q + 5)));
    q += 6;
    if (u >= 0xdc00 && u <= 0xdfff) return false;
    if (u >= 0xd800 && u <= 0xdbff) {
      // Only a pair makes a character UTF-8 can hold; a lone surrogate falls back.
      if (q + 6 > b || load<u8>(q) != 0x5c || load<u8>(q + 1) != 0x75) return false;
      const lo = <u32>((hex(load<u8>(q + 2)) << 12) | (hex(load<u8>(q + 3)) << 8) | (hex(load<u8>(q + 4)) << 4) | hex(load<u8>(q + 5)));
      if (lo < 0xdc00 || lo > 0xdfff) return false;
      q += 6;
      u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (u < 0x80) store<u8>(w++, <u8>u);
    else {
      isAscii = false;
      if (u < 0x800) {
        store<u8>(w++, <u8>(0xc0 | (u >> 6)));
      } else {
        if (u < 0x10000) store<u8>(w++, <u8>(0xe0 | (u >> 12)));
        else {
          store<u8>(w++, <u8>(0xf0 | (u >> 18)));
          store<u8>(w++, <u8>(0x80 | ((u >> 12) & 0x3f)));
        }
        store<u8>(w++, <u8>(0x80 | ((u >> 6) & 0x3f)));
      }
      store<u8>(w++, <u8>(0x80 | (u & 0x3f)));
    }
  }
  sp = w;
  ascii = isAscii;
  return true;
}
