// Checking a bulk source line from its bytes, without building it: is it one JSON object (what
// JSON.parse of its UTF-8 text accepts), and where is its top-level `@timestamp` value? The store
// keeps the bytes a shipper sent, so most documents are never turned into strings or objects on
// the way in; this scan is what stands between them and the store (a malformed line is a
// per-item 400, as Elasticsearch answers it).
//
// The grammar is RFC 8259's, as V8's JSON.parse applies it to the decoded text: bytes from 0x80
// up are never structural and JSON.parse sees invalid UTF-8 as U+FFFD, so string contents beyond
// ASCII need no decoding here; control characters (below 0x20) are refused inside strings;
// escapes are `\" \\ \/ \b \f \n \r \t \uXXXX`; numbers are `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`.
// One bound, as for every loop over untrusted data: nesting deeper than MAX_DEPTH is refused.
import { parseInstant, strictFields, textInstant } from '../events/time.js';

/** Deepest nesting of objects and arrays accepted. */
export const MAX_DEPTH = 512;

/** What a scan found. Reused between calls (no allocation per document). */
export interface ScanResult {
  /** Null when the line is one JSON object; otherwise why not. */
  error: string | null;
  /**
   * The top-level `@timestamp` value (the last one, as JSON.parse keeps the last of repeated keys):
   * TS_NONE, TS_STRING (bytes tsStart..tsEnd are the string's contents, without escapes),
   * TS_NUMBER (bytes are the number) or TS_OTHER (any other value, or a string with escapes).
   */
  tsKind: number;
  tsStart: number;
  tsEnd: number;
  /**
   * With a FieldTrie: the document pruned to the wanted fields — the same keys on the way to them
   * (nested or dotted, as the document has them) and their values as JSON.parse gives them — so
   * reading a wanted field from it gives what reading it from the whole parsed document gives.
   */
  picked: Record<string, unknown> | null;
}

/** Fields to pick while scanning (see fieldTrie). */
export interface FieldTrie {
  /** A wanted field ends here: its whole value is picked. */
  terminal: boolean;
  children: Map<string, FieldTrie> | null;
  /** The children with their names as UTF-8 bytes: keys are matched without decoding them. */
  kids: { name: string; bytes: Uint8Array; node: FieldTrie }[];
  /** 1 at the first byte of each child's name: most keys are told apart by that byte alone. */
  firsts: Uint8Array;
}

/** The trie of dotted field names (`event.category`, `process.parent.name`, …). */
export function fieldTrie(fields: Iterable<string>): FieldTrie {
  const root: FieldTrie = { terminal: false, children: null, kids: [], firsts: new Uint8Array(256) };
  for (const f of fields) {
    let n = root;
    for (const part of f.split('.')) {
      // Never a key the picked objects could receive as their prototype.
      if (part === '__proto__') break;
      n.children ??= new Map();
      let c = n.children.get(part);
      if (!c) {
        n.children.set(part, (c = { terminal: false, children: null, kids: [], firsts: new Uint8Array(256) }));
        const bytes = Buffer.from(part);
        n.kids.push({ name: part, bytes, node: c });
        // (An empty name matches only an empty key: its "first byte" is the closing quote.)
        n.firsts[bytes.length > 0 ? bytes[0]! : QUOTE] = 1;
      }
      n = c;
    }
    if (n !== root) n.terminal = true;
  }
  return root;
}

/** Set by keyNode(): the key (as JSON.parse reads it) of the node returned. */
let foundKey = '';

/**
 * The node the key just scanned (bytes keyStart..keyEnd) leads to from `node`, or null. Plain
 * keys are compared as bytes with the node's children; a key that starts with a child's name and
 * a dot (`"event.category"` walks two levels) and a key with an escape are decoded and walked.
 * (Most keys match no child: they are told apart by their first bytes, without a pass over them.)
 */
function keyNode(b: Buffer, node: FieldTrie): FieldTrie | null {
  if (keyEscaped) return walkKey(b, node);
  if (node.firsts[b[keyStart]!] === 0) return null;
  const len = keyEnd - keyStart;
  const kids = node.kids;
  for (let k = 0; k < kids.length; k++) {
    const kb = kids[k]!.bytes;
    const n = kb.length;
    if (n > len) continue;
    let i = 0;
    while (i < n && kb[i] === b[keyStart + i]) i++;
    if (i < n) continue;
    if (n === len) {
      foundKey = kids[k]!.name;
      return kids[k]!.node;
    }
    // A dotted key can only lead somewhere through the child its first part names.
    if (b[keyStart + n] === DOT) return walkKey(b, node);
  }
  return null;
}

/** keyNode of a key that is decoded first (escaped or dotted). */
function walkKey(b: Buffer, node: FieldTrie): FieldTrie | null {
  const key = keyEscaped ? (JSON.parse(b.toString('utf8', keyStart - 1, keyEnd + 1)) as string) : b.toString('utf8', keyStart, keyEnd);
  const n = walk(node, key);
  if (n !== null) foundKey = key;
  return n;
}

/** The node a key leads to from `node` (a dotted key walks several levels), or null. */
function walk(node: FieldTrie, key: string): FieldTrie | null {
  if (key.indexOf('.') < 0) return node.children?.get(key) ?? null;
  let n: FieldTrie | undefined = node;
  for (const part of key.split('.')) {
    n = n.children?.get(part);
    if (!n) return null;
  }
  return n;
}

export const TS_NONE = 0;
export const TS_STRING = 1;
export const TS_NUMBER = 2;
export const TS_OTHER = 3;

const QUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const COMMA = 44;
const COLON = 58;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;

/** 1 for the bytes that end a run of plain string characters: `"`, `\` and controls. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 32; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;

/** Characters allowed after a backslash (u is handled apart). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const ch of '"\\/bfnrt') SIMPLE_ESCAPE[ch.charCodeAt(0)] = 1;

const HEX = new Uint8Array(256);
for (const ch of '0123456789abcdefABCDEF') HEX[ch.charCodeAt(0)] = 1;

/** `@timestamp` as bytes. */
const TS_KEY = Buffer.from('@timestamp');

const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Container stack: 1 = object, 2 = array (shared; scans do not nest). */
const stack = new Uint8Array(MAX_DEPTH + 1);
/** While picking: per depth, the trie node of the object there and its picked copy (null: not picked). */
const nodes: (FieldTrie | null)[] = new Array(MAX_DEPTH + 1).fill(null);
const objs: (Record<string, unknown> | null)[] = new Array(MAX_DEPTH + 1).fill(null);

/**
 * Checks that bytes [start, end) of `b` are exactly one JSON object (surrounding whitespace
 * allowed) and finds its top-level `@timestamp`. Fills and returns `out`.
 */
export function scanObject(b: Uint8Array, start: number, end: number, out: ScanResult, want: FieldTrie | null = null): ScanResult {
  out.error = null;
  out.tsKind = TS_NONE;
  out.tsStart = out.tsEnd = 0;
  out.picked = null;
  // Picking: the trie node and key of the value about to be read (null: not wanted), and the
  // container being picked whole (capDepth > 0: its depth; its text is parsed when it closes).
  // (No closures here: locals a closure captured would live on the heap, slowing every step.)
  let valueNode: FieldTrie | null = null;
  let valueKey = '';
  let capDepth = 0;
  let capStart = 0;
  let capObj: Record<string, unknown> | null = null;
  let capKey = '';
  const buf = want === null ? null : b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let p = start;
  while (p < end && isWs(b[p]!)) p++;
  if (p >= end || b[p] !== LBRACE) {
    out.error = p >= end ? 'the document is empty' : 'the document is not a JSON object';
    return out;
  }
  let depth = 0;
  // Set while the value being read is the top-level @timestamp.
  let tsValue = false;
  // Expecting a value (true) or what follows one (false); a key first (wantKey, with wantValue).
  let wantValue = true;
  let wantKey = false;
  for (;;) {
    if (wantKey) {
      // `"key" :`, read here in the loop: a function per key was a call per member (the compiler
      // did not inline it into this large function); 2–5 % of the scan.
      wantKey = false;
      if (p >= end || b[p] !== QUOTE) return fail(out, p >= end ? 'unexpected end of the document' : `expected a key at byte ${p - start}`);
      let q = p + 1;
      while (q < end && STRING_STOP[b[q]!] === 0) q++;
      let escaped = false;
      if (q >= end || b[q] !== QUOTE) {
        q = stringEnd(b, q, end);
        if (q < 0) return fail(out, q === -2 ? 'invalid escape in a key' : q === -3 ? 'control character in a key' : 'unterminated key');
        escaped = sawEscape;
      }
      tsValue = depth === 1 && q - p - 1 === TS_KEY_LENGTH && isTsKey(b, p + 1);
      if (want !== null) {
        valueNode = null;
        const node = nodes[depth];
        if (capDepth === 0 && node !== null && node !== undefined) {
          keyStart = p + 1;
          keyEnd = q;
          keyEscaped = escaped;
          if ((valueNode = keyNode(buf!, node)) !== null) valueKey = foundKey;
        }
      }
      p = q + 1;
      while (p < end && isWs(b[p]!)) p++;
      if (p >= end || b[p] !== COLON) return fail(out, `expected ':' after a key at byte ${p - start}`);
      p++;
    }
    if (wantValue) {
      while (p < end && isWs(b[p]!)) p++;
      if (p >= end) return fail(out, 'unexpected end of the document');
      const c = b[p]!;
      const valueStart = p;
      if (c === LBRACE || c === LBRACKET) {
        if (depth === MAX_DEPTH) return fail(out, `the document is nested deeper than ${MAX_DEPTH} levels`);
        if (tsValue) setTs(out, TS_OTHER, p, p);
        tsValue = false;
        if (want !== null) {
          const d = depth + 1;
          if (depth === 0) {
            nodes[d] = want;
            objs[d] = out.picked = {};
          } else if (valueNode !== null) {
            // (set by pickKey(), which TypeScript's flow analysis does not see)
            const vn = valueNode as FieldTrie;
            if (c === LBRACE && !vn.terminal && vn.children !== null) {
              // On the way to a wanted field: a pruned copy.
              const o: Record<string, unknown> = {};
              objs[depth]![valueKey] = o;
              nodes[d] = vn;
              objs[d] = o;
            } else {
              // A wanted field's value, or an array on the way to one: picked whole.
              capDepth = d;
              capStart = p;
              capObj = objs[depth]!;
              capKey = valueKey;
              nodes[d] = null;
            }
          } else nodes[d] = null;
          valueNode = null;
        }
        stack[++depth] = c === LBRACE ? 1 : 2;
        p++;
        while (p < end && isWs(b[p]!)) p++;
        if (c === LBRACE) {
          if (p < end && b[p] === RBRACE) {
            p++;
            if (capDepth === depth) {
            capObj![capKey] = captured(buf!, capStart, p);
            capDepth = 0;
          }
            depth--;
            wantValue = false;
            if (depth === 0) break;
            continue;
          }
          // A key, then the value.
          wantKey = true;
          continue;
        }
        if (p < end && b[p] === RBRACKET) {
          p++;
          if (capDepth === depth) {
            capObj![capKey] = captured(buf!, capStart, p);
            capDepth = 0;
          }
          depth--;
          wantValue = false;
          continue;
        }
        continue;
      }
      if (c === QUOTE) {
        // Most strings hold no escape: their end is found here, the rest by stringEnd().
        let q = p + 1;
        while (q < end && STRING_STOP[b[q]!] === 0) q++;
        if (q < end && b[q] === QUOTE) sawEscape = false;
        else q = stringEnd(b, q, end);
        if (q < 0) return fail(out, q === -2 ? 'invalid escape in a string' : q === -3 ? 'control character in a string' : 'unterminated string');
        // Contents without a backslash are read as they are; with escapes, by JSON.parse.
        if (tsValue) setTs(out, sawEscape ? TS_OTHER : TS_STRING, p + 1, q);
        if (valueNode !== null) objs[depth]![valueKey] = sawEscape ? JSON.parse(buf!.toString('utf8', p, q + 1)) : utf8Slice.call(buf!, p + 1, q);
        p = q + 1;
      } else if (c === MINUS || isDigit(c)) {
        const q = numberEnd(b, p, end);
        if (q < 0) return fail(out, 'invalid number');
        if (tsValue) setTs(out, TS_NUMBER, p, q);
        if (valueNode !== null) objs[depth]![valueKey] = Number(buf!.toString('latin1', p, q));
        p = q;
      } else if (c === 116 /* t */ && literal(b, p, end, 'true')) {
        if (tsValue) setTs(out, TS_OTHER, p, p + 4);
        if (valueNode !== null) objs[depth]![valueKey] = true;
        p += 4;
      } else if (c === 102 /* f */ && literal(b, p, end, 'false')) {
        if (tsValue) setTs(out, TS_OTHER, p, p + 5);
        if (valueNode !== null) objs[depth]![valueKey] = false;
        p += 5;
      } else if (c === 110 /* n */ && literal(b, p, end, 'null')) {
        // A null @timestamp is no timestamp (JSON.parse keeps the last key, so it replaces one).
        if (tsValue) setTs(out, TS_NONE, 0, 0);
        if (valueNode !== null) objs[depth]![valueKey] = null;
        p += 4;
      } else {
        return fail(out, `unexpected character at byte ${valueStart - start}`);
      }
      tsValue = false;
      valueNode = null;
      wantValue = false;
      continue;
    }
    // After a value: a separator or the end of its container.
    while (p < end && isWs(b[p]!)) p++;
    if (p >= end) return fail(out, 'unexpected end of the document');
    const c = b[p]!;
    const inObject = stack[depth] === 1;
    if (c === COMMA) {
      p++;
      if (inObject) {
        while (p < end && isWs(b[p]!)) p++;
        wantKey = true;
      }
      wantValue = true;
      continue;
    }
    if ((inObject && c === RBRACE) || (!inObject && c === RBRACKET)) {
      p++;
      if (capDepth === depth) {
        capObj![capKey] = captured(buf!, capStart, p);
        capDepth = 0;
      }
      depth--;
      if (depth === 0) break;
      continue;
    }
    return fail(out, `unexpected character at byte ${p - start}`);
  }
  while (p < end && isWs(b[p]!)) p++;
  if (p < end) return fail(out, `unexpected data after the document at byte ${p - start}`);
  return out;
}

/**
 * Decodes bytes [s, e) of the Buffer it is called on, as toString('utf8', s, e) does: Buffer's own
 * utf8Slice (Node's, undocumented but there since its first versions), without toString's checks
 * of its arguments and look-up of the encoding — a picked value is a short string, and those were
 * about a third of what making it cost. (toString where a Node has no utf8Slice.)
 */
const utf8Slice: (this: Buffer, s: number, e: number) => string =
  (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer, s: number, e: number) => string }).utf8Slice ??
  function (this: Buffer, s: number, e: number): string {
    return this.toString('utf8', s, e);
  };

/**
 * The value of a picked container, bytes [s, e) (checked by the scan): as JSON.parse reads it.
 * An array of plain strings (`["process"]`, `["start","end"]`: event.category and event.type, most
 * picked containers) is built here from its strings, without a parse of its text.
 */
function captured(b: Buffer, s: number, e: number): unknown {
  if (b[s] === LBRACKET && b[s + 1] === QUOTE && b[e - 1] === RBRACKET) {
    const out: string[] = [];
    let p = s + 1;
    for (;;) {
      // (p is at a quote)
      let q = p + 1;
      while (q < e && STRING_STOP[b[q]!] === 0) q++;
      // An escape, or a string not followed by `,"` or `]` (whitespace, another kind of value): parsed.
      if (b[q] !== QUOTE) break;
      out.push(utf8Slice.call(b, p + 1, q));
      const c = b[q + 1];
      if (c === RBRACKET && q + 2 === e) return out;
      if (c !== COMMA || b[q + 2] !== QUOTE) break;
      p = q + 2;
    }
  }
  return JSON.parse(b.toString('utf8', s, e)) as unknown;
}

function fail(out: ScanResult, reason: string): ScanResult {
  out.error = reason;
  return out;
}

function setTs(out: ScanResult, kind: number, s: number, e: number): void {
  out.tsKind = kind;
  out.tsStart = s;
  out.tsEnd = e;
}

/** Set before keyNode(): the key's contents (bytes keyStart..keyEnd) and whether it holds an escape. */
let keyStart = 0;
let keyEnd = 0;
let keyEscaped = false;
/** Set by stringEnd(): the string just read holds an escape. */
let sawEscape = false;

const TS_KEY_LENGTH = TS_KEY.length;

/** Whether the TS_KEY_LENGTH bytes at p are `@timestamp`. */
function isTsKey(b: Uint8Array, p: number): boolean {
  for (let i = 0; i < TS_KEY_LENGTH; i++) if (b[p + i] !== TS_KEY[i]) return false;
  return true;
}

/**
 * Position of the closing quote of the string whose contents start at p; -1 unterminated, -2 bad
 * escape, -3 control character.
 */
function stringEnd(b: Uint8Array, p: number, end: number): number {
  sawEscape = false;
  for (;;) {
    while (p < end && STRING_STOP[b[p]!] === 0) p++;
    if (p >= end) return -1;
    const c = b[p]!;
    if (c === QUOTE) return p;
    if (c !== BACKSLASH) return -3;
    sawEscape = true;
    const e = b[p + 1];
    if (p + 1 >= end) return -1;
    if (e === 117 /* u */) {
      if (p + 5 >= end || !HEX[b[p + 2]!] || !HEX[b[p + 3]!] || !HEX[b[p + 4]!] || !HEX[b[p + 5]!]) return -2;
      p += 6;
    } else if (SIMPLE_ESCAPE[e!]) p += 2;
    else return -2;
  }
}

/** End of the number starting at p, or -1 when it is not one. */
function numberEnd(b: Uint8Array, p: number, end: number): number {
  if (b[p] === MINUS) p++;
  if (p >= end || !isDigit(b[p]!)) return -1;
  if (b[p] === 48) p++;
  else while (p < end && isDigit(b[p]!)) p++;
  if (p < end && b[p] === DOT) {
    p++;
    if (p >= end || !isDigit(b[p]!)) return -1;
    while (p < end && isDigit(b[p]!)) p++;
  }
  if (p < end && (b[p] === 101 || b[p] === 69)) {
    p++;
    if (p < end && (b[p] === PLUS || b[p] === MINUS)) p++;
    if (p >= end || !isDigit(b[p]!)) return -1;
    while (p < end && isDigit(b[p]!)) p++;
  }
  return p;
}

function literal(b: Uint8Array, p: number, end: number, word: string): boolean {
  if (p + word.length > end) return false;
  for (let i = 1; i < word.length; i++) if (b[p + i] !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` read from bytes (epoch ms, as parseInstant reads the same
 * text), or null for any other form (the caller then decodes the text and uses parseInstant).
 */
export function isoUtcMillis(b: Uint8Array, s: number, e: number): number | null {
  const len = e - s;
  if (len < 20 || len > 30 || b[e - 1] !== 90 /* Z */) return null;
  if (b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 84 || b[s + 13] !== 58 || b[s + 16] !== 58) return null;
  const year = digits(b, s, 4);
  const month = digits(b, s + 5, 2);
  const day = digits(b, s + 8, 2);
  const hour = digits(b, s + 11, 2);
  const minute = digits(b, s + 14, 2);
  const second = digits(b, s + 17, 2);
  if (year < 100 || !strictFields(year, month, day, hour, minute, second)) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (len > 20) {
    // A dot needs at least one digit after it.
    if (b[s + 19] !== 46 || len === 21) return null;
    let frac = 0;
    let scale = 100;
    for (let p = s + 20; p < e - 1; p++) {
      const d = b[p]! - 48;
      if (d < 0 || d > 9) return null;
      if (scale >= 1) frac += d * scale;
      scale /= 10;
    }
    if (e - 1 - (s + 20) > 9) return null;
    ms += frac;
  } else if (b[s + 19] !== 90) return null;
  return Number.isFinite(ms) ? ms : null;
}

function digits(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Why Elasticsearch refuses a document for its @timestamp: there is one (not null) and its
 * default date mapping (`strict_date_optional_time||epoch_millis`) does not read it as a date
 * (`2025-02-30T…`, hour 24, second 60, `t`/`z`, a blank, text): a data stream's @timestamp never
 * ignores a malformed value. `shown` is the value as the client wrote it, when known.
 */
export function timestampRefusal(shown: string | null): string {
  const preview = shown === null ? '' : `. Preview of field's value: '${shown.length > 200 ? shown.slice(0, 200) + '…' : shown}'`;
  return `failed to parse field [@timestamp] of type [date] with format [strict_date_optional_time||epoch_millis]${preview}`;
}

/**
 * Why Elasticsearch refuses the document scanned into `r` (bytes of `b`) for its @timestamp, given
 * `ts`, what scannedTime read of it: a reason when there is one that is not a time, else null.
 */
export function scannedTimeRefusal(b: Buffer, r: ScanResult, ts: number | null): string | null {
  if (ts !== null || r.tsKind === TS_NONE) return null;
  // The value as the client wrote it: a string's contents or a number's text.
  const shown = r.tsKind === TS_STRING || r.tsKind === TS_NUMBER ? b.toString('utf8', r.tsStart, r.tsEnd) : null;
  return timestampRefusal(shown);
}

/**
 * The @timestamp (epoch ms) of the document scanned into `r` (bytes [start, end) of `b`), as
 * parseInstant reads the value JSON.parse gives — but a number as its text: Elasticsearch's date
 * field parses the text of a JSON number (Jackson's getText), so `1.7e12` and more than six
 * decimals are not epoch_millis to it; null when absent or not a time.
 */
export function scannedTime(b: Buffer, start: number, end: number, r: ScanResult): number | null {
  switch (r.tsKind) {
    case TS_STRING:
      return isoUtcMillis(b, r.tsStart, r.tsEnd) ?? parseInstant(b.toString('utf8', r.tsStart, r.tsEnd))?.ms ?? null;
    case TS_NUMBER:
      return textInstant(b.toString('latin1', r.tsStart, r.tsEnd))?.ms ?? null;
    case TS_OTHER:
      return parseInstant((JSON.parse(b.toString('utf8', start, end)) as Record<string, unknown>)['@timestamp'])?.ms ?? null;
    default:
      return null;
  }
}
