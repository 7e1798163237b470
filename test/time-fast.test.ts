import { describe, expect, it } from 'vitest';
import { parseInstant } from '../src/events/time.js';

// parseInstant reads the common `YYYY-MM-DDTHH:MM:SS[.fraction]Z` form without its regular
// expression; a leading space sends the same text through the general parse (which trims it).
describe('parseInstant, the UTC fast path', () => {
  it('reads the forms Agent events carry to the nanosecond', () => {
    expect(parseInstant('2025-03-10T08:00:00.025Z')).toEqual({ ms: 1741593600025, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.005348Z')).toEqual({ ms: 1741593600005, ns: 348000 });
    expect(parseInstant('2025-03-10T08:00:00.123456789Z')).toEqual({ ms: 1741593600123, ns: 456789 });
    expect(parseInstant('2025-03-10T08:00:00.1Z')).toEqual({ ms: 1741593600100, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00Z')).toEqual({ ms: 1741593600000, ns: 0 });
    expect(parseInstant('1970-01-01T00:00:00.000001Z')).toEqual({ ms: 0, ns: 1000 });
  });

  it('rolls over as Date.UTC does (hour 24, second 60, day 31 of a short month), across day changes', () => {
    expect(parseInstant('2025-03-10T24:00:00Z')).toEqual({ ms: Date.UTC(2025, 2, 11), ns: 0 });
    expect(parseInstant('2025-03-10T23:59:60.5Z')).toEqual({ ms: Date.UTC(2025, 2, 11) + 500, ns: 0 });
    expect(parseInstant('2025-02-31T00:00:00Z')).toEqual({ ms: Date.UTC(2025, 2, 3), ns: 0 });
    expect(parseInstant('2024-12-31T23:59:59.999Z')).toEqual({ ms: Date.UTC(2025, 0, 1) - 1, ns: 0 });
    expect(parseInstant('2025-01-01T00:00:00Z')).toEqual({ ms: Date.UTC(2025, 0, 1), ns: 0 });
  });

  it('leaves what it does not read to the general parse, which gives the same answers', () => {
    expect(parseInstant('0099-03-10T08:00:00Z')).toEqual({ ms: -59037091200000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.0253Z')).toEqual({ ms: 1741593600025, ns: 300000 });
    expect(parseInstant('2025-03-10t08:00:00Z')).toEqual({ ms: 1741593600000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00,5Z')).toEqual({ ms: 1741593600500, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00+01:00')).toEqual({ ms: 1741590000000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.1234567890Z')).toBeNull();
    expect(parseInstant('2025-13-10T08:00:00Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:60:00Z')).toBeNull();
    expect(parseInstant('2025-03-10T25:00:00Z')).toBeNull();
    expect(parseInstant('2025-03-1xT08:00:00Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:00.Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:00.12a4Z')).toBeNull();
  });

  it('agrees with the general parse on every form it reads', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pad = (x: number, w: number) => String(x).padStart(w, '0');
    let checked = 0;
    for (let i = 0; i < 5000; i++) {
      const frac = rand(3) === 0 ? '' : '.' + pad(rand(1_000_000_000), 9).slice(0, 1 + rand(9));
      const text = `${pad(100 + rand(9900), 4)}-${pad(rand(14), 2)}-${pad(rand(33), 2)}T${pad(rand(26), 2)}:${pad(rand(61), 2)}:${pad(rand(62), 2)}${frac}Z`;
      const general = parseInstant(' ' + text);
      expect(parseInstant(text)).toEqual(general);
      if (general !== null) checked++;
    }
    expect(checked).toBeGreaterThan(2000);
  });
});
