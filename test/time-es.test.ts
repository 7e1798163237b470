import { describe, expect, it } from 'vitest';
import { parseInstant, parseInstantSpan } from '../src/events/time.js';

// What Elasticsearch's default date mapping (`strict_date_optional_time||epoch_millis`) indexes,
// read from its sources: Iso8601Parser (hours ≤ 23, seconds ≤ 59, `T` and `Z` upper case, offsets
// ±HH[[:]MM[[:]SS]] up to 18:00), then the java.time formatter with the STRICT resolver (a day
// past the month's end is refused), then epoch milliseconds. A value it refuses makes the
// document fail at index time; parseInstant gives null for it, and every input skips and
// reports such an event as it does any event without a usable time.
describe('parseInstant reads what Elasticsearch indexes, to the nanosecond', () => {
  it('refuses the values Date.UTC would roll over', () => {
    for (const t of [
      '2025-03-10T24:00:00Z',
      '2025-03-10T24:00:00.000Z',
      '2025-03-10T24:00Z',
      '2025-03-10T23:59:60Z',
      '2016-12-31T23:59:60.5Z',
      '2025-02-30T00:00:00Z',
      '2025-02-31',
      '2025-04-31T00:00:00+02:00',
      '2025-06-31T00:00:00',
      '2025-09-31T12:00:00.123456Z',
      '2025-11-31T00:00:00Z',
      '2025-00-10T00:00:00Z',
      '2025-03-00T00:00:00Z',
      '2025-03-32T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-03-10T08:60:00Z',
    ]) {
      expect(parseInstant(t), t).toBeNull();
    }
  });

  it('knows leap years of the proleptic Gregorian calendar', () => {
    expect(parseInstant('2024-02-29T00:00:00Z')).toEqual({ ms: 1709164800000, ns: 0 });
    expect(parseInstant('2024-02-29')).toEqual({ ms: 1709164800000, ns: 0 });
    expect(parseInstant('2000-02-29T12:00:00+01:00')).toEqual({ ms: 951822000000, ns: 0 });
    expect(parseInstant('2100-02-29T00:00:00Z')).toBeNull();
    expect(parseInstant('1900-02-29T00:00:00Z')).toBeNull();
    expect(parseInstant('2023-02-29T00:00:00Z')).toBeNull();
    expect(parseInstant('2100-02-28T23:59:59.999999999Z')).toEqual({ ms: 4107542399999, ns: 999999 });
    expect(parseInstant('0004-02-29T00:00:00Z')).toEqual({ ms: -62035891200000, ns: 0 });
  });

  it('reads the last nanosecond of a day, and the first of the next', () => {
    expect(parseInstant('2025-03-10T23:59:59.999999999Z')).toEqual({ ms: 1741651199999, ns: 999999 });
    expect(parseInstant('2025-03-10T23:59:59,999999999Z')).toEqual({ ms: 1741651199999, ns: 999999 });
    expect(parseInstant('2025-03-11T00:00:00Z')).toEqual({ ms: 1741651200000, ns: 0 });
    expect(parseInstant('2025-03-10T23:59:59.9999999999Z')).toBeNull();
  });

  it('reads offsets up to ±18:00 in every form Elasticsearch takes', () => {
    // 08:00 at +14:00 is 18:00 UTC the day before; at -12:00 it is 20:00 UTC.
    expect(parseInstant('2025-03-10T08:00:00+14:00')).toEqual({ ms: 1741543200000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00-12:00')).toEqual({ ms: 1741636800000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00+18:00')).toEqual({ ms: 1741528800000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00-18:00')).toEqual({ ms: 1741658400000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00+05:30')).toEqual({ ms: 1741573800000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00+0530')).toEqual({ ms: 1741573800000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00+05')).toEqual({ ms: 1741575600000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00+05:30:15')).toEqual({ ms: 1741573785000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00+053015')).toEqual({ ms: 1741573785000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.5-00:30')).toEqual({ ms: 1741595400500, ns: 0 });
    expect(parseInstant('2025-03-10T08+01:00')).toEqual({ ms: 1741590000000, ns: 0 });
    for (const t of [
      '2025-03-10T08:00:00+18:01',
      '2025-03-10T08:00:00+19:00',
      '2025-03-10T08:00:00+24:00',
      '2025-03-10T08:00:00+05:60',
      '2025-03-10T08:00:00+05:30:60',
      '2025-03-10T08:00:00+05:3015',
      '2025-03-10T08:00:00+0530:15',
      '2025-03-10T08:00:00+5',
      '2025-03-10T08:00:00+5:00',
      '2025-03-10T08:00:00 +01:00',
      '2025-03-10+01:00',
      '2025-03-10Z',
    ]) {
      expect(parseInstant(t), t).toBeNull();
    }
  });

  it('reads a zone by name as java.time does: gaps move later, overlaps take the earlier offset', () => {
    expect(parseInstant('2025-03-10T08:00:00Europe/Paris')).toEqual({ ms: 1741590000000, ns: 0 });
    expect(parseInstant('2025-07-10T08:00:00Europe/Paris')).toEqual({ ms: 1752127200000, ns: 0 });
    // 02:30 on 30 March 2025 does not exist in Paris (02:00 → 03:00): it is 03:30+02:00.
    expect(parseInstant('2025-03-30T02:30:00Europe/Paris')).toEqual({ ms: 1743298200000, ns: 0 });
    // 02:30 on 26 October 2025 happens twice: the first, at +02:00.
    expect(parseInstant('2025-10-26T02:30:00Europe/Paris')).toEqual({ ms: 1761438600000, ns: 0 });
    // Local mean time before standard time (Paris: +00:09:21).
    expect(parseInstant('1850-01-01T00:00:00Europe/Paris')).toEqual({ ms: -3786826161000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.5Asia/Kolkata')).toEqual({ ms: 1741573800500, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00America/New_York')).toEqual({ ms: 1741608000000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00EST')).toEqual({ ms: 1741611600000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00Etc/GMT+5')).toEqual({ ms: 1741611600000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00Zulu')).toEqual({ ms: 1741593600000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00UTC')).toEqual({ ms: 1741593600000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00GMT+1')).toEqual({ ms: 1741590000000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00GMT+01:00')).toEqual({ ms: 1741590000000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00UTC-05:30')).toEqual({ ms: 1741613400000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00UT+0530')).toEqual({ ms: 1741573800000, ns: 0 });
    expect(parseInstant('2025-03-10T08Europe/Paris')).toEqual({ ms: 1741590000000, ns: 0 });
    for (const t of [
      '2025-03-10T08:00:00europe/paris',
      '2025-03-10T08:00:00utc',
      '2025-03-10T08:00:00PST',
      '2025-03-10T08:00:00GMT+1:00',
      '2025-03-10T08:00:00GMT+19',
      '2025-03-10T08:00:00GMT+01:60',
      '2025-03-10T08:00:00Foo/Bar',
      '2025-03-10Europe/Paris',
      '2025-03-10T08:00:00 Europe/Paris',
    ]) {
      expect(parseInstant(t), t).toBeNull();
    }
  });

  it('takes `T` and `Z` in upper case only, and no blanks', () => {
    for (const t of [
      '2025-03-10t08:00:00Z',
      '2025-03-10T08:00:00z',
      '2025-03-10T08:00:00.123z',
      '2025-03-10 08:00:00Z',
      '2025-03-10 08:00:00',
      ' 2025-03-10T08:00:00Z',
      '2025-03-10T08:00:00Z ',
      '2025-03-10T08:00:00.123 Z',
      '2025-03-10T08:00:00Z\n',
      ' 1741593600000',
    ]) {
      expect(parseInstant(t), JSON.stringify(t)).toBeNull();
    }
  });

  it('reads partial dates and times as the start of what they name', () => {
    expect(parseInstant('2024')).toEqual({ ms: 1704067200000, ns: 0 });
    expect(parseInstant('2024-02')).toEqual({ ms: 1706745600000, ns: 0 });
    expect(parseInstant('2024-02-29T')).toEqual({ ms: 1709164800000, ns: 0 });
    expect(parseInstant('2024-02-29T10')).toEqual({ ms: 1709200800000, ns: 0 });
    expect(parseInstant('2024-02-29T10Z')).toEqual({ ms: 1709200800000, ns: 0 });
    expect(parseInstant('2024-02-29T10:30')).toEqual({ ms: 1709202600000, ns: 0 });
    expect(parseInstant('2024-02-29T10:30:15')).toEqual({ ms: 1709202615000, ns: 0 });
    expect(parseInstant('2024-02-29TZ')).toBeNull();
    expect(parseInstant('2024-2-29')).toBeNull();
  });

  it('reads a year of exactly four digits, negative or not', () => {
    expect(parseInstant('-0001-01-01T00:00:00Z')).toEqual({ ms: -62198755200000, ns: 0 });
    expect(parseInstant('0000-01-01T00:00:00Z')).toEqual({ ms: -62167219200000, ns: 0 });
    expect(parseInstant('0099-03-10T08:00:00Z')).toEqual({ ms: -59037091200000, ns: 0 });
    expect(parseInstant('+2025-03-10T08:00:00Z')).toBeNull();
    expect(parseInstant('12025-03-10T08:00:00Z')).toBeNull();
    expect(parseInstant('+12025-03-10T08:00:00Z')).toBeNull();
  });

  it('reads epoch milliseconds after the ISO form: four digits are a year, also as a number', () => {
    expect(parseInstant('1741593600123')).toEqual({ ms: 1741593600123, ns: 0 });
    expect(parseInstant('1741593600123.5')).toEqual({ ms: 1741593600123, ns: 500000 });
    expect(parseInstant('1741593600123.000001')).toEqual({ ms: 1741593600123, ns: 1 });
    expect(parseInstant('1741593600123.')).toEqual({ ms: 1741593600123, ns: 0 });
    expect(parseInstant('-1.5')).toEqual({ ms: -2, ns: 500000 });
    expect(parseInstant('12345')).toEqual({ ms: 12345, ns: 0 });
    expect(parseInstant('999')).toEqual({ ms: 999, ns: 0 });
    expect(parseInstant('2024')).toEqual({ ms: 1704067200000, ns: 0 });
    expect(parseInstant('-2024')).toEqual({ ms: -126038505600000, ns: 0 });
    expect(parseInstant(2024)).toEqual({ ms: 1704067200000, ns: 0 });
    expect(parseInstant(-2024)).toEqual({ ms: -126038505600000, ns: 0 });
    expect(parseInstant(999)).toEqual({ ms: 999, ns: 0 });
    expect(parseInstant(12345)).toEqual({ ms: 12345, ns: 0 });
    expect(parseInstant(1741593600123.5)).toEqual({ ms: 1741593600123, ns: 500000 });
    expect(parseInstant('1741593600123.1234567')).toBeNull();
    expect(parseInstant('+1741593600123')).toBeNull();
    expect(parseInstant('1.7e12')).toBeNull();
    expect(parseInstant('')).toBeNull();
  });

  it('declines a time beyond what a JS Date holds rather than failing later', () => {
    expect(parseInstant(8.64e15)).toEqual({ ms: 8.64e15, ns: 0 });
    expect(parseInstant(8.64e15 + 1)).toBeNull();
    expect(parseInstant('-8640000000000001')).toBeNull();
    expect(parseInstant(1e300)).toBeNull();
    expect(parseInstant(Number.NaN)).toBeNull();
  });
});

describe('parseInstantSpan rounds as Elasticsearch does', () => {
  it('spans a year, a month, a day and an hour', () => {
    expect(parseInstantSpan('2024')).toEqual({ lo: { ms: 1704067200000, ns: 0 }, hi: { ms: 1735689599999, ns: 999999 } });
    expect(parseInstantSpan(2023)).toEqual({ lo: { ms: 1672531200000, ns: 0 }, hi: { ms: 1704067199999, ns: 999999 } });
    expect(parseInstantSpan('2024-02')).toEqual({ lo: { ms: 1706745600000, ns: 0 }, hi: { ms: 1709251199999, ns: 999999 } });
    expect(parseInstantSpan('2023-02')).toEqual({ lo: { ms: 1675209600000, ns: 0 }, hi: { ms: 1677628799999, ns: 999999 } });
    expect(parseInstantSpan('2024-02-29')).toEqual({ lo: { ms: 1709164800000, ns: 0 }, hi: { ms: 1709251199999, ns: 999999 } });
    expect(parseInstantSpan('2024-02-29T10+01:00')).toEqual({ lo: { ms: 1709197200000, ns: 0 }, hi: { ms: 1709200799999, ns: 999999 } });
    expect(parseInstantSpan('2024-02-29T10:30:15.25Z')).toEqual({ lo: { ms: 1709202615250, ns: 0 }, hi: { ms: 1709202615259, ns: 999999 } });
    expect(parseInstantSpan('2024-02-30')).toBeNull();
  });
});
