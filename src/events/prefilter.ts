// Deciding from the raw bytes, before JSON.parse: an NDJSON line that no consumer can use is not
// parsed, only timed. What the consumers can use comes as needles (engine/needles.ts): strings
// that any useful line contains. A line is skipped — it becomes a stub holding just its time,
// which keeps the time-ordered merge, its late-event checks and the rules' clocks exactly as they
// were — only when all of these hold:
//   1. it starts with the timestamp field as its first key, `{"@timestamp":"…"` (or a number), and
//      that value is a time (the merge needs it; anything else is parsed and handled as before);
//   2. it ends with `}` (a line cut short is parsed, and reported as before);
//   3. it has no `\uXXXX` or `\/` escape (either could spell a needle's characters differently);
//   4. it cannot be a Windows document that is mapped to ECS on read (Winlogbeat without ECS
//      fields, NXLog, RawWindowsEvent JSON): mapping adds values that are not in the text. So no
//      `EventID":` or `System":`, and a winlog `event_id` only beside ECS `event.category` or
//      `event.type`;
//   5. it contains none of the needles, compared case-insensitively.
// What is not checked on a skipped line: that the JSON between the first key and the final `}`
// is well-formed, and that the timestamp key is not repeated (JSON.parse keeps the last one).
// Lines are examined a read buffer at a time: one regular expression finds the needles and the
// markers of 3 and 4 in one pass over the buffer (every position is tried, so no match hides a
// pattern that starts inside it), so the cost per line does not grow with the number of lines
// per read; with more than MAX_NEEDLES needles the filter is not used (the pass
// then costs about what parsing saves, and nearly every line holds some needle anyway).
import type { Instant } from './time.js';
import { parseInstant, strictFields, textInstant } from './time.js';

/** More needles than this cost more to search than parsing saves: no filter then. */
export const MAX_NEEDLES = 24;
/**
 * Lines a filter is tried on: if it let fewer than a quarter of them go unparsed, it turns itself
 * off for the rest of the input. Searching a read buffer for the needles costs about 60% of
 * parsing its lines (CPU profile of 10 Elastic rules over Agent data, whose needles include
 * `windows`: every line held one, and the search was 9% of the hunt), so a filter that skips
 * little costs more than it saves. Parsing a line instead of skipping it never changes a result.
 */
export const TRIAL_LINES = 4096;
const MIN_SKIPPED_IN_TRIAL = TRIAL_LINES / 4;

const QUOTE = 34;
const RBRACE = 125;

/** Marks an ECS-mapped Windows document: event.category or event.type present. */
const ECS_EVENT = /"event":\{[^{}]*"(?:category|type)":|"event\.(?:category|type)":/;
/** What an `event.category` key ends with, nested or flat. */
const CATEGORY_KEY = 'category":';
/** What a `winlog` event id key ends with (nested `"event_id"` or flat `"winlog.event_id"`). */
const WINLOG_ID = 'vent_id"';
/**
 * The only characters outside ASCII whose lower case holds an ASCII letter (Kelvin sign → k,
 * dotted capital I → i + U+0307): EQL's case-insensitive comparison folds them into a needle's
 * letters, while the search below folds ASCII only. A line holding one is parsed.
 */
const FOLDS_TO_ASCII = ['\u212a', '\u0130'];
/** The same characters' UTF-8 bytes, as a latin1 view of the bytes shows them (see skipLatin1). */
export const FOLDS_TO_ASCII_LATIN1 = FOLDS_TO_ASCII.map(latin1Of);

/** The latin1 view of a string's UTF-8 bytes: one character per byte. */
function latin1Of(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A needle as a pattern that ignores ASCII case (the markers beside it must not). */
export function caseless(needle: string): string {
  let out = '';
  for (const ch of needle) {
    const up = ch.toUpperCase();
    out += /[a-z]/.test(ch) && up !== ch ? `[${ch}${up}]` : escapeRegExp(ch);
  }
  return out;
}

const BACKSLASH = 92;

/** Whether the backslash at text[at] starts an escape: an even number of backslashes precede it. */
export function escapeAt(text: string, at: number): boolean {
  let j = at;
  while (j > 0 && text.charCodeAt(j - 1) === BACKSLASH) j--;
  return ((at - j) & 1) === 0;
}

/** A sorted list of positions with a cursor that only moves forward. */
class Hits {
  pos: number[] = [];
  private at = 0;
  reset(): void {
    this.pos.length = 0;
    this.at = 0;
  }
  /** Whether some position lies in [start, end); positions before start are passed for good. */
  any(start: number, end: number): boolean {
    const p = this.pos;
    let i = this.at;
    while (i < p.length && p[i]! < start) i++;
    this.at = i;
    return i < p.length && p[i]! < end;
  }
}

/**
 * Where one text was searched: the positions of the needles and markers found (one regular
 * expression pass from `from` on), and the next `category":` key.
 */
class TextScan {
  text: string | null = null;
  from = 0;
  readonly parseHits = new Hits();
  readonly winlogHits = new Hits();
  /** Position of the next `category":` in `text` at or after the last search, or -1 for none. */
  private nextCategory = -1;
  private categoryFrom = 0;

  constructor(
    private readonly search: RegExp,
    /** A latin1 view of UTF-8 bytes (the characters folding to ASCII are then searched as bytes). */
    private readonly latin1: boolean,
  ) {}

  /** Makes sure text[start…] has been searched. */
  cover(text: string, start: number): void {
    if (text !== this.text || start < this.from) this.scan(text, start);
  }

  /** Whether text[start, end) holds `category":`; one forward search per text, not per line. */
  categoryIn(text: string, start: number, end: number): boolean {
    if (start < this.categoryFrom || (this.nextCategory >= 0 && this.nextCategory < start)) {
      this.nextCategory = text.indexOf(CATEGORY_KEY, start);
      this.categoryFrom = start;
    }
    return this.nextCategory >= 0 && this.nextCategory < end;
  }

  forget(): void {
    this.text = null;
  }

  private scan(text: string, from: number): void {
    this.text = text;
    this.from = from;
    this.nextCategory = text.indexOf(CATEGORY_KEY, from);
    this.categoryFrom = from;
    this.parseHits.reset();
    this.winlogHits.reset();
    const parse = this.parseHits.pos;
    const winlog = this.winlogHits.pos;
    const re = this.search;
    re.lastIndex = from;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const hit = m[0];
      const at = m.index;
      if (hit === WINLOG_ID) winlog.push(at);
      // `\u` or `\/` (needles are longer): an escape unless its backslash is itself escaped.
      else if (hit.length !== 2 || escapeAt(text, at)) parse.push(at);
      // Every position is tried: a match must not hide another pattern starting inside it.
      re.lastIndex = at + 1;
    }
    for (const c of this.latin1 ? FOLDS_TO_ASCII_LATIN1 : FOLDS_TO_ASCII) {
      for (let i = text.indexOf(c, from); i >= 0; i = text.indexOf(c, i + 1)) parse.push(i);
    }
    if (parse.length > 1) parse.sort((a, b) => a - b);
  }
}

export class LineFilter {
  private readonly prefix: string;
  /** The field is `@timestamp` (the default, which needs no more checks than its prefix). */
  private readonly atTimestamp: boolean;
  /** Another field's last name segment and closing quote (`ingested"`), JSON-escaped; and as latin1 shows its UTF-8. */
  private readonly lastKey: string;
  private readonly lastKeyLatin1: string;
  /** The prefix as a latin1 view of its UTF-8 bytes shows it. */
  private readonly prefixLatin1: string;
  /**
   * What was found in the text last searched, and in the latin1 view last searched: kept apart,
   * so that deciding a decoded line between two lines of a read's view does not search the view
   * again (the reader may hand the splitter single decoded lines, which it may offer here).
   */
  private readonly decoded: TextScan;
  private readonly bytes: TextScan;
  /** Lines offered and lines skipped. */
  lines = 0;
  skipped = 0;
  /** Turned off after TRIAL_LINES lines of which too few were skipped: every line is parsed. */
  off = false;
  /**
   * Whether the line last skipped holds a `category":` key (event.category, nested or flat):
   * the inputs' "no event.category" diagnostics count stubs by it. Approximate on purpose (a
   * `category` key elsewhere counts too): it can only hold back a warning, never change a result.
   */
  lastHasCategory = false;

  constructor(
    needles: readonly string[],
    readonly timestampField: string,
  ) {
    this.prefix = `{${JSON.stringify(timestampField)}:`;
    this.atTimestamp = timestampField === '@timestamp';
    this.lastKey = JSON.stringify(timestampField.slice(timestampField.lastIndexOf('.') + 1)).slice(1);
    this.lastKeyLatin1 = latin1Of(this.lastKey);
    this.prefixLatin1 = latin1Of(this.prefix);
    // One pass over a read finds: the needles (ignoring ASCII case); `\u` and `\/` escapes (an odd
    // run of backslashes before `u` or `/`); the keys of Windows shapes mapped on read
    // (`EventID":`, `System":`); and winlog event ids, which need the ECS check per line.
    // (The escape is found as a backslash before `u` or `/` and the backslashes before it are
    // counted apart: a look-behind in the pattern made the pass twice as slow.)
    const parts = [...needles.map(caseless), '\\\\[u/]', 'EventID":', 'System":', escapeRegExp(WINLOG_ID)];
    const search = new RegExp(parts.join('|'), 'g');
    this.decoded = new TextScan(search, false);
    this.bytes = new TextScan(search, true);
  }

  /**
   * The time of the line text[start, end) when it can be skipped (see the module comment), else
   * null: the line must be parsed. Lines of one text must come in increasing order.
   */
  skip(text: string, start: number, end: number): Instant | null {
    return this.decide(text, start, end, false);
  }

  /**
   * skip() for a line of UTF-8 bytes seen through their latin1 view (`buffer.toString('latin1')`,
   * one character per byte, made without decoding UTF-8): the same decision and time as skip()
   * gives for the decoded line. Every pattern searched is ASCII, and in UTF-8 an ASCII byte is
   * always that character (never part of a longer sequence, and a decoder that meets an invalid
   * sequence replaces only the sequence's own bytes), so an ASCII needle or marker is in the
   * bytes exactly when it is in the decoded text; the two characters that fold to ASCII are
   * searched as their UTF-8 bytes (a lead byte then its continuation bytes, which decode to that
   * character wherever they occur).
   */
  skipLatin1(view: string, start: number, end: number): Instant | null {
    return this.decide(view, start, end, true);
  }

  private decide(text: string, start: number, end: number, latin1: boolean): Instant | null {
    if (this.off) return null;
    if (++this.lines > TRIAL_LINES && this.skipped < MIN_SKIPPED_IN_TRIAL) {
      this.off = true;
      this.decoded.forget();
      this.bytes.forget();
      return null;
    }
    const prefix = latin1 ? this.prefixLatin1 : this.prefix;
    if (!text.startsWith(prefix, start)) return null;
    const scan = latin1 ? this.bytes : this.decoded;
    scan.cover(text, start);
    let e = end;
    while (e > start && text.charCodeAt(e - 1) <= 32) e--;
    if (text.charCodeAt(e - 1) !== RBRACE) return null;
    if (scan.parseHits.any(start, e)) return null;
    if (scan.winlogHits.any(start, e) && !ECS_EVENT.test(text.slice(start, e))) return null;
    if (!this.atTimestamp && (numberTimestampIn(text, start, e) || keyAgainIn(text, start + prefix.length, e, latin1 ? this.lastKeyLatin1 : this.lastKey))) return null;
    const t = timeAt(text, start + prefix.length, e, latin1);
    if (t) {
      this.skipped++;
      this.lastHasCategory = scan.categoryIn(text, start, e);
    }
    return t;
  }
}

/**
 * The time written at text[p…]: a string without escapes, or a number; null otherwise. `latin1`:
 * text is a latin1 view of UTF-8 bytes (a string other than the ISO form is decoded first).
 */
function timeAt(text: string, p: number, end: number, latin1: boolean): Instant | null {
  if (text.charCodeAt(p) === QUOTE) {
    const q = text.indexOf('"', p + 1);
    if (q < 0 || q >= end) return null;
    const iso = isoInstant(text, p + 1, q);
    if (iso) return iso;
    const raw = text.slice(p + 1, q);
    return parseInstant(latin1 ? Buffer.from(raw, 'latin1').toString('utf8') : raw);
  }
  let q = p;
  while (q < end) {
    const c = text.charCodeAt(q);
    if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69) q++;
    else break;
  }
  if (q === p) return null;
  const raw = text.slice(p, q);
  // A number Elasticsearch does not read as a time from its text (`1.7e12`) is left to the parse,
  // which refuses the line (number-time.ts).
  // Else the time field's number is read from its text by the parse too (to the nanosecond,
  // `2024.0` as 2,024 ms), @timestamp or another.
  return textInstant(raw);
}

/**
 * Whether text[from, end) may name the time field again, nested (`"event":{"ingested":…}`), as a
 * dotted key, or as a key given twice: the parse's field access may find its time there rather
 * than in the first key (nested objects first, a key's last member), or refuse the line for a
 * number there, so such a line is no stub. `key`: the last name segment and its closing quote;
 * found after a quote or a dot (a string value that ends so only costs the line a parse).
 */
function keyAgainIn(text: string, from: number, end: number, key: string): boolean {
  for (let i = text.indexOf(key, from); i >= 0 && i < end; i = text.indexOf(key, i + 1)) {
    const c = text.charCodeAt(i - 1);
    if (c === QUOTE || c === 46 /* . */) return true;
  }
  return false;
}

const TS_KEY = '"@timestamp"';

/**
 * Whether text[start, end) may hold an @timestamp that is a number (not its first key): the parse
 * reads it from its text and may refuse the line (number-time.ts), so such a line is no stub.
 */
function numberTimestampIn(text: string, start: number, end: number): boolean {
  for (let i = text.indexOf(TS_KEY, start); i >= 0 && i < end; i = text.indexOf(TS_KEY, i + 1)) {
    let p = i + TS_KEY.length;
    while (p < end && text.charCodeAt(p) <= 32) p++;
    if (text.charCodeAt(p) !== 58 /* : */) continue;
    p++;
    while (p < end && text.charCodeAt(p) <= 32) p++;
    const c = text.charCodeAt(p);
    if (c === 45 || (c >= 48 && c <= 57)) return true;
  }
  return false;
}

function digits(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` read without a regular expression, with parseInstant's
 * result for the same text; null for any other form (parseInstant then reads it). A backslash
 * in the text makes it fail too (the value would have an escape).
 */
export function isoInstant(text: string, s: number, e: number): Instant | null {
  const len = e - s;
  if (len < 20 || len > 30 || text.charCodeAt(e - 1) !== 90 /* Z */) return null;
  if (text.charCodeAt(s + 4) !== 45 || text.charCodeAt(s + 7) !== 45 || text.charCodeAt(s + 10) !== 84 || text.charCodeAt(s + 13) !== 58 || text.charCodeAt(s + 16) !== 58) return null;
  const year = digits(text, s, 4);
  const month = digits(text, s + 5, 2);
  const day = digits(text, s + 8, 2);
  const hour = digits(text, s + 11, 2);
  const minute = digits(text, s + 14, 2);
  const second = digits(text, s + 17, 2);
  if (year < 100 || !strictFields(year, month, day, hour, minute, second)) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  let ns = 0;
  if (len > 20) {
    const nfrac = len - 21;
    if (text.charCodeAt(s + 19) !== 46 || nfrac < 1 || nfrac > 9) return null;
    const frac = digits(text, s + 20, nfrac);
    if (frac < 0) return null;
    const nine = frac * 10 ** (9 - nfrac);
    ms += Math.floor(nine / 1e6);
    ns = nine % 1e6;
  } else if (text.charCodeAt(s + 19) !== 90) return null;
  return Number.isFinite(ms) ? { ms, ns } : null;
}

/**
 * A filter for these needles, or null when filtering cannot pay (too many) or is not asked for
 * (null). An empty list means no line is of use for its text: only the lines that must be parsed
 * whatever the needles (Windows shapes mapped on read, escapes, lines not shaped for a stub) are.
 */
export function lineFilter(needles: readonly string[] | null, timestampField: string): LineFilter | null {
  if (!needles || needles.length > MAX_NEEDLES) return null;
  return new LineFilter(needles, timestampField);
}
