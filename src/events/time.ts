// Timestamps: ISO 8601 with any offset, or epoch numbers, kept to the nanosecond.
// A JS number cannot hold epoch nanoseconds exactly (2^53 < 1.7e18), so a time is two numbers:
// whole epoch milliseconds (UTC) and the nanoseconds within that millisecond.

import { namedZoneOffsetMs } from './zones.js';

export interface Instant {
  /** Epoch milliseconds, an integer (floor). */
  ms: number;
  /** Nanoseconds within the millisecond, 0..999999. */
  ns: number;
}

// Elasticsearch's default date mapping is `strict_date_optional_time||epoch_millis`: its
// ISO 8601 parser runs first (Iso8601Parser, then the java.time formatter, both with the STRICT
// resolver), epoch milliseconds second. What it accepts, and so what this grammar accepts:
// - a year of exactly 4 digits, optionally negative (no `+`, no 5-digit years), then optionally
//   `-MM`, then `-DD`, then `T` (upper case only) and optionally `HH`, `:mm`, `:ss`, and a
//   fraction of 1–9 digits after `.` or `,`;
// - an offset only after the hour: `Z` (upper case), `±HH`, `±HH:MM`, `±HHMM`, `±HH:MM:SS` or
//   `±HHMMSS` (hours ≤ 23, minutes and seconds ≤ 59, at most 18:00 in all), or a zone by name as
//   java.time's ZoneId.of reads it (`UTC`, `GMT+01:00`, `Europe/Paris`: see zones.ts);
// - no blanks anywhere, no space for the `T`, no hour 24, no second 60 and no day past the
//   month's end (Feb 29 only in leap years of the proleptic Gregorian calendar): the STRICT
//   resolver refuses what Date.UTC would roll over. A document with such an @timestamp is
//   refused at index time, so it never reaches a rule.
const ISO =
  /^(-?\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(?:(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::\d{2}(?::\d{2})?|\d{2}(?:\d{2})?)?|[A-Za-z][A-Za-z0-9~/._+:-]+)?)?)?)?)?$/;

/** Epoch milliseconds as text: digits, optionally negative, then optionally `.` and 0–6 digits. */
const EPOCH_MILLIS = /^-?\d{1,19}(?:\.\d{0,6})?$/;

/** The largest epoch milliseconds a JS Date holds (±100,000,000 days): beyond it a time is not read. */
const MAX_MS = 8.64e15;

/** Days in a month (1–12) of a proleptic Gregorian year. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Whether date and time fields name a time Elasticsearch's STRICT resolver accepts: no month 13,
 * no day past the month's end, no hour 24, no second 60 (what Date.UTC would roll over). A field
 * a fast path could not read as digits is negative, and refused too.
 */
export function strictFields(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  return (
    month >= 1 && month <= 12 && day >= 1 && (day <= 28 || day <= daysInMonth(year, month)) &&
    hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59
  );
}

/** Whether a number is a year to Elasticsearch, which parses a number's text: four digits are. */
function isYearNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 1000 && Math.abs(v) <= 9999;
}

/**
 * Reads a timestamp value as Elasticsearch's default date mapping does: a string in its ISO 8601
 * form (missing offset means UTC), else epoch milliseconds as text (fractions keep
 * sub-millisecond precision); a number is read as its text would be, so 4 digits are a year
 * (`2024` is 2024-01-01, as in Elasticsearch) and others are epoch milliseconds. Returns null
 * when the value is not a time Elasticsearch would index.
 */
export function parseInstant(value: unknown): Instant | null {
  if (typeof value === 'number') return numberInstant(value);
  if (typeof value === 'bigint') return numberInstant(Number(value));
  if (typeof value !== 'string') {
    if (Array.isArray(value) && value.length > 0) return parseInstant(value[0]);
    return null;
  }
  return utcInstant(value) ?? textInstant(value);
}

/** A string read by the general grammar alone (the fast path's tests compare against it). */
export function textInstant(value: string): Instant | null {
  const m = ISO.exec(value);
  if (m) return isoFields(m);
  if (!EPOCH_MILLIS.test(value)) return null;
  const dot = value.indexOf('.');
  if (dot < 0) return inRange(fromMillis(Number(value)));
  const ms = Number(value.slice(0, dot));
  const ns = Number((value.slice(dot + 1) + '000000').slice(0, 6));
  // -1.5 is 1.5 ms before the epoch: the whole part goes one further down, the fraction counts up.
  return inRange(value.charCodeAt(0) === 45 && ns > 0 ? { ms: ms - 1, ns: 1_000_000 - ns } : { ms, ns });
}

function numberInstant(v: number): Instant | null {
  if (!Number.isFinite(v)) return null;
  // Elasticsearch parses a number's text: four digits are a year to its ISO parser.
  if (isYearNumber(v)) return isoFields(ISO.exec(String(v))!);
  return inRange(fromMillis(v));
}

function inRange(t: Instant): Instant | null {
  return t.ms >= -MAX_MS && t.ms <= MAX_MS ? t : null;
}

/** The instant of an ISO match, or null when a field is out of its range (Elasticsearch's STRICT resolver). */
function isoFields(m: RegExpExecArray): Instant | null {
  const year = Number(m[1]);
  const month = m[2] ? Number(m[2]) : 1;
  const day = m[3] ? Number(m[3]) : 1;
  const hour = m[4] ? Number(m[4]) : 0;
  const minute = m[5] ? Number(m[5]) : 0;
  const second = m[6] ? Number(m[6]) : 0;
  if (!strictFields(year, month, day, hour, minute, second)) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (year >= 0 && year < 100) {
    const d = new Date(ms);
    d.setUTCFullYear(year);
    ms = d.getTime();
  }
  let ns = 0;
  if (m[7]) {
    const frac = (m[7] + '000000000').slice(0, 9);
    ms += Number(frac.slice(0, 3));
    ns = Number(frac.slice(3));
  }
  const zone = m[8];
  if (zone && zone.charCodeAt(0) !== 43 && zone.charCodeAt(0) !== 45 && zone !== 'Z') {
    const off = namedZoneOffsetMs(zone, ms);
    return off === null ? null : { ms: ms - off, ns };
  }
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replaceAll(':', '');
    const h = Number(digits.slice(0, 2));
    const mi = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    const se = digits.length > 4 ? Number(digits.slice(4, 6)) : 0;
    const off = h * 3600 + mi * 60 + se;
    if (h > 23 || mi > 59 || se > 59 || off > 18 * 3600) return null;
    ms -= (zone[0] === '-' ? -1 : 1) * off * 1000;
  }
  return { ms, ns };
}

/** The day utcInstant read last (year * 10,000 + month * 100 + day) and its epoch milliseconds. */
let lastDay = -1;
let lastDayMs = 0;

/**
 * The form nearly every event's `@timestamp` has, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a year of
 * 0100–9999, read character by character (the regular expression, its captures and their
 * conversions were about 1.5% of a worker's CPU in an all-rules hunt); null for any other form,
 * which the general parse reads. Gives what the general parse gives for the same text (null for
 * hour 24, second 60 or a day past the month's end, as Elasticsearch refuses them): Date.UTC is
 * linear in hours, minutes and seconds, so the day's milliseconds, remembered while the day does
 * not change, plus the time of day are the same sum.
 */
function utcInstant(v: string): Instant | null {
  const n = v.length;
  if (n < 20 || v.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return null;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 7);
  const day = digits(v, 8, 10);
  const hour = digits(v, 11, 13);
  const minute = digits(v, 14, 16);
  const second = digits(v, 17, 19);
  if (year < 100 || !strictFields(year, month, day, hour, minute, second)) return null;
  let fraction = 0;
  if (n > 20) {
    // `.` then 1 to 9 digits, then the Z.
    const places = n - 21;
    if (v.charCodeAt(19) !== 46 || places < 1 || places > 9) return null;
    fraction = digits(v, 20, n - 1);
    if (fraction < 0) return null;
    for (let k = places; k < 9; k++) fraction *= 10;
  } else if (n !== 20) return null;
  const key = year * 10_000 + month * 100 + day;
  if (key !== lastDay) {
    lastDayMs = Date.UTC(year, month - 1, day);
    lastDay = key;
  }
  const sub = fraction % 1_000_000;
  return { ms: lastDayMs + hour * 3_600_000 + minute * 60_000 + second * 1000 + (fraction - sub) / 1_000_000, ns: sub };
}

/** The decimal number v[from, to) spells (at most 9 digits), or -1 when a character is not a digit. */
function digits(v: string, from: number, to: number): number {
  let x = 0;
  for (let i = from; i < to; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}

function fromMillis(v: number): Instant {
  const ms = Math.floor(v);
  return { ms, ns: Math.round((v - ms) * 1e6) };
}

/** Orders two instants. */
export function compareInstants(a: Instant, b: Instant): number {
  return a.ms - b.ms || a.ns - b.ns;
}

/** ISO 8601 UTC rendering; 3, 6 or 9 fractional digits depending on the precision held. */
export function formatInstant(t: Instant): string {
  const iso = new Date(t.ms).toISOString();
  if (t.ns === 0) return iso;
  const sub = String(t.ns).padStart(6, '0');
  const trimmed = sub.endsWith('000') ? sub.slice(0, 3) : sub;
  return iso.slice(0, -1) + trimmed + 'Z';
}

/**
 * The span of time a date literal denotes, as Elasticsearch's date parsing with rounding sees it:
 * `"2017-08-30T20:47:33Z"` covers that whole second, `"…33.510Z"` that millisecond, `"2024-02"`
 * that month, `"2024"` (or 2024) that year, and an epoch-millis number that millisecond. Equality
 * on a date field means "inside the span".
 */
export function parseInstantSpan(value: unknown): { lo: Instant; hi: Instant } | null {
  const lo = parseInstant(value);
  if (!lo) return null;
  const text = isYearNumber(value) ? String(value) : value;
  let widthNs = 1_000_000;
  if (typeof text === 'string') {
    const m = ISO.exec(text);
    if (m) {
      if (m[7]) widthNs = 10 ** (9 - m[7].length);
      else {
        // Whole units from a whole second up: no sub-millisecond part to carry.
        const year = Number(m[1]);
        const days = m[3] ? 1 : m[2] ? daysInMonth(year, Number(m[2])) : daysInMonth(year, 2) + 337;
        const widthMs = m[6] ? 1000 : m[5] ? 60_000 : m[4] ? 3_600_000 : days * 86_400_000;
        return { lo, hi: { ms: lo.ms + widthMs - 1, ns: 999_999 } };
      }
    } else if (text.includes('.')) widthNs = 1;
  } else if (typeof text === 'number' && !Number.isInteger(text)) widthNs = 1;
  return { lo, hi: addNanos(lo, widthNs - 1) };
}

function addNanos(t: Instant, nanos: number): Instant {
  const total = t.ns + nanos;
  const carryMs = Math.floor(total / 1_000_000);
  return { ms: t.ms + carryMs, ns: total - carryMs * 1_000_000 };
}

/**
 * An event's time by `field`: the instant the ordering stage already parsed when it ordered by the
 * same field, else parsed from the source through `read`.
 */
export function eventInstant(
  ev: { source: Record<string, unknown>; time?: Instant; timeField?: string },
  field: string,
  read: (source: Record<string, unknown>) => unknown,
): Instant | null {
  return ev.time && ev.timeField === field ? ev.time : parseInstant(read(ev.source));
}
