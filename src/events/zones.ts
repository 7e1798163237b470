// Time zones given by name after an ISO 8601 time (`2025-03-10T08:00:00Europe/Paris`), as
// Elasticsearch's date parsing reads them: its Iso8601Parser hands any zone that starts with a
// letter (other than a lone `Z`) to java.time's ZoneId.of, which takes `UTC`, `GMT` and `UT`
// alone or followed by an offset (`GMT+1`, `UTC-05:30`), and the region ids of the tz database
// (`Europe/Paris`, `EST`, `Etc/GMT+5`), spelt exactly. A region's offset at a local time is
// java.time's: in a gap (spring forward) the time is moved later by the gap's length, in an
// overlap (fall back) the earlier offset wins. Node's ICU holds the same tz database.

/** ZoneId.of's offset after `UTC`/`GMT`/`UT`: ±h, ±hh, ±hhmm, ±hh:mm, ±hhmmss or ±hh:mm:ss. */
const PREFIXED = /^(?:UTC|GMT|UT)(?:([+-])(\d{1,2})(?:(:?)(\d{2})(?:\3(\d{2}))?)?)?$/;

/**
 * Three-letter names ICU takes that the tz database (and so java.time) does not: Java keeps them
 * in ZoneId.SHORT_IDS, which ZoneId.of does not consult.
 */
const TZDB_THREE_LETTER = new Set(['EST', 'MST', 'HST', 'CET', 'EET', 'MET', 'WET', 'UCT']);

/** Formatters per zone name; names come from data, so the map is bounded. */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 256;

/**
 * The offset (ms, local minus UTC) of the zone named `name` at the local wall time `localMs`
 * (the wall clock read as if UTC), or null when java.time's ZoneId.of does not know the name.
 */
export function namedZoneOffsetMs(name: string, localMs: number): number | null {
  const fixed = PREFIXED.exec(name);
  if (fixed) {
    if (fixed[1] === undefined) return 0;
    // `+h` is one digit alone; a colon needs two-digit hours (ZoneOffset.of's lengths).
    if (fixed[2]!.length === 1 && fixed[4] !== undefined) return null;
    if (fixed[3] === ':' && fixed[2]!.length !== 2) return null;
    const h = Number(fixed[2]);
    const m = fixed[4] ? Number(fixed[4]) : 0;
    const sec = fixed[5] ? Number(fixed[5]) : 0;
    if (h > 18 || m > 59 || sec > 59 || h * 3600 + m * 60 + sec > 18 * 3600) return null;
    return (fixed[1] === '-' ? -1 : 1) * (h * 3600 + m * 60 + sec) * 1000;
  }
  if (name.length === 3 && /^[A-Z]{3}$/.test(name) && !TZDB_THREE_LETTER.has(name)) return null;
  const fmt = formatterOf(name);
  if (fmt === null) return null;
  // The offsets a day before and after bracket any one transition.
  const before = offsetAt(fmt, localMs - 86_400_000);
  if (before === null) return null;
  if (offsetAt(fmt, localMs - before) === before) return before;
  const after = offsetAt(fmt, localMs + 86_400_000);
  if (after !== null && offsetAt(fmt, localMs - after) === after) return after;
  // A gap: the local time does not exist; read with the offset before it, it lands later by the gap.
  return before;
}

function formatterOf(name: string): Intl.DateTimeFormat | null {
  const known = formatters.get(name);
  if (known) return known;
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return null;
  }
  // ICU matches names without regard to case; the tz database (and java.time) does not. An alias
  // resolves to another name and is taken as written.
  const resolved = fmt.resolvedOptions().timeZone;
  if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) return null;
  if (formatters.size >= MAX_FORMATTERS) formatters.clear();
  formatters.set(name, fmt);
  return fmt;
}

/** The zone's offset (ms) at the instant `t`, to the second; null outside what Intl can format. */
function offsetAt(fmt: Intl.DateTimeFormat, t: number): number | null {
  if (!(Math.abs(t) <= 8.64e15)) return null;
  const whole = Math.floor(t / 1000) * 1000;
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of fmt.formatToParts(whole)) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value);
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value === 'BC';
        break;
    }
  }
  // Eras count 1 BC as year 0 of the proleptic calendar.
  const y = bc ? 1 - year : year;
  const d = new Date(0);
  d.setUTCFullYear(y, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  const local = d.getTime();
  return Number.isFinite(local) ? local - whole : null;
}
