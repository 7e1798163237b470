// Timestamps: ISO 8601 with any offset, or epoch numbers, kept to the nanosecond.
// A JS number cannot hold epoch nanoseconds exactly (2^53 < 1.7e18), so a time is two numbers:
// whole epoch milliseconds (UTC) and the nanoseconds within that millisecond.

export interface Instant {
  /** Epoch milliseconds, an integer (floor). */
  ms: number;
  /** Nanoseconds within the millisecond, 0..999999. */
  ns: number;
}

const ISO =
  /^([+-]?\d{4,6})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Reads a timestamp value: a number or numeric string is epoch milliseconds (fractions keep
 * sub-millisecond precision); a string is ISO 8601 (missing offset means UTC, as in ES).
 * Returns null when the value is not a time.
 */
export function parseInstant(value: unknown): Instant | null {
  if (typeof value === 'number') return Number.isFinite(value) ? fromMillis(value) : null;
  if (typeof value === 'bigint') return fromMillis(Number(value));
  if (typeof value !== 'string') {
    if (Array.isArray(value) && value.length > 0) return parseInstant(value[0]);
    return null;
  }
  const fast = utcInstant(value);
  if (fast !== null) return fast;
  const s = value.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(s)) {
    const dot = s.indexOf('.');
    if (dot < 0) return fromMillis(Number(s));
    const ms = Number(s.slice(0, dot));
    const frac = (s.slice(dot + 1) + '000000').slice(0, 6);
    const ns = Number(frac);
    return ms < 0 && ns > 0 ? { ms: ms - 1, ns: 1_000_000 - ns } : { ms, ns };
  }
  const m = ISO.exec(s);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] ? Number(m[4]) : 0;
  const minute = m[5] ? Number(m[5]) : 0;
  const second = m[6] ? Number(m[6]) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) return null;
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
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offMin = Number(digits.slice(0, 2)) * 60 + (digits.length > 2 ? Number(digits.slice(2, 4)) : 0);
    ms -= sign * offMin * 60_000;
  }
  return Number.isFinite(ms) ? { ms, ns } : null;
}

/** The day utcInstant read last (year * 10,000 + month * 100 + day) and its epoch milliseconds. */
let lastDay = -1;
let lastDayMs = 0;

/**
 * The form nearly every event's `@timestamp` has, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a year of
 * 0100–9999, read character by character (the regular expression, its captures and their
 * conversions were about 1.5% of a worker's CPU in an all-rules hunt); null for any other form,
 * which the general parse reads. Gives what the general parse gives for the same text: Date.UTC
 * is linear in hours, minutes and seconds (hour 24 and second 60 roll over alike), so the day's
 * milliseconds, remembered while the day does not change, plus the time of day are the same sum.
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
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 24 || minute < 0 || minute > 59 || second < 0 || second > 60) return null;
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
 * `"2017-08-30T20:47:33Z"` covers that whole second, `"…33.510Z"` that millisecond, and an
 * epoch-millis number that millisecond. Equality on a date field means "inside the span".
 */
export function parseInstantSpan(value: unknown): { lo: Instant; hi: Instant } | null {
  const lo = parseInstant(value);
  if (!lo) return null;
  let widthNs = 1_000_000;
  if (typeof value === 'string') {
    const m = ISO.exec(value.trim());
    if (m) {
      if (m[7]) widthNs = 10 ** (9 - m[7].length);
      else if (m[6]) widthNs = 1e9;
      else if (m[5]) widthNs = 60e9;
      else if (m[4]) widthNs = 3600e9;
      else widthNs = 86400e9;
    } else if (value.includes('.')) widthNs = 1;
  } else if (typeof value === 'number' && !Number.isInteger(value)) widthNs = 1;
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
