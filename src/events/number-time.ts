// A JSON number as @timestamp, read from its text as Elasticsearch reads it. Its date field parses
// the text of a JSON number (Jackson's getText) with `strict_date_optional_time||epoch_millis`:
// `1.7e12`, `17E11` and more than six decimals are no time to it (the document is refused at
// index time), `1741593600123.456789` is that many nanoseconds (the nearest double is not), and
// `2024.0` is 2,024 ms where the value 2024 would be a year. JSON.parse keeps only the value, so
// the readers look the number up in the document's text, whatever its shape (one line,
// pretty-printed, an array element, an Elasticsearch hit's `_source`): the same document gets the
// same time or refusal. The same holds for every date field, so the rules' timestamp_override
// numbers are looked up too (numberTextsOf, overrideInstant); a value there that is no time is
// ignored, not refused (a logs data stream ignores malformed values of its other fields).
import { fieldAccessor, leafValues } from '../engine/fields.js';
import { parseInstant, textInstant, type Instant } from './time.js';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;

/** Index just past the string whose opening quote is text[p]. */
function stringEnd(text: string, p: number): number {
  for (let q = text.indexOf('"', p + 1); q >= 0; q = text.indexOf('"', q + 1)) {
    let b = q - 1;
    while (text.charCodeAt(b) === BACKSLASH) b--;
    if (((q - 1 - b) & 1) === 0) return q + 1;
  }
  return text.length;
}

/**
 * The text of the number that JSON.parse gives as the member `key` of the object `text` (one JSON
 * object, which JSON.parse accepted): the last top-level member of that name, as JSON.parse keeps
 * the last. Null when that member is not a number. One pass, no recursion (depth is a counter:
 * only the top level's members are looked at).
 */
export function topLevelNumberText(text: string, key: string): string | null {
  let found: string | null = null;
  let depth = 0;
  // At depth 1, whether the next string is a member's name.
  let atKey = false;
  const n = text.length;
  for (let p = 0; p < n; p++) {
    const c = text.charCodeAt(p);
    if (c === QUOTE) {
      const e = stringEnd(text, p);
      if (depth === 1 && atKey) {
        atKey = false;
        const raw = text.slice(p + 1, e - 1);
        const name = raw.indexOf('\\') < 0 ? raw : (JSON.parse(text.slice(p, e)) as string);
        if (name === key) {
          let v = e;
          while (v < n && text.charCodeAt(v) !== COLON) v++;
          v++;
          while (v < n && text.charCodeAt(v) <= 32) v++;
          const d = text.charCodeAt(v);
          if (d === 45 || (d >= 48 && d <= 57)) {
            let w = v + 1;
            for (; w < n; w++) {
              const x = text.charCodeAt(w);
              if (!((x >= 48 && x <= 57) || x === 46 || x === 101 || x === 69 || x === 43 || x === 45)) break;
            }
            found = text.slice(v, w);
            p = w - 1;
            continue;
          }
          // Another kind of value replaces an earlier number (JSON.parse keeps the last).
          found = null;
        }
      }
      p = e - 1;
    } else if (c === LBRACE || c === LBRACKET) {
      depth++;
      atKey = depth === 1;
    } else if (c === RBRACE || c === RBRACKET) depth--;
    else if (c === COMMA && depth === 1) atKey = true;
  }
  return found;
}

/** Why a document is refused for the number text `raw` as its time `field` (the same words everywhere). */
export function numberTimeReason(raw: string, field = '@timestamp'): string {
  return `unparseable ${field} ${raw} (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped`;
}

/**
 * The time of a number written `raw` as Elasticsearch reads its text; a string (the reason) when
 * the text is no time although the value would be one (the document is refused); null when
 * neither reads, which the time check reports in its own words (as for any unreadable time).
 */
export function numberTextTime(raw: string, field = '@timestamp'): Instant | string | null {
  const t = textInstant(raw);
  if (t !== null) return t;
  return parseInstant(Number(raw)) === null ? null : numberTimeReason(raw, field);
}

// A time field other than @timestamp (`--timestamp-field event.ingested`) is found where the
// value's field access finds it (engine/fields.ts getField): at each object, the keys that spell
// the rest of the name are tried shortest first (`event` then `event.ingested`), a key's last
// member counting (as JSON.parse keeps it), and the first that holds the field wins. The lookup
// below walks the text the same way, so that the number read from its text is the one whose
// value the field access gives.

/** The lookup met an array on the way to a value: the field is multi-valued there (left to the value). */
const VIA_ARRAY = -1;

/** Index just past the JSON value starting at text[p] (which JSON.parse accepted). */
function valueEnd(text: string, p: number): number {
  const n = text.length;
  const c = text.charCodeAt(p);
  if (c === QUOTE) return stringEnd(text, p);
  if (c !== LBRACE && c !== LBRACKET) {
    let q = p;
    while (q < n) {
      const x = text.charCodeAt(q);
      if (x === COMMA || x === RBRACE || x === RBRACKET || x <= 32) break;
      q++;
    }
    return q;
  }
  let depth = 0;
  for (let q = p; q < n; q++) {
    const x = text.charCodeAt(q);
    if (x === QUOTE) q = stringEnd(text, q) - 1;
    else if (x === LBRACE || x === LBRACKET) depth++;
    else if ((x === RBRACE || x === RBRACKET) && --depth === 0) return q + 1;
  }
  return n;
}

function skipBlank(text: string, p: number): number {
  while (p < text.length && text.charCodeAt(p) <= 32) p++;
  return p;
}

/** The members of the object at text[p] ('{'): name → start of its value, the last of a name counting. */
function members(text: string, p: number): Map<string, number> {
  const out = new Map<string, number>();
  p = skipBlank(text, p + 1);
  while (text.charCodeAt(p) === QUOTE) {
    const e = stringEnd(text, p);
    const raw = text.slice(p + 1, e - 1);
    const name = raw.indexOf('\\') < 0 ? raw : (JSON.parse(text.slice(p, e)) as string);
    let v = skipBlank(text, e);
    v = skipBlank(text, v + 1); // past the colon
    out.set(name, v);
    p = skipBlank(text, valueEnd(text, v));
    if (text.charCodeAt(p) === COMMA) p = skipBlank(text, p + 1);
  }
  return out;
}

/**
 * Where the value of the field `parts[from…]` starts in the value at text[p], as getField finds
 * it: a start index, VIA_ARRAY (found through an array, a multi-valued field), or undefined
 * (not there). Recursion goes one level per name segment or array met: bounded by the name's
 * segments and the document's nesting (the splitter refuses documents nested deeper than
 * MAX_JSON_DEPTH).
 */
function fieldStart(text: string, p: number, parts: readonly string[], from: number): number | undefined {
  const c = text.charCodeAt(p);
  if (c === LBRACKET) {
    // getField collects every element's value (fromArray), nested arrays flattened: anything found
    // makes it multi-valued or picked out of an array, which is the value's to read, as before.
    // One pass over the whole nest of arrays, so that arrays nested deep are not scanned again
    // per level (a nest of 900 arrays around 10 MB took 27 s that way); strings and scalars hold
    // no field, and each object is looked into (one name segment further, at most) and skipped.
    let depth = 0;
    const n = text.length;
    for (let q = p; q < n; q++) {
      const x = text.charCodeAt(q);
      if (x === QUOTE) q = stringEnd(text, q) - 1;
      else if (x === LBRACKET) depth++;
      else if (x === RBRACKET) {
        if (--depth === 0) break;
      } else if (x === LBRACE) {
        const at = fieldStart(text, q, parts, from);
        if (at === VIA_ARRAY) return VIA_ARRAY;
        if (at !== undefined && !text.startsWith('null', at)) return VIA_ARRAY;
        q = valueEnd(text, q) - 1;
      }
    }
    return undefined;
  }
  if (c !== LBRACE) return undefined;
  const m = members(text, p);
  let key = '';
  for (let i = from; i < parts.length; i++) {
    key = i === from ? parts[i]! : key + '.' + parts[i]!;
    const v = m.get(key);
    if (v === undefined) continue;
    if (i === parts.length - 1) return v;
    const found = fieldStart(text, v, parts, i + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

// A field reached through an array, or holding one, is multi-valued: Elasticsearch's document
// parser hands every element of an array (arrays nested in arrays flattened, objects of an array
// walked for the rest of the name) to the field's mapper, and a date field parses each element's
// text like a single value's (DocumentParser.parseArray → parseValue → DateFieldMapper.parseCreateField,
// `parser().textOrNull()`). The walk below collects the texts of the numbers among the values that
// getField (engine/fields.ts) finds, in the order leafValues lists them, so that each number of a
// multi-valued field is read from its text too.

/** What getField finds at a step: nothing (undefined), null, or a value. */
const NOT_FOUND = 0;
const FOUND_NULL = 1;
const FOUND = 2;

/** Pushes the text of every number in the value at text[p]: the value itself, or an array's elements, nested arrays flattened (objects hold no leaf). */
function leafNumberTexts(text: string, p: number, out: string[]): void {
  const c = text.charCodeAt(p);
  if (c === 45 || (c >= 48 && c <= 57)) {
    out.push(text.slice(p, valueEnd(text, p)));
    return;
  }
  if (c !== LBRACKET) return;
  // One pass over the whole nest of arrays (see fieldStart): objects and strings skipped whole.
  let depth = 0;
  const n = text.length;
  for (let q = p; q < n; q++) {
    const x = text.charCodeAt(q);
    if (x === QUOTE) q = stringEnd(text, q) - 1;
    else if (x === LBRACKET) depth++;
    else if (x === RBRACKET) {
      if (--depth === 0) return;
    } else if (x === LBRACE) q = valueEnd(text, q) - 1;
    else if (x === 45 || (x >= 48 && x <= 57)) {
      const e = valueEnd(text, q);
      out.push(text.slice(q, e));
      q = e - 1;
    }
  }
}

/**
 * getField's lookup of `parts[from…]` in the value at text[p], collecting the texts of the numbers
 * it finds into `out`: at an object the keys that spell the rest of the name are tried shortest
 * first and the first that finds anything (null included) wins; an array finds what its elements
 * find, nulls dropped (fromArray), so it finds nothing when they find only null. Texts are pushed
 * only on the way to a found value. Recursion: one level per name segment (objects in arrays
 * included), as fieldStart.
 */
function collectField(text: string, p: number, parts: readonly string[], from: number, out: string[]): number {
  const c = text.charCodeAt(p);
  if (c === LBRACKET) {
    let found = NOT_FOUND;
    let depth = 0;
    const n = text.length;
    for (let q = p; q < n; q++) {
      const x = text.charCodeAt(q);
      if (x === QUOTE) q = stringEnd(text, q) - 1;
      else if (x === LBRACKET) depth++;
      else if (x === RBRACKET) {
        if (--depth === 0) break;
      } else if (x === LBRACE) {
        if (collectField(text, q, parts, from, out) === FOUND) found = FOUND;
        q = valueEnd(text, q) - 1;
      }
    }
    return found;
  }
  if (c !== LBRACE) return NOT_FOUND;
  const m = members(text, p);
  let key = '';
  for (let i = from; i < parts.length; i++) {
    key = i === from ? parts[i]! : key + '.' + parts[i]!;
    const v = m.get(key);
    if (v === undefined) continue;
    if (i === parts.length - 1) {
      if (text.startsWith('null', v)) return FOUND_NULL;
      leafNumberTexts(text, v, out);
      return FOUND;
    }
    const found = collectField(text, v, parts, i + 1, out);
    if (found !== NOT_FOUND) return found;
  }
  return NOT_FOUND;
}

/**
 * The texts of the numbers among the values of `field` in the document `text` (one JSON object
 * that JSON.parse accepted), through arrays too, in the order of leafValues(getField(doc, field));
 * null when the field is not found. `from`: where the document starts in `text`.
 */
export function fieldNumberTexts(text: string, field: string, from = 0): string[] | null {
  const p = skipBlank(text, from);
  if (text.charCodeAt(p) !== LBRACE) return null;
  const out: string[] = [];
  return collectField(text, p, field.split('.'), 0, out) === FOUND ? out : null;
}

/**
 * The number an event's time is read from in the value `v` of its time field, if any: `v` itself,
 * or for an array the first element's, as parseInstant reads an array by its first element.
 */
export function timeNumber(v: unknown): number | undefined {
  while (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    v = v[0];
  }
  return typeof v === 'number' ? v : undefined;
}

/**
 * The text of the number `value` among a multi-valued field's numbers (`texts`, from
 * fieldNumberTexts) when it is their first: the time field of an event is read from its first
 * value (parseInstant), which is that number when it is one.
 */
function firstNumberText(texts: readonly string[] | null, value: number): string | null {
  return texts !== null && texts.length > 0 && Number(texts[0]) === value ? texts[0]! : null;
}

/**
 * The time of the number `value` that `field` holds in the document `text` (one JSON object, which
 * JSON.parse accepted), read from the number's text as Elasticsearch reads it: an Instant; a
 * string, the reason the document is refused (see numberTextTime); null when the time is the
 * value's to give (no number text found). `value` is the number the event's time is read from:
 * the field's value, or its first when the field is multi-valued (an array, or reached through
 * one), whose text is then the first of its numbers'. `path` is where the field is in `text` when
 * that is not the document itself (`_source.` + field in a search hit).
 */
export function fieldNumberTime(text: string, field: string, value: number, path = field, from = 0): Instant | string | null {
  const raw = numberTextOfValue(text, path, value, from);
  return raw === null ? null : numberTextTime(raw, field);
}

/**
 * The text of the number `value` that `path` gives in `text` (its value, or its first when it is
 * multi-valued), or null. The common case, a number reached without an array, in one pass; else
 * the multi-valued walk. The text is the same member as the value's by construction; checked, as
 * a mismatch would give the wrong time where the value gives the right one.
 */
function numberTextOfValue(text: string, path: string, value: number, from: number): string | null {
  const raw = fieldNumberText(text, path, from) ?? firstNumberText(fieldNumberTexts(text, path, from), value);
  return raw === null || Number(raw) !== value ? null : raw;
}

/**
 * The text of the number that getField(JSON.parse(text), field) gives, `text` being one JSON object
 * JSON.parse accepted; null when the field is not a number there, or is one only through an array
 * on its path (`{"event":[{"ingested":…}]}`: a multi-valued field, read as its value).
 */
export function fieldNumberText(text: string, field: string, from = 0): string | null {
  // A field of one segment is a top-level member: found in one pass without a map of members.
  if (from === 0 && field.indexOf('.') < 0) return topLevelNumberText(text, field);
  const p = skipBlank(text, from);
  if (text.charCodeAt(p) !== LBRACE) return null;
  const at = fieldStart(text, p, field.split('.'), 0);
  if (at === undefined || at === VIA_ARRAY) return null;
  const d = text.charCodeAt(at);
  if (d !== 45 && !(d >= 48 && d <= 57)) return null;
  return text.slice(at, valueEnd(text, at));
}

/**
 * The texts of the numbers that `fields` hold in `doc`, found in `text` (where each is `path` +
 * the field: `path` is '' for a document, `_source.` for a hit): what a date field of
 * Elasticsearch reads (EventDoc.numberTexts). A field holding one number gets its text; one
 * holding several values (an array, or reached through one) gets the texts of its numbers, in
 * the order of leafValues. Undefined when none of them is a number whose text was found.
 */
export function numberTextsOf(
  text: string,
  doc: Record<string, unknown>,
  fields: readonly string[],
  gets: readonly ((source: Record<string, unknown>) => unknown)[],
  path: string,
  from = 0,
): Record<string, string | readonly string[]> | undefined {
  let out: Record<string, string | readonly string[]> | undefined;
  for (let k = 0; k < fields.length; k++) {
    const v = gets[k]!(doc);
    if (typeof v === 'number') {
      // A number reached through an array (`{"event":[{"ingested":…}]}`) is the array's one value.
      const raw = numberTextOfValue(text, path + fields[k]!, v, from);
      if (raw === null) continue;
      (out ??= {})[fields[k]!] = raw;
    } else if (Array.isArray(v)) {
      const nums = leafValues(v).filter((x) => typeof x === 'number');
      if (nums.length === 0) continue;
      const raws = fieldNumberTexts(text, path + fields[k]!, from);
      // Checked number by number: any mismatch leaves the field to its values.
      if (raws === null || raws.length !== nums.length || raws.some((r, i) => Number(r) !== nums[i])) continue;
      (out ??= {})[fields[k]!] = raws;
    }
  }
  return out;
}

/** Whether `v` is, or holds at some depth of arrays, a number: a value whose text numberTextsOf looks up. */
export function holdsNumberValue(v: unknown): boolean {
  if (typeof v === 'number') return true;
  if (!Array.isArray(v)) return false;
  for (const x of v) if (holdsNumberValue(x)) return true;
  return false;
}

/** What numberTextReader gives: the texts of a document's numbers in some fields, or undefined. */
export type NumberTextReader = (text: string, doc: Record<string, unknown>) => Record<string, string | readonly string[]> | undefined;

/**
 * numberTextsOf for the documents of `eqlite serve`, whose JSON text (`text`, the document alone)
 * is at hand where they are parsed or read back: undefined at the cost of one field read per
 * field for a document holding no number there (nearly all). Null when there are no fields.
 */
export function numberTextReader(fields: readonly string[]): NumberTextReader | null {
  if (fields.length === 0) return null;
  const gets = fields.map((f) => fieldAccessor(f));
  return (text, doc) => {
    for (const get of gets) {
      const v = get(doc);
      if (typeof v === 'number' || (typeof v === 'object' && v !== null && holdsNumberValue(v))) return numberTextsOf(text, doc, fields, gets, '');
    }
    return undefined;
  };
}

/**
 * The timestamp_override fields of `eqlite serve`'s rules whose numbers it reads from their text:
 * all but @timestamp (ingest reads it so itself) and event.ingested (which serve sets).
 */
export function serveNumberFields(overrides: Iterable<string | undefined>): string[] {
  const out = new Set<string>();
  for (const f of overrides) if (f && f !== '@timestamp' && f !== 'event.ingested') out.add(f);
  return [...out];
}

/**
 * The time a rule's window filter finds in its timestamp_override field (Kibana's
 * buildTimeRangeFilter: a range on the field, else — `must_not exists` — on @timestamp), given the
 * field's value and, for a number, its text (EventDoc.numberTexts, when the reader found it).
 * Elasticsearch's date field parses the text (DateFieldMapper.parseCreateField reads
 * `parser().textOrNull()` with `strict_date_optional_time||epoch_millis`), so a number's text is
 * read like a string's. Null when the field holds no time: absent, null, or a value the format
 * does not read — which a logs data stream's date field ignores (`logs@settings` sets
 * `index.mapping.ignore_malformed`, for every field but the data stream's @timestamp), leaving the
 * document without a value there, so that the fallback to @timestamp applies. (A single value:
 * see overrideTimes for every value of a multi-valued field.)
 */
export function overrideInstant(value: unknown, text: string | undefined): Instant | null {
  if (value === undefined || value === null) return null;
  return parseInstant(typeof value === 'number' && text !== undefined ? text : value);
}

/**
 * Every time (epoch ms) a rule's window filter finds in its timestamp_override field: one number
 * for a single value (the common case, no array made), ascending numbers for several, null for
 * none (then the fallback to @timestamp applies). Elasticsearch indexes each value of a
 * multi-valued date field on its own — one the format does not read is ignored alone under
 * ignore_malformed (DateFieldMapper.parseCreateField returns for that value only), the others
 * are kept — and a range query matches a document by any of its values, so a run's window holds
 * the event when any of its times is in it, and `exists` (the fallback's test) is true when one
 * is left. `texts`: EventDoc.numberTexts of the field (a string for one number, the numbers'
 * texts in leafValues order for several); numbers without them are read by value.
 */
export function overrideTimes(value: unknown, texts: string | readonly string[] | undefined): number | number[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) {
    const t = parseInstant(typeof value === 'number' && typeof texts === 'string' ? texts : value);
    return t === null ? null : t.ms;
  }
  const leaves = leafValues(value);
  const numberTexts = Array.isArray(texts) ? (texts as readonly string[]) : null;
  const out: number[] = [];
  let j = 0;
  for (const x of leaves) {
    // Objects and booleans are no date to the field (malformed, ignored); arrays are flattened.
    if (typeof x !== 'string' && typeof x !== 'number') continue;
    const t = parseInstant(typeof x === 'number' && numberTexts !== null ? numberTexts[j++]! : x);
    if (t !== null) out.push(t.ms);
  }
  if (out.length === 0) return null;
  if (out.length === 1) return out[0]!;
  return out.sort((a, b) => a - b);
}

/**
 * The values of a timestamp_override field as a worker sends them (ForwardedColumns.fv): each
 * number whose text the reader found replaced by that text, which the main thread reads as
 * Elasticsearch reads the number (overrideTimes reads a string as the date field reads a text).
 */
export function overrideWireValue(value: unknown, texts: string | readonly string[] | undefined): unknown {
  if (texts === undefined) return value;
  if (typeof value === 'number') return typeof texts === 'string' ? texts : value;
  if (!Array.isArray(value) || typeof texts === 'string') return value;
  let j = 0;
  return leafValues(value).map((x) => (typeof x === 'number' ? texts[j++] : x));
}

/**
 * Where each element of a search response's `hits.hits` starts in `text` (one JSON object that
 * JSON.parse accepted, whose `hits.hits` the reader took as the hits: the last member of each
 * name, as JSON.parse keeps), so that each hit's numbers are read from their text as a single
 * hit's are (`from` of fieldNumberTime and numberTextsOf); null when that is not an array.
 * Offsets, not copies: a response of many megabytes is not held twice.
 */
export function searchHitStarts(text: string): number[] | null {
  const hits = responseHits(text);
  if (hits === null) return null;
  const arr = members(text, hits).get('hits');
  return arr === undefined ? null : elementStarts(text, arr);
}

/**
 * Where each event of a saved EQL search response starts in `text` (one JSON object that
 * JSON.parse accepted, taken by the reader as such a response), grouped as the reader walks them:
 * [0] the elements of `hits.events` (an event query's), then one group per element of
 * `hits.sequences` (a sequence or sample query's): the elements of its `events`. A group is empty
 * where that member is absent or no array; the last member of each name counts, as JSON.parse
 * keeps it. Null when `hits` is no object. Offsets, not copies, as searchHitStarts.
 */
export function eqlHitStarts(text: string): number[][] | null {
  const hits = responseHits(text);
  if (hits === null) return null;
  const m = members(text, hits);
  const events = m.get('events');
  const out: number[][] = [events === undefined ? [] : (elementStarts(text, events) ?? [])];
  const sequences = m.get('sequences');
  const seqs = sequences === undefined ? null : elementStarts(text, sequences);
  if (seqs !== null) {
    for (const s of seqs) {
      const e = text.charCodeAt(s) === LBRACE ? members(text, s).get('events') : undefined;
      out.push(e === undefined ? [] : (elementStarts(text, e) ?? []));
    }
  }
  return out;
}

/** Where the value of the top-level member `hits` starts in `text`, when it is an object; else null. */
function responseHits(text: string): number | null {
  const p = skipBlank(text, 0);
  if (text.charCodeAt(p) !== LBRACE) return null;
  const hits = members(text, p).get('hits');
  return hits === undefined || text.charCodeAt(hits) !== LBRACE ? null : hits;
}

/** Where each element of the array at text[p] starts; null when the value there is no array. */
function elementStarts(text: string, p: number): number[] | null {
  if (text.charCodeAt(p) !== LBRACKET) return null;
  const out: number[] = [];
  let q = skipBlank(text, p + 1);
  while (q < text.length && text.charCodeAt(q) !== RBRACKET) {
    out.push(q);
    q = skipBlank(text, valueEnd(text, q));
    if (text.charCodeAt(q) === COMMA) q = skipBlank(text, q + 1);
  }
  return out;
}
