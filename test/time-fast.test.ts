import { describe, expect, it } from 'vitest';
import { parseInstant, textInstant } from '../src/events/time.js';

// parseInstant reads the common `YYYY-MM-DDTHH:MM:SS[.fraction]Z` form without its regular
// expression; textInstant reads the same text through the general grammar alone.
describe('parseInstant, the UTC fast path', () => {
  it('reads the forms Agent events carry to the nanosecond', () => {
    expect(parseInstant('2025-03-10T08:00:00.025Z')).toEqual({ ms: 1741593600025, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.005348Z')).toEqual({ ms: 1741593600005, ns: 348000 });
    expect(parseInstant('2025-03-10T08:00:00.123456789Z')).toEqual({ ms: 1741593600123, ns: 456789 });
    expect(parseInstant('2025-03-10T08:00:00.1Z')).toEqual({ ms: 1741593600100, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00Z')).toEqual({ ms: 1741593600000, ns: 0 });
    expect(parseInstant('1970-01-01T00:00:00.000001Z')).toEqual({ ms: 0, ns: 1000 });
  });

  it('refuses hour 24, second 60 and a day past the month end, as Elasticsearch does, across day changes', () => {
    for (const t of ['2025-03-10T24:00:00Z', '2025-03-10T23:59:60.5Z', '2025-02-31T00:00:00Z', '2025-04-31T00:00:00Z', '2023-02-29T00:00:00Z', '2100-02-29T00:00:00Z']) {
      expect(parseInstant(t), t).toBeNull();
      expect(textInstant(t), t).toBeNull();
    }
    expect(parseInstant('2024-12-31T23:59:59.999Z')).toEqual({ ms: Date.UTC(2025, 0, 1) - 1, ns: 0 });
    expect(parseInstant('2025-01-01T00:00:00Z')).toEqual({ ms: Date.UTC(2025, 0, 1), ns: 0 });
    expect(parseInstant('2024-02-29T00:00:00Z')).toEqual({ ms: Date.UTC(2024, 1, 29), ns: 0 });
    expect(parseInstant('2000-02-29T00:00:00Z')).toEqual({ ms: Date.UTC(2000, 1, 29), ns: 0 });
    expect(parseInstant('2025-04-30T00:00:00Z')).toEqual({ ms: Date.UTC(2025, 3, 30), ns: 0 });
  });

  it('leaves what it does not read to the general parse, which gives the same answers', () => {
    expect(parseInstant('0099-03-10T08:00:00Z')).toEqual({ ms: -59037091200000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.0253Z')).toEqual({ ms: 1741593600025, ns: 300000 });
    expect(parseInstant('2025-03-10t08:00:00Z')).toBeNull();
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
      const general = textInstant(text);
      expect(parseInstant(text)).toEqual(general);
      if (general !== null) checked++;
    }
    expect(checked).toBeGreaterThan(2000);
  });
  it('hands hostile near-misses to the general parse, and the remembered day does not leak between texts', () => {
    // Non-ASCII digits, signs, spaces before the Z, 1–9 fraction digits, years outside 0100–9999.
    expect(parseInstant('\uff12025-03-10T08:00:00Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:0\u0665Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:-1Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:00+Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:00.+1Z')).toBeNull();
    expect(parseInstant('+2025-03-10T08:00:00Z')).toBeNull();
    expect(parseInstant('-2025-03-10T08:00:00Z')).toEqual({ ms: -126064137600000, ns: 0 });
    expect(parseInstant('2025-03-10T08:00:00.123 Z')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:00.123Z ')).toBeNull();
    expect(parseInstant('2025-03-10T08:00:00.1234567Z')).toEqual({ ms: 1741593600123, ns: 456700 });
    expect(parseInstant('2025-03-10T08:00:00.123456789z')).toBeNull();
    expect(parseInstant('10000-01-01T00:00:00Z')).toBeNull();
    expect(parseInstant('0100-01-01T00:00:00Z')).toEqual({ ms: -59011459200000, ns: 0 });
    expect(parseInstant('1969-12-31T23:59:59.999999999Z')).toEqual({ ms: -1, ns: 999999 });
    // Feb 29 of a year that has none is refused, also right after a valid day was remembered.
    expect(parseInstant('2024-02-28T00:00:00Z')).toEqual({ ms: Date.UTC(2024, 1, 28), ns: 0 });
    expect(parseInstant('2023-02-29T00:00:00Z')).toBeNull();
    // Alternating days, and texts that share the remembered day but not what follows it.
    for (let i = 0; i < 3; i++) {
      expect(parseInstant('2024-02-29T12:00:00Z')).toEqual({ ms: Date.UTC(2024, 1, 29, 12), ns: 0 });
      expect(parseInstant('2024-02-29T12:00:00+02:00')).toEqual({ ms: Date.UTC(2024, 1, 29, 10), ns: 0 });
      expect(parseInstant('2024-02-29T12:00:00.5x')).toBeNull();
      expect(parseInstant('1999-12-31T23:59:60Z')).toBeNull();
      expect(parseInstant('2024-02-29t12:00:00Z')).toBeNull();
      expect(parseInstant('2024-02-30T12:00:00Z')).toBeNull();
    }
  });

  it('agrees with the general parse on mutated texts', () => {
    // Random edits of valid texts (digits of other scripts, signs, blanks, separators), read by
    // the fast path and by the general grammar alone.
    let seed = 3;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = '0123456789-:T.tZz+ ,\u0660\uff10\u00a0a';
    const bases = ['2024-03-10T11:22:33.123456789Z', '2024-02-29T23:59:59Z', '0100-01-01T00:00:00.5Z', '9999-12-31T23:00:00Z', '2023-02-28T10:00:00Z'];
    let read = 0;
    for (let i = 0; i < 20000; i++) {
      const chars = bases[rand(bases.length)]!.split('');
      for (let k = 1 + rand(3); k > 0; k--) {
        const at = rand(chars.length + 1);
        const op = rand(3);
        if (op === 0) chars[at] = alphabet[rand(alphabet.length)]!;
        else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)]!);
        else chars.splice(at, 1);
      }
      const text = chars.join('');
      const general = textInstant(text);
      expect(parseInstant(text), text).toEqual(general);
      if (general !== null) read++;
    }
    expect(read).toBeGreaterThan(1000);
  });
});
