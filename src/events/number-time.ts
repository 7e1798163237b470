// A JSON number as @timestamp, read from its text as Elasticsearch reads it. Its date field parses
// the text of a JSON number (Jackson's getText) with `strict_date_optional_time||epoch_millis`:
// `1.7e12`, `17E11` and more than six decimals are no time to it (the document is refused at
// index time), `1741593600123.456789` is that many nanoseconds (the nearest double is not), and
// `2024.0` is 2,024 ms where the value 2024 would be a year. JSON.parse keeps only the value, so
// the readers look the number up in the document's text, whatever its shape (one line,
// pretty-printed, an array element): the same document gets the same time or refusal.
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

/** Why a document is refused for the number text `raw` as its @timestamp (the same words everywhere). */
export function numberTimeReason(raw: string): string {
  return `unparseable @timestamp ${raw} (Elasticsearch reads a number as its text: epoch milliseconds take no exponent and at most six decimals); skipped`;
}

/**
 * The time of a number written `raw` as Elasticsearch reads its text; a string (the reason) when
 * the text is no time although the value would be one (the document is refused); null when
 * neither reads, which the time check reports in its own words (as for any unreadable time).
 */
export function numberTextTime(raw: string): Instant | string | null {
  const t = textInstant(raw);
  if (t !== null) return t;
  return parseInstant(Number(raw)) === null ? null : numberTimeReason(raw);
}
